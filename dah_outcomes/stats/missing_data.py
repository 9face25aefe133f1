"""Missing data described: how much is missing per column, which combinations of missing
columns occur, and whether the rows missing a value differ in their outcome.

Three functions, each taking a DataFrame (or a :class:`~dah_outcomes.cohort.Cohort`):

- :func:`missing_summary`: per column, the rows, the rows where a value is expected, the
  number missing and its percent. Some empty cells are not missing values: an amount
  (``ventilation_days``) is expected only where its flag is true, a cause of death only for
  the dead. ``applies_when`` says so per column (a cohort's contract rules by default).
- :func:`missing_patterns`: the missingness patterns exactly as R's ``mice::md.pattern``
  lays them out (columns ordered by their number missing, patterns sorted, a count per
  pattern and the number missing in it, the totals row), checked against R.
- :func:`missingness_by_outcome`: for each column with missing values and each binary
  outcome, the outcome's rate among the rows missing the value against the rows that have
  it, the risk ratio and a two-sided Fisher exact p, judged material by the same criteria as
  the import's informative-exclusion check (:mod:`dah_outcomes.io.exclusions`): a risk ratio
  of 2 or more (or 1/2 or less) worth at least one patient, or p < 0.05. The criterion is
  :func:`material_difference`, here in the statistics layer so that both can share it.

Missing data that differ by outcome are rarely innocent: an analysis of the complete cases
then answers a question about a selected subgroup. These functions only describe; multiple
imputation is :func:`~dah_outcomes.stats.impute_chained`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.schema import TABLES
from dah_outcomes.vital_status import derive_vital_status

__all__ = [
    "COHORT_OUTCOMES",
    "CONTRACT_APPLIES_WHEN",
    "MATERIAL_P_VALUE",
    "MATERIAL_RISK_RATIO",
    "MissingPatterns",
    "MissingSummary",
    "MissingnessByOutcome",
    "material_difference",
    "missing_patterns",
    "missing_summary",
    "missingness_by_outcome",
]

#: A risk ratio this far from 1 (either way) is a material difference (the import's
#: informative-exclusion criterion, :data:`dah_outcomes.io.exclusions.MATERIAL_RATIO`).
MATERIAL_RISK_RATIO = 2.0
#: So is a two-sided Fisher exact p below this (:data:`dah_outcomes.io.exclusions.MATERIAL_P`).
MATERIAL_P_VALUE = 0.05

#: Where an empty cell of a contract column is a missing value: the rows a value is expected
#: in, as ``column -> (condition column, expected value, words)``. An amount is expected where
#: its flag is true; a cause of death where a death date is recorded; an episode's ``arm`` is
#: derived from its flags when empty, so it is never missing (``None``).
CONTRACT_APPLIES_WHEN: Mapping[str, tuple[str, Any, str] | None] = MappingProxyType(
    {
        "ventilation_days": ("mechanical_ventilation", True, "ventilated episodes"),
        "methylprednisolone_dose_mg": (
            "methylprednisolone_pulse",
            True,
            "episodes given methylprednisolone pulses",
        ),
        "plasmapheresis_sessions": ("plasmapheresis", True, "episodes given plasma exchange"),
        "cause_of_death": ("death_date", "recorded", "patients with a death date"),
        "arm": None,
    }
)

#: death_date is expected for the dead; without a vital status an empty one means alive.
_DEATH_DATE_RULE = ("vital_status", "dead", "patients who died")

_SUMMARY_COLUMNS = ["table", "column", "n_rows", "n_expected", "n_missing", "pct_missing", "note"]
_OUTCOME_COLUMNS = [
    "column",
    "outcome",
    "n_missing",
    "events_missing",
    "rate_missing",
    "n_observed",
    "events_observed",
    "rate_observed",
    "risk_ratio",
    "p_value",
    "material",
]


def material_difference(
    events_a: int, n_a: int, events_b: int, n_b: int
) -> tuple[float, float, bool]:
    """Whether the proportion of events in group a differs materially from group b.

    The criterion of the import's informative-exclusion check: a risk ratio of 2 or more (or
    1/2 or less) that is worth at least one patient (group a's events differ from what group
    b's proportion predicts for it by one or more), or a two-sided Fisher exact p below 0.05.
    With a handful of rows the test has no power, but the ratio still matters.

    Parameters
    ----------
    events_a, n_a : int
        Events and rows of the group judged (e.g. the rows missing a value).
    events_b, n_b : int
        Events and rows of the comparison group (e.g. the rows that have it).

    Returns
    -------
    risk_ratio : float
        (events_a / n_a) / (events_b / n_b); ``inf`` when only group a has events, NaN when
        neither has.
    p_value : float
        Two-sided Fisher exact p of the 2 x 2 table.
    material : bool
        Whether the difference is material.

    Raises
    ------
    ArgumentError
        When a count is negative, events exceed rows, or a group is empty.
    """
    for name, k, n in (("a", events_a, n_a), ("b", events_b, n_b)):
        if not 0 <= k <= n or n < 1:
            raise ArgumentError(
                f"group {name} needs 0 <= events <= rows and at least one row, got "
                f"{k} events of {n}"
            )
    if events_b == 0:
        ratio = float("inf") if events_a else float("nan")
    else:
        ratio = (events_a / n_a) / (events_b / n_b)
    p = float(fisher_exact([[events_a, n_a - events_a], [events_b, n_b - events_b]])[1])
    far = ratio >= MATERIAL_RISK_RATIO or ratio <= 1 / MATERIAL_RISK_RATIO
    worth = abs(events_a - n_a * events_b / n_b) >= 1
    return ratio, p, bool(p < MATERIAL_P_VALUE or (far and worth))


# ------------------------------------------------------------------ inputs


def _tables(data: Any) -> dict[str, pd.DataFrame]:
    """Named tables from a Cohort (its three), a mapping of frames, or one frame."""
    if isinstance(data, Cohort):
        return {"patients": data.patients, "episodes": data.episodes, "treatments": data.treatments}
    if isinstance(data, pd.DataFrame):
        return {"data": data}
    if isinstance(data, Mapping) and all(isinstance(v, pd.DataFrame) for v in data.values()):
        return {str(k): v for k, v in data.items()}
    raise ArgumentError(
        "data must be a Cohort, a DataFrame or a mapping of names to DataFrames, got "
        f"{type(data).__name__}"
    )


def _index_frame(cohort: Cohort) -> pd.DataFrame:
    """One row per DAH patient: the patient's columns beside those of the first episode."""
    e = cohort.episodes
    first = e[e["episode_number"] == 1].drop(columns="episode_number")
    return cohort.patients.merge(first, on="patient_id", how="inner")


def _check_columns(frame: pd.DataFrame, columns: Sequence[str] | None, what: str) -> list[str]:
    if columns is None:
        return list(frame.columns)
    if isinstance(columns, str):
        raise ArgumentError(f"columns must be a list of column names, got the string {columns!r}")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ArgumentError(
            f"{what}: columns {absent} are not in the data (its columns: {list(frame.columns)})"
        )
    return list(dict.fromkeys(columns))


Rule = tuple[str, Any, str] | None


def _expected(frame: pd.DataFrame, rule: Rule) -> tuple[np.ndarray, str]:
    """The rows where a value is expected under ``rule``, and the words for them."""
    if rule is None:
        return np.zeros(len(frame), dtype=bool), "not missing when empty"
    column, value, words = rule
    if column == "vital_status":
        # a blank or absent vital status is derived from the death date (the contract's rule)
        s = derive_vital_status(frame)
    elif column not in frame.columns:
        return np.ones(len(frame), dtype=bool), ""
    else:
        s = frame[column]
    if value == "recorded":
        return s.notna().to_numpy(dtype=bool), f"among {words}"
    return s.eq(value).fillna(False).to_numpy(dtype=bool), f"among {words}"


def _rules(
    frame: pd.DataFrame, applies_when: Mapping[str, Rule] | None, contract: bool
) -> dict[str, Rule]:
    rules: dict[str, Rule] = dict(CONTRACT_APPLIES_WHEN) if contract else {}
    if contract:
        # a death date is expected of the dead only (recorded, or derived from the date:
        # without a vital status, an empty death date is no missing value)
        rules["death_date"] = _DEATH_DATE_RULE
    rules.update(applies_when or {})
    return rules


# ------------------------------------------------------------------ summary


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingSummary(ResultMixin):
    """Missing values per column of each table.

    Attributes
    ----------
    table : DataFrame
        One row per column: ``table, column, n_rows, n_expected`` (the rows where a value is
        expected), ``n_missing`` (of those), ``pct_missing`` (percent of ``n_expected``;
        NaN when none is expected) and ``note`` (which rows were expected to have it).
    fingerprint : str or None
        The cohort's fingerprint, when summarised from a cohort.
    """

    table: pd.DataFrame = field(repr=False)
    fingerprint: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """The per-column table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Every column's counts (JSON-safe)."""
        return {"columns": json_safe(self.table), "fingerprint": self.fingerprint}

    @property
    def incomplete(self) -> pd.DataFrame:
        """The columns with at least one missing value, most missing first."""
        t = self.table[self.table["n_missing"] > 0]
        return t.sort_values("pct_missing", ascending=False, kind="stable").reset_index(drop=True)

    def _title(self) -> str:
        n = int((self.table["n_missing"] > 0).sum())
        return f"Missing values: {n} of {len(self.table)} columns incomplete"

    def _repr_html_(self) -> str:
        # the incomplete columns first, and percents as a notebook reader wants them
        t = self.table.sort_values(
            ["n_missing", "table"], ascending=[False, True], kind="stable"
        ).assign(pct_missing=lambda f: f["pct_missing"].map(_pct))
        body = t.to_html(index=False, escape=True, border=0, na_rep="–")
        return f"<div><strong>{html.escape(self._title())}</strong>{body}</div>"


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.1f}%"


def missing_summary(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    applies_when: Mapping[str, Rule] | None = None,
) -> MissingSummary:
    """The number and percent of missing values per column.

    Parameters
    ----------
    data : Cohort, DataFrame or mapping of str to DataFrame
        A cohort (its patients, episodes and treatments tables, every contract column: one
        the cohort does not hold is missing wherever a value is expected, noted "column not
        recorded"), one frame (reported as table ``"data"``) or named frames.
    columns : sequence of str, optional
        Only these columns (of every table that has them); all by default.
    applies_when : mapping, optional
        ``column -> (condition column, value, words)``: a value of ``column`` is expected only
        in the rows where ``condition column`` equals ``value`` (``"recorded"``: is not
        empty); ``None``: an empty cell is never a missing value. For a cohort the contract's
        rules (:data:`CONTRACT_APPLIES_WHEN`) apply first; an empty ``death_date`` counts as
        missing only for the patients whose ``vital_status`` is ``"dead"`` (died, date
        unknown), a blank status derived from the date as the contract says.

    Returns
    -------
    MissingSummary

    Raises
    ------
    ArgumentError
        For data of another type, or a column no table has.

    Examples
    --------
    >>> import pandas as pd
    >>> s = missing_summary(pd.DataFrame({"a": [1, None, 3], "b": [1, 2, 3]}))
    >>> s.to_frame()[["column", "n_missing", "pct_missing"]].round(1).to_dict("list")
    {'column': ['a', 'b'], 'n_missing': [1, 0], 'pct_missing': [33.3, 0.0]}
    """
    tables = _tables(data)
    contract = isinstance(data, Cohort)
    if columns is not None:
        everywhere = set().union(*(t.columns for t in tables.values()))
        _check_columns(pd.DataFrame(columns=list(everywhere)), columns, "missing_summary")
    rows = []
    for name, frame in tables.items():
        rules = _rules(frame, applies_when, contract)
        names = [c.name for c in TABLES[name]] if contract else list(frame.columns)
        for column in names:
            if columns is not None and column not in columns:
                continue
            expected, note = (
                _expected(frame, rules[column])
                if column in rules
                else (np.ones(len(frame), dtype=bool), "")
            )
            if column in frame.columns:
                absent = frame[column].isna().to_numpy(dtype=bool)
            else:
                # a contract column the source never had: missing wherever it is expected
                absent = np.ones(len(frame), dtype=bool)
                note = "; ".join(x for x in ("column not recorded", note) if x)
            n_missing = int((absent & expected).sum())
            n_expected = int(expected.sum())
            pct = 100.0 * n_missing / n_expected if n_expected else float("nan")
            rows.append((name, column, len(frame), n_expected, n_missing, pct, note))
    return MissingSummary(
        table=pd.DataFrame(rows, columns=_SUMMARY_COLUMNS),
        fingerprint=data.fingerprint if contract else None,
    )


# ------------------------------------------------------------------ patterns


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingPatterns(ResultMixin):
    """The missingness patterns of a table, as R's ``mice::md.pattern``.

    Attributes
    ----------
    columns : tuple of str
        The columns, ordered by their number of missing values (fewest first; ties in the
        order given), as ``md.pattern`` orders them.
    patterns : DataFrame
        One row per pattern that occurs, in ``md.pattern``'s order (the complete rows first):
        ``count`` (rows with the pattern), one 0/1 column per column (1 observed, 0 missing),
        ``n_missing`` (columns missing in the pattern) and ``missing`` (their names, for
        reading).
    column_missing : dict of str to int
        Rows missing each column (``md.pattern``'s last row).
    n_rows : int
        Rows described.
    """

    columns: tuple[str, ...]
    patterns: pd.DataFrame = field(repr=False)
    column_missing: dict[str, int]
    n_rows: int

    def to_frame(self) -> pd.DataFrame:
        """The patterns (a copy), one row per pattern."""
        return self.patterns.copy()

    def to_matrix(self) -> pd.DataFrame:
        """The table exactly as ``md.pattern`` prints it: rows named by their counts, the
        0/1 indicators and the number missing, and a last row of the missing per column and
        their total (row name ``""``)."""
        body = self.patterns[[*self.columns, "n_missing"]].copy()
        body.index = [str(n) for n in self.patterns["count"]]
        total = pd.DataFrame(
            [[*self.column_missing.values(), sum(self.column_missing.values())]],
            columns=body.columns,
            index=[""],
        )
        return pd.concat([body, total])

    @property
    def n_complete(self) -> int:
        """Rows with no missing value in the columns described."""
        complete = self.patterns[self.patterns["n_missing"] == 0]
        return int(complete["count"].sum())

    def to_dict(self) -> dict[str, Any]:
        """Columns, patterns and totals (JSON-safe)."""
        return {
            "columns": list(self.columns),
            "patterns": json_safe(self.patterns),
            "column_missing": dict(self.column_missing),
            "n_rows": self.n_rows,
            "n_complete": self.n_complete,
        }

    def _title(self) -> str:
        return (
            f"Missingness patterns: {len(self.patterns)} patterns over {len(self.columns)} "
            f"columns; {self.n_complete:,} of {self.n_rows:,} rows complete"
        )

    def _repr_html_(self) -> str:
        # md.pattern's picture as a table: observed cells light, missing cells dark
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ("rows", *self.columns, "missing"))
        lines = []
        for rec in self.patterns.to_dict("records"):
            cells = "".join(
                '<td style="background:#dbe9f6">1</td>'
                if rec[c]
                else '<td style="background:#7a1f1f;color:white">0</td>'
                for c in self.columns
            )
            lines.append(f"<tr><td>{rec['count']:,}</td>{cells}<td>{rec['n_missing']}</td></tr>")
        totals = "".join(f"<td>{self.column_missing[c]:,}</td>" for c in self.columns)
        lines.append(f"<tr><td></td>{totals}<td>{sum(self.column_missing.values()):,}</td></tr>")
        return (
            f"<div><strong>{html.escape(self._title())}</strong><table border=0>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
        )


def _pattern_frame(data: Any, columns: Sequence[str] | None) -> pd.DataFrame:
    if isinstance(data, Cohort):
        frame = _index_frame(data)
        if columns is None:
            # the columns whose empty cells are missing values (not amounts of a false flag,
            # nor the death date of the living) and that have one
            # nor a column never recorded (the summary shows it 100% missing)
            skip = set(_rules(frame, None, contract=True))
            columns = [
                c
                for c in frame.columns
                if c not in skip and frame[c].isna().any() and frame[c].notna().any()
            ]
        return frame[_check_columns(frame, columns, "missing_patterns")]
    if isinstance(data, pd.DataFrame):
        return data[_check_columns(data, columns, "missing_patterns")]
    raise ArgumentError(f"data must be a Cohort or a DataFrame, got {type(data).__name__}")


def missing_patterns(data: Any, *, columns: Sequence[str] | None = None) -> MissingPatterns:
    """Which combinations of missing columns occur, and how often (R's ``mice::md.pattern``).

    Parameters
    ----------
    data : Cohort or DataFrame
        A frame, or a cohort: its DAH patients, each with the columns of the first episode,
        and by default the columns with a missing value (amounts of a false flag, causes and
        dates of death of the living left out: they are not missing values).
    columns : sequence of str, optional
        The columns to describe; all of the frame's by default.

    Returns
    -------
    MissingPatterns

    Raises
    ------
    ArgumentError
        For data of another type, a column not in the data, or no column to describe.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1, None, 3, None], "b": [1, 2, None, None]})
    >>> missing_patterns(frame).to_frame()[["count", "a", "b", "n_missing"]].to_dict("list")
    {'count': [1, 1, 1, 1], 'a': [1, 1, 0, 0], 'b': [1, 0, 1, 0], 'n_missing': [0, 1, 1, 2]}
    """
    frame = _pattern_frame(data, columns)
    if frame.shape[1] == 0:
        raise ArgumentError("missing_patterns needs at least one column to describe")
    missing = frame.isna().to_numpy(dtype=bool)
    n_missing = missing.sum(axis=0)
    order = np.argsort(n_missing, kind="stable")
    names = tuple(str(frame.columns[i]) for i in order)
    r = missing[:, order]
    # md.pattern sorts the rows by their pattern read as a string of 0 (observed) and 1
    # (missing), columns in the order above: the complete rows first
    codes = pd.Series(["".join("1" if v else "0" for v in row) for row in r], dtype=object)
    counts = codes.value_counts().sort_index()
    rows = []
    for pattern, count in counts.items():
        observed = [0 if ch == "1" else 1 for ch in str(pattern)]
        gone = [c for c, o in zip(names, observed, strict=True) if not o]
        rows.append([int(count), *observed, len(gone), ", ".join(gone)])
    patterns = pd.DataFrame(rows, columns=["count", *names, "n_missing", "missing"])
    return MissingPatterns(
        columns=names,
        patterns=patterns,
        column_missing={c: int(n_missing[i]) for c, i in zip(names, order, strict=True)},
        n_rows=len(frame),
    )


# ------------------------------------------------------------------ by outcome

#: The outcomes compared for a cohort: death (in hospital at the first episode, or a death
#: date recorded, as the import's check counts it) and mechanical ventilation at the first
#: episode.
COHORT_OUTCOMES = ("died", "ventilated")


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingnessByOutcome(ResultMixin):
    """Whether the rows missing a value differ in their outcome from the rows that have it.

    Attributes
    ----------
    table : DataFrame
        One row per (column with missing values, outcome): ``column, outcome, n_missing,
        events_missing, rate_missing, n_observed, events_observed, rate_observed,
        risk_ratio`` (missing over observed), ``p_value`` (two-sided Fisher exact) and
        ``material`` (see :func:`material_difference`). Rows with the outcome itself missing
        are left out of its comparisons.
    outcomes : dict of str to str
        Each outcome and what it counts.
    criterion : str
        The materiality criterion in words.
    fingerprint : str or None
        The cohort's fingerprint, when compared in a cohort.
    """

    table: pd.DataFrame = field(repr=False)
    outcomes: dict[str, str]
    criterion: str
    fingerprint: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """The comparisons (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Comparisons, outcomes and criterion (JSON-safe)."""
        return {
            "comparisons": json_safe(self.table),
            "outcomes": dict(self.outcomes),
            "criterion": self.criterion,
            "findings": list(self.findings()),
            "fingerprint": self.fingerprint,
        }

    @property
    def material(self) -> pd.DataFrame:
        """The comparisons whose difference is material."""
        return self.table[self.table["material"].astype(bool)].reset_index(drop=True)

    def findings(self) -> tuple[str, ...]:
        """One sentence per material difference, e.g. ``"death: 9 of 10 patients missing
        cyclophosphamide (90.0%) against 20 of 100 with it (20.0%); risk ratio 4.5, exact
        p = 1e-06"``.

        Returns
        -------
        tuple of str
        """
        out = []
        for r in self.material.to_dict("records"):
            rr = "inf" if np.isinf(r["risk_ratio"]) else f"{r['risk_ratio']:.2g}"
            out.append(
                f"{r['outcome']}: {r['events_missing']} of {r['n_missing']} rows missing "
                f"{r['column']} ({100 * r['rate_missing']:.1f}%) against "
                f"{r['events_observed']} of {r['n_observed']} with it "
                f"({100 * r['rate_observed']:.1f}%); risk ratio {rr}, exact p = "
                f"{r['p_value']:.2g}"
            )
        return tuple(out)

    def _title(self) -> str:
        return (
            f"Missingness by outcome: {len(self.material)} of {len(self.table)} comparisons "
            "differ materially"
        )

    def _repr_html_(self) -> str:
        t = self.table.assign(
            rate_missing=self.table["rate_missing"].map(lambda x: _pct(100 * x)),
            rate_observed=self.table["rate_observed"].map(lambda x: _pct(100 * x)),
        )
        body = t.to_html(index=False, escape=True, border=0, float_format=lambda x: f"{x:.3g}")
        note = html.escape(self.criterion)
        return f"<div><strong>{html.escape(self._title())}</strong>{body}<p>{note}</p></div>"


def _cohort_outcomes(cohort: Cohort) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = _index_frame(cohort)
    # dead: a death date, a recorded vital status of dead (date unknown) or an in-hospital
    # death, as the import's informative-exclusion check counts the dead
    status = derive_vital_status(frame)
    died = frame["in_hospital_death"].astype("boolean").fillna(False) | status.eq("dead")
    frame = frame.assign(
        died=died.astype("boolean"),
        ventilated=frame["mechanical_ventilation"].astype("boolean"),
    )
    words = {
        "died": "died (in hospital at the first episode, or a death recorded)",
        "ventilated": "invasively ventilated at the first episode",
    }
    return frame, words


def _binary(frame: pd.DataFrame, outcome: str) -> pd.Series:
    try:
        return frame[outcome].astype("boolean")
    except (TypeError, ValueError) as err:
        raise ArgumentError(
            f"outcome {outcome!r} must be a binary column (true/false or 1/0, empty where "
            f"unknown): {err}"
        ) from err


Comparison = tuple[str, str, int, int, float, int, int, float, float, float, bool]


def _compare(column: str, outcome: str, absent: np.ndarray, y: pd.Series) -> Comparison | None:
    known = y.notna().to_numpy(dtype=bool)
    events = y.fillna(False).to_numpy(dtype=bool)
    n_m, n_o = int((absent & known).sum()), int((~absent & known).sum())
    if n_m == 0 or n_o == 0:
        return None
    k_m, k_o = int((absent & events).sum()), int((~absent & events).sum())
    ratio, p, material = material_difference(k_m, n_m, k_o, n_o)
    return (column, outcome, n_m, k_m, k_m / n_m, n_o, k_o, k_o / n_o, ratio, p, material)


def missingness_by_outcome(
    data: Any,
    *,
    outcomes: Sequence[str] | Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> MissingnessByOutcome:
    """For each column with missing values, the outcome rate among the rows missing it
    against the rows that have it.

    Parameters
    ----------
    data : Cohort or DataFrame
        A frame, or a cohort: its DAH patients with the columns of their first episode, the
        outcomes ``died`` (in hospital at the first episode, or a death date or a vital
        status of dead recorded) and ``ventilated`` (at the first episode).
    outcomes : sequence of str or mapping of str to str, optional
        Binary outcome columns (a mapping: column -> what it counts). Required for a frame;
        a cohort's are ``died`` and ``ventilated``.
    columns : sequence of str, optional
        The columns whose missingness is examined; by default every column with a missing
        value other than the outcomes (for a cohort, as :func:`missing_patterns` chooses).

    Returns
    -------
    MissingnessByOutcome

    Raises
    ------
    ArgumentError
        For data of another type, no outcome for a frame, an outcome that is not binary, or
        a column not in the data.

    Notes
    -----
    The criterion is the import's informative-exclusion check's (:func:`material_difference`):
    a risk ratio of 2 or more (or 1/2 or less) worth at least one row, or a two-sided Fisher
    exact p < 0.05. Many columns and two outcomes make many tests: a p < 0.05 among them may
    be chance, a large ratio on a large column rarely is.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"flag": [None, None, 1, 0, 1, 0], "died": [1, 1, 0, 0, 1, 0]})
    >>> missingness_by_outcome(frame, outcomes=["died"]).to_frame()["risk_ratio"].item()
    4.0
    """
    if isinstance(data, Cohort):
        frame, words = _cohort_outcomes(data)
        if outcomes is not None:
            words = _outcome_words(outcomes)
        if columns is None:
            columns = [
                c for c in _pattern_frame(data, None).columns if c not in ("died", "ventilated")
            ]
    elif isinstance(data, pd.DataFrame):
        if outcomes is None:
            raise ArgumentError(
                "missingness_by_outcome needs outcomes=[...] (binary columns) for a DataFrame"
            )
        frame, words = data, _outcome_words(outcomes)
    else:
        raise ArgumentError(f"data must be a Cohort or a DataFrame, got {type(data).__name__}")
    _check_columns(frame, list(words), "missingness_by_outcome outcomes")
    if columns is None:
        columns = [c for c in frame.columns if c not in words and frame[c].isna().any()]
    columns = _check_columns(frame, columns, "missingness_by_outcome")
    ys = {o: _binary(frame, o) for o in words}
    rows = []
    for column in columns:
        absent = frame[column].isna().to_numpy(dtype=bool)
        if not absent.any():
            continue
        for outcome, y in ys.items():
            if outcome == column:
                continue
            row = _compare(column, outcome, absent, y)
            if row is not None:
                rows.append(row)
    return MissingnessByOutcome(
        table=pd.DataFrame(rows, columns=_OUTCOME_COLUMNS),
        outcomes=words,
        criterion=(
            f"Material: a risk ratio of {MATERIAL_RISK_RATIO:g} or more (or "
            f"{1 / MATERIAL_RISK_RATIO:g} or less) worth at least one row, or a two-sided "
            f"Fisher exact p < {MATERIAL_P_VALUE:g} (the import's informative-exclusion "
            "criteria)."
        ),
        fingerprint=data.fingerprint if isinstance(data, Cohort) else None,
    )


def _outcome_words(outcomes: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(outcomes, str):
        raise ArgumentError(f"outcomes must be a list of column names, got {outcomes!r}")
    if isinstance(outcomes, Mapping):
        return {str(k): str(v) for k, v in outcomes.items()}
    return {str(o): str(o) for o in outcomes}
