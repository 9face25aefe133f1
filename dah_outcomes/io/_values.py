"""How a source value becomes a contract value: missing-value markers, numbers, dates, words.

Every function here translates values one column at a time and either gives the value the
source meant or leaves it for the validator to reject, marked where the raw text alone would
pass (``"0.8 (decimal ',' declared)"``, ``"1999 (partial date)"``): nothing is guessed. The
mapping (:mod:`~dah_outcomes.io.mapping`) decides which rule and options apply; the draft and
the mapping share the words (:mod:`~dah_outcomes.io._vocabulary`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.io._vocabulary import (
    DEFAULT_NA_VALUES,
    FALSE_WORDS,
    SEX_WORDS,
    TREATMENT_WORDS,
    TRUE_WORDS,
    VITAL_STATUS_WORDS,
    code_value,
    match_key,
    normalize_name,
    strip_text,
)
from dah_outcomes.schema import Column

__all__ = [
    "EPOCHS",
    "OFFSET_UNITS",
    "PARTIAL_DATES",
    "TIMES_OF_DAY",
    "UNITS",
    "ColumnRule",
    "ValueOptions",
    "apply_labels",
    "by_uniques",
    "offset_dates",
    "translate",
]

OFFSET_UNITS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}
#: Partial-date policies: a year or a year-month alone is rejected, or read as the first day
#: of the period, or as its middle (1 July, the 15th), as the mapping declares.
PARTIAL_DATES = ("reject", "first", "middle")
#: Time-of-day policies: a date with a time other than midnight is rejected, or its date kept.
TIMES_OF_DAY = ("reject", "date")

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

#: Numeric date formats: days since an epoch (SAS and Stata: 1960-01-01; Excel serial days).
EPOCHS = {
    "sas": pd.Timestamp("1960-01-01"),
    "stata": pd.Timestamp("1960-01-01"),
    "excel": pd.Timestamp("1899-12-30"),
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
class ValueOptions:
    """The mapping's options for reading values (see :mod:`~dah_outcomes.io.mapping`)."""

    date_format: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    na_values: frozenset[str] = frozenset(match_key(v) for v in DEFAULT_NA_VALUES)
    partial_dates: str = "reject"
    time_of_day: str = "reject"


def by_uniques(raw: pd.Series, translate: Callable[[pd.Series], pd.Series]) -> pd.Series:
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
    sample = raw.iloc[_first_positions(codes, len(uniques))]
    done = translate(sample)
    if done.dtype == raw.dtype and done.array.equals(sample.array):
        # every value translates to itself (ISO dates, plain codes): the column as it is,
        # without spreading a copy of it back over the rows
        same = raw.copy(deep=False)
        same.name = done.name
        return same
    return pd.Series(done.array.take(codes), index=raw.index, name=done.name)


def _first_positions(codes: np.ndarray, k: int) -> np.ndarray:
    """Position of the first element of each code ``0..k-1`` (codes from a factorisation).

    Factorisations number values in order of first appearance, so a first element is one
    whose code exceeds every code before it: one vectorised pass instead of a sort (checked,
    with a sort as the fallback).
    """
    if not len(codes):
        return np.empty(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate([[True], codes[1:] > seen[:-1]]))
    if len(first) == k and np.array_equal(codes[first], np.arange(k)):
        return first
    return np.unique(codes, return_index=True)[1]


def apply_labels(raw: pd.Series, labels: Mapping[Any, str]) -> pd.Series:
    """SPSS/Stata value labels applied to their codes (other values unchanged)."""
    lookup = {match_key(code_value(k)): v for k, v in labels.items()}
    keys = raw.map(lambda v: match_key(code_value(v)) if pd.notna(v) else None)
    mapped = keys.map(lookup)
    return raw.astype(object).where(mapped.isna(), mapped)


def missing_markers(s: pd.Series, na_values: frozenset[str]) -> pd.Series:
    """Text equal to a missing-value marker (``NA``, ``N/A``, ``.``...) made missing."""
    if not na_values:
        return s
    if isinstance(s.dtype, pd.StringDtype):
        hit = _arrow_markers(s, na_values)
        if hit is None:
            hit = s.str.casefold().isin(na_values).fillna(False).to_numpy(dtype=bool)
        return s.mask(hit) if hit.any() else s
    if s.dtype != object:
        return s
    hit = s.map(lambda v: isinstance(v, str) and v.casefold() in na_values).to_numpy(dtype=bool)
    return s.where(~hit, None) if hit.any() else s


def _arrow_markers(s: pd.Series, na_values: frozenset[str]) -> np.ndarray | None:
    """The marker test in Arrow's kernels (a million ids in milliseconds, not a Python pass
    per value); None when the text is not Arrow-backed or a marker is not plain ASCII (where
    ``lower`` and ``casefold`` could differ)."""
    if s.dtype != pd.StringDtype("pyarrow") or not all(v.isascii() for v in na_values):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.chunked_array(s.array._pa_array) if hasattr(s.array, "_pa_array") else None
    if arr is None:
        return None
    hit = pc.is_in(pc.ascii_lower(arr), value_set=pa.array(sorted(na_values)))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def translate(raw: pd.Series, col: Column, rule: ColumnRule, opts: ValueOptions) -> pd.Series:
    """One source column translated to contract values of ``col`` (not yet typed).

    Parameters
    ----------
    raw : Series
        The source column.
    col : Column
        The contract column.
    rule : ColumnRule
        How the mapping reads it.
    opts : ValueOptions
        The mapping's value options.

    Returns
    -------
    Series
        Contract values; what cannot be translated is left (marked where needed) for the
        validator to report.
    """
    s = missing_markers(strip_text(raw), opts.na_values)
    if rule.values is not None:
        s = _value_map(s, rule.values)
    # the built-in vocabularies apply to whatever the explicit map left untouched
    if col.kind == "bool":
        s = _value_map(s, _BOOL_WORDS, keep_typed=True)
    elif col.name == "sex":
        s = _value_map(s, SEX_WORDS)
    elif col.name == "vital_status":
        s = _value_map(s, VITAL_STATUS_WORDS)
    elif col.name == "treatment":
        s = _treatment_names(s)
    if col.kind == "date":
        return _dates(s, rule.format or opts.date_format, opts)
    if col.kind in ("int", "float"):
        return _numbers(s, col, rule, rule.decimal or opts.decimal, opts.thousands)
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
_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}

# ---------------------------------------------------------------- dates

_ISO_DAY = r"\d{4}-\d{2}-\d{2}"
_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$|^(\d{1,2})/(\d{4})$")
_WITH_TIME = re.compile(
    r"^(" + _ISO_DAY + r")[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)


def _dates(s: pd.Series, fmt: str | None, opts: ValueOptions) -> pd.Series:
    """Parsed dates as ISO text; what is not a whole date is left raw or marked for the
    validator (partial dates and times of day unless the mapping's policy reads them)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return _timestamps(s, opts)
    if fmt is None and isinstance(s.dtype, pd.StringDtype) and _all_ten_long(s):
        # only a value of another length can be a year, a year-month or a time of day
        return s  # dates go to the validator as they are
    obj = s.astype(object)
    text = obj.map(_as_text)
    if fmt is None:
        return text.map(lambda v: _precision(v, opts) if isinstance(v, str) else v)
    if fmt in EPOCHS:
        num = pd.to_numeric(text, errors="coerce")
        ok = (num.notna() & (num.abs() < 3e6)).to_numpy(dtype=bool)
        out = text.astype(object)
        if ok.any():
            days = pd.to_timedelta(num[ok].to_numpy(dtype=float).round(), unit="D")
            out[ok] = (EPOCHS[fmt] + days).strftime("%Y-%m-%d").to_numpy()
        return out
    parsed = pd.to_datetime(
        text.where(text.map(lambda v: isinstance(v, str))), format=fmt, errors="coerce"
    )
    if opts.partial_dates == "middle" and not re.search("%[dje]", fmt):
        # a format without a day reads the first of the period: the declared middle instead
        shift = pd.DateOffset(days=14) if re.search("%[mbB]", fmt) else pd.DateOffset(months=6)
        parsed = parsed + shift
    iso = parsed.dt.strftime("%Y-%m-%d")
    # a value breaking the declared format is marked so the validator's lenient parser cannot
    # read it some other way (12/03/1975 is not silently taken as 3 December)
    bad = parsed.isna() & text.map(lambda v: isinstance(v, str))
    marked = text.map(lambda v: _not_format(v, fmt) if isinstance(v, str) else v)
    return text.where(parsed.isna(), iso).where(~bad, marked)


def _all_ten_long(s: pd.Series) -> bool:
    """Whether every value present is 10 characters long (Arrow's kernel when the text is
    Arrow's: pandas' ``str.len`` builds a nullable integer column to compare)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        lengths = pc.utf8_length(pa.chunked_array(pa.array(s.array)))
        return lengths.null_count == len(lengths) or bool(pc.all(pc.equal(lengths, 10)).as_py())
    return bool((s.str.len() == 10).fillna(True).all())


def _not_format(v: str, fmt: str) -> str:
    """The mark of a value breaking the declared format (a partial date named as such)."""
    if _YEAR.match(v) or _YEAR_MONTH.match(v):
        return f"{v} (partial date)"
    return f"{v} (not {fmt})"


def _as_text(v: Any) -> Any:
    if isinstance(v, str) or v is None:
        return v
    if isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "strftime"):
        if pd.isna(v):
            return None
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)  # the wall-clock date where it was recorded
        if ts != ts.normalize():
            return ts.strftime("%Y-%m-%dT%H:%M:%S")  # judged as text: a time of day
        return ts.strftime("%Y-%m-%d")
    return v


def _timestamps(s: pd.Series, opts: ValueOptions) -> pd.Series:
    """Typed datetimes (Parquet, Excel): timezone dropped for the local date; a time of day
    other than midnight is rejected unless the mapping keeps the date."""
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    timed = (s.notna() & (s != s.dt.normalize())).to_numpy(dtype=bool)
    if not timed.any():
        return s
    if opts.time_of_day == "date":
        return s.dt.normalize()
    out = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
    out[timed] = s[timed].dt.strftime("%Y-%m-%dT%H:%M:%S (time of day)").to_numpy()
    return out


def _precision(v: str, opts: ValueOptions) -> str:
    """A text date checked for its precision: whole dates pass; a time of day, a year or a
    year-month follow the mapping's policies (else they are marked for the validator)."""
    if len(v) == 10:
        return v
    timed = _WITH_TIME.match(v)
    if timed:
        day, h, m, sec, frac = timed.groups()
        if int(h) == int(m) == int(sec or 0) == 0 and not (frac and int(frac)):
            return day
        return day if opts.time_of_day == "date" else f"{v} (time of day)"
    year = _YEAR.match(v)
    ym = _YEAR_MONTH.match(v)
    if not (year or ym):
        return v
    if opts.partial_dates == "reject":
        return f"{v} (partial date)"
    middle = opts.partial_dates == "middle"
    if year:
        return f"{year[1]}-07-01" if middle else f"{year[1]}-01-01"
    assert ym is not None
    y, mo = (ym[1], ym[2]) if ym[1] else (ym[4], ym[3])
    if not 1 <= int(mo) <= 12:
        return f"{v} (partial date)"
    return f"{y}-{int(mo):02d}-{15 if middle else 1:02d}"


# ---------------------------------------------------------------- numbers

_GROUPED = {
    sep: re.compile(r"^[+-]?\d{1,3}(?:" + re.escape(sep) + r"\d{3})+$")
    for sep in (",", ".", " ", "'", "\u00a0", "\u202f", "_")
}


def _numbers(
    s: pd.Series, col: Column, rule: ColumnRule, decimal: str | None, thousands: str | None
) -> pd.Series:
    obj = s.astype(object)
    factor = (
        rule.scale
        if rule.scale is not None
        else (UNITS[(col.name, str(rule.unit).lower())] if rule.unit else None)
    )
    if (decimal and decimal != ".") or thousands:
        obj = obj.map(lambda v: _number_text(v, decimal or ".", thousands))
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


def _number_text(v: Any, decimal: str, thousands: str | None) -> Any:
    """A number written with the declared decimal mark and thousands separator, in the
    ``1234.5`` form; a value using another mark is marked for the validator, never reread
    (with ``decimal = ","``, ``"0.8"`` is not 8)."""
    if not isinstance(v, str):
        return v
    whole, point, frac = v.partition(decimal)
    if thousands:
        for sep in (" ", "\u00a0", "\u202f") if thousands == " " else (thousands,):
            if sep in whole:
                if not _GROUPED[sep].match(whole):
                    return f"{v} (thousands separator {thousands!r} not in groups of three)"
                whole = whole.replace(sep, "")
    if any(mark in whole or mark in frac for mark in {",", "."} - {decimal}):
        return f"{v} (decimal {decimal!r} declared)"
    return whole + ("." + frac if point else "")


def offset_dates(
    raw: pd.Series, base: pd.Series | None, rule: ColumnRule, opts: ValueOptions
) -> pd.Series:
    """Dates given as a number of units after another contract date.

    Parameters
    ----------
    raw : Series
        The source numbers.
    base : Series or None
        The contract date they count from (None when it is absent: the numbers are left to
        fail as dates, with their rows).
    rule : ColumnRule
        With ``offset_from`` and ``offset_unit``.
    opts : ValueOptions
        The mapping's value options.

    Returns
    -------
    Series
        ISO dates where both are known, the source value otherwise.
    """
    s = missing_markers(strip_text(raw), opts.na_values)
    d = rule.decimal or opts.decimal
    if d and d != ".":
        s = s.map(lambda v: _number_text(v, d, None) if isinstance(v, str) else v)
    if base is None:
        return s
    num = pd.to_numeric(s, errors="coerce")
    start = pd.to_datetime(base, errors="coerce", format="mixed")
    days = np.round(num.to_numpy(dtype=float) * OFFSET_UNITS[rule.offset_unit])
    ok = np.isfinite(days) & (np.abs(np.nan_to_num(days)) < 1e6) & start.notna().to_numpy()
    out = s.astype(object).copy()
    if ok.any():
        dates = start[ok] + pd.to_timedelta(days[ok], unit="D")
        out[ok] = dates.dt.strftime("%Y-%m-%d").to_numpy()
    return out
