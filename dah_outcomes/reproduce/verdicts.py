"""Recomputing claims from a cohort and judging them at the printed precision."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import pandas as pd

from dah_outcomes.analyses.outcome_rates import rates
from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.reproduce.claims import Claim, PrintedValue
from dah_outcomes.results import ResultMixin

__all__ = ["VERDICTS", "Recomputed", "ReproductionResult", "judge", "reproduce"]

Verdict = Literal["reproduced", "consistent", "not reproduced"]
VERDICTS: dict[str, str] = {
    "reproduced": "the recomputed figure prints as the claim does, at the printed precision",
    "consistent": "not the printed figure, but the printed figure lies inside the recomputed CI",
    "not reproduced": "the printed figure lies outside the recomputed CI",
}


@dataclass(frozen=True, slots=True)
class Recomputed:
    """A claim's statistic recomputed from data, on the proportion (or natural) scale."""

    estimate: float
    ci_lower: float
    ci_upper: float
    method: str
    conf_level: float
    events: int | None = None
    total: int | None = None


def _in(x: float, low: float, high: float) -> bool:
    return low <= x <= high


def judge(printed: PrintedValue, r: Recomputed) -> tuple[Verdict, str]:
    """Verdict and reason for a printed figure against a recomputed one.

    Rounding is judged at the printed number of decimals (round half up). A range is
    reproduced when the rounded estimate lies in it; a bound when the estimate satisfies it.
    """
    pv = printed
    digits = min(max(pv.decimals, 1), 6)
    shown = (
        f"{r.estimate * 100:.{digits}f}%" if pv.percent else f"{r.estimate:.{min(pv.decimals, 6)}f}"
    )
    ci = (
        f"{r.ci_lower * 100:.1f}%-{r.ci_upper * 100:.1f}%"
        if pv.percent
        else f"{r.ci_lower:.3g}-{r.ci_upper:.3g}"
    )
    level = f"{r.conf_level:.0%} CI {ci}"
    if pv.kind == "range":
        low, high = pv.as_fraction(pv.value), pv.as_fraction(pv.high or pv.value)
        q = Decimal(repr(r.estimate * 100 if pv.percent else r.estimate)).quantize(
            Decimal(1).scaleb(-pv.decimals)
        )
        if pv.value <= q <= (pv.high or pv.value):
            return "reproduced", f"recomputed {shown} lies in the printed range {pv.text}"
        if r.ci_upper >= low and r.ci_lower <= high:
            return "consistent", f"recomputed {shown} ({level}) overlaps {pv.text}"
        return "not reproduced", f"recomputed {shown} ({level}) lies outside {pv.text}"
    if pv.kind in ("lower_bound", "upper_bound"):
        bound = pv.as_fraction(pv.value)
        lower = pv.kind == "lower_bound"
        meets = (
            (r.estimate >= bound if pv.inclusive else r.estimate > bound)
            if lower
            else (r.estimate <= bound if pv.inclusive else r.estimate < bound)
        )
        if meets:
            return "reproduced", f"recomputed {shown} satisfies {pv.text}"
        reachable = r.ci_upper > bound if lower else r.ci_lower < bound
        if reachable:
            return "consistent", (
                f"recomputed {shown} does not satisfy {pv.text}, but its {level} does"
            )
        return "not reproduced", f"recomputed {shown} ({level}) cannot satisfy {pv.text}"
    # a point, possibly with counts
    if pv.events is not None and r.events is not None:
        counts_match = pv.events == r.events and (pv.total is None or pv.total == r.total)
        if counts_match and pv.decimals < 28 and not pv.rounds_to(r.estimate):
            return "not reproduced", (
                f"counts {r.events}/{r.total} match but print as "
                f"{shown}, not {pv.text}: the printed percentage is wrong"
            )
        if counts_match:
            return "reproduced", f"recomputed {r.events}/{r.total} = {shown}"
    if pv.up_to:
        if r.estimate <= pv.as_fraction(pv.value) or pv.rounds_to(r.estimate):
            return "reproduced", f"recomputed {shown} is within {pv.text}"
    elif pv.decimals < 28 and pv.rounds_to(r.estimate) and pv.events is None:
        return "reproduced", f"recomputed {shown} prints as {pv.text}"
    if _in(pv.as_fraction(pv.value), r.ci_lower, r.ci_upper):
        return "consistent", f"recomputed {shown}; the printed {pv.text} lies in its {level}"
    return "not reproduced", f"recomputed {shown}; the printed {pv.text} lies outside its {level}"


@dataclass(frozen=True, slots=True)
class ReproductionResult(ResultMixin):
    """One row per claim: the printed figure, the recomputed one and the verdict."""

    table: pd.DataFrame = field(repr=False)
    fingerprint: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """The verdict table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """``{"claims": [...], "fingerprint": ..., "conf_level": ...}``."""
        from dah_outcomes.results import json_safe

        return {
            "claims": json_safe(self.table),
            "fingerprint": self.fingerprint,
            "conf_level": self.conf_level,
        }


def _recompute(claim: Claim, cohort: Cohort, ci_method: str, conf_level: float) -> Recomputed:
    stat = claim.statistic
    if stat in ("proportion", "mortality", "incidence_proportion"):
        endpoint = {"mortality": "mortality", "incidence_proportion": "incidence"}.get(
            stat, claim.endpoint or ""
        )
        window = claim.window_days if stat == "mortality" else None
        result = rates(
            cohort, claim.by, ci_method=ci_method, conf_level=conf_level, death_within_days=window
        )
        ci = result.get(endpoint, claim.group or "overall")
        return Recomputed(
            ci.estimate, ci.ci_lower, ci.ci_upper, ci.method, ci.conf_level, ci.events, ci.total
        )
    if stat == "incidence_rate":
        rate = rates(cohort, conf_level=conf_level).incidence_rate
        if rate is None:
            raise EstimationError("an incidence rate needs a population cohort with person-time")
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
    from dah_outcomes.reproduce.survival_claims import recompute_survival_claim

    return recompute_survival_claim(claim, cohort, conf_level)


def reproduce(
    claims: list[Claim], cohort: Cohort, *, ci_method: str = "wilson", conf_level: float = 0.95
) -> ReproductionResult:
    """Recompute each claim from ``cohort`` and judge it.

    Parameters
    ----------
    claims : list of Claim
        From :func:`~dah_outcomes.reproduce.claims.load_claims`.
    cohort : Cohort
        The data to recompute from.
    ci_method : str, default "wilson"
        CI method for proportions.
    conf_level : float, default 0.95
        Confidence level of the recomputed intervals.

    Returns
    -------
    ReproductionResult
        Columns ``claim, statistic, printed, population, events, total, estimate, ci_lower,
        ci_upper, method, verdict, why``. A claim that cannot be recomputed from this cohort
        gets the verdict ``"not recomputable"`` with the reason.
    """
    if not claims:
        raise ArgumentError("no claims given")
    rows = []
    for claim in claims:
        population = f"{claim.by}={claim.group}" if claim.by else "all DAH patients"
        row = {
            "claim": claim.id,
            "statistic": claim.statistic,
            "printed": claim.printed.text,
            "population": population,
            "source": claim.source,
        }
        try:
            r = _recompute(claim, cohort, ci_method, conf_level)
        except (ArgumentError, EstimationError) as err:
            rows.append({**row, "verdict": "not recomputable", "why": str(err)})
            continue
        verdict, why = judge(claim.printed, r)
        rows.append(
            {
                **row,
                "events": r.events,
                "total": r.total,
                "estimate": r.estimate,
                "ci_lower": r.ci_lower,
                "ci_upper": r.ci_upper,
                "method": r.method,
                "verdict": verdict,
                "why": why,
            }
        )
    return ReproductionResult(
        table=pd.DataFrame(rows), fingerprint=cohort.fingerprint, conf_level=float(conf_level)
    )
