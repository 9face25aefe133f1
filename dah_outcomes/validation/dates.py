"""Contract dates (ISO 8601, ``YYYY-MM-DD``) parsed in bulk, exactly as pandas parses them.

``pandas.to_datetime(format="ISO8601")`` parses text one value at a time: a second per
million values, most of a large import's typing. A column of plain ``YYYY-MM-DD`` dates (what
an export holds, and what the importer hands over) is read here from the Arrow text's bytes
with numpy: digits checked, year, month and day computed, impossible days (``2010-02-30``)
missing, as pandas makes them. Any other column (a time of day, another length, typed values)
goes to pandas as before, whole, so its result cannot differ.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

__all__ = ["parse_iso_dates"]

#: Byte positions of the digits and of the two dashes in ``YYYY-MM-DD``.
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]
_DASHES = [4, 7]


def parse_iso_dates(s: pd.Series) -> pd.Series:
    """``pd.to_datetime(s.str.strip(), errors="coerce", format="ISO8601")`` in seconds.

    Parameters
    ----------
    s : Series
        Text dates (any dtype pandas reads as text).

    Returns
    -------
    Series
        ``datetime64[s]``, same index and name; missing where the text is not a date.
    """
    text = s.astype("string")
    days = _plain_days(text)
    if days is None:
        out = pd.to_datetime(text.str.strip(), errors="coerce", format="ISO8601")
        return out.astype("datetime64[s]")
    return pd.Series(days, index=s.index, name=s.name)


def _plain_days(text: pd.Series) -> np.ndarray | None:
    """The dates of a column whose every value is ``DDDD-DD-DD`` (digits), else None."""
    if not (isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa

    arr = pa.chunked_array(pa.array(text.array)).combine_chunks()
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    n = len(arr)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    present = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if not present.any():
        return out
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    if not (np.diff(offsets)[present] == 10).all():
        return None
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    if present.all():  # the dates sit back to back: ten bytes a row, no copy
        rows = data[offsets[0] : offsets[-1]].reshape(-1, 10)
    else:  # one row of ten bytes per date, read through a sliding window (no index matrix)
        rows = np.lib.stride_tricks.sliding_window_view(data, 10)[offsets[:-1][present]]
    digits = rows[:, _DIGITS] - np.uint8(48)  # a byte below '0' wraps above 9
    if not ((digits <= 9).all() and (rows[:, _DASHES] == 45).all()):
        return None
    d = digits.astype(np.int32)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    # the first day of each month of years 0000-9999, looked up: one gather per value
    # instead of calendar arithmetic (a month 0 or 13 reads a neighbour and is rejected)
    starts = _month_starts()
    at = year * 12 + np.clip(month, 1, 12) - 1
    first = starts[at]
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= starts[at + 1] - first)
    parsed = ((first + day - 1) * 86400).astype("datetime64[s]")
    if present.all() and valid.all():
        return parsed
    out[np.flatnonzero(present)[valid]] = parsed[valid]
    return out


@functools.cache
def _month_starts() -> np.ndarray:
    """Days since 1970-01-01 of the first of every month from 0000-01 to 10000-01."""
    months = np.arange("0000-01", "10000-02", dtype="datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)
