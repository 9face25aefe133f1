"""The treatments table: one case per validation rule (each fires on a bad course and not on
good ones), collected at once, and a round trip through the cohort folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import Cohort
from dah_outcomes.cli import main
from dah_outcomes.errors import ValidationError
from dah_outcomes.io import load_cohort, save_cohort
from dah_outcomes.schema import EPISODE_COLUMNS, TABLES, TREATMENT_FLAGS, frictionless_schema
from dah_outcomes.validation import RULES, rules_table, validate_tables


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


# Further cases: each rule both ways on four courses, the CLI, the view, stale files.

NEW_RULES = (
    "unknown_episode",
    "start_before_onset",
    "start_after_death",
    "start_after_discharge",
    "end_before_start",
    "sessions_exceed_days",
    "treatment_flag_false",
    "duplicate_course",
)


def four_courses() -> pd.DataFrame:
    """Courses agreeing with the small cohort (P2 dies in hospital on 2008-03-10)."""
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P1"],
            "episode_number": [1, 1, 1, 2],
            "treatment": [
                "methylprednisolone_pulse",
                "plasmapheresis",
                "cyclophosphamide",
                "cyclophosphamide",
            ],
            "start_date": ["2005-01-02", "2005-01-03", "2008-03-02", "2009-05-02"],
            "end_date": ["2005-01-04", None, "2008-03-02", None],
            "dose_mg": [3000.0, None, 750.0, None],
            "sessions": [None, 5, None, None],
        }
    )


def _bad_row(**changes: object) -> pd.DataFrame:
    t = four_courses()
    for col, value in changes.items():
        t.loc[0, col] = value
    return t


BAD = {
    "unknown_episode": {"episode_number": 7},
    "start_before_onset": {"start_date": "2004-12-31"},
    "start_after_discharge": {"start_date": "2005-01-21", "end_date": None},
    "end_before_start": {"end_date": "2005-01-01"},
    "treatment_flag_false": {"treatment": "rituximab"},
}


def _rules(problems: pd.DataFrame) -> set[str]:
    return set(problems.loc[problems["table"] == "treatments", "rule"])


def test_schema_declares_the_table() -> None:
    assert "treatments" in TABLES
    flags = tuple(c.name for c in EPISODE_COLUMNS if c.treatment)
    assert flags == TREATMENT_FLAGS
    assert "rfviia" in flags
    assert "ivig" not in flags
    assert "nephritis" not in flags
    (treatment,) = [c for c in TABLES["treatments"] if c.name == "treatment"]
    assert treatment.allowed == TREATMENT_FLAGS
    schema = frictionless_schema("treatments")
    assert schema["foreignKeys"][0]["reference"]["resource"] == "episodes"
    assert set(NEW_RULES) <= set(rules_table()["rule"])


def test_good_courses_are_valid(small_tables) -> None:
    checked = validate_tables(*small_tables, treatments=four_courses())
    assert checked.report.ok, checked.report.summary()
    assert checked.report.n_rows["treatments"] == 4
    assert str(checked.treatments["start_date"].dtype) == "datetime64[s]"
    _, _, report = validate_tables(*small_tables)  # the old shape still unpacks
    assert report.ok
    assert "treatments" not in report.n_rows


@pytest.mark.parametrize("rule", sorted(BAD))
def test_each_rule_fires_on_a_bad_row(small_tables, rule: str) -> None:
    checked = validate_tables(*small_tables, treatments=_bad_row(**BAD[rule]))
    found = checked.report.problems
    assert rule in _rules(found)
    hit = found[found["rule"] == rule].iloc[0]
    assert hit["patient_id"] == "P1"
    assert hit["hint"] == RULES[rule]


def test_start_after_death_and_sessions(small_tables) -> None:
    t = four_courses()
    # P2 died 2008-03-10 (also the discharge): 9 sessions from 03-02 fit, 10 do not
    t.loc[2, ["treatment", "sessions"]] = ["cyclophosphamide", 9]
    assert validate_tables(*small_tables, treatments=t).report.ok
    t.loc[2, "sessions"] = 10
    assert _rules(validate_tables(*small_tables, treatments=t).report.problems) == {
        "sessions_exceed_days"
    }
    p, e = small_tables
    e = e.copy()
    e.loc[1, "discharge_date"] = None  # discharge unknown: the death date still bounds it
    t.loc[2, ["start_date", "end_date", "sessions"]] = ["2008-03-11", None, None]
    rules = _rules(validate_tables(p, e, treatments=t).report.problems)
    assert rules == {"start_after_death"}


def test_duplicates_and_missing_flag(small_tables) -> None:
    t = pd.concat([four_courses(), four_courses().iloc[[0]]], ignore_index=True)
    found = validate_tables(*small_tables, treatments=t).report.problems
    assert (found["rule"] == "duplicate_course").sum() == 2
    p, e = small_tables
    t = four_courses()
    t.loc[3, "treatment"] = "rituximab"  # its flag is False on the episode...
    assert _rules(validate_tables(p, e, treatments=t).report.problems) == {"treatment_flag_false"}
    e = e.drop(columns=["rituximab"])  # ...but a missing flag is fine
    assert validate_tables(p, e, treatments=t).report.ok


def test_all_problems_are_collected_at_once(small_tables) -> None:
    t = four_courses()
    t.loc[0, "end_date"] = "2005-01-01"
    t.loc[1, "treatment"] = "oral_prednisone"  # P1 episode 1 has it True: fine
    t.loc[2, "episode_number"] = 3
    t.loc[3, "treatment"] = "ivig"
    t.loc[3, "start_date"] = None
    with pytest.raises(ValidationError) as info:
        Cohort(*small_tables, treatments=t)
    problems = info.value.report.problems
    assert set(problems["rule"]) == {
        "end_before_start",
        "unknown_episode",
        "not_allowed",
        "missing_value",
    }


def test_cohort_view_order_and_fingerprint(small_tables) -> None:
    plain = Cohort(*small_tables)
    assert plain.n_treatments == 0
    assert list(plain.treatments.columns)[:4] == [
        "patient_id",
        "episode_number",
        "treatment",
        "start_date",
    ]
    same = Cohort(*small_tables, treatments=four_courses().iloc[:0])
    assert same.fingerprint == plain.fingerprint
    treated = Cohort(*small_tables, treatments=four_courses().iloc[::-1])
    assert treated.fingerprint != plain.fingerprint
    assert treated.fingerprint == Cohort(*small_tables, treatments=four_courses()).fingerprint
    t = treated.treatments
    assert list(t["treatment"]) == [
        "methylprednisolone_pulse",
        "plasmapheresis",
        "cyclophosphamide",
        "cyclophosphamide",
    ]
    assert "n_treatments=4" in repr(treated)
    assert treated.describe()["n_treatments"] == 4
    t.loc[0, "dose_mg"] = 1.0
    t["extra"] = 1
    assert treated.treatments.loc[0, "dose_mg"] == 3000.0
    assert "extra" not in treated.treatments


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip(small_tables, tmp_path: Path, fmt: str) -> None:
    cohort = Cohort(*small_tables, treatments=four_courses())
    paths = save_cohort(cohort, tmp_path, format=fmt)  # type: ignore[arg-type]
    assert paths["treatments"].name == f"treatments.{fmt}"
    meta = json.loads((tmp_path / "provenance.json").read_text())
    assert f"treatments.{fmt}" in meta["files"]
    back = load_cohort(tmp_path)
    pd.testing.assert_frame_equal(back.treatments, cohort.treatments)
    assert back.fingerprint == cohort.fingerprint
    # saving a cohort without courses removes the stale table
    save_cohort(Cohort(*small_tables), tmp_path, format=fmt)  # type: ignore[arg-type]
    assert not (tmp_path / f"treatments.{fmt}").exists()
    assert load_cohort(tmp_path).n_treatments == 0


def test_validate_command_reports_treatment_problems(
    small_tables, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_cohort(Cohort(*small_tables, treatments=four_courses()), tmp_path)
    assert main(["validate", str(tmp_path)]) == 0
    assert "n_treatments=4" in capsys.readouterr().out
    _bad_row(**BAD["start_before_onset"]).to_csv(tmp_path / "treatments.csv", index=False)
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "treatments.start_before_onset: 1" in out
    assert main(["validate", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["problems"][0]["rule"] == "start_before_onset"
    assert report["problems"][0]["table"] == "treatments"
