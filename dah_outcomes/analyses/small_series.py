"""How far a figure wanders in small case series drawn from one cohort.

Published DAH series have 7 to 30 patients. Drawing many such series from a large cohort shows
how widely a single series' percentage spreads around the cohort's rate, and how often each
printed percentage would appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, ArmDefinition
from dah_outcomes.endpoints.frames import ENDPOINTS, patient_outcomes
from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin

__all__ = ["SeriesSpread", "small_series_spread"]


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
