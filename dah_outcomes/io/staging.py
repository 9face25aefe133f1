"""The validation half of an import: type the contract tables once, then accept or reject rows.

An import used to validate the raw tables again on every quarantine round and once more when
building the :class:`~dah_outcomes.cohort.Cohort`. Here the work is split along what each
check looks at:

* coercion and its single-row checks (type, missing value, allowed values, range) run once,
  possibly chunk by chunk (:class:`Stager`), since removing other rows cannot change them;
* the cross-row checks (duplicate identifiers, episodes against their patient, episode order,
  treatment courses against their episode and patient) run on the typed rows still accepted,
  once per quarantine round (usually one or two).

The problems found, their order and the typed tables are those
:func:`~dah_outcomes.validation.validate_tables` gives on the accepted raw rows, so the
cohort is built from the typed tables without validating a third time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError, ValidationError
from dah_outcomes.io.derivations import derive_fields
from dah_outcomes.schema import TABLES
from dah_outcomes.validation import (
    ValidationReport,
    check_tables,
    coerce_table,
    coerce_tables,
    empty_table,
    validate_tables,
)

__all__ = [
    "EXTRA_RULES",
    "PROBLEM_COLUMNS",
    "Ledger",
    "Prepared",
    "Staged",
    "Stager",
    "check_courses",
    "explain",
    "problem_frame",
    "resolve",
]

PROBLEM_COLUMNS = ["file", "table", "row", "patient_id", "column", "value", "rule", "hint"]
EXTRA_RULES: dict[str, str] = {
    "ragged_row": "the row has the wrong number of fields: check quoting and delimiters",
    "bad_record": "the record could not be parsed",
    "source_column_missing": "the mapping names a source column the file lacks: fix the "
    "mapping or the file",
    "patient_rejected": "rejected because its patient's row was rejected",
    "episode_rejected": "rejected because its episode's row was rejected",
    "episodes_rejected": "rejected because every DAH episode row of the patient was rejected: "
    "kept, the patient would count as one without DAH",
    "row_group_rejected": "rejected with the other rows of the same patient or subject",
    "inconsistent_patient_value": "a patient-level column differs between rows of the same "
    "patient: make them agree",
    "no_row_accepted": "every source row was rejected (the reasons follow): check the mapping "
    "(layout, column names, formats) against the file",
}
TABLE_NAMES = ("patients", "episodes", "treatments")
#: The cross-row rules of the treatments table (those of single rows are found when typing).
COURSE_RULES = (
    "unknown_episode",
    "start_before_onset",
    "start_after_death",
    "start_after_discharge",
    "end_before_start",
    "sessions_exceed_days",
    "treatment_flag_false",
    "duplicate_course",
)
_COURSE_KEY = ["patient_id", "episode_number"]


#: What a rejected value most likely is, tested in order: (pattern, kinds, hint).
_LIKELY: tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...] = (
    (
        re.compile(r".* \(decimal '(.)' declared\)$"),
        ("int", "float", "date"),
        "the mapping declares this decimal mark but the value uses another (or a thousands "
        "separator): correct the value, or set decimal/thousands in the mapping",
    ),
    (
        re.compile(r".* \(thousands separator .* not in groups of three\)$"),
        ("int", "float"),
        "the thousands separator is not followed by groups of three digits: correct the value",
    ),
    (
        re.compile(r".* \(partial date\)$"),
        ("date",),
        "a partial date (a year or a year-month): give the whole date, or declare "
        'partial_dates = "first" or "middle" in the mapping',
    ),
    (
        re.compile(r".* \(time of day\)$"),
        ("date",),
        'a date with a time of day: give the date alone, or declare time_of_day = "date"',
    ),
    (
        re.compile(r".* \(not (.+)\)$"),
        ("date",),
        "the value does not follow the date format the mapping declares: correct the value "
        "or the format",
    ),
    (
        re.compile(r"^[+-]?\d{1,3}([,.' \u00a0\u202f])\d{3}(\1\d{3})*([.,]\d+)?$"),
        ("int", "float"),
        "a number with a thousands separator: remove it, or declare it in the mapping "
        '(thousands = ",")',
    ),
    (
        re.compile(r"^[+-]?\d+,\d+$"),
        ("int", "float"),
        'a decimal comma: declare decimal = "," in the mapping',
    ),
    (
        re.compile(
            r"^(n/?a|n\.a\.|nd|n\.d\.|na\.|not (done|known|recorded|available)|missing|"
            r"unknown|unk|\?+|-+|\*+|\.+|#.*|null|nil|none|empty|blank|sin dato|s/d)$",
            re.IGNORECASE,
        ),
        ("int", "float", "date", "bool"),
        "looks like a missing-value marker: leave the field empty, or add it to na_values "
        "in the mapping",
    ),
    (
        re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$"),
        ("date",),
        'a date not written YYYY-MM-DD: declare its format (format = "%d/%m/%Y")',
    ),
)
_KINDS = {(t, c.name): c.kind for t, cols in TABLES.items() for c in cols}


def explain(problems: pd.DataFrame) -> pd.DataFrame:
    """Type problems get the hint that names the value's likely problem (a thousands
    separator, a missing-value marker, a partial date...) instead of the generic one.

    Parameters
    ----------
    problems : DataFrame
        Problems as validation lists them (``table, column, value, rule, hint``...).

    Returns
    -------
    DataFrame
        The same problems; ``hint`` replaced where the value's problem is recognised.
    """
    if not len(problems):
        return problems
    typed = (problems["rule"] == "type").to_numpy(dtype=bool)
    if not typed.any():
        return problems
    out = problems.copy()
    for i in np.flatnonzero(typed):
        kind = _KINDS.get((str(out.at[i, "table"]), str(out.at[i, "column"])))
        value = str(out.at[i, "value"]).strip()
        for pattern, kinds, hint in _LIKELY:
            if kind in kinds and pattern.match(value):
                out.at[i, "hint"] = hint
                break
    return out


def problem_frame(records: list[dict[str, Any]] | list[pd.DataFrame]) -> pd.DataFrame:
    """Problems as a frame with :data:`PROBLEM_COLUMNS` (object dtype, None for missing).

    Parameters
    ----------
    records : list of dict or list of DataFrame
        Problem records, or problem frames to concatenate; columns they lack are None.

    Returns
    -------
    DataFrame
        Exactly :data:`PROBLEM_COLUMNS`, in that order.
    """
    if records and isinstance(records[0], pd.DataFrame):
        out = pd.concat(records, ignore_index=True)
    elif records:
        # the list is of one kind (see the annotation), and its first item is no frame
        out = pd.DataFrame.from_records(cast("list[dict[str, Any]]", records))
    else:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    for c in PROBLEM_COLUMNS:
        if c not in out:
            out[c] = None
    out = out[PROBLEM_COLUMNS].astype(object)
    return out.where(out.notna(), None)


@dataclass(frozen=True, slots=True)
class Staged:
    """Contract tables typed once, with the problems that concern single rows.

    Attributes
    ----------
    patients, episodes : DataFrame
        Typed contract tables, indexed by source row.
    raw_ids : dict
        Table -> the ``patient_id`` values as the source wrote them (None when absent); a
        rejected patient's episodes are found through these, as before typing.
    row_problems : DataFrame
        Problems of single rows or columns, in the order
        :func:`~dah_outcomes.validation.validate_tables` lists them.
    n_rows : dict
        Rows per table before any rejection (``treatments`` only when courses were given).
    treatments : DataFrame
        Typed treatment courses, indexed by the source row each came from (a row of a wide
        source may give several); empty when the source gives none.
    derived : dict
        Field -> rows whose blank value the mapping's ``[derive]`` filled in.
    """

    patients: pd.DataFrame
    episodes: pd.DataFrame
    raw_ids: dict[str, pd.Series | None]
    row_problems: pd.DataFrame
    n_rows: dict[str, int]
    treatments: pd.DataFrame
    derived: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A source read and typed, ready for :func:`resolve`.

    Both ways of reading a source (whole, in :mod:`~dah_outcomes.io.importer`, or in chunks,
    in :mod:`~dah_outcomes.io.streaming`) hand this to the same accounting.

    Attributes
    ----------
    staged : Staged
        Typed contract tables and their single-row problems.
    sources : list
        ``(label, source rows, group keys or None)`` per file read, for the :class:`Ledger`.
    pre : DataFrame
        Problems found while reading and assembling.
    table_file : dict
        Table -> label of its source file.
    layout : str
        The layout used.
    files : list of dict
        Provenance of every file read (``RawTable.describe()``).
    notes : dict
        Extra provenance.
    """

    staged: Staged
    sources: list[tuple[str, pd.Index, pd.Series | None]]
    pre: pd.DataFrame
    table_file: dict[str, str]
    layout: str
    files: list[dict[str, Any]]
    notes: dict[str, Any]


class Stager:
    """Type contract tables chunk by chunk (or in one go) and collect single-row problems.

    Only the typed columns are kept between chunks: the raw text of a chunk can be freed as
    soon as :meth:`add` returns. ``keep_raw_ids=False`` drops the source ``patient_id``
    values, which only serve to find the episodes of a rejected patient held on other rows.
    """

    def __init__(self, keep_raw_ids: bool = True, derive: Mapping[str, str] | None = None) -> None:
        self._derive = dict(derive or {})
        #: Rows whose blank field was derived (field -> count), see ``io.derivations``.
        self.derived: dict[str, int] = {}
        self._typed: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLE_NAMES}
        self._ids: dict[str, list[pd.Series] | None] = {
            t: [] if keep_raw_ids else None for t in TABLE_NAMES[:2]
        }
        self._problems: list[pd.DataFrame] = []
        self._order: list[np.ndarray] = []
        self._courses = False

    def add(
        self,
        patients: pd.DataFrame,
        episodes: pd.DataFrame,
        treatments: pd.DataFrame | None = None,
    ) -> None:
        """Type one chunk of raw contract rows (index = source rows, in file order).

        ``treatments`` are the chunk's courses (None: the source gives no courses).
        """
        if self._derive:
            patients = derive_fields(patients, episodes, self._derive, self.derived)
        p, e, problems, order = coerce_tables(patients, episodes)
        problems = explain(problems)
        if treatments is not None:
            self._courses = True
            t, collector = coerce_table(treatments, "treatments")
            self._typed["treatments"].append(t)
            # the treatments' checks come after the episodes' (see coerce_tables)
            problems = pd.concat([problems, explain(collector.frame())], ignore_index=True)
            order = np.concatenate([order, 2 * 10**6 + collector.call_numbers()])
        if self._typed["patients"]:
            # problems of a whole column (a required column missing) are the same in every
            # chunk: the first chunk's are kept
            keep = problems["row"].notna().to_numpy()
            problems, order = problems.loc[keep], order[keep]
        for name, raw, typed in (("patients", patients, p), ("episodes", episodes, e)):
            self._typed[name].append(typed)
            ids = self._ids[name]
            if ids is not None:
                if "patient_id" in raw.columns:
                    ids.append(raw["patient_id"])
                else:
                    self._ids[name] = None
        if len(problems):
            self._problems.append(problems)
            self._order.append(order)

    def finish(self) -> Staged:
        """The typed tables and the problems, in one-pass order."""
        typed = {t: _concat(frames) for t, frames in self._typed.items() if frames}
        if "treatments" not in typed:
            typed["treatments"] = empty_table("treatments")
        ids = {t: (_concat_series(v) if v else None) for t, v in self._ids.items()}
        if self._problems:
            problems = pd.concat(self._problems, ignore_index=True)
            order = np.argsort(np.concatenate(self._order), kind="stable")
            problems = problems.iloc[order].reset_index(drop=True)
        else:
            problems = problem_frame([])
        self._typed = {t: [] for t in TABLE_NAMES}
        counted = TABLE_NAMES if self._courses else TABLE_NAMES[:2]
        return Staged(
            typed["patients"],
            typed["episodes"],
            ids,
            problems,
            {t: len(typed[t]) for t in counted},
            typed["treatments"],
            derived=dict(self.derived),
        )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def _concat_series(parts: list[pd.Series]) -> pd.Series:
    return parts[0] if len(parts) == 1 else pd.concat(parts)


class Ledger:
    """Every source row, its group, and whether it is still accepted.

    Parameters
    ----------
    sources : list of (label, index, groups)
        Per source file: its label, the source row numbers read, and optionally a Series
        (index source row) of group keys; rows sharing a key are accepted or rejected together,
        rows without a key form their own group.
    """

    def __init__(self, sources: list[tuple[str, pd.Index, pd.Series | None]]) -> None:
        files, rows, groups = [], [], []
        self.offsets: dict[str, int] = {}
        self.index: dict[str, pd.Index] = {}
        self.labels: list[str] = []
        n = n_groups = 0
        for label, index, g in sources:
            if label in self.offsets:
                raise ArgumentError(f"{label} is given twice")
            idx = pd.Index(index)
            self.offsets[label], self.index[label] = n, idx
            files.append(np.full(len(idx), len(self.labels), dtype=np.int32))
            self.labels.append(label)
            rows.append(idx.to_numpy())
            # group numbers of different files never meet: each file's start after the last
            local = self._groups(idx, g)
            groups.append(local + n_groups)
            n_groups += int(local.max()) + 1 if len(local) else 0
            n += len(idx)
        self.file_code = _joined(files, np.int32)
        self.row = _joined(rows, np.int64)
        self.group = _joined(groups, np.int64)
        self.alive = np.ones(n, dtype=bool)
        self.records: list[pd.DataFrame] = []

    @staticmethod
    def _groups(idx: pd.Index, g: pd.Series | None) -> np.ndarray:
        """Group numbers of one file's rows (0, 1, ...): rows sharing a key share a number."""
        if g is None:
            return np.arange(len(idx), dtype=np.int64)  # every row its own group
        keys = g.reindex(idx).to_numpy(dtype=object)
        keyed = np.fromiter((isinstance(k, str) for k in keys), dtype=bool, count=len(keys))
        # 'g:' and 'row:' prefixes keep a key from meeting a row number written alike
        out = np.asarray(["row:" + str(r) for r in idx], dtype=object)
        out[keyed] = ["g:" + k for k in keys[keyed]]
        return pd.factorize(out)[0].astype(np.int64)

    @property
    def n(self) -> int:
        """Number of source rows."""
        return len(self.alive)

    @property
    def file(self) -> np.ndarray:
        """The file label of every row (object array)."""
        return np.asarray(self.labels, dtype=object)[self.file_code]

    def uids(self, file: str, rows: Any) -> np.ndarray:
        """Positions in the ledger of ``rows`` (source row numbers) of ``file``."""
        pos = self.index[file].get_indexer(pd.Index(rows))
        if (pos < 0).any():  # pragma: no cover - a layout produced a row it never read
            raise RuntimeError(
                f"internal error: rows {list(np.asarray(rows)[pos < 0])[:5]} are not rows of {file}"
            )
        return self.offsets[file] + pos

    def reject(self, problems: pd.DataFrame) -> None:
        """Reject the rows named by ``problems`` and every row of their groups."""
        uids = np.concatenate(
            [
                self.uids(str(f), sub["row"].to_numpy(dtype=np.int64))  # labels are str
                for f, sub in problems.groupby("file", sort=False)
            ]
        )
        self.records.append(problems)
        direct = np.zeros(self.n, dtype=bool)
        direct[uids] = True
        hit = np.isin(self.group, np.unique(self.group[uids])) & self.alive
        self.alive[hit] = False
        extra = hit & ~direct
        if extra.any():
            self.records.append(
                problem_frame(
                    [
                        pd.DataFrame(
                            {
                                "file": self.file[extra],
                                "table": "source",
                                "row": self.row[extra],
                                "rule": "row_group_rejected",
                                "hint": EXTRA_RULES["row_group_rejected"],
                            }
                        )
                    ]
                )
            )

    def alive_rows(self, file: str, index: pd.Index) -> np.ndarray:
        """Whether each of ``index`` (source rows of ``file``) is still accepted."""
        if self.index[file].equals(index):
            # the common case (a table holding every row of its file) needs no lookup
            start = self.offsets[file]
            return self.alive[start : start + len(index)]
        return self.alive[self.uids(file, index)]


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The parts end to end; a single part as it is (ten million rows: no copy)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _with_file(problems: pd.DataFrame, table_file: Mapping[str, str]) -> pd.DataFrame:
    p = problems.copy()
    p["file"] = p["table"].map(table_file)
    return problem_frame([p])


def raise_problems(problems: pd.DataFrame, n_rows: dict[str, int]) -> None:
    """Raise one ValidationError listing ``problems`` (with their source file).

    Parameters
    ----------
    problems : DataFrame
        Problems with :data:`PROBLEM_COLUMNS`.
    n_rows : dict
        Rows per table, for the report.

    Raises
    ------
    ValidationError
        Always.
    """
    cols = ["table", "row", "patient_id", "column", "value", "rule", "hint", "file"]
    raise ValidationError(
        ValidationReport(problems=problems[cols].reset_index(drop=True), n_rows=n_rows)
    )


def resolve(
    staged: Staged,
    ledger: Ledger,
    pre: pd.DataFrame,
    table_file: Mapping[str, str],
    mode: Literal["strict", "quarantine"],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Accept or reject rows; return the typed tables of the accepted rows.

    Parameters
    ----------
    staged : Staged
        The typed tables and their single-row problems.
    ledger : Ledger
        Every source row; rejections are recorded in it.
    pre : DataFrame
        Problems found before typing (unsplittable rows, mapping columns the source lacks).
    table_file : mapping
        Table -> label of the file its rows come from.
    mode : {"strict", "quarantine"}
        ``strict`` raises on any problem; ``quarantine`` rejects rows (and their groups) until
        the accepted rows are clean, raising only on problems no rejection can cure.

    Returns
    -------
    patients, episodes, treatments : DataFrame
        Typed, accepted rows; checked exactly as
        :func:`~dah_outcomes.validation.validate_tables` checks them. A course is rejected
        with its source row; an accepted course whose episode is rejected follows it
        (``episode_rejected``).
    """
    tf = table_file
    p_all, e_all, t_all = staged.patients, staged.episodes, staged.treatments
    if mode == "strict":
        found = pd.concat(
            [
                staged.row_problems,
                check_tables(p_all, e_all),
                check_courses(t_all, e_all, p_all),
            ],
            ignore_index=True,
        )
        problems = problem_frame([pre, _with_file(found, tf)])
        if len(problems):
            raise_problems(problems, staged.n_rows)
        return p_all, e_all, t_all
    if pre["row"].isna().any():
        raise_problems(pre, staged.n_rows)
    if len(pre):
        ledger.reject(pre)
    rp, re_ = staged.raw_ids["patients"], staged.raw_ids["episodes"]
    while True:
        p_alive = ledger.alive_rows(tf["patients"], p_all.index)
        e_alive = ledger.alive_rows(tf["episodes"], e_all.index)
        if rp is not None and re_ is not None:
            orphan = _orphans(rp, p_alive, re_, e_alive)
            if orphan.any():
                sub = re_[orphan]
                ledger.reject(_cascade(sub.index, sub, "episodes", tf, "patient_rejected"))
                continue
            # the reverse: a patient whose episodes were all rejected is excluded, never an
            # "SLE patient without DAH" (nor, in a case series, a case without a case)
            lost = _orphans(re_, e_alive, rp, p_alive)
            if lost.any():
                sub = rp[lost]
                ledger.reject(_cascade(sub.index, sub, "patients", tf, "episodes_rejected"))
                continue
        t_alive = (
            ledger.alive_rows(tf["treatments"], t_all.index)
            if len(t_all)
            else np.zeros(0, dtype=bool)
        )
        stray = _stray_courses(t_all, t_alive, e_all, e_alive)
        if stray.any():
            sub = t_all.loc[stray, "patient_id"]
            ledger.reject(_cascade(sub.index, sub, "treatments", tf, "episode_rejected"))
            continue
        p = p_all if p_alive.all() else p_all.loc[p_alive]
        e = e_all if e_alive.all() else e_all.loc[e_alive]
        t = t_all if t_alive.all() else t_all.loc[t_alive]
        found = pd.concat(
            [
                _alive_problems(staged.row_problems, ledger, tf),
                check_tables(p, e),
                check_courses(t, e, p),
            ],
            ignore_index=True,
        )
        if found.empty:
            return p, e, t
        found = _with_file(found, tf)
        if found["row"].isna().any():
            raise_problems(problem_frame([*ledger.records, found]), staged.n_rows)
        ledger.reject(found)


def _cascade(
    rows: pd.Index, ids: pd.Series, table: str, table_file: Mapping[str, str], rule: str
) -> pd.DataFrame:
    """Rows rejected because a row they depend on was (``patient_rejected``...)."""
    return problem_frame(
        [
            pd.DataFrame(
                {
                    "file": table_file[table],
                    "table": table,
                    "row": rows.to_numpy(dtype=object),
                    "patient_id": ids.to_numpy(dtype=object),
                    "column": "episode_number" if rule == "episode_rejected" else "patient_id",
                    "rule": rule,
                    "hint": EXTRA_RULES[rule],
                }
            )
        ]
    )


def _stray_courses(
    t: pd.DataFrame, t_alive: np.ndarray, e: pd.DataFrame, e_alive: np.ndarray
) -> np.ndarray:
    """Accepted courses whose episode was read but none of its rows is accepted any more.

    A course naming an episode that never existed is left to the ``unknown_episode`` rule.
    """
    if not len(t) or not set(_COURSE_KEY) <= set(t.columns) or not t_alive.any():
        return np.zeros(len(t), dtype=bool)
    if not set(_COURSE_KEY) <= set(e.columns) or e_alive.all():
        return np.zeros(len(t), dtype=bool)
    keys = pd.MultiIndex.from_frame(t[_COURSE_KEY].astype(object))
    read = pd.MultiIndex.from_frame(e[_COURSE_KEY].astype(object))
    kept = read[e_alive]
    return t_alive & keys.isin(read) & ~keys.isin(kept)


def check_courses(t: pd.DataFrame, e: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """The treatments table's cross-row checks on typed tables (courses against episodes).

    :func:`~dah_outcomes.validation.validate_tables` runs them on the whole cohort; here only
    the episodes and patients the courses name are passed to it, and only the treatments
    table's cross-row problems are kept (the single-row ones were found when typing).

    Parameters
    ----------
    t, e, p : DataFrame
        Typed treatments, episodes and patients.

    Returns
    -------
    DataFrame
        Problems, columns ``table, row, patient_id, column, value, rule, hint``.
    """
    if not len(t) or not set(_COURSE_KEY) <= set(t.columns):
        return problem_frame([]).drop(columns=["file"])
    ids = t["patient_id"].dropna().unique()
    e_sub = e.loc[e["patient_id"].isin(ids).to_numpy(dtype=bool)] if "patient_id" in e else e
    p_cols = [c for c in ("patient_id", "death_date") if c in p.columns]
    p_sub = p.loc[p["patient_id"].isin(ids).to_numpy(dtype=bool), p_cols] if p_cols else p
    report = validate_tables(p_sub, e_sub, treatments=t).report.problems
    keep = (report["table"] == "treatments") & report["rule"].isin(COURSE_RULES)
    return report.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def _orphans(
    p_ids: pd.Series, p_alive: np.ndarray, e_ids: pd.Series, e_alive: np.ndarray
) -> np.ndarray:
    """Accepted child rows (episodes) whose parent (patient, by source id) was read but no
    longer has an accepted row; called the other way round, accepted patients whose episode
    rows were all rejected."""
    if p_alive.all():
        return np.zeros(len(e_ids), dtype=bool)
    dead = pd.unique(p_ids[~p_alive].dropna().to_numpy(dtype=object))
    # an id is gone when none of its rows is still accepted (ids are few: rejected rows only)
    still = pd.unique(p_ids[p_alive][p_ids[p_alive].isin(dead)].to_numpy(dtype=object))
    gone = pd.Index(dead).difference(pd.Index(still))
    if not len(gone):
        return np.zeros(len(e_ids), dtype=bool)
    return e_alive & e_ids.isin(gone).to_numpy(dtype=bool)


def _alive_problems(
    problems: pd.DataFrame, ledger: Ledger, table_file: Mapping[str, str]
) -> pd.DataFrame:
    """Single-row problems of rows still accepted (and the whole-column ones)."""
    if problems.empty:
        return problems
    keep = problems["row"].isna().to_numpy().copy()
    for table, file in table_file.items():
        mine = (problems["table"] == table).to_numpy() & ~keep
        if mine.any():
            rows = problems.loc[mine, "row"].to_numpy(dtype=np.int64)
            keep[np.flatnonzero(mine)[ledger.alive[ledger.uids(file, rows)]]] = True
    return problems.loc[keep]
