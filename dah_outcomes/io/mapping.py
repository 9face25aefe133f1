"""Mapping files: how a registry's columns become the cohort contract.

A mapping is a small TOML (or YAML) file the analyst keeps beside the data::

    layout = "flat"              # flat | episodes | two_tables | redcap | adtte
    date_format = "%d/%m/%Y"     # default for date columns (ISO dates always parse)
    decimal = ","                # decimal comma in numeric columns

    [columns]                    # contract column = source column, or a table of options
    patient_id = "Record ID"
    sex = { source = "Gender", values = { Mujer = "F", Hombre = "M" } }
    onset_date = "DAH date"
    death_date = { source = "days to death", offset_from = "onset_date" }
    hemoglobin_drop = { source = "Hb drop", unit = "g/L" }
    site = { value = "Centre A" }

Treatment courses (the ``treatments`` table) come from a wide source, where each row carries
the start date (and optionally end date, sessions, dose) of each treatment given for its
episode, through one table per treatment (a treatment flag's name)::

    [treatments]
    rituximab = "RTX start"                 # a string: the start-date column
    [treatments.cyclophosphamide]
    start_date = { source = "Cyclophosphamide start date", format = "%d/%m/%Y" }
    end_date = "CYC end"
    dose_mg = { source = "CYC total dose", unit = "g" }
    [treatments.plasmapheresis]
    start_date = { source = "PLEX day", offset_from = "onset_date" }
    sessions = "PLEX sessions"

A row with a start date gives one course of that treatment for the row's episode; a row
without one gives none (the flag alone: timing unknown). A long source (one row per course:
a REDCap repeating instrument, an exposure table) maps the treatments table's own columns
(``treatment``, ``start_date``, ``end_date``, ``dose_mg``, ``sessions``) under ``[columns]``;
treatment names are matched to the flags ignoring case and punctuation (``"Plasma exchange"``,
``"RTX"``), and ``values`` maps any other name.

Column options: ``source`` (a name, or a list of candidate names), ``values`` (a value map,
matched ignoring case and surrounding spaces), ``format`` (strptime date format, or
``"sas"``/``"stata"``/``"excel"`` for day counts),
``offset_from`` + ``offset_unit`` (a number of days/weeks/months/years after another contract
date), ``decimal``, ``unit`` (converted to the contract's unit) or ``scale``, and ``value`` (a
constant). Contract columns the mapping does not name are taken from a source column of the
same name (ignoring case, spaces, punctuation and accents, in any script) when there is
exactly one; two source columns matching one name is an error, never a pick.

How values are read (top-level keys):

* ``na_values``: text meaning "missing" (default :data:`DEFAULT_NA_VALUES`: ``NA``, ``N/A``,
  ``NULL``, ``#N/A``, ``.``, ``-`` and the like, any case; ``[]`` keeps only empty fields).
* ``decimal`` (``"."`` or ``","``) and ``thousands`` (``","``, ``"."``, ``" "``, ``"'"`` or
  ``"_"``): a number using another mark (``0.8`` where ``decimal = ","``, ``1,234`` without
  ``thousands``) is rejected with a hint, never reread.
* ``partial_dates`` (``"reject"``, ``"first"`` or ``"middle"``): a year (``1999``) or a
  year-month (``1978-11``) is rejected unless the mapping says which day it stands for.
* ``time_of_day`` (``"reject"`` or ``"date"``): a date with a time other than midnight is
  rejected unless the mapping says to keep its date.
* ``header_row`` (the header's file line or sheet row, below title lines) and ``skip_footer``
  (totals or footnote lines at the end), as ``init-mapping`` finds them.
* ``design = "case_series" | "population"`` (otherwise inferred: a source whose every patient
  has a DAH episode is a case series) and ``[derive]`` (blank fields derived from others:
  ``followup_end = "death_date"``, ``followup_start = "first_onset"``; see
  :mod:`~dah_outcomes.io.derivations`).

Later DAH episodes held in wide columns of a one-row-per-patient file ("Second DAH episode
date", ``onset_date_2``, "Fecha 2º episodio HAD") are one ``[episodes.<n>]`` table each,
naming that episode's own columns as ``[columns]`` names episode 1's::

    [episodes.2]
    onset_date = { source = "Second DAH episode date", format = "%d/%m/%Y" }
    discharge_date = "Second discharge date"
    in_hospital_death = { source = "Died in hospital (2nd)", values = { Yes = true, No = false } }

A row whose episode-2 onset is blank (and whose other episode-2 cells say nothing but "no")
has no episode 2; an episode column its table does not name stays missing, never copied from
episode 1 (see :mod:`~dah_outcomes.io.wide_episodes`).

A ``TODO`` left in a value (not in a comment) stops :func:`load_mapping` with one message
naming each such line (:mod:`~dah_outcomes.io.unfinished`).

:func:`load_mapping` checks every key's type and names the key and the fix; :func:`apply_mapping`
only translates: a value it cannot translate is passed on (marked where needed), so that the
validator reports it with the source row, the value and a hint. Nothing is dropped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._values import (
    PARTIAL_DATES,
    TIMES_OF_DAY,
    UNITS,
    ColumnRule,
    ValueOptions,
    apply_labels,
    by_uniques,
    offset_dates,
    translate,
)
from dah_outcomes.io._vocabulary import (
    CONTRACT,
    COURSE_FIELDS,
    DEFAULT_NA_VALUES,
    LAYOUTS,
    match_key,
    normalize_name,
)
from dah_outcomes.io.column_rules import (
    DECIMALS,
    check_date_format,
    parse_repeat_episodes,
    parse_rule,
)
from dah_outcomes.io.derivations import check_derivations
from dah_outcomes.io.settings_files import YAML_SUFFIXES, parse_settings, read_settings_text
from dah_outcomes.io.unfinished import refuse_todos
from dah_outcomes.schema import TABLES, TREATMENT_FLAGS, Column

__all__ = [
    "DEFAULT_NA_VALUES",
    "LAYOUTS",
    "UNITS",
    "ColumnRule",
    "Courses",
    "ImportMapping",
    "apply_mapping",
    "find_column",
    "load_mapping",
    "normalize_name",
    "wide_courses",
]

_TOP_KEYS = {
    "layout",
    "date_format",
    "decimal",
    "thousands",
    "na_values",
    "partial_dates",
    "time_of_day",
    "columns",
    "treatments",
    "redcap",
    "adtte",
    "use_value_labels",
    "description",
    "header_row",
    "skip_footer",
    "derive",
    "design",
    "episodes",
}
#: Study designs a mapping may declare (``design = ...``).
DESIGNS = ("population", "case_series")
_THOUSANDS = (",", ".", " ", "'", "_")


@dataclass(frozen=True, slots=True)
class ImportMapping:
    """A parsed mapping file (see the module docstring for the format)."""

    layout: str | None = None
    columns: Mapping[str, ColumnRule] = field(default_factory=dict)
    treatments: Mapping[str, Mapping[str, ColumnRule]] = field(default_factory=dict)
    date_format: str | None = None
    decimal: str | None = None
    use_value_labels: bool = True
    redcap: Mapping[str, Any] = field(default_factory=dict)
    adtte: Mapping[str, Any] = field(default_factory=dict)
    text: str = field(default="", repr=False)
    path: str | None = None
    thousands: str | None = None
    na_values: tuple[str, ...] = DEFAULT_NA_VALUES
    partial_dates: str = "reject"
    time_of_day: str = "reject"
    header_row: int = 1
    skip_footer: int = 0
    derive: Mapping[str, str] = field(default_factory=dict)
    design: str | None = None
    repeat_episodes: Mapping[int, Mapping[str, ColumnRule]] = field(default_factory=dict)

    @property
    def table_rows(self) -> tuple[int, int]:
        """``(header_row, skip_footer)``: where the table sits in its file."""
        return (self.header_row, self.skip_footer)

    @property
    def value_options(self) -> ValueOptions:
        """How values are read (missing markers, number marks, date precision)."""
        return ValueOptions(
            date_format=self.date_format,
            decimal=self.decimal,
            thousands=self.thousands,
            na_values=frozenset(match_key(v) for v in self.na_values),
            partial_dates=self.partial_dates,
            time_of_day=self.time_of_day,
        )


def load_mapping(source: str | Path | Mapping[str, Any] | ImportMapping | None) -> ImportMapping:
    """Parse a mapping from a TOML/YAML file, TOML text or a dict (``None``: identity).

    Parameters
    ----------
    source : path, TOML text, dict, ImportMapping or None
        A ``.toml``/``.yaml`` file, TOML text, the parsed keys, or a mapping already loaded
        (returned as is).

    Returns
    -------
    ImportMapping

    Raises
    ------
    ArgumentError
        On an unknown key, layout, contract column or option, or a value of the wrong type
        (naming the key and the fix); and, in one message, when lines of the mapping still
        hold a ``TODO`` outside a comment (an unfinished draft: ``file:line: text`` each).
    """
    if source is None:
        return ImportMapping()
    if isinstance(source, ImportMapping):
        return source
    path = None
    if isinstance(source, Mapping):
        data, text = dict(source), json.dumps(dict(source), indent=2, default=str)
        refuse_todos(text, None)
    else:
        text, path = _mapping_text(source)
        refuse_todos(text, path)
        data = _parse(text, path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ArgumentError(
            f"unknown mapping key(s) {sorted(unknown)}; valid keys are {sorted(_TOP_KEYS)}"
        )
    layout = _choice(data, "layout", LAYOUTS)
    date_format = data.get("date_format")
    if date_format is not None:
        check_date_format(date_format, "date_format", data.get("partial_dates"))
    decimal = _choice(data, "decimal", DECIMALS)
    thousands = _choice(data, "thousands", _THOUSANDS)
    if thousands is not None and thousands == (decimal or "."):
        raise ArgumentError(
            f"thousands and decimal are both {thousands!r}: a number cannot use one mark for both"
        )
    columns = {name: parse_rule(name, spec) for name, spec in _table(data, "columns").items()}
    use_labels = data.get("use_value_labels", True)
    if not isinstance(use_labels, bool):
        raise ArgumentError(f"use_value_labels must be true or false, got {use_labels!r}")
    return ImportMapping(
        layout=layout,
        columns=MappingProxyType(columns),
        treatments=_treatment_rules(data.get("treatments")),
        date_format=date_format,
        decimal=decimal,
        use_value_labels=use_labels,
        redcap=MappingProxyType(_table(data, "redcap")),
        adtte=MappingProxyType(_table(data, "adtte")),
        text=text,
        path=str(path) if path else None,
        thousands=thousands,
        na_values=_na_values(data.get("na_values", DEFAULT_NA_VALUES)),
        partial_dates=_choice(data, "partial_dates", PARTIAL_DATES) or "reject",
        time_of_day=_choice(data, "time_of_day", TIMES_OF_DAY) or "reject",
        header_row=_whole(data, "header_row", 1),
        skip_footer=_whole(data, "skip_footer", 0),
        derive=MappingProxyType(check_derivations(data.get("derive"))),
        design=_choice(data, "design", DESIGNS),
        repeat_episodes=parse_repeat_episodes(data.get("episodes")),
    )


def _whole(data: Mapping[str, Any], key: str, low: int) -> int:
    value = data.get(key, low)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ArgumentError(
            f"{key} must be a whole number >= {low} (a file line: the header's for header_row, "
            f"the count of totals/footnote lines at the end for skip_footer), got {value!r}"
        )
    return value


def _parse(text: str, path: Path | None) -> dict[str, Any]:
    where = f"mapping {path or '(text)'}"
    yaml_format = path is not None and Path(path).suffix.lower() in YAML_SUFFIXES
    data = parse_settings(text, yaml_format=yaml_format, where=where)
    if yaml_format and data is None:
        data = {}
    if not isinstance(data, dict):
        raise ArgumentError(f"{where} must be a table of keys, got {type(data).__name__}")
    return data


def _mapping_text(source: str | Path) -> tuple[str, Path | None]:
    as_path = Path(source)
    looks_like_path = isinstance(source, Path) or (
        "\n" not in str(source) and "=" not in str(source)
    )
    if not looks_like_path:
        return str(source), None
    if not as_path.exists():
        raise ArgumentError(
            f"mapping file {as_path} does not exist (draft one with "
            "`dah-outcomes init-mapping SOURCE`)"
        )
    return read_settings_text(as_path, f"mapping file {as_path}"), as_path


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ArgumentError(
            f"{key} must be a table ([{key}] with keys below it), got {type(value).__name__} "
            f"{value!r}"
        )
    return dict(value)


def _choice(data: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> Any:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or value not in choices):
        raise ArgumentError(f"{key} must be one of {list(choices)}, got {value!r}")
    return value


def _na_values(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ArgumentError(
            f'na_values must be a list of texts, e.g. na_values = ["NA", "."], got {value!r}'
        )
    if not all(isinstance(v, str) for v in value):
        raise ArgumentError(f"na_values must hold texts only, got {value!r}")
    return tuple(value)


def _treatment_rules(spec: Any) -> Mapping[str, Mapping[str, ColumnRule]]:
    """``[treatments]``: treatment flag -> course field -> rule (a string: the start date)."""
    if spec is None:
        return MappingProxyType({})
    if not isinstance(spec, Mapping):
        raise ArgumentError(
            "[treatments] must be a table of treatments, e.g. "
            f'[treatments.cyclophosphamide] start_date = "CYC start"; got {spec!r}'
        )
    out: dict[str, Mapping[str, ColumnRule]] = {}
    for name, fields in spec.items():
        where = f"[treatments.{name}]"
        if name not in TREATMENT_FLAGS:
            raise ArgumentError(
                f"{where}: {name!r} is not a treatment; valid treatments are "
                f"{list(TREATMENT_FLAGS)}"
            )
        if isinstance(fields, str | list):
            fields = {"start_date": fields}
        if not isinstance(fields, Mapping):
            raise ArgumentError(
                f"{where} must be the start-date column or a table of "
                f"{list(COURSE_FIELDS)}; got {fields!r}"
            )
        unknown = set(fields) - set(COURSE_FIELDS)
        if unknown or "start_date" not in fields:
            raise ArgumentError(
                f"{where}: give start_date (a course is dated by its start) and optionally "
                f"end_date, sessions, dose_mg; unknown key(s) {sorted(unknown)}"
            )
        out[name] = MappingProxyType(
            {f: parse_rule(f, fields[f], where=where) for f in COURSE_FIELDS if f in fields}
        )
    return MappingProxyType(out)


def find_column(columns: pd.Index, names: tuple[str, ...], *, explicit: bool = True) -> str | None:
    """The first of ``names`` present in ``columns``: exact, else ignoring case/punctuation.

    Parameters
    ----------
    columns : Index
        The source's column names.
    names : tuple of str
        Candidate names, in order of preference.
    explicit : bool, default True
        Whether the mapping named them: an exact match of a name the mapping gives wins over
        other columns that normalise alike; a contract name looked up by default does not.

    Returns
    -------
    str or None
        The source column found, None when no candidate is present.

    Raises
    ------
    ArgumentError
        When a name matches several source columns (``"Sex"`` and ``"sex "``): which one is
        meant is the analyst's to say, in the mapping.
    """
    norm: dict[str, list[str]] = {}
    for c in columns:
        key = normalize_name(c)
        if key:  # a name without letters or digits ("", "—") matches only exactly
            norm.setdefault(key, []).append(c)
    for n in names:
        hits = norm.get(normalize_name(n), [])
        if n in columns and (explicit or len(hits) <= 1):
            return n
        if len(hits) > 1:
            raise ArgumentError(
                f"source columns {hits} all match {n!r} (ignoring case, spaces and "
                f'punctuation): name the one meant exactly in the mapping ([columns] ... = "...")'
            )
        if hits:
            return hits[0]
    return None


@dataclass(frozen=True, slots=True)
class Translation:
    """The output of :func:`apply_mapping`.

    Attributes
    ----------
    frame : DataFrame
        Contract columns only, same index (source rows) as the input.
    used : dict
        Contract column -> source column it came from.
    missing : tuple of str
        Source columns the mapping names that the source lacks.
    unmapped : tuple of str
        Source columns not used (recorded in provenance: never silently ignored).
    """

    frame: pd.DataFrame
    used: Mapping[str, str]
    missing: tuple[str, ...]
    unmapped: tuple[str, ...]


def apply_mapping(
    frame: pd.DataFrame,
    mapping: ImportMapping | None = None,
    *,
    table: str = "patients",
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    shared: Translation | None = None,
) -> Translation:
    """Translate a source frame into one contract table's columns (no validation).

    Parameters
    ----------
    frame : DataFrame
        Source rows (index = source row numbers). Not modified.
    mapping : ImportMapping, optional
        From :func:`load_mapping`; identity by default.
    table : {"patients", "episodes"}
        Which contract table to produce.
    value_labels : mapping, optional
        Column -> {code: label} (SPSS/Stata); applied before value maps when the mapping's
        ``use_value_labels`` is true.
    shared : Translation, optional
        Another table's translation of the same frame by the same mapping: a contract column
        of the same name, kind and source column (the ``patient_id`` both tables of a flat
        file hold) is taken from it rather than translated twice.

    Returns
    -------
    Translation
    """
    if table not in TABLES:
        raise ArgumentError(f"table must be one of {sorted(TABLES)}, got {table!r}")
    mapping = mapping or ImportMapping()
    _check_table_rows(frame, mapping)
    opts = mapping.value_options
    out = pd.DataFrame(index=frame.index)
    used: dict[str, str] = {}
    missing: list[str] = []
    pending: list[tuple[Column, ColumnRule, pd.Series]] = []
    for col in TABLES[table]:
        rule = mapping.columns.get(col.name)
        if rule is not None and rule.constant is not None:
            out[col.name] = pd.Series(str(rule.constant), index=frame.index, dtype=object)
            continue
        explicit = rule is not None and bool(rule.sources)
        names = rule.sources if rule is not None and rule.sources else (col.name,)
        src = find_column(frame.columns, names, explicit=explicit)
        if src is None:
            if rule is not None and rule.sources:
                missing.append(" | ".join(rule.sources))
            continue
        used[col.name] = str(src)
        if (
            shared is not None
            and shared.used.get(col.name) == str(src)
            and col.name in shared.frame.columns
            and CONTRACT[col.name].kind == col.kind
            and not (rule is not None and rule.offset_from)
        ):
            out[col.name] = shared.frame[col.name]
            continue
        raw = frame[src]
        if mapping.use_value_labels and value_labels and src in value_labels:
            raw = apply_labels(raw, value_labels[src])
        rule = rule or ColumnRule(col.name)
        if rule.offset_from:
            pending.append((col, rule, raw))  # needs its base date translated first
            continue
        out[col.name] = by_uniques(raw, functools.partial(translate, col=col, rule=rule, opts=opts))
    for col, rule, raw in pending:
        base = out.get(rule.offset_from)
        if base is None and rule.offset_from in CONTRACT:
            # the base date may belong to the other table (death days after DAH onset)
            base = _base_date(frame, mapping, rule.offset_from)
        out[col.name] = offset_dates(raw, base, rule, opts)
    order = [c.name for c in TABLES[table] if c.name in out.columns]
    unmapped = tuple(str(c) for c in frame.columns if str(c) not in set(used.values()))
    return Translation(out[order], MappingProxyType(used), tuple(missing), unmapped)


def _check_table_rows(frame: pd.DataFrame, mapping: ImportMapping) -> None:
    """A mapping's ``header_row``/``skip_footer`` were honoured by the reader, or refused:
    a titled file read from its first line would give every row ragged, never a cohort."""
    read = tuple(frame.attrs.get("table_rows", (1, 0)))
    if mapping.table_rows != (1, 0) and read != mapping.table_rows:
        raise ArgumentError(
            f"the mapping sets header_row = {mapping.header_row}, skip_footer = "
            f"{mapping.skip_footer}, but this source was read with header_row = {read[0]}, "
            f"skip_footer = {read[1]}: these keys are honoured for a single CSV/TSV file in "
            "the flat layout (read with chunk_rows other than 0); for another source, save "
            "the table without its title and totals lines and delete the two keys"
        )


def _base_date(frame: pd.DataFrame, mapping: ImportMapping, name: str) -> pd.Series | None:
    rule = mapping.columns.get(name) or ColumnRule(name)
    src = find_column(frame.columns, rule.sources or (name,), explicit=bool(rule.sources))
    if src is None or rule.offset_from:
        return None
    return translate(frame[src], CONTRACT[name], rule, mapping.value_options)


@dataclass(frozen=True, slots=True)
class Courses:
    """The output of :func:`wide_courses`.

    Attributes
    ----------
    frame : DataFrame
        Treatments-table columns, one row per course, indexed by the source row it came from
        (a row may give several courses, one per treatment).
    used : tuple of str
        Source columns read.
    missing : tuple of str
        Source columns the mapping names that the source lacks.
    undated : dict
        Treatment -> rows that gave a course field (end date, sessions, dose) but no start
        date: no course (the flag alone, timing unknown), counted for provenance.
    """

    frame: pd.DataFrame
    used: tuple[str, ...]
    missing: tuple[str, ...]
    undated: Mapping[str, int]


def wide_courses(
    frame: pd.DataFrame,
    mapping: ImportMapping,
    episodes: pd.DataFrame,
    *,
    date_format: str | None = None,
) -> Courses:
    """Treatment courses from the ``[treatments]`` columns of rows that each hold an episode.

    Parameters
    ----------
    frame : DataFrame
        Source rows (index = source row numbers). Not modified.
    mapping : ImportMapping
        Its ``treatments`` rules name the columns.
    episodes : DataFrame
        The translated episodes (``patient_id``, ``episode_number``), indexed like ``frame``;
        a course on a row without an episode keeps its patient and fails validation.
    date_format : str, optional
        Date format of course dates whose rule and mapping give none (``"sas"`` in ADTTE).

    Returns
    -------
    Courses
    """
    parts: list[pd.DataFrame] = []
    used: list[str] = []
    missing: list[str] = []
    undated: dict[str, int] = {}
    cols = {c.name: c for c in TABLES["treatments"]}
    keys = episodes if episodes.index.is_unique else episodes.iloc[:0]
    for treatment, rules in mapping.treatments.items():
        values = _course_values(frame, mapping, rules, date_format, used, missing)
        start = values.get("start_date")
        if start is None:
            continue
        dated = start.notna().to_numpy(dtype=bool)
        others = [v for k, v in values.items() if k != "start_date"]
        if others:
            lost = pd.concat(others, axis=1).notna().any(axis=1).to_numpy(dtype=bool) & ~dated
            if lost.any():
                undated[treatment] = int(lost.sum())
        rows = frame.index[dated]
        part = pd.DataFrame(index=rows)
        for key in ("patient_id", "episode_number"):
            if key in keys.columns:
                part[key] = keys[key].reindex(rows).to_numpy(dtype=object)
        part["treatment"] = treatment
        for name in cols:
            if name in values:
                part[name] = values[name][dated].to_numpy(dtype=object)
        parts.append(part)
    # every chunk of a source gives the same columns, with or without courses
    named = {"treatment", *(f for rules in mapping.treatments.values() for f in rules)}
    named |= {k for k in ("patient_id", "episode_number") if k in keys.columns}
    order = [c for c in cols if c in named]
    if parts:
        out = pd.concat(parts).sort_index(kind="stable").reindex(columns=order)
        out = out.astype(object).where(out.notna(), None)
    else:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in order}, index=frame.index[:0])
    return Courses(out, tuple(dict.fromkeys(used)), tuple(missing), MappingProxyType(undated))


def _course_values(
    frame: pd.DataFrame,
    mapping: ImportMapping,
    rules: Mapping[str, ColumnRule],
    date_format: str | None,
    used: list[str],
    missing: list[str],
) -> dict[str, pd.Series]:
    """One treatment's course fields translated (``used`` and ``missing`` are appended to)."""
    cols = {c.name: c for c in TABLES["treatments"]}
    values: dict[str, pd.Series] = {}
    for name, rule in rules.items():
        if rule.constant is not None:
            values[name] = pd.Series(str(rule.constant), index=frame.index, dtype=object)
            continue
        src = find_column(frame.columns, rule.sources)
        if src is None:
            missing.append(" | ".join(rule.sources))
            continue
        used.append(str(src))
        if rule.offset_from:
            base = _base_date(frame, mapping, rule.offset_from)
            values[name] = offset_dates(frame[src], base, rule, mapping.value_options)
            continue
        if date_format and rule.format is None and mapping.date_format is None:
            rule = _with_format(rule, date_format, cols[name])
        values[name] = translate(frame[src], cols[name], rule, mapping.value_options)
    return values


def _with_format(rule: ColumnRule, fmt: str, col: Column) -> ColumnRule:
    return replace(rule, format=fmt) if col.kind == "date" else rule
