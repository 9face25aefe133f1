"""Stream a large flat CSV through the import in chunks of rows, with bounded memory.

Reading a 10-million-row CSV whole holds its raw text, a pandas copy of it and the mapped
tables at once. Here pyarrow's streaming reader (:func:`pyarrow.csv.open_csv`) hands over
record batches; each chunk of rows is mapped (:func:`~dah_outcomes.io.layouts.flat.flat_tables`)
and typed with its single-row checks (:class:`~dah_outcomes.io.staging.Stager`), and only the
typed columns are kept. The cross-row checks run once on those, as for a source read whole.

Only the common case is streamed: one CSV/TSV file in the flat layout whose records each fit
on one line (the source row of a record is then its position plus 2). Anything else (a ragged
row, a quoted line break, blank lines, duplicated column names, another layout or format)
makes :func:`prepare_streamed` return ``None`` and the importer reads the source whole, so
every source gives the same result as before, row numbers and problems included.

A mapping that places the table below title lines or above totals lines (``header_row``,
``skip_footer``: a registry's Excel-saved export) is honoured here for such a file: it is read
whole by :func:`~dah_outcomes.io.readers.read_table` with those keys (such exports are small)
and assembled as the flat layout. Any other source with those keys is refused by
:func:`~dah_outcomes.io.mapping.apply_mapping`, never misread.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._csv import arrow_csv_options, detect_delimiter
from dah_outcomes.io.layouts._base import guess_layout
from dah_outcomes.io.layouts.flat import assemble_flat, course_notes, flat_tables
from dah_outcomes.io.mapping import ImportMapping
from dah_outcomes.io.readers import detect_format, read_table, sniff_file
from dah_outcomes.io.staging import Prepared, Stager, problem_frame

__all__ = ["FileScan", "prepare_streamed", "scan_file"]


@dataclass(frozen=True, slots=True)
class FileScan:
    """What one pass over a file's bytes tells: digest, encoding and physical lines."""

    sha256: str
    encoding: str
    n_lines: int


def scan_file(path: Path) -> FileScan:
    """sha256, encoding (UTF-8 with or without BOM, else Latin-1) and line count in one pass.

    The same answers as :func:`~dah_outcomes.io.cohort_files.sha256_file` and the whole-file
    reader's encoding detection and line count, which read the file three times.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    FileScan
    """
    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    n, last, bom, utf8 = 0, b"\n", None, True
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            if bom is None:
                bom = block[:3] == codecs.BOM_UTF8
            h.update(block)
            n += block.count(b"\n")
            last = block[-1:]
            # ASCII needs no decoding, unless a multi-byte character is still pending
            if utf8 and not bom and not (block.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8 and not bom:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    encoding = "utf-8-sig" if bom else ("utf-8" if utf8 else "latin-1")
    return FileScan(h.hexdigest(), encoding, n + (last != b"\n"))


def prepare_streamed(
    source: Any,
    m: ImportMapping,
    *,
    dictionary: Any,
    format: str | None,
    chunk_rows: int,
    progress: Callable[[str, float], None],
) -> Prepared | None:
    """Read, map and type a flat CSV chunk by chunk; ``None`` when it cannot be streamed.

    Parameters
    ----------
    source : path
        The source given to :func:`~dah_outcomes.io.importer.read_cohort`.
    m : ImportMapping
        The mapping.
    dictionary, format
        As given to ``read_cohort`` (a dictionary means REDCap: not streamed).
    chunk_rows : int
        Rows mapped and typed at a time.
    progress : callable
        ``progress(step, fraction)``; reading takes the fractions up to 0.8.

    Returns
    -------
    Prepared or None
        ``None`` sends the importer to the whole-file path (same result, more memory).
    """
    path = _streamable(source, m, dictionary, format)
    if path is None:
        return None
    fmt = format or detect_format(path)
    if m.table_rows != (1, 0):
        return _prepare_titled(path, fmt, m)
    sniff_file(path, fmt)  # a binary file fails here, before its bytes are scanned
    scan = scan_file(path)
    with open(path, encoding=scan.encoding, newline="") as fh:
        first = fh.readline()
    if not first.strip() or scan.n_lines < 2:
        return None  # no header or no data rows: the whole-file reader handles these
    delim = "\t" if fmt == "tsv" else detect_delimiter(first)
    chunks = _chunks(path, scan.encoding, delim, chunk_rows)
    if chunks is None:
        return None
    names, batches = chunks
    if (
        len(set(names)) != len(names)
        or not str(names[-1]).strip()
        or (m.layout is None and guess_layout(names, dictionary) != "flat")
    ):
        return None
    label = str(path)
    # in the flat layout a row's episode lives on its patient's row, so a rejected patient
    # never leaves an episode behind: the source ids are not needed
    stager = Stager(keep_raw_ids=False, derive=m.derive)
    pre: pd.DataFrame | None = None
    unmapped: list[str] = []
    undated: dict[str, int] = {}
    n_rows = 0
    total = scan.n_lines - 1
    try:
        for table in batches:
            frame = _frame(table, names, first_row=2 + n_rows)
            tables, problems, unmapped_here, undated_here = flat_tables(frame, m, label)
            for t, n in undated_here.items():
                undated[t] = undated.get(t, 0) + n
            if pre is None:
                # mapping problems concern whole columns: the same in every chunk
                pre, unmapped = problem_frame([problem_frame([]), problems]), unmapped_here
            stager.add(tables["patients"], tables["episodes"], tables.get("treatments"))
            n_rows += len(frame)
            progress("reading", 0.8 * min(n_rows / total, 1.0))
    except _ARROW_ERRORS:
        return None  # a ragged row: the careful reader reports it with its line
    if n_rows != total or pre is None:
        return None  # blank lines or multi-line records: rows are not lines + 1
    files = [
        {
            "path": label,
            "sha256": scan.sha256,
            "format": fmt,
            "rows": n_rows,
            "columns": [str(c) for c in names],
            "encoding": scan.encoding,
            "delimiter": delim,
        }
    ]
    return Prepared(
        stager.finish(),
        [(label, pd.RangeIndex(2, 2 + n_rows), None)],
        pre,
        {"patients": label, "episodes": label, "treatments": label},
        "flat",
        files,
        course_notes({"unmapped_columns": unmapped}, undated),
    )


def _prepare_titled(path: Path, fmt: str, m: ImportMapping) -> Prepared | None:
    """A flat CSV/TSV with title or totals lines, read whole with the mapping's rows."""
    raw = read_table(path, format=fmt, header_row=m.header_row, skip_footer=m.skip_footer)
    if m.layout is None and guess_layout(raw.frame.columns, None) != "flat":
        return None  # the whole-file path refuses the keys (io.mapping) rather than misread
    asm = assemble_flat(raw, m)
    stager = Stager(derive=m.derive)
    stager.add(asm.tables["patients"], asm.tables["episodes"], asm.tables.get("treatments"))
    return Prepared(
        stager.finish(),
        [(str(raw.path), raw.frame.index, asm.groups.get(str(raw.path)))],
        asm.problems,
        dict(asm.table_file),
        "flat",
        [{**raw.describe(), "header_row": m.header_row, "skip_footer": m.skip_footer}],
        dict(asm.notes),
    )


def _streamable(source: Any, m: ImportMapping, dictionary: Any, format: str | None) -> Path | None:
    if not isinstance(source, str | Path) or dictionary is not None:
        return None
    if m.layout not in (None, "flat"):
        return None
    path = Path(source)
    if not path.is_file():
        return None
    try:
        fmt = format or detect_format(path)
    except ArgumentError:
        return None
    return path if fmt in ("csv", "tsv") else None


def _arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowException, ValueError)


_ARROW_ERRORS = _arrow_errors()


def _chunks(path: Path, enc: str, delim: str, chunk_rows: int) -> Any:
    """Column names and an iterator of pyarrow tables of ``chunk_rows`` rows (the last fewer).

    Same parser options as the whole-file fast reader
    (:func:`~dah_outcomes.io._csv.arrow_csv_options`): every column as text, empty fields
    missing, records on one line.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    try:
        reader = pacsv.open_csv(path, **arrow_csv_options(path, enc, delim))
    except _ARROW_ERRORS:
        return None
    names = list(reader.schema.names)

    def tables() -> Any:
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in reader:
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                yield table.slice(0, chunk_rows)
                rest = table.slice(chunk_rows)
                pending, held = rest.to_batches(), rest.num_rows
        if held:
            yield pa.Table.from_batches(pending, schema=reader.schema)

    return names, tables()


def _frame(table: Any, names: list[str], first_row: int) -> pd.DataFrame:
    import pyarrow as pa

    frame = table.to_pandas(
        types_mapper=lambda t: (
            pd.StringDtype("pyarrow")
            if pa.types.is_string(t) or pa.types.is_large_string(t)
            else None
        )
    )
    frame.columns = pd.Index(names)
    frame.index = pd.RangeIndex(first_row, first_row + len(frame), name="source_row")
    return frame
