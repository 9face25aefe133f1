"""Collect-all validation of the cohort tables against the column contract.

Nothing is raised while checking: every problem (table, row, patient id, column, value, rule,
hint) is gathered into a :class:`ValidationReport`; the caller (``Cohort``) raises one
:class:`~dah_outcomes.errors.ValidationError` listing them all. Checks are vectorised, so a
million-patient cohort validates in seconds. Rows are identified by the input frame's index
label, so importers can index by source row number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.results import ResultMixin
from dah_outcomes.schema import TABLES, TREATMENT_FLAGS, Column
from dah_outcomes.validation.dates import parse_iso_dates
from dah_outcomes.validation.ids import PatientCodes, is_arrow_text
from dah_outcomes.vital_status import (
    VITAL_STATUS_RULES,
    Problem,
    episode_problems,
    patient_problems,
)

__all__ = [
    "RULES",
    "ValidatedTables",
    "ValidationReport",
    "check_tables",
    "coerce_table",
    "coerce_tables",
    "empty_table",
    "is_member",
    "validate_tables",
]

#: Reason codes and the fix each suggests.
RULES: dict[str, str] = {
    "missing_column": "add the column (see `dah-outcomes schema`) or map a source column to it",
    "unknown_column": "rename it to a contract column, drop it, or pass allow_extra=True",
    "type": "correct the value to the column's type (dates as YYYY-MM-DD, flags as true/false)",
    "missing_value": "fill the value; this column may not be empty",
    "not_allowed": "use one of the allowed values listed in the schema",
    "out_of_range": "check the unit and the value; it lies outside the plausible range",
    "duplicate_id": "each identifier may appear once: remove or renumber the duplicates",
    "unknown_patient": "add the patient to the patients table or correct the patient_id",
    "followup_end_before_start": "followup_end must be on or after followup_start",
    "death_before_followup_start": "death_date must be on or after followup_start",
    "followup_after_death": "followup_end must equal death_date when the patient died",
    "diagnosis_before_birth": "sle_diagnosis_date must be after birth_date",
    "discharge_before_onset": "discharge_date must be on or after onset_date",
    "onset_outside_followup": "onset_date must lie within the patient's follow-up",
    "death_before_onset": "the patient's death_date is before this episode's onset_date",
    "in_hospital_death_without_death_date": "record death_date (or vital_status dead if unknown)",
    "death_outside_episode": (
        "in_hospital_death is true but death_date is not between onset_date and discharge_date"
    ),
    "episode_after_fatal_episode": "no episode can follow an episode ending in death",
    "episode_numbering": "number each patient's episodes 1, 2, 3... without gaps",
    "onset_not_increasing": "later episodes must start after earlier ones",
    "inconsistent_flags": "a count or dose is recorded while its flag is false: fix one of them",
    "unknown_episode": (
        "no episode has this patient_id and episode_number: add the episode or correct them"
    ),
    "start_before_onset": "a course starts on or after its episode's onset_date",
    "start_after_death": "a course cannot start after the patient's death_date",
    "start_after_discharge": (
        "a course starts within its episode's admission: on or before discharge_date"
    ),
    "end_before_start": "end_date must be on or after start_date",
    "sessions_exceed_days": (
        "sessions cannot exceed the days from start_date to the earlier of discharge and "
        "death, plus one: check the count and the dates"
    ),
    "treatment_flag_false": (
        "the episode's flag for this treatment is false: set the flag true or drop the course"
    ),
    "duplicate_course": (
        "a course (patient_id, episode_number, treatment, start_date) may appear once: "
        "remove the duplicate"
    ),
}
_HINTS = {**RULES, **VITAL_STATUS_RULES}

_PROBLEM_COLUMNS = ["table", "row", "patient_id", "column", "value", "rule", "hint"]

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport(ResultMixin):
    """Every problem found in a cohort, one row per problem.

    Attributes
    ----------
    problems : DataFrame
        Columns ``table, row, patient_id, column, value, rule, hint``; ``rule`` is a key of
        :data:`RULES`.
    n_rows : dict
        Rows checked per table.
    """

    problems: pd.DataFrame = field(repr=False)
    n_rows: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.problems.empty

    def to_frame(self) -> pd.DataFrame:
        """The problems table (a copy)."""
        return self.problems.copy()

    def to_dict(self) -> dict:
        """Counts and the problems as records (JSON-safe)."""
        from dah_outcomes.results import json_safe

        return {
            "ok": self.ok,
            "n_rows": dict(self.n_rows),
            "n_problems": len(self.problems),
            "problems": json_safe(self.problems),
        }

    def summary(self, limit: int = 20) -> str:
        """A message listing the counts per rule and the first ``limit`` problems."""
        if self.ok:
            return "cohort is valid: " + ", ".join(f"{n} {t}" for t, n in self.n_rows.items())
        p = self.problems
        counts = p.groupby(["table", "rule"], sort=True).size()
        lines = [f"cohort is invalid: {len(p)} problem(s) found"]
        lines += [f"  {t}.{r}: {n}" for (t, r), n in zip(counts.index, counts, strict=True)]
        lines.append("first problems:")
        for rec in p.head(limit).itertuples(index=False):
            # the fields are str / int / None, but the stubs type them as any scalar (bytes too):
            # !s prints them exactly as before and tells mypy that str() is meant
            where = f"{rec.table} row {rec.row!s}" if rec.row is not None else str(rec.table)
            who = f" (patient {rec.patient_id!s})" if rec.patient_id is not None else ""
            val = "" if rec.value is None else f" value {rec.value!r}"
            lines.append(f"  - {where}{who}, column {rec.column!r}:{val} [{rec.rule}] {rec.hint}")
        if len(p) > limit:
            lines.append(f"  ... and {len(p) - limit} more (see the error's .problems table)")
        return "\n".join(lines)


class ValidatedTables(tuple[pd.DataFrame, pd.DataFrame, ValidationReport]):
    """What :func:`validate_tables` returns: the typed tables and the report.

    It unpacks as ``patients, episodes, report`` (the shape callers written before the
    treatments table use); the attributes ``patients``, ``episodes``, ``treatments`` and
    ``report`` name everything.
    """

    treatments: pd.DataFrame

    def __new__(
        cls,
        patients: pd.DataFrame,
        episodes: pd.DataFrame,
        treatments: pd.DataFrame,
        report: ValidationReport,
    ) -> ValidatedTables:
        self = super().__new__(cls, (patients, episodes, report))
        self.treatments = treatments
        return self

    @property
    def patients(self) -> pd.DataFrame:
        """The typed patients table."""
        return self[0]

    @property
    def episodes(self) -> pd.DataFrame:
        """The typed episodes table."""
        return self[1]

    @property
    def report(self) -> ValidationReport:
        """Every problem found."""
        return self[2]


class _Collector:
    """Accumulates problem rows as column arrays (cheap even for millions of problems).

    Each ``add`` call is numbered, whether or not it finds a problem, so that problems found
    chunk by chunk can be put back in the order one pass over the whole table gives (see
    :func:`coerce_tables`).
    """

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.calls: list[int] = []
        self.n_calls = 0

    def add(
        self,
        table: str,
        frame: pd.DataFrame,
        mask: np.ndarray | pd.Series,
        column: str,
        rule: str,
        values: pd.Series | None = None,
        hint: str | None = None,
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        self.n_calls += 1
        if not mask.any():
            return
        self.calls.append(self.n_calls)
        sub = frame.loc[mask]
        vals = values[mask] if values is not None else sub.get(column)
        pid = sub["patient_id"] if "patient_id" in sub else pd.Series(None, index=sub.index)
        self.parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "row": sub.index.to_numpy(dtype=object),
                    "patient_id": pid.to_numpy(dtype=object),
                    "column": column,
                    "value": _display(vals),
                    "rule": rule,
                    "hint": _HINTS[rule] if hint is None else hint,
                }
            )
        )

    def add_problems(self, table: str, frame: pd.DataFrame, problems: list[Problem]) -> None:
        for p in problems:
            self.add(table, frame, p.mask, p.column, p.rule, values=p.values)

    def add_table(self, table: str, column: str, rule: str, value: object = None) -> None:
        self.n_calls += 1
        self.calls.append(self.n_calls)
        self.parts.append(
            pd.DataFrame(
                [
                    {
                        "table": table,
                        "row": None,
                        "patient_id": None,
                        "column": column,
                        "value": value,
                        "rule": rule,
                        "hint": RULES[rule],
                    }
                ]
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in _PROBLEM_COLUMNS})
        out = pd.concat(self.parts, ignore_index=True)[_PROBLEM_COLUMNS].astype(object)
        return out.where(out.notna(), None)

    def call_numbers(self) -> np.ndarray:
        """The ``add`` call number of each row of :meth:`frame`."""
        return np.repeat(np.asarray(self.calls, dtype=np.int64), [len(part) for part in self.parts])


def _display(values: pd.Series | None) -> np.ndarray | None:
    """Values as the user would write them (dates as YYYY-MM-DD, not Timestamps)."""
    if values is None:
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(object).to_numpy()
    return values.astype(object).to_numpy()


def _coerce_column(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Convert ``s`` to the column's dtype; return it and a mask of unconvertible values."""
    present = s.notna().to_numpy()
    out: pd.Series  # one name for the converted column, whatever its dtype
    if col.kind in ("string", "category"):
        out = s.astype("string").str.strip()
        return out, np.zeros(len(s), dtype=bool)
    if col.kind == "date":
        # The contract's dates are ISO 8601 (YYYY-MM-DD): an ambiguous 12/03/1975 is a type
        # problem here; importers convert declared source formats before this.
        out = s if pd.api.types.is_datetime64_any_dtype(s) else parse_iso_dates(s)
        out = out.astype("datetime64[s]")
        return out, present & out.isna().to_numpy()
    if col.kind == "bool":
        # flags an importer has translated are True/False objects: no text round trip
        if pd.api.types.is_bool_dtype(s) or (
            s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "boolean"
        ):
            return s.astype("boolean"), np.zeros(len(s), dtype=bool)
        text = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
        out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
        return out, present & out.isna().to_numpy()
    num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
    bad = present & pd.isna(num).to_numpy()
    if col.kind == "int":
        as_float = np.asarray(num.astype("Float64").fillna(0.0), dtype=float)
        # non-whole values, and integers beyond 2**53 that floats cannot hold exactly
        with np.errstate(invalid="ignore"):  # inf % 1 is nan: caught by the bound below
            frac = num.notna().to_numpy() & ((as_float % 1 != 0) | ~(np.abs(as_float) < 2.0**53))
        num = num.where(~frac)
        bad |= frac
        return num.astype("Float64").astype("Int64"), bad
    return num.astype("Float64"), bad


def coerce_table(
    frame: pd.DataFrame,
    table: str,
    *,
    allow_extra: bool = False,
    collector: _Collector | None = None,
) -> tuple[pd.DataFrame, _Collector]:
    """Coerce ``frame`` to the contract of ``table``, recording column-level problems.

    Returns the typed frame (contract columns in contract order, extra columns after them when
    ``allow_extra``) and the collector holding the problems found.
    """
    c = collector or _Collector()
    columns = TABLES[table]
    known = {col.name for col in columns}
    for name in frame.columns:
        if name not in known and not allow_extra:
            c.add_table(table, str(name), "unknown_column")
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        if col.name not in frame.columns:
            if col.required:
                c.add_table(table, col.name, "missing_column")
            continue
        raw = frame[col.name]
        typed, bad = _coerce_column(raw, col)
        c.add(table, frame, bad, col.name, "type", values=raw)
        if not col.nullable:
            c.add(table, frame, (typed.isna().to_numpy() & ~bad), col.name, "missing_value")
        if col.allowed is not None:
            outside = typed.notna().to_numpy() & ~typed.isin(col.allowed).to_numpy(dtype=bool)
            # a vital status is spelt in many ways: its hint names the contract's words
            hint = f"use one of {', '.join(col.allowed)}" if col.name == "vital_status" else None
            c.add(table, frame, outside, col.name, "not_allowed", values=raw, hint=hint)
        if col.minimum is not None or col.maximum is not None:
            v = typed.astype("Float64")
            beyond = ((v < col.minimum) if col.minimum is not None else False) | (
                (v > col.maximum) if col.maximum is not None else False
            )
            c.add(
                table,
                frame,
                pd.Series(beyond).fillna(False).to_numpy(dtype=bool),
                col.name,
                "out_of_range",
                values=raw,
            )
        out[col.name] = typed
    if allow_extra:
        for name in frame.columns:
            if name not in known:
                out[name] = frame[name]
    return out, c


def is_member(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """``values.isin(pool)`` as a boolean array, fast for millions of string ids.

    pandas' ``isin`` on Arrow-backed strings loops in Python; a hash index does not, and
    Arrow's own ``is_in`` does not even convert the strings to Python objects.
    """
    if is_arrow_text(values) and is_arrow_text(pool):
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.is_in(
            pa.array(values.array), value_set=pc.unique(pa.array(pool.array).drop_null())
        )
        return found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    index = pd.Index(pool.dropna().to_numpy(dtype=object)).unique()
    return index.get_indexer(values.to_numpy(dtype=object)) >= 0


def _before(a: pd.Series, b: pd.Series) -> np.ndarray:
    """a < b where both are present."""
    return (a < b).fillna(False).to_numpy(dtype=bool)


def _check_patients(p: pd.DataFrame, c: _Collector, ids: PatientCodes | None = None) -> None:
    if "patient_id" in p:
        dup = (
            ids.duplicated_patients()
            if ids is not None
            else p["patient_id"].duplicated(keep=False).to_numpy()
        )
        c.add("patients", p, dup & p["patient_id"].notna().to_numpy(), "patient_id", "duplicate_id")
    has = set(p.columns)
    if {"followup_start", "followup_end"} <= has:
        c.add(
            "patients",
            p,
            _before(p["followup_end"], p["followup_start"]),
            "followup_end",
            "followup_end_before_start",
        )
    if {"followup_start", "death_date"} <= has:
        c.add(
            "patients",
            p,
            _before(p["death_date"], p["followup_start"]),
            "death_date",
            "death_before_followup_start",
        )
    if {"followup_end", "death_date"} <= has:
        c.add(
            "patients",
            p,
            _before(p["death_date"], p["followup_end"]),
            "followup_end",
            "followup_after_death",
        )
    if {"birth_date", "sle_diagnosis_date"} <= has:
        c.add(
            "patients",
            p,
            _before(p["sle_diagnosis_date"], p["birth_date"]),
            "sle_diagnosis_date",
            "diagnosis_before_birth",
        )
    c.add_problems("patients", p, patient_problems(p))


def _check_episodes(
    e: pd.DataFrame, p: pd.DataFrame, c: _Collector, ids: PatientCodes | None = None
) -> None:
    _check_episode_rows(e, c)
    if "patient_id" in e and "patient_id" in p:
        _check_episodes_against_patients(e, p, c, ids)


def _check_episode_rows(e: pd.DataFrame, c: _Collector) -> None:
    """The episodes table's own rules: ids, numbering, dates in order, flags and amounts."""
    t = "episodes"
    has = set(e.columns)
    if {"patient_id", "episode_number"} <= has:
        key = e[["patient_id", "episode_number"]]
        c.add(
            t,
            e,
            key.duplicated(keep=False).to_numpy() & key.notna().all(axis=1).to_numpy(),
            "episode_number",
            "duplicate_id",
        )
        # numbering 1..k: the rank of each episode number within the patient equals the number
        rank = e.groupby("patient_id", sort=False)["episode_number"].rank(method="first")
        c.add(
            t,
            e,
            (rank != e["episode_number"]).fillna(False).to_numpy(dtype=bool),
            "episode_number",
            "episode_numbering",
        )
    if {"discharge_date", "onset_date"} <= has:
        c.add(
            t,
            e,
            _before(e["discharge_date"], e["onset_date"]),
            "discharge_date",
            "discharge_before_onset",
        )
    if {"patient_id", "episode_number", "onset_date"} <= has:
        ordered = e.sort_values(["patient_id", "episode_number"], kind="stable")
        prev = ordered.groupby("patient_id", sort=False)["onset_date"].shift()
        bad = pd.Series(
            _before(ordered["onset_date"], prev)
            | (ordered["onset_date"] == prev).fillna(False).to_numpy(dtype=bool),
            index=ordered.index,
        )
        c.add(t, e, bad.reindex(e.index).to_numpy(), "onset_date", "onset_not_increasing")
    for flag, amount in (
        ("mechanical_ventilation", "ventilation_days"),
        ("plasmapheresis", "plasmapheresis_sessions"),
        ("methylprednisolone_pulse", "methylprednisolone_dose_mg"),
    ):
        if {flag, amount} <= has:
            bad = ((e[amount] > 0) & (e[flag] == False)).fillna(False)  # noqa: E712
            c.add(t, e, bad.to_numpy(dtype=bool), amount, "inconsistent_flags")


def _check_episodes_against_patients(
    e: pd.DataFrame, p: pd.DataFrame, c: _Collector, ids: PatientCodes | None
) -> None:
    """Rules joining each episode to its patient: known patient, onset within follow-up,
    death dates consistent with in-hospital death."""
    t = "episodes"
    has = set(e.columns)
    pcols = [x for x in ("followup_start", "followup_end", "death_date", "vital_status") if x in p]
    if ids is not None:
        # the patient's first row, found by integer code (a missing id matches a missing id,
        # as the string join does)
        row = ids.patient_row()
        known = np.zeros(len(e), dtype=bool)
        if len(p):
            known = p["patient_id"].notna().to_numpy()[np.maximum(row, 0)] & (row >= 0)
        j = p[pcols].reset_index(drop=True).reindex(row)
    else:
        known = is_member(e["patient_id"], p["patient_id"])
        first = p.drop_duplicates("patient_id").set_index("patient_id")[pcols]
        j = first.reindex(e["patient_id"].to_numpy())
    c.add(t, e, ~known & e["patient_id"].notna().to_numpy(), "patient_id", "unknown_patient")
    j.index = e.index
    onset = e["onset_date"] if "onset_date" in has else None
    if onset is not None:
        outside = np.zeros(len(e), dtype=bool)
        if "followup_start" in j:
            outside |= _before(onset, j["followup_start"])
        if "followup_end" in j:
            outside |= _before(j["followup_end"], onset)
        c.add(t, e, outside, "onset_date", "onset_outside_followup")
        if "death_date" in j:
            c.add(
                t,
                e,
                _before(j["death_date"], onset),
                "onset_date",
                "death_before_onset",
                values=onset,
            )
    if "in_hospital_death" in has and "death_date" in j:
        died = e["in_hospital_death"].fillna(False).to_numpy(dtype=bool)
        status = j["vital_status"] if "vital_status" in j else pd.Series(pd.NA, index=e.index)
        problems, needs_date = episode_problems(e, status, j["death_date"])
        c.add(t, e, needs_date, "in_hospital_death", "in_hospital_death_without_death_date")
        c.add_problems(t, e, problems)
        if {"discharge_date", "onset_date"} <= has:
            outside = _before(j["death_date"], e["onset_date"]) | _before(
                e["discharge_date"], j["death_date"]
            )
            c.add(
                t,
                e,
                died & outside,
                "in_hospital_death",
                "death_outside_episode",
                values=j["death_date"],
            )
        if "episode_number" in has:
            fatal = e.loc[died].groupby("patient_id")["episode_number"].min()
            fatal_no = e["patient_id"].map(fatal)
            c.add(
                t,
                e,
                (e["episode_number"] > fatal_no).fillna(False).to_numpy(dtype=bool),
                "episode_number",
                "episode_after_fatal_episode",
            )


def _check_treatments(t: pd.DataFrame, e: pd.DataFrame, p: pd.DataFrame, c: _Collector) -> None:
    """The treatments table's rules: each course joined to its episode and its patient."""
    tb, has = "treatments", set(t.columns)
    key = ["patient_id", "episode_number"]
    if not set(key) <= has or not set(key) <= set(e.columns):
        return
    ecols = [x for x in ("onset_date", "discharge_date", *TREATMENT_FLAGS) if x in e]
    first = e.drop_duplicates(key).set_index(key)[ecols]
    where = pd.MultiIndex.from_frame(t[key].astype(object))
    j = first.reindex(where)
    j.index = t.index
    known = first.index.get_indexer(where) >= 0
    c.add(
        tb, t, ~known & t[key].notna().all(axis=1).to_numpy(), "episode_number", "unknown_episode"
    )
    if "patient_id" in p and "death_date" in p:
        death = p.drop_duplicates("patient_id").set_index("patient_id")["death_date"]
        j["death_date"] = death.reindex(t["patient_id"].to_numpy()).to_numpy()
    start = t["start_date"] if "start_date" in has else None
    if start is not None:
        for col, rule, late in (
            ("onset_date", "start_before_onset", False),
            ("death_date", "start_after_death", True),
            ("discharge_date", "start_after_discharge", True),
        ):
            if col in j:
                bad = _before(j[col], start) if late else _before(start, j[col])
                c.add(tb, t, bad, "start_date", rule)
        if "end_date" in has:
            c.add(tb, t, _before(t["end_date"], start), "end_date", "end_before_start")
        limits = [j[x] for x in ("death_date", "discharge_date") if x in j]
        if "sessions" in has and limits:
            limit = pd.concat(limits, axis=1).min(axis=1)  # the earlier of the known ones
            days = (limit - start).dt.days + 1
            too_many = (t["sessions"].astype("Float64") > days).fillna(False)
            c.add(tb, t, too_many.to_numpy(dtype=bool), "sessions", "sessions_exceed_days")
    if "treatment" in has:
        off = np.zeros(len(t), dtype=bool)
        for flag in TREATMENT_FLAGS:
            if flag in j:  # an absent or missing flag is fine; an explicit False is not
                given = (t["treatment"] == flag).fillna(False).to_numpy(dtype=bool)
                off |= given & (j[flag] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        c.add(tb, t, off, "treatment", "treatment_flag_false")
        if "start_date" in has:
            course = t[[*key, "treatment", "start_date"]]
            dup = course.duplicated(keep=False).to_numpy() & course.notna().all(axis=1).to_numpy()
            c.add(tb, t, dup, "start_date", "duplicate_course")


def empty_table(table: str) -> pd.DataFrame:
    """An empty table with the contract's columns and dtypes, as validation types them.

    Parameters
    ----------
    table : {"patients", "episodes", "treatments"}
        The table of the contract.

    Returns
    -------
    DataFrame
        No rows; the contract columns in order, each of its column's dtype.
    """
    names = [col.name for col in TABLES[table]]
    return coerce_table(pd.DataFrame({n: pd.Series(dtype=object) for n in names}), table)[0]


def coerce_tables(
    patients: pd.DataFrame, episodes: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Coerce both tables and collect the problems that concern one row (or one column) only.

    The coercion and its checks (type, missing value, allowed values, range) look at each row
    on its own, so the tables may be coerced in chunks of rows: the typed chunks concatenated
    equal the typed whole, and the problems sorted stably by the returned ``order`` come out
    as :func:`validate_tables` lists them. The cross-row checks are :func:`check_tables`.

    Parameters
    ----------
    patients, episodes : DataFrame
        Raw contract tables (or chunks of them), indexed by source row. Not modified.

    Returns
    -------
    patients, episodes : DataFrame
        Typed copies.
    problems : DataFrame
        Columns ``table, row, patient_id, column, value, rule, hint``.
    order : ndarray of int
        Sort key of each problem (table, then the check that found it).
    """
    cp, ce = _Collector(), _Collector()
    p, _ = coerce_table(patients, "patients", collector=cp)
    e, _ = coerce_table(episodes, "episodes", collector=ce)
    # the patients' checks come first; a table has far fewer than 10**6 column checks
    order = np.concatenate([cp.call_numbers(), 10**6 + ce.call_numbers()])
    problems = pd.concat([cp.frame(), ce.frame()], ignore_index=True)
    return p, e, problems, order


def check_tables(patients: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """The cross-row checks (identifiers, dates across tables, episode order) on typed tables.

    Parameters
    ----------
    patients, episodes : DataFrame
        Typed tables, as :func:`coerce_tables` returns them.

    Returns
    -------
    DataFrame
        The problems found, columns ``table, row, patient_id, column, value, rule, hint``.
    """
    c = _Collector()
    ids = PatientCodes.of(patients, episodes)
    _check_patients(patients, c, ids)
    _check_episodes(episodes, patients, c, ids)
    return c.frame()


def validate_tables(
    patients: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    treatments: pd.DataFrame | None = None,
    allow_extra: bool = False,
) -> ValidatedTables:
    """Coerce and check the tables; collect every problem.

    Parameters
    ----------
    patients, episodes : DataFrame
        The raw tables. They are not modified.
    treatments : DataFrame, optional
        The raw treatment courses (one row per course within an episode). Not modified.
    allow_extra : bool, default False
        Keep columns outside the contract instead of reporting them as ``unknown_column``.

    Returns
    -------
    ValidatedTables
        Unpacks as ``patients, episodes, report``: typed copies (contract dtypes) and every
        problem found (``report.ok`` when there is none). Its ``treatments`` attribute is the
        typed treatments table (empty, typed, when none was given); ``report.n_rows`` counts
        the treatments only when they were given.
    """
    c = _Collector()
    p, _ = coerce_table(patients, "patients", allow_extra=allow_extra, collector=c)
    e, _ = coerce_table(episodes, "episodes", allow_extra=allow_extra, collector=c)
    n_rows = {"patients": len(patients), "episodes": len(episodes)}
    if treatments is None:
        t = empty_table("treatments")
    else:
        t, _ = coerce_table(treatments, "treatments", allow_extra=allow_extra, collector=c)
        n_rows["treatments"] = len(treatments)
    ids = PatientCodes.of(p, e)
    _check_patients(p, c, ids)
    _check_episodes(e, p, c, ids)
    _check_treatments(t, e, p, c)
    return ValidatedTables(p, e, t, ValidationReport(problems=c.frame(), n_rows=n_rows))


def rules_table(rules: Iterable[str] = RULES) -> pd.DataFrame:
    """The reason codes and their hints as a DataFrame (for documentation).

    Parameters
    ----------
    rules : iterable of str, default every rule
        Keys of :data:`RULES`, the treatments table's rules included.

    Returns
    -------
    DataFrame
        Columns ``rule`` and ``hint``, one row per rule.
    """
    return pd.DataFrame({"rule": list(rules), "hint": [RULES[r] for r in rules]})
