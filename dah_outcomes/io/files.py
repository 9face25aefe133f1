"""Files written and read safely: atomic writes, formula-safe CSV, operating-system errors as
ours.

CSV cells. Every CSV the package writes goes through :func:`write_csv`, which neutralises cells
a spreadsheet would run as a formula (OWASP's rule: a text cell beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'``; numbers such as ``-3.5`` and
dates are left as they are). So that reading back gives the values written, a cell that
already begins with quotes followed by one of those characters gets one quote more, and
:func:`restore_cells` removes exactly one. Restore only files written so: a cohort's
``provenance.json`` says it (``"csv_cells": "owasp-quote"``) and ``load_cohort`` restores
those tables, and only those.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from dah_outcomes.errors import CohortFileError

__all__ = [
    "CSV_CELLS",
    "file_error",
    "neutralise_cells",
    "plain_file_mode",
    "restore_cells",
    "sha256_file",
    "write_atomic",
    "write_csv",
]

#: How the CSV cells of a cohort are written, recorded in ``provenance.json``.
CSV_CELLS = "owasp-quote"
#: A cell a spreadsheet runs as a formula, or one that already carries our quotes before such
#: a character (so that the quote added on writing can be told from one in the data).
_FORMULA = r"^'*[=+\-@\t\r]"
_QUOTED = r"^'+[=+\-@\t\r]"
#: Plain numbers are not formulas: ``-3.5`` stays a number in the spreadsheet.
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"

_ERRNO_HINTS = {
    errno.EACCES: "permission denied: check the folder's permissions or choose another folder",
    errno.EPERM: "operation not permitted: choose another folder",
    errno.EROFS: "the file system is read-only: choose a folder on a writable disk",
    errno.ENOSPC: "no space left on the disk: free some space or choose another disk",
    errno.EISDIR: "it is a folder: give the path of a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "the path is too long",
}


def file_error(action: str, path: str | Path | None, exc: OSError) -> CohortFileError:
    """Our error for an ``OSError``: what was being done, the path, and what to do about it.

    Parameters
    ----------
    action : str
        What failed, e.g. ``"cannot write"``.
    path : path, optional
        The file or folder concerned (``exc.filename`` when None).
    exc : OSError
        The error raised by the operating system.

    Returns
    -------
    CohortFileError
        To raise ``from exc``.
    """
    if isinstance(exc, CohortFileError):
        return exc
    where = path if path is not None else exc.filename
    reason = _ERRNO_HINTS.get(exc.errno or -1) or exc.strerror or str(exc)
    return CohortFileError(f"{action} {where}: {reason}" if where else f"{action}: {reason}")


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes.

    Parameters
    ----------
    path : path
        The file (read in blocks, never whole).

    Returns
    -------
    str
        The hex digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def plain_file_mode(folder: bool = False) -> int:
    """The permissions a plain ``open()`` (or ``mkdir``) would give a new file (or folder).

    ``mkstemp`` and ``mkdtemp`` make private ones (0600, 0700); what they wrote gets these.

    Parameters
    ----------
    folder : bool, default False
        For a folder (``0o777`` less the umask) rather than a file (``0o666`` less it).

    Returns
    -------
    int
        The mode bits.
    """
    return (0o777 if folder else 0o666) & ~_umask()


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a file so that readers see either the old file or the complete new one.

    ``write`` receives a temporary path in the same folder; it is renamed over ``path`` only
    after ``write`` returns, so an interruption never leaves a half-written file.

    Parameters
    ----------
    path : path
        The file to write (its folder is created if needed).
    write : callable
        ``write(tmp_path)`` writes the whole content to ``tmp_path``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CohortFileError
        If ``path`` is a folder or cannot be written (the path and the reason named).
    """
    path = Path(path)
    if path.is_dir():
        raise CohortFileError(
            f"cannot write {path}: it is a folder, not a file; give the path of the file to "
            f"write (a new name, or a name inside {path})"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except FileExistsError as exc:  # a part of the folder path is a file
        raise CohortFileError(
            f"cannot write {path}: {exc.filename or path.parent} is a file, not a folder"
        ) from exc
    except OSError as exc:
        raise file_error("cannot write", path, exc) from exc
    try:
        write(Path(tmp))
        os.chmod(tmp, plain_file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise file_error("cannot write", path, exc) from exc
        raise
    return path


# ---------------------------------------------------------------- CSV cells


def _text_columns(frame: pd.DataFrame) -> Iterator[Any]:
    for col in frame.columns:
        dtype = frame[col].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(
            dtype, pd.StringDtype | pd.CategoricalDtype
        ):
            yield col


def _matches(s: pd.Series, pattern: str) -> pd.Series:
    text = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
    try:
        return text.str.match(pattern, na=False).astype(bool)
    except AttributeError:  # an object column holding no text at all
        return pd.Series(False, index=s.index)


def _formula_mask(s: pd.Series) -> pd.Series:
    risky = _matches(s, _FORMULA)
    if not risky.any():
        return risky
    return risky & ~_matches(s, _NUMBER)


def neutralise_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell a spreadsheet would run as a formula neutralised.

    OWASP's rule: a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading single quote; so does one beginning with quotes followed by such a
    character, so that :func:`restore_cells` gives back exactly the value. Numbers (of a
    numeric column, or text such as ``"-3.5"``), dates and other cells are unchanged; so are
    column names unless they are such text.

    Parameters
    ----------
    frame : DataFrame
        The table to write.

    Returns
    -------
    DataFrame
        ``frame`` itself when nothing needs neutralising, else a copy.
    """
    out = frame
    for col in _text_columns(frame):
        mask = _formula_mask(frame[col])
        if mask.any():
            if out is frame:
                out = frame.copy()
            column = frame[col].astype(object)
            column[mask] = "'" + column[mask].astype(str)
            out[col] = column
    labels = [str(c) for c in frame.columns]
    header = _formula_mask(pd.Series(labels, dtype=object))
    if header.any():
        out = out.copy() if out is frame else out
        out.columns = ["'" + c if m else c for c, m in zip(labels, header, strict=True)]
    return out


def restore_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_cells`: remove one leading quote where it was added.

    Only a text cell beginning with one or more quotes followed by ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return loses its first quote. Use it only on tables written by
    :func:`write_csv` (``load_cohort`` does so when ``provenance.json`` says so).

    Parameters
    ----------
    frame : DataFrame
        A table read from a CSV file written by :func:`write_csv`.

    Returns
    -------
    DataFrame
        ``frame`` itself when nothing was neutralised, else a copy.
    """
    out = frame
    for col in _text_columns(frame):
        s = frame[col]
        mask = _matches(s, _QUOTED)
        if mask.any():
            if out is frame:
                out = frame.copy()
            column = s.copy()
            column[mask] = s[mask].str.slice(1)
            out[col] = column
    labels = [str(c) for c in frame.columns]
    if any(re.match(_QUOTED, c) for c in labels):
        out = out.copy() if out is frame else out
        out.columns = [c[1:] if re.match(_QUOTED, c) else c for c in labels]
    return out


def _has_cr(frame: pd.DataFrame) -> bool:
    """Any text cell or column name holding a carriage return."""
    if any("\r" in str(c) for c in frame.columns):
        return True
    return any(_contains_cr(frame[c]) for c in _text_columns(frame))


def _contains_cr(s: pd.Series) -> bool:
    text = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
    try:
        return bool(text.str.contains("\r", regex=False, na=False).any())
    except AttributeError:  # an object column holding no text at all
        return False


def _csv_to(
    frame: pd.DataFrame,
    path: Path,
    *,
    index: bool,
    na_rep: str,
    date_format: str | None,
    float_format: str | None,
) -> None:
    safe = neutralise_cells(frame)
    # Python's csv module (before 3.12) quotes a field holding the line terminator "\n" but
    # not one holding a lone "\r", which every reader takes for the end of the row; quoting
    # every field keeps such a value whole (rare: only tables that hold one pay for it)
    safe.to_csv(
        path,
        index=index,
        na_rep=na_rep,
        date_format=date_format,
        float_format=float_format,
        lineterminator="\n",
        encoding="utf-8",
        quoting=csv.QUOTE_ALL if _has_cr(safe) else csv.QUOTE_MINIMAL,
    )


def write_csv(
    path: str | Path,
    frame: pd.DataFrame,
    *,
    index: bool = False,
    na_rep: str = "",
    date_format: str | None = None,
    float_format: str | None = None,
) -> Path:
    """Write a table as CSV, atomically, with formula cells neutralised.

    The one CSV writer of the package (cohort tables, rejects, flow tables, analysis
    outputs): UTF-8, ``\\n`` line ends, cells a spreadsheet would run as a formula
    neutralised as :func:`neutralise_cells` says, numbers and dates as they are.

    Parameters
    ----------
    path : path
        The file (its folder is created if needed).
    frame : DataFrame
        The table.
    index : bool, default False
        Write the index as a first column.
    na_rep : str, default ""
        Text of a missing value.
    date_format : str, optional
        ``strftime`` format of datetime columns (e.g. ``"%Y-%m-%d"``).
    float_format : str, optional
        Format of floats (e.g. ``"%.6g"``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CohortFileError
        If the file cannot be written.
    """
    return write_atomic(
        path,
        functools.partial(
            _csv_to,
            frame,
            index=index,
            na_rep=na_rep,
            date_format=date_format,
            float_format=float_format,
        ),
    )
