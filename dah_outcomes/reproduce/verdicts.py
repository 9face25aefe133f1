"""Judging claims against their recomputed figures, at the printed precision.

One rule judges every claim, whichever way it is reached (``dah-outcomes reproduce``, the demo,
:func:`~dah_outcomes.reproduce.cited_figures.compare_cited_figures`): :func:`judge` gives one of
the verdicts of :data:`VERDICTS`, and :func:`reproduce` assembles them into a
:class:`ReproductionResult`. Recomputing each figure is
:func:`~dah_outcomes.reproduce.recompute.recompute`'s job.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, EstimationError, warn
from dah_outcomes.reproduce.claims import Claim, PrintedValue, parse_printed
from dah_outcomes.reproduce.recompute import Recomputed, recompute
from dah_outcomes.results import ResultMixin, json_safe

__all__ = ["VERDICTS", "ReproductionResult", "judge", "reproduce"]

Verdict = Literal["reproduced", "consistent", "not reproduced", "not recomputable"]

#: The one verdict vocabulary, in order from best to worst, with what each word means.
VERDICTS: dict[str, str] = {
    "reproduced": "the recomputed figure prints as the claim does, at the printed precision",
    "consistent": "not the printed figure, but the printed figure lies inside the recomputed CI",
    "not reproduced": "the printed figure lies outside the recomputed CI",
    "not recomputable": "this cohort cannot give the statistic (the reason says why)",
}

#: Verdicts under which the cohort does not contradict a claim.
_AGREEING = ("reproduced", "consistent")


def judge(printed: PrintedValue, r: Recomputed) -> tuple[Verdict, str]:
    """Verdict and reason for a printed figure against a recomputed one.

    Rounding is judged at the printed number of decimals (round half up). A range is
    reproduced when the rounded estimate lies in it, and consistent when the CI overlaps it; a
    bound is reproduced when the estimate satisfies it, and consistent when the CI reaches
    it; a point is reproduced when the estimate prints as it (or, with counts, when the
    counts match and print as it), and consistent when it lies in the CI.

    Parameters
    ----------
    printed : PrintedValue
        The figure as printed (from :func:`~dah_outcomes.reproduce.claims.parse_printed`).
    r : Recomputed
        The figure recomputed from data.

    Returns
    -------
    tuple of (str, str)
        The verdict (``"reproduced"``, ``"consistent"`` or ``"not reproduced"``, see
        :data:`VERDICTS`) and a one-line reason quoting the numbers.
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
        return _judge_range(pv, r, shown, level)
    if pv.kind in ("lower_bound", "upper_bound"):
        return _judge_bound(pv, r, shown, level)
    return _judge_point(pv, r, shown, level)


def _judge_range(pv: PrintedValue, r: Recomputed, shown: str, level: str) -> tuple[Verdict, str]:
    low, high = pv.as_fraction(pv.value), pv.as_fraction(pv.high or pv.value)
    if pv.value <= pv.printed_as(r.estimate) <= (pv.high or pv.value):
        return "reproduced", f"recomputed {shown} lies in the printed range {pv.text}"
    if r.ci_upper >= low and r.ci_lower <= high:
        return "consistent", f"recomputed {shown} ({level}) overlaps {pv.text}"
    return "not reproduced", f"recomputed {shown} ({level}) lies outside {pv.text}"


def _judge_bound(pv: PrintedValue, r: Recomputed, shown: str, level: str) -> tuple[Verdict, str]:
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
        return "consistent", f"recomputed {shown} does not satisfy {pv.text}, but its {level} does"
    return "not reproduced", f"recomputed {shown} ({level}) cannot satisfy {pv.text}"


def _judge_point(pv: PrintedValue, r: Recomputed, shown: str, level: str) -> tuple[Verdict, str]:
    """A point, possibly with counts."""
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
    if r.ci_lower <= pv.as_fraction(pv.value) <= r.ci_upper:
        return "consistent", f"recomputed {shown}; the printed {pv.text} lies in its {level}"
    return "not reproduced", f"recomputed {shown}; the printed {pv.text} lies outside its {level}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReproductionResult(ResultMixin):
    """One row per claim: the printed figure, the recomputed one and the verdict.

    Attributes
    ----------
    table : DataFrame
        See :func:`reproduce` for the columns.
    fingerprint : str
        The fingerprint of the cohort the claims were recomputed from.
    conf_level : float
        Confidence level of the recomputed intervals.
    """

    table: pd.DataFrame = field(repr=False)
    fingerprint: str
    conf_level: float

    def printed_values(self) -> list[PrintedValue]:
        """Each claim's printed figure, parsed, in table order.

        Returns
        -------
        list of PrintedValue
            What figures (e.g. :func:`~dah_outcomes.plotting.plot_cited_figures`) draw
            beside each recomputed estimate.
        """
        return [parse_printed(text) for text in self.table["printed"]]

    def to_frame(self) -> pd.DataFrame:
        """The verdict table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """``{"claims": [...], "fingerprint": ..., "conf_level": ...}``."""
        return {
            "claims": json_safe(self.table),
            "fingerprint": self.fingerprint,
            "conf_level": self.conf_level,
        }

    @property
    def verdict_counts(self) -> dict[str, int]:
        """How many claims got each verdict of :data:`VERDICTS` (every verdict, zeros too)."""
        counts = self.table["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in VERDICTS}

    @property
    def all_reproduced_or_consistent(self) -> bool:
        """True when the cohort contradicts no claim: every verdict is ``"reproduced"`` or
        ``"consistent"`` (a claim it cannot recompute counts against)."""
        return bool(self.table["verdict"].isin(_AGREEING).all())

    def _title(self) -> str:
        return f"Claims against cohort {self.fingerprint[:12]} ({self.conf_level:.0%} CI)"


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
        Columns ``claim, statistic, printed, population, source, events, total, estimate,
        ci_lower, ci_upper, method, verdict, why, warnings``: ``warnings`` holds our warnings
        raised while recomputing the claim (an arm's figure from ever/never flags carries an
        ImmortalTimeWarning when courses start after onset), each also issued once. A claim
        that cannot be recomputed from this cohort gets the verdict ``"not recomputable"``
        with the reason.

    Raises
    ------
    ArgumentError
        If ``claims`` is empty.
    """
    if not claims:
        raise ArgumentError("no claims given")
    rows: list[dict[str, object]] = []
    announced: set[str] = set()
    for claim in claims:
        # incidence is counted among SLE patients; every other statistic among DAH patients
        everyone = (
            "all SLE patients"
            if claim.statistic in ("incidence_proportion", "incidence_rate")
            else "all DAH patients"
        )
        population = f"{claim.by}={claim.group}" if claim.by else everyone
        row = {
            "claim": claim.id,
            "statistic": claim.statistic,
            "printed": claim.printed.text,
            "population": population,
            "source": claim.source,
        }
        try:
            r, notes = _recompute_noting(claim, cohort, ci_method, conf_level, announced)
        except (ArgumentError, EstimationError) as err:
            # one claim the cohort cannot answer must not hide the verdicts on the others
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
                "warnings": notes,
            }
        )
    return ReproductionResult(
        table=pd.DataFrame(rows), fingerprint=cohort.fingerprint, conf_level=float(conf_level)
    )


def _recompute_noting(
    claim: Claim, cohort: Cohort, ci_method: str, conf_level: float, announced: set[str]
) -> tuple[Recomputed, str]:
    """Recompute a claim, recording our warnings on its row (each still announced once).

    An arm's mortality recomputed from ever/never treatment flags carries immortal time when
    courses start after onset: the row says so, so a verdict is never read without it.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DahOutcomesWarning)
        r = recompute(claim, cohort, ci_method=ci_method, conf_level=conf_level)
    notes = []
    for w in caught:
        message = str(w.message)
        if not issubclass(w.category, DahOutcomesWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        notes.append(f"{w.category.__name__}: {message}")
        if message not in announced:
            announced.add(message)
            warn(message, w.category)
    return r, " | ".join(notes)
