"""Which date format a column's values are written in, read from the values themselves.

A registry writes ``18/12/2008`` (day first), ``12/18/2008`` (month first) or
``2008-12-18`` (ISO). The values say which when a first field exceeds 12 (day first) or a
second one does (month first); when neither does, both readings fit every value and the
column is ambiguous: :func:`~dah_outcomes.io.draft.draft_mapping` then writes a TODO naming
both readings rather than pick one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pandas as pd

__all__ = ["DateGuess", "infer_date_format"]

_PARTS = re.compile(r"^(\d{1,4})([-/.])(\d{1,2})\2(\d{2}|\d{4})$")


@dataclass(frozen=True, slots=True)
class DateGuess:
    """What a column's date values say about their format.

    Attributes
    ----------
    format : str or None
        The strptime format every value fits (None for ISO dates, which always parse, and
        when the values do not decide).
    order : str
        ``"iso"``, ``"day"`` (day first), ``"month"`` (month first), ``"ambiguous"`` (both
        readings fit), ``"mixed"`` (some values day first, some month first) or ``"none"``
        (no value looks like a date).
    readings : tuple of str
        The formats that fit, when the values do not decide between them.
    example : str or None
        A value that shows the order (``"18/12/2008"``), or the first value.
    bad : tuple of str
        Values that do not parse in the format found (a few, for the draft's note).
    n_bad : int
        How many distinct values do not parse.
    """

    format: str | None
    order: str
    readings: tuple[str, ...] = ()
    example: str | None = None
    bad: tuple[str, ...] = ()
    n_bad: int = 0


def infer_date_format(values: pd.Series) -> DateGuess:
    """The date format of a column's text values.

    Parameters
    ----------
    values : Series
        Non-missing values as text.

    Returns
    -------
    DateGuess
    """
    text = pd.Series(pd.unique(values.astype(str).str.strip()), dtype=object)
    parts = [(v, _PARTS.match(v)) for v in text]
    split = [(v, m.groups()) for v, m in parts if m]
    if not split:
        return DateGuess(None, "none", example=text.iloc[0] if len(text) else None)
    # the pattern most values follow: separator, and whether the year comes first
    shape = Counter((g[1], len(g[0]) == 4, len(g[3])) for _, g in split).most_common(1)[0][0]
    sep, year_first, year_len = shape
    same = [(v, g) for v, g in split if (g[1], len(g[0]) == 4, len(g[3])) == shape]
    year = "%Y" if year_len == 4 else "%y"
    if year_first:
        fmt = f"%Y{sep}%m{sep}%d"
        return _checked(text, fmt if sep != "-" else None, "iso", same[0][0], fmt)
    day = next((v for v, g in same if int(g[0]) > 12), None)
    month = next((v for v, g in same if int(g[2]) > 12), None)
    day_fmt, month_fmt = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
    if day and month:
        return DateGuess(None, "mixed", (day_fmt, month_fmt), day)
    if day or month:
        fmt = day_fmt if day else month_fmt
        return _checked(text, fmt, "day" if day else "month", str(day or month), fmt)
    return DateGuess(None, "ambiguous", (day_fmt, month_fmt), same[0][0])


def _checked(text: pd.Series, fmt: str | None, order: str, example: str, parse: str) -> DateGuess:
    ok = pd.to_datetime(text, format=parse, errors="coerce").notna()
    bad = tuple(text[~ok].iloc[:3])
    return DateGuess(fmt, order, (), example, bad, int((~ok).sum()))
