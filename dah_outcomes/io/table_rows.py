"""Where a table sits in its file: the header below title lines, the data above totals.

A registry's export saved from Excel often opens with a title (``"Registro de HAD 2024"``)
and a blank line, and closes with a totals line and a footnote. :func:`find_table_rows`
finds the header row and the lines to leave off the end; ``init-mapping`` writes them into
the mapping (``header_row``, ``skip_footer``) and
:func:`~dah_outcomes.io.readers.read_table` honours them.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from dah_outcomes.errors import CohortFileError
from dah_outcomes.io.readers import detect_encoding, detect_format, sniff_file

__all__ = ["FOOTER_WORDS", "TableRows", "find_table_rows"]


@dataclass(frozen=True, slots=True)
class TableRows:
    """Where the table sits in a file with title lines above or totals lines below it.

    Attributes
    ----------
    header_row : int
        File line (sheet row) of the header.
    skip_footer : int
        Non-blank lines at the end that are not data.
    titles, footers : tuple of str
        The lines left out, as text (for the draft's comments).
    """

    header_row: int = 1
    skip_footer: int = 0
    titles: tuple[str, ...] = ()
    footers: tuple[str, ...] = ()


#: First words of a line that closes a table rather than holding a record (normalised).
FOOTER_WORDS = (
    "total",
    "totals",
    "totales",
    "totaux",
    "totais",
    "gesamt",
    "summe",
    "sum",
    "note",
    "notes",
    "nota",
    "notas",
    "footnote",
    "source",
    "fuente",
    "fonte",
    "quelle",
    "anmerkung",
    "remarque",
    "n=",
)


def find_table_rows(
    path: str | Path, *, format: str | None = None, sheet: str | int | None = None
) -> TableRows:
    """Find the header below title lines and the totals or footnote lines below the data.

    A title is a line above the first one with at least half as many filled cells as the
    widest line (and two at least); a footer is a line at the end with one filled cell or
    whose first cell begins with a word such as ``Total``, ``Totales``, ``Note:``.

    Parameters
    ----------
    path : path
        A CSV, TSV or Excel file.
    format : str, optional
        As for :func:`~dah_outcomes.io.readers.read_table`.
    sheet : str or int, optional
        Excel sheet name (or position); the first sheet by default.

    Returns
    -------
    TableRows
        ``header_row = 1, skip_footer = 0`` for other formats and for plain tables.

    Raises
    ------
    CohortFileError
        If the file is missing or is not what its format says (a binary file as CSV).
    """
    path = Path(path)
    if not path.is_file():
        raise CohortFileError(f"{path} does not exist or is not a file")
    fmt = format or detect_format(path)
    if fmt not in ("csv", "tsv", "excel"):
        return TableRows()
    sniff_file(path, fmt)  # a binary file is named here, not split into cells
    try:
        rows = _excel_rows(path, sheet) if fmt == "excel" else _text_rows(path, _TAB.get(fmt))
    except (csv.Error, OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile):
        return TableRows()  # what the reader then says about the file is the message
    return _locate(rows)


_TAB = {"tsv": "\t"}


def _text_rows(path: Path, delim: str | None) -> list[tuple[int, list[str]]]:
    """The first and last 50 non-blank lines split into cells (the delimiter sniffed)."""
    enc = detect_encoding(path)
    head: list[tuple[int, str]] = []
    tail: deque[tuple[int, str]] = deque(maxlen=50)
    with open(path, encoding=enc, newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            (head if len(head) < 50 else tail).append((number, line))
    sample = [t for _, t in head]
    if not sample:
        return []
    if delim is None:
        # Excel pads every line of a sheet to its width: the steadiest count wins
        def steady(d: str) -> tuple[int, bool]:
            widths = [len(next(csv.reader([t], delimiter=d), [])) for t in sample]
            common = max(set(widths), key=widths.count)
            return (widths.count(common) if common > 1 else 0, d == ",")

        delim = max((",", ";", "\t", "|"), key=steady)
    out = [*head, *tail]
    return [(n, next(csv.reader([t], delimiter=delim), [])) for n, t in out]


def _excel_rows(path: Path, sheet: str | int | None) -> list[tuple[int, list[str]]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out = []
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet or 0]
        for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            values = ["" if v is None else str(v) for v in cells]
            if any(v.strip() for v in values):
                out.append((number, values))
    finally:
        wb.close()
    return out


def _locate(rows: list[tuple[int, list[str]]]) -> TableRows:
    filled = [sum(1 for c in cells if c.strip()) for _, cells in rows]
    if not rows or max(filled) < 2:
        return TableRows()
    widest = max(filled[:50])
    top = next(i for i, n in enumerate(filled) if n >= max(2, (widest + 1) // 2))
    end = len(rows) - 1
    while end > top + 1 and _is_footer(rows[end][1]):
        end -= 1

    def text(part: list[tuple[int, list[str]]]) -> tuple[str, ...]:
        return tuple(t for t in (" ".join(c for c in v if c.strip()) for _, v in part) if t)

    titles, footers = text(rows[:top]), text(rows[end + 1 :])
    return TableRows(rows[top][0], len(rows) - 1 - end, titles, footers)


def _is_footer(cells: list[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) <= 1:
        return True
    word = re.split(r"[^\w=]+", filled[0].casefold())[0]
    return word in FOOTER_WORDS or filled[0].startswith("*")
