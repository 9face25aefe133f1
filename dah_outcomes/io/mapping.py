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
same name (ignoring case, spaces and punctuation) when there is one.

:func:`apply_mapping` only translates: a value it cannot translate is passed on unchanged, so
that the validator reports it with the source row, the value and a hint. Nothing is dropped.
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._vocabulary import (
    CONTRACT,
    COURSE_FIELDS,
    FALSE_WORDS,
    LAYOUTS,
    SEX_WORDS,
    TREATMENT_WORDS,
    TRUE_WORDS,
    code_value,
    match_key,
    normalize_name,
    strip_text,
)
from dah_outcomes.schema import TABLES, TREATMENT_FLAGS, Column
from dah_outcomes.validation import first_positions

__all__ = [
    "LAYOUTS",
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
    "columns",
    "treatments",
    "redcap",
    "adtte",
    "use_value_labels",
    "description",
}
_RULE_KEYS = {
    "source",
    "values",
    "format",
    "offset_from",
    "offset_unit",
    "decimal",
    "unit",
    "scale",
    "value",
}
_OFFSET_UNITS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}

#: Unit conversions to the contract's units: (contract column, source unit) -> factor.
UNITS: dict[tuple[str, str], float] = {
    ("hemoglobin_drop", "g/dl"): 1.0,
    ("hemoglobin_drop", "g/l"): 0.1,
    ("hemoglobin_drop", "mmol/l"): 1.0 / 0.6206,  # haemoglobin (monomer) 1 g/dL = 0.6206 mmol/L
    ("methylprednisolone_dose_mg", "mg"): 1.0,
    ("methylprednisolone_dose_mg", "g"): 1000.0,
    ("ventilation_days", "days"): 1.0,
    ("ventilation_days", "weeks"): 7.0,
    ("dose_mg", "mg"): 1.0,
    ("dose_mg", "g"): 1000.0,
}


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """How one contract column is obtained from the source."""

    target: str
    sources: tuple[str, ...] = ()
    values: Mapping[str, Any] | None = None
    format: str | None = None
    offset_from: str | None = None
    offset_unit: str = "days"
    decimal: str | None = None
    unit: str | None = None
    scale: float | None = None
    constant: Any = None


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
        On an unknown key, layout, contract column or option (listing the valid ones).
    """
    if source is None:
        return ImportMapping()
    if isinstance(source, ImportMapping):
        return source
    path = None
    if isinstance(source, Mapping):
        data, text = dict(source), json.dumps(dict(source), indent=2, default=str)
    else:
        text, path = _mapping_text(source)
        try:
            if path is not None and Path(path).suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            else:
                data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ArgumentError(f"mapping {path or '(text)'} is not valid: {exc}") from exc
        except Exception as exc:  # yaml.YAMLError does not subclass ValueError
            raise ArgumentError(f"mapping {path or '(text)'} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ArgumentError(f"mapping {path or '(text)'} must be a table of keys")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ArgumentError(
            f"unknown mapping key(s) {sorted(unknown)}; valid keys are {sorted(_TOP_KEYS)}"
        )
    layout = data.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise ArgumentError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    columns = {name: _rule(name, spec) for name, spec in (data.get("columns") or {}).items()}
    return ImportMapping(
        layout=layout,
        columns=MappingProxyType(columns),
        treatments=_treatment_rules(data.get("treatments")),
        date_format=data.get("date_format"),
        decimal=data.get("decimal"),
        use_value_labels=bool(data.get("use_value_labels", True)),
        redcap=MappingProxyType(dict(data.get("redcap") or {})),
        adtte=MappingProxyType(dict(data.get("adtte") or {})),
        text=text,
        path=str(path) if path else None,
    )


def _mapping_text(source: str | Path) -> tuple[str, Path | None]:
    as_path = Path(source)
    looks_like_path = isinstance(source, Path) or (
        "\n" not in str(source) and "=" not in str(source)
    )
    if looks_like_path:
        if not as_path.exists():
            raise ArgumentError(
                f"mapping file {as_path} does not exist (draft one with "
                "`dah-outcomes init-mapping SOURCE`)"
            )
        return as_path.read_text(encoding="utf-8"), as_path
    return str(source), None


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
            {f: _rule(f, fields[f], where=where) for f in COURSE_FIELDS if f in fields}
        )
    return MappingProxyType(out)


def _rule(name: str, spec: Any, where: str = "[columns]") -> ColumnRule:
    if name not in CONTRACT:
        raise ArgumentError(
            f"{where} {name!r} is not a contract column; valid names are {sorted(CONTRACT)}"
        )
    if isinstance(spec, str):
        return ColumnRule(name, sources=(spec,))
    if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        return ColumnRule(name, sources=tuple(spec))
    if not isinstance(spec, dict):
        raise ArgumentError(
            f"{where} {name} must be a source column name, a list of names "
            f"or a table of options {sorted(_RULE_KEYS)}; got {spec!r}"
        )
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise ArgumentError(
            f"{where} {name}: unknown option(s) {sorted(unknown)}; valid "
            f"options are {sorted(_RULE_KEYS)}"
        )
    src = spec.get("source", ())
    sources = (src,) if isinstance(src, str) else tuple(src)
    unit = spec.get("unit")
    if unit is not None and (name, str(unit).lower()) not in UNITS:
        known = sorted(u for c, u in UNITS if c == name)
        raise ArgumentError(
            f"{where} {name}: unit {unit!r} unknown; known units are {known} "
            "(or give scale = factor)"
        )
    offset_unit = spec.get("offset_unit", "days")
    if offset_unit not in _OFFSET_UNITS:
        raise ArgumentError(
            f"{where} {name}: offset_unit must be one of "
            f"{sorted(_OFFSET_UNITS)}, got {offset_unit!r}"
        )
    values = spec.get("values")
    return ColumnRule(
        name,
        sources=sources,
        values=MappingProxyType({match_key(k): v for k, v in values.items()}) if values else None,
        format=spec.get("format"),
        offset_from=spec.get("offset_from"),
        offset_unit=offset_unit,
        decimal=spec.get("decimal"),
        unit=unit,
        scale=spec.get("scale"),
        constant=spec.get("value"),
    )


def find_column(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` present in ``columns``: exact, else ignoring case/punctuation.

    Parameters
    ----------
    columns : Index
        The source's column names.
    names : tuple of str
        Candidate names, in order of preference.

    Returns
    -------
    str or None
        The source column found, None when no candidate is present.
    """
    for n in names:
        if n in columns:
            return n
    norm = {normalize_name(c): c for c in reversed(list(columns))}
    for n in names:
        hit = norm.get(normalize_name(n))
        if hit is not None:
            return hit
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

    Returns
    -------
    Translation
    """
    if table not in TABLES:
        raise ArgumentError(f"table must be one of {sorted(TABLES)}, got {table!r}")
    mapping = mapping or ImportMapping()
    out = pd.DataFrame(index=frame.index)
    used: dict[str, str] = {}
    missing: list[str] = []
    pending: list[tuple[Column, ColumnRule, pd.Series]] = []
    for col in TABLES[table]:
        rule = mapping.columns.get(col.name)
        if rule is not None and rule.constant is not None:
            out[col.name] = pd.Series(str(rule.constant), index=frame.index, dtype=object)
            continue
        names = rule.sources if rule is not None and rule.sources else (col.name,)
        src = find_column(frame.columns, names)
        if src is None:
            if rule is not None and rule.sources:
                missing.append(" | ".join(rule.sources))
            continue
        used[col.name] = str(src)
        raw = frame[src]
        if mapping.use_value_labels and value_labels and src in value_labels:
            raw = _apply_labels(raw, value_labels[src])
        rule = rule or ColumnRule(col.name)
        if rule.offset_from:
            pending.append((col, rule, raw))  # needs its base date translated first
            continue
        out[col.name] = _by_uniques(
            raw, functools.partial(_translate, col=col, rule=rule, mapping=mapping)
        )
    for col, rule, raw in pending:
        base = out.get(rule.offset_from)
        if base is None and rule.offset_from in CONTRACT:
            # the base date may belong to the other table (death days after DAH onset)
            base = _base_date(frame, mapping, rule.offset_from)
        out[col.name] = _offset(raw, base, rule, mapping)
    order = [c.name for c in TABLES[table] if c.name in out.columns]
    unmapped = tuple(str(c) for c in frame.columns if str(c) not in set(used.values()))
    return Translation(out[order], MappingProxyType(used), tuple(missing), unmapped)


def _by_uniques(raw: pd.Series, translate: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``translate(raw)`` computed once per distinct value and spread back to every row.

    A registry column holds few distinct values (flags, codes, a few thousand dates) for
    millions of rows, and every translation is a function of the value alone, so this gives
    the same Series (values, dtype) as translating every row. Only text is grouped this way:
    for other types equal hashes are not always equal translations (``True`` and ``1``).
    """
    n = len(raw)
    if n < 64 or not isinstance(raw.dtype, pd.StringDtype):
        return translate(raw)
    probe = raw.iloc[:4096]
    if len(pd.unique(probe)) > len(probe) // 2:
        return translate(raw)  # identifiers: grouping would not pay
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    if len(uniques) > n // 2:
        return translate(raw)
    done = translate(raw.iloc[first_positions(codes, len(uniques))])
    return pd.Series(done.array.take(codes), index=raw.index, name=done.name)


def _base_date(frame: pd.DataFrame, mapping: ImportMapping, name: str) -> pd.Series | None:
    rule = mapping.columns.get(name) or ColumnRule(name)
    src = find_column(frame.columns, rule.sources or (name,))
    if src is None or rule.offset_from:
        return None
    return _translate(frame[src], CONTRACT[name], rule, mapping)


def _apply_labels(raw: pd.Series, labels: Mapping[Any, str]) -> pd.Series:
    lookup = {match_key(code_value(k)): v for k, v in labels.items()}
    keys = raw.map(lambda v: match_key(code_value(v)) if pd.notna(v) else None)
    mapped = keys.map(lookup)
    return raw.astype(object).where(mapped.isna(), mapped)


def _translate(raw: pd.Series, col: Column, rule: ColumnRule, mapping: ImportMapping) -> pd.Series:
    s = strip_text(raw)
    if rule.values is not None:
        s = _value_map(s, rule.values)
    # the built-in vocabularies apply to whatever the explicit map left untouched
    if col.kind == "bool":
        s = _value_map(s, _BOOL_WORDS, keep_typed=True)
    elif col.name == "sex":
        s = _value_map(s, SEX_WORDS)
    elif col.name == "treatment":
        s = _treatment_names(s)
    if col.kind == "date":
        fmt = rule.format or mapping.date_format
        return _dates(s, fmt)
    if col.kind in ("int", "float"):
        return _numbers(s, col, rule, rule.decimal or mapping.decimal)
    if col.kind in ("string", "category"):
        if isinstance(s.dtype, pd.StringDtype):
            return s
        return s.map(lambda v: code_value(v) if v is not None and not pd.isna(v) else v).map(
            lambda v: str(v) if v is not None and not pd.isna(v) else None
        )
    return s


def _treatment_names(s: pd.Series) -> pd.Series:
    """A treatment's name as a source writes it (``"Plasma exchange"``) -> its flag name."""
    return s.astype(object).map(
        lambda v: TREATMENT_WORDS.get(normalize_name(v), v) if isinstance(v, str) else v
    )


def _value_map(s: pd.Series, values: Mapping[str, Any], keep_typed: bool = False) -> pd.Series:
    table = {match_key(k): v for k, v in values.items()}
    if isinstance(s.dtype, pd.StringDtype):  # vectorised path for text sources
        mapped = s.str.strip().str.casefold().astype(object).map(table)
        hit = s.notna().to_numpy() & mapped.notna().to_numpy()
        return s.astype(object).where(~hit, mapped)

    def one(v: Any) -> Any:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return v
        if keep_typed and isinstance(v, bool | np.bool_):
            return v
        hit = table.get(match_key(code_value(v)), _MISSING)
        return v if hit is _MISSING else hit

    return s.astype(object).map(one)


_MISSING = object()
#: Numeric date formats: days since an epoch (SAS and Stata: 1960-01-01; Excel serial days).
_EPOCHS = {
    "sas": pd.Timestamp("1960-01-01"),
    "stata": pd.Timestamp("1960-01-01"),
    "excel": pd.Timestamp("1899-12-30"),
}
_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}


def _dates(s: pd.Series, fmt: str | None) -> pd.Series:
    """Parsed dates as ISO text; unparsable values kept raw so the validator reports them."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    if fmt is None and isinstance(s.dtype, pd.StringDtype):
        return s  # text dates go to the validator as they are
    obj = s.astype(object)
    text = obj.map(
        lambda v: (
            v
            if isinstance(v, str)
            else (v.strftime("%Y-%m-%d") if hasattr(v, "strftime") and not pd.isna(v) else v)
        )
    )
    if fmt is None:
        return text
    if fmt in _EPOCHS:
        num = pd.to_numeric(text, errors="coerce")
        ok = (num.notna() & (num.abs() < 3e6)).to_numpy(dtype=bool)
        out = text.astype(object)
        if ok.any():
            days = pd.to_timedelta(num[ok].to_numpy(dtype=float).round(), unit="D")
            out[ok] = (_EPOCHS[fmt] + days).strftime("%Y-%m-%d").to_numpy()
        return out
    parsed = pd.to_datetime(
        text.where(text.map(lambda v: isinstance(v, str))), format=fmt, errors="coerce"
    )
    iso = parsed.dt.strftime("%Y-%m-%d")
    # a value breaking the declared format is marked so the validator's lenient parser cannot
    # read it some other way (12/03/1975 is not silently taken as 3 December)
    bad = parsed.isna() & text.map(lambda v: isinstance(v, str))
    marked = text.map(lambda v: f"{v} (not {fmt})" if isinstance(v, str) else v)
    return text.where(parsed.isna(), iso).where(~bad, marked)


def _numbers(s: pd.Series, col: Column, rule: ColumnRule, decimal: str | None) -> pd.Series:
    obj = s.astype(object)
    factor = (
        rule.scale
        if rule.scale is not None
        else (UNITS[(col.name, str(rule.unit).lower())] if rule.unit else None)
    )
    if decimal and decimal != ".":
        obj = obj.map(
            lambda v: v.replace(".", "").replace(decimal, ".") if isinstance(v, str) else v
        )
    if factor is None or factor == 1.0:
        return obj
    num = pd.to_numeric(obj, errors="coerce")
    # 12 significant digits drop the binary noise of the product (45 g/L * 0.1 is 4.5, not
    # 4.500000000000001) while keeping every digit a registry records
    scaled = (num * factor).map(lambda v: float(f"{v:.12g}") if pd.notna(v) else v)
    if col.kind == "int":
        # a converted count is rounded to whole units: the validator checks the range
        scaled = scaled.round()
    return obj.where(num.isna(), scaled.astype(object))


def _offset(
    raw: pd.Series, base: pd.Series | None, rule: ColumnRule, mapping: ImportMapping
) -> pd.Series:
    """Dates given as a number of units after another contract date."""
    s = strip_text(raw)
    d = rule.decimal or mapping.decimal
    if d:
        s = s.map(lambda v: v.replace(d, ".") if isinstance(v, str) else v)
    if base is None:
        return s  # the base column is absent: the raw numbers fail as dates, with their rows
    num = pd.to_numeric(s, errors="coerce")
    start = pd.to_datetime(base, errors="coerce", format="mixed")
    days = np.round(num.to_numpy(dtype=float) * _OFFSET_UNITS[rule.offset_unit])
    ok = np.isfinite(days) & (np.abs(np.nan_to_num(days)) < 1e6) & start.notna().to_numpy()
    out = s.astype(object).copy()
    if ok.any():
        dates = start[ok] + pd.to_timedelta(days[ok], unit="D")
        out[ok] = dates.dt.strftime("%Y-%m-%d").to_numpy()
    return out


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
            values[name] = _offset(frame[src], base, rule, mapping)
            continue
        if date_format and rule.format is None and mapping.date_format is None:
            rule = _with_format(rule, date_format, cols[name])
        values[name] = _translate(frame[src], cols[name], rule, mapping)
    return values


def _with_format(rule: ColumnRule, fmt: str, col: Column) -> ColumnRule:
    from dataclasses import replace

    return replace(rule, format=fmt) if col.kind == "date" else rule
