"""Treatment courses through OMOP: a cohort with hand-made courses (start, end, dose, sessions,
some second courses, some flags without a course) written as a CDM and extracted gives back
every course's start date exactly, and the rest where the CDM can carry it; the flags agree
with the courses; DuckDB and a real local Spark session give the identical cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import Cohort
from dah_outcomes.omop.definition import FEATURE_SETS
from dah_outcomes.omop.extract import extract_cohort
from dah_outcomes.omop.synthesize import OmopNoise, write_omop
from dah_outcomes.schema import TREATMENT_FLAGS
from dah_outcomes.synthetic.cohorts import generate_cohort

KEY = ["patient_id", "episode_number", "treatment"]
COURSES = [n for n in FEATURE_SETS if n in TREATMENT_FLAGS]
DRUGS = [n for n in COURSES if FEATURE_SETS[n] == "drug"]


def hand_made_courses(cohort: Cohort, seed: int) -> pd.DataFrame:
    """Courses for most flagged treatments, inside each episode's admission and before death:
    ends, doses and sessions on some, a second later course on some, none on about one in
    five (timing unknown)."""
    rng = np.random.default_rng(seed)
    e = cohort.episodes
    death = cohort.patients.set_index("patient_id")["death_date"].reindex(e["patient_id"])
    limit = np.where(
        death.notna().to_numpy() & (death.to_numpy() < e["discharge_date"].to_numpy()),
        death.to_numpy(),
        e["discharge_date"].to_numpy(),
    ).astype("datetime64[s]")
    rows = []
    for i, ep in enumerate(e.itertuples(index=False)):
        onset = ep.onset_date
        span = int((limit[i] - onset.to_datetime64()) / np.timedelta64(1, "D"))
        for treatment in COURSES:
            if not getattr(ep, treatment) or rng.random() < 0.2:
                continue
            starts = [int(rng.integers(0, span + 1))]
            if starts[0] < span and rng.random() < 0.2:
                starts.append(int(rng.integers(starts[0] + 1, span + 1)))
            for first in starts:
                left = span - first
                end = int(rng.integers(0, left + 1)) if rng.random() < 0.7 else None
                room = end + 1 if end is not None else left + 1
                rows.append(
                    {
                        "patient_id": ep.patient_id,
                        "episode_number": ep.episode_number,
                        "treatment": treatment,
                        "start_date": onset + pd.Timedelta(days=first),
                        "end_date": None if end is None else onset + pd.Timedelta(days=first + end),
                        "dose_mg": round(float(rng.uniform(50, 5000)), 1)
                        if treatment in DRUGS and rng.random() < 0.6
                        else None,
                        "sessions": int(rng.integers(1, room + 1))
                        if treatment == "plasmapheresis"
                        else None,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def treated() -> Cohort:
    g = generate_cohort(n_sle=3000, seed=1)
    # the hand-made courses replace any the generator makes, so this test owns its courses
    return Cohort(
        g.patients,
        g.episodes,
        provenance=g.provenance,
        design="population",
        treatments=hand_made_courses(g, seed=5),
    )


@pytest.fixture(scope="module")
def cdm(treated: Cohort, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("treated") / "cdm"
    write_omop(treated, out, seed=4, chunk_patients=700, noise=OmopNoise(rows_per_person=2))
    return out


@pytest.fixture(scope="module")
def extracted(cdm: Path) -> Cohort:
    return extract_cohort(cdm).cohort


def expected(treated: Cohort) -> pd.DataFrame:
    """What the CDM can give back per (episode, treatment): the first start; for drugs the
    last end (a course without one ends on its start day) and the total dose when every
    course has one; for a single plasmapheresis course its sessions and end."""
    t = treated.treatments
    t["last"] = t["end_date"].fillna(t["start_date"])
    g = t.groupby(KEY, observed=True)
    out = pd.DataFrame(
        {
            "start_date": g["start_date"].min(),
            "last": g["last"].max(),
            "n": g.size(),
            "end_known": g["end_date"].count() == g.size(),
            "dose_mg": g["dose_mg"].sum().where(g["dose_mg"].count() == g.size()),
            "sessions": g["sessions"].sum(),
        }
    )
    return out


def test_every_course_start_comes_back_exactly(treated: Cohort, extracted: Cohort) -> None:
    want = expected(treated)
    got = extracted.treatments.set_index(KEY)
    assert len(want) > 300  # the test has courses of every kind to lose
    assert set(want.index.get_level_values("treatment")) == set(COURSES)
    both = want.join(got.add_suffix("_x"), how="left")
    pd.testing.assert_series_equal(
        both["start_date_x"], both["start_date"], check_names=False, check_dtype=False
    )
    drugs = both[both.index.get_level_values("treatment").isin(DRUGS)]
    assert (drugs["end_date_x"] == drugs["last"]).all()
    dosed = drugs["dose_mg"].notna()
    assert dosed.sum() > 50
    np.testing.assert_allclose(
        drugs.loc[dosed, "dose_mg_x"].astype(float), drugs.loc[dosed, "dose_mg"], rtol=1e-9
    )
    assert drugs.loc[~dosed, "dose_mg_x"].isna().all()
    plex = both[(both.index.get_level_values("treatment") == "plasmapheresis") & (both["n"] == 1)]
    assert len(plex) > 30
    assert (plex["sessions_x"] == plex["sessions"]).all()
    ended = plex[plex["end_known"]]
    assert len(ended) > 10
    assert (ended["end_date_x"] == ended["last"]).all()


def test_flags_and_courses_agree(treated: Cohort, extracted: Cohort) -> None:
    key = ["patient_id", "episode_number"]
    e = extracted.episodes.set_index(key)
    truth = treated.episodes.set_index(key)
    for flag in FEATURE_SETS:
        pd.testing.assert_series_equal(
            e[flag].astype(bool), truth[flag].astype(bool), check_names=False
        )
    # every flagged treatment has exactly one extracted course, a course-less flag included:
    # the CDM dates every record, so its start lies in the admission
    t = extracted.treatments
    flagged = e[COURSES].stack()
    flagged = flagged[flagged.astype(bool)].index
    assert sorted(flagged) == sorted(t.set_index(KEY).index)
    assert not t.duplicated(KEY).any()
    timed = expected(treated).index
    unknown = t.set_index(KEY).drop(timed)
    assert len(unknown) > 50
    j = unknown.join(e[["onset_date", "discharge_date"]], on=key)
    assert ((j["start_date"] >= j["onset_date"]) & (j["start_date"] <= j["discharge_date"])).all()


def test_without_courses_the_flags_are_written_as_before(tmp_path) -> None:
    g = generate_cohort(n_sle=3000, seed=1)
    plain = Cohort(g.patients, g.episodes, provenance=g.provenance, design="population")
    write_omop(plain, tmp_path / "cdm", seed=4, noise=OmopNoise(rows_per_person=1))
    x = extract_cohort(tmp_path / "cdm").cohort
    key = ["patient_id", "episode_number"]
    e, truth = x.episodes.set_index(key), g.episodes.set_index(key)
    for flag in FEATURE_SETS:
        assert (e[flag].astype(bool) == truth[flag].astype(bool)).all(), flag
    # each flagged treatment became one course; the pulses' episode dose came back too
    assert x.n_treatments == int(truth[COURSES].astype(bool).sum().sum())
    given = truth["methylprednisolone_pulse"].astype(bool)
    np.testing.assert_allclose(
        e.loc[given, "methylprednisolone_dose_mg"].astype(float),
        truth.loc[given, "methylprednisolone_dose_mg"].astype(float),
        rtol=1e-9,
    )


def test_courses_with_only_their_start_dates(treated: Cohort, tmp_path) -> None:
    # end, dose and sessions are optional columns: a table without them writes and reads back
    starts = treated.treatments[[*KEY, "start_date"]]
    bare = Cohort(treated.patients, treated.episodes, design="population", treatments=starts)
    write_omop(bare, tmp_path / "cdm", seed=1, noise=OmopNoise(rows_per_person=0))
    got = extract_cohort(tmp_path / "cdm").cohort.treatments.set_index(KEY)["start_date"]
    want = starts.groupby(KEY, observed=True)["start_date"].min()
    pd.testing.assert_series_equal(got.reindex(want.index), want, check_names=False)


@pytest.mark.spark
def test_spark_extracts_the_identical_courses(cdm: Path, extracted: Cohort, spark_session) -> None:
    spark = extract_cohort(cdm, engine="spark", spark_session=spark_session).cohort
    pd.testing.assert_frame_equal(spark.treatments, extracted.treatments)
    assert spark.fingerprint == extracted.fingerprint
