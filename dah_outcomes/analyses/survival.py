"""Survival of DAH patients by group (treatment arm, era, site or sex): the DAH endpoints wired
into the survival statistics, one call each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts
from dah_outcomes.analyses.missing_handling import (
    complete_case_summary,
    each_imputation,
    imputed_set,
    imputed_summary,
)
from dah_outcomes.analyses.small_series import mark_uninformative, uninformative_message
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import death_frame, frame_notes, recurrence_frame
from dah_outcomes.endpoints.grouping import attach_group, check_by
from dah_outcomes.endpoints.timelines import (
    check_immortal_time,
    compared_treatments,
    landmark_frame,
)
from dah_outcomes.errors import (
    ArgumentError,
    DroppedRowsWarning,
    EstimationError,
    SmallSampleWarning,
    UninformativeIntervalWarning,
    WarningLog,
    warn,
)
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats.competing import (
    CumulativeIncidenceResult,
    GrayTestResult,
    cif_log_log_ci,
    cumulative_incidence,
    gray_test,
)
from dah_outcomes.stats.logrank import LogRankResult, logrank_from_km
from dah_outcomes.stats.nonparametric import KaplanMeierResult, kaplan_meier
from dah_outcomes.stats.pooling import pool_survival
from dah_outcomes.stats.subdistribution import FineGrayResult, fine_gray

__all__ = [
    "SURVIVAL_TIMES",
    "RecurrenceByGroup",
    "SurvivalByGroup",
    "recurrence_by_group",
    "survival_by_group",
]

#: Days since onset at which survival (and the cumulative incidence of recurrence) is
#: tabulated. (Not landmarks: a landmark analysis is ``landmark_days=``.)
SURVIVAL_TIMES = (30, 90, 365)
ENDPOINT_TEXT = {
    "death": "time from the onset of the first DAH episode to death from any "
    "cause, censored at the end of follow-up"
}


def _landmark_text(days: int, by: str) -> str:
    arms = f"; arms by the treatment received by day {days}" if by == "arm" else ""
    return (
        f"landmark analysis at day {days}: among the patients alive and followed at day "
        f"{days} after the onset of the first DAH episode, time from day {days} to death from "
        f"any cause, censored at the end of follow-up{arms}"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SurvivalByGroup(ResultMixin):
    """Kaplan-Meier survival by group at stated times, medians and the log-rank test.

    Attributes
    ----------
    endpoint, by : str
        What is measured and how patients are grouped (a key of
        :data:`~dah_outcomes.endpoints.GROUPINGS`).
    km : KaplanMeierResult
        The curves.
    logrank : LogRankResult or None
        The log-rank test across groups, derived from the curves' risk tables (None with a
        single group, or when no group has a death to compare: ``warnings`` says so).
    at_times : DataFrame
        Survival with CI at each of the stated days (:data:`SURVIVAL_TIMES` by default), per
        group; with a landmark, days since the landmark. Beside the Greenwood interval, the
        exact binomial (Clopper-Pearson) one (``exact_lower``, ``exact_upper``, over the
        ``n_known`` patients whose status then is known, ``n_dead`` of them dead), and, where
        the Greenwood interval says nothing (``interval_problem``: "zero width", "no
        interval" or "covers 0 to 1"), the exact bound in words (``exact_note``: "0 of 6 died
        by day 30: exact 95% upper bound on mortality 46%").
    medians : DataFrame
        Median survival with CI per group.
    landmark_days : int or None
        The landmark of a landmark analysis (None: time from onset, every patient).
    n_timing_unknown : int
        Patients alive at the landmark left out because their arm by then cannot be decided
        (a treatment without a start date); 0 without a landmark.
    warnings : tuple of str
        The warnings the analysis gave (an :class:`~dah_outcomes.errors.ImmortalTimeWarning`
        when arms are compared while treatments started after onset or at unknown times; an
        :class:`~dah_outcomes.errors.UninformativeIntervalWarning` when an interval at a
        stated day says nothing; a :class:`~dah_outcomes.errors.MissingDataWarning` when
        complete case leaves out more than the threshold).
    fingerprint : str
        The cohort's fingerprint.
    missing_data : dict
        How missing values were handled (see :mod:`dah_outcomes.analyses.missing_handling`).
        Under multiple imputation ``at_times`` is pooled on the log(-log) scale (with
        ``m`` and ``fmi`` columns; counts are means over the imputations), ``medians`` are
        those of the pooled curve, ``km`` is the first completed cohort's (for a figure)
        and ``logrank`` is None (Rubin's rules pool estimates, not test statistics: the
        pooled Wald test of :func:`~dah_outcomes.analyses.hazard_ratios.hazard_ratios`
        compares the groups).
    """

    endpoint: str
    by: str
    km: KaplanMeierResult = field(repr=False)
    logrank: LogRankResult | None = field(repr=False)
    at_times: pd.DataFrame = field(repr=False)
    medians: pd.DataFrame = field(repr=False)
    landmark_days: int | None = None
    n_timing_unknown: int = 0
    warnings: tuple[str, ...] = ()
    fingerprint: str
    missing_data: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Survival at the stated days (one row per group and day)."""
        return self.at_times.copy()

    @property
    def uninformative(self) -> pd.DataFrame:
        """The rows of :attr:`at_times` whose Greenwood interval says nothing, with the exact
        bound beside it (``exact_note``)."""
        return self.at_times[self.at_times["interval_problem"] != ""].copy()

    def to_dict(self) -> dict[str, Any]:
        """Per group: n, events, median with CI, survival with CI at the stated days
        (``survival_at``, keyed by day, with the exact binomial interval beside the Greenwood
        one and, where that says nothing, ``interval_problem`` and ``exact_note``); the
        log-rank test; the landmark and warnings."""
        groups: dict[str, Any] = {}
        for _, m in self.medians.iterrows():
            g = m["group"]
            land = self.at_times[self.at_times["group"] == g]
            groups[g] = {
                "n": json_safe(m["n"]),
                "n_events": json_safe(m["n_events"]),
                "median": {
                    "estimate": json_safe(m["time"]),
                    "ci_lower": json_safe(m["ci_lower"]),
                    "ci_upper": json_safe(m["ci_upper"]),
                },
                "survival_at": {
                    str(int(r["time"])): {
                        "survival": json_safe(r["survival"]),
                        "ci_lower": json_safe(r["ci_lower"]),
                        "ci_upper": json_safe(r["ci_upper"]),
                        "n_risk": json_safe(r["n_risk"]),
                        "exact_lower": json_safe(r["exact_lower"]),
                        "exact_upper": json_safe(r["exact_upper"]),
                        "n_known": json_safe(r["n_known"]),
                        "n_dead": int(r["n_dead"]),
                        "interval_problem": r["interval_problem"] or None,
                        "exact_note": r["exact_note"] or None,
                    }
                    for _, r in land.iterrows()
                },
            }
        definition = ENDPOINT_TEXT[self.endpoint]
        if self.landmark_days is not None:
            definition = _landmark_text(self.landmark_days, self.by)
        return {
            "endpoint": self.endpoint,
            "definition": definition,
            "by": self.by,
            "landmark_days": self.landmark_days,
            "n_timing_unknown": self.n_timing_unknown,
            "time_unit": "days" if self.landmark_days is None else "days since the landmark",
            "conf_type": self.km.conf_type,
            "conf_level": self.km.conf_level,
            "groups": groups,
            "logrank": None if self.logrank is None else self.logrank.to_dict(),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
            "missing_data": json_safe(self.missing_data),
        }


def _at_landmark(
    cohort: Cohort, days: int, by: str, arms: ArmDefinition, eras: EraDefinition
) -> tuple[pd.DataFrame, int, tuple[str, ...]]:
    """The landmark frame, less (by arm) the patients whose arm at the landmark is undecided
    for want of a start date; how many they are; the warning that says so."""
    base = landmark_frame(cohort, days, arms=arms, eras=eras)
    notes: tuple[str, ...] = frame_notes(base)
    n_timing_unknown = 0
    if by == "arm":
        undecided = base["timing_unknown"].to_numpy(dtype=bool)
        n_timing_unknown = int(undecided.sum())
        base = base[~undecided]
        if n_timing_unknown:
            message = (
                f"survival by arm at the day-{days} landmark: {n_timing_unknown:,} patients "
                "alive then are left out (counted in n_timing_unknown): a treatment that "
                "decides their arm has no start date; record the courses' start dates in the "
                "treatments table"
            )
            warn(message, DroppedRowsWarning)
            notes = (message,)
    if base.empty:
        raise EstimationError(
            f"no patient alive and followed at day {days} can be analysed"
            + (" (every arm undecided for want of start dates)" if n_timing_unknown else "")
        )
    return base, n_timing_unknown, notes


def _survival_at(
    km: KaplanMeierResult, times: list[float], by: str, landmark_days: int | None
) -> tuple[pd.DataFrame, str | None]:
    """Survival at the stated days with the exact bound beside every interval that says
    nothing, and the warning (given here) that names them."""
    at = km.survival_at(times)
    # deaths by each time, in survival_at's row order (curve by curve, time by time)
    dead = [int(c.n_event[c.time <= t].sum()) for c in km.curves for t in times]
    since = "" if landmark_days is None else " after the landmark"
    marked = mark_uninformative(at, dead, time_label="day {t:g}" + since)
    what = f"survival by {by}" + (
        "" if landmark_days is None else f" from the day-{landmark_days} landmark"
    )
    message = uninformative_message(marked, what)
    if message is not None:
        warn(message, UninformativeIntervalWarning)
    return marked, message


def survival_by_group(
    cohort: Cohort | ImputedCohorts,
    by: str = "arm",
    *,
    endpoint: str = "death",
    times: Sequence[float] = SURVIVAL_TIMES,
    landmark_days: int | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log",
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    missing: str = "complete-case",
    imputations: int = 20,
    seed: int = 0,
) -> SurvivalByGroup:
    """Survival from first DAH onset by ``by``: Kaplan-Meier, survival at stated days,
    medians, log-rank; or the same from a landmark day.

    Parameters
    ----------
    cohort : Cohort or ImputedCohorts
        A validated cohort, or its completed cohorts (then analysed by multiple imputation
        whatever ``missing`` says).
    by : {"arm", "era", "site", "sex"}, default "arm"
        Grouping of patients by their first episode (see
        :data:`~dah_outcomes.endpoints.GROUPINGS`); curves follow its order.
    endpoint : {"death"}
        Time from first onset to death.
    times : sequence of float, default SURVIVAL_TIMES (30, 90, 365)
        Days at which survival is tabulated (since the landmark, with one).
    landmark_days : int, optional
        A landmark analysis: only the patients alive and followed at this day after onset,
        their time counted from it, and (by arm) arms by the treatment received by then (see
        :func:`~dah_outcomes.endpoints.timelines.landmark_frame`). Patients whose arm at the
        landmark cannot be decided because a treatment has no start date are left out.
    conf_level : float, default 0.95
        Level of the pointwise intervals.
    conf_type : {"log", "log-log", "plain"}, default "log"
        CI transform (``log`` as R, ``log-log`` as SAS/lifelines).
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    missing : {"complete-case", "mi"}, default "complete-case"
        By arm, a patient whose arm a missing flag leaves undecided is in the "Unknown"
        group (complete case), or the first episodes are imputed ``imputations`` times and
        survival at the stated days pooled by Rubin's rules on the log(-log) scale. The
        median is that of the pooled curve (survival pooled at every death time), its
        interval where the pooled pointwise interval (log(-log) scale) crosses 0.5, as
        R's ``survfit`` inverts its band.
    imputations : int, default 20
        Number of imputations (``missing="mi"``).
    seed : int, default 0
        Seed of the imputations.

    Returns
    -------
    SurvivalByGroup
        The log-rank test is None with a single group (and under multiple imputation).

    Warns
    -----
    ImmortalTimeWarning
        Without a landmark, when arms are compared while a treatment that defines them
        started after DAH onset or at an unknown time (see
        :func:`~dah_outcomes.endpoints.timelines.check_immortal_time`).
    DroppedRowsWarning
        With a landmark, when patients are left out because their arm cannot be decided.
    UninformativeIntervalWarning
        When the Greenwood interval of survival at a stated day says nothing (zero width:
        no death yet; missing: survival 0; or 0 to 1); the message and ``at_times`` give the
        exact binomial bound beside it (see
        :func:`~dah_outcomes.analyses.small_series.mark_uninformative`).
    """
    if endpoint not in ENDPOINT_TEXT:
        raise ArgumentError(f"endpoint must be one of {sorted(ENDPOINT_TEXT)}, got {endpoint!r}")
    check_by(by)
    imputed = imputed_set(cohort, missing, imputations, seed)
    if imputed is not None:

        def one(c: Cohort) -> SurvivalByGroup:
            return survival_by_group(
                c,
                by,
                endpoint=endpoint,
                times=times,
                landmark_days=landmark_days,
                conf_level=conf_level,
                conf_type=conf_type,
                arms=arms,
                eras=eras,
            )

        results, messages = each_imputation(imputed, one, what=f"survival by {by}")
        return _pooled_survival(imputed, results, messages, list(times))
    assert isinstance(cohort, Cohort)
    n_timing_unknown = 0
    if landmark_days is None:
        notes = check_immortal_time(
            cohort, compared_treatments(by, arms=arms), comparison=f"survival by {by}"
        )
        base = death_frame(cohort, arms=arms, eras=eras)
        notes = (*notes, *frame_notes(base))
    else:
        base, n_timing_unknown, notes = _at_landmark(cohort, landmark_days, by, arms, eras)
    frame = attach_group(base, cohort, by, arms=arms, eras=eras)
    # the group column is a categorical in the vocabulary's order, which Kaplan-Meier keeps
    km = kaplan_meier(
        frame, time="time", event="event", group=by, conf_level=conf_level, conf_type=conf_type
    )
    # the curves hold each group's risk table: the log-rank test needs no second pass
    test = None
    if len(km.curves) > 1:
        try:
            test = logrank_from_km(km)
        except EstimationError as err:  # no death in any group, say: no test, and said why
            notes = (*notes, f"survival by {by}: no log-rank test: {err}")
            warn(notes[-1], SmallSampleWarning)
    at_times, note = _survival_at(km, list(times), by, landmark_days)
    if note is not None:
        notes = (*notes, note)
    log = WarningLog()
    summary = complete_case_summary(
        cohort, [], what=f"survival by {by}", arms=arms if by == "arm" else None, notes=log
    )
    return SurvivalByGroup(
        endpoint=endpoint,
        by=by,
        km=km,
        logrank=test,
        at_times=at_times,
        medians=km.median(),
        landmark_days=landmark_days,
        n_timing_unknown=n_timing_unknown,
        warnings=(*notes, *log.messages),
        fingerprint=cohort.fingerprint,
        missing_data=summary,
    )


def _steps(km: KaplanMeierResult, group: str, grid: np.ndarray) -> np.ndarray:
    """A curve's survival, standard error of -log S and CI bounds at each time of ``grid``
    (rows; 1, 0, 1, 1 before the first time, NaN after the last), shape ``(4, len(grid))``."""
    c = km.curve(group)
    if not len(c.time):
        return np.vstack([np.ones(len(grid)), np.zeros(len(grid)), *[np.ones(len(grid))] * 2])
    j = np.searchsorted(c.time, grid, side="right") - 1
    at = np.maximum(j, 0)
    before = j < 0
    out = np.vstack(
        [
            np.where(before, 1.0, c.survival[at]),
            np.where(before, 0.0, c.std_err[at]),
            np.where(before, 1.0, c.lower[at]),
            np.where(before, 1.0, c.upper[at]),
        ]
    )
    out[:, grid > c.time[-1]] = np.nan
    return out


def _pooled_curve(
    fits: list[KaplanMeierResult], group: str, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Survival of ``group`` pooled on the log(-log) scale at each time of ``grid``: value,
    lower, upper and fmi. Where every imputation has the same curve the curve's own values
    stand (fmi 0); NaN where an imputation's survival is 0 or 1 while others differ, or
    past its follow-up."""
    steps = np.stack([_steps(f, group, grid) for f in fits])  # (m, 4, k)
    s, se = steps[:, 0], steps[:, 1]
    value, lower, upper, fmi = (np.full(len(grid), np.nan) for _ in range(4))
    same = (steps == steps[0]).all(axis=(0, 1)) & np.isfinite(s[0])
    ok = ((s > 0) & (s < 1)).all(axis=0) & ~same
    if ok.any():
        pooled = pool_survival(s[:, ok], se[:, ok], conf_level=fits[0].conf_level)
        value[ok], lower[ok], upper[ok] = (
            pooled.value,
            pooled.value_ci_lower,
            pooled.value_ci_upper,
        )
        fmi[ok] = pooled.fmi
    value[same], lower[same], upper[same], fmi[same] = (
        steps[0, 0, same],
        steps[0, 2, same],
        steps[0, 3, same],
        0.0,
    )
    return value, lower, upper, fmi


def _first_at_or_below(times: np.ndarray, curve: np.ndarray, level: float = 0.5) -> float:
    hit = np.flatnonzero(curve <= level)
    return float(times[hit[0]]) if len(hit) else float("nan")


def _pooled_medians(fits: list[KaplanMeierResult], groups: list[str]) -> pd.DataFrame:
    """The median of each group's pooled curve, with its CI where the pooled pointwise
    interval crosses 0.5 (survival pooled at every death time of any imputation)."""
    rows = []
    for g in groups:
        grid = np.unique(np.concatenate([f.curve(g).time for f in fits]))
        value, lower, upper, _ = _pooled_curve(fits, g, grid)
        meds = [f.median().set_index("group").loc[g] for f in fits]
        rows.append(
            {
                "group": g,
                "n": float(np.mean([r["n"] for r in meds])),
                "n_events": float(np.mean([r["n_events"] for r in meds])),
                "quantile": 0.5,
                "time": _first_at_or_below(grid, value),
                # as R's survfit: the lower band crosses 0.5 first
                "ci_lower": _first_at_or_below(grid, lower),
                "ci_upper": _first_at_or_below(grid, upper),
                "conf_type": "log-log (pooled)",
                "conf_level": fits[0].conf_level,
            }
        )
    return pd.DataFrame(rows)


def _pooled_at_times(
    results: list[SurvivalByGroup], groups: list[str], times: list[float]
) -> pd.DataFrame:
    """Survival at the stated days pooled per group (counts: means over imputations)."""
    fits = [r.km for r in results]
    tables = [r.at_times.set_index(["group", "time"]) for r in results]
    rows = []
    for g in groups:
        value, lower, upper, fmi = _pooled_curve(fits, g, np.asarray(times, dtype=float))
        for k, t in enumerate(times):
            parts = [tab.loc[(g, float(t))] for tab in tables]  # type: ignore[index]
            row = {"group": g, "time": t, **parts[0].to_dict(), "m": len(results), "fmi": fmi[k]}
            if fmi[k] == 0:  # no imputation changes it: the complete-data row stands
                rows.append(row)
                continue
            for col in ("n_risk", "n_known", "n_dead"):
                row[col] = float(np.mean([float(p[col]) for p in parts]))
            survival = np.array([float(p["survival"]) for p in parts])
            row.update(ci_lower=lower[k], ci_upper=upper[k], std_err=float("nan"))
            row.update(exact_lower=float("nan"), exact_upper=float("nan"))
            row["survival"] = value[k] if np.isfinite(value[k]) else float(np.nanmean(survival))
            problem = bool(np.isnan(fmi[k]))
            row["interval_problem"] = "no interval" if problem else ""
            row["exact_note"] = (
                "not pooled: survival 0 or 1 (or past follow-up) in some imputation has no "
                "log(-log)"
                if problem
                else ""
            )
            rows.append(row)
    return pd.DataFrame(rows)


def _pooled_survival(
    imputed: ImputedCohorts,
    results: list[SurvivalByGroup],
    messages: list[str],
    times: list[float],
) -> SurvivalByGroup:
    first = results[0]
    groups = first.km.groups
    if any(r.km.groups != groups for r in results):
        raise EstimationError(
            f"survival by {first.by}: the groups differ between imputations (a group empty "
            "in some completed cohort cannot be pooled): merge small groups or compare by "
            "another grouping"
        )
    at_times = _pooled_at_times(results, groups, times)
    fmi = {f"{r['group']}, t={r['time']:g}": r["fmi"] for r in at_times.to_dict(orient="records")}
    note = (
        f"survival by {first.by}, multiple imputation: no log-rank test (Rubin's rules pool "
        "estimates, not test statistics); hazard_ratios(..., missing='mi') gives the pooled "
        "comparison"
    )
    return SurvivalByGroup(
        endpoint=first.endpoint,
        by=first.by,
        km=first.km,
        logrank=None,
        at_times=at_times,
        medians=_pooled_medians([r.km for r in results], groups),
        landmark_days=first.landmark_days,
        n_timing_unknown=round(float(np.mean([r.n_timing_unknown for r in results]))),
        warnings=(*messages, note),
        fingerprint=imputed.fingerprint,
        missing_data=imputed_summary(imputed, fmi),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecurrenceByGroup(ResultMixin):
    """Cumulative incidence of a first recurrence by group, death competing.

    Attributes
    ----------
    by : str
        Grouping (a key of :data:`~dah_outcomes.endpoints.GROUPINGS`).
    cif : CumulativeIncidenceResult
        Aalen-Johansen curves (cause 1 = recurrence, cause 2 = death before recurrence).
    at_times : DataFrame
        Cumulative incidence of recurrence with its CI at each of the stated days, per group
        (cmprsk's variance; log(-log) transformed interval).
    gray : GrayTestResult or None
        Gray's test across groups.
    fine_gray : FineGrayResult or None
        Subdistribution hazard ratio of recurrence for each group against the first (None
        with one group, or when a group has no recurrence and the ratio is not estimable).
    counts : dict of str to dict
        Per group, in the grouping's order: ``n``, ``recurrences``,
        ``deaths_before_recurrence``.
    conf_level : float
        Level of the intervals.
    warnings : tuple of str
        The warnings the analysis gave (see :class:`SurvivalByGroup`).
    fingerprint : str
        The cohort's fingerprint.
    """

    by: str
    cif: CumulativeIncidenceResult = field(repr=False)
    at_times: pd.DataFrame = field(repr=False)
    gray: GrayTestResult | None = field(repr=False)
    fine_gray: FineGrayResult | None = field(repr=False)
    counts: dict[str, dict[str, int]] = field(repr=False)
    conf_level: float
    warnings: tuple[str, ...] = ()
    fingerprint: str

    def to_frame(self) -> pd.DataFrame:
        """The cumulative incidence at the stated days (one row per group and day)."""
        return self.at_times.copy()

    def to_dict(self) -> dict[str, Any]:
        """Per group: counts and the cumulative incidence with CI at the stated days
        (``cif_at``, keyed by day); Gray's test and the Fine-Gray model."""
        groups: dict[str, Any] = {}
        for g, c in self.counts.items():
            land = self.at_times[self.at_times["group"] == g]
            groups[g] = {
                **c,
                "cif_at": {
                    str(int(r["time"])): {
                        "cif": json_safe(r["cif"]),
                        "ci_lower": json_safe(r["ci_lower"]),
                        "ci_upper": json_safe(r["ci_upper"]),
                    }
                    for _, r in land.iterrows()
                },
            }
        return {
            "endpoint": "recurrence",
            "definition": "time from the onset of the first DAH episode to the onset of "
            "the second, death before recurrence competing (Aalen-Johansen)",
            "by": self.by,
            "time_unit": "days",
            "conf_level": self.conf_level,
            "groups": groups,
            "gray_test": None if self.gray is None else self.gray.to_dict(),
            "fine_gray": None if self.fine_gray is None else self.fine_gray.to_dict(),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
        }


def recurrence_by_group(
    cohort: Cohort,
    by: str = "arm",
    *,
    times: Sequence[float] = SURVIVAL_TIMES,
    conf_level: float = 0.95,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> RecurrenceByGroup:
    """Cumulative incidence of a first DAH recurrence by ``by``, death competing.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    by : {"arm", "era", "site", "sex"}, default "arm"
        Grouping of patients by their first episode (see
        :data:`~dah_outcomes.endpoints.GROUPINGS`); the first group is the reference of the
        Fine-Gray subdistribution hazard ratios.
    times : sequence of float, default SURVIVAL_TIMES (30, 90, 365)
        Days at which the cumulative incidence is tabulated.
    conf_level : float, default 0.95
        Level of the intervals and of the Fine-Gray ratios.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.

    Returns
    -------
    RecurrenceByGroup
        Curves, the cumulative incidence at the stated days with CIs, Gray's test and the
        Fine-Gray model.

    Warns
    -----
    ImmortalTimeWarning
        As :func:`survival_by_group`.
    """
    check_by(by)
    notes = check_immortal_time(
        cohort, compared_treatments(by, arms=arms), comparison=f"recurrence by {by}"
    )
    base = recurrence_frame(cohort, arms=arms, eras=eras)
    notes = (*notes, *frame_notes(base))
    frame = attach_group(base, cohort, by, arms=arms, eras=eras)
    cif = cumulative_incidence(frame, time="time", event="event", group=by, n_causes=2)
    land = cif.at(list(times), cause=1)
    lower, upper = cif_log_log_ci(land["cif"].to_numpy(), land["variance"].to_numpy(), conf_level)
    land = land.assign(ci_lower=lower, ci_upper=upper)
    groups = [str(g) for g in frame[by].cat.categories]
    counts = {
        g: {
            "n": int((frame[by] == g).sum()),
            "recurrences": int(((frame[by] == g) & (frame["event"] == 1)).sum()),
            "deaths_before_recurrence": int(((frame[by] == g) & (frame["event"] == 2)).sum()),
        }
        for g in groups
    }
    gray = (
        gray_test(frame, time="time", event="event", group=by, cause=1) if len(groups) > 1 else None
    )
    fg = None
    if len(groups) > 1 and all(c["recurrences"] > 0 for c in counts.values()):
        # the group column is categorical in the vocabulary's order: its first group is the
        # reference of the subdistribution HRs
        try:
            fg = fine_gray(
                frame, time="time", event="event", covariates=[by], cause=1, conf_level=conf_level
            )
        except EstimationError:
            fg = None
    return RecurrenceByGroup(
        by=by,
        cif=cif,
        at_times=land,
        gray=gray,
        fine_gray=fg,
        counts=counts,
        conf_level=float(conf_level),
        warnings=notes,
        fingerprint=cohort.fingerprint,
    )
