"""Balance diagnostics of propensity weights: the love plot of standardised mean differences
before and after weighting, and the overlap (positivity) plot of propensity scores by arm."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.plotting.colors import Palette, group_colors
from dah_outcomes.stats.propensity import PropensityWeights

__all__ = ["plot_love", "plot_overlap"]


def plot_love(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    label: str = "label",
    unweighted: str = "smd_unweighted",
    weighted: str = "smd_weighted",
    threshold: float = 0.1,
) -> Axes:
    """Love plot: each variable's absolute SMD before (open circle) and after (filled) weighting.

    Parameters
    ----------
    table : DataFrame
        One row per variable, e.g. ``WeightedTableOne.to_frame()``; rows whose SMDs are both
        missing (flags that define the arms) are left out.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    label, unweighted, weighted : str
        Columns of the row label and the two SMDs.
    threshold : float, default 0.1
        Drawn as a dashed line (the usual limit of acceptable imbalance).

    Returns
    -------
    Axes
    """
    t = table[table[unweighted].notna() | table[weighted].notna()].iloc[::-1]
    t = t.reset_index(drop=True)
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(6.5, 0.28 * len(t) + 1.3)
        y = np.arange(len(t))
        before, after = t[unweighted].abs().to_numpy(), t[weighted].abs().to_numpy()
        ax.hlines(y, np.fmin(before, after), np.fmax(before, after), color="#bfbfbf", lw=1)
        ax.plot(before, y, "o", mfc="white", mec="#595959", ms=5, label="unweighted")
        ax.plot(after, y, "o", color="#000000", ms=5, label="weighted")
        ax.axvline(threshold, color="#7f7f7f", lw=0.8, ls="--")
        ax.axvline(0.0, color="#7f7f7f", lw=0.6)
        ax.set_yticks(y, t[label].astype(str).tolist())
        ax.set_xlabel("Absolute standardised mean difference")
        ax.set_xlim(left=0)
        ax.legend(loc="lower right", frameon=False)
        ax.grid(axis="x", color="#e5e5e5")
    return ax


def plot_overlap(
    weights: PropensityWeights,
    *,
    arm: str | None = None,
    ax: Axes | None = None,
    bins: int = 25,
    palette: Palette = None,
) -> Axes:
    """Overlap plot: the distribution of the propensity of one arm among the patients of each
    arm (a region where some arm has no patients is a violation of positivity).

    Parameters
    ----------
    weights : PropensityWeights
        Scores and arms (e.g. ``WeightedTableOne.weights``).
    arm : str, optional
        The arm whose propensity is drawn (the first arm when omitted).
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    bins : int, default 25
        Histogram bins over [0, 1].
    palette : sequence of str or mapping, optional
        Arm colours, as in :func:`~dah_outcomes.plotting.survival.plot_km` (the same arm gets
        the same colour in both).

    Returns
    -------
    Axes
    """
    arm = weights.arms[0] if arm is None else arm
    if arm not in weights.arms:
        raise ArgumentError(f"arm must be one of {list(weights.arms)}, got {arm!r}")
    j = weights.arms.index(arm)
    edges = np.linspace(0.0, 1.0, bins + 1)
    colours = group_colors(weights.arms, palette)
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(6.5, 3.8)
        for i, a in enumerate(weights.arms):
            s = weights.scores[weights.arm == i, j]
            if len(s) == 0:
                continue
            ax.hist(
                s,
                bins=edges.tolist(),
                density=True,
                histtype="step",
                lw=1.4,
                color=colours[str(a)],
                label=f"{a} (n = {len(s)})",
            )
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"Propensity of {arm} given the covariates")
        ax.set_ylabel("Density")
        ax.legend(title="Arm received", frameon=False, fontsize=8)
    return ax
