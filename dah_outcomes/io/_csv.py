"""The CSV pieces the whole-file reader and the streamed import share.

:mod:`~dah_outcomes.io.readers` (the fast whole-file path) and
:mod:`~dah_outcomes.io.streaming` (chunks of a large file) must split a file into the same
fields and the same missing values, or a streamed import would not give the result of a whole
read. Both therefore take the delimiter and the pyarrow options from here.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["DELIMITERS", "arrow_csv_options", "detect_delimiter"]

#: Field delimiters considered when the caller does not give one.
DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(first_line: str) -> str:
    """The candidate delimiter most frequent in the header outside quotes (',' on a tie).

    Parameters
    ----------
    first_line : str
        The file's first (header) line.

    Returns
    -------
    str
        One of :data:`DELIMITERS`; ``","`` when none occurs.
    """
    unquoted = "".join(part for i, part in enumerate(first_line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def arrow_csv_options(path: Path, enc: str, delim: str) -> dict[str, Any]:
    """pyarrow CSV options of the fast readers.

    Every column is read as text, empty fields are missing, and records sit on one line (a
    quoted line break makes pyarrow fail, which sends the caller to the careful reader).

    Parameters
    ----------
    path : Path
        The CSV file (its header names the columns typed as text).
    enc : str
        Text encoding, as detected (``utf-8``, ``utf-8-sig`` or ``latin-1``).
    delim : str
        Field delimiter.

    Returns
    -------
    dict
        ``read_options``, ``parse_options`` and ``convert_options`` for
        :func:`pyarrow.csv.read_csv` or :func:`pyarrow.csv.open_csv`.
    """
    from pyarrow import csv as pacsv

    return {
        # 4 MiB blocks: the streamed reader parses a 16 MiB block several times slower
        "read_options": pacsv.ReadOptions(encoding=_arrow_encoding(enc), block_size=1 << 22),
        "parse_options": pacsv.ParseOptions(delimiter=delim, newlines_in_values=False),
        "convert_options": pacsv.ConvertOptions(
            column_types=_all_strings(path, enc, delim),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    }


def _arrow_encoding(enc: str) -> str:
    return "utf8" if enc in ("utf-8", "utf-8-sig") else enc


def _all_strings(path: Path, enc: str, delim: str) -> dict[str, Any]:
    import pyarrow as pa

    with open(path, encoding=enc, newline="") as fh:
        names = next(csv.reader(fh, delimiter=delim), [])
    # pandas keeps Arrow text as large_string: read as such, no cast of every column
    return {n: pa.large_string() for n in names}
