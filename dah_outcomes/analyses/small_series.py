"""How far a figure wanders in small case series drawn from one cohort, and the intervals
that say nothing about a small arm.

Published DAH series have 7 to 30 patients. Drawing many such series from a large cohort shows
how widely a single series' percentage spreads around the cohort's rate, and how often each
printed percentage would appear.

In arms that small a Greenwood interval can say nothing: "Rituximab (n = 6, 0 deaths): 30-day
survival 1.000, 95% CI 1.000-1.000" has zero width because no one has died yet, not because
the estimate is certain (the exact binomial upper bound on 0 deaths in 6 is 46%). Survival at
0 has no log-transformed interval at all. :func:`mark_uninformative` finds such rows and words
the exact bound to report beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, ArmDefinition
from dah_outcomes.endpoints.frames import ENDPOINTS, patient_outcomes
from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin

__all__ = [
    "SeriesSpread",
    "mark_uninformative",
    "small_series_spread",
    "uninformative_message",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesSpread(ResultMixin):
    """Distribution of an endpoint's percentage over simulated small series.

    Attributes
    ----------
    endpoint : str
        Endpoint name.
    series_size, n_series : int
        Patients per series and number of series drawn.
    cohort_rate : float
        The endpoint's rate among all DAH patients of the cohort.
    percents : ndarray
        Each series' percentage (``events / series_size * 100``).
    seed : int
        Seed of the draws.
    """

    endpoint: str
    series_size: int
    n_series: int
    cohort_rate: float
    percents: np.ndarray = field(repr=False)
    seed: int

    def quantiles(self, probs: tuple[float, ...] = (0.025, 0.25, 0.5, 0.75, 0.975)) -> pd.Series:
        """Quantiles of the series percentages."""
        return pd.Series(np.quantile(self.percents, probs), index=probs, name="percent")

    def to_frame(self) -> pd.DataFrame:
        """How often each possible count (and its printed percentage) occurred."""
        counts = np.round(self.percents * self.series_size / 100).astype(int)
        freq = np.bincount(counts, minlength=self.series_size + 1)
        k = np.arange(self.series_size + 1)
        return pd.DataFrame(
            {
                "events": k,
                "percent": np.round(k / self.series_size * 100, 1),
                "series": freq,
                "share": freq / self.n_series,
            }
        )

    def to_dict(self) -> dict:
        """Summary and frequency table (JSON-safe)."""
        from dah_outcomes.results import json_safe

        return {
            "endpoint": self.endpoint,
            "series_size": self.series_size,
            "n_series": self.n_series,
            "cohort_rate": self.cohort_rate,
            "seed": self.seed,
            "quantiles": json_safe(self.quantiles().to_dict()),
            "frequencies": json_safe(self.to_frame()),
        }


def small_series_spread(
    cohort: Cohort,
    endpoint: str = "recurrence",
    *,
    series_size: int = 14,
    n_series: int = 2000,
    seed: int = 0,
    arms: ArmDefinition = DEFAULT_ARMS,
) -> SeriesSpread:
    """Draw ``n_series`` series of ``series_size`` DAH patients and tally the endpoint.

    Each series samples patients without replacement from the cohort's DAH patients, so its
    event count is hypergeometric.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    endpoint : str, default "recurrence"
        An endpoint of DAH patients (a key of :data:`~dah_outcomes.endpoints.ENDPOINTS`).
    series_size : int, default 14
        Patients per series (between 1 and the DAH patients with a known value).
    n_series : int, default 2000
        Number of series drawn.
    seed : int, default 0
        Seed of the draws.
    arms : ArmDefinition, default DEFAULT_ARMS
        Arm definition of the patient outcomes.

    Returns
    -------
    SeriesSpread
        Every series' percentage and the cohort's rate.

    Examples
    --------
    >>> from dah_outcomes import generate_cohort
    >>> spread = small_series_spread(generate_cohort(n_sle=20_000, seed=1), n_series=200)
    >>> spread.series_size, len(spread.percents)
    (14, 200)
    """
    if endpoint not in ENDPOINTS or ENDPOINTS[endpoint].unit != "dah_patients":
        names = sorted(n for n, e in ENDPOINTS.items() if e.unit == "dah_patients")
        raise ArgumentError(f"endpoint must be one of {names}, got {endpoint!r}")
    outcomes = patient_outcomes(cohort, arms=arms)
    flags = outcomes[ENDPOINTS[endpoint].column].dropna().to_numpy(dtype=bool)
    if not 1 <= series_size <= len(flags):
        raise ArgumentError(
            f"series_size must be between 1 and the {len(flags)} DAH patients "
            f"with a known {endpoint}, got {series_size}"
        )
    if n_series < 1:
        raise ArgumentError(f"n_series must be positive, got {n_series}")
    rng = np.random.default_rng(seed)
    # The event count of a sample drawn without replacement is hypergeometric: exact, and
    # no need to materialise the samples.
    k = int(flags.sum())
    events = rng.hypergeometric(k, len(flags) - k, series_size, size=n_series)
    return SeriesSpread(
        endpoint=endpoint,
        series_size=series_size,
        n_series=n_series,
        cohort_rate=float(flags.mean()),
        percents=events / series_size * 100,
        seed=seed,
    )


def _interval_problem(s: float, lo: float, hi: float) -> str:
    """Why an interval around a survival estimate says nothing ("" when it says something)."""
    if not math.isfinite(s):
        return ""  # no estimate (past the group's follow-up): nothing to qualify
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no interval"
    if hi - lo <= 0:
        return "zero width"
    if lo <= 0 and hi >= 1:
        return "covers 0 to 1"
    return ""


def _pct(x: float) -> str:
    # small bounds keep a decimal: 0.7% is not 1% (0.0995 and above print as 10.0% with one)
    return f"{x:.0%}" if x >= 0.0995 else f"{x:.1%}"


def _exact_note(dead: int, known: int, lower: float, upper: float, *, level: str, when: str) -> str:
    """The exact binomial statement on mortality, from the interval on survival."""
    head = f"{dead} of {known} died by {when}: exact {level}"
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return f"{head} bound not available (no patient's status at {when} is known)"
    if dead == 0:
        return f"{head} upper bound on mortality {_pct(1 - lower)}"
    if dead == known:
        return f"{head} lower bound on mortality {_pct(1 - upper)}"
    return f"{head} CI on mortality {_pct(1 - upper)} to {_pct(1 - lower)}"


def mark_uninformative(
    at_times: pd.DataFrame, n_dead: Sequence[int], *, time_label: str = "day {t:g}"
) -> pd.DataFrame:
    """Mark the survival rows whose Greenwood interval says nothing, with the exact bound.

    A row is marked when the estimate exists but its interval has zero width (survival 1
    with no death yet: 1.000 to 1.000), is missing (survival 0 on the log scale) or covers
    every value from 0 to 1. Beside it, the Clopper-Pearson interval of the patients whose
    status at the time is known (``exact_lower``/``exact_upper``, exact when nobody was
    censored earlier) is worded as a bound on mortality: "0 of 6 died by day 30: exact 95%
    upper bound on mortality 46%".

    Parameters
    ----------
    at_times : DataFrame
        Survival at stated times, as
        :meth:`~dah_outcomes.stats.nonparametric.KaplanMeierResult.survival_at` gives it
        (``group``, ``time``, ``survival``, ``ci_lower``, ``ci_upper``, ``exact_lower``,
        ``exact_upper``, ``n_known``, ``conf_level``).
    n_dead : sequence of int
        Deaths by each row's time, row for row.
    time_label : str, default "day {t:g}"
        How a time is named in the note (``{t}`` is the row's time).

    Returns
    -------
    DataFrame
        A copy with ``n_dead``, ``interval_problem`` ("" or why the interval says nothing:
        "zero width", "no interval", "covers 0 to 1") and ``exact_note`` (the exact bound in
        words, "" on unmarked rows).

    Examples
    --------
    >>> import pandas as pd
    >>> row = pd.DataFrame({"group": ["RTX"], "time": [30.0], "survival": [1.0],
    ...     "ci_lower": [1.0], "ci_upper": [1.0], "exact_lower": [0.5407],
    ...     "exact_upper": [1.0], "n_known": [6.0], "conf_level": [0.95]})
    >>> mark_uninformative(row, [0])["exact_note"].iloc[0]
    '0 of 6 died by day 30: exact 95% upper bound on mortality 46%'
    """
    if len(n_dead) != len(at_times):
        raise ArgumentError(
            f"n_dead needs one count per row of at_times ({len(at_times)}), got {len(n_dead)}"
        )
    names = ("survival", "ci_lower", "ci_upper", "exact_lower", "exact_upper", "n_known")
    col = {c: at_times[c].to_numpy(dtype=float) for c in (*names, "time", "conf_level")}
    problems, notes = [], []
    for i, dead in enumerate(n_dead):
        problem = _interval_problem(col["survival"][i], col["ci_lower"][i], col["ci_upper"][i])
        problems.append(problem)
        if not problem:
            notes.append("")
            continue
        known = round(col["n_known"][i]) if math.isfinite(col["n_known"][i]) else 0
        notes.append(
            _exact_note(
                int(dead),
                known,
                col["exact_lower"][i],
                col["exact_upper"][i],
                level=f"{col['conf_level'][i]:.0%}",
                when=time_label.format(t=col["time"][i]),
            )
        )
    return at_times.assign(
        n_dead=np.asarray(n_dead, dtype=int), interval_problem=problems, exact_note=notes
    )


def uninformative_message(marked: pd.DataFrame, what: str, *, shown: int = 5) -> str | None:
    """The warning for the rows :func:`mark_uninformative` marked (None when none is).

    Parameters
    ----------
    marked : DataFrame
        What :func:`mark_uninformative` returned.
    what : str
        The analysis, named at the head of the message ("survival by arm").
    shown : int, default 5
        Rows quoted in full; the others are counted.

    Returns
    -------
    str or None
        One sentence per marked row (up to ``shown``), or None.
    """
    rows = marked[marked["interval_problem"] != ""]
    if rows.empty:
        return None
    quoted = "; ".join(
        f"{r.group} at {r.time:g} (survival {r.survival:.3f}, CI "
        + ("none" if r.interval_problem == "no interval" else f"{r.ci_lower:.3f}-{r.ci_upper:.3f}")
        + f"): {r.exact_note}"
        for r in rows.head(shown).itertuples(index=False)
    )
    more = f"; and {len(rows) - shown} more" if len(rows) > shown else ""
    return (
        f"{what}: {len(rows)} Greenwood interval(s) say nothing (of zero width, missing or "
        f"covering 0 to 1), as in a small arm with no death yet; report the exact binomial "
        f"bound beside them (columns exact_lower, exact_upper, exact_note): {quoted}{more}"
    )
