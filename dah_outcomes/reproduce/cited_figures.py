"""The figures cited for DAH in SLE, and their comparison with a cohort's estimates.

The figures come from a clinical summary, not from one study. Each is tied here to the endpoint
and group that recomputes it, with the check a reader would apply: a range must contain the
point estimate, a bound must be exceeded by it, a single value must lie in the CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from dah_outcomes.analyses.outcome_rates import OutcomeRates, rates
from dah_outcomes.cohort import Cohort
from dah_outcomes.results import ResultMixin

__all__ = ["CITED_FIGURES", "CitedComparison", "CitedFigure", "compare_cited_figures"]


@dataclass(frozen=True, slots=True)
class CitedFigure:
    """A cited figure and how to check it.

    Attributes
    ----------
    name : str
        Short key.
    as_cited : str
        The figure as the summary gives it.
    endpoint : str
        Endpoint of :data:`~dah_outcomes.endpoints.ENDPOINTS` that recomputes it.
    by, group : str or None
        Grouping (``"arm"`` or ``"era"``) and group it refers to; None for overall.
    check : {"range", "above", "in_ci"}
        ``range``: the estimate lies in [low, high]; ``above``: the estimate exceeds ``low``;
        ``in_ci``: the CI contains ``low``.
    low, high : float
        The cited value(s) as proportions.
    """

    name: str
    as_cited: str
    endpoint: str
    by: Literal["arm", "era"] | None
    group: str | None
    check: Literal["range", "above", "in_ci"]
    low: float
    high: float | None = None


CITED_FIGURES: tuple[CitedFigure, ...] = (
    CitedFigure(
        "incidence", "DAH in 5-6% of SLE patients", "incidence", None, None, "range", 0.05, 0.06
    ),
    CitedFigure(
        "first_manifestation",
        "initial manifestation of SLE in up to 29%",
        "first_manifestation",
        None,
        None,
        "in_ci",
        0.29,
    ),
    CitedFigure(
        "mechanical_ventilation",
        "mechanical ventilation in 85%",
        "mechanical_ventilation",
        None,
        None,
        "in_ci",
        0.85,
    ),
    CitedFigure(
        "plasmapheresis", "plasmapheresis in 57%", "plasmapheresis", None, None, "in_ci", 0.57
    ),
    CitedFigure("nephritis", "glomerulonephritis in 57%", "nephritis", None, None, "in_ci", 0.57),
    CitedFigure("recurrence", "recurrence in 29%", "recurrence", None, None, "in_ci", 0.29),
    CitedFigure(
        "mortality_aggressive",
        "mortality about 12% with IV methylprednisolone + cyclophosphamide + plasmapheresis",
        "mortality",
        "arm",
        "MP+CYC+PLEX",
        "in_ci",
        0.12,
    ),
    CitedFigure(
        "mortality_historical",
        "mortality above 50% in the historical era",
        "mortality",
        "era",
        "historical",
        "above",
        0.50,
    ),
)


@dataclass(frozen=True, slots=True)
class CitedComparison(ResultMixin):
    """Each cited figure beside its recomputed estimate and CI, with the check's outcome."""

    table: pd.DataFrame = field(repr=False)
    ci_method: str
    conf_level: float
    fingerprint: str

    def to_frame(self) -> pd.DataFrame:
        """One row per cited figure (a copy)."""
        return self.table.copy()

    @property
    def all_agree(self) -> bool:
        """True when every cited figure passes its check."""
        return bool(self.table["agrees"].all())

    def _title(self) -> str:
        return f"Cited figures against the cohort ({self.conf_level:.0%} CI, {self.ci_method})"


def _passes(fig: CitedFigure, est: float, low: float, high: float) -> bool:
    if fig.check == "range":
        return fig.low <= est <= (fig.high if fig.high is not None else fig.low)
    if fig.check == "above":
        return est > fig.low
    return low <= fig.low <= high


def compare_cited_figures(
    cohort: Cohort,
    *,
    ci_method: str = "wilson",
    conf_level: float = 0.95,
    figures: tuple[CitedFigure, ...] = CITED_FIGURES,
) -> CitedComparison:
    """Recompute each cited figure from ``cohort`` and apply its check.

    Returns
    -------
    CitedComparison
        Columns ``figure, as_cited, cited, check, endpoint, group, events, total, estimate,
        ci_lower, ci_upper, agrees``.
    """
    by_rates: dict[str | None, OutcomeRates] = {}
    rows = []
    for fig in figures:
        if fig.by not in by_rates:
            by_rates[fig.by] = rates(cohort, fig.by, ci_method=ci_method, conf_level=conf_level)
        ci = by_rates[fig.by].get(fig.endpoint, fig.group or "overall")
        cited = (
            f"{fig.low:.0%}-{fig.high:.0%}"
            if fig.high is not None
            else f">{fig.low:.0%}"
            if fig.check == "above"
            else f"{fig.low:.0%}"
        )
        rows.append(
            {
                "figure": fig.name,
                "as_cited": fig.as_cited,
                "cited": cited,
                "check": fig.check,
                "endpoint": fig.endpoint,
                "group": fig.group or "overall",
                "events": ci.events,
                "total": ci.total,
                "estimate": ci.estimate,
                "ci_lower": ci.ci_lower,
                "ci_upper": ci.ci_upper,
                "agrees": _passes(fig, ci.estimate, ci.ci_lower, ci.ci_upper),
            }
        )
    return CitedComparison(
        table=pd.DataFrame(rows),
        ci_method=ci_method,
        conf_level=float(conf_level),
        fingerprint=cohort.fingerprint,
    )
