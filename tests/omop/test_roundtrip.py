"""Generate -> write OMOP -> extract gives back the generator's DAH patients and episodes,
on DuckDB (file and Parquet folder) and on a real local-mode Spark session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import generate_cohort
from dah_outcomes.omop.definition import FEATURE_SETS, load_definition
from dah_outcomes.omop.extract import extract_cohort
from dah_outcomes.omop.synthesize import OmopNoise, write_omop

EPISODE_COLUMNS = [
    "patient_id",
    "episode_number",
    "onset_date",
    "discharge_date",
    "first_manifestation",
    *FEATURE_SETS,
    "in_hospital_death",
]
PATIENT_COLUMNS = [
    "patient_id",
    "sex",
    "birth_date",
    "sle_diagnosis_date",
    "followup_start",
    "followup_end",
    "death_date",
]


@pytest.fixture(scope="module")
def generated():
    return generate_cohort("seed-article", n_sle=15_000, seed=21)


@pytest.fixture(scope="module")
def omop_folder(generated, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("omop") / "cdm"
    write_omop(generated, out, seed=3, chunk_patients=4_000, noise=OmopNoise(rows_per_person=3))
    return out


def truth(cohort):
    e = cohort.episodes
    dah = e["patient_id"].unique()
    p = cohort.patients[cohort.patients["patient_id"].isin(dah)]
    return p[PATIENT_COLUMNS].reset_index(drop=True), e[EPISODE_COLUMNS].reset_index(drop=True)


def comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for c in columns:
        if out[c].dtype.kind == "M":
            out[c] = out[c].astype("datetime64[s]")
        elif str(out[c].dtype) in ("boolean", "bool"):
            out[c] = out[c].astype(bool)
        elif c == "episode_number":
            out[c] = out[c].astype("int64")
        else:
            out[c] = out[c].astype(object)
    return out.sort_values(columns[:2]).reset_index(drop=True)


def assert_same(extracted, generated) -> None:
    p_true, e_true = truth(generated)
    pd.testing.assert_frame_equal(
        comparable(extracted.cohort.patients, PATIENT_COLUMNS), comparable(p_true, PATIENT_COLUMNS)
    )
    pd.testing.assert_frame_equal(
        comparable(extracted.cohort.episodes, EPISODE_COLUMNS), comparable(e_true, EPISODE_COLUMNS)
    )


def test_duckdb_parquet_round_trip(generated, omop_folder) -> None:
    result = extract_cohort(omop_folder)
    assert_same(result, generated)
    d = result.denominators
    assert d["sle_patients"].sum() == generated.n_patients
    assert d["dah_patients"].sum() == generated.n_dah_patients
    inc, _ = result.incidence()
    assert inc.events == generated.n_dah_patients
    # whatever courses the generator dates come back with their first start per treatment
    # (of the treatments the definition has concepts for: rFVIIa has none)
    key = ["patient_id", "episode_number", "treatment"]
    t = generated.treatments
    t = t[t["treatment"].isin(list(FEATURE_SETS))]
    want = t.groupby(key, observed=True)["start_date"].min()
    got = result.cohort.treatments.set_index(key)["start_date"].reindex(want.index)
    pd.testing.assert_series_equal(got, want, check_names=False)


def test_duckdb_file_round_trip(generated, tmp_path) -> None:
    db = tmp_path / "cdm.duckdb"
    write_omop(generated, db, seed=3, to_duckdb=True, noise=OmopNoise(rows_per_person=1))
    assert_same(extract_cohort(db), generated)


def test_definition_text_lists_code_lists() -> None:
    text = load_definition().describe()
    assert "257628" in text
    assert "SNOMED 78144005" in text
    assert "30 days" in text


@pytest.mark.spark
def test_spark_gives_the_identical_cohort(omop_folder, spark_session) -> None:
    duck = extract_cohort(omop_folder, engine="duckdb")
    spark = extract_cohort(omop_folder, engine="spark", spark_session=spark_session)
    assert spark.cohort.fingerprint == duck.cohort.fingerprint
    pd.testing.assert_frame_equal(
        spark.denominators, duck.denominators, check_exact=False, rtol=1e-12
    )


def test_cli_synthesize_and_extract(tmp_path, capsys) -> None:
    from dah_outcomes.cli import main
    from dah_outcomes.io import load_cohort

    db = tmp_path / "cdm.duckdb"
    assert (
        main(
            [
                "omop",
                "synthesize",
                "--n-sle",
                "4000",
                "--seed",
                "2",
                "--out",
                str(db),
                "--truth",
                str(tmp_path / "truth"),
            ]
        )
        == 0
    )
    assert main(["omop", "extract", "--db", str(db), "--out", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "per 1,000 person-years" in out
    assert "SNOMED 78144005" in out
    truth_cohort = load_cohort(tmp_path / "truth")
    extracted = load_cohort(tmp_path / "x")
    assert extracted.n_dah_patients == truth_cohort.n_dah_patients
    assert (tmp_path / "x" / "denominators.csv").exists()
