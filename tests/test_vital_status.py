"""Vital status apart from the death date: contract, rules, endpoints, generator, missingness,
import and OMOP (issue 17, "The data")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import Cohort, ValidationError, generate_cohort
from dah_outcomes.endpoints.frames import (
    death_frame,
    patient_outcomes,
    recurrence_frame,
    recurrent_episodes_frame,
)
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning
from dah_outcomes.io import read_cohort
from dah_outcomes.schema import PATIENT_COLUMNS, VITAL_STATUSES, schema_markdown
from dah_outcomes.synthetic.missingness import apply_missingness
from dah_outcomes.validation import validate_tables
from dah_outcomes.vital_status import (
    VITAL_STATUS_RULES,
    dead_date_unknown,
    derive_vital_status,
    summarize_vital_status,
)


def problems_of(p: pd.DataFrame, e: pd.DataFrame) -> pd.DataFrame:
    return validate_tables(p, e).report.to_frame()


def with_status(p: pd.DataFrame, status: list[str | None], **changes: list) -> pd.DataFrame:
    return p.assign(vital_status=status, **changes)


# P2 died in hospital on 2008-03-10 (the fixture's only death); the others have no date
ALIVE = ["alive", "dead", "alive", "unknown", "alive"]


# ---------------------------------------------------------------- contract and derivation


def test_the_column_is_optional_with_its_statuses() -> None:
    col = next(c for c in PATIENT_COLUMNS if c.name == "vital_status")
    assert col.kind == "category"
    assert not col.required
    assert col.allowed == VITAL_STATUSES == ("alive", "dead", "unknown")
    assert "died, date unknown" in schema_markdown()


def test_absent_status_is_derived_from_the_date_never_alive(small_tables) -> None:
    p, e = small_tables
    cohort = Cohort(p, e)
    assert "vital_status" not in cohort.patients  # old cohorts keep their columns
    status = cohort.vital_status
    assert status.to_dict() == {
        "P1": "unknown",
        "P2": "dead",
        "P3": "unknown",
        "P4": "unknown",
        "P5": "unknown",
    }
    summary = summarize_vital_status(cohort.patients)
    assert summary.counts == {"alive": 0, "dead": 1, "unknown": 4}
    assert (summary.n_derived, summary.n_recorded) == (5, 0)
    assert "not recorded" in summary.note
    assert "censored" in summary.note


def test_recorded_status_is_kept_and_blanks_are_derived() -> None:
    p = pd.DataFrame(
        {
            "death_date": pd.to_datetime([None, "2010-01-01", None, None]),
            "vital_status": pd.array(["alive", None, "dead", None], dtype="string"),
        }
    )
    assert derive_vital_status(p).tolist() == ["alive", "dead", "dead", "unknown"]
    assert dead_date_unknown(p).tolist() == [False, False, True, False]
    summary = summarize_vital_status(p)
    assert (summary.n_recorded, summary.n_derived, summary.n_dead_date_unknown) == (2, 2, 1)
    assert summary.to_frame()["n"].tolist() == [1, 2, 1]
    assert summary.to_dict()["counts"] == {"alive": 1, "dead": 2, "unknown": 1}


# ---------------------------------------------------------------- validation rules


def test_recorded_statuses_that_agree_are_valid(small_tables) -> None:
    p, e = small_tables
    cohort = Cohort(with_status(p, ALIVE), e)
    assert cohort.vital_status["P2"] == "dead"
    assert summarize_vital_status(cohort.patients).n_recorded == 5


def test_dead_without_a_date_is_allowed_even_in_hospital(small_tables) -> None:
    p, e = small_tables
    p = with_status(p, ALIVE, death_date=[None] * 5)
    cohort = Cohort(p, e)  # P2 died in hospital, date unknown: no problem
    assert dead_date_unknown(cohort.patients).tolist() == [False, True, False, False, False]


def test_in_hospital_death_without_date_or_status_is_still_an_error(small_tables) -> None:
    p, e = small_tables
    found = problems_of(p.assign(death_date=[None] * 5), e)
    assert found["rule"].tolist() == ["in_hospital_death_without_death_date"]
    assert "vital_status dead" in found["hint"].iloc[0]


@pytest.mark.parametrize("status", ["alive", "unknown"])
def test_a_death_date_with_a_status_other_than_dead_is_an_error(small_tables, status) -> None:
    p, e = small_tables
    found = problems_of(with_status(p, ["alive", status, "alive", "alive", "alive"]), e)
    hit = found[found["rule"] == "death_date_not_dead"]
    assert hit[["table", "row", "patient_id", "column", "value"]].values.tolist() == [
        ["patients", 1, "P2", "vital_status", status]
    ]
    assert (hit["hint"] == VITAL_STATUS_RULES["death_date_not_dead"]).all()


def test_an_in_hospital_death_of_a_patient_alive_is_an_error(small_tables) -> None:
    p, e = small_tables
    p = with_status(p, ["alive"] * 5, death_date=[None] * 5)
    found = problems_of(p, e)
    assert found["rule"].tolist() == ["in_hospital_death_not_dead"]
    rec = found.iloc[0]
    assert (rec["table"], rec["row"], rec["patient_id"]) == ("episodes", 1, "P2")
    assert (rec["column"], rec["value"]) == ("in_hospital_death", "alive")
    assert rec["hint"] == VITAL_STATUS_RULES["in_hospital_death_not_dead"]


def test_unknown_values_are_refused_with_the_allowed_ones(small_tables) -> None:
    p, e = small_tables
    p = with_status(p, ["alive", "dead", "zombie", "alive", None])
    with pytest.raises(ValidationError) as info:
        Cohort(p, e)
    found = info.value.problems
    hit = found[found["rule"] == "not_allowed"]
    assert hit[["row", "column", "value"]].values.tolist() == [[2, "vital_status", "zombie"]]
    assert hit["hint"].iloc[0] == "use one of alive, dead, unknown"


#: One case per vital-status rule: (rule, table reported, patients edit). tests/
#: test_validation.py's test_every_rule_has_a_case can count these once RULES holds the rules.
CASES = [
    (
        "death_date_not_dead",
        "patients",
        lambda p: with_status(p, ["alive"] * 5),
    ),
    (
        "in_hospital_death_not_dead",
        "episodes",
        lambda p: with_status(p, ["alive"] * 5, death_date=[None] * 5),
    ),
]


@pytest.mark.parametrize(("rule", "table", "edit"), CASES, ids=[c[0] for c in CASES])
def test_each_vital_status_rule_is_reported(small_tables, rule, table, edit) -> None:
    p, e = small_tables
    found = problems_of(edit(p), e)
    hit = found[found["rule"] == rule]
    assert not hit.empty, found
    assert (hit["table"] == table).all()
    assert (hit["hint"] == VITAL_STATUS_RULES[rule]).all()
    assert {c[0] for c in CASES} == set(VITAL_STATUS_RULES)


def test_problems_are_collected_together(small_tables) -> None:
    p, e = small_tables
    p = with_status(p, ["dead", "alive", "maybe", "alive", "alive"])
    p = p.assign(death_date=["2014-01-01", "2008-03-10", None, None, None])
    rules = set(problems_of(p, e)["rule"])
    assert {"death_date_not_dead", "in_hospital_death_not_dead", "not_allowed"} <= rules


# ---------------------------------------------------------------- endpoints


@pytest.fixture
def undated(small_tables) -> Cohort:
    """P2 died in hospital on an unrecorded date; P4's status is unknown."""
    p, e = small_tables
    return Cohort(with_status(p, ALIVE, death_date=[None] * 5), e)


def test_death_frame_leaves_out_deaths_without_a_date_and_says_so(undated: Cohort) -> None:
    with pytest.warns(DroppedRowsWarning, match="1 DAH patient.*not recorded") as caught:
        frame = death_frame(undated)
    assert frame["patient_id"].tolist() == ["P1", "P3"]
    assert frame["event"].tolist() == [0, 0]  # alive and unknown: censored at followup_end
    assert frame.attrs["n_death_date_unknown"] == 1
    assert frame.attrs["warnings"] == (str(caught[0].message),)


def test_death_frame_without_such_patients_is_unchanged(small_tables) -> None:
    p, e = small_tables
    old, new = death_frame(Cohort(p, e)), death_frame(Cohort(with_status(p, ALIVE), e))
    pd.testing.assert_frame_equal(old, new)
    assert new.attrs == {"n_death_date_unknown": 0}
    assert old["event"].tolist() == [0, 1, 0]


@pytest.mark.filterwarnings("ignore::dah_outcomes.errors.DroppedRowsWarning")
def test_recurrence_frames_leave_them_out_too(undated: Cohort) -> None:
    assert recurrence_frame(undated)["patient_id"].tolist() == ["P1", "P3"]
    rec = recurrent_episodes_frame(undated)
    assert set(rec["patient_id"]) == {"P1", "P3"}
    assert rec.attrs["n_death_date_unknown"] == 1
    with pytest.warns(DroppedRowsWarning, match="time to recurrence"):
        recurrence_frame(undated)


def test_in_hospital_mortality_still_counts_them(undated: Cohort) -> None:
    out = patient_outcomes(undated).set_index("patient_id")
    assert out["died"].tolist() == [False, True, False]


def test_death_within_days_knows_them_only_from_a_fatal_stay(small_tables) -> None:
    p, e = small_tables
    cohort = Cohort(with_status(p, ALIVE, death_date=[None] * 5), e)
    # P2's fatal stay lasted 9 days: dead within 30 days although the date is unknown
    assert patient_outcomes(cohort, death_within_days=30)["died"].tolist() == [False, True, False]
    # within 5 days cannot be told: unknown, not survived
    within5 = patient_outcomes(cohort, death_within_days=5)["died"]
    assert within5.isna().tolist() == [False, True, False]
    # a death after discharge without a date: unknown however long the follow-up
    e2 = e.assign(in_hospital_death=[False] * 4)
    later = Cohort(with_status(p, ALIVE, death_date=[None] * 5), e2)
    assert patient_outcomes(later, death_within_days=30)["died"].isna().tolist() == [
        False,
        True,
        False,
    ]


# ---------------------------------------------------------------- generator and missingness


@pytest.fixture(scope="module")
def generated() -> Cohort:
    return generate_cohort("seed-article", n_sle=3000, seed=5, vital_status=True)


def test_the_generator_writes_vital_status_on_request(generated: Cohort) -> None:
    p = generated.patients
    assert ((p["vital_status"] == "dead") == p["death_date"].notna()).all()
    assert set(p["vital_status"]) == {"alive", "dead"}
    plain = generate_cohort("seed-article", n_sle=3000, seed=5)
    assert "vital_status" not in plain.patients
    pd.testing.assert_frame_equal(plain.patients, p.drop(columns="vital_status"))
    pd.testing.assert_frame_equal(plain.episodes, generated.episodes)


@pytest.mark.parametrize("with_column", [True, False])
def test_blanked_death_dates_stay_deaths(generated: Cohort, with_column: bool) -> None:
    truth = (
        generated
        if with_column
        else Cohort(
            generated.patients.drop(columns="vital_status"),
            generated.episodes,
            treatments=generated.treatments,
        )
    )
    amputed = apply_missingness(truth, "mcar", fraction=0.1, seed=4, death_dates=0.5)
    p, t = amputed.cohort.patients, truth.patients
    blanked = t["death_date"].notna() & p["death_date"].isna()
    n = int(blanked.sum())
    assert n == amputed.n_death_dates_removed > 0
    assert (p.loc[blanked, "vital_status"] == "dead").all()
    assert (derive_vital_status(p) == derive_vital_status(t)).all()
    assert amputed.truth is truth
    assert truth.patients["death_date"].notna().sum() > n
    record = amputed.cohort.provenance["missingness"]
    assert record["death_dates"] == {"probability": 0.5, "n_removed": n}
    # the DAH patients among them are left out of survival, not censored
    dah = set(truth.episodes["patient_id"])
    n_dah = int(blanked[t["patient_id"].isin(dah)].sum())
    assert n_dah > 0
    with pytest.warns(DroppedRowsWarning, match=f"{n_dah} DAH patient"):
        frame = death_frame(amputed.cohort)
    assert len(frame) == truth.n_dah_patients - n_dah
    # in-hospital mortality is the truth's
    pd.testing.assert_series_equal(
        patient_outcomes(amputed.cohort)["died"], patient_outcomes(truth)["died"]
    )


def test_death_dates_alone_and_the_same_holes_otherwise(generated: Cohort) -> None:
    alone = apply_missingness(generated, columns=[], death_dates=0.3, seed=1)
    assert alone.n_missing == {}
    assert alone.n_death_dates_removed > 0
    # the episodes' holes do not move when death dates are blanked too
    a = apply_missingness(generated, "mnar", columns=["cyclophosphamide"], seed=2)
    b = apply_missingness(generated, "mnar", columns=["cyclophosphamide"], seed=2, death_dates=0.2)
    pd.testing.assert_frame_equal(a.cohort.episodes, b.cohort.episodes)
    assert "death_dates" not in a.cohort.provenance["missingness"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": ["death_date"]}, "death_dates=PROBABILITY"),
        ({"death_dates": 1.0}, "death_dates must be a probability"),
        ({"columns": []}, "non-empty list"),
    ],
)
def test_bad_death_date_arguments(generated: Cohort, kwargs: dict, match: str) -> None:
    with pytest.raises(ArgumentError, match=match):
        apply_missingness(generated, **kwargs)


# ---------------------------------------------------------------- import


def _two_tables(folder: Path, small_tables, statuses: list[str]) -> None:
    p, e = small_tables
    p.assign(**{"vital_status": statuses, "death_date": [None] * 5}).to_csv(
        folder / "patients.csv", index=False
    )
    e.to_csv(folder / "episodes.csv", index=False)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["Alive", "Dead", "Unknown", "alive", "ALIVE"], None),
        (
            ["Vivo", "Fallecido", "Desconocido", "vivo", "Viva"],
            ["alive", "dead", "unknown", "alive", "alive"],
        ),
        (["vivant", "Décédé", "inconnu", "Vivante", "en vie"], None),
        (["lebend", "verstorben", "unbekannt", "Lebend", "lebend"], None),
    ],
)
def test_import_reads_vital_status_words(tmp_path: Path, small_tables, words, expected) -> None:
    _two_tables(tmp_path, small_tables, words)
    cohort = read_cohort(tmp_path).cohort
    want = expected or ["alive", "dead", "unknown", "alive", "alive"]
    assert cohort.patients["vital_status"].tolist() == want
    assert dead_date_unknown(cohort.patients).tolist() == [False, True, False, False, False]


def test_import_reads_codes_only_when_the_mapping_says(tmp_path: Path, small_tables) -> None:
    _two_tables(tmp_path, small_tables, ["0", "1", "9", "0", "0"])
    with pytest.raises(ValidationError) as info:
        read_cohort(tmp_path)
    hit = info.value.problems
    hit = hit[hit["column"] == "vital_status"]
    assert hit["rule"].tolist() == ["not_allowed"] * 5
    mapping = {"columns": {"vital_status": {"values": {"0": "alive", "1": "dead", "9": "unknown"}}}}
    cohort = read_cohort(tmp_path, mapping=mapping).cohort
    assert cohort.patients["vital_status"].tolist() == [
        "alive",
        "dead",
        "unknown",
        "alive",
        "alive",
    ]


# ---------------------------------------------------------------- OMOP


def test_omop_extract_reads_dead_from_death_rows_alive_otherwise(tmp_path: Path) -> None:
    from dah_outcomes.omop.extract import extract_cohort
    from dah_outcomes.omop.synthesize import write_omop

    cohort = generate_cohort("seed-article", n_sle=3000, seed=8)
    write_omop(cohort, tmp_path / "cdm", seed=1)
    p = extract_cohort(tmp_path / "cdm").cohort.patients
    assert set(p["vital_status"]) == {"alive", "dead"}
    assert ((p["vital_status"] == "dead") == p["death_date"].notna()).all()
    truth = cohort.patients.set_index("patient_id").loc[p["patient_id"], "death_date"]
    assert np.array_equal(truth.notna().to_numpy(), (p["vital_status"] == "dead").to_numpy())


@pytest.mark.filterwarnings("ignore::dah_outcomes.errors.DahOutcomesWarning")
def test_the_analyses_record_the_undated_deaths_left_out(generated: Cohort) -> None:
    """Each time-to-event analysis keeps the frame's warning on its result (``warnings``,
    hence ``to_dict()`` and the CLI's JSON), not only as a passing warning."""
    from dah_outcomes import hazard_ratios, rates, survival_by_group, treatment_effect
    from dah_outcomes.analyses.survival import recurrence_by_group

    amputed = apply_missingness(generated, columns=[], death_dates=0.5, seed=2).cohort
    results = {
        "survival": survival_by_group(amputed, "era"),
        "landmark": survival_by_group(amputed, "era", landmark_days=7),
        "recurrence": recurrence_by_group(amputed, "era"),
        "hazard ratios": hazard_ratios(amputed, by="era", adjust_for=[]),
        "treatment effect": treatment_effect(amputed, "plasmapheresis", method="time-varying"),
        "rates": rates(amputed, "era"),
    }
    for name, result in results.items():
        recorded = [w for w in result.warnings if "died on a date that is not recorded" in w]
        assert len(recorded) >= 1, f"{name}: the undated deaths left out are not recorded"
        assert recorded[0] in result.to_dict()["warnings"]
    complete = survival_by_group(generated, "era")
    assert not any("not recorded" in w for w in complete.warnings)
