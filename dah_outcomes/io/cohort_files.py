"""A cohort on disk: ``patients`` and ``episodes`` tables (CSV or Parquet), a ``treatments``
table when the cohort has treatment courses, and ``provenance.json``, written atomically and
read back into a validated :class:`Cohort`."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, CohortFileError
from dah_outcomes.results import json_safe

__all__ = ["load_cohort", "save_cohort", "sha256_file", "write_atomic"]

Format = Literal["csv", "parquet"]
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp creates 0600 files; give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _write_table(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    else:
        frame.to_parquet(path, index=False)


def save_cohort(
    cohort: Cohort,
    out_dir: str | Path,
    *,
    format: Format = "csv",
    extra: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``patients``, ``episodes``, ``treatments`` and ``provenance.json`` to ``out_dir``.

    The treatments table is written only when the cohort has treatment courses; a treatments
    file left in ``out_dir`` by an earlier save is removed, so the folder holds this cohort.

    Parameters
    ----------
    cohort : Cohort
        The cohort to write.
    out_dir : path
        Folder (created if needed).
    format : {"csv", "parquet"}, default "csv"
        Table format. CSV dates are written as YYYY-MM-DD.
    extra : dict, optional
        More provenance fields to record.

    Returns
    -------
    dict of str to Path
        The files written.
    """
    if format not in ("csv", "parquet"):
        raise ArgumentError(f"format must be one of ['csv', 'parquet'], got {format!r}")
    from dah_outcomes._version import __version__

    out = Path(out_dir)
    paths: dict[str, Path] = {}
    names = ["patients", "episodes"] + (["treatments"] if cohort.n_treatments else [])
    for name in names:
        frame = getattr(cohort, name)
        paths[name] = write_atomic(
            out / f"{name}.{format}", functools.partial(_write_table, frame, fmt=format)
        )
    for suffix in _SUFFIXES:  # a stale treatments table would be read back with this cohort
        stale = out / f"treatments{suffix}"
        if stale != paths.get("treatments"):
            stale.unlink(missing_ok=True)
    meta = {
        "package": "dah_outcomes",
        "version": __version__,
        "design": cohort.design,
        "fingerprint": cohort.fingerprint,
        "counts": {
            "patients": cohort.n_patients,
            "dah_patients": cohort.n_dah_patients,
            "episodes": cohort.n_episodes,
            "treatments": cohort.n_treatments,
        },
        "files": {p.name: sha256_file(p) for p in paths.values()},
        "provenance": json_safe(dict(cohort.provenance)),
        **(extra or {}),
    }
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    paths["provenance"] = write_atomic(
        out / "provenance.json", lambda p: p.write_text(text, encoding="utf-8")
    )
    return paths


def _read_table(path: Path) -> pd.DataFrame:
    fmt = _SUFFIXES.get(path.suffix.lower())
    try:
        if fmt == "csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
            # rows are named by their line in the file (the header is line 1)
            frame.index = pd.RangeIndex(2, len(frame) + 2)
            return frame
        if fmt == "parquet":
            frame = pd.read_parquet(path)
            frame.index = pd.RangeIndex(1, len(frame) + 1)
            return frame
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CohortFileError(f"cannot read {path}: {exc}") from exc
    raise CohortFileError(f"{path}: unknown table format {path.suffix!r}; use .csv or .parquet")


def _find(folder: Path, name: str, *, optional: bool = False) -> Path | None:
    for suffix in _SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    if optional:
        return None
    raise CohortFileError(
        f"{folder} has no {name} table: expected {name}.csv or {name}.parquet (as written by "
        "`dah-outcomes generate` or `dah-outcomes import`)"
    )


def load_cohort(source: str | Path | Sequence[str | Path], *, allow_extra: bool = False) -> Cohort:
    """Read a cohort folder (or its table files) and validate it.

    Parameters
    ----------
    source : path or sequence of paths
        A folder holding ``patients`` and ``episodes`` tables (``.csv`` or ``.parquet``) and
        optionally a ``treatments`` table and ``provenance.json``; or the table files:
        patients, episodes and optionally treatments, in that order.
    allow_extra : bool, default False
        Keep columns outside the contract.

    Returns
    -------
    Cohort

    Raises
    ------
    CohortFileError
        If a file is missing or unreadable.
    ValidationError
        If the tables break the contract (every problem listed; rows are file line numbers).
    """
    if isinstance(source, str | Path):
        folder = Path(source)
        if not folder.exists():
            raise CohortFileError(
                f"{folder} does not exist: give a cohort folder or the two "
                "table files (patients, episodes)"
            )
        if not folder.is_dir():
            raise CohortFileError(
                f"{folder} is a file: give the cohort folder, or both the "
                "patients and the episodes files"
            )
        found = [_find(folder, "patients"), _find(folder, "episodes")]
        t_path = _find(folder, "treatments", optional=True)
        p_path, e_path = (f for f in found if f is not None)
        meta_path: Path | None = folder / "provenance.json"
    else:
        files = [Path(s) for s in source]
        if len(files) not in (2, 3):
            raise ArgumentError(
                "give two or three table files (patients, episodes[, treatments]), "
                f"got {len(files)}"
            )
        for f in files:
            if not f.exists():
                raise CohortFileError(f"{f} does not exist")
        p_path, e_path = files[:2]
        t_path = files[2] if len(files) == 3 else None
        meta_path = p_path.parent / "provenance.json"
    provenance: dict[str, Any] = {
        "source": "files",
        "patients_file": str(p_path),
        "episodes_file": str(e_path),
        "sha256": {p_path.name: sha256_file(p_path), e_path.name: sha256_file(e_path)},
    }
    if t_path is not None:
        provenance["treatments_file"] = str(t_path)
        provenance["sha256"][t_path.name] = sha256_file(t_path)
    design = None
    if meta_path is not None and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CohortFileError(f"cannot read {meta_path}: {exc}") from exc
        design = meta.get("design")
        provenance = {**meta.get("provenance", {}), "loaded_from": provenance}
    return Cohort(
        _read_table(p_path),
        _read_table(e_path),
        provenance=provenance,
        design=design,
        allow_extra=allow_extra,
        treatments=None if t_path is None else _read_table(t_path),
    )
