"""Sensitivity of an arm's mortality to a treatment flag missing not at random: a
tipping-point analysis over delta-adjusted imputations.

The issue's example: with the cyclophosphamide flag missing in 40% of in-hospital deaths and
10% of the others, the MP+CYC+PLEX arm's mortality moved from 12.7% to 9.6% and a new
``Unknown`` arm appeared. Multiple imputation with the outcome in the imputation model repairs
that as long as, given the outcome and the other flags, the patients whose flag is missing were
treated like those whose flag is recorded (MAR). :func:`arm_mortality_tipping_point` asks how
far that may fail before the conclusion about the arm changes: the missing flags are imputed
with ``delta`` added to their log odds (``exp(delta)`` is the odds ratio of having had the
treatment among the unrecorded against the recorded alike in everything else), over a grid of
deltas, the arm's mortality pooled by Rubin's rules at each (logit scale), and the tipping
point is the delta at which the arm's mortality crosses the figure it is judged against (a
cited 12%), or its CI stops (or starts) including it.

How a cohort is imputed. The patients' index (first) episodes are imputed by chained
equations (:func:`~dah_outcomes.stats.imputation.impute_chained`): the treatment flags the
arm definition reads and the severity and ventilation flags, each from the others, with the
in-hospital death (the outcome) and the era of onset as predictors; a flag without missing
values is a predictor only. The arms are derived again from each completed set of flags (a
source-given arm column is not used: it cannot follow an imputed flag). The plot,
:func:`plot_tipping_point`, draws the estimates and their CIs against delta with the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    ArmDefinition,
    assign_arms,
    assign_eras,
)
from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting import PALETTE, new_axes
from dah_outcomes.stats.delta_adjustment import (
    TippingPointResult,
    check_deltas,
    summarise_tipping_point,
)
from dah_outcomes.stats.imputation import impute_chained
from dah_outcomes.stats.pooling import PooledEstimate, pool_proportions

__all__ = [
    "DEFAULT_DELTAS",
    "IMPUTED_FLAGS",
    "arm_mortality_tipping_point",
    "plot_tipping_point",
]

#: The default grid: odds ratios from about 1/20 to 20 of the flag among the unrecorded.
DEFAULT_DELTAS: tuple[float, ...] = (-3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0)

#: Index-episode flags imputed besides the arm definition's (when the cohort has them).
IMPUTED_FLAGS: tuple[str, ...] = ("severe", "mechanical_ventilation")


def _index_frame(cohort: Cohort, flags: Sequence[str]) -> pd.DataFrame:
    """One row per patient: the index episode's flags, the outcome and the era (a flag)."""
    e = cohort.episodes
    index = e[e["episode_number"] == 1].reset_index(drop=True)
    frame = pd.DataFrame({f: index[f].astype("boolean") for f in flags})
    frame["in_hospital_death"] = index["in_hospital_death"].astype(bool)
    era = assign_eras(index["onset_date"], DEFAULT_ERAS)
    frame["historical_era"] = (era == DEFAULT_ERAS.labels[0]).to_numpy()
    return frame


def _check_arm(arm: Any, flag: Any, arms: ArmDefinition, cohort: Any) -> None:
    if not isinstance(cohort, Cohort):
        raise ArgumentError(f"cohort must be a Cohort, got {type(cohort).__name__}")
    if not isinstance(arms, ArmDefinition):
        raise ArgumentError(f"arms must be an ArmDefinition, got {type(arms).__name__}")
    if arm not in arms.names:
        raise ArgumentError(f"arm {arm!r} is not an arm of the definition: {arms.names}")
    if flag not in cohort.episodes.columns:
        raise ArgumentError(f"the cohort's episodes have no {flag!r} column to impute")


def _mortality(completed: Sequence[pd.DataFrame], arm: str, arms: ArmDefinition) -> PooledEstimate:
    events, totals = [], []
    for frame in completed:
        inside = (assign_arms(frame, arms) == arm).to_numpy()
        events.append(int(frame["in_hospital_death"].to_numpy()[inside].sum()))
        totals.append(int(inside.sum()))
    if min(totals) == 0:
        raise ArgumentError(f"arm {arm!r} is empty in an imputation: no mortality to judge")
    return pool_proportions(events, totals, terms=[f"mortality of {arm}"])


def arm_mortality_tipping_point(
    cohort: Cohort,
    *,
    flag: str = "cyclophosphamide",
    arm: str = "MP+CYC+PLEX",
    threshold: float = 0.12,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    criterion: str = "estimate",
    m: int = 20,
    iterations: int = 10,
    seed: int = 0,
    arms: ArmDefinition = DEFAULT_ARMS,
) -> TippingPointResult:
    """How far a missing treatment flag must depart from MAR to change an arm's mortality.

    Parameters
    ----------
    cohort : Cohort
        A cohort whose index episodes have ``flag`` missing for some patients.
    flag : str, default "cyclophosphamide"
        The treatment flag whose imputations are shifted by ``delta`` on the log odds.
    arm : str, default "MP+CYC+PLEX"
        The arm whose in-hospital mortality (per patient, index episode) is judged.
    threshold : float, default 0.12
        The mortality it is judged against (the cited ~12% of MP+CYC+PLEX).
    deltas : sequence of float, default DEFAULT_DELTAS
        The grid of log odds shifts; 0 (MAR) is added when absent.
    criterion : {"estimate", "ci"}, default "estimate"
        Whether the estimate crossing the threshold, or the CI starting or ceasing to
        include it, changes the conclusion.
    m : int, default 20
        Imputations per delta.
    iterations : int, default 10
        Iterations of the chained equations.
    seed : int, default 0
        Seed of the imputations (the same for every delta).
    arms : ArmDefinition, default DEFAULT_ARMS
        The arm rules, applied to each completed set of flags.

    Returns
    -------
    TippingPointResult
        The arm's pooled mortality and CI per delta, and the tipping points (None, said so in
        ``summary``, when no delta of the grid changes the conclusion).

    Raises
    ------
    ArgumentError
        For an unknown arm, a flag the cohort lacks or has no missing values of among the
        index episodes, an arm empty in an imputation, or as
        :func:`~dah_outcomes.stats.delta_adjustment.summarise_tipping_point`.
    """
    _check_arm(arm, flag, arms, cohort)
    grid = check_deltas(deltas)
    wanted = dict.fromkeys([*(f for a in arms.arms for f in a.flags), *IMPUTED_FLAGS])
    flags = [f for f in wanted if f in cohort.episodes.columns]
    frame = _index_frame(cohort, flags)
    if not frame[flag].isna().any():
        raise ArgumentError(
            f"{flag!r} has no missing values among the index episodes: there is nothing to "
            "shift (the arm's mortality is not in doubt from it)"
        )
    # a flag recorded for fewer than 2 patients cannot be modelled: leave it missing, so
    # that the arms it decides stay Unknown rather than imputed from nothing
    columns = [f for f in flags if frame[f].notna().sum() >= 2]
    if flag not in columns:
        raise ArgumentError(f"{flag!r} is recorded for fewer than 2 patients: nothing to model")
    pooled = {}
    for d in grid:
        imputed = impute_chained(
            frame,
            columns=columns,
            predictors=["in_hospital_death", "historical_era"],
            m=m,
            iterations=iterations,
            seed=seed,
            delta={flag: float(d)} if d else None,
        )
        pooled[float(d)] = _mortality(list(imputed), arm, arms)
    return summarise_tipping_point(
        pooled, threshold=threshold, criterion=criterion, column=flag, seed=seed
    )


def plot_tipping_point(
    result: TippingPointResult, *, ax: Axes | None = None, truth: float | None = None
) -> Axes:
    """The pooled estimate and its CI against delta, the threshold and the tipping points.

    Parameters
    ----------
    result : TippingPointResult
        From :func:`arm_mortality_tipping_point` or
        :func:`~dah_outcomes.stats.delta_adjustment.delta_sensitivity`.
    ax : Axes, optional
        Where to draw; a new figure (:func:`~dah_outcomes.plotting.new_axes`) by default.
    truth : float, optional
        A known true value to draw beside the estimates (simulated data).

    Returns
    -------
    Axes
        Save it with :func:`~dah_outcomes.plotting.save_figure`.
    """
    if not isinstance(result, TippingPointResult):
        raise ArgumentError(f"result must be a TippingPointResult, got {type(result).__name__}")
    ax = new_axes() if ax is None else ax
    d = result.deltas
    ax.fill_between(d, result.ci_lower, result.ci_upper, color=PALETTE[0], alpha=0.2, lw=0)
    ax.plot(d, result.estimate, "o-", color=PALETTE[0], label=f"{result.term} (pooled)")
    ax.axhline(result.threshold, color=PALETTE[1], ls="--", label=f"threshold {result.threshold:g}")
    if truth is not None:
        ax.axhline(truth, color=PALETTE[2], ls=":", label=f"truth {truth:.3g}")
    ax.axvline(0.0, color="0.6", lw=0.8)
    for tip in (result.tipping_point_below, result.tipping_point_above):
        if tip is not None:
            ax.axvline(tip, color=PALETTE[3], ls="-.", lw=1.2)
            ax.annotate(
                f"tips at {tip:g}",
                (tip, float(np.nanmax(result.ci_upper))),
                xytext=(3, -12),
                textcoords="offset points",
                color=PALETTE[3],
                fontsize=8,
            )
    ax.set_xlabel(f"delta: log odds shift of the imputed {result.column} (0 = MAR)")
    ax.set_ylabel(result.term)
    ax.set_title("Tipping point" if result.tipping_point is not None else "No tipping point")
    ax.legend(frameon=False, fontsize=8)
    return ax
