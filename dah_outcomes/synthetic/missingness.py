"""Missing values as a layer over any cohort: MCAR, MAR or MNAR removal, keeping the truth.

Real DAH series have missing treatment flags and missing measurements, and the missingness is
rarely innocent. :func:`apply_missingness` removes values from the episodes table of a cohort
by a declared mechanism and returns the cohort with the holes beside the complete one, so that
a complete-case analysis, a multiple imputation or a sensitivity analysis can be checked
against the values that were removed:

- ``"mcar"``, missing completely at random: each value is removed with probability
  ``fraction``.
- ``"mar"``, missing at random given observed values: the odds of removal are
  :data:`MAR_ODDS_RATIOS` times higher in the historical era (onset before the era
  boundary) and lower for a severe presentation (severe patients' records are the more
  complete), with the baseline chosen so that ``fraction`` of the values are removed.
  Severity and onset date are never removed under MAR (the mechanism must depend on
  observed values only).
- ``"mnar"``, missing depending on the outcome: a value is removed with probability
  ``fraction_outcome`` in episodes ending in an in-hospital death and ``fraction`` in the
  others (the issue's example: the cyclophosphamide flag missing in 40% of in-hospital deaths
  and 10% of the others).

Death dates. ``death_dates=p`` blanks each recorded death date with probability ``p``
(completely at random, whatever the mechanism of the episodes' columns), the issue's
"blanking 50 death dates". The cohort then records ``vital_status`` (``"dead"`` for those
patients, as for every patient with a date; the truth's own status, or the status derived
from its dates, for the others), so the data say *died, date unknown* and a blank date is
not turned into a censoring; time-to-event analyses leave those patients out and say so.

What cannot be missing. ``in_hospital_death`` is not nullable in the schema, so it is not
offered; the episodes' columns are the nullable flags and measurements. A treatment flag
removed takes its dated courses of that episode with it (the ``treatments`` rows for that
treatment), and a source-given ``arm`` of that episode is blanked too; either would
otherwise give the value away.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints import DEFAULT_ERAS, assign_eras
from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.schema import EPISODE_COLUMNS, TREATMENT_FLAGS
from dah_outcomes.vital_status import derive_vital_status

__all__ = [
    "AMPUTABLE_COLUMNS",
    "DEFAULT_MISSING_COLUMNS",
    "MAR_ODDS_RATIOS",
    "MECHANISMS",
    "AmputedCohort",
    "apply_missingness",
]

MECHANISMS: dict[str, str] = {
    "mcar": "missing completely at random",
    "mar": "missing at random, depending on the observed severity and era",
    "mnar": "missing depending on the outcome (in-hospital death)",
}

#: The episodes columns values may be removed from: nullable flags and measurements.
AMPUTABLE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in EPISODE_COLUMNS if c.nullable and c.kind in ("bool", "int", "float")
)

#: Columns removed from by default: treatment flags and measurements registries often lack.
DEFAULT_MISSING_COLUMNS: tuple[str, ...] = (
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
    "mechanical_ventilation",
    "hemoglobin_drop",
)

#: Odds ratios of removal under MAR: onset in the historical era, a severe presentation.
MAR_ODDS_RATIOS: Mapping[str, float] = MappingProxyType({"historical_era": 3.0, "severe": 0.5})

_NOT_AMPUTABLE = {
    "in_hospital_death": "it is not nullable in the schema (every episode must say whether "
    "the patient died in hospital)",
    "death_date": "it is a patients column: blank death dates with death_dates=PROBABILITY "
    "instead (the cohort then records vital_status 'dead' for them, so a blank date is not "
    "the censoring it was when there was no vital status apart from the date)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AmputedCohort(ResultMixin):
    """A cohort with values removed, beside the complete cohort they were removed from.

    Attributes
    ----------
    cohort : Cohort
        The cohort with missing values; ``provenance["missingness"]`` records how.
    truth : Cohort
        The complete cohort (unchanged, with its own fingerprint).
    mechanism : str
        Key of :data:`MECHANISMS`.
    columns : tuple of str
        The episodes columns values were removed from.
    fraction : float
        Probability of removal (MCAR), the overall fraction (MAR), or the probability among
        episodes without an in-hospital death (MNAR).
    fraction_outcome : float or None
        Probability of removal among in-hospital deaths (MNAR only).
    seed : int
        Seed of the removal.
    n_missing : mapping of str to int
        Values removed per column (values already missing are not counted).
    n_courses_removed : int
        Treatment courses removed with their flag.
    n_death_dates_removed : int
        Death dates blanked (``death_dates``); those patients stay dead (``vital_status``).
    """

    cohort: Cohort = field(repr=False)
    truth: Cohort = field(repr=False)
    mechanism: str
    columns: tuple[str, ...]
    fraction: float
    fraction_outcome: float | None
    seed: int
    n_missing: Mapping[str, int]
    n_courses_removed: int
    n_death_dates_removed: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per column: values removed, of how many episodes."""
        n = self.truth.n_episodes
        return pd.DataFrame(
            {
                "column": list(self.columns),
                "mechanism": self.mechanism,
                "n_missing": [self.n_missing[c] for c in self.columns],
                "n_episodes": n,
                "pct_missing": [100 * self.n_missing[c] / max(n, 1) for c in self.columns],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The provenance record of the removal (what ``provenance["missingness"]`` holds)."""
        return dict(self.cohort.provenance["missingness"])


def _check_fraction(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not 0.0 <= float(value) < 1.0
    ):
        raise ArgumentError(f"{name} must be a probability in [0, 1), got {value!r}")
    return float(value)


def _check_columns(
    columns: Sequence[str], mechanism: str, death_dates: float | None
) -> tuple[str, ...]:
    if isinstance(columns, str) or (not len(columns) and death_dates is None):
        raise ArgumentError("columns must be a non-empty list of episodes column names")
    cols = tuple(str(c) for c in columns)
    for c in cols:
        if c in _NOT_AMPUTABLE:
            raise ArgumentError(f"{c} cannot be made missing: {_NOT_AMPUTABLE[c]}")
        if c not in AMPUTABLE_COLUMNS:
            raise ArgumentError(
                f"{c!r} is not a nullable flag or measurement of the episodes table; "
                f"choose from {list(AMPUTABLE_COLUMNS)}"
            )
    if len(set(cols)) != len(cols):
        raise ArgumentError(f"a column is named twice in {list(cols)}")
    if mechanism == "mar" and "severe" in cols:
        raise ArgumentError(
            "under MAR the removal depends on the observed severity: 'severe' cannot be one "
            "of the columns (use 'mcar' or 'mnar' to remove it)"
        )
    return cols


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ArgumentError(f"seed must be a non-negative whole number, got {seed!r}")
    return int(seed)


def _as_cohort(cohort_or_tables: Any) -> Cohort:
    if isinstance(cohort_or_tables, Cohort):
        return cohort_or_tables
    if isinstance(cohort_or_tables, tuple | list) and len(cohort_or_tables) in (2, 3):
        patients, episodes, *rest = cohort_or_tables
        return Cohort(patients, episodes, treatments=rest[0] if rest else None)
    raise ArgumentError(
        "cohort_or_tables must be a Cohort or a (patients, episodes[, treatments]) tuple, "
        f"got {type(cohort_or_tables).__name__}"
    )


def _mar_probability(episodes: pd.DataFrame, fraction: float) -> np.ndarray:
    """Per-episode removal probability with MAR_ODDS_RATIOS, averaging ``fraction``."""
    historical = (assign_eras(episodes["onset_date"]) == DEFAULT_ERAS.labels[0]).to_numpy()
    severe = episodes["severe"].fillna(False).to_numpy(dtype=bool)
    shift = (
        np.log(MAR_ODDS_RATIOS["historical_era"]) * historical
        + np.log(MAR_ODDS_RATIOS["severe"]) * severe
    )
    if fraction == 0 or not len(shift):
        return np.zeros(len(shift))
    lo, hi = -30.0, 30.0  # the baseline log odds, by bisection on the mean probability
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + shift)))) < fraction:
            lo = mid
        else:
            hi = mid
    return 1 / (1 + np.exp(-((lo + hi) / 2 + shift)))


def _probability(
    episodes: pd.DataFrame, mechanism: str, fraction: float, fraction_outcome: float | None
) -> np.ndarray:
    if mechanism == "mcar":
        return np.full(len(episodes), fraction)
    if mechanism == "mar":
        return _mar_probability(episodes, fraction)
    died = episodes["in_hospital_death"].to_numpy(dtype=bool)
    return np.where(died, fraction if fraction_outcome is None else fraction_outcome, fraction)


def _remove_arms(episodes: pd.DataFrame, removed: dict[str, pd.DataFrame]) -> int:
    """Blank, in place, a source-given arm where a treatment flag was removed (the arm would
    give the flag away); a cohort without an arm column derives it from the flags."""
    if "arm" not in episodes or not removed:
        return 0
    rows = np.zeros(len(episodes), dtype=bool)
    for gone in removed.values():
        rows[episodes.index.get_indexer(gone.index)] = True
    rows &= episodes["arm"].notna().to_numpy()
    episodes.loc[rows, "arm"] = pd.NA
    return int(rows.sum())


def _remove_courses(treatments: pd.DataFrame, removed: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Drop the courses of every (episode, treatment) whose flag was removed."""
    if not len(treatments):
        return treatments
    drop = np.zeros(len(treatments), dtype=bool)
    key = pd.MultiIndex.from_frame(treatments[["patient_id", "episode_number"]])
    for flag, episodes in removed.items():
        gone = pd.MultiIndex.from_frame(episodes[["patient_id", "episode_number"]])
        drop |= (treatments["treatment"] == flag).to_numpy(dtype=bool) & key.isin(gone)
    return treatments.loc[~drop].reset_index(drop=True)


def _blank_death_dates(
    truth: Cohort, probability: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, int]:
    """The truth's patients with death dates blanked and their vital status kept dead."""
    patients = truth.patients.copy()
    status = derive_vital_status(patients)  # the truth's own, or derived from its dates
    dated = patients["death_date"].notna().to_numpy()
    hit = (rng.random(len(patients)) < probability) & dated
    patients["death_date"] = patients["death_date"].mask(hit)
    patients["vital_status"] = status.to_numpy()
    return patients, int(hit.sum())


def apply_missingness(
    cohort_or_tables: Cohort | tuple[pd.DataFrame, ...],
    mechanism: str = "mcar",
    *,
    columns: Sequence[str] = DEFAULT_MISSING_COLUMNS,
    fraction: float = 0.1,
    fraction_outcome: float | None = None,
    seed: int = 0,
    death_dates: float | None = None,
) -> AmputedCohort:
    """Remove values from a cohort's episodes by a declared mechanism, keeping the truth.

    Parameters
    ----------
    cohort_or_tables : Cohort or tuple of DataFrame
        A cohort (e.g. from :func:`~dah_outcomes.synthetic.cohorts.generate_cohort`), or its
        ``(patients, episodes[, treatments])`` tables.
    mechanism : {"mcar", "mar", "mnar"}, default "mcar"
        How values go missing (see the module notes).
    columns : sequence of str, default DEFAULT_MISSING_COLUMNS
        Episodes columns to remove values from, each independently (one of
        :data:`AMPUTABLE_COLUMNS`).
    fraction : float, default 0.1
        MCAR: the probability of removal. MAR: the overall fraction removed. MNAR: the
        probability among episodes without an in-hospital death.
    fraction_outcome : float, optional
        MNAR only: the probability among in-hospital deaths (default 0.4, the issue's
        example beside ``fraction=0.1``).
    seed : int, default 0
        Seed of the removal; the same seed gives the same cohort.
    death_dates : float, optional
        Probability of blanking each recorded death date (completely at random); the
        patients keep ``vital_status`` ``"dead"`` (died, date unknown). By default none is.
        ``columns`` may then be empty.

    Returns
    -------
    AmputedCohort
        ``cohort`` with the values removed (its provenance gains ``"missingness"``: the
        mechanism, columns, fractions, seed and counts) and ``truth``, the cohort given.

    Raises
    ------
    ArgumentError
        For an unknown mechanism, a column that cannot be missing (named with the reason),
        a fraction outside [0, 1), ``fraction_outcome`` outside MNAR, or a bad seed.

    Examples
    --------
    >>> from dah_outcomes.synthetic.cohorts import generate_cohort
    >>> truth = generate_cohort(n_sle=3000, seed=1)
    >>> amputed = apply_missingness(truth, "mnar", columns=["cyclophosphamide"], seed=2)
    >>> amputed.truth is truth, amputed.cohort.episodes["cyclophosphamide"].isna().any()
    (True, np.True_)
    """
    if mechanism not in MECHANISMS:
        raise ArgumentError(f"mechanism must be one of {sorted(MECHANISMS)}, got {mechanism!r}")
    cols = _check_columns(columns, mechanism, death_dates)
    fraction = _check_fraction("fraction", fraction)
    if fraction_outcome is not None and mechanism != "mnar":
        raise ArgumentError("fraction_outcome applies to the 'mnar' mechanism only")
    if mechanism == "mnar":
        fraction_outcome = _check_fraction(
            "fraction_outcome", 0.4 if fraction_outcome is None else fraction_outcome
        )
    seed = _check_seed(seed)
    if death_dates is not None:
        death_dates = _check_fraction("death_dates", death_dates)
    truth = _as_cohort(cohort_or_tables)
    episodes = truth.episodes.copy()
    prob = _probability(episodes, mechanism, fraction, fraction_outcome)
    rng = np.random.default_rng(seed)
    n_missing, removed = {}, {}
    for c in cols:  # one draw per column in the order given: the same seed, the same holes
        hit = (rng.random(len(episodes)) < prob) & episodes[c].notna().to_numpy()
        n_missing[c] = int(hit.sum())
        if c in TREATMENT_FLAGS:
            removed[c] = episodes.loc[hit, ["patient_id", "episode_number"]]
        episodes.loc[hit, c] = pd.NA
    n_arms_removed = _remove_arms(episodes, removed)
    treatments = _remove_courses(truth.treatments, removed)
    n_courses_removed = len(truth.treatments) - len(treatments)
    patients, n_dates = truth.patients, 0
    if death_dates is not None:  # drawn after the columns: their holes stay those of the seed
        patients, n_dates = _blank_death_dates(truth, death_dates, rng)
    record: dict[str, Any] = {
        "mechanism": mechanism,
        "description": MECHANISMS[mechanism],
        "columns": list(cols),
        "fraction": fraction,
        "fraction_outcome": fraction_outcome,
        "seed": seed,
        "n_missing": n_missing,
        "n_courses_removed": n_courses_removed,
        "n_arms_removed": n_arms_removed,
        "truth_fingerprint": truth.fingerprint,
        **({"mar_odds_ratios": dict(MAR_ODDS_RATIOS)} if mechanism == "mar" else {}),
        **(
            {"death_dates": {"probability": death_dates, "n_removed": n_dates}}
            if death_dates is not None
            else {}
        ),
    }
    cohort = Cohort(
        patients,
        episodes,
        provenance={**dict(truth.provenance), "missingness": record},
        design=truth.design,
        allow_extra=truth.allow_extra,
        treatments=treatments,
    )
    return AmputedCohort(
        cohort=cohort,
        truth=truth,
        mechanism=mechanism,
        columns=cols,
        fraction=fraction,
        fraction_outcome=fraction_outcome,
        seed=seed,
        n_missing=MappingProxyType(n_missing),
        n_courses_removed=n_courses_removed,
        n_death_dates_removed=n_dates,
    )
