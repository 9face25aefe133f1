"""Figures fit for a paper.

Every function draws on a given Axes (or a new Figure of its own) and returns the Axes; none
calls ``plt.show()`` or changes global matplotlib state. A new figure is a
:class:`NotebookFigure` and its Axes :class:`NotebookAxes`, which show the figure as a PNG in a
notebook; every figure of a cohort colours each group alike (:func:`group_colors`, Okabe-Ito by
default, ``palette=`` to choose).
"""

from dah_outcomes.plotting._axes import (
    NotebookAxes,
    NotebookFigure,
    new_axes,
    new_figure,
    save_figure,
    to_svg,
)
from dah_outcomes.plotting.balance import plot_love, plot_overlap
from dah_outcomes.plotting.cited_figures import plot_cited_figures
from dah_outcomes.plotting.colors import (
    LINESTYLES,
    OKABE_ITO,
    PALETTE,
    group_colors,
    group_linestyles,
)
from dah_outcomes.plotting.flow import plot_flow
from dah_outcomes.plotting.forest import plot_forest
from dah_outcomes.plotting.meta import plot_funnel, plot_meta_forest
from dah_outcomes.plotting.survival import plot_cif, plot_km, plot_schoenfeld

__all__ = [
    "LINESTYLES",
    "OKABE_ITO",
    "PALETTE",
    "NotebookAxes",
    "NotebookFigure",
    "group_colors",
    "group_linestyles",
    "new_axes",
    "new_figure",
    "plot_cif",
    "plot_cited_figures",
    "plot_flow",
    "plot_forest",
    "plot_funnel",
    "plot_km",
    "plot_love",
    "plot_meta_forest",
    "plot_overlap",
    "plot_schoenfeld",
    "save_figure",
    "to_svg",
]
