"""Validation collects every problem with row, patient, column, value, rule and hint."""

from __future__ import annotations

import pandas as pd
import pytest

from dah_outcomes import Cohort, DahOutcomesError, ValidationError
from dah_outcomes.validation import RULES, validate_tables


def problems_of(patients: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    _, _, report = validate_tables(patients, episodes)
    return report.to_frame()


def test_valid_tables_have_no_problem(small_tables) -> None:
    p, e = small_tables
    _, _, report = validate_tables(p, e)
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    ("table", "edit", "rule", "column"),
    [
        ("patients", lambda p: p.drop(columns="followup_end"), "missing_column", "followup_end"),
        ("patients", lambda p: p.assign(colour="red"), "unknown_column", "colour"),
        ("patients", lambda p: p.assign(sex=["F", "X", "M", "F", "F"]), "not_allowed", "sex"),
        (
            "patients",
            lambda p: p.assign(
                followup_start=[
                    "2005-01-01",
                    "not a date",
                    "1995-01-01",
                    "2010-01-01",
                    "2010-01-01",
                ]
            ),
            "type",
            "followup_start",
        ),
        (
            "patients",
            lambda p: p.assign(patient_id=["P1", "P1", "P3", "P4", "P5"]),
            "duplicate_id",
            "patient_id",
        ),
        (
            "patients",
            lambda p: p.assign(
                followup_end=["2004-01-01", "2008-03-10", "2005-01-01", "2020-01-01", "2012-01-01"]
            ),
            "followup_end_before_start",
            "followup_end",
        ),
        (
            "patients",
            lambda p: p.assign(
                followup_end=["2015-01-01", "2009-03-10", "2005-01-01", "2020-01-01", "2012-01-01"]
            ),
            "followup_after_death",
            "followup_end",
        ),
        (
            "patients",
            lambda p: p.assign(birth_date=["2006-01-01"] + ["1980-01-01"] * 4),
            "diagnosis_before_birth",
            "sle_diagnosis_date",
        ),
        (
            "patients",
            lambda p: p.assign(death_date=["2004-01-01", "2008-03-10", None, None, None]),
            "death_before_followup_start",
            "death_date",
        ),
        (
            "episodes",
            lambda e: e.assign(patient_id=["P1", "P2", "P9", "P1"]),
            "unknown_patient",
            "patient_id",
        ),
        (
            "episodes",
            lambda e: pd.concat(
                [
                    e,
                    e.iloc[[1]].assign(
                        episode_number=2,
                        onset_date="2008-03-09",
                        discharge_date="2008-03-10",
                        in_hospital_death=False,
                    ),
                ],
                ignore_index=True,
            ),
            "episode_after_fatal_episode",
            "episode_number",
        ),
        (
            "episodes",
            lambda e: e.assign(
                discharge_date=["2004-12-01", "2008-03-10", "1996-06-20", "2009-05-15"]
            ),
            "discharge_before_onset",
            "discharge_date",
        ),
        (
            "episodes",
            lambda e: e.assign(onset_date=["2005-01-01", "2008-04-01", "1996-06-01", "2009-05-01"]),
            "death_before_onset",
            "onset_date",
        ),
        (
            "episodes",
            lambda e: e.assign(onset_date=["2005-01-01", "2008-03-01", "1994-06-01", "2009-05-01"]),
            "onset_outside_followup",
            "onset_date",
        ),
        (
            "episodes",
            lambda e: e.assign(episode_number=[1, 1, 1, 3]),
            "episode_numbering",
            "episode_number",
        ),
        (
            "episodes",
            lambda e: e.assign(episode_number=[1, 1, 1, 1]),
            "duplicate_id",
            "episode_number",
        ),
        (
            "episodes",
            lambda e: e.assign(
                onset_date=["2009-06-01", "2008-03-01", "1996-06-01", "2009-05-01"],
                discharge_date=[None, "2008-03-10", "1996-06-20", "2009-05-15"],
            ),
            "onset_not_increasing",
            "onset_date",
        ),
        (
            "episodes",
            lambda e: e.assign(
                discharge_date=["2005-01-20", "2008-03-05", "1996-06-20", "2009-05-15"]
            ),
            "death_outside_episode",
            "in_hospital_death",
        ),
        (
            "episodes",
            lambda e: e.assign(in_hospital_death=[True, True, False, False]),
            "in_hospital_death_without_death_date",
            "in_hospital_death",
        ),
        (
            "episodes",
            lambda e: e.assign(in_hospital_death=["no", "yes", "perhaps", "no"]),
            "type",
            "in_hospital_death",
        ),
        (
            "episodes",
            lambda e: e.assign(
                in_hospital_death=[False, True, True, False],
                discharge_date=["2005-01-20", "2008-03-10", None, "2009-05-15"],
            ),
            "in_hospital_death_without_death_date",
            "in_hospital_death",
        ),
        (
            "episodes",
            lambda e: e.assign(ventilation_days=[5, 3, 2, 1]),
            "inconsistent_flags",
            "ventilation_days",
        ),
        (
            "episodes",
            lambda e: e.assign(ventilation_days=[5, 3, -1, 1]),
            "out_of_range",
            "ventilation_days",
        ),
        (
            "episodes",
            lambda e: e.assign(in_hospital_death=[False, None, False, False]),
            "missing_value",
            "in_hospital_death",
        ),
    ],
)
def test_each_rule_is_reported(small_tables, table, edit, rule, column) -> None:
    """Every rule of RULES has a case here (see test_every_rule_has_a_case)."""
    p, e = small_tables
    if table == "patients":
        p = edit(p)
    else:
        e = edit(e)
    found = problems_of(p, e)
    hit = found[(found["rule"] == rule) & (found["column"] == column)]
    assert not hit.empty, found
    assert (hit["hint"] == RULES[rule]).all()
    assert (hit["table"] == table).all()


def test_all_problems_are_collected_before_raising(small_tables) -> None:
    p, e = small_tables
    p = p.assign(sex=["F", "X", "M", "F", "Q"], colour=1)
    e = e.assign(patient_id=["P1", "P2", "P9", "P1"], episode_number=[1, 1, 1, 3])
    with pytest.raises(ValidationError) as info:
        Cohort(p, e)
    problems = info.value.problems
    assert {"not_allowed", "unknown_column", "unknown_patient", "episode_numbering"} <= set(
        problems["rule"]
    )
    assert (problems.loc[problems["rule"] == "not_allowed", "row"].tolist()) == [1, 4]
    assert problems.loc[problems["rule"] == "not_allowed", "patient_id"].tolist() == ["P2", "P5"]
    message = str(info.value)
    assert "not_allowed" in message
    assert "patient P2" in message
    assert "'X'" in message
    # the error is both ours and a ValueError
    assert isinstance(info.value, DahOutcomesError)
    assert isinstance(info.value, ValueError)


def test_dates_are_shown_as_written(small_tables) -> None:
    p, e = small_tables
    e = e.assign(discharge_date=["2004-12-01", "2008-03-10", "1996-06-20", "2009-05-15"])
    found = problems_of(p, e)
    assert found.loc[found["rule"] == "discharge_before_onset", "value"].tolist() == ["2004-12-01"]


def test_inputs_are_not_modified(small_tables) -> None:
    p, e = small_tables
    before = (p.copy(), e.copy())
    Cohort(p, e)
    pd.testing.assert_frame_equal(p, before[0])
    pd.testing.assert_frame_equal(e, before[1])


def test_flag_spellings_are_accepted(small_tables) -> None:
    p, e = small_tables
    e = e.assign(in_hospital_death=["No", "YES", "n", "0"])
    cohort = Cohort(p, e)
    assert cohort.episodes["in_hospital_death"].tolist() == [False, False, True, False]


def test_every_rule_has_a_case() -> None:
    marks = next(m for m in test_each_rule_is_reported.pytestmark if m.name == "parametrize")
    covered = {case[2] for case in marks.args[1]}
    # the treatments table's rules have their cases in tests/test_treatments.py
    from test_treatments import CASES as TREATMENT_CASES

    covered |= {rule for rule, _ in TREATMENT_CASES}
    assert covered == set(RULES), sorted(set(RULES) - covered)


# ---------------------------------------------------------------- bulk paths equal pandas


def _pandas_iso(s: pd.Series) -> pd.Series:
    """The reference: pandas' own ISO 8601 parser, as validation used it before."""
    out = pd.to_datetime(s.astype("string").str.strip(), errors="coerce", format="ISO8601")
    return out.astype("datetime64[s]")


def test_bulk_iso_dates_equal_pandas_on_every_calendar_case() -> None:
    import numpy as np

    from dah_outcomes.validation.dates import parse_iso_dates

    rng = np.random.default_rng(7)
    y, m, d = rng.integers(0, 10000, 5000), rng.integers(0, 14, 5000), rng.integers(0, 33, 5000)
    edge = ["2010-02-29", "2012-02-29", "1900-02-29", "2000-02-29", "0000-02-29", "2010-04-31"]
    values = [f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(y, m, d, strict=True)] + edge
    plain = pd.Series([*values, None], dtype="string[pyarrow]")
    got = parse_iso_dates(plain)
    assert got.equals(_pandas_iso(plain))
    assert got.isna().sum() > 100  # the impossible days are missing, not rolled over
    assert pd.isna(got.iloc[len(values) - 6])  # 2010-02-29: missing, not 1 March
    assert got.iloc[len(values) - 5] == pd.Timestamp("2012-02-29")
    # anything but plain dates goes to pandas whole: same answer
    for odd in ([" 2010-01-01"], ["2010-01-01T10:00"], ["2010/01/01"], ["20100101"], ["2010-1-1"]):
        s = pd.Series(["2010-01-05", *odd, None], dtype="string[pyarrow]")
        assert parse_iso_dates(s).equals(_pandas_iso(s)), odd
    sliced = pd.Series(["x", "2010-01-05", None, "2011-12-31"], dtype="string[pyarrow]").iloc[1:]
    assert parse_iso_dates(sliced).equals(_pandas_iso(sliced))
    objects = pd.Series(["2010-01-05", None], dtype=object)
    assert parse_iso_dates(objects).equals(_pandas_iso(objects))


def test_patient_codes_match_the_string_checks() -> None:
    import numpy as np

    from dah_outcomes.validation.ids import PatientCodes

    rng = np.random.default_rng(3)
    pool = np.array([f"P{i}" for i in range(40)] + [None], dtype=object)
    p = pd.DataFrame({"patient_id": pd.array(rng.choice(pool, 60), dtype="string[pyarrow]")})
    e = pd.DataFrame({"patient_id": pd.array(rng.choice(pool, 80), dtype="string[pyarrow]")})
    codes = PatientCodes.of(p, e)
    assert codes is not None
    ids = p["patient_id"].astype(object).where(p["patient_id"].notna(), "<missing>")
    assert np.array_equal(codes.duplicated_patients(), ids.duplicated(keep=False).to_numpy())
    first = {v: i for i, v in reversed(list(enumerate(ids)))}
    want = [first.get(v, -1) for v in e["patient_id"].astype(object).fillna("<missing>")]
    assert codes.patient_row().tolist() == want
    # equal codes for equal ids across the tables, missing matching missing
    both = np.concatenate([codes.patients, codes.episodes])
    key = pd.concat([ids, e["patient_id"].astype(object).fillna("<missing>")]).to_numpy()
    assert pd.Series(both).groupby(key).nunique().eq(1).all()
    assert codes.n == len(set(key))
