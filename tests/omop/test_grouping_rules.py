"""A hand-made OMOP database whose every row tests one rule of the cohort definition."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes.omop.extract import extract_cohort
from dah_outcomes.omop.synthesize import CONCEPTS, DAH_LOCAL

SLE, DRUG_SLE, PLEX, RTX, IP, OP = 257628, 4063581, 4049372, 1314273, 9201, 9202
D = pd.Timestamp


def write(folder: Path, name: str, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if c.endswith("_date"):
            frame[c] = pd.to_datetime(frame[c]).dt.date
    frame.to_parquet(folder / f"{name}.parquet", index=False)


@pytest.fixture(scope="module")
def cdm(tmp_path_factory) -> Path:
    f = tmp_path_factory.mktemp("edge")
    people = [1, 2, 3, 4, 5]
    write(
        f,
        "person",
        [
            {
                "person_id": i,
                "gender_concept_id": 8532,
                "year_of_birth": 1980,
                "month_of_birth": 1,
                "day_of_birth": 1,
            }
            for i in people
        ],
    )
    write(
        f,
        "observation_period",
        [
            {
                "person_id": i,
                "observation_period_start_date": "2009-01-01",
                "observation_period_end_date": "2020-12-31",
            }
            for i in people
        ],
    )
    visits = [
        # person 1: stays 10 days apart (one episode), then one 30 days after (a new one)
        (1, 1, "2012-01-01", "2012-01-10", IP),
        (1, 2, "2012-01-20", "2012-01-25", IP),
        (1, 3, "2012-02-24", "2012-03-01", IP),
        # person 2: DAH coded only at an outpatient visit: no episode
        (2, 4, "2013-05-05", "2013-05-05", OP),
        # person 3: no SLE, inpatient DAH: not in the cohort
        (3, 5, "2014-01-01", "2014-01-05", IP),
        # person 4: drug-induced lupus only (excluded from the SLE set), inpatient DAH
        (4, 6, "2014-01-01", "2014-01-05", IP),
        # person 5: DAH stay that ends in death
        (5, 7, "2015-06-01", "2015-06-09", IP),
    ]
    write(
        f,
        "visit_occurrence",
        [
            {
                "visit_occurrence_id": v,
                "person_id": p,
                "visit_start_date": s,
                "visit_end_date": e,
                "visit_concept_id": c,
            }
            for p, v, s, e, c in visits
        ],
    )
    conds = [
        (1, "2011-06-01", SLE),
        (1, "2012-01-02", DAH_LOCAL),
        (1, "2012-01-21", DAH_LOCAL),
        (1, "2012-02-24", DAH_LOCAL),
        (2, "2010-01-01", SLE),
        (2, "2013-05-05", DAH_LOCAL),
        (3, "2014-01-02", DAH_LOCAL),
        (4, "2013-01-01", DRUG_SLE),
        (4, "2014-01-02", DAH_LOCAL),
        (5, "2015-06-01", SLE),
        (5, "2015-06-01", DAH_LOCAL),
    ]
    write(
        f,
        "condition_occurrence",
        [
            {
                "condition_occurrence_id": i,
                "person_id": p,
                "condition_start_date": d,
                "condition_concept_id": c,
            }
            for i, (p, d, c) in enumerate(conds, 1)
        ],
    )
    procs = [
        (1, "2012-01-22", PLEX),  # inside the merged episode (second stay)
        (1, "2012-03-02", PLEX),
    ]  # the day after the last discharge: outside
    write(
        f,
        "procedure_occurrence",
        [
            {
                "procedure_occurrence_id": i,
                "person_id": p,
                "procedure_date": d,
                "procedure_concept_id": c,
            }
            for i, (p, d, c) in enumerate(procs, 1)
        ],
    )
    write(
        f,
        "drug_exposure",
        [
            {
                "drug_exposure_id": 1,
                "person_id": 5,
                "drug_exposure_start_date": "2015-05-31",  # before onset
                "drug_concept_id": RTX,
            }
        ],
    )
    write(f, "death", [{"person_id": 5, "death_date": "2015-06-09"}])
    write(
        f,
        "concept",
        [
            {"concept_id": c, "vocabulary_id": v[0], "concept_code": v[1]}
            for c, v in CONCEPTS.items()
        ],
    )
    return f


def test_grouping_rules(cdm: Path) -> None:
    result = extract_cohort(cdm)
    e = result.cohort.episodes.set_index(["patient_id", "episode_number"])
    assert sorted(result.cohort.patients["patient_id"]) == ["SLE0000001", "SLE0000005"]
    first = e.loc[("SLE0000001", 1)]
    assert (first["onset_date"], first["discharge_date"]) == (D("2012-01-01"), D("2012-01-25"))
    assert first["plasmapheresis"]
    assert first["plasmapheresis_sessions"] == 1
    second = e.loc[("SLE0000001", 2)]
    assert second["onset_date"] == D("2012-02-24")
    assert not second["plasmapheresis"]
    assert not first["first_manifestation"]
    fatal = e.loc[("SLE0000005", 1)]
    assert fatal["in_hospital_death"]
    assert fatal["first_manifestation"]
    assert not fatal["rituximab"]  # the day before onset is outside the window
    d = result.denominators
    assert int(d["sle_patients"].sum()) == 3  # persons 1, 2 and 5; not 3 or 4
    assert int(d["dah_patients"].sum()) == 2
