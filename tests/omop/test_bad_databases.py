"""A database that is not a usable OMOP CDM gives our error, naming the path and what is
missing, from the API and from ``dah-outcomes omop extract`` (never a traceback)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from dah_outcomes.cli import main
from dah_outcomes.errors import CohortFileError
from dah_outcomes.omop.extract import extract_cohort
from dah_outcomes.omop.synthesize import OmopNoise, write_omop
from dah_outcomes.synthetic.cohorts import generate_cohort


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("good")
    cohort = generate_cohort(n_sle=600, seed=3)
    noise = OmopNoise(rows_per_person=1)
    write_omop(cohort, base / "cdm.duckdb", to_duckdb=True, noise=noise)
    write_omop(cohort, base / "parquet", noise=noise)
    return {"duckdb": base / "cdm.duckdb", "parquet": base / "parquet"}


def _sql(*statements: str) -> Callable[[Path], None]:
    def edit(db: Path) -> None:
        con = duckdb.connect(str(db))
        try:
            for s in statements:
                con.execute(s)
        finally:
            con.close()

    return edit


def _random_bytes(db: Path) -> None:
    db.write_bytes(os.urandom(20_000))


def _no_cdm(db: Path) -> None:
    db.unlink()
    _sql("CREATE TABLE notes (id INTEGER, text VARCHAR)")(db)


# (case, edit of a copy of the good DuckDB file, words the message must hold)
DUCKDB_CASES = [
    ("random bytes", _random_bytes, ["could not be read as an OMOP CDM database"]),
    ("no CDM tables", _no_cdm, ["lacks table(s) person, observation_period", "found: notes"]),
    (
        "missing columns",
        _sql(
            "ALTER TABLE drug_exposure DROP COLUMN drug_exposure_start_date",
            "ALTER TABLE person DROP COLUMN gender_concept_id",
        ),
        [
            "column(s) gender_concept_id of table person",
            "column(s) drug_exposure_start_date of table drug_exposure",
        ],
    ),
    (
        "missing table and vocabulary column",
        _sql("DROP TABLE death", "ALTER TABLE concept DROP COLUMN concept_code"),
        ["lacks table(s) death", "column(s) concept_code of table concept"],
    ),
    (
        "a date column of the wrong type",
        _sql(
            "ALTER TABLE procedure_occurrence DROP COLUMN procedure_date",
            "ALTER TABLE procedure_occurrence ADD COLUMN procedure_date INTEGER DEFAULT 7",
        ),
        ["could not be read as an OMOP CDM database"],
    ),
]


@pytest.mark.parametrize(("case", "edit", "words"), DUCKDB_CASES, ids=[c[0] for c in DUCKDB_CASES])
def test_bad_duckdb_file(good, tmp_path, capsys, case, edit, words) -> None:
    db = tmp_path / "bad.duckdb"
    shutil.copy(good["duckdb"], db)
    edit(db)
    with pytest.raises(CohortFileError) as info:
        extract_cohort(db)
    message = str(info.value)
    assert str(db) in message
    for w in words:
        assert w in message, message
    assert main(["omop", "extract", "--db", str(db), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message.splitlines()[0]}")
    assert "Traceback" not in err


def _junk_parquet(folder: Path) -> None:
    (folder / "drug_exposure.parquet").write_bytes(os.urandom(5_000))


def _drop_parquet_column(folder: Path) -> None:
    con = duckdb.connect()
    f = folder / "visit_occurrence.parquet"
    kept = f"SELECT * EXCLUDE (visit_end_date) FROM '{f}'"
    con.execute(f"COPY ({kept}) TO '{f}.tmp' (FORMAT parquet)")
    os.replace(f"{f}.tmp", f)


def _empty(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.mkdir()


PARQUET_CASES = [
    ("junk parquet file", _junk_parquet, ["could not be read", "drug_exposure.parquet"]),
    ("missing column", _drop_parquet_column, ["visit_end_date of table visit_occurrence"]),
    ("empty folder", _empty, ["lacks table(s) person", "found: no table"]),
]


def _bad_folder(good, tmp_path, edit) -> Path:
    folder = tmp_path / "bad"
    shutil.copytree(good["parquet"], folder)
    edit(folder)
    return folder


@pytest.mark.parametrize(
    ("case", "edit", "words"), PARQUET_CASES, ids=[c[0] for c in PARQUET_CASES]
)
def test_bad_parquet_folder(good, tmp_path, capsys, case, edit, words) -> None:
    folder = _bad_folder(good, tmp_path, edit)
    assert main(["omop", "extract", "--db", str(folder), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder}")
    for w in words:
        assert w in err, err
    assert "Traceback" not in err


def test_the_good_databases_extract(good) -> None:
    # the cases above break these, so they must work unbroken
    a, b = extract_cohort(good["duckdb"]), extract_cohort(good["parquet"])
    assert a.cohort.n_episodes > 0
    assert a.cohort.fingerprint == b.cohort.fingerprint


@pytest.mark.spark
def test_bad_parquet_folders_on_spark(good, tmp_path, spark_session) -> None:
    for case, edit, words in PARQUET_CASES:
        folder = _bad_folder(good, tmp_path / case.replace(" ", "_"), edit)
        with pytest.raises(CohortFileError) as info:
            extract_cohort(folder, engine="spark", spark_session=spark_session)
        message = str(info.value)
        assert message.startswith(str(folder)), (case, message)
        for w in words:
            assert w in message, (case, message)
    # the session was the caller's: still usable, and without the failed databases' views
    assert spark_session.range(3).count() == 3
    assert not [t for t in spark_session.catalog.listTables() if t.name == "person"]
