"""The hazard ratio of death for a treatment, estimated three ways: naive (ever vs never
treated), by landmark and with the treatment as a time-varying covariate.

In DAH the treatments that matter start at different times (plasmapheresis or rituximab "if
DAH persists", days after onset, only in patients still alive), so comparing ever-treated
with never-treated patients credits the treatment with the days its patients had to survive
to receive it: immortal-time bias. The naive estimate is kept for comparison and announced
by :class:`~dah_outcomes.errors.ImmortalTimeWarning` whenever a course started after time
zero or when it started is unknown. The landmark analysis compares, among the patients alive
at day ``d``, those treated by ``d`` with the others; the time-varying analysis counts each
patient as untreated until the day the course starts (counting-process Cox with a robust SE
by patient). Both are adjusted for the same declared set as the hazard ratios by group.
"""

from __future__ import annotations

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
from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts
from dah_outcomes.analyses.missing_handling import (
    complete_case_summary,
    each_imputation,
    imputed_set,
    imputed_summary,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import frame_notes
from dah_outcomes.endpoints.timelines import (
    EVENT_OFFSET,
    check_immortal_time,
    treatment_starts,
    treatment_timeline,
)
from dah_outcomes.errors import (
    ArgumentError,
    DroppedRowsWarning,
    EstimationError,
    WarningLog,
)
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice, check_conf_level
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.pooling import pool_cox

__all__ = ["METHODS", "TreatmentEffect", "treatment_effect"]

#: The estimators, in words (quoted in methods texts).
METHODS = {
    "naive": "Cox model of ever vs never treated from DAH onset (biased by immortal time "
    "when treatment starts after onset)",
    "landmark": "Cox model from a landmark day among patients alive then, treated by the "
    "landmark vs not",
    "time-varying": "Cox model with the treatment as a time-varying covariate, switching on "
    "at its start day (counting process, robust SE by patient)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentEffect(ResultMixin):
    """The hazard ratio of death for one treatment, by one method.

    Attributes
    ----------
    treatment, method : str
        The treatment and the estimator (a key of :data:`METHODS`).
    hazard_ratio, ci_lower, ci_upper : float
        Treated vs untreated, with its Wald interval.
    p_value : float
        Two-sided Wald p-value of the treatment term.
    landmark_days : int or None
        The landmark (landmark method only).
    n, n_events : int
        Patients (time-varying: patients, not intervals) and deaths analysed.
    n_treated : int
        Patients counted as treated (by the landmark for that method; ever otherwise).
    n_dropped : int
        Patients left out for a missing adjustment covariate or treatment flag.
    n_timing_unknown : int
        Treated patients left out of the landmark or time-varying analysis because no course
        says when their treatment started.
    adjusted_for : tuple of str
        The covariates the model used.
    not_adjusted : dict of str to str
        Covariates asked for but not used, with the reason.
    conf_level : float
    warnings : tuple of str
        Every warning the analysis gave (also issued as warnings of our classes).
    cox : CoxResult
        The fitted model (under multiple imputation, the first completed cohort's).
    fingerprint : str
        The cohort's fingerprint.
    missing_data : dict
        How missing values were handled (see :mod:`dah_outcomes.analyses.missing_handling`).
        Under multiple imputation the hazard ratio, interval and p-value are the treatment
        term of the Cox models pooled by Rubin's rules (t with the Barnard-Rubin df), with
        its fraction of missing information; the counts are rounded means over the
        imputations.
    """

    treatment: str
    method: str
    hazard_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    landmark_days: int | None
    n: int
    n_events: int
    n_treated: int
    n_dropped: int
    n_timing_unknown: int
    adjusted_for: tuple[str, ...]
    not_adjusted: dict[str, str]
    conf_level: float
    warnings: tuple[str, ...]
    cox: CoxResult = field(repr=False)
    fingerprint: str = field(repr=False)
    missing_data: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row: the treatment, method, hazard ratio with CI, p and counts."""
        return pd.DataFrame(
            [
                {
                    "treatment": self.treatment,
                    "method": self.method,
                    "landmark_days": self.landmark_days,
                    "hazard_ratio": self.hazard_ratio,
                    "ci_lower": self.ci_lower,
                    "ci_upper": self.ci_upper,
                    "p_value": self.p_value,
                    "n": self.n,
                    "n_events": self.n_events,
                    "n_treated": self.n_treated,
                    "conf_level": self.conf_level,
                }
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """What ``dah-outcomes treatment-effect --json`` prints (JSON-safe).

        Returns
        -------
        dict
            ``treatment, method, hazard_ratio {estimate, ci_lower, ci_upper}, p_value,
            landmark_days, n, n_events, n_treated, n_dropped, n_timing_unknown, adjusted_for,
            not_adjusted, conf_level, warnings, fingerprint``.
        """
        return json_safe(
            {
                "treatment": self.treatment,
                "method": self.method,
                "hazard_ratio": {
                    "estimate": self.hazard_ratio,
                    "ci_lower": self.ci_lower,
                    "ci_upper": self.ci_upper,
                },
                "p_value": self.p_value,
                "landmark_days": self.landmark_days,
                "n": self.n,
                "n_events": self.n_events,
                "n_treated": self.n_treated,
                "n_dropped": self.n_dropped,
                "n_timing_unknown": self.n_timing_unknown,
                "adjusted_for": list(self.adjusted_for),
                "not_adjusted": dict(self.not_adjusted),
                "conf_level": self.conf_level,
                "warnings": list(self.warnings),
                "fingerprint": self.fingerprint,
                "missing_data": self.missing_data,
            }
        )

    def _title(self) -> str:
        landmark = f" at day {self.landmark_days}" if self.method == "landmark" else ""
        return (
            f"{self.treatment}: HR {self.hazard_ratio:.2f} ({self.ci_lower:.2f}-"
            f"{self.ci_upper:.2f}), {self.method}{landmark}, n = {self.n}, "
            f"{self.n_events} deaths"
        )


def _naive(starts: pd.DataFrame, cohort: Cohort, treatment: str, notes: WarningLog) -> pd.DataFrame:
    notes.messages.extend(
        check_immortal_time(cohort, [treatment], comparison=f"naive hazard ratio of {treatment}")
    )
    treated = starts["timing"].eq("known") | starts["timing"].eq("unknown")
    exposure = treated.astype(float).where(~starts["timing"].eq("missing"))
    return starts.assign(treated=exposure)


def _placeable(starts: pd.DataFrame, treatment: str, notes: WarningLog) -> tuple[pd.DataFrame, int]:
    """The patients whose treatment can be placed in time, announcing the others."""
    unknown = starts["timing"].eq("unknown")
    missing = starts["timing"].eq("missing")
    if unknown.any():
        notes.warn(
            f"{int(unknown.sum())} patients treated with {treatment} have no start date and "
            "are left out (counted in n_timing_unknown): record the course's start date in the "
            "treatments table",
            DroppedRowsWarning,
        )
    if missing.any():
        notes.warn(
            f"{int(missing.sum())} patients have no record of {treatment} and are left out "
            "(counted in n_dropped)",
            DroppedRowsWarning,
        )
    return starts[~(unknown | missing)], int(unknown.sum())


def _landmark(starts: pd.DataFrame, days: int) -> pd.DataFrame:
    """Patients alive and followed at ``days``, treated if a course started by then; their
    time counted from the landmark."""
    at_risk = starts[starts["time"] + EVENT_OFFSET > days]
    treated = at_risk["timing"].eq("known") & (at_risk["start_day"] <= days)
    return at_risk.assign(treated=treated.astype(float), time=at_risk["time"] + EVENT_OFFSET - days)


def _check_landmark(method: str, landmark_days: object) -> int | None:
    if method != "landmark":
        if landmark_days is not None:
            raise ArgumentError("landmark_days goes with method='landmark' only")
        return None
    if isinstance(landmark_days, bool) or not isinstance(landmark_days, int) or landmark_days < 0:
        raise ArgumentError(
            f"method='landmark' needs landmark_days, a whole number of days >= 0, got "
            f"{landmark_days!r}"
        )
    return landmark_days


def treatment_effect(
    cohort: Cohort | ImputedCohorts,
    treatment: str,
    *,
    method: str = "time-varying",
    landmark_days: int | None = None,
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    conf_level: float = 0.95,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    missing: str = "complete-case",
    imputations: int = 20,
    seed: int = 0,
) -> TreatmentEffect:
    """Hazard ratio of death, treated vs untreated, from the onset of the first DAH episode.

    Parameters
    ----------
    cohort : Cohort or ImputedCohorts
        A validated cohort; its treatments table says when each course started. Or its
        completed cohorts (then analysed by multiple imputation whatever ``missing`` says).
    treatment : str
        A treatment (:func:`~dah_outcomes.endpoints.timelines.treatment_names`).
    method : {"time-varying", "landmark", "naive"}, default "time-varying"
        See :data:`METHODS`.
    landmark_days : int, optional
        The landmark day (required with ``method="landmark"``).
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        Covariates of the first episode (see :mod:`dah_outcomes.analyses.adjustment`).
    conf_level : float, default 0.95
        Level of the Wald interval.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions (eras may be adjusted for).
    missing : {"complete-case", "mi"}, default "complete-case"
        Leave out the patients missing the treatment flag or a covariate, or impute the
        first episodes ``imputations`` times and pool the treatment's log hazard ratio by
        Rubin's rules. A flag imputed true gets a course whose start day is drawn from the
        observed courses (see :mod:`dah_outcomes.analyses.imputed_cohorts`), so the
        landmark and time-varying methods can place it in time.
    imputations : int, default 20
        Number of imputations (``missing="mi"``).
    seed : int, default 0
        Seed of the imputations.

    Returns
    -------
    TreatmentEffect

    Raises
    ------
    ArgumentError
        For an unknown treatment, method or covariate, or a bad landmark or level.
    EstimationError
        When the analysed patients are all treated or all untreated, or have no deaths.

    Warns
    -----
    ImmortalTimeWarning
        With ``method="naive"``, when a course started after onset or has no start date.
    DroppedRowsWarning
        When patients are left out for a missing covariate or an unplaceable treatment.
    MissingDataWarning
        Complete case, when more than
        :data:`~dah_outcomes.analyses.missing_handling.COMPLETE_CASE_THRESHOLD` of the DAH
        patients miss the treatment flag or a covariate used.
    """
    check_choice("method", method, METHODS)
    conf_level = check_conf_level(conf_level)
    days = _check_landmark(method, landmark_days)
    asked = check_adjustment(adjust_for)
    imputed = imputed_set(cohort, missing, imputations, seed)
    if imputed is not None:

        def one(c: Cohort) -> TreatmentEffect:
            return treatment_effect(
                c,
                treatment,
                method=method,
                landmark_days=days,
                adjust_for=asked,
                conf_level=conf_level,
                arms=arms,
                eras=eras,
            )

        what = f"treatment effect of {treatment}"
        return _pooled(imputed, *each_imputation(imputed, one, what=what))
    assert isinstance(cohort, Cohort)
    notes = WarningLog()
    starts = treatment_starts(cohort, treatment, arms=arms, eras=eras)
    notes.messages.extend(frame_notes(starts))
    starts, used, left_out = adjustment_covariates(starts, cohort, asked, arms=arms, eras=eras)
    n_timing_unknown = 0
    if method == "naive":
        frame = _naive(starts, cohort, treatment, notes)
    else:
        placeable, n_timing_unknown = _placeable(starts, treatment, notes)
        if method == "landmark":
            assert days is not None
            frame = _landmark(placeable, days)
        else:
            frame = treatment_timeline(placeable)
    entry = ["start"] if method == "time-varying" else []
    required = ["time" if method != "time-varying" else "stop", "event", "treated", *entry]
    data, n_dropped = complete_cases(
        frame.assign(id=frame["patient_id"]), [*required, "id"], used, what="treatment_effect"
    )
    if n_dropped:
        notes.messages.append(f"{n_dropped} patients left out for a missing covariate value")
    by_patient = data.groupby("id")["treated"].max()
    if by_patient.nunique() < 2:
        raise EstimationError(
            f"the {len(by_patient)} patients analysed are all "
            f"{'treated' if by_patient.all() else 'untreated'} with {treatment}: no contrast"
        )
    if data["event"].sum() == 0:
        raise EstimationError("no deaths among the patients analysed")
    fit = cox_regression(
        data,
        time="stop" if method == "time-varying" else "time",
        event="event",
        entry="start" if method == "time-varying" else None,
        id="id" if method == "time-varying" else None,
        covariates=["treated", *used],
        conf_level=conf_level,
    )
    summary = complete_case_summary(
        cohort, [treatment, *used], what=f"treatment effect of {treatment}", notes=notes
    )
    row = fit.to_frame().iloc[0]
    return TreatmentEffect(
        treatment=treatment,
        method=method,
        hazard_ratio=float(row["hazard_ratio"]),
        ci_lower=float(row["ci_lower"]),
        ci_upper=float(row["ci_upper"]),
        p_value=float(row["p_value"]),
        landmark_days=days,
        n=int(data["id"].nunique()),
        n_events=int(data["event"].sum()),
        n_treated=int(by_patient.sum()),
        n_dropped=n_dropped + int(starts["timing"].eq("missing").sum()) * (method != "naive"),
        n_timing_unknown=n_timing_unknown,
        adjusted_for=tuple(used),
        not_adjusted=dict(left_out),
        conf_level=conf_level,
        warnings=tuple(notes.messages),
        cox=fit,
        fingerprint=cohort.fingerprint,
        missing_data=summary,
    )


def _mean(values: list[int]) -> int:
    return round(float(np.mean(values)))


def _pooled(
    imputed: ImputedCohorts, results: list[TreatmentEffect], messages: list[str]
) -> TreatmentEffect:
    """The treatment term (the models' first) pooled over the imputations."""
    first = results[0]
    if any(r.cox.terms != first.cox.terms for r in results):
        raise EstimationError(
            f"treatment effect of {first.treatment}: the model terms differ between "
            "imputations (a covariate constant in some completed cohort): leave it out of "
            "adjust_for"
        )
    pooled = pool_cox([r.cox for r in results])
    return TreatmentEffect(
        treatment=first.treatment,
        method=first.method,
        hazard_ratio=float(pooled.value[0]),
        ci_lower=float(pooled.value_ci_lower[0]),
        ci_upper=float(pooled.value_ci_upper[0]),
        p_value=float(pooled.p_value[0]),
        landmark_days=first.landmark_days,
        n=_mean([r.n for r in results]),
        n_events=_mean([r.n_events for r in results]),
        n_treated=_mean([r.n_treated for r in results]),
        n_dropped=_mean([r.n_dropped for r in results]),
        n_timing_unknown=_mean([r.n_timing_unknown for r in results]),
        adjusted_for=first.adjusted_for,
        not_adjusted=first.not_adjusted,
        conf_level=first.conf_level,
        warnings=tuple(messages),
        cox=first.cox,
        fingerprint=imputed.fingerprint,
        missing_data=imputed_summary(imputed, {"treated": float(pooled.fmi[0])}),
    )
