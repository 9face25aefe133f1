"""The participant-flow diagram (STROBE/RECORD style): one drawing for the import and the report.

The diagram takes plain ``(label, n)`` lists, so that it knows nothing of where the counts
come from: :func:`~dah_outcomes.io.importer.plot_import_flow` passes the rows of an import,
the report the patients of a cohort.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.plotting._axes import new_axes

__all__ = ["plot_flow"]

#: A count in the diagram: a number, ``None`` (or NA) when masked, or, for a step, a text
#: describing it (e.g. ``"120 patients, 31 with DAH"``).
Count = int | str | None


def plot_flow(
    steps: Sequence[tuple[str, Count]],
    exclusions: Sequence[tuple[str, int | None]] | None = None,
    ax: Axes | None = None,
    *,
    excluded: tuple[str, int | None] | None = None,
    title: str | None = None,
) -> Axes:
    """A participant-flow diagram: boxes down the middle, exclusions to the side.

    Parameters
    ----------
    steps : list of (label, n)
        The main path, top to bottom. ``n`` is a count (shown as ``n = 1,234``), ``None`` or
        NA for a count masked by small-cell suppression (shown as ``n suppressed``), or a text
        shown as given under the label.
    exclusions : list of (label, n), optional
        Reasons for exclusion with their counts (``None`` or NA: suppressed), listed in a
        side box between the first and second step.
    ax : Axes, optional
        Where to draw; a new Figure of its own by default (no pyplot state is touched).
    excluded : (label, n), optional
        Heading of the side box, e.g. ``("Rows rejected", 12)``, above the reasons.
    title : str, optional
        Axes title.

    Returns
    -------
    Axes

    Notes
    -----
    Counts are masked by the caller (see :func:`~dah_outcomes.suppression.suppress_small_cells`)
    so that the figure shows what the accompanying table shows, cell for cell.
    """
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.0, 1.2 * len(steps) + 0.8)
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#1a1a1a"}
        ys = [0.9 - i * (0.8 / max(len(steps) - 1, 1)) for i in range(len(steps))]
        for (label, n), y in zip(steps, ys, strict=True):
            detail = n if isinstance(n, str) else f"n {_count(n, '= ')}"
            ax.text(0.3, y, f"{label}\n{detail}", ha="center", va="center", bbox=box)
        for y0, y1 in itertools.pairwise(ys):
            ax.annotate(
                "", xy=(0.3, y1 + 0.07), xytext=(0.3, y0 - 0.07), arrowprops={"arrowstyle": "->"}
            )
        lines = [f"{label}: {_count(n)}" for label, n in exclusions or ()]
        if excluded is not None:
            label, n = excluded
            lines.insert(0, f"{label}\nn {_count(n, '= ')}")
        if lines and len(ys) > 1:
            y = (ys[0] + ys[1]) / 2
            ax.text(0.75, y, "\n".join(lines), ha="center", va="center", bbox=box)
            ax.annotate("", xy=(0.55, y), xytext=(0.3, y), arrowprops={"arrowstyle": "->"})
        if title:
            ax.set_title(title, fontsize=10)
    return ax


def _count(n: int | None, prefix: str = "") -> str:
    """``1,234`` (after ``prefix``), or ``suppressed`` for a masked count."""
    if n is None or pd.isna(n):
        return "suppressed"
    return f"{prefix}{int(n):,}"
