"""Figures of a meta-analysis of proportions: forest plot with the pooled diamond and the
prediction interval, and funnel plot. Return Axes; never touch global matplotlib state."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Polygon
from scipy import stats

from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.plotting.colors import PALETTE
from dah_outcomes.stats.meta import MetaProportionResult
from dah_outcomes.stats.proportions import proportion_ci

__all__ = ["plot_funnel", "plot_meta_forest"]


def plot_meta_forest(
    result: MetaProportionResult, *, ax: Axes | None = None, xlabel: str = "Proportion"
) -> Axes:
    """Forest plot of a meta-analysis of proportions.

    Per-study proportions with exact (Clopper-Pearson) CIs, square size by weight, the
    pooled estimate as a diamond and the prediction interval as a line beneath it.

    Parameters
    ----------
    result : MetaProportionResult
        From :func:`~dah_outcomes.stats.meta.meta_proportions`.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    xlabel : str, default "Proportion"
        Label of the proportion axis.

    Returns
    -------
    Axes
    """
    s = result.studies
    k = len(s)
    with mpl.rc_context({"font.size": 8}):
        ax = ax or new_axes(7.0, 0.28 * k + 1.6)
        y = np.arange(k, 0, -1) + 1.0
        for yi, (_, r) in zip(y, s.iterrows(), strict=True):
            ci = proportion_ci(int(r["events"]), int(r["total"]), ci_method="clopper-pearson")
            ax.hlines(yi, ci.ci_lower, ci.ci_upper, color="#4a4a4a", lw=1)
            ax.plot(
                r["proportion"],
                yi,
                "s",
                color=PALETTE[0],
                ms=3 + 9 * np.sqrt(r["weight"] / s["weight"].max()),
            )
            ax.annotate(
                f"{int(r['events'])}/{int(r['total'])}",
                (1.01, yi),
                xycoords=("axes fraction", "data"),
                va="center",
            )
        diamond = Polygon(
            [
                (result.ci_lower, 0.5),
                (result.pooled, 0.8),
                (result.ci_upper, 0.5),
                (result.pooled, 0.2),
            ],
            closed=True,
            color=PALETTE[1],
        )
        ax.add_patch(diamond)
        ax.hlines(-0.2, result.pi_lower, result.pi_upper, color=PALETTE[1], lw=2)
        ax.set_yticks(
            [*y, 0.5, -0.2],
            [*s["label"].astype(str), "pooled (random effects)", "prediction interval"],
        )
        ax.axvline(result.pooled, color=PALETTE[1], lw=0.6, ls=":")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.8, k + 1.8)
        ax.set_xlabel(xlabel)
        ax.set_title(
            f"{result.method}, {result.transform}: pooled {result.pooled:.0%} "
            f"({result.ci_lower:.0%}-{result.ci_upper:.0%}); I² {result.i2:.0f}%",
            loc="left",
        )
        ax.grid(axis="x", color="#e5e5e5")
    return ax


def plot_funnel(result: MetaProportionResult, *, ax: Axes | None = None) -> Axes:
    """Funnel plot: each study's transformed estimate against its standard error.

    With the pseudo-95% region around the pooled estimate (small-study effects show as
    asymmetry).

    Parameters
    ----------
    result : MetaProportionResult
        From :func:`~dah_outcomes.stats.meta.meta_proportions`.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).

    Returns
    -------
    Axes
    """
    s = result.studies
    se = np.sqrt(s["vi"].to_numpy())
    with mpl.rc_context({"font.size": 8}):
        ax = ax or new_axes(5.5, 4.5)
        ax.plot(s["yi"], se, "o", color=PALETTE[0], ms=4)
        z = stats.norm.ppf(0.975)
        grid = np.linspace(0, se.max() * 1.05, 50)
        ax.plot(result.mu - z * grid, grid, color="#7f7f7f", lw=0.8, ls="--")
        ax.plot(result.mu + z * grid, grid, color="#7f7f7f", lw=0.8, ls="--")
        ax.axvline(result.mu, color=PALETTE[1], lw=1)
        ax.invert_yaxis()
        ax.set_xlabel(f"{result.transform} estimate")
        ax.set_ylabel("standard error")
    return ax
