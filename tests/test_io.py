"""Cohort files: round trips, atomic writes, sources untouched, clear file errors."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import Cohort, CohortFileError, ValidationError, load_cohort, save_cohort
from dah_outcomes.io.cohort_files import sha256_file, write_atomic


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_keeps_the_fingerprint(small_tables, tmp_path: Path, fmt: str) -> None:
    cohort = Cohort(*small_tables, provenance={"source": "test"})
    paths = save_cohort(cohort, tmp_path, format=fmt)
    back = load_cohort(tmp_path)
    assert back.fingerprint == cohort.fingerprint
    assert back.design == cohort.design
    assert back.provenance["source"] == "test"
    assert {p.name for p in paths.values()} == {
        f"patients.{fmt}",
        f"episodes.{fmt}",
        "provenance.json",
    }


def test_load_from_two_files_and_sources_untouched(small_tables, tmp_path: Path) -> None:
    save_cohort(Cohort(*small_tables), tmp_path)
    files = [tmp_path / "patients.csv", tmp_path / "episodes.csv"]
    before = [sha256_file(f) for f in files]
    cohort = load_cohort(files)
    assert cohort.n_episodes == 4
    assert [sha256_file(f) for f in files] == before


def test_validation_rows_are_file_lines(small_tables, tmp_path: Path) -> None:
    save_cohort(Cohort(*small_tables), tmp_path)
    path = tmp_path / "patients.csv"
    text = path.read_text().splitlines()
    text[3] = text[3].replace(",M,", ",X,")  # line 4 of the file, patient P3
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ValidationError) as info:
        load_cohort(tmp_path)
    problems = info.value.problems
    assert problems.loc[0, "row"] == 4
    assert problems.loc[0, "patient_id"] == "P3"


def test_missing_folder_and_table(tmp_path: Path) -> None:
    with pytest.raises(CohortFileError, match="does not exist"):
        load_cohort(tmp_path / "nowhere")
    (tmp_path / "patients.csv").write_text("patient_id\n")
    with pytest.raises(CohortFileError, match="no episodes table"):
        load_cohort(tmp_path)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def broken(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_csv_dates_are_iso(small_tables, tmp_path: Path) -> None:
    save_cohort(Cohort(*small_tables), tmp_path)
    frame = pd.read_csv(tmp_path / "patients.csv", dtype=str)
    assert frame.loc[0, "followup_start"] == "2005-01-01"
