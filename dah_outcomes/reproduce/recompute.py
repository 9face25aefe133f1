"""Recomputing a claim's statistic from a cohort.

Each statistic of :data:`~dah_outcomes.reproduce.claims.STATISTICS` is recomputed here by the
analysis that defines it: proportions, mortality and incidence by
:func:`~dah_outcomes.analyses.outcome_rates.rates`, survival claims (median survival, survival
at a time, hazard ratio of death) from the death frame with Kaplan-Meier and Cox. Judging the
recomputed figure against the printed one is :mod:`~dah_outcomes.reproduce.verdicts`' job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dah_outcomes.analyses.outcome_rates import rates
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.endpoints.grouping import attach_group, check_by
from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.reproduce.claims import STATISTICS, Claim
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.nonparametric import kaplan_meier

__all__ = ["HAZARD_RATIO_TERMS", "Recomputed", "recompute"]

#: Covariates a ``hazard_ratio`` claim may name (binary flags of the first episode).
HAZARD_RATIO_TERMS = (
    "severe",
    "infection",
    "mechanical_ventilation",
    "methylprednisolone_pulse",
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
)

# statistic -> endpoint of `rates` that recomputes it (proportion claims name their own)
_RATE_ENDPOINT = {"mortality": "mortality", "incidence_proportion": "incidence"}


@dataclass(frozen=True, slots=True)
class Recomputed:
    """A claim's statistic recomputed from data, on the proportion (or natural) scale.

    Attributes
    ----------
    estimate, ci_lower, ci_upper : float
        The recomputed figure and its confidence interval.
    method : str
        How it was computed (CI method, estimator).
    conf_level : float
        Confidence level of the interval.
    events, total : int or None
        Counts behind the figure, where it has them.
    """

    estimate: float
    ci_lower: float
    ci_upper: float
    method: str
    conf_level: float
    events: int | None = None
    total: int | None = None


def recompute(
    claim: Claim, cohort: Cohort, *, ci_method: str = "wilson", conf_level: float = 0.95
) -> Recomputed:
    """Recompute ``claim``'s statistic among its population in ``cohort``.

    Parameters
    ----------
    claim : Claim
        The claim; its ``statistic`` decides the analysis, ``by``/``group`` the population.
    cohort : Cohort
        The data to recompute from.
    ci_method : str, default "wilson"
        CI method for proportions (see
        :data:`~dah_outcomes.stats.proportions.PROPORTION_METHODS`).
    conf_level : float, default 0.95
        Confidence level of the recomputed interval.

    Returns
    -------
    Recomputed
        The estimate with its CI and method.

    Raises
    ------
    ArgumentError
        If the claim does not say enough to be recomputed (unknown statistic, no endpoint,
        no ``time_days`` or an unknown ``term``).
    EstimationError
        If this cohort cannot give the statistic (no person-time for a rate, nobody in the
        group, median not reached).
    """
    stat = claim.statistic
    if stat in ("proportion", "mortality", "incidence_proportion"):
        return _proportion(claim, cohort, ci_method, conf_level)
    if stat == "incidence_rate":
        return _incidence_rate(claim, cohort, conf_level)
    if stat in ("median_survival", "survival_at", "hazard_ratio"):
        return _survival(claim, cohort, conf_level)
    raise ArgumentError(f"statistic must be one of {sorted(STATISTICS)}, got {stat!r}")


def _proportion(claim: Claim, cohort: Cohort, ci_method: str, conf_level: float) -> Recomputed:
    endpoint = _RATE_ENDPOINT.get(claim.statistic, claim.endpoint)
    if not endpoint:
        raise ArgumentError(f"the proportion claim {claim.id!r} needs an endpoint")
    # only mortality has a window: other endpoints ignore death_within_days
    window = claim.window_days if claim.statistic == "mortality" else None
    result = rates(
        cohort, claim.by, ci_method=ci_method, conf_level=conf_level, death_within_days=window
    )
    ci = result.get(endpoint, claim.group or "overall")
    return Recomputed(
        ci.estimate, ci.ci_lower, ci.ci_upper, ci.method, ci.conf_level, ci.events, ci.total
    )


def _incidence_rate(claim: Claim, cohort: Cohort, conf_level: float) -> Recomputed:
    rate = rates(cohort, conf_level=conf_level).incidence_rate
    if rate is None:
        raise EstimationError("an incidence rate needs a population cohort with person-time")
    # the claim may be printed per a different amount of person-time than rates() uses
    scale = claim.per / rate.per
    return Recomputed(
        rate.estimate * scale,
        rate.ci_lower * scale,
        rate.ci_upper * scale,
        f"exact Poisson, per {claim.per:g} person-years",
        rate.conf_level,
        rate.events,
        None,
    )


def _survival(claim: Claim, cohort: Cohort, conf_level: float) -> Recomputed:
    """Median survival, survival at ``time_days`` (Kaplan-Meier, log CI) or the crude hazard
    ratio of death for ``term`` (Cox, Efron ties), among the claim's population."""
    frame = death_frame(cohort)
    if claim.by is not None:
        frame = attach_group(frame, cohort, check_by(claim.by))
        frame = frame[frame[claim.by] == claim.group]
        if frame.empty:
            raise EstimationError(f"no DAH patient in {claim.by} = {claim.group!r}")
    if claim.statistic == "median_survival":
        km = kaplan_meier(frame, time="time", event="event", conf_level=conf_level)
        m = km.median().iloc[0]
        if np.isnan(m["time"]):
            raise EstimationError("median survival not reached in this cohort")
        return Recomputed(
            float(m["time"]),
            float(m["ci_lower"]),
            float(m["ci_upper"]),
            "Kaplan-Meier median (R's rule), log CI",
            conf_level,
            None,
            int(m["n"]),
        )
    if claim.statistic == "survival_at":
        if claim.time_days is None:
            raise ArgumentError("a survival_at claim needs time_days")
        km = kaplan_meier(frame, time="time", event="event", conf_level=conf_level)
        s = km.survival_at([claim.time_days]).iloc[0]
        return Recomputed(
            float(s["survival"]),
            float(s["ci_lower"]),
            float(s["ci_upper"]),
            f"Kaplan-Meier survival at {claim.time_days} days, log CI",
            conf_level,
            None,
            len(frame),
        )
    if claim.term not in HAZARD_RATIO_TERMS:
        raise ArgumentError(f"a hazard_ratio claim needs term = one of {list(HAZARD_RATIO_TERMS)}")
    # the flags are booleans (possibly nullable); the Cox fit wants numbers
    data = frame.assign(**{claim.term: frame[claim.term].astype(float)})
    fit = cox_regression(
        data, time="time", event="event", covariates=[claim.term], conf_level=conf_level
    )
    row = fit.to_frame().iloc[0]
    return Recomputed(
        float(row["hazard_ratio"]),
        float(row["ci_lower"]),
        float(row["ci_upper"]),
        "Cox (Efron), unadjusted",
        conf_level,
        fit.n_events,
        fit.n,
    )
