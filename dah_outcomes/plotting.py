"""Figures fit for a paper. Functions draw on a given Axes (or a new Figure) and return the
Axes; they never call ``plt.show()`` and never change global matplotlib state."""

from __future__ import annotations

import itertools

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dah_outcomes.cited_figures import CitedComparison

__all__ = ["new_axes", "plot_cited_figures"]


def new_axes(width: float = 7.0, height: float = 4.5) -> Axes:
    """A fresh Axes on a Figure not registered with pyplot (no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig.add_subplot()


def plot_cited_figures(comparison: CitedComparison, ax: Axes | None = None) -> Axes:
    """Dot-and-whisker plot: each recomputed estimate with its CI beside the cited value.

    Parameters
    ----------
    comparison : CitedComparison
        From :func:`~dah_outcomes.cited_figures.compare_cited_figures`.
    ax : Axes, optional
        Where to draw; a new Figure is made when omitted.

    Returns
    -------
    Axes
    """
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.5, 0.45 * len(comparison.table) + 1.2)
        t = comparison.table.iloc[::-1].reset_index(drop=True)
        y = range(len(t))
        ax.hlines(y, t["ci_low"] * 100, t["ci_high"] * 100, color="#1f4e79", lw=2,
                  label=f"estimate, {comparison.conf_level:.0%} CI")
        ax.plot(t["estimate"] * 100, y, "o", color="#1f4e79")
        labelled = False
        for i, r in t.iterrows():
            label = None if labelled else "cited"
            labelled = True
            low = float(r["cited"].lstrip(">").split("-")[0].rstrip("%"))
            if "-" in r["cited"]:
                high = float(r["cited"].split("-")[1].rstrip("%"))
                ax.hlines(i, low, high, color="#c55a11", lw=6, alpha=0.5, label=label)
            else:
                ax.plot(low, i, "D" if r["check"] != "above" else ">", color="#c55a11",
                        ms=6, label=label)
        labels = [f"{r.figure} ({r.group})" if r.group != "overall" else r.figure
                  for r in t.itertuples()]
        ax.set_yticks(list(y), labels)
        ax.set_xlabel("percent")
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd")
        ax.legend(loc="lower right", frameon=False)
        ax.set_title("Cited figures (orange) against the recomputed estimates (blue)")
    return ax


def to_svg(ax: Axes) -> str:
    """The Axes' figure as an inline ``<svg>`` element (no XML prolog, no external refs)."""
    import io

    buf = io.StringIO()
    ax.figure.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plot_flow(steps: list[tuple[str, int]], exclusions: list[tuple[str, int]] | None = None,
              ax: Axes | None = None) -> Axes:
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
            ax.annotate("", xy=(0.3, y1 + 0.07), xytext=(0.3, y0 - 0.07),
                        arrowprops={"arrowstyle": "->"})
        if exclusions and len(ys) > 1:
            y = (ys[0] + ys[1]) / 2
            text = "\n".join(f"{label}: {n:,}" for label, n in exclusions)
            ax.text(0.75, y, text, ha="center", va="center", bbox=box)
            ax.annotate("", xy=(0.55, y), xytext=(0.3, y), arrowprops={"arrowstyle": "->"})
    return ax
