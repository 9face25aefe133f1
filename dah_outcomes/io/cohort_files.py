"""A cohort on disk: ``patients`` and ``episodes`` tables (CSV or Parquet), a ``treatments``
table when the cohort has treatment courses, and ``provenance.json``, written as a whole folder
and read back into a validated :class:`Cohort` only when every table is the one written.

Writing. :func:`save_cohort` (and an import, through :func:`staged_folder`) writes the whole
folder into a temporary sibling and renames it into place, so a reader sees either the old
folder or the complete new one; a write killed midway leaves the old folder as it was. An
output folder that is, lies inside, or holds a source of the data is refused, so is a folder
that already holds files unless replacing was asked for. CSV tables are written with formula
cells neutralised (:func:`~dah_outcomes.io.files.write_csv`) and restored on loading.

Reading. :func:`load_cohort` checks every table against the sha256 that ``provenance.json``
records and the cohort against its recorded fingerprint, and refuses a folder holding a table
of the same name that provenance does not list (a stale file of another format).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import errno
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, CohortFileError, ValidationError
from dah_outcomes.io.files import (
    CSV_CELLS,
    file_error,
    plain_file_mode,
    restore_cells,
    sha256_file,
    write_atomic,
    write_csv,
)
from dah_outcomes.results import json_safe
from dah_outcomes.validation import ValidationReport

# sha256_file, write_atomic and write_csv stay importable from here, where they were first
__all__ = [
    "check_output_folder",
    "file_error",
    "load_cohort",
    "save_cohort",
    "sha256_file",
    "staged_folder",
    "write_atomic",
    "write_csv",
]

Format = Literal["csv", "parquet"]
IfExists = Literal["error", "replace"]
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_TABLES = ("patients", "episodes", "treatments")
PROVENANCE = "provenance.json"


# ---------------------------------------------------------------- whole folders

#: Output folders being written by :func:`staged_folder` in this context (their temporary
#: paths): :func:`save_cohort` into one of them writes straight in, the stage renames later.
_STAGED: contextvars.ContextVar[frozenset[Path]] = contextvars.ContextVar(
    "dah_outcomes_staged", default=frozenset()
)
_TMP_TAG, _OLD_TAG = ".dah-tmp-", ".dah-old-"


def _is_cohort_name(name: str) -> bool:
    stem, dot, suffix = name.rpartition(".")
    return name == PROVENANCE or (stem in _TABLES and f"{dot}{suffix}".lower() in _SUFFIXES)


def _recorded_names(folder: Path) -> set[str]:
    """Names ``provenance.json`` of ``folder`` lists as written with it (best effort)."""
    try:
        meta = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(meta, dict):
        return set()
    names: set[str] = set()
    for key in ("files", "import_files"):
        if isinstance(meta.get(key), dict):
            names.update(str(n) for n in meta[key] if "/" not in str(n))
    return names


def _resolve(path: str | Path) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise CohortFileError(f"cannot resolve {path}: {exc}") from exc


def _check_sources(target: Path, shown: str | Path, sources: Iterable[str | Path]) -> None:
    problems = []
    for src in sources:
        s = _resolve(src)
        if s == target:
            problems.append(f"it is the source {src}")
        elif s in target.parents:
            problems.append(f"it lies inside the source folder {src}")
        elif target in s.parents:
            problems.append(f"it holds the source {src}")
    if problems:
        raise CohortFileError(
            f"refusing to write to {shown}: " + "; ".join(problems) + ". Writing there "
            "would overwrite the data being read: choose an output folder outside the sources"
        )


def _survey(target: Path, shown: str | Path, if_exists: IfExists, keep: set[str]) -> list[str]:
    """Check an existing output folder; return the entries to carry into the new folder."""
    if not target.is_dir():
        raise CohortFileError(
            f"cannot write the cohort folder {shown}: it is a file; give the path of a folder "
            "(it is created if needed)"
        )
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise CohortFileError(
            f"cannot replace {shown}: it is the current folder (or holds it); give a "
            f"sub-folder, e.g. {Path(shown) / 'cohort'}"
        )
    try:
        names = sorted(n for n in os.listdir(target) if n not in keep)
    except OSError as exc:
        raise file_error("cannot read the output folder", shown, exc) from exc
    ours = _recorded_names(target) | {n for n in names if _is_cohort_name(n)}
    if names and if_exists == "error":
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        what = "a cohort" if set(names) & ours else "other files"
        raise CohortFileError(
            f"{shown} already holds {what} ({listed}): choose a new or empty folder, or pass "
            "--force (if_exists='replace' in Python) to replace the cohort there "
            "(files that are not part of a cohort are kept)"
        )
    return [n for n in names if n not in ours] + sorted(keep & set(os.listdir(target)))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _carry(src: Path, dst: Path) -> None:
    """Put ``src`` into the new folder too (hard links: the old folder stays whole meanwhile)."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(src), str(dst))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except (OSError, TypeError):  # no C library to ask (Windows)
        return False
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _install(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``: one rename, or one exchange."""
    if not target.exists():
        os.rename(tmp, target)
        return
    if _exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old folder
        return
    # no exchange: two renames; killed between them, the old folder is left beside, whole
    old = target.with_name(f".{target.name}{_OLD_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_leftovers(target: Path) -> None:
    """Remove temporary siblings left by writes of ``target`` killed before they finished."""
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            for tag in (_TMP_TAG, _OLD_TAG):
                prefix = f".{target.name}{tag}"
                if not entry.name.startswith(prefix):
                    continue
                pid = entry.name.removeprefix(prefix).split("-")[0]
                # an old folder is the only copy while the target is missing: keep it
                dead = pid.isdigit() and not _pid_alive(int(pid))
                if dead and (tag == _TMP_TAG or target.exists()):
                    shutil.rmtree(entry, ignore_errors=True)


def check_output_folder(
    out_dir: str | Path, *, if_exists: IfExists = "error", sources: Iterable[str | Path] = ()
) -> None:
    """Refuse an output folder before any work, as :func:`staged_folder` would on entering.

    A command checks its ``--out`` first, so that a long import or generation is not run only
    to be refused at the end.

    Parameters
    ----------
    out_dir : path
        The output folder.
    if_exists : {"error", "replace"}, default "error"
        As for :func:`staged_folder`.
    sources : iterable of paths, optional
        As for :func:`staged_folder`.

    Returns
    -------
    None

    Raises
    ------
    CohortFileError
        For the reasons :func:`staged_folder` gives.
    """
    _check_if_exists(if_exists)
    target = _resolve(out_dir)
    _check_sources(target, out_dir, sources)
    if target.exists():
        _survey(target, out_dir, if_exists, set())


def _check_if_exists(if_exists: str) -> None:
    if if_exists not in ("error", "replace"):
        raise ArgumentError(f"if_exists must be one of ['error', 'replace'], got {if_exists!r}")


@contextlib.contextmanager
def _stage(
    out_dir: str | Path, if_exists: IfExists, sources: Iterable[str | Path], keep: set[str]
) -> Iterator[Path]:
    _check_if_exists(if_exists)
    target = _resolve(out_dir)
    _check_sources(target, out_dir, sources)
    carry = _survey(target, out_dir, if_exists, keep) if target.exists() else []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(target)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}{os.getpid()}-", dir=target.parent)
        )
    except FileExistsError as exc:  # a part of the folder's path is a file
        raise CohortFileError(
            f"cannot create the output folder {out_dir}: {exc.filename or target.parent} is a "
            "file, not a folder"
        ) from exc
    except OSError as exc:
        raise file_error("cannot create the output folder", out_dir, exc) from exc
    token = _STAGED.set(_STAGED.get() | {tmp.resolve()})
    try:
        yield tmp
        for name in carry:
            if not (tmp / name).exists():  # what this write made wins over what was there
                _carry(target / name, tmp / name)
        os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else plain_file_mode(True))
        _install(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise file_error("cannot write the output folder", out_dir, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _STAGED.reset(token)


@contextlib.contextmanager
def staged_folder(
    out_dir: str | Path,
    *,
    if_exists: IfExists = "error",
    sources: Iterable[str | Path] = (),
) -> Iterator[Path]:
    """Write a whole output folder at once: readers see the old folder or the complete new one.

    Yields an empty temporary folder beside ``out_dir``; everything written there (including
    by :func:`save_cohort`, which writes straight into it) is renamed into place when the
    ``with`` block ends without an error, in one step (Linux swaps the two folders
    atomically; elsewhere two renames). On an error, or if the process is killed, ``out_dir``
    is left as it was and the temporary folder is removed (by the next write, if killed).

    Parameters
    ----------
    out_dir : path
        The output folder (created if needed; symlinks and ``..`` are resolved first).
    if_exists : {"error", "replace"}, default "error"
        What to do when ``out_dir`` exists and is not empty: refuse, or replace the cohort
        there (its tables, ``provenance.json`` and the files provenance lists); files that
        are not part of a cohort are kept.
    sources : iterable of paths, optional
        Files and folders the data was read from: an ``out_dir`` that is one of them, lies
        inside one, or holds one, is refused.

    Yields
    ------
    Path
        The temporary folder to write into.

    Raises
    ------
    CohortFileError
        If ``out_dir`` is a file, a source, the current folder, holds files while
        ``if_exists="error"``, or cannot be written.
    """
    with _stage(out_dir, if_exists, sources, set()) as tmp:
        yield tmp


def _write_table(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    if fmt == "csv":
        write_csv(path, frame, date_format="%Y-%m-%d")
    else:
        frame.to_parquet(path, index=False)


def _source_paths(cohort: Cohort) -> list[str]:
    """The source files an import recorded in the cohort's provenance."""
    prov = cohort.provenance
    found = [f.get("path") for f in prov.get("files") or [] if isinstance(f, dict)]
    found += [prov.get("mapping_file"), prov.get("dictionary")]
    return [p for p in found if isinstance(p, str) and p]


def _write_cohort(
    cohort: Cohort, out: Path, fmt: Format, extra: dict[str, Any] | None
) -> dict[str, Path]:
    from dah_outcomes._version import __version__

    paths: dict[str, Path] = {}
    names = ["patients", "episodes"] + (["treatments"] if cohort.n_treatments else [])
    for name in names:
        paths[name] = out / f"{name}.{fmt}"
        _write_table(getattr(cohort, name), paths[name], fmt)
    for suffix in _SUFFIXES:  # a folder staged by the caller may hold an earlier table
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
        **({"csv_cells": CSV_CELLS} if fmt == "csv" else {}),
        **(extra or {}),
    }
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    paths["provenance"] = out / PROVENANCE
    paths["provenance"].write_text(text, encoding="utf-8")
    return paths


def save_cohort(
    cohort: Cohort,
    out_dir: str | Path,
    *,
    format: Format = "csv",
    extra: dict[str, Any] | None = None,
    if_exists: IfExists = "replace",
    sources: Iterable[str | Path] | None = None,
) -> dict[str, Path]:
    """Write ``patients``, ``episodes``, ``treatments`` and ``provenance.json`` to ``out_dir``.

    The folder is written whole into a temporary sibling and renamed into place (see
    :func:`staged_folder`), so it holds this cohort and nothing of an earlier one: no table
    of another format, no stale treatments table. Inside a :func:`staged_folder` block, a
    save into the staged folder writes straight into it.

    Parameters
    ----------
    cohort : Cohort
        The cohort to write.
    out_dir : path
        Folder (created if needed).
    format : {"csv", "parquet"}, default "csv"
        Table format. CSV dates are written as YYYY-MM-DD, formula cells neutralised (see
        :func:`write_csv`; :func:`load_cohort` restores them).
    extra : dict, optional
        More provenance fields to record. Files named in ``extra["import_files"]`` already
        in ``out_dir`` are kept as part of this write.
    if_exists : {"replace", "error"}, default "replace"
        When ``out_dir`` already holds files: replace the cohort there (files that are not
        part of a cohort are kept), or refuse.
    sources : iterable of paths, optional
        Files the cohort was read from, never to be overwritten; by default the source files
        and mapping file an import recorded in the cohort's provenance.

    Returns
    -------
    dict of str to Path
        The files written (under ``out_dir``).

    Raises
    ------
    CohortFileError
        If ``out_dir`` is a source, a file, holds files while ``if_exists="error"``, or
        cannot be written.
    """
    if format not in ("csv", "parquet"):
        raise ArgumentError(f"format must be one of ['csv', 'parquet'], got {format!r}")
    out = Path(out_dir)
    if _resolve(out) in _STAGED.get():
        return _write_cohort(cohort, out, format, extra)
    imported = (extra or {}).get("import_files")
    keep = {str(n) for n in imported} if isinstance(imported, dict) else set()
    srcs = _source_paths(cohort) if sources is None else list(sources)
    with _stage(out, if_exists, srcs, keep) as tmp:
        written = _write_cohort(cohort, tmp, format, extra)
    return {key: out / p.name for key, p in written.items()}


# ---------------------------------------------------------------- reading


def _read_table(path: Path, restore: bool = False) -> pd.DataFrame:
    fmt = _SUFFIXES.get(path.suffix.lower())
    try:
        if fmt == "csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
            frame = restore_cells(frame) if restore else frame
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


_META_TYPES: dict[str, tuple[type, ...]] = {
    "files": (dict,),
    "import_files": (dict,),
    "provenance": (dict,),
    "design": (str, type(None)),
    "fingerprint": (str, type(None)),
    "csv_cells": (str,),
}


def _read_meta(path: Path) -> dict[str, Any] | None:
    """``provenance.json`` checked for shape, or None when there is none."""
    if not path.exists():
        return None
    fix = (
        f"it should be the JSON object save_cohort writes. Write the folder again (import or "
        f"generate), or delete {path.name} to load the tables without their provenance"
    )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are both
        raise CohortFileError(f"cannot read {path}: {exc}; {fix}") from exc
    if not isinstance(meta, dict):
        raise CohortFileError(f"{path} holds a JSON {type(meta).__name__}, not an object; {fix}")
    problems = [
        f"{key!r} is a {type(meta[key]).__name__}"
        for key, types in _META_TYPES.items()
        if key in meta and not isinstance(meta[key], types)
    ]
    files = meta.get("files")
    for name, digest in (files if isinstance(files, dict) else {}).items():
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            problems.append(f"files[{name!r}] is not a sha256 hex digest")
    if problems:
        raise CohortFileError(f"{path} is malformed ({'; '.join(problems)}); {fix}")
    return meta


def _pick_tables(folder: Path, meta: dict[str, Any] | None) -> tuple[dict[str, Path], list[str]]:
    """The table files of ``folder`` (the ones provenance lists, when it lists them) and the
    problems that forbid loading (a listed table missing, an unlisted one beside it)."""
    recorded = set((meta or {}).get("files") or {})
    chosen: dict[str, Path] = {}
    problems: list[str] = []
    for name in _TABLES:
        present = [folder / f"{name}{s}" for s in _SUFFIXES if (folder / f"{name}{s}").exists()]
        listed = [n for n in recorded if Path(n).stem == name and Path(n).suffix in _SUFFIXES]
        if not recorded:
            if present:
                chosen[name] = present[0]
            continue
        for n in listed:
            if (folder / n).exists():
                chosen[name] = folder / n
            else:
                problems.append(f"{n} is listed in {PROVENANCE} but missing")
        for p in present:
            if p.name not in recorded:
                problems.append(f"{p.name} is not part of the cohort {PROVENANCE} describes")
    return chosen, problems


def _mismatch_error(folder: Path, problems: list[str]) -> CohortFileError:
    lines = "\n".join(f"  - {p}" for p in problems)
    return CohortFileError(
        f"{folder} does not hold the cohort its {PROVENANCE} records:\n{lines}\n"
        "The folder was changed after it was written, or holds files of another write. "
        "Write it again (import or generate); to load tables you edited on purpose, pass "
        f"verify=False (Python), or delete {PROVENANCE} (their recorded provenance is then "
        "lost)."
    )


def _with_file_problems(err: ValidationError, changed: dict[str, str]) -> ValidationError:
    """The validation error of changed tables, with the change itself listed too."""
    report = err.report
    rows = [
        {
            "table": table,
            "row": None,
            "patient_id": None,
            "column": None,
            "value": name,
            "rule": "file_changed",
            "hint": f"{name} changed since {PROVENANCE} recorded its sha256; write the "
            "cohort again, or delete provenance.json if you edited it on purpose",
        }
        for name, table in changed.items()
    ]
    extra = pd.DataFrame(rows, columns=list(report.problems.columns))
    problems = pd.concat([report.problems, extra], ignore_index=True)
    return ValidationError(ValidationReport(problems=problems, n_rows=dict(report.n_rows)))


def _folder_tables(folder: Path) -> tuple[dict[str, Path], Path]:
    if not folder.exists():
        hint = "give a cohort folder or the two table files (patients, episodes)"
        old = sorted(folder.parent.glob(f".{folder.name}{_OLD_TAG}*"))
        if old:
            hint = f"an interrupted write left the previous cohort in {old[-1]}: rename it back"
        raise CohortFileError(f"{folder} does not exist: {hint}")
    if not folder.is_dir():
        raise CohortFileError(
            f"{folder} is a file: give the cohort folder, or both the "
            "patients and the episodes files"
        )
    return {}, folder / PROVENANCE


def _given_files(source: Sequence[str | Path]) -> tuple[dict[str, Path], Path]:
    files = [Path(s) for s in source]
    if len(files) not in (2, 3):
        raise ArgumentError(
            f"give two or three table files (patients, episodes[, treatments]), got {len(files)}"
        )
    for f in files:
        if not f.exists():
            raise CohortFileError(f"{f} does not exist")
    return dict(zip(_TABLES, files, strict=False)), files[0].parent / PROVENANCE


def _lists_all(meta: dict[str, Any] | None, folder: Path, given: dict[str, Path]) -> bool:
    recorded = set((meta or {}).get("files") or {})
    same = all(p.parent.resolve() == folder.resolve() for p in given.values())
    return meta is not None and same and {p.name for p in given.values()} <= recorded


def _check_fingerprint(
    folder: Path, cohort: Cohort, meta: dict[str, Any] | None, changed: dict[str, str]
) -> None:
    """Refuse tables changed since written, or read as another cohort than the one written."""
    if changed:
        raise _mismatch_error(
            folder, [f"{n} changed since {PROVENANCE} recorded its sha256" for n in changed]
        )
    meta = meta or {}
    fingerprint = meta.get("fingerprint")
    if meta.get("files") and fingerprint and fingerprint != cohort.fingerprint:
        raise _mismatch_error(
            folder,
            [
                f"the tables match their sha256 but read as a different cohort (fingerprint "
                f"{fingerprint[:12]} recorded, {cohort.fingerprint[:12]} now; written by "
                f"version {meta.get('version')!s})"
            ],
        )


def load_cohort(
    source: str | Path | Sequence[str | Path],
    *,
    allow_extra: bool = False,
    verify: bool = True,
) -> Cohort:
    """Read a cohort folder (or its table files) and validate it.

    Parameters
    ----------
    source : path or sequence of paths
        A folder holding ``patients`` and ``episodes`` tables (``.csv`` or ``.parquet``) and
        optionally a ``treatments`` table and ``provenance.json``; or the table files:
        patients, episodes and optionally treatments, in that order. Given files take the
        ``provenance.json`` beside them only if it lists them all.
    allow_extra : bool, default False
        Keep columns outside the contract.
    verify : bool, default True
        Check each table against the sha256 ``provenance.json`` records, and the cohort
        against its recorded fingerprint; refuse a table provenance does not list.

    Returns
    -------
    Cohort

    Raises
    ------
    CohortFileError
        If a file is missing, unreadable, malformed (``provenance.json``), or not the one
        provenance records.
    ValidationError
        If the tables break the contract (every problem listed; rows are file line numbers;
        a table changed since it was written is listed as ``file_changed``).
    """
    if isinstance(source, str | Path):
        folder = Path(source)
        given, meta_path = _folder_tables(folder)
    else:
        given, meta_path = _given_files(source)
        folder = meta_path.parent
    meta = _read_meta(meta_path)
    if given:  # given files: the provenance beside them is theirs only if it lists them
        meta = meta if _lists_all(meta, folder, given) else None
        tables, problems = given, list[str]()
    else:
        tables, problems = _pick_tables(folder, meta if verify else None)
    for name in ("patients", "episodes"):
        if name not in tables and not problems:
            raise CohortFileError(
                f"{folder} has no {name} table: expected {name}.csv or {name}.parquet (as "
                "written by `dah-outcomes generate` or `dah-outcomes import`)"
            )
    if problems:
        raise _mismatch_error(folder, problems)
    try:
        digests = {name: sha256_file(p) for name, p in tables.items()}
    except OSError as exc:
        raise file_error("cannot read", exc.filename, exc) from exc
    recorded_sha = (meta or {}).get("files") or {}
    changed = {
        p.name: name
        for name, p in tables.items()
        if verify and p.name in recorded_sha and recorded_sha[p.name] != digests[name]
    }
    provenance: dict[str, Any] = {
        "source": "files",
        **{f"{name}_file": str(p) for name, p in tables.items()},
        "sha256": {p.name: digests[name] for name, p in tables.items()},
    }
    design = None
    if meta is not None:
        design = meta.get("design")
        provenance = {**meta.get("provenance", {}), "loaded_from": provenance}
    restore = meta is not None and meta.get("csv_cells") == CSV_CELLS
    try:
        cohort = Cohort(
            _read_table(tables["patients"], restore),
            _read_table(tables["episodes"], restore),
            provenance=provenance,
            design=design,
            allow_extra=allow_extra,
            treatments=_read_table(tables["treatments"], restore)
            if "treatments" in tables
            else None,
        )
    except ValidationError as err:
        if changed:
            raise _with_file_problems(err, changed) from err
        raise
    if verify:
        _check_fingerprint(folder, cohort, meta, changed)
    return cohort
