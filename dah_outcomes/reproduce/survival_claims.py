"""Recomputing survival claims (median survival, survival at t, hazard ratio) from a cohort."""

from __future__ import annotations

import numpy as np

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.reproduce.claims import Claim
from dah_outcomes.reproduce.verdicts import Recomputed
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.nonparametric import kaplan_meier

__all__ = ["recompute_survival_claim"]

_TERMS = (
    "severe",
    "infection",
    "mechanical_ventilation",
    "methylprednisolone_pulse",
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
)


def recompute_survival_claim(claim: Claim, cohort: Cohort, conf_level: float) -> Recomputed:
    """Median survival, survival at ``time_days`` (Kaplan-Meier, log CI) or the crude hazard
    ratio of death for ``term`` (Cox, Efron ties), among the claim's population."""
    frame = death_frame(cohort)
    if claim.by is not None:
        if claim.by not in ("arm", "era"):
            raise ArgumentError(
                f"survival claims may refer to by = 'arm' or 'era', got {claim.by!r}"
            )
        frame = frame[frame[claim.by] == claim.group]
        if frame.empty:
            raise EstimationError(f"no DAH patient in {claim.by} = {claim.group!r}")
    if claim.statistic in ("median_survival", "survival_at"):
        km = kaplan_meier(frame, time="time", event="event", conf_level=conf_level)
        if claim.statistic == "median_survival":
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
        if claim.time_days is None:
            raise ArgumentError("a survival_at claim needs time_days")
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
    if claim.term not in _TERMS:
        raise ArgumentError(f"a hazard_ratio claim needs term = one of {list(_TERMS)}")
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
