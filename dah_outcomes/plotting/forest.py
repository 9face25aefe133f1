"""Forest plots of ratios (hazard ratios and the like) on a log axis."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import new_axes

#: The colour of a row that is no group's (an adjustment covariate, or every row by default).
_INK = "#000000"

__all__ = ["plot_forest"]


def plot_forest(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    label: str = "term",
    estimate: str = "hazard_ratio",
    low: str = "ci_lower",
    high: str = "ci_upper",
    xlabel: str = "Hazard ratio (log scale)",
    palette: Mapping[str, str] | None = None,
    group: str | None = None,
) -> Axes:
    """Forest plot of ratios with CIs on a log axis (one row per term, first at the top).

    Parameters
    ----------
    table : DataFrame
        One row per term, e.g. ``CoxResult.to_frame()``.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    label, estimate, low, high : str
        Columns of the row label, the ratio and its interval.
    xlabel : str
        Label of the (log) ratio axis.
    palette : mapping of str to str, optional
        Group colours, e.g. the cohort's ``group_colors(arms)`` shared with its survival
        plots: a row whose ``group`` value is in the mapping takes that colour (an arm's hazard
        ratio in its Kaplan-Meier colour); other rows are black.
    group : str, optional
        Column naming each row's group; default ``"level"`` when ``palette`` is given and the
        table has it (as :func:`~dah_outcomes.analyses.hazard_ratios.hazard_ratios` does).

    Returns
    -------
    Axes

    Raises
    ------
    ArgumentError
        If ``group`` is not a column of ``table``.
    """
    if group is None and palette is not None and "level" in table.columns:
        group = "level"
    if group is not None and group not in table.columns:
        raise ArgumentError(f"group={group!r} is not a column of the table: {list(table.columns)}")
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.0, 0.35 * len(table) + 1.2)
        t = table.iloc[::-1].reset_index(drop=True)
        y = np.arange(len(t))
        keys = t[group].astype(str) if group is not None else pd.Series([""] * len(t))
        colours = [(palette or {}).get(k, _INK) for k in keys]
        ax.hlines(y, t[low], t[high], colors=colours, lw=1.6)
        ax.scatter(t[estimate], y, marker="s", c=colours, s=25, zorder=3)
        ax.axvline(1.0, color="#7f7f7f", lw=0.8, ls="--")
        ax.set_xscale("log")
        lo_all, hi_all = float(np.nanmin(t[low])), float(np.nanmax(t[high]))
        nice = [
            v
            for v in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
            if lo_all / 1.5 <= v <= hi_all * 1.5
        ] or [1]
        ax.set_xticks(nice, [f"{v:g}" for v in nice])
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_yticks(y, t[label].astype(str).tolist())
        ax.set_xlabel(xlabel)
        for yi, (e, lo, hi) in enumerate(zip(t[estimate], t[low], t[high], strict=True)):
            ax.annotate(
                f"{e:.2f} ({lo:.2f}-{hi:.2f})",
                (1.02, yi),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=8,
            )
        ax.grid(axis="x", color="#e5e5e5")
    return ax
