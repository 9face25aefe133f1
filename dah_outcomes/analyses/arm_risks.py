"""Standardised risks of death by treatment arm: what the whole cohort's risk would have been
had every patient received each arm, beside each arm's observed risk.

An arm's observed mortality mixes the arm's effect with its case mix (an arm given mostly in
the modern era to less severe patients looks better than it is). g-computation and AIPW
standardise over the cohort's own distribution of the adjustment set
(:mod:`dah_outcomes.analyses.adjustment`), at days 30 and 90 from the first DAH onset and for
death in hospital; see :mod:`dah_outcomes.stats.standardisation` for the estimators and how
censored follow-up is handled (inverse probability of censoring weights within each arm).

What the standardised risk estimates. The arms are those of the treatments a patient received
in the first episode. When every course starts at onset, the arm is fixed at time zero and the
standardised risk is that of "give everyone this arm" (AIPW covers the generator's
``truth["standardized_risks"]`` 93-97% of the time: benchmarks/results/standardised_truth.md).
When courses start days later, and only in patients still alive, the treated arms hold the
survivors of those days and the untreated arm the early deaths: the arms select on the
outcome, which no adjustment at onset undoes (an :class:`~dah_outcomes.errors.ImmortalTimeWarning`
says so). The strategy "start the treatment within G days" is then estimated by clone-censor-
weighting (``emulate``), not here.
"""

from __future__ import annotations

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
from dah_outcomes.endpoints.frames import death_frame, patient_outcomes
from dah_outcomes.endpoints.timelines import check_immortal_time, compared_treatments
from dah_outcomes.errors import (
    ArgumentError,
    DahOutcomesWarning,
    DroppedRowsWarning,
    SmallSampleWarning,
    WarningLog,
)
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice
from dah_outcomes.stats.standardisation import ArmRisks, RiskEndpoint, standardised_arm_risks

__all__ = ["DEFAULT_HORIZONS", "STANDARDISATION_METHODS", "StandardisedRisks", "standardised_risks"]

#: Death by day 30, by day 90 (from the first DAH onset) and in hospital.
DEFAULT_HORIZONS: tuple[int | str, ...] = (30, 90, "in_hospital")

#: The ``method`` choices and the estimators each reports beside the observed risk.
STANDARDISATION_METHODS = {
    "aipw": ("aipw",),
    "gcomputation": ("gcomputation",),
    "both": ("gcomputation", "aipw"),
}

IN_HOSPITAL = "in_hospital"
_DEFINES_ARM = "it defines the arms compared"


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardisedRisks(ResultMixin):
    """Observed and standardised risks of death by arm and horizon.

    Attributes
    ----------
    table : DataFrame
        One row per arm, horizon and estimator: ``arm, horizon, method`` (``observed``,
        ``gcomputation``, ``aipw``), ``risk, ci_lower, ci_upper, n, n_known, n_events``.
    arms : tuple of str
        The arms compared, in the definition's order.
    horizons : tuple
        Days (int) and/or ``"in_hospital"``.
    method : str
        ``"aipw"``, ``"gcomputation"`` or ``"both"``.
    n : int
        Patients analysed.
    n_dropped : int
        Patients left out for a missing covariate or outcome value.
    n_unknown_arm : int
        Patients left out because their arm cannot be decided.
    arms_left_out : dict of str to int
        Arms left out for having fewer than ``min_arm_size`` patients, with their sizes.
    adjusted_for : tuple of str
        The covariates of the outcome and propensity models.
    not_adjusted : dict of str to str
        Covariates asked for but not used, with the reason.
    effective_n : dict of str to float
        Kish's effective sample size of each arm under stabilised ATE weights.
    bootstrap, n_boot_failed, seed : int
        Bootstrap replicates, those that failed, and the Generator's seed.
    conf_level : float
    warnings : tuple of str
        Every warning the analysis gave (also issued as warnings of our classes).
    risks : ArmRisks
        The statistics-layer result (propensity scores, bootstrap draws).
    fingerprint : str
        The cohort's fingerprint.
    """

    table: pd.DataFrame = field(repr=False)
    arms: tuple[str, ...]
    horizons: tuple[int | str, ...]
    method: str
    n: int
    n_dropped: int
    n_unknown_arm: int
    arms_left_out: dict[str, int]
    adjusted_for: tuple[str, ...]
    not_adjusted: dict[str, str]
    effective_n: dict[str, float]
    bootstrap: int
    n_boot_failed: int
    seed: int
    conf_level: float
    warnings: tuple[str, ...]
    risks: ArmRisks = field(repr=False)
    fingerprint: str = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per arm and horizon: counts, then the observed risk beside each
        standardised one (``<method>_risk``, ``<method>_ci_lower``, ``<method>_ci_upper``)."""
        t = self.table
        keys = ["arm", "horizon"]
        out = t[t["method"] == "observed"][[*keys, "n", "n_known", "n_events"]].reset_index(
            drop=True
        )
        for m in ("observed", *STANDARDISATION_METHODS[self.method]):
            part = t[t["method"] == m][[*keys, "risk", "ci_lower", "ci_upper"]]
            part = part.rename(columns={c: f"{m}_{c}" for c in ("risk", "ci_lower", "ci_upper")})
            out = out.merge(part, on=keys, how="left")
        return out

    def to_dict(self) -> dict[str, Any]:
        """What ``dah-outcomes standardise --json`` prints (JSON-safe).

        Returns
        -------
        dict
            ``arms, horizons, method, estimates`` (one object per arm and horizon with ``arm,
            horizon, n, n_known, n_events`` and, per estimator, ``{estimate, ci_lower,
            ci_upper}``), ``n, n_dropped, n_unknown_arm, arms_left_out, adjusted_for, not_adjusted,
            effective_n, positivity`` (the propensity scores and weights against the
            positivity thresholds, :class:`~dah_outcomes.stats.propensity.PositivityDiagnostics`),
            ``bootstrap, n_boot_failed, seed, conf_level, warnings, fingerprint``.
        """
        estimates = []
        for row in self.to_frame().to_dict(orient="records"):
            entry: dict[str, Any] = {
                k: row[k] for k in ("arm", "horizon", "n", "n_known", "n_events")
            }
            for m in ("observed", *STANDARDISATION_METHODS[self.method]):
                entry[m] = {
                    "estimate": row[f"{m}_risk"],
                    "ci_lower": row[f"{m}_ci_lower"],
                    "ci_upper": row[f"{m}_ci_upper"],
                }
            estimates.append(entry)
        return json_safe(
            {
                "arms": list(self.arms),
                "horizons": list(self.horizons),
                "method": self.method,
                "estimates": estimates,
                "n": self.n,
                "n_dropped": self.n_dropped,
                "n_unknown_arm": self.n_unknown_arm,
                "arms_left_out": dict(self.arms_left_out),
                "adjusted_for": list(self.adjusted_for),
                "not_adjusted": dict(self.not_adjusted),
                "effective_n": dict(self.effective_n),
                "positivity": (
                    None
                    if self.risks.propensity.positivity is None
                    else self.risks.propensity.positivity.to_dict()
                ),
                "bootstrap": self.bootstrap,
                "n_boot_failed": self.n_boot_failed,
                "seed": self.seed,
                "conf_level": self.conf_level,
                "warnings": list(self.warnings),
                "fingerprint": self.fingerprint,
            }
        )

    def _title(self) -> str:
        adjusted = ", ".join(self.adjusted_for) or "nothing"
        return (
            f"Standardised risks of death by arm ({self.method}; adjusted for {adjusted}), "
            f"n = {self.n}, {self.bootstrap} bootstrap replicates"
        )


def _check_horizons(horizons: Sequence[int | str]) -> tuple[int | str, ...]:
    if isinstance(horizons, str | int) or not isinstance(horizons, Sequence) or not horizons:
        raise ArgumentError(
            f"horizons must be a non-empty sequence of days and/or 'in_hospital', got {horizons!r}"
        )
    for h in horizons:
        if h == IN_HOSPITAL:
            continue
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise ArgumentError(
                f"a horizon is a whole number of days >= 1 or 'in_hospital', got {h!r}"
            )
    return tuple(dict.fromkeys(int(h) if h != IN_HOSPITAL else IN_HOSPITAL for h in horizons))


def _frame(cohort: Cohort, arms: ArmDefinition, eras: EraDefinition) -> pd.DataFrame:
    """Per DAH patient: arm (ordered), era, covariates, time and event of death, and death in
    hospital (0/1, NaN where not recorded)."""
    frame = death_frame(cohort, arms=arms, eras=eras)
    died = patient_outcomes(cohort, arms=arms, eras=eras).set_index("patient_id")["died"]
    values = died.reindex(frame["patient_id"]).astype("Float64").to_numpy(float, na_value=np.nan)
    return frame.assign(in_hospital_death=values)


def _few(risks: ArmRisks, min_events: int, notes: WarningLog) -> None:
    c = risks.counts
    few = c[c["n_events"] < min_events]
    if not few.empty:
        listed = ", ".join(
            f"{r.arm} {'in hospital' if r.endpoint == IN_HOSPITAL else f'by day {r.endpoint}'} "
            f"({r.n_events})"
            for r in few.itertuples()
        )
        notes.warn(
            f"standardised_risks: fewer than {min_events} deaths in {listed}: the outcome "
            "model is close to separation there and the interval unreliable",
            SmallSampleWarning,
        )


def _small_arms(
    data: pd.DataFrame, minimum: int, notes: WarningLog
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The patients of arms with at least ``minimum`` patients; the others counted."""
    sizes = data["arm"].value_counts()
    small = {str(a): int(n) for a, n in sizes.items() if n < minimum}
    if small:
        listed = ", ".join(f"{a} (n = {n})" for a, n in small.items())
        notes.warn(
            f"standardised_risks: arm(s) with fewer than {minimum} patients left out, with "
            f"their patients: {listed} (counted in arms_left_out); an arm so small gives no "
            "standardised risk worth the name (lower min_arm_size to keep it)",
            DroppedRowsWarning,
        )
    return data[~data["arm"].isin(list(small))], small


def standardised_risks(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    horizons: Sequence[int | str] = DEFAULT_HORIZONS,
    method: str = "both",
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    bootstrap: int = 200,
    seed: int = 0,
    conf_level: float = 0.95,
    min_arm_size: int = 10,
    min_events: int = 5,
) -> StandardisedRisks:
    """Risk of death by arm had the whole cohort received it, beside the observed risk.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions; patients whose arm is ``"Unknown"`` are left out.
    horizons : sequence of int or "in_hospital", default (30, 90, "in_hospital")
        Death within so many days of the first DAH onset, and death in hospital during the
        first episode.
    method : {"aipw", "gcomputation", "both"}, default "both"
        The standardised estimator(s) reported beside the observed risk.
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        Covariates of the outcome and propensity models (flags that define the arms cannot
        be used and are reported in ``not_adjusted``).
    bootstrap : int, default 200
        Bootstrap replicates (patients resampled); 0 for no intervals.
    seed : int, default 0
        Seed of the bootstrap (the same seed gives the same intervals).
    conf_level : float, default 0.95
        Level of the percentile intervals.
    min_arm_size : int, default 10
        Arms with fewer patients are left out, with their patients (announced).
    min_events : int, default 5
        Arm-horizons with fewer deaths are announced.

    Returns
    -------
    StandardisedRisks

    Raises
    ------
    ArgumentError
        For an unknown method, horizon or covariate, or fewer than two arms.
    EstimationError
        When a model cannot be fitted.

    Warns
    -----
    ImmortalTimeWarning
        When a course of a treatment that defines the arms started after onset or has no
        start date: the arms then select survivors (see
        :func:`~dah_outcomes.endpoints.timelines.check_immortal_time`), and the standardised
        risks are not those of the strategies "give the arm's treatments" (use ``emulate``).
    DroppedRowsWarning
        When patients are left out (unknown arm, missing covariate or outcome, an arm
        smaller than ``min_arm_size``).
    SmallSampleWarning
        For few deaths.
    PositivityWarning
        For near-violations of positivity (propensity scores near 0 or 1, extreme weights, a
        small effective sample size), with the numbers.
    ConvergenceWarning
        When many bootstrap replicates could not be fitted.
    """
    check_choice("method", method, STANDARDISATION_METHODS)
    chosen = _check_horizons(horizons)
    asked = check_adjustment(adjust_for)
    notes = WarningLog()
    # arms are defined by the treatments received: a course started after onset, only in
    # patients alive then, selects survivors into its arm, which no adjustment at onset undoes
    notes.messages.extend(
        check_immortal_time(
            cohort, compared_treatments("arm", arms=arms), comparison="standardised risks by arm"
        )
    )
    defining = {f for a in arms.arms for f in a.flags}
    left_out = {c: _DEFINES_ARM for c in asked if c in defining}
    frame = _frame(cohort, arms, eras)
    frame, used, more_left_out = adjustment_covariates(
        frame, cohort, tuple(c for c in asked if c not in defining), by="arm", arms=arms, eras=eras
    )
    left_out.update(more_left_out)
    unknown = frame["arm"].eq("Unknown")
    if unknown.any():
        notes.warn(
            f"standardised_risks: {int(unknown.sum())} patients whose arm cannot be decided (a "
            "treatment flag not recorded) are left out (counted in n_unknown_arm)",
            DroppedRowsWarning,
        )
    frame = frame[~unknown]
    required = ["arm", "time", "event"] + (["in_hospital_death"] if IN_HOSPITAL in chosen else [])
    data, n_dropped = complete_cases(frame, required, used, what="standardised_risks")
    if n_dropped:
        notes.messages.append(f"{n_dropped} patients left out for a missing value")
    data, arms_left_out = _small_arms(data, min_arm_size, notes)
    order = [a for a in arms.names if a in set(data["arm"])]
    data = data.assign(arm=pd.Categorical(data["arm"], order))
    endpoints = [
        RiskEndpoint(IN_HOSPITAL, "in_hospital_death")
        if h == IN_HOSPITAL
        else RiskEndpoint(str(h), "event", "time", float(h))
        for h in chosen
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DahOutcomesWarning)
        risks = standardised_arm_risks(
            data,
            treatment="arm",
            covariates=used,
            endpoints=endpoints,
            bootstrap=bootstrap,
            seed=seed,
            conf_level=conf_level,
        )
    for w in caught:
        if issubclass(w.category, DahOutcomesWarning):
            notes.warn(str(w.message), w.category)
        else:  # not ours: passed on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # near-violations of positivity are announced by standardised_arm_risks (passed on above)
    _few(risks, min_events, notes)
    label = {str(h): h for h in chosen}
    table = risks.to_frame().rename(columns={"endpoint": "horizon"})
    table["horizon"] = table["horizon"].map(label).astype(object)
    shown = ("observed", *STANDARDISATION_METHODS[method])
    table = table[table["method"].isin(shown)]
    table = table[
        ["arm", "horizon", "method", "risk", "ci_lower", "ci_upper", "n", "n_known", "n_events"]
    ]
    return StandardisedRisks(
        table=table.reset_index(drop=True),
        arms=tuple(order),
        horizons=chosen,
        method=method,
        n=len(data),
        n_dropped=n_dropped,
        n_unknown_arm=int(unknown.sum()),
        arms_left_out=arms_left_out,
        adjusted_for=tuple(used),
        not_adjusted=left_out,
        effective_n=risks.propensity.effective_sizes(),
        bootstrap=risks.bootstrap,
        n_boot_failed=risks.n_boot_failed,
        seed=risks.seed,
        conf_level=risks.conf_level,
        warnings=tuple(notes.messages),
        risks=risks,
        fingerprint=cohort.fingerprint,
    )
