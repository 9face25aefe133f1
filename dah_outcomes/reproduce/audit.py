"""The audit: each cited figure against the pooled published evidence and the arithmetic of
small series."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dah_outcomes.endpoints.arms import DEFAULT_ERAS
from dah_outcomes.errors import ArgumentError
from dah_outcomes.reproduce.claims import Claim
from dah_outcomes.reproduce.consistency import consistent_sample_sizes
from dah_outcomes.reproduce.published import load_published_series, select_studies
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.meta import meta_proportions

__all__ = ["AuditResult", "audit_claims"]

#: claim endpoint/statistic -> outcome name in the published extraction
_OUTCOME = {
    "mortality": "death",
    "incidence_proportion": "dah_incidence",
    "mechanical_ventilation": "mechanical_ventilation",
    "plasmapheresis": "plasmapheresis",
    "nephritis": "nephritis",
    "recurrence": "recurrence",
    "first_manifestation": "first_manifestation",
}
HISTORICAL_BEFORE = 2005


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditResult(ResultMixin):
    """One row per claim: the pooled evidence, where the claim sits, and which series sizes
    could have printed it."""

    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        from dah_outcomes.results import json_safe

        return {"claims": json_safe(self.table)}


def _outcome(claim: Claim) -> str | None:
    key = (
        claim.statistic
        if claim.statistic in ("mortality", "incidence_proportion")
        else (claim.endpoint or "")
    )
    return _OUTCOME.get(key)


def audit_claims(
    claims: list[Claim], evidence: pd.DataFrame | None = None, *, max_n: int = 30
) -> AuditResult:
    """Set each claim against the published evidence.

    Parameters
    ----------
    claims : list of Claim
        Reported figures (proportions, mortality, incidence).
    evidence : DataFrame, optional
        Published series (the shipped extraction by default).
    max_n : int
        Largest series size searched for sizes consistent with a printed percentage.

    Returns
    -------
    AuditResult
        Per claim: the pooled proportion (random effects, logit, REML) with CI and prediction
        interval over the selected studies, the verdict (``within the pooled CI``, ``within
        the prediction interval`` or ``outside the published evidence``), and the series
        sizes up to ``max_n`` whose counts could print the figure.
    """
    if not claims:
        raise ArgumentError("no claims given")
    pub = load_published_series() if evidence is None else evidence
    rows = []
    for claim in claims:
        outcome = _outcome(claim)
        row: dict[str, object] = {
            "claim": claim.id,
            "printed": claim.printed.text,
            "outcome": outcome,
        }
        if outcome is None:
            rows.append({**row, "verdict": "no published evidence for this statistic"})
            continue
        studies = select_studies(pub, outcome)
        note = ""
        if claim.by == "era" and claim.group == DEFAULT_ERAS.labels[0]:
            studies = studies[studies["year"].notna() & (studies["year"] < HISTORICAL_BEFORE)]
            note = f"series published before {HISTORICAL_BEFORE}"
        elif claim.by is not None:
            note = f"no series reports {claim.by} = {claim.group} separately: all series used"
        if len(studies) < 2:
            rows.append(
                {**row, "k": len(studies), "verdict": "fewer than 2 published series: not pooled"}
            )
            continue
        m = meta_proportions(
            studies["events"].astype(int).tolist(),
            studies["total"].astype(int).tolist(),
            method="REML",
            labels=studies["study_id"].tolist(),
        )
        pv = claim.printed
        low = pv.as_fraction(pv.value)
        high = pv.as_fraction(pv.high) if pv.high is not None else low
        if pv.kind == "lower_bound":
            inside_ci, inside_pi = m.ci_upper > low, m.pi_upper > low
        elif pv.kind == "upper_bound":
            inside_ci, inside_pi = m.ci_lower < low, m.pi_lower < low
        else:
            inside_ci = high >= m.ci_lower and low <= m.ci_upper
            inside_pi = high >= m.pi_lower and low <= m.pi_upper
        verdict = (
            "within the pooled CI"
            if inside_ci
            else "within the prediction interval only"
            if inside_pi
            else "outside the published evidence"
        )
        sizes = ""
        if pv.percent and pv.kind == "point" and pv.decimals < 28:
            text = f"{pv.value}%"
            fits = consistent_sample_sizes([text], max_n=max_n, rounding="any")
            strict = sorted(set(fits.loc[fits["rounding"] != "truncate", "n"]))
            trunc_only = sorted(set(fits["n"]) - set(strict))
            sizes = f"n <= {max_n} fitting: {strict if strict else 'none'}" + (
                f"; only if truncated: {trunc_only}" if trunc_only else ""
            )
        rows.append(
            {
                **row,
                "k": m.k,
                "studies": ", ".join(studies["study_id"]),
                "pooled": m.pooled,
                "ci_lower": m.ci_lower,
                "ci_upper": m.ci_upper,
                "pi_lower": m.pi_lower,
                "pi_upper": m.pi_upper,
                "i2": m.i2,
                "verdict": verdict,
                "series_sizes": sizes,
                "note": note,
            }
        )
    return AuditResult(table=pd.DataFrame(rows))
