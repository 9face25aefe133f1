"""The participant-flow diagram (STROBE/RECORD style): one drawing for the import and the report."""

from __future__ import annotations

import itertools

import matplotlib as mpl
from matplotlib.axes import Axes

from dah_outcomes.plotting._axes import new_axes

__all__ = ["plot_flow"]


def plot_flow(
    steps: list[tuple[str, int]],
    exclusions: list[tuple[str, int]] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A participant-flow diagram: boxes down the middle, exclusions to the side.

    Parameters
    ----------
    steps : list of (label, n)
        The main path, top to bottom.
    exclusions : list of (label, n), optional
        Shown in a side box between the first and second step.
    """
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.0, 1.2 * len(steps) + 0.8)
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#1a1a1a"}
        ys = [0.9 - i * (0.8 / max(len(steps) - 1, 1)) for i in range(len(steps))]
        for (label, n), y in zip(steps, ys, strict=True):
            ax.text(0.3, y, f"{label}\nn = {n:,}", ha="center", va="center", bbox=box)
        for y0, y1 in itertools.pairwise(ys):
            ax.annotate(
                "", xy=(0.3, y1 + 0.07), xytext=(0.3, y0 - 0.07), arrowprops={"arrowstyle": "->"}
            )
        if exclusions and len(ys) > 1:
            y = (ys[0] + ys[1]) / 2
            text = "\n".join(f"{label}: {n:,}" for label, n in exclusions)
            ax.text(0.75, y, text, ha="center", va="center", bbox=box)
            ax.annotate("", xy=(0.55, y), xytext=(0.3, y), arrowprops={"arrowstyle": "->"})
    return ax
