"""The number-at-risk table under a survival figure, laid out inside the figure.

The table is an Axes of its own sharing the curves' time axis. On a new figure both come from
one grid under constrained layout. On a caller's Axes the Axes' own cell (its subplot spec, or
its position) is split between the curves and the table, so that the table is inside the
figure: an inset hung below the Axes would be cut off by a plain ``savefig`` (without
``bbox_inches="tight"``). A figure without a layout engine is then shrunk into its page once,
as :meth:`~matplotlib.figure.Figure.tight_layout` would, but moving only these two Axes.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.transforms import Bbox, TransformedBbox

from dah_outcomes.plotting._axes import NotebookAxes, figure_of, new_figure

__all__ = ["RiskRow", "add_risk_table", "draw_risk_table", "fit_inside"]

#: Height of a table line and of the table's title and time axis, in inches.
_LINE_IN = 0.22
_FRAME_IN = 0.55
#: Space between the curves and the table on a caller's Axes, for the table's heading.
_GAP_IN = 0.3

#: One line of a table: its label, colour and the counts at each of the table's times.
RiskRow = tuple[str, str, Sequence[float]]


def add_risk_table(
    ax: Axes | None, n_lines: int, *, width: float = 7.5, height: float = 4.2
) -> tuple[Axes, Axes]:
    """The curves' Axes and a table Axes of ``n_lines`` lines below it, sharing the time axis.

    Parameters
    ----------
    ax : Axes or None
        A caller's Axes, whose place is split between curves (top) and table (bottom); a new
        figure of ``width`` by ``height`` inches (plus the table) when None.
    n_lines : int
        Lines of the table.
    width, height : float
        Size of a new figure's curves, in inches.

    Returns
    -------
    tuple of Axes
        The curves' Axes (``ax`` itself when given) and the table's, labelled
        ``"at-risk table"``.
    """
    table_in = _FRAME_IN + _LINE_IN * n_lines
    if ax is None:
        new = new_figure(width, height + table_in)
        grid = new.add_gridspec(2, 1, height_ratios=[height, table_in])
        ax = new.add_subplot(grid[0], axes_class=NotebookAxes)
        table = new.add_subplot(grid[1], sharex=ax, axes_class=NotebookAxes)
    else:
        fig = figure_of(ax)
        # the table keeps its height in inches; on a small Axes it takes at most 45% of it
        box = ax.get_position()
        total = box.height * fig.get_figheight()
        share = min(0.45, table_in / total) if total > 0 else 0.3
        # room between the two for the table's heading (a fraction of the Axes' height)
        gap = min(0.15, _GAP_IN / total) if total > 0 else 0.05
        axes_class = NotebookAxes if isinstance(ax, NotebookAxes) else Axes
        spec = ax.get_subplotspec()
        if spec is not None:
            # hspace is a fraction of the mean height of the two cells
            mean = (1 - gap) / 2
            sub = spec.subgridspec(2, 1, height_ratios=[1 - share, share], hspace=gap / mean)
            ax.set_subplotspec(sub[0])
            table = fig.add_subplot(sub[1], sharex=ax, axes_class=axes_class)
        else:
            curves_h = box.height * (1 - gap) * (1 - share)
            table_h = box.height * (1 - gap) * share
            ax.set_position((box.x0, box.y1 - curves_h, box.width, curves_h))
            table = fig.add_axes(
                (box.x0, box.y0, box.width, table_h), sharex=ax, axes_class=axes_class
            )
    table.set_label("at-risk table")
    return ax, table


def draw_risk_table(
    table: Axes,
    ticks: Sequence[float],
    rows: Sequence[RiskRow],
    *,
    xlabel: str,
    title: str = "Number at risk",
    min_cell: int | None = None,
) -> None:
    """Write the counts of ``rows`` at ``ticks``, each line in its group's colour.

    Parameters
    ----------
    table : Axes
        From :func:`add_risk_table`.
    ticks : sequence of float
        Times of the columns (in the axis' unit).
    rows : sequence of (label, colour, counts)
        One per line, top first.
    xlabel : str
        Label of the time axis, under the table.
    title : str
        Heading of the table.
    min_cell : int, optional
        Counts between 1 and ``min_cell - 1`` print as ``<min_cell`` (small-cell
        suppression).
    """
    table.set_xlabel(xlabel)
    for side in ("top", "right", "left"):
        table.spines[side].set_visible(False)
    # a count at a time the caller's xlim leaves out must not widen the saved figure: the
    # counts are clipped to the table's width plus room for the first and last half number
    shown = TransformedBbox(Bbox([[-0.05, -1.0], [1.05, 2.0]]), table.transAxes)
    n_lines = len(rows)
    for line, (_, color, values) in enumerate(rows):
        y = n_lines - 1 - line
        for t, v in zip(ticks, values, strict=True):
            small = min_cell is not None and 0 < v < min_cell
            text = f"<{min_cell}" if small else f"{v:.0f}"
            cell = table.text(t, y, text, ha="center", va="center", color=color)
            cell.set_clip_box(shown)
            cell.set_clip_on(True)
    # group names as tick labels, so a layout engine makes room for them
    table.set_yticks([n_lines - 1 - i for i in range(n_lines)], [label for label, _, _ in rows])
    for tick, (_, color, _) in zip(table.get_yticklabels(), rows, strict=True):
        tick.set_color(color)
    table.tick_params(axis="y", length=0, pad=14)
    table.set_ylim(-0.5, n_lines - 0.5)
    table.set_title(title, loc="left", fontsize=8)


def fit_inside(curves: Axes, table: Axes, pad: float = 4.0) -> None:
    """Move the curves and table in, so that both with their labels are inside the page.

    Only for a figure without a layout engine (a layout engine places them at each draw).
    The two Axes' joint region shrinks by what overflows each side of the page, plus ``pad``
    points; other Axes of the figure are left where they are.

    Parameters
    ----------
    curves, table : Axes
        From :func:`add_risk_table`, drawn.
    pad : float
        Margin kept from the page edge, in points.
    """
    fig = figure_of(curves)
    if fig.get_layout_engine() is not None:
        return
    page = fig.bbox
    boxes = [b for b in (curves.get_tightbbox(), table.get_tightbbox()) if b is not None]
    if not boxes:
        return
    drawn = Bbox.union(boxes)
    margin = pad * fig.dpi / 72
    over = [
        max(0.0, page.x0 + margin - drawn.x0),
        max(0.0, page.y0 + margin - drawn.y0),
        max(0.0, drawn.x1 - (page.x1 - margin)),
        max(0.0, drawn.y1 - (page.y1 - margin)),
    ]
    if not any(over):
        return
    left, bottom, right, top = (
        over[0] / page.width,
        over[1] / page.height,
        over[2] / page.width,
        over[3] / page.height,
    )
    upper, lower = curves.get_position(), table.get_position()
    region = Bbox.union([upper, lower])
    new = Bbox.from_extents(
        region.x0 + left, region.y0 + bottom, region.x1 - right, region.y1 - top
    )
    if new.width <= 0 or new.height <= 0:
        return  # the page is too small for any layout; leave the caller's figure as it is
    sx, sy = new.width / region.width, new.height / region.height
    for axes, box in ((curves, upper), (table, lower)):
        axes.set_position(
            (
                new.x0 + (box.x0 - region.x0) * sx,
                new.y0 + (box.y0 - region.y0) * sy,
                box.width * sx,
                box.height * sy,
            )
        )
