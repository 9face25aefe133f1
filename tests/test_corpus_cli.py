"""Every CLI command on every input of the messy corpus ends without a traceback: exit 0,
exit 1 with an ``error:`` line (after a failed import's list of problems), or exit 2 with
argparse's usage (issue: import trust)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from messy_corpus import build_corpus, write_entry

from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: a usage error
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("corpus")
    return root, build_corpus(root)


def test_the_corpus_covers_every_class(corpus) -> None:
    _, entries = corpus
    names = {e.name for e in entries}
    for expected in (
        "r-na-markers",
        "decimal-comma",
        "cyrillic-headers",
        "adtte-bad-cnsr",
        "absent-flag-column",
        "partial-dates",
        "excel-zero-padded-ids",
        "jsonl-duplicated-key",
        "trailing-delimiter",
        "huge-field",
        "parquet-tz-aware",
        "binary-random-bytes",
        "binary-utf16",
        "mapping-anchor-bomb.yaml",
        "claims-single-table.toml",
        "claims-32-digits.toml",
        "evidence-letters.csv",
        "cohort-provenance-list",
        "omop-junk-database",
        "formula-cells",
        "escape-codes",
    ):
        assert expected in names
    assert sum(len(e.commands) for e in entries) > 150


def test_no_command_on_the_corpus_shows_a_traceback(corpus) -> None:
    root, entries = corpus
    failures = []
    runs = 0
    for entry in entries:
        folder = write_entry(entry, root / "entries")
        for i, command in enumerate(entry.commands):
            out = root / "outputs" / f"{entry.name}-{i}"
            argv = [a.replace("{d}", str(folder)).replace("{out}", str(out)) for a in command]
            with warnings.catch_warnings():
                warnings.simplefilter("always", DahOutcomesWarning)
                try:
                    code, stdout, stderr = _run(argv)
                except Exception as exc:
                    failures.append(f"{entry.name}: {' '.join(command)} raised {exc!r}")
                    continue
            runs += 1
            said = stderr.strip().splitlines()
            if "Traceback" in stderr + stdout:
                failures.append(f"{entry.name}: {' '.join(command)} printed a traceback")
            elif code == 1 and not any(line.startswith("error: ") for line in said):
                failures.append(f"{entry.name}: {' '.join(command)} exit 1 without error:")
            elif code == 2 and "usage:" not in stderr:
                failures.append(f"{entry.name}: {' '.join(command)} exit 2 without usage")
            elif code not in (0, 1, 2):
                failures.append(f"{entry.name}: {' '.join(command)} exit {code}")
    assert not failures, "\n".join(failures)
    assert runs > 150


@pytest.mark.parametrize("name", ["binary-random-bytes", "claims-32-digits.toml", "huge-field"])
def test_no_traceback_in_a_real_process_on_the_corpus(corpus, name: str) -> None:
    root, entries = corpus
    [entry] = [e for e in entries if e.name == name]
    folder = write_entry(entry, root / "process")
    command = [
        a.replace("{d}", str(folder)).replace("{out}", str(root / "process-out" / name))
        for a in entry.commands[0]
    ]
    done = subprocess.run(
        [sys.executable, "-m", "dah_outcomes.cli", *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1)
    if done.returncode == 1:
        assert any(line.startswith("error: ") for line in done.stderr.splitlines())
