"""Read a source table of any common format into a :class:`RawTable`, changing nothing.

Values are kept as the source holds them: text formats (CSV/TSV, JSON lines) give strings,
typed formats (Parquet, SAS, SPSS, Stata, Excel dates) keep their types. No value is coerced
here; translation belongs to :mod:`dah_outcomes.io.mapping` and checking to
:mod:`dah_outcomes.validation`. Every frame is indexed by the **source row number** (CSV: the
file line where the record starts, the header being line 1; Excel: the sheet row; other
formats: the record number from 1) so that every problem can be traced back to the source.

Rows the reader cannot split cleanly (a CSV record with too many or too few fields, a JSON line
that does not parse or repeats a key) are kept, padded or truncated, and listed in
:attr:`RawTable.row_issues` so that the importer rejects them instead of losing them. One
empty field after the last column (a trailing delimiter, as Excel and SAS write) is not a
field: it is dropped, and a header ending in a delimiter loses its empty last name.

Before anything is parsed, the first bytes are sniffed (:func:`sniff_file`): a ZIP, gzip or
Office file, a Parquet or SQLite file, UTF-16 text or other binary data given as text (or text
given as a workbook) fails at once, naming what the file really is.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError, CohortFileError, MissingDependencyError
from dah_outcomes.io._csv import arrow_csv_options, detect_delimiter
from dah_outcomes.io.cohort_files import sha256_file

if TYPE_CHECKING:
    from pyreadstat.pyclasses import metadata_container

__all__ = ["FORMATS", "RawTable", "detect_encoding", "read_table", "sniff_file"]

#: Format names and the file suffixes that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".txt"),
    "tsv": (".tsv", ".tab"),
    "excel": (".xlsx", ".xlsm"),
    "parquet": (".parquet", ".pq"),
    "sas7bdat": (".sas7bdat",),
    "xpt": (".xpt",),
    "spss": (".sav", ".zsav"),
    "stata": (".dta",),
    "jsonl": (".jsonl", ".ndjson"),
}
_EXTRA = 'pip install "dah_outcomes[formats]"'
_ISSUE_COLUMNS = ["row", "rule", "value", "hint"]


@dataclass(frozen=True, slots=True)
class RawTable:
    """A source table as read, with what is needed to trace every value back to it.

    Attributes
    ----------
    frame : DataFrame
        The data, indexed by source row number (index name ``source_row``).
    path : Path
        The file read.
    sha256 : str
        sha256 of the file's bytes (recorded in provenance).
    format : str
        One of :data:`FORMATS`.
    value_labels : mapping
        Column -> {code: label} from SPSS/Stata/SAS metadata (empty for other formats).
    row_issues : DataFrame
        Rows that could not be split cleanly: ``row, rule, value, hint``.
    encoding, delimiter : str or None
        What was detected (text formats).
    """

    frame: pd.DataFrame = field(repr=False)
    path: Path
    sha256: str
    format: str
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict, repr=False)
    row_issues: pd.DataFrame = field(default_factory=lambda: _issues([]), repr=False)
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def n_rows(self) -> int:
        """Number of data rows read."""
        return len(self.frame)

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary for provenance."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "format": self.format,
            "rows": self.n_rows,
            "columns": [str(c) for c in self.frame.columns],
            "encoding": self.encoding,
            "delimiter": self.delimiter,
        }


def _issues(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _ISSUE_COLUMNS})
    return pd.DataFrame.from_records(records, columns=_ISSUE_COLUMNS)


def detect_format(path: Path) -> str:
    """The format implied by a file's suffix.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    ArgumentError
        If the suffix names no known format.
    """
    suffix = path.suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise ArgumentError(
        f"cannot tell the format of {path.name!r} from its suffix; pass format= one of "
        f"{sorted(FORMATS)}"
    )


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
    skip_footer: int = 0,
) -> RawTable:
    """Read one source table without altering its values.

    Parameters
    ----------
    path : path
        The file. It is only read, never modified.
    format : str, optional
        One of :data:`FORMATS`; by default taken from the suffix.
    sheet : str or int, optional
        Excel sheet name (or position); the first sheet by default.
    encoding : str, optional
        Text encoding (CSV/TSV); detected by default: UTF-8 with or without BOM, else Latin-1.
    delimiter : str, optional
        Field delimiter (CSV); detected by default among ``, ; TAB |``.
    header_row : int, optional
        The file line (CSV/TSV) or sheet row (Excel) holding the header, when title lines
        sit above it (see :func:`find_table_rows`); the first line by default.
    skip_footer : int, default 0
        Non-blank lines (sheet rows) at the end that are not data: totals, footnotes.

    Returns
    -------
    RawTable
        Its frame's ``attrs["table_rows"]`` records ``(header_row, skip_footer)`` as read.

    Raises
    ------
    CohortFileError
        If the file is missing or cannot be read.
    ArgumentError
        If the format is unknown, or an optional reader is not installed (the message gives
        the install command).
    """
    path = Path(path)
    if not path.exists():
        raise CohortFileError(f"{path} does not exist")
    if path.is_dir():
        raise CohortFileError(f"{path} is a folder; give a table file")
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise ArgumentError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    rows = _check_rows(header_row, skip_footer, fmt)
    digest = _sniffed_digest(path, fmt)
    try:
        if fmt in ("csv", "tsv"):
            return _marked(
                _read_delimited(
                    path,
                    digest,
                    fmt,
                    encoding,
                    "\t" if fmt == "tsv" and delimiter is None else delimiter,
                    rows,
                ),
                rows,
            )
        if fmt == "jsonl":
            return _read_jsonl(path, digest, encoding)
        if fmt == "parquet":
            frame = pd.read_parquet(path)
            return RawTable(_numbered(frame, 1), path, digest, fmt)
        if fmt == "excel":
            return _marked(_read_excel(path, digest, sheet, rows), rows)
        return _read_stat(path, digest, fmt, encoding)
    except (CohortFileError, ArgumentError):
        raise
    except ImportError as exc:
        raise MissingDependencyError(
            f"reading {fmt} files needs an optional package ({exc.name}): {_EXTRA}",
            name=exc.name,
        ) from exc
    except (OSError, ValueError, UnicodeError, KeyError, csv.Error) as exc:
        raise CohortFileError(f"cannot read {path} as {fmt}: {exc}") from exc


#: Leading bytes of formats that are not text, and what to tell the analyst.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file: decompress it first (gunzip)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls, OLE2): save it as .xlsx or CSV UTF-8"),
    (b"PAR1", "a Parquet file: give it the .parquet suffix"),
    (b"SQLite format 3\x00", "a SQLite database, not a table: export the table as CSV"),
    (b"%PDF", "a PDF document, not a table"),
    (b"BZh", "a bzip2-compressed file: decompress it first"),
    (b"\xfd7zXZ\x00", "an xz-compressed file: decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive: extract it first"),
    (b"\xff\xfe\x00\x00", "UTF-32 text: save it as UTF-8"),
    (b"\xff\xfe", "UTF-16 text: save it as UTF-8 (in Excel: CSV UTF-8)"),
    (b"\xfe\xff", "UTF-16 text: save it as UTF-8 (in Excel: CSV UTF-8)"),
)
_TEXT_FORMATS = ("csv", "tsv", "jsonl")


def sniff_file(path: Path, fmt: str) -> None:
    """Fail fast when a file's first bytes show it is not what its format says.

    Parameters
    ----------
    path : Path
        The file.
    fmt : str
        The format it is read as (one of :data:`FORMATS`).

    Raises
    ------
    CohortFileError
        Naming what the file really is (a ZIP or an Excel workbook renamed ``.csv``, gzip,
        UTF-16 text, binary data...) and what to do.
    """
    with open(path, "rb") as fh:
        head = fh.read(8192)
    what = _what_binary(path, head)
    if fmt in _TEXT_FORMATS and what is not None:
        raise CohortFileError(f"{path} is {what}; it cannot be read as {fmt}")
    if fmt == "excel" and not head.startswith(b"PK\x03\x04"):
        raise CohortFileError(
            f"{path} is {what or 'text'}, not an Excel workbook (.xlsx): give it its own suffix"
        )
    if fmt == "parquet" and head and not head.startswith(b"PAR1"):
        raise CohortFileError(f"{path} is {what or 'text'}, not a Parquet file")


def _what_binary(path: Path, head: bytes) -> str | None:
    """What a file that is not plain text is, from its first bytes (None for text)."""
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if any(n.startswith("xl/") for n in names):
            return "an Excel workbook (.xlsx) renamed: give it the .xlsx suffix or save it as CSV"
        return "a ZIP archive: extract the table first"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        sample = head[: len(head) // 2 * 2]
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if len(sample) and max(odd, even) > 0.3 * len(sample) / 2 and min(odd, even) == 0:
            return "UTF-16 text without a byte-order mark: save it as UTF-8"
        return "binary data (it holds NUL bytes), not text"
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if head and control > 0.05 * len(head):
        return "binary data, not text"
    return None


def _sniffed_digest(path: Path, fmt: str) -> str:
    """sha256 of a file whose first bytes fit its format (our error, with the path, if not)."""
    try:
        sniff_file(path, fmt)
        return sha256_file(path)
    except CohortFileError:
        raise
    except OSError as exc:
        raise CohortFileError(f"cannot read {path}: {exc}") from exc


def _numbered(frame: pd.DataFrame, first: int) -> pd.DataFrame:
    frame.index = pd.RangeIndex(first, first + len(frame), name="source_row")
    return frame


# ---------------------------------------------------------------- delimited text


def detect_encoding(path: Path) -> str:
    """UTF-8 with BOM, UTF-8, else Latin-1 (which decodes any byte).

    Parameters
    ----------
    path : Path
        A text file.

    Returns
    -------
    str
        ``"utf-8-sig"``, ``"utf-8"`` or ``"latin-1"``.
    """
    with open(path, "rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


# the former private name, still imported by the chunked-import tests
_detect_encoding = detect_encoding


def _count_lines(path: Path) -> int:
    """Physical lines in the file (a last line without newline counts)."""
    n, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def _read_delimited(
    path: Path,
    digest: str,
    fmt: str,
    encoding: str | None,
    delimiter: str | None,
    rows: tuple[int, int] = (1, 0),
) -> RawTable:
    enc = encoding or detect_encoding(path)
    with open(path, encoding=enc, newline="") as fh:
        for _ in range(rows[0]):
            first = fh.readline()
    if not first.strip():
        # an empty file (or one whose header line is blank) has no header: no columns, no rows
        return RawTable(
            _numbered(pd.DataFrame(), rows[0] + 1),
            path,
            digest,
            fmt,
            encoding=enc,
            delimiter=delimiter,
        )
    delim = delimiter or detect_delimiter(first)
    # title or footer lines are ragged by nature: only the careful reader can skip them
    frame = _read_fast(path, enc, delim) if rows == (1, 0) else None
    if frame is None:
        frame, issues = _read_careful(path, enc, delim, rows)
    else:
        issues = _issues([])
    frame = _drop_trailing_column(frame)
    _check_header(path, frame.columns)
    return RawTable(frame, path, digest, fmt, row_issues=issues, encoding=enc, delimiter=delim)


def _drop_trailing_column(frame: pd.DataFrame) -> pd.DataFrame:
    """A header ending in a delimiter names an empty last column: dropped when it is empty."""
    empty_name = len(frame.columns) and str(frame.columns[-1]).strip() == ""
    if empty_name and not frame.iloc[:, -1].notna().any():
        return frame.iloc[:, :-1]
    return frame


def _check_header(path: Path, columns: pd.Index) -> None:
    dup = columns[columns.duplicated()].unique().tolist()
    if dup:
        # empty names repeated: most often a title line read as the header
        title = (
            " (a title line above the header? `dah-outcomes init-mapping` finds the header "
            "and writes header_row = N into the mapping)"
            if any(not str(d).strip() for d in dup)
            else ""
        )
        raise CohortFileError(
            f"{path}: duplicated column names {dup}; rename them so each column has one name{title}"
        )


def _read_fast(path: Path, enc: str, delim: str) -> pd.DataFrame | None:
    """pyarrow's multithreaded parser, used only when its rows map exactly onto file lines.

    It is exact when every record fits on one line and no line is blank: then the number of
    lines is the number of records plus the header. Otherwise (or on a ragged row) ``None``
    sends the caller to the careful reader, which tracks line numbers record by record.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    try:
        table = pacsv.read_csv(path, **arrow_csv_options(path, enc, delim))
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    if _count_lines(path) != table.num_rows + 1:
        return None
    frame = table.to_pandas(
        types_mapper=lambda t: (
            pd.StringDtype("pyarrow")
            if pa.types.is_string(t) or pa.types.is_large_string(t)
            else None
        )
    )
    # the header names as written (pyarrow keeps duplicates; checked by the caller)
    frame.columns = pd.Index(table.column_names)
    return _numbered(frame, 2)


def _read_careful(
    path: Path, enc: str, delim: str, rows: tuple[int, int] = (1, 0)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Record by record, keeping each record's first line number and flagging ragged rows.

    ``rows`` is ``(header line, footer lines)``: the lines above the header (titles) and the
    last non-blank records (totals, footnotes) are not read as data.
    """
    issues: list[dict[str, Any]] = []
    records: list[list[str | None]] = []
    lines: list[int] = []
    # a field may be long (free text, a JSON blob): the csv module's 128 kB default is not ours
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    skipped = rows[0] - 1
    with open(path, encoding=enc, newline="") as fh:
        for _ in range(skipped):
            fh.readline()
        reader = csv.reader(fh, delimiter=delim, strict=False)
        header = next(reader)
        width = len(header)
        last = reader.line_num + skipped
        for record in reader:
            start, last = last + 1, reader.line_num + skipped
            if not record:  # a blank line holds no data
                continue
            if len(record) == width + 1 and record[-1] == "":
                record = record[:-1]  # one trailing delimiter: not a field
            if len(record) != width:
                issues.append(
                    {
                        "row": start,
                        "rule": "ragged_row",
                        "value": delim.join(record),
                        "hint": f"the header has {width} fields but this row has "
                        f"{len(record)}: check quoting and delimiters",
                    }
                )
                record = (record + [""] * width)[:width]
            records.append([v if v != "" else None for v in record])
            lines.append(start)
    if rows[1]:
        cut = lines[-rows[1]] if rows[1] <= len(lines) else 0
        records, lines = records[: -rows[1]], lines[: -rows[1]]
        issues = [i for i in issues if i["row"] < cut]
    _check_header(path, pd.Index(header))
    frame = pd.DataFrame(records if records else None, columns=header, dtype=object)
    frame = frame.astype("string")
    frame.index = pd.Index(np.asarray(lines, dtype=np.int64), name="source_row")
    return frame, _issues(issues)


def _check_rows(header_row: Any, skip_footer: Any, fmt: str) -> tuple[int, int]:
    """``(header_row, skip_footer)`` checked: whole numbers, for the formats with lines."""
    for name, value, low in (("header_row", header_row or 1, 1), ("skip_footer", skip_footer, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ArgumentError(f"{name} must be a whole number >= {low}, got {value!r}")
    rows = (header_row or 1, skip_footer)
    if rows != (1, 0) and fmt not in ("csv", "tsv", "excel"):
        raise ArgumentError(
            f"header_row and skip_footer apply to CSV, TSV and Excel files, not {fmt}"
        )
    return rows


def _marked(raw: RawTable, rows: tuple[int, int]) -> RawTable:
    # what the mapping's header_row/skip_footer are checked against (io.mapping)
    raw.frame.attrs["table_rows"] = rows
    return raw


# ---------------------------------------------------------------- other formats


class _DuplicateKeyError(ValueError):
    """A JSON object naming one key twice (json keeps the last value silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def _read_jsonl(path: Path, digest: str, encoding: str | None) -> RawTable:
    enc = encoding or detect_encoding(path)
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    issues: list[dict[str, Any]] = []
    with open(path, encoding=enc) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError as exc:
                obj = None
                hint = f"not valid JSON ({exc.msg})"
            except _DuplicateKeyError as exc:
                obj = None
                hint = f"the key {exc.args[0]!r} appears twice in this record: keep one"
            else:
                hint = "each line must be one JSON object"
            if not isinstance(obj, dict):
                issues.append(
                    {"row": number, "rule": "bad_record", "value": line.strip()[:200], "hint": hint}
                )
                obj = {}
            # nested values are kept as their JSON text: never silently flattened
            records.append(
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in obj.items()}
            )
            lines.append(number)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.index = pd.Index(np.asarray(lines, dtype=np.int64), name="source_row")
    return RawTable(frame, path, digest, "jsonl", row_issues=_issues(issues), encoding=enc)


#: A number format that only pads with zeros ("00000"): Excel shows 100 as "00100", which is
#: what a registry that formats its ids so means by it.
_ZERO_PADDED = re.compile(r"^0+$")


def _excel_value(cell: Any) -> Any:
    value = cell.value
    # the class test first: it is the cheap one, and bool (an int subclass) fails it
    if value.__class__ in (int, float):
        fmt = cell.number_format
        if fmt != "General" and _ZERO_PADDED.match(fmt or "") and float(value).is_integer():
            return str(int(value)).zfill(len(fmt))
    return value


def _read_excel(
    path: Path, digest: str, sheet: str | int | None, table_rows: tuple[int, int] = (1, 0)
) -> RawTable:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is None or isinstance(sheet, int):
            ws = wb.worksheets[sheet or 0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise ArgumentError(f"{path} has no sheet {sheet!r}; its sheets: {wb.sheetnames}")
        rows: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(ws.iter_rows(min_row=1), start=1):
            values = [_excel_value(c) for c in cells]
            if any(v is not None and v != "" for v in values):
                rows.append((number, values))
    finally:
        wb.close()
    if not rows:
        return RawTable(_numbered(pd.DataFrame(), 2), path, digest, "excel")
    if table_rows != (1, 0):
        # title rows above the header and totals rows below the data are not records
        rows = [r for r in rows if r[0] >= table_rows[0]]
        if not rows or rows[0][0] != table_rows[0]:
            raise ArgumentError(f"{path}: header_row {table_rows[0]} is an empty sheet row")
        rows = rows[: len(rows) - table_rows[1]] if table_rows[1] else rows
    (_, header), data = rows[0], rows[1:]
    width = max(len(v) for _, v in rows)
    names = [
        str(h).strip() if h is not None and str(h).strip() else f"Unnamed: {i}"
        for i, h in enumerate(header + [None] * (width - len(header)))
    ]
    frame = pd.DataFrame(
        [v + [None] * (width - len(v)) for _, v in data], columns=pd.Index(names), dtype=object
    )
    # unnamed columns with nothing in them are layout, not data (as pandas drops them)
    empty = [n for n in names if n.startswith("Unnamed: ") and not frame[n].notna().any()]
    frame = frame.drop(columns=empty)
    _check_header(path, frame.columns)
    # each row keeps its sheet row number, blank rows between the data included
    frame.index = pd.Index(np.asarray([r for r, _ in data], dtype=np.int64), name="source_row")
    return RawTable(frame, path, digest, "excel")


def _read_stat(path: Path, digest: str, fmt: str, encoding: str | None) -> RawTable:
    import pyreadstat

    # overloaded on output_format; with its default each returns (DataFrame, metadata)
    readers: dict[str, Callable[..., tuple[pd.DataFrame, metadata_container]]] = {
        "sas7bdat": pyreadstat.read_sas7bdat,
        "xpt": pyreadstat.read_xport,
        "spss": pyreadstat.read_sav,
        "stata": pyreadstat.read_dta,
    }
    reader = readers[fmt]
    kwargs = {"encoding": encoding} if encoding else {}
    frame, meta = reader(str(path), **kwargs)
    labels = {
        col: MappingProxyType(dict(v)) for col, v in (meta.variable_value_labels or {}).items()
    }
    return RawTable(
        _numbered(frame, 1),
        path,
        digest,
        fmt,
        value_labels=MappingProxyType(labels),
        encoding=getattr(meta, "file_encoding", None),
    )
