"""Multiple imputation of a cohort: ``m`` completed cohorts from chained equations.

What is imputed. The first (index) episode of each DAH patient, which decides the patient's
arm, the DAH-patient endpoints and the adjustment covariates: every nullable flag of the
episodes table (:data:`IMPUTABLE_COLUMNS`: treatment flags, ventilation, severity, infection,
nephritis...) and the haemoglobin drop, the one measurement that is not the amount of a
flag. Flags by logistic regression, the haemoglobin drop by predictive mean matching (see
:func:`~dah_outcomes.stats.imputation.impute_chained`). Amounts that go with a flag
(ventilation days, plasma-exchange sessions, the methylprednisolone dose) are not imputed:
they are defined only where their flag is true; when complete they are predictors.

What predicts. Every complete index-episode flag and number, the in-hospital death of the
episode, the onset date (as a decimal year: the era), and, for the time to death from the
first onset, the death indicator and the Nelson-Aalen cumulative hazard at each patient's
own time (White and Royston 2009). The outcomes must be in the imputation model, or the
imputed flags would be unrelated to them and every association diluted towards none.

What is deduced, not drawn. A missing flag whose amount is recorded above 0, or whose
treatment has a dated course in that episode, is true (the validation rules would refuse
anything else); these are filled before imputing and counted in ``n_deduced``.

Courses. A treatment flag imputed true has no dated course, so an analysis that places the
treatment in time (a landmark or time-varying treatment effect) would leave the patient out
as "timing unknown". Where the cohort records dated courses of that treatment, each such
patient gets one course whose start day (from onset) is drawn from the observed first
courses of that treatment that started no later than the patient's death or discharge (a
hot deck among the patients who could have been treated then), seeded; counted in
``n_courses_drawn``. Later episodes are left as recorded: they change only the
per-episode endpoints and the recurrence, neither of which reads their flags.

Arms are re-derived from the imputed flags in each completed cohort (the source's ``arm``
column, when it holds values, is kept as given: it does not read the flags).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning
from dah_outcomes.results import ResultMixin
from dah_outcomes.schema import EPISODE_COLUMNS, TREATMENT_FLAGS
from dah_outcomes.stats.imputation import ImputationResult, impute_chained, nelson_aalen_at_times

__all__ = ["IMPUTABLE_COLUMNS", "ImputedCohorts", "impute_cohort"]

#: Index-episode columns :func:`impute_cohort` imputes when they have missing values: the
#: nullable flags and the haemoglobin drop (amounts of a flag are left out: see the module).
IMPUTABLE_COLUMNS: tuple[str, ...] = (
    *(c.name for c in EPISODE_COLUMNS if c.kind == "bool" and c.nullable),
    "hemoglobin_drop",
)

# the amount recorded with a flag: above 0, the flag is true
_AMOUNTS = {
    "mechanical_ventilation": "ventilation_days",
    "plasmapheresis": "plasmapheresis_sessions",
    "methylprednisolone_pulse": "methylprednisolone_dose_mg",
}
_NUMBERS = tuple(c.name for c in EPISODE_COLUMNS if c.kind in ("int", "float"))
_KEY = ["patient_id", "episode_number"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImputedCohorts(ResultMixin):
    """``m`` completed cohorts of one cohort with missing index-episode values.

    Pass it to :func:`~dah_outcomes.analyses.outcome_rates.rates`,
    :func:`~dah_outcomes.analyses.survival.survival_by_group`,
    :func:`~dah_outcomes.analyses.hazard_ratios.hazard_ratios` or
    :func:`~dah_outcomes.analyses.treatment_effects.treatment_effect` in place of the cohort
    to analyse each completed cohort and pool by Rubin's rules.

    Attributes
    ----------
    cohorts : tuple of Cohort
        The completed cohorts (validated), one per imputation.
    source : Cohort
        The cohort with missing values they were completed from.
    columns : tuple of str
        The index-episode columns imputed.
    n_imputed : mapping of str to int
        Values imputed per column (drawn by the models; the deduced ones excluded).
    n_deduced : mapping of str to int
        Missing flags filled as true because their amount or a dated course says so.
    n_courses_drawn : mapping of str to int
        Courses added per treatment for the flags imputed true (per completed cohort, the
        mean over imputations).
    predictors : tuple of str
        The complete predictors of the imputation models.
    m, iterations, seed : int
        Imputations, cycles per imputation and the seed of every draw.
    delta : mapping of str to float
        MNAR offsets (empty under MAR).
    imputation : ImputationResult
        The chained-equation run on the per-patient frame.
    """

    cohorts: tuple[Cohort, ...] = field(repr=False)
    source: Cohort = field(repr=False)
    columns: tuple[str, ...]
    n_imputed: Mapping[str, int]
    n_deduced: Mapping[str, int]
    n_courses_drawn: Mapping[str, float]
    predictors: tuple[str, ...] = field(repr=False)
    m: int
    iterations: int
    seed: int
    delta: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    imputation: ImputationResult = field(repr=False)

    def __len__(self) -> int:
        return self.m

    def __iter__(self):
        return iter(self.cohorts)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the source cohort."""
        return self.source.fingerprint

    def to_frame(self) -> pd.DataFrame:
        """One row per imputed column: method, values imputed and deduced."""
        frame = self.imputation.to_frame()
        frame["n_imputed"] = [self.n_imputed.get(c, 0) for c in frame["column"]]
        frame["n_deduced"] = [self.n_deduced.get(c, 0) for c in frame["column"]]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Columns, counts and settings, JSON-safe (not the cohorts)."""
        return {
            "method": "multiple imputation by chained equations",
            "columns": list(self.columns),
            "methods": dict(self.imputation.methods),
            "n_imputed": dict(self.n_imputed),
            "n_deduced": dict(self.n_deduced),
            "n_courses_drawn": dict(self.n_courses_drawn),
            "predictors": list(self.predictors),
            "m": self.m,
            "iterations": self.iterations,
            "seed": self.seed,
            "delta": dict(self.delta),
            "fingerprint": self.fingerprint,
        }

    def _title(self) -> str:
        return f"Imputed cohorts: m = {self.m}, {sum(self.n_imputed.values()):,} values imputed"


def _index_frame(cohort: Cohort) -> pd.DataFrame:
    """The first episodes, one row per DAH patient, with the survival predictors."""
    e = cohort.episodes
    index = e[e["episode_number"] == 1].reset_index(drop=True)
    with warnings.catch_warnings():
        # the dead without a date are left out of the time to death (the analyses say so);
        # here they are dead (event 1) by the end of their follow-up
        warnings.simplefilter("ignore", DroppedRowsWarning)
        deaths = death_frame(cohort).set_index("patient_id").reindex(index["patient_id"])
    onset = index["onset_date"]
    time = deaths["time"].to_numpy(dtype=float)
    event = deaths["event"].to_numpy(dtype=float)
    known = np.isfinite(time)
    hazard = np.empty(len(index))
    hazard[known] = nelson_aalen_at_times(np.maximum(time[known], 0.0), event[known])
    if not known.all():
        ends = cohort.patients.set_index("patient_id")["followup_end"]
        end = (ends.reindex(index["patient_id"]).to_numpy() - onset.to_numpy()).astype(
            "timedelta64[D]"
        )
        order = np.argsort(time[known], kind="stable")
        hazard[~known] = np.interp(
            end[~known].astype(float), time[known][order], hazard[known][order]
        )
        event[~known] = 1.0
    return index.assign(
        _event=event,
        _nelson_aalen=hazard,
        _onset_year=(onset.dt.year + (onset.dt.day_of_year - 1) / 365.25).to_numpy(float),
        _time=time,
    )


def _deduce(index: pd.DataFrame, cohort: Cohort) -> tuple[pd.DataFrame, dict[str, int]]:
    """Missing flags that the amount or a dated course shows to be true, filled."""
    deduced: dict[str, int] = {}
    courses = cohort.treatments
    courses = courses[courses["episode_number"] == 1]
    for flag in [c for c in IMPUTABLE_COLUMNS if c in index and index[c].dtype == "boolean"]:
        missing = index[flag].isna().to_numpy()
        if not missing.any():
            continue
        shown = np.zeros(len(index), dtype=bool)
        amount = _AMOUNTS.get(flag)
        if amount in index:
            shown |= (index[amount].astype("Float64") > 0).fillna(False).to_numpy(dtype=bool)
        if flag in TREATMENT_FLAGS:
            treated = courses.loc[courses["treatment"] == flag, "patient_id"]
            shown |= index["patient_id"].isin(treated).to_numpy()
        fill = missing & shown
        if fill.any():
            index.loc[fill, flag] = True
            deduced[flag] = int(fill.sum())
    return index, deduced


def _choose_columns(index: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return [c for c in IMPUTABLE_COLUMNS if c in index and index[c].isna().any()]
    if isinstance(columns, str):
        raise ArgumentError("columns must be a list of episodes columns, not one string")
    allowed = set(IMPUTABLE_COLUMNS) | set(_NUMBERS) - {"episode_number"}
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise ArgumentError(
            f"columns {unknown} cannot be imputed; impute_cohort imputes index-episode "
            f"columns among {sorted(allowed)}"
        )
    absent = [c for c in columns if c not in index]
    if absent:
        raise ArgumentError(f"columns {absent} are not in the cohort's episodes table")
    return list(dict.fromkeys(columns))


def _model_frame(index: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Plain numpy-typed columns to impute and the complete predictors."""
    data: dict[str, Any] = {}
    preds: list[str] = []
    for c in [*IMPUTABLE_COLUMNS, *_NUMBERS, "in_hospital_death"]:
        if c not in index or c == "episode_number" or c in data:
            continue
        values = index[c].astype("Float64").to_numpy(float, na_value=np.nan)
        if c in cols:
            data[c] = values
        elif not np.isnan(values).any():
            data[c] = values
            preds.append(c)
    for c in ("_event", "_nelson_aalen", "_onset_year"):
        data[c] = index[c].to_numpy(dtype=float)
        preds.append(c)
    return pd.DataFrame(data), preds


def _draw_courses(
    completed: pd.DataFrame,
    index: pd.DataFrame,
    cohort: Cohort,
    imputed_true: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One course per flag imputed true, its start day drawn from the observed first
    courses of that treatment that started by the patient's death or discharge."""
    courses = cohort.treatments
    first = courses[courses["episode_number"] == 1]
    onset = index.set_index("patient_id")["onset_date"]
    discharge = (index["discharge_date"] - index["onset_date"]).dt.days.to_numpy(float)
    limit = np.fmin(index["_time"].to_numpy(float), discharge)  # fmin: NaN discharge ignored
    added, counts = [], {}
    for flag, rows in imputed_true.items():
        observed = first[first["treatment"] == flag]
        # a flag deduced from its own dated course has one already
        rows = rows & ~index["patient_id"].isin(observed["patient_id"]).to_numpy()
        if observed.empty or not rows.any():
            continue
        start = observed.groupby("patient_id")["start_date"].min()
        days = np.sort((start - onset.reindex(start.index)).dt.days.to_numpy(float))
        where = np.flatnonzero(rows)
        # an unknown limit (dead on an unrecorded date, no discharge date): any donor
        cap = np.floor(np.maximum(np.nan_to_num(limit[where], nan=np.inf), 0.0))
        eligible = np.searchsorted(days, cap, side="right")  # donors starting by the cap
        pick = np.floor(rng.random(len(where)) * np.maximum(eligible, 1)).astype(np.int64)
        drawn = np.where(eligible > 0, days[np.minimum(pick, len(days) - 1)], cap)
        added.append(
            pd.DataFrame(
                {
                    "patient_id": index["patient_id"].to_numpy()[where],
                    "episode_number": 1,
                    "treatment": flag,
                    "start_date": index["onset_date"].to_numpy()[where]
                    + pd.to_timedelta(drawn, unit="D").to_numpy(),
                }
            )
        )
        counts[flag] = len(where)
    if not added:
        return courses, counts
    return pd.concat([courses, *added], ignore_index=True), counts


def _completed_cohort(
    cohort: Cohort, index: pd.DataFrame, filled: pd.DataFrame, treatments: pd.DataFrame
) -> Cohort:
    e = cohort.episodes.copy()
    first = np.flatnonzero((e["episode_number"] == 1).to_numpy())
    # the index frame holds the first episodes in the episodes table's (canonical) order
    for c in filled.columns:
        values = filled[c].to_numpy(dtype=float)
        kind = e[c].dtype
        typed: Any = values
        if kind == "boolean":
            typed = values > 0.5
        elif pd.api.types.is_integer_dtype(kind):
            typed = np.round(values).astype(np.int64)
        typed = pd.Series(typed).astype(kind).to_numpy()
        column = e[c].copy()
        column.iloc[first] = typed
        e[c] = column
    provenance = {**dict(cohort.provenance), "imputed_from": cohort.fingerprint}
    return Cohort(
        cohort.patients,
        e,
        provenance,
        cohort.design,
        cohort.allow_extra,
        treatments=treatments,
    )


def impute_cohort(
    cohort: Cohort,
    *,
    m: int = 20,
    iterations: int = 10,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    delta: Mapping[str, float] | None = None,
) -> ImputedCohorts:
    """Impute the missing index-episode values of a cohort ``m`` times (chained equations).

    Parameters
    ----------
    cohort : Cohort
        A validated cohort with missing values in its first episodes.
    m : int, default 20
        Number of imputations (completed cohorts).
    iterations : int, default 10
        Cycles through the imputed columns per imputation.
    seed : int, default 0
        Seed of the imputations and of the course start days drawn; the same seed gives the
        same completed cohorts.
    columns : sequence of str, optional
        Index-episode columns to impute; by default every column of
        :data:`IMPUTABLE_COLUMNS` with a missing value.
    delta : mapping of str to float, optional
        MNAR offsets of the imputations (log odds of a flag, value of a number), for a
        sensitivity analysis (see :func:`~dah_outcomes.stats.imputation.impute_chained`).

    Returns
    -------
    ImputedCohorts

    Raises
    ------
    ArgumentError
        For a column that cannot be imputed, when nothing is missing, or for bad
        ``m``, ``iterations``, ``seed`` or ``delta``.
    EstimationError
        When a column to impute has fewer than 2 observed values.

    Examples
    --------
    >>> from dah_outcomes.synthetic.cohorts import generate_cohort
    >>> from dah_outcomes.synthetic.missingness import apply_missingness
    >>> amputed = apply_missingness(generate_cohort(n_sle=3000, seed=1), "mar", seed=2)
    >>> imputed = impute_cohort(amputed.cohort, m=3, iterations=2, seed=1)
    >>> len(imputed)  # later episodes keep their recorded values; first episodes are complete
    3
    """
    if not isinstance(cohort, Cohort):
        raise ArgumentError(f"cohort must be a Cohort, got {type(cohort).__name__}")
    index = _index_frame(cohort)
    # every flag missing in the source and true in a completed cohort gets a course,
    # whether deduced (a recorded amount) or drawn
    was_missing = {c: index[c].isna().to_numpy() for c in TREATMENT_FLAGS if c in index}
    index, deduced = _deduce(index, cohort)
    cols = _choose_columns(index, columns)
    if not cols or not any(index[c].isna().any() for c in cols):
        raise ArgumentError(
            "no missing value to impute in the first episodes"
            + ("" if columns is None else f" of {list(cols)}")
            + ": analyse the cohort itself (missing='complete-case' loses nothing)"
        )
    data, preds = _model_frame(index, cols)
    methods = {
        c: "logreg" if c in TREATMENT_FLAGS or index[c].dtype == "boolean" else "pmm" for c in cols
    }
    imputation = impute_chained(
        data,
        columns=cols,
        predictors=preds,
        m=m,
        iterations=iterations,
        seed=seed,
        methods=methods,
        delta=delta,
    )
    missing = {c: data[c].isna().to_numpy() for c in cols}
    # the course draws take a stream of their own, after the imputations' m streams
    course_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(imputation.m + 1)[-1])
    cohorts, drawn_total = [], dict.fromkeys(TREATMENT_FLAGS, 0)
    for completed in imputation:
        filled = completed[cols]
        imputed_true = {
            c: was_missing[c]
            & (filled[c].to_numpy() > 0.5 if c in cols else index[c].fillna(False).to_numpy())
            for c in was_missing
            if c in cols or deduced.get(c)
        }
        treatments, drawn = _draw_courses(completed, index, cohort, imputed_true, course_rng)
        for k, v in drawn.items():
            drawn_total[k] += v
        cohorts.append(_completed_cohort(cohort, index, filled, treatments))
    return ImputedCohorts(
        cohorts=tuple(cohorts),
        source=cohort,
        columns=tuple(cols),
        n_imputed=MappingProxyType({c: int(missing[c].sum()) for c in cols}),
        n_deduced=MappingProxyType(deduced),
        n_courses_drawn=MappingProxyType(
            {k: v / imputation.m for k, v in drawn_total.items() if v}
        ),
        predictors=tuple(p.lstrip("_") for p in preds),
        m=imputation.m,
        iterations=imputation.iterations,
        seed=imputation.seed,
        delta=imputation.delta,
        imputation=imputation,
    )
