"""The cited figures beside a cohort's estimates and their confidence intervals."""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.axes import Axes

from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.reproduce.cited_figures import CitedComparison

__all__ = ["plot_cited_figures"]


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
        ax.hlines(
            y,
            t["ci_lower"] * 100,
            t["ci_upper"] * 100,
            color="#1f4e79",
            lw=2,
            label=f"estimate, {comparison.conf_level:.0%} CI",
        )
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
                ax.plot(
                    low,
                    i,
                    "D" if r["check"] != "above" else ">",
                    color="#c55a11",
                    ms=6,
                    label=label,
                )
        labels = [
            f"{r.figure} ({r.group})" if r.group != "overall" else r.figure for r in t.itertuples()
        ]
        ax.set_yticks(list(y), labels)
        ax.set_xlabel("percent")
        ax.set_xlim(0, 100)
        ax.grid(axis="x", color="#dddddd")
        ax.legend(loc="lower right", frameon=False)
        ax.set_title("Cited figures (orange) against the recomputed estimates (blue)")
    return ax
