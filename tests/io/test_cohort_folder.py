"""A cohort folder is written whole and read back only as written.

save_cohort / staged_folder: the folder appears complete or not at all (a writer killed at any
step leaves the old cohort loadable, or a clear error, never a mix); it is never a source, or
inside one, or holding one (symlinks and ``..`` resolved); an occupied folder is refused
unless replacing is asked for, and then nothing of the old cohort is left (no table of another
format, no stale treatments table) while files that are not a cohort's are kept.

load_cohort: every table is checked against the sha256 provenance.json records, the cohort
against its fingerprint; a malformed provenance file is our error naming the file and the fix.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.errors import CohortFileError, ValidationError
from dah_outcomes.io import cohort_files
from dah_outcomes.io.cohort_files import (
    check_output_folder,
    load_cohort,
    save_cohort,
    staged_folder,
    write_atomic,
)

pytestmark = pytest.mark.xdist_group("cohort_folder")


@pytest.fixture(scope="module")
def old() -> Cohort:
    return generate_cohort(n_sle=1500, seed=1)


@pytest.fixture(scope="module")
def new() -> Cohort:
    return generate_cohort(n_sle=1500, seed=2)


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def leftovers(folder: Path) -> list[str]:
    """Temporary siblings of ``folder`` (written by a stage)."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


# ---------------------------------------------------------------- replacing, refusing


@pytest.mark.parametrize(("first", "second"), [("csv", "parquet"), ("parquet", "csv")])
def test_a_second_format_leaves_nothing_of_the_first(
    old: Cohort, new: Cohort, tmp_path: Path, first: str, second: str
) -> None:
    out = tmp_path / "c"
    save_cohort(old, out, format=first)  # type: ignore[arg-type]
    save_cohort(new, out, format=second)  # type: ignore[arg-type]
    tables = ["patients", "episodes"] + ["treatments"] * bool(new.n_treatments)
    assert names(out) == {f"{t}.{second}" for t in tables} | {"provenance.json"}
    assert load_cohort(out).fingerprint == new.fingerprint
    assert leftovers(out) == []


def test_treatments_of_the_old_cohort_go_with_it(small_tables, tmp_path: Path) -> None:
    courses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "episode_number": [1],
            "treatment": ["plasmapheresis"],
            "start_date": ["2005-01-02"],
            "end_date": ["2005-01-06"],
            "dose_mg": [None],
            "sessions": [5],
        }
    )
    out = tmp_path / "c"
    save_cohort(Cohort(*small_tables, treatments=courses), out, format="parquet")
    assert "treatments.parquet" in names(out)
    save_cohort(Cohort(*small_tables), out, format="csv")
    assert names(out) == {"patients.csv", "episodes.csv", "provenance.json"}


def test_an_occupied_folder_is_refused_unless_replacing(
    old: Cohort, new: Cohort, tmp_path: Path
) -> None:
    out = tmp_path / "c"
    save_cohort(old, out, if_exists="error")  # a new folder is fine
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(CohortFileError, match=r"already holds a cohort .*--force"):
        save_cohort(new, out, if_exists="error")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    save_cohort(new, out, if_exists="replace")
    assert load_cohort(out).fingerprint == new.fingerprint


def test_other_files_refused_then_kept(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "a.txt").write_text("keep me")
    (out / "todo.md").write_text("and me")
    with pytest.raises(CohortFileError, match=r"other files \(notes, todo.md\)"):
        check_output_folder(out)
    with pytest.raises(CohortFileError, match="other files"):
        save_cohort(old, out, if_exists="error")
    save_cohort(old, out, if_exists="replace")
    assert (out / "notes" / "a.txt").read_text() == "keep me"
    assert (out / "todo.md").read_text() == "and me"
    assert load_cohort(out).fingerprint == old.fingerprint


def test_an_empty_folder_is_used(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    save_cohort(old, out, if_exists="error")
    assert load_cohort(out).fingerprint == old.fingerprint


@pytest.mark.parametrize(
    "where",
    ["same", "inside", "dotdot", "symlink", "symlink-inside", "holds-file", "holds-folder"],
)
def test_an_output_that_is_a_source_is_refused(old: Cohort, tmp_path: Path, where: str) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    source = registry / "patients.csv"
    source.write_text("patient_id\nP1\n")
    link = tmp_path / "link"
    link.symlink_to(registry, target_is_directory=True)
    out, src = {
        "same": (registry, registry),
        "inside": (registry / "cohort", registry),
        "dotdot": (tmp_path / "elsewhere" / ".." / "registry", registry),
        "symlink": (link, registry),
        "symlink-inside": (link / "out", source.parent),
        "holds-file": (tmp_path, source),
        "holds-folder": (tmp_path, registry),
    }[where]
    before = source.read_bytes()
    for call in (
        lambda: check_output_folder(out, if_exists="replace", sources=[src]),
        lambda: save_cohort(old, out, if_exists="replace", sources=[src]),
    ):
        with pytest.raises(CohortFileError, match=r"refusing to write to .*source"):
            call()
    assert source.read_bytes() == before
    assert names(registry) == {"patients.csv"}


def test_import_provenance_protects_its_sources(old: Cohort, tmp_path: Path) -> None:
    """A cohort that records where it was read from is never saved over those files."""
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "export.csv").write_text("x\n")
    imported = Cohort(
        old.patients,
        old.episodes,
        provenance={"source": "import", "files": [{"path": str(registry / "export.csv")}]},
    )
    with pytest.raises(CohortFileError, match="source"):
        save_cohort(imported, registry)
    assert names(registry) == {"export.csv"}
    save_cohort(imported, tmp_path / "out")  # elsewhere is fine


def test_an_output_that_is_a_file_or_the_current_folder(
    old: Cohort, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "file.csv"
    f.write_text("x")
    with pytest.raises(CohortFileError, match="it is a file"):
        save_cohort(old, f)
    with pytest.raises(CohortFileError, match="not a folder"):
        save_cohort(old, f / "sub")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(CohortFileError, match="current folder"):
        save_cohort(old, ".")
    with pytest.raises(CohortFileError, match="current folder"):
        save_cohort(old, tmp_path, if_exists="replace")


def test_unwritable_folder_is_our_error(
    old: Cohort, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(cohort_files.tempfile, "mkdtemp", denied)
    with pytest.raises(CohortFileError, match=r"cannot create the output folder .*permission"):
        save_cohort(old, tmp_path / "c")
    monkeypatch.setattr("dah_outcomes.io.files.tempfile.mkstemp", denied)
    with pytest.raises(CohortFileError, match=r"cannot write .*x\.csv: permission denied"):
        write_atomic(tmp_path / "x.csv", lambda p: p.write_text("x"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(old: Cohort, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(CohortFileError, match="permission"):
            save_cohort(old, ro / "c")
    finally:
        ro.chmod(0o755)


def test_an_error_inside_the_stage_leaves_the_old_folder(
    old: Cohort, new: Cohort, tmp_path: Path
) -> None:
    out = tmp_path / "c"
    save_cohort(old, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted() -> None:
        with staged_folder(out, if_exists="replace") as tmp:
            save_cohort(new, tmp)
            (tmp / "rejects.csv").write_text("x\n")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        interrupted()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(out) == []


def test_stage_writes_the_whole_folder_once(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "c"
    with staged_folder(out) as tmp:
        paths = save_cohort(old, tmp)  # straight into the stage
        assert not out.exists()
        assert all(p.parent == tmp for p in paths.values())
        write_atomic(tmp / "rejects.csv", lambda p: p.write_text("file,row\n"))
    tables = ["patients", "episodes"] + ["treatments"] * bool(old.n_treatments)
    assert names(out) == {f"{t}.csv" for t in tables} | {"provenance.json", "rejects.csv"}
    assert load_cohort(out).fingerprint == old.fingerprint


def test_the_legacy_write_order_keeps_its_own_files(old: Cohort, tmp_path: Path) -> None:
    """write_import writes rejects/flow first and names them in extra["import_files"]."""
    out = tmp_path / "c"
    out.mkdir()
    (out / "rejects.csv").write_text("new\n")
    save_cohort(old, out, if_exists="error", extra={"import_files": {"rejects.csv": "0" * 64}})
    assert (out / "rejects.csv").read_text() == "new\n"
    # the next cohort there replaces what the old provenance lists, rejects.csv included
    save_cohort(old, out)
    assert "rejects.csv" not in names(out)


# ---------------------------------------------------------------- killed mid-write

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from dah_outcomes import generate_cohort
    from dah_outcomes.io import cohort_files

    mode, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cohort = generate_cohort(n_sle=n, seed=2)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if mode == "after-first-table":
        write = cohort_files._write_table
        def _write_table(frame, path, fmt):
            write(frame, path, fmt)
            die()
        cohort_files._write_table = _write_table
    elif mode == "before-install":
        cohort_files._install = die
    elif mode == "after-swap":
        exchange = cohort_files._exchange
        def _exchange(a, b):
            exchange(a, b)
            die()
        cohort_files._exchange = _exchange
    elif mode == "between-renames":
        cohort_files._exchange = lambda a, b: False
        rename, done = os.rename, []
        def _rename(a, b):
            rename(a, b)
            done.append(b)
            if len(done) == 1:
                die()
        cohort_files.os.rename = _rename
    print(cohort.fingerprint, flush=True)
    cohort_files.save_cohort(cohort, target, format=os.environ.get("FMT", "csv"))
    """
)


def run_killer(mode: str, target: Path, n: int = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, mode, str(target), str(n)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("mode", ["after-first-table", "before-install"])
def test_killed_before_the_rename_leaves_the_old_cohort(
    old: Cohort, tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "c"
    save_cohort(old, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = run_killer(mode, out)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert load_cohort(out).fingerprint == old.fingerprint
    assert leftovers(out), "the killed write left its temporary folder"
    save_cohort(old, out)  # the next write clears what the killed one left
    assert leftovers(out) == []


def test_killed_after_the_swap_leaves_the_new_cohort(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "c"
    save_cohort(old, out)
    proc = run_killer("after-swap", out)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    written = proc.stdout.split()[0]
    assert load_cohort(out).fingerprint == written != old.fingerprint


def test_killed_between_two_renames_is_a_clear_error(old: Cohort, tmp_path: Path) -> None:
    """Without an atomic swap (not Linux), the old folder is moved aside first: killed then,
    the target is missing and loading it names where the old cohort is."""
    out = tmp_path / "c"
    save_cohort(old, out)
    proc = run_killer("between-renames", out)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not out.exists()
    with pytest.raises(CohortFileError, match=r"interrupted write left the previous cohort in"):
        load_cohort(out)
    aside = next(p for p in tmp_path.iterdir() if ".dah-old-" in p.name)
    assert load_cohort(aside).fingerprint == old.fingerprint


def test_killed_when_its_temporary_folder_appears(old: Cohort, tmp_path: Path) -> None:
    """An unpatched writer of a large cohort, killed from outside once its work has begun."""
    out = tmp_path / "c"
    save_cohort(old, out)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, "plain", str(out), "200000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not leftovers(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert leftovers(out), "the writer finished before its temporary folder was seen"
        time.sleep(0.02)  # into the tables
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert load_cohort(out).fingerprint == old.fingerprint


def test_a_folder_written_file_by_file_and_interrupted_is_refused(
    old: Cohort, new: Cohort, tmp_path: Path
) -> None:
    """What the old writer left when killed: new patients beside old episodes and provenance."""
    a, b = tmp_path / "a", tmp_path / "b"
    save_cohort(old, a)
    save_cohort(new, b)
    shutil.copyfile(b / "patients.csv", a / "patients.csv")
    with pytest.raises((CohortFileError, ValidationError)) as info:
        load_cohort(a)
    # mixed tables either break the contract, with the change listed, or are refused as changed
    assert re.search(r"patients.file_changed: 1|patients.csv changed since", str(info.value))


# ---------------------------------------------------------------- verification on load


def test_a_changed_table_is_refused(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "c"
    save_cohort(old, out)
    path = out / "patients.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",site-Z"  # a valid change: another site
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CohortFileError) as info:
        load_cohort(out)
    message = str(info.value)
    assert "patients.csv changed since provenance.json recorded its sha256" in message
    assert str(out) in message
    assert "Write it again" in message
    assert "verify=False" in message
    back = load_cohort(out, verify=False)
    assert back.fingerprint != old.fingerprint


def test_a_changed_invalid_table_lists_its_problems_and_the_change(
    small_tables, tmp_path: Path
) -> None:
    save_cohort(Cohort(*small_tables), tmp_path)
    path = tmp_path / "patients.csv"
    path.write_text(path.read_text().replace(",M,", ",X,"))
    with pytest.raises(ValidationError) as info:
        load_cohort(tmp_path)
    problems = info.value.problems
    assert set(problems["rule"]) >= {"file_changed"}
    assert problems["rule"].iloc[0] != "file_changed"  # the data's problems first
    assert "patients.file_changed: 1" in str(info.value)


def test_a_table_provenance_does_not_list_is_refused(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "c"
    save_cohort(old, out, format="parquet")
    old.patients.to_csv(out / "patients.csv", index=False)  # a stale file of another format
    with pytest.raises(CohortFileError, match=r"patients.csv is not part of the cohort"):
        load_cohort(out)
    (out / "patients.csv").unlink()
    (out / "episodes.parquet").unlink()
    with pytest.raises(CohortFileError, match=r"episodes.parquet is listed .* but missing"):
        load_cohort(out)


def test_a_fingerprint_that_does_not_match_is_refused(old: Cohort, tmp_path: Path) -> None:
    out = tmp_path / "c"
    save_cohort(old, out)
    meta = json.loads((out / "provenance.json").read_text())
    meta["fingerprint"] = "0" * 64
    (out / "provenance.json").write_text(json.dumps(meta))
    with pytest.raises(CohortFileError, match="read as a different cohort"):
        load_cohort(out)


JUNK = {
    "a list": b'["patients.csv"]',
    "a number": b"42",
    "null": b"null",
    "not JSON": b"{files: 1",
    "empty": b"",
    "binary": bytes(range(256)),
    "UTF-16": json.dumps({"design": None}).encode("utf-16"),
    "files a list": b'{"files": ["patients.csv"]}',
    "digest not hex": b'{"files": {"patients.csv": "abc"}}',
    "provenance a string": b'{"provenance": "x"}',
    "design a number": b'{"design": 3}',
}


@pytest.mark.parametrize("kind", sorted(JUNK))
def test_a_malformed_provenance_file_is_our_error(small_tables, tmp_path: Path, kind: str) -> None:
    save_cohort(Cohort(*small_tables), tmp_path)
    (tmp_path / "provenance.json").write_bytes(JUNK[kind])
    with pytest.raises(CohortFileError) as info:
        load_cohort(tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'provenance.json'}" in message
    assert "delete provenance.json" in message
    with pytest.raises(CohortFileError):  # the table files given: the same check
        load_cohort([tmp_path / "patients.csv", tmp_path / "episodes.csv"])


def test_given_files_take_only_a_provenance_that_lists_them(small_tables, tmp_path: Path) -> None:
    save_cohort(Cohort(*small_tables, provenance={"source": "test"}), tmp_path / "c")
    files = [tmp_path / "c" / "patients.csv", tmp_path / "c" / "episodes.csv"]
    assert load_cohort(files).provenance["source"] == "test"
    other = tmp_path / "other.csv"
    shutil.copyfile(files[0], other)
    assert load_cohort([other, files[1]]).provenance["source"] == "files"
