"""The treatments table: one case per validation rule (each fires on a bad course and not on
good ones), collected at once, and a round trip through the cohort folder."""

from __future__ import annotations

import pandas as pd
import pytest

from dah_outcomes import Cohort
from dah_outcomes.io import load_cohort, save_cohort
from dah_outcomes.validation import RULES, validate_tables


def good_courses() -> pd.DataFrame:
    """Courses that agree with conftest's small_tables (P1 ep 1 from 2005-01-01 to 01-20;
    P2 ep 1 2008-03-01 to 03-10, died 03-10)."""
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2"],
            "episode_number": [1, 1, 1],
            "treatment": ["plasmapheresis", "cyclophosphamide", "methylprednisolone_pulse"],
            "start_date": ["2005-01-03", "2005-01-05", "2008-03-01"],
            "end_date": ["2005-01-08", None, "2008-03-03"],
            "sessions": [5, None, None],
        }
    )


def problems(small_tables, courses: pd.DataFrame) -> pd.DataFrame:
    p, e = small_tables
    *_, report = validate_tables(p, e, treatments=courses)
    return report.to_frame()


def test_good_courses_have_no_problem(small_tables) -> None:
    assert problems(small_tables, good_courses()).empty


def _set(row: int, **values: object):
    def edit(t: pd.DataFrame) -> pd.DataFrame:
        t = t.astype(object)
        for k, v in values.items():
            t.loc[row, k] = v
        return t

    return edit


CASES = [
    ("unknown_episode", _set(0, episode_number=3)),
    ("start_before_onset", _set(0, start_date="2004-12-31")),
    ("start_after_death", _set(2, start_date="2008-03-11", end_date=None)),
    ("start_after_discharge", _set(1, start_date="2005-01-25")),
    ("end_before_start", _set(0, end_date="2005-01-02")),
    ("sessions_exceed_days", _set(0, start_date="2005-01-18", end_date=None, sessions=9)),
    ("treatment_flag_false", _set(1, patient_id="P3", start_date="1996-06-02")),
    ("duplicate_course", lambda t: pd.concat([t, t.iloc[[0]]], ignore_index=True)),
]


@pytest.mark.parametrize(("rule", "edit"), CASES, ids=[c[0] for c in CASES])
def test_each_treatment_rule_is_reported(small_tables, rule: str, edit) -> None:
    found = problems(small_tables, edit(good_courses()))
    hit = found[found["rule"] == rule]
    assert not hit.empty, found
    assert (hit["table"] == "treatments").all()
    assert (hit["hint"] == RULES[rule]).all()


def test_every_problem_is_collected_at_once(small_tables) -> None:
    t = good_courses()
    for _, edit in CASES[1:3]:
        t = edit(t)
    t = _set(0, episode_number=3)(t)
    rules = set(problems(small_tables, t)["rule"])
    assert {"unknown_episode", "start_after_death"} <= rules


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_and_fingerprint(small_tables, tmp_path, fmt: str) -> None:
    p, e = small_tables
    plain = Cohort(p, e)
    treated = Cohort(p, e, treatments=good_courses())
    assert treated.fingerprint != plain.fingerprint
    assert Cohort(p, e, treatments=good_courses().iloc[0:0]).fingerprint == plain.fingerprint
    save_cohort(treated, tmp_path / "c", format=fmt)
    back = load_cohort(tmp_path / "c")
    assert back.fingerprint == treated.fingerprint
    pd.testing.assert_frame_equal(back.treatments, treated.treatments)
    view = back.treatments
    view.loc[0, "sessions"] = 99
    assert back.treatments.loc[0, "sessions"] == 5
