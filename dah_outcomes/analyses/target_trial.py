"""Target trial emulation of a treatment strategy with a grace period, by clone-censor-weight.

The question "does starting cyclophosphamide within 2 days of DAH onset, rather than later or
never, lower the risk of death by day 90?" is a question about strategies, which the
treatment's observed arms cannot answer: patients treated late had to survive to be treated,
and the sickest are treated first. The target trial that would answer it enrols patients at DAH
onset and randomises them to the two strategies; :class:`TargetTrialProtocol` writes that trial
down (eligibility, strategies, assignment, time zero, follow-up, outcome, causal contrast,
adjustment set, analysis) beside how this cohort emulates each part, as the TARGET guideline
(Transparent reporting of observational studies emulating a target trial) asks.
:func:`emulate_target_trial` runs it: each patient is cloned into both strategies, clones are
censored when their treatment departs from the strategy and weighted by the inverse of the
probability of remaining uncensored given the adjustment set
(:func:`~dah_outcomes.stats.clone_censor.clone_censor_weight`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.adjustment import (
    DEFAULT_ADJUSTMENT,
    adjustment_covariates,
    check_adjustment,
    complete_cases,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.timelines import treatment_names, treatment_starts
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning, EstimationError, warn
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice, check_conf_level, check_positive_int
from dah_outcomes.stats.clone_censor import INTERVALS, CloneCensorResult, clone_censor_weight

__all__ = [
    "TargetTrialEmulation",
    "TargetTrialProtocol",
    "emulate_target_trial",
    "target_trial_protocol",
]


def _days(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ArgumentError(f"{name} must be a whole number of days >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetTrialProtocol(ResultMixin):
    """The protocol of a target trial of starting a treatment within a grace period after DAH
    onset, and how a cohort emulates it.

    Attributes
    ----------
    treatment : str
        The treatment whose start is compared.
    grace_days : int
        The grace period: starting on day ``grace_days`` after onset or before follows the
        first strategy.
    horizon_days : int
        The day at which the risks of death are compared.
    strategies : tuple of str
        The two strategies, in words.
    adjust_for : tuple of str
        The adjustment set asked for (:mod:`dah_outcomes.analyses.adjustment`).
    bootstrap : int
        Bootstrap replicates of the intervals.
    conf_level : float
    stabilized : bool
        Whether the weights are stabilised.
    truncate : float or None
        Percentile at which the weights are truncated, if they are.
    day_interactions : bool
        Whether the censoring model of the second strategy has a term per day of the grace
        period and covariate (the hazard of starting free to differ by covariate from day to
        day), rather than day and covariate terms alone.
    interval : str
        ``"percentile"`` or ``"normal"`` bootstrap intervals
        (:data:`~dah_outcomes.stats.clone_censor.INTERVALS`).
    """

    treatment: str
    grace_days: int
    horizon_days: int
    strategies: tuple[str, str]
    adjust_for: tuple[str, ...]
    bootstrap: int
    conf_level: float
    stabilized: bool
    truncate: float | None
    day_interactions: bool = True
    interval: str = "percentile"

    def components(self) -> list[dict[str, str]]:
        """The protocol's components, each with its specification and its emulation.

        Returns
        -------
        list of dict
            ``component``, ``specification``, ``emulation``, in the TARGET order.
        """
        g, h, t = self.grace_days, self.horizon_days, self.treatment
        adjust = ", ".join(self.adjust_for) or "none"
        weights = "stabilised" if self.stabilized else "unstabilised"
        if self.truncate is not None:
            weights += f", truncated at the {100 - self.truncate:g}th and {self.truncate:g}th "
            weights += "percentiles"
        model = (
            "day, adjustment-set and day-by-covariate terms"
            if self.day_interactions
            else "day and adjustment-set terms"
        )
        level = f"{self.conf_level:.0%}"
        rows = [
            (
                "Eligibility criteria",
                "Patients with SLE at the onset of their first episode of DAH, not yet "
                f"treated with {t}",
                "Every patient of the cohort with a first DAH episode; patients whose start "
                f"of {t} cannot be placed in time (flag without a dated course, or not "
                "recorded), who started it before onset, or who miss an adjustment "
                "covariate are left out and counted",
            ),
            (
                "Treatment strategies",
                f"(1) {self.strategies[0]}; (2) {self.strategies[1]}",
                f"The first course of {t} in the treatments table (index episode), in days "
                "from onset; every patient is cloned into both strategies",
            ),
            (
                "Assignment procedures",
                "Randomisation at onset, open label",
                "Both clones assigned at onset; exchangeability given the adjustment set, "
                "emulated by inverse-probability-of-censoring weights",
            ),
            (
                "Time zero",
                "DAH onset (day 0), when eligibility is met and a strategy assigned",
                "The onset date of the first episode; a course switches on at the start of "
                "its day, a death happens within its day",
            ),
            (
                "Follow-up",
                f"From onset to death, loss to follow-up or day {h}",
                "Registry follow-up to death or its end, cut at the horizon; a clone is "
                "censored on the day its treatment departs from its strategy (the first, on "
                f"day {g + 1} if {t} has not started; the second, on the day it starts if "
                f"by day {g})",
            ),
            (
                "Outcome",
                f"Death from any cause by day {h} after onset",
                "The death date of the patients table",
            ),
            (
                "Causal contrast",
                f"Per-protocol effect: risk difference and risk ratio of death by day {h}, "
                "(1) against (2)",
                "Observational analogue of the per-protocol effect, by clone-censor-weight",
            ),
            (
                "Adjustment set",
                f"Baseline confounders of the start and of death: {adjust}",
                "Covariates of the pooled logistic censoring models (the one adjustment "
                "set of the project); any not recorded or constant are named on the result",
            ),
            (
                "Statistical analysis",
                f"Risk of death by day {h} under each strategy, with {level} confidence intervals",
                f"Pooled logistic models of censoring on daily rows ({model}), {weights} "
                "weights; weighted "
                f"Kaplan-Meier risks per strategy; {self.interval} intervals from {self.bootstrap} "
                "bootstrap replicates of patients (both clones together)",
            ),
        ]
        return [
            dict(zip(("component", "specification", "emulation"), r, strict=True)) for r in rows
        ]

    def to_frame(self) -> pd.DataFrame:
        """The TARGET table: ``component, specification, emulation``."""
        return pd.DataFrame(self.components(), columns=["component", "specification", "emulation"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the protocol's fields and its ``components``.

        Returns
        -------
        dict
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["strategies"] = list(self.strategies)
        out["adjust_for"] = list(self.adjust_for)
        out["components"] = self.components()
        return json_safe(out)

    def _title(self) -> str:
        return (
            f"Target trial: {self.treatment} within {self.grace_days} days of DAH onset, death "
            f"by day {self.horizon_days}"
        )

    def __str__(self) -> str:
        lines = [self._title()]
        for row in self.components():
            lines.append(f"\n{row['component']}")
            lines.append(f"  specification: {row['specification']}")
            lines.append(f"  emulation:     {row['emulation']}")
        return "\n".join(lines)


def target_trial_protocol(
    treatment: str,
    *,
    grace_days: int,
    horizon_days: int,
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    bootstrap: int = 200,
    conf_level: float = 0.95,
    stabilized: bool = True,
    truncate: float | None = None,
    day_interactions: bool = True,
    interval: str = "percentile",
) -> TargetTrialProtocol:
    """The protocol of the target trial of starting ``treatment`` within ``grace_days``.

    Parameters
    ----------
    treatment : str
        One of :func:`~dah_outcomes.endpoints.timelines.treatment_names`.
    grace_days : int
        Grace period in days (>= 0).
    horizon_days : int
        Day at which the risks of death are compared (> ``grace_days``).
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        The adjustment set (:data:`~dah_outcomes.analyses.adjustment.COVARIATES`).
    bootstrap : int, default 200
        Bootstrap replicates (0 for none).
    conf_level : float, default 0.95
        Level of the intervals.
    stabilized : bool, default True
        Stabilised weights.
    truncate : float, optional
        Truncation percentile of the weights (e.g. 99).
    day_interactions : bool, default True
        Day-by-covariate terms in the censoring model (see :class:`TargetTrialProtocol`).
    interval : {"percentile", "normal"}, default "percentile"
        The bootstrap intervals' kind.

    Returns
    -------
    TargetTrialProtocol

    Raises
    ------
    ArgumentError
        For an unknown treatment or covariate, or bad days or options.
    """
    names = treatment_names()
    if treatment not in names:
        raise ArgumentError(f"treatment must be one of {sorted(names)}, got {treatment!r}")
    grace = _days("grace_days", grace_days, minimum=0)
    horizon = _days("horizon_days", horizon_days, minimum=grace + 1)
    if truncate is not None and (
        isinstance(truncate, bool)
        or not isinstance(truncate, int | float)
        or not 50 < truncate < 100
    ):
        raise ArgumentError(f"truncate must be a percentile in (50, 100) or None, got {truncate!r}")
    return TargetTrialProtocol(
        treatment=treatment,
        grace_days=grace,
        horizon_days=horizon,
        strategies=(
            f"start {treatment} within {grace} days of onset",
            f"do not start {treatment} within {grace} days of onset (later or never)",
        ),
        adjust_for=check_adjustment(adjust_for),
        bootstrap=check_positive_int("bootstrap", bootstrap, minimum=0),
        conf_level=check_conf_level(conf_level),
        stabilized=bool(stabilized),
        truncate=None if truncate is None else float(truncate),
        day_interactions=bool(day_interactions),
        interval=check_choice("interval", interval, INTERVALS),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetTrialEmulation(ResultMixin):
    """The emulated target trial: its protocol and the clone-censor-weight estimates.

    Attributes
    ----------
    protocol : TargetTrialProtocol
    ccw : CloneCensorResult
        Risks per strategy, their difference and ratio, curves, weights and censoring models.
    n : int
        Patients analysed (each cloned into both strategies).
    n_dropped : int
        Patients left out for a missing adjustment covariate or no record of the treatment.
    n_timing_unknown : int
        Patients treated with no dated course (cannot be placed in time), left out.
    n_started_before_onset : int
        Patients whose first course started before onset (not eligible), left out.
    adjusted_for : tuple of str
        The covariates the censoring models used.
    not_adjusted : dict of str to str
        Covariates asked for but not used, with the reason.
    warnings : tuple of str
        Every warning given (also issued as warnings of our classes).
    fingerprint : str
        The cohort's fingerprint.
    """

    protocol: TargetTrialProtocol
    ccw: CloneCensorResult = field(repr=False)
    n: int
    n_dropped: int
    n_timing_unknown: int
    n_started_before_onset: int
    adjusted_for: tuple[str, ...]
    not_adjusted: dict[str, str]
    warnings: tuple[str, ...]
    fingerprint: str = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The risks per strategy, the risk difference and the risk ratio with their CIs."""
        return self.ccw.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """What ``dah-outcomes emulate --json`` prints (JSON-safe).

        Returns
        -------
        dict
            ``protocol``, ``strategies`` (each with ``name``, ``risk`` {``estimate``,
            ``ci_lower``, ``ci_upper``}, ``n_events``, ``n_censored``, ``weights``),
            ``risk_difference``, ``risk_ratio`` (same shape as a risk), ``n``,
            ``n_dropped``, ``n_timing_unknown``, ``n_started_before_onset``,
            ``adjusted_for``, ``not_adjusted``, ``censoring_coefficients``, ``curves``,
            ``n_bootstrap_failed``, ``positivity`` (the probabilities of following each
            strategy and the weights against the positivity thresholds), ``warnings``,
            ``fingerprint``.
        """
        ccw = self.ccw.to_dict()
        return json_safe(
            {
                "protocol": self.protocol.to_dict(),
                "strategies": ccw["strategies"],
                "risk_difference": ccw["risk_difference"],
                "risk_ratio": ccw["risk_ratio"],
                "n": self.n,
                "n_dropped": self.n_dropped,
                "n_timing_unknown": self.n_timing_unknown,
                "n_started_before_onset": self.n_started_before_onset,
                "adjusted_for": list(self.adjusted_for),
                "not_adjusted": dict(self.not_adjusted),
                "censoring_coefficients": ccw["censoring_coefficients"],
                "curves": ccw["curves"],
                "n_bootstrap_failed": ccw["n_bootstrap_failed"],
                "positivity": ccw["positivity"],
                "warnings": list(self.warnings),
                "fingerprint": self.fingerprint,
            }
        )

    def _title(self) -> str:
        c, p = self.ccw, self.protocol
        level = f"{p.conf_level:.0%}"
        return (
            f"{p.treatment} within {p.grace_days} days vs not: death by day {p.horizon_days} "
            f"{c.risk[0]:.1%} vs {c.risk[1]:.1%}; RD {c.risk_difference:+.3f} "
            f"({level} CI {c.rd_ci_lower:+.3f} to {c.rd_ci_upper:+.3f}), RR "
            f"{c.risk_ratio:.2f} ({c.rr_ci_lower:.2f} to {c.rr_ci_upper:.2f}); n = {self.n}"
        )


def _eligible(starts: pd.DataFrame, treatment: str, notes: list[str]) -> tuple[pd.DataFrame, dict]:
    """The patients who can enter the trial, announcing the others."""
    timing = starts["timing"]
    unknown = timing.eq("unknown").to_numpy()
    missing = timing.eq("missing").to_numpy()
    before = (timing.eq("known") & (starts["start_day"] < 0)).to_numpy()
    for count, why in (
        (
            unknown,
            f"are treated with {treatment} with no dated course (cannot be placed in "
            "time; counted in n_timing_unknown): record the course's start date",
        ),
        (missing, f"have no record of {treatment} (counted in n_dropped)"),
        (
            before,
            f"started {treatment} before DAH onset and are not eligible (counted in "
            "n_started_before_onset)",
        ),
    ):
        if count.any():
            message = f"target trial: {int(count.sum())} patients {why}; they are left out"
            notes.append(message)
            warn(message, DroppedRowsWarning)
    counts = {
        "n_timing_unknown": int(unknown.sum()),
        "n_missing": int(missing.sum()),
        "n_started_before_onset": int(before.sum()),
    }
    return starts[~(unknown | missing | before)], counts


def emulate_target_trial(
    cohort: Cohort,
    *,
    treatment: str,
    grace_days: int,
    horizon_days: int,
    bootstrap: int = 200,
    seed: int | np.random.Generator | None = 0,
    conf_level: float = 0.95,
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    stabilized: bool = True,
    truncate: float | None = None,
    day_interactions: bool = True,
    interval: str = "percentile",
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> TargetTrialEmulation:
    """Emulate the target trial of starting ``treatment`` within ``grace_days`` of DAH onset
    vs not, with death by ``horizon_days`` as the outcome, by clone-censor-weight.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort whose treatments table dates the courses.
    treatment : str
        One of :func:`~dah_outcomes.endpoints.timelines.treatment_names`.
    grace_days : int
        Grace period (days after onset, >= 0).
    horizon_days : int
        Day at which the risks of death are compared (> ``grace_days``).
    bootstrap : int, default 200
        Bootstrap replicates of patients (0 for none).
    seed : int, numpy Generator or None, default 0
        Seed of the bootstrap.
    conf_level : float, default 0.95
        Level of the intervals.
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        Baseline confounders (:mod:`dah_outcomes.analyses.adjustment`).
    stabilized : bool, default True
        Stabilised weights.
    truncate : float, optional
        Truncate the weights at this percentile and its mirror (e.g. 99).
    day_interactions : bool, default True
        Let the daily hazard of starting differ by covariate from day to day in the censoring
        model (see :func:`~dah_outcomes.stats.clone_censor.clone_censor_weight`). On by
        default: where starting depends on the covariates differently by day (a course
        started only after an infection is treated), the additive model biases the risk
        difference (benchmarks/results/emulation_truth.md).
    interval : {"percentile", "normal"}, default "percentile"
        Percentile bootstrap intervals, or normal ones from the replicates' SD, which do
        not inherit the inward bias of a finite number of replicates' tail quantiles (see
        :func:`~dah_outcomes.stats.clone_censor.clone_censor_weight`).
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions (the era may be adjusted for).

    Returns
    -------
    TargetTrialEmulation

    Raises
    ------
    ArgumentError
        For an unknown treatment or covariate, or bad days or options.
    EstimationError
        When no patient is eligible.

    Warns
    -----
    DroppedRowsWarning
        When patients are left out (undated or unrecorded treatment, a start before onset,
        a missing covariate).
    SmallSampleWarning
        For few events or a strategy no patient follows to the horizon.
    PositivityWarning
        Once, for near-violations of positivity (probabilities of following a strategy below
        0.01, extreme weights, a small effective sample size), with the numbers; recorded
        as ``ccw.positivity``.
    """
    protocol = target_trial_protocol(
        treatment,
        grace_days=grace_days,
        horizon_days=horizon_days,
        adjust_for=adjust_for,
        bootstrap=bootstrap,
        conf_level=conf_level,
        stabilized=stabilized,
        truncate=truncate,
        day_interactions=day_interactions,
        interval=interval,
    )
    notes: list[str] = []
    starts = treatment_starts(cohort, treatment, arms=arms, eras=eras)
    starts, counts = _eligible(starts, treatment, notes)
    starts, used, left_out = adjustment_covariates(
        starts, cohort, protocol.adjust_for, arms=arms, eras=eras
    )
    # start_day is NaN for patients never treated: not a missing value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DroppedRowsWarning)
        data, n_dropped = complete_cases(starts, ["time", "event"], used, what="target trial")
    for w in caught:  # issued again from here, and recorded as said
        notes.append(str(w.message))
        warn(str(w.message), DroppedRowsWarning)
    data = data.assign(start_day=starts.loc[data.index, "start_day"])
    if data.empty:
        raise EstimationError(f"no patient is eligible for the target trial of {treatment}")
    g = protocol.grace_days
    ccw = clone_censor_weight(
        data,
        time="time",
        event="event",
        start="start_day",
        grace=g,
        horizon=protocol.horizon_days,
        covariates=used,
        stabilized=protocol.stabilized,
        truncate=protocol.truncate,
        bootstrap=protocol.bootstrap,
        seed=seed,
        conf_level=protocol.conf_level,
        interval=protocol.interval,
        labels=(f"{treatment} within {g} days", f"no {treatment} within {g} days"),
        day_interactions=protocol.day_interactions,
    )
    return TargetTrialEmulation(
        protocol=protocol,
        ccw=ccw,
        n=ccw.n,
        n_dropped=n_dropped + counts["n_missing"],
        n_timing_unknown=counts["n_timing_unknown"],
        n_started_before_onset=counts["n_started_before_onset"],
        adjusted_for=tuple(used),
        not_adjusted=dict(left_out),
        warnings=(*notes, *ccw.warnings),
        fingerprint=cohort.fingerprint,
    )
