"""Figures fit for a paper.

Every function draws on a given Axes (or a new Figure of its own) and returns the Axes; none
calls ``plt.show()`` or changes global matplotlib state.
"""

from dah_outcomes.plotting._axes import PALETTE, new_axes, save_figure, to_svg
from dah_outcomes.plotting.balance import plot_love, plot_overlap
from dah_outcomes.plotting.cited_figures import plot_cited_figures
from dah_outcomes.plotting.flow import plot_flow
from dah_outcomes.plotting.forest import plot_forest
from dah_outcomes.plotting.meta import plot_funnel, plot_meta_forest
from dah_outcomes.plotting.survival import plot_cif, plot_km, plot_schoenfeld

__all__ = [
    "PALETTE",
    "new_axes",
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
