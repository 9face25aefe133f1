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


MP, MP_125, MP_1G, RTX_VIAL, HCQ = 1506270, 2_000_000_201, 2_000_000_301, 2_000_000_204, 1777087


def course_cdm(folder: Path, *, quantity: bool = True, strength: bool = True) -> Path:
    """One SLE patient, one stay (2016-03-01 to 03-20), the rows of each course rule."""
    write(
        folder,
        "person",
        [
            {
                "person_id": 9,
                "gender_concept_id": 8507,
                "year_of_birth": 1990,
                "month_of_birth": 5,
                "day_of_birth": 2,
            }
        ],
    )
    write(
        folder,
        "observation_period",
        [
            {
                "person_id": 9,
                "observation_period_start_date": "2015-01-01",
                "observation_period_end_date": "2019-12-31",
            }
        ],
    )
    write(
        folder,
        "visit_occurrence",
        [
            {
                "visit_occurrence_id": 1,
                "person_id": 9,
                "visit_start_date": "2016-03-01",
                "visit_end_date": "2016-03-20",
                "visit_concept_id": IP,
            }
        ],
    )
    write(
        folder,
        "condition_occurrence",
        [
            {"person_id": 9, "condition_start_date": d, "condition_concept_id": c}
            for d, c in (("2015-06-01", SLE), ("2016-03-01", DAH_LOCAL))
        ],
    )
    write(
        folder,
        "procedure_occurrence",
        [
            {
                "person_id": 9,
                "procedure_date": d,
                "procedure_end_date": e,
                "procedure_concept_id": c,
            }
            for d, e, c in (
                ("2016-03-05", "2016-03-05", PLEX),
                ("2016-03-05", "2016-03-05", PLEX),  # the same day twice: one session
                ("2016-03-07", "2016-03-09", PLEX),  # the last session ends later
                ("2016-03-21", "2016-03-21", PLEX),  # the day after discharge
            )
        ],
    )
    drugs = [
        # (start, end, concept, quantity)
        ("2016-02-29", "2016-02-29", MP_125, 8.0),  # the day before onset: not this course
        ("2016-03-02", "2016-03-01", MP_125, 4.0),  # ends before it starts: ends on its start
        ("2016-03-03", "2016-03-06", MP_1G, 2.0),  # 2 x 1 g
        ("2016-03-04", "2016-03-04", RTX_VIAL, 10.0),  # 10 x 100 mg in 10 mL
        ("2016-03-11", None, RTX, 3.0),  # the ingredient itself: no strength, so no dose
        ("2016-03-08", "2016-03-02", HCQ, 1.0),  # its only row ends before it starts
    ]
    rows = [
        {
            "person_id": 9,
            "drug_exposure_start_date": s,
            "drug_exposure_end_date": e,
            "drug_concept_id": c,
            **({"quantity": q} if quantity else {}),
        }
        for s, e, c, q in drugs
    ]
    write(folder, "drug_exposure", rows)
    write(folder, "death", [{"person_id": 99, "death_date": "2020-01-01"}])  # someone else
    concepts = dict(CONCEPTS)
    concepts[MP_1G] = ("Local", "local-1g", "methylprednisolone 1 G Injection", "Drug")
    write(
        folder,
        "concept",
        [
            {"concept_id": c, "vocabulary_id": v[0], "concept_code": v[1]}
            for c, v in concepts.items()
        ],
    )
    write(
        folder,
        "concept_ancestor",
        [{"ancestor_concept_id": c, "descendant_concept_id": c} for c in concepts]
        + [
            {"ancestor_concept_id": a, "descendant_concept_id": d}
            for a, d in ((MP, MP_125), (MP, MP_1G), (RTX, RTX_VIAL))
        ],
    )
    if strength:
        frame = pd.DataFrame(
            {
                "drug_concept_id": [MP_125, MP_1G, RTX_VIAL],
                "ingredient_concept_id": [MP, MP, RTX],
                "amount_value": [125.0, 1.0, None],
                "amount_unit_concept_id": pd.array([8576, 8504, None], dtype="Int64"),
                "numerator_value": [None, None, 100.0],
                "numerator_unit_concept_id": pd.array([None, None, 8576], dtype="Int64"),
                "denominator_value": [None, None, 10.0],
                "denominator_unit_concept_id": pd.array([None, None, 8587], dtype="Int64"),
            }
        )
        frame.to_parquet(folder / "drug_strength.parquet", index=False)
    return folder


def courses_of(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    result = extract_cohort(folder)
    return result.cohort.treatments.set_index("treatment"), result.cohort.episodes.iloc[0]


def test_course_rules(tmp_path) -> None:
    t, episode = courses_of(course_cdm(tmp_path))
    assert sorted(t.index) == [
        "hydroxychloroquine",
        "methylprednisolone_pulse",
        "plasmapheresis",
        "rituximab",
    ]
    hcq = t.loc["hydroxychloroquine"]
    assert hcq["start_date"] == hcq["end_date"] == D("2016-03-08")
    mp = t.loc["methylprednisolone_pulse"]
    assert (mp["start_date"], mp["end_date"]) == (D("2016-03-02"), D("2016-03-06"))
    assert mp["dose_mg"] == 4 * 125 + 2 * 1000
    assert pd.isna(mp["sessions"])
    assert episode["methylprednisolone_dose_mg"] == 2500
    rtx = t.loc["rituximab"]
    assert (rtx["start_date"], rtx["end_date"]) == (D("2016-03-04"), D("2016-03-11"))
    assert pd.isna(rtx["dose_mg"])  # one exposure without a dose: the total is unknown
    plex = t.loc["plasmapheresis"]
    assert (plex["start_date"], plex["end_date"], plex["sessions"]) == (
        D("2016-03-05"),
        D("2016-03-09"),
        2,
    )
    assert pd.isna(plex["dose_mg"])
    assert episode["plasmapheresis_sessions"] == 2
    for flag in ("plasmapheresis", "rituximab", "methylprednisolone_pulse"):
        assert episode[flag], flag
    assert not episode["cyclophosphamide"]


@pytest.mark.parametrize(("quantity", "strength"), [(False, True), (True, False)])
def test_no_dose_without_quantity_and_strength(tmp_path, quantity, strength) -> None:
    t, episode = courses_of(course_cdm(tmp_path, quantity=quantity, strength=strength))
    assert t["dose_mg"].isna().all()
    assert pd.isna(episode["methylprednisolone_dose_mg"])
    assert t.loc["methylprednisolone_pulse", "start_date"] == D("2016-03-02")
