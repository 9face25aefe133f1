"""The validated cohort: its tables, their provenance and a fingerprint. No statistics here."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError, ValidationError
from dah_outcomes.validation import empty_table, is_member, validate_tables
from dah_outcomes.vital_status import derive_vital_status

__all__ = ["Cohort", "cohort_fingerprint", "column_hashes"]

Design = Literal["population", "case_series"]


#: Canonical row order of the treatments table, as a :class:`Cohort` stores it.
_TREATMENT_ORDER = ["patient_id", "episode_number", "start_date", "treatment"]


def cohort_fingerprint(
    patients: pd.DataFrame, episodes: pd.DataFrame, treatments: pd.DataFrame | None = None
) -> str:
    """A sha256 fingerprint of the tables' content, names and dtypes.

    Rows are expected in canonical order (as a :class:`Cohort` stores them), so the same data
    always gives the same fingerprint whatever order it arrived in. The treatments table
    counts only when it has rows: a cohort without treatment courses keeps the fingerprint it
    had before the table existed (the committed example data record theirs).

    Parameters
    ----------
    patients, episodes : DataFrame
        The typed tables in canonical order.
    treatments : DataFrame, optional
        The typed treatment courses in canonical order; ignored when empty or None.

    Returns
    -------
    str
        The hex digest.
    """
    h = hashlib.sha256()
    tables = [("patients", patients), ("episodes", episodes)]
    if treatments is not None and len(treatments):
        tables.append(("treatments", treatments))
    for name, frame in tables:
        h.update(f"{name}:{len(frame)}".encode())
        for col in frame.columns:
            h.update(f"|{col}:{frame[col].dtype}".encode())
            h.update(np.ascontiguousarray(column_hashes(frame[col])).tobytes())
    return h.hexdigest()


def column_hashes(s: pd.Series) -> np.ndarray:
    """``pandas.util.hash_pandas_object(s, index=False)`` as an array, computed faster for
    sorted Arrow text.

    pandas hashes Arrow text by dictionary-encoding it and hashing each distinct value. For
    ten million distinct patient ids the encoding's hash table is most of a large import's
    cohort step (seconds); a cohort stores its ids sorted, so equal values sit side by side
    and their runs give the same distinct values without a hash table. Each row gets the hash
    of its value either way: the bytes, and so the fingerprint, are the same.

    Parameters
    ----------
    s : Series
        One column.

    Returns
    -------
    ndarray of uint64
        One hash per row.
    """
    runs = _sorted_runs(s)
    if runs is None:
        return pd.util.hash_pandas_object(s, index=False).to_numpy()
    text, starts, codes = runs
    uniques = text if codes is None else text.take(starts)
    # a slice at a time: ten million ids as Python strings at once would be the import's
    # peak memory
    hashed = np.concatenate(
        [
            pd.util.hash_array(
                uniques.slice(i, _HASH_SLICE).to_numpy(zero_copy_only=False), categorize=False
            )
            for i in range(0, len(uniques), _HASH_SLICE)
        ]
    )
    return hashed if codes is None else hashed[codes]


#: Distinct values converted to Python strings and hashed at a time.
_HASH_SLICE = 1 << 20


def _all_have_episodes(p: pd.DataFrame, e: pd.DataFrame) -> bool:
    """Whether every patient has an episode (a case series when the design is not given).

    Validated ids are unique and every episode's patient is known, so fewer distinct ids
    among the episodes than patients answers no without testing ten million ids for
    membership; otherwise each id is looked up.
    """
    ids = p["patient_id"]
    if len(e) < len(p):
        runs = _sorted_runs(ids)  # the patients are sorted by id: runs of one row are unique
        if runs is not None and runs[2] is None:
            return False
        if runs is None and ids.notna().all() and ids.is_unique:
            return False
    return bool(is_member(ids, e["patient_id"]).all())


def _sorted_runs(s: pd.Series) -> tuple[Any, np.ndarray, np.ndarray | None] | None:
    """For Arrow text without missing values in sorted order: the text (one Arrow array), the
    start of each run of equal values and each row's run (None when every run is one row);
    None for any other column."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow") or len(s) < 2:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.chunked_array(pa.array(s.array)).combine_chunks()
    if text.null_count:
        return None
    head, tail = text.slice(0, len(text) - 1), text.slice(1)
    if not pc.all(pc.less_equal(head, tail)).as_py():
        return None
    new = pc.not_equal(head, tail).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(new) + 1]).astype(np.int64)
    if len(starts) == len(text):
        return text, starts, None
    codes = np.concatenate([[0], np.cumsum(new, dtype=np.int64)])
    return text, starts, codes


class Cohort:
    """A validated cohort of patients and their DAH episodes.

    Constructing a ``Cohort`` validates both tables against the column contract
    (:mod:`dah_outcomes.schema`) and raises one
    :class:`~dah_outcomes.errors.ValidationError` listing every problem. The stored tables are
    typed copies in canonical order (patients by id, episodes by patient and number); the
    caller's frames are never modified.

    Parameters
    ----------
    patients : DataFrame
        One row per patient. For a population cohort every SLE patient (so incidence can be
        computed); for a case series the DAH patients only.
    episodes : DataFrame
        One row per DAH episode.
    provenance : mapping, optional
        Where the data came from (source, scenario, seed, mapping, package version...).
        Stored read-only.
    design : {"population", "case_series"}, optional
        Whether ``patients`` is a source population. By default a cohort with patients who
        never had DAH is a population, otherwise a case series.
    allow_extra : bool, default False
        Keep columns outside the contract instead of reporting them.
    treatments : DataFrame, optional
        One row per treatment course within an episode (treatment, start date, optional end
        date, dose or sessions), keyword only. A treatment flag true on an episode without a
        course is "timing unknown". By default the cohort has no courses.

    Attributes
    ----------
    patients, episodes, treatments : DataFrame
        The validated tables (treatments by patient, episode, start date and treatment; empty
        and typed when none were given). Each access returns a copy-on-write view, so editing
        it never changes the cohort behind its fingerprint.
    fingerprint : str
        sha256 of the tables' content; results carry it.

    Examples
    --------
    >>> import pandas as pd
    >>> patients = pd.DataFrame({"patient_id": ["A"], "followup_start": ["2010-01-01"],
    ...                          "followup_end": ["2012-01-01"]})
    >>> episodes = pd.DataFrame({"patient_id": ["A"], "episode_number": [1],
    ...                          "onset_date": ["2011-03-02"], "in_hospital_death": [False]})
    >>> Cohort(patients, episodes).n_patients
    1
    """

    __slots__ = (
        "_episodes",
        "_patients",
        "_treatments",
        "allow_extra",
        "design",
        "fingerprint",
        "provenance",
    )

    _patients: pd.DataFrame
    _episodes: pd.DataFrame
    _treatments: pd.DataFrame
    provenance: Mapping[str, Any]
    design: Design  # settled by _store when the cohort is built: never None afterwards
    allow_extra: bool
    fingerprint: str

    def __init__(
        self,
        patients: pd.DataFrame,
        episodes: pd.DataFrame,
        provenance: Mapping[str, Any] | None = None,
        design: Design | None = None,
        allow_extra: bool = False,
        *,
        treatments: pd.DataFrame | None = None,
    ) -> None:
        given = [("patients", patients), ("episodes", episodes)]
        if treatments is not None:
            given.append(("treatments", treatments))
        for name, table in given:
            if not isinstance(table, pd.DataFrame):
                raise ArgumentError(
                    f"{name} must be a pandas DataFrame, got {type(table).__name__}"
                )
        self._set("provenance", {} if provenance is None else provenance)
        self._set("design", design)
        self._set("allow_extra", allow_extra)
        checked = validate_tables(
            patients, episodes, treatments=treatments, allow_extra=allow_extra
        )
        if not checked.report.ok:
            raise ValidationError(checked.report)
        self._store([checked.patients, checked.episodes], checked.treatments)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    # FrozenInstanceError (an AttributeError) as a frozen dataclass raises
    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"a Cohort is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"a Cohort is read-only: cannot delete {name!r}")

    @property
    def patients(self) -> pd.DataFrame:
        """The patients table (a copy-on-write view: edits do not reach the cohort)."""
        return self._patients.copy(deep=False)

    @property
    def episodes(self) -> pd.DataFrame:
        """The episodes table (a copy-on-write view: edits do not reach the cohort)."""
        return self._episodes.copy(deep=False)

    @property
    def treatments(self) -> pd.DataFrame:
        """The treatment courses (a copy-on-write view: edits do not reach the cohort)."""
        return self._treatments.copy(deep=False)

    @property
    def vital_status(self) -> pd.Series:
        """Each patient's vital status at ``followup_end``, by ``patient_id``.

        The recorded ``vital_status`` where the source gave one; otherwise derived from the
        death date: dead with a date, ``"unknown"`` without (never silently alive; see
        :func:`~dah_outcomes.vital_status.derive_vital_status`).
        """
        status = derive_vital_status(self._patients)
        status.index = pd.Index(self._patients["patient_id"], name="patient_id")
        return status

    @classmethod
    def _from_validated(
        cls,
        tables: list[pd.DataFrame],
        *,
        provenance: Mapping[str, Any],
        design: Design | None,
        treatments: pd.DataFrame | None = None,
    ) -> Cohort:
        """A cohort from tables the caller has just typed and checked without a problem.

        Only for :func:`~dah_outcomes.io.importer.read_cohort`, which runs the same checks as
        :func:`~dah_outcomes.validation.validate_tables` (coercion, then the cross-row checks
        on exactly these rows): validating again would repeat the most expensive step of a
        large import for nothing. ``tables`` is ``[patients, episodes]``, typed, contract
        columns only; the list is emptied so that the unsorted tables can be freed as soon as
        their sorted copies exist (the peak memory of a large import). ``treatments``, typed
        and checked the same way, is optional (no courses by default).
        """
        self = object.__new__(cls)
        self._set("provenance", provenance)
        self._set("design", design)
        self._set("allow_extra", False)
        self._store(tables, treatments)
        return self

    def _store(self, tables: list[pd.DataFrame], treatments: pd.DataFrame | None = None) -> None:
        """Sort the typed ``[patients, episodes]`` and ``treatments`` into canonical order
        (emptying the list), settle the design, fingerprint."""
        p = tables.pop(0).sort_values("patient_id", kind="stable").reset_index(drop=True)
        e = (
            tables.pop(0)
            .sort_values(["patient_id", "episode_number"], kind="stable")
            .reset_index(drop=True)
        )
        design = self.design
        if design is None:
            design = "case_series" if _all_have_episodes(p, e) else "population"
        elif design not in ("population", "case_series"):
            raise ArgumentError(
                f"design must be one of ['case_series', 'population'], got {design!r}"
            )
        t = empty_table("treatments") if treatments is None else treatments
        t = t.sort_values(_TREATMENT_ORDER, kind="stable").reset_index(drop=True)
        self._set("_patients", p)
        self._set("_episodes", e)
        self._set("_treatments", t)
        self._set("design", design)
        self._set("provenance", MappingProxyType(dict(self.provenance)))
        self._set("fingerprint", cohort_fingerprint(p, e, t))

    @property
    def n_patients(self) -> int:
        """Number of patients (the source population for a population design)."""
        return len(self._patients)

    @property
    def n_episodes(self) -> int:
        """Number of DAH episodes."""
        return len(self._episodes)

    @property
    def n_dah_patients(self) -> int:
        """Number of patients with at least one DAH episode."""
        return int(self._episodes["patient_id"].nunique())

    @property
    def n_treatments(self) -> int:
        """Number of treatment courses (rows of the treatments table)."""
        return len(self._treatments)

    def describe(self) -> dict[str, Any]:
        """Counts (treatment courses too), design, fingerprint and provenance, JSON-safe."""
        from dah_outcomes.results import json_safe

        return {
            "design": self.design,
            "n_patients": self.n_patients,
            "n_dah_patients": self.n_dah_patients,
            "n_episodes": self.n_episodes,
            "n_treatments": self.n_treatments,
            "fingerprint": self.fingerprint,
            "provenance": json_safe(dict(self.provenance)),
        }

    def __repr__(self) -> str:
        return (
            f"Cohort(design={self.design!r}, n_patients={self.n_patients}, "
            f"n_dah_patients={self.n_dah_patients}, n_episodes={self.n_episodes}, "
            f"n_treatments={self.n_treatments}, fingerprint={self.fingerprint[:12]!r})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.describe().items()
            if k != "provenance"
        )
        return f"<div><strong>Cohort</strong><table>{rows}</table></div>"
