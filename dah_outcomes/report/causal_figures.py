"""Figures of the report's target-trial section: the risk of death over the days from onset
under each strategy of an emulated target trial, with its bootstrap band and the end of the
grace period marked. Drawn through the plotting package's public helpers (a new Axes on its
own Figure, the shared palette); no global matplotlib state is changed."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting import PALETTE, new_axes

__all__ = ["plot_strategy_risks"]

_CURVE_COLUMNS = ("strategy", "day", "risk", "ci_lower", "ci_upper")


def plot_strategy_risks(
    curves: pd.DataFrame,
    *,
    strategies: Sequence[str],
    grace_days: int,
    horizon_days: int,
    ax: Axes | None = None,
    ci: bool = True,
) -> Axes:
    """Risk of death by day under each strategy of an emulated target trial.

    Parameters
    ----------
    curves : DataFrame
        ``strategy, day, risk, ci_lower, ci_upper``, one row per strategy and day from 0, as
        ``CloneCensorResult.curves``; a strategy left out of it (small-cell suppression) is
        not drawn, and the others keep their colours.
    strategies : sequence of str
        Every strategy of the trial, in order (it fixes each one's colour).
    grace_days : int
        The grace period, marked where it ends (the start of day ``grace_days + 1``).
    horizon_days : int
        Last day drawn.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    ci : bool, default True
        Shade the pointwise percentile bootstrap band (where it was computed).

    Returns
    -------
    Axes
    """
    missing = [c for c in _CURVE_COLUMNS if c not in curves.columns]
    if missing:
        raise ArgumentError(f"curves lack the columns {missing}; it has {list(curves.columns)}")
    unknown = sorted(set(curves["strategy"]) - set(strategies))
    if unknown:
        raise ArgumentError(f"curves name strategies not in strategies: {unknown}")
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(6.5, 3.8)
        for i, name in enumerate(strategies):
            c = curves[(curves["strategy"] == name) & (curves["day"] <= horizon_days)]
            c = c.sort_values("day")
            if c.empty:
                continue
            color = PALETTE[i % len(PALETTE)]
            # a death on day k happens within it (at k + 0.5, the project's timelines), so the
            # risk by day k steps up half-way through that day, from 0 at onset
            x = np.concatenate([[0.0], c["day"].to_numpy(float) + 0.5])
            y = np.concatenate([[0.0], c["risk"].to_numpy(float)])
            ax.step(x, y, where="post", color=color, lw=1.6, label=name)
            lower = np.concatenate([[0.0], c["ci_lower"].to_numpy(float)])
            upper = np.concatenate([[0.0], c["ci_upper"].to_numpy(float)])
            if ci and np.isfinite(lower[1:]).any():
                ax.fill_between(x, lower, upper, step="post", color=color, alpha=0.15, lw=0)
        ax.axvline(grace_days + 1, color="#7f7f7f", lw=0.8, ls="--")
        ax.annotate(
            f"end of the {grace_days}-day grace period",
            xy=(grace_days + 1, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            va="top",
            fontsize=8,
            color="#4a4a4a",
        )
        ax.set_xlim(0, horizon_days + 1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Days since DAH onset")
        ax.set_ylabel("Risk of death")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.grid(axis="y", color="#e5e5e5")
    return ax
