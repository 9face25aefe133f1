"""The audit: each cited figure against the pooled published evidence and the arithmetic of
small series, with the verdict under every defensible way of pooling.

A verdict depends on choices a careful reviewer could make otherwise: which mortality time
frames to pool (mixing overall, in-hospital and initial-episode mortality, or only the
in-hospital and initial-episode series a "~12% in-hospital" figure speaks to), the interval
(z-based, as metafor's default, or Hartung-Knapp with a t prediction interval on k - 2 df, the
choice recommended for few studies), the estimator (REML or DerSimonian-Laird on the logit
scale, REML on the Freeman-Tukey scale) and, for a historical-era figure, what "historical"
means in a published series (published before 2005; published before 2000; a study period
whose midpoint is before 2000, as the cohort's era is onset before 2000). The audit reports the
verdict under each combination and calls a verdict robust only when they all agree.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import pandas as pd

from dah_outcomes.endpoints.arms import DEFAULT_ERAS
from dah_outcomes.errors import ArgumentError
from dah_outcomes.reproduce.claims import Claim
from dah_outcomes.reproduce.consistency import consistent_sample_sizes
from dah_outcomes.reproduce.published import (
    check_evidence,
    load_published_series,
    select_studies,
)
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.meta import MetaProportionResult, meta_proportions

__all__ = ["DEFAULT_CHOICES", "ERA_DEFINITIONS", "INTERVALS", "AuditResult", "audit_claims"]

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

#: The defensible intervals: name -> (metafor test, prediction-interval type).
INTERVALS = {
    "z": ("z", "default"),
    "Hartung-Knapp, t PI (k-2 df)": ("knha", "riley"),
}
#: Estimators: name -> (between-study variance method, transform).
ESTIMATORS = {
    "REML logit": ("REML", "logit"),
    "DL logit": ("DL", "logit"),
    "REML Freeman-Tukey": ("REML", "freeman-tukey"),
}
#: Mortality time frames pooled: name -> time frames (None: all).
TIME_FRAMES: dict[str, tuple[str, ...] | None] = {
    "all time frames": None,
    "in-hospital or initial episode": ("in_hospital", "initial_episode"),
}
#: What "historical" means for a published series (see the module).
ERA_DEFINITIONS = (
    f"published before {HISTORICAL_BEFORE}",
    "published before 2000",
    "study period midpoint before 2000",
)
#: The choices of the verdict in the claims table (the others are in ``robustness``).
DEFAULT_CHOICES = {
    "time_frame": "all time frames",
    "interval": "z",
    "estimator": "REML logit",
    "era_definition": ERA_DEFINITIONS[0],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditResult(ResultMixin):
    """The audit of reported figures.

    Attributes
    ----------
    table : DataFrame
        One row per claim under the default choices (all time frames, z interval, REML on
        the logit scale, historical = published before 2005): the pooled evidence, where the
        claim sits, which series sizes could have printed it, and ``robust`` / ``verdicts``
        (whether every defensible choice gives the same verdict, and how often each did).
    robustness : DataFrame
        One row per claim and combination of choices (``time_frame``, ``interval``,
        ``estimator``, ``era_definition``): k, pooled, CI, prediction interval and verdict.
    """

    table: pd.DataFrame = field(repr=False)
    robustness: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """One row per claim (the default choices, with the robustness summary)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """JSON-safe: ``claims`` (the table), ``robustness`` (every choice) and ``summary``
        (each claim's verdict, robust or not, and the verdicts under its choices)."""
        from dah_outcomes.results import json_safe

        return {
            "claims": json_safe(self.table),
            "robustness": json_safe(self.robustness),
            "summary": json_safe(self.summary()),
        }

    def summary(self) -> pd.DataFrame:
        """One row per claim: the verdict under the default choices, whether it is robust
        in words, and how often each verdict came out over the claim's choices.

        Returns
        -------
        DataFrame
            ``claim``, ``printed``, ``verdict``, ``robustness`` ("robust": every pooled
            choice gives the same verdict; "not robust": they differ; "not judged": fewer
            than two choices could be pooled; "no evidence": no published series report the
            statistic), ``n_choices`` and ``verdicts`` ("outside the published evidence: 3
            of 6; ...").
        """
        rows = []
        for r in self.table.to_dict(orient="records"):
            mine = (
                self.robustness[self.robustness["claim"] == r["claim"]]
                if "claim" in self.robustness
                else self.robustness
            )
            pooled = int(mine["pooled"].notna().sum()) if "pooled" in mine else 0
            if not len(mine):
                words = "no evidence"
            elif r.get("robust") is True:
                words = "robust"
            else:
                words = "not robust" if pooled >= 2 else "not judged"
            verdicts = r.get("verdicts")
            rows.append(
                {
                    "claim": r["claim"],
                    "printed": r["printed"],
                    "verdict": r["verdict"],
                    "robustness": words,
                    "n_choices": len(mine),
                    "verdicts": verdicts if isinstance(verdicts, str) else "",
                }
            )
        return pd.DataFrame(rows)

    def differing_choices(self) -> pd.DataFrame:
        """The choices behind each verdict that is not robust: the rows of
        :attr:`robustness` for those claims, one per combination of choices.

        Returns
        -------
        DataFrame
            As :attr:`robustness`, only the claims whose verdict depends on the choices.
        """
        summary = self.summary()
        shaky = summary.loc[summary["robustness"] == "not robust", "claim"]
        if self.robustness.empty:
            return self.robustness.copy()
        return self.robustness[self.robustness["claim"].isin(shaky)].reset_index(drop=True)


def _outcome(claim: Claim) -> str | None:
    key = (
        claim.statistic
        if claim.statistic in ("mortality", "incidence_proportion")
        else (claim.endpoint or "")
    )
    return _OUTCOME.get(key)


def _period_midpoint(period: object) -> float | None:
    years = [int(y) for y in re.findall(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", str(period))]
    return (min(years) + max(years)) / 2 if years else None


def _historical(studies: pd.DataFrame, definition: str) -> pd.DataFrame:
    year = studies["year"]
    if definition == ERA_DEFINITIONS[0]:
        return studies[year.notna() & (year < HISTORICAL_BEFORE)]
    if definition == ERA_DEFINITIONS[1]:
        return studies[year.notna() & (year < 2000)]
    mid = studies["study_period"].map(_period_midpoint)
    return studies[mid.notna() & (mid.astype(float) < 2000)]


def _verdict(claim: Claim, m: MetaProportionResult) -> str:
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
    if inside_ci:
        return "within the pooled CI"
    return "within the prediction interval only" if inside_pi else "outside the published evidence"


def _series_sizes(claim: Claim, max_n: int) -> str:
    pv = claim.printed
    if not (pv.percent and pv.kind == "point" and pv.decimals < 28):
        return ""
    fits = consistent_sample_sizes([f"{pv.value}%"], max_n=max_n, rounding="any")
    strict = sorted(set(fits.loc[fits["rounding"] != "truncate", "n"]))
    trunc_only = sorted(set(fits["n"]) - set(strict))
    return f"n <= {max_n} fitting: {strict if strict else 'none'}" + (
        f"; only if truncated: {trunc_only}" if trunc_only else ""
    )


def _choices(claim: Claim, outcome: str) -> list[dict[str, str]]:
    """Every defensible combination of choices for this claim (the default first)."""
    frames = list(TIME_FRAMES) if outcome == "death" else [DEFAULT_CHOICES["time_frame"]]
    historical = claim.by == "era" and claim.group == DEFAULT_ERAS.labels[0]
    eras = list(ERA_DEFINITIONS) if historical else [""]
    out = [
        {"time_frame": f, "interval": i, "estimator": e, "era_definition": r}
        for f, i, e, r in itertools.product(frames, INTERVALS, ESTIMATORS, eras)
    ]
    default = {**DEFAULT_CHOICES, "era_definition": eras[0]}
    return [default] + [c for c in out if c != default]


def _pool(
    claim: Claim, pub: pd.DataFrame, outcome: str, choice: dict[str, str]
) -> dict[str, object]:
    frames = TIME_FRAMES[choice["time_frame"]]
    studies = select_studies(pub, outcome, death_timeframes=frames)
    note = ""
    if choice["era_definition"]:
        studies = _historical(studies, choice["era_definition"])
        note = f"historical series: {choice['era_definition']}"
    elif claim.by is not None:
        note = f"no series reports {claim.by} = {claim.group} separately: all series used"
    row: dict[str, object] = {**choice, "k": len(studies), "note": note}
    if len(studies) < 2:
        return {**row, "verdict": "fewer than 2 published series: not pooled"}
    method, transform = ESTIMATORS[choice["estimator"]]
    test, pi_method = INTERVALS[choice["interval"]]
    m = meta_proportions(
        studies["events"].astype(int).tolist(),
        studies["total"].astype(int).tolist(),
        method=method,
        transform=transform,
        test=test,
        pi_method=pi_method,
        labels=studies["study_id"].tolist(),
    )
    return {
        **row,
        "studies": ", ".join(studies["study_id"]),
        "pooled": m.pooled,
        "ci_lower": m.ci_lower,
        "ci_upper": m.ci_upper,
        "pi_lower": m.pi_lower,
        "pi_upper": m.pi_upper,
        "i2": m.i2,
        "verdict": _verdict(claim, m),
    }


def audit_claims(
    claims: list[Claim], evidence: pd.DataFrame | None = None, *, max_n: int = 30
) -> AuditResult:
    """Set each claim against the published evidence, under every defensible choice.

    Parameters
    ----------
    claims : list of Claim
        Reported figures (proportions, mortality, incidence).
    evidence : DataFrame, optional
        Published series (the shipped extraction by default), checked by
        :func:`~dah_outcomes.reproduce.published.check_evidence` (every bad count, year,
        outcome or unit listed in one error); read a CSV file with ``read_evidence``.
    max_n : int
        Largest series size searched for sizes consistent with a printed percentage.

    Returns
    -------
    AuditResult
        Per claim (``table``): the pooled proportion (random effects, logit, REML, z) with
        CI and prediction interval over the selected studies, the verdict (``within the
        pooled CI``, ``within the prediction interval only`` or ``outside the published
        evidence``), the series sizes up to ``max_n`` whose counts could print the figure,
        and whether the verdict is ``robust`` to the choices of the module's docstring; per
        claim and choice (``robustness``): the same under that choice.
    """
    if not claims:
        raise ArgumentError("no claims given")
    pub = load_published_series() if evidence is None else check_evidence(evidence)
    rows, every = [], []
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
        results = [_pool(claim, pub, outcome, c) for c in _choices(claim, outcome)]
        every += [{"claim": claim.id, "printed": claim.printed.text, **r} for r in results]
        verdicts = pd.Series([r["verdict"] for r in results]).value_counts()
        # a choice that leaves fewer than 2 series says nothing: robust means every pooled
        # choice agrees (and at least two were pooled)
        pooled = {str(r["verdict"]) for r in results if "pooled" in r}
        n_pooled = sum("pooled" in r for r in results)
        default = {
            k: v
            for k, v in results[0].items()
            if k not in ("time_frame", "interval", "estimator", "era_definition")
        }
        rows.append(
            {
                **row,
                **default,
                "series_sizes": _series_sizes(claim, max_n) if "pooled" in default else "",
                "robust": len(pooled) == 1 and n_pooled >= 2,
                "verdicts": "; ".join(f"{v}: {n} of {len(results)}" for v, n in verdicts.items()),
            }
        )
    return AuditResult(table=pd.DataFrame(rows), robustness=pd.DataFrame(every))
