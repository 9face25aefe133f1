"""The cited figures (or any percentage claims) beside a cohort's estimates and their CIs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.plotting.colors import OKABE_ITO

if TYPE_CHECKING:  # plotting sits below reproduce: it draws the result, it imports nothing
    from dah_outcomes.reproduce.verdicts import ReproductionResult

__all__ = ["plot_cited_figures"]

# statistics whose estimate is a proportion, so it shares the percent axis with the figure
_PROPORTIONS = ("proportion", "mortality", "incidence_proportion")


def plot_cited_figures(result: ReproductionResult, ax: Axes | None = None) -> Axes:
    """Dot-and-whisker plot: each recomputed estimate with its CI beside the printed figure.

    Only claims printed as percentages of a proportion are drawn (they share one percent
    axis); medians, rates and hazard ratios of the same result are left out. The claim's
    verdict is written on the right-hand axis, beside it.

    Parameters
    ----------
    result : ReproductionResult
        From :func:`~dah_outcomes.reproduce.cited_figures.compare_cited_figures` or
        :func:`~dah_outcomes.reproduce.verdicts.reproduce`.
    ax : Axes, optional
        Where to draw; a new Figure is made when omitted.

    Returns
    -------
    Axes

    Raises
    ------
    ArgumentError
        If no claim of ``result`` is a percentage.
    """
    table = result.to_frame()
    printed = pd.Series(result.printed_values(), index=table.index, dtype=object)
    keep = table["statistic"].isin(_PROPORTIONS) & printed.map(lambda p: p.percent)
    if not keep.any():
        raise ArgumentError(
            "no claim of this result is printed as a percentage: plot_cited_figures draws "
            f"claims with statistic one of {list(_PROPORTIONS)}"
        )
    # reversed so that the first claim is drawn at the top
    t = table[keep].iloc[::-1].reset_index(drop=True)
    figures = list(printed[keep].iloc[::-1])
    for col in ("estimate", "ci_lower", "ci_upper"):
        if col not in t:  # every claim not recomputable: the column was never filled
            t[col] = math.nan
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.5, 0.45 * len(t) + 1.2)
        y = range(len(t))
        ax.hlines(
            y,
            t["ci_lower"] * 100,
            t["ci_upper"] * 100,
            color=OKABE_ITO["blue"],
            lw=2,
            label=f"estimate, {result.conf_level:.0%} CI",
        )
        ax.plot(t["estimate"] * 100, y, "o", color=OKABE_ITO["blue"])
        for i, pv in enumerate(figures):
            label = "cited" if i == 0 else None
            if pv.kind == "range":
                ax.hlines(
                    i,
                    float(pv.value),
                    float(pv.high),
                    color=OKABE_ITO["orange"],
                    lw=6,
                    alpha=0.5,
                    label=label,  # type: ignore[arg-type]  # matplotlib takes None: no label
                )
            else:
                # a bound points the way it holds; a point is a diamond
                marker = {"lower_bound": ">", "upper_bound": "<"}.get(pv.kind, "D")
                ax.plot(float(pv.value), i, marker, color=OKABE_ITO["orange"], ms=6, label=label)
        # the whole-cohort population goes without saying; a subgroup is named
        # claim and population are str columns (the stubs type a row's fields as any scalar)
        labels = [
            str(r.claim) if str(r.population).startswith("all ") else f"{r.claim} ({r.population})"
            for r in t.itertuples()
        ]
        ax.set_yticks(list(y), labels)
        ax.set_ylim(-0.6, len(t) - 0.4)
        # the verdicts on a right-hand axis, row by row, so they read beside their figure
        verdicts = ax.twinx()
        verdicts.set_ylim(ax.get_ylim())
        verdicts.set_yticks(list(y), list(t["verdict"]))
        verdicts.tick_params(axis="y", length=0)
        ax.set_xlabel("percent")
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd")
        # below the axes, where it cannot cover a row
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
        ax.set_title("Cited figures (orange) and recomputed estimates (blue)")
    return ax
