"""What every figure shares: a new Axes on its own Figure (no pyplot state) and an SVG
rendering with the same bytes for the same figure."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["PALETTE", "figure_of", "new_axes", "to_svg"]

#: One colour per group, in group order, shared by every figure of a cohort.
PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#7f7f7f")


def new_axes(width: float = 7.0, height: float = 4.5) -> Axes:
    """A fresh Axes on a Figure not registered with pyplot (no global state).

    Parameters
    ----------
    width, height : float
        Figure size in inches.

    Returns
    -------
    Axes
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig.add_subplot()


def figure_of(ax: Axes) -> Figure:
    """The Figure an Axes is drawn on (the figures here are Figures, never SubFigures).

    Parameters
    ----------
    ax : Axes
        Any Axes of the figure.

    Returns
    -------
    Figure
        ``ax.figure``.
    """
    fig = ax.figure
    if not isinstance(fig, Figure):
        raise TypeError("the Axes is on a SubFigure, which cannot be saved on its own")
    return fig


def to_svg(ax: Axes) -> str:
    """The Axes' figure as an inline ``<svg>`` element (no XML prolog, no external refs).

    Parameters
    ----------
    ax : Axes
        Any Axes of the figure.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    import io

    buf = io.StringIO()
    figure_of(ax).savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]
