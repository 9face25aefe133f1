"""Missing data described: per-column counts, md.pattern's patterns (checked against R's
mice) and the by-outcome comparison with the import's informative-exclusion criteria."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.schema import EPISODE_COLUMNS
from dah_outcomes.stats.missing_data import (
    MATERIAL_P_VALUE,
    MATERIAL_RISK_RATIO,
    material_difference,
    missing_patterns,
    missing_summary,
    missingness_by_outcome,
)

REF = Path(__file__).parent.parent / "reference"


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, dict]:
    data = pd.read_csv(REF / "missing_data.csv", keep_default_na=False, na_values=[""])
    return data, json.loads((REF / "missing_data.json").read_text())


def _matches_md_pattern(result, expected: dict) -> None:
    assert list(result.columns) == expected["columns"]
    assert result.patterns["count"].tolist() == expected["counts"]
    matrix = result.to_matrix()
    assert matrix.iloc[:-1].to_numpy().tolist() == expected["matrix"]
    assert matrix.iloc[-1].to_numpy().tolist() == expected["totals"]
    assert matrix.index[:-1].tolist() == [str(n) for n in expected["counts"]]


def test_patterns_equal_mice_md_pattern(reference) -> None:
    data, ref = reference
    columns = ["age", "severe", "hb", "cyc", "vent_days", "site", "died", "ventilated"]
    result = missing_patterns(data, columns=columns)
    _matches_md_pattern(result, ref["patterns"])
    assert result.n_rows == len(data)
    assert result.n_complete == ref["patterns"]["counts"][0]
    assert result.patterns["count"].sum() == len(data)
    # the names column reads the same pattern as the indicators
    row = result.patterns.iloc[-1]
    assert row["missing"] == ", ".join(c for c in result.columns if row[c] == 0)


def test_patterns_order_ties_as_mice(reference) -> None:
    _, ref = reference
    ties = pd.DataFrame(ref["ties"]["data"]).astype(float)
    _matches_md_pattern(missing_patterns(ties), ref["ties"]["patterns"])


def test_by_outcome_equals_fisher_test(reference) -> None:
    data, ref = reference
    covariates = ["age", "severe", "hb", "cyc", "vent_days", "site"]
    result = missingness_by_outcome(data, outcomes=["died", "ventilated"], columns=covariates)
    got = result.to_frame().set_index(["column", "outcome"])
    assert len(got) == len(ref["by_outcome"])
    for r in ref["by_outcome"]:
        row = got.loc[(r["column"], r["outcome"])]
        for key in ("events_missing", "n_missing", "events_observed", "n_observed"):
            assert row[key] == r[key], (r["column"], r["outcome"], key)
        assert row["risk_ratio"] == pytest.approx(r["risk_ratio"], rel=1e-12)
        assert row["p_value"] == pytest.approx(r["p_value"], rel=1e-9)
    # cyclophosphamide was removed more often among the dead: that difference is material
    cyc = got.loc[("cyc", "died")]
    assert cyc["material"]
    assert cyc["risk_ratio"] > 2
    assert any("cyc" in s and s.startswith("died") for s in result.findings())
    # the outcome with its own missing values is compared only where it is known
    assert got.loc[("age", "ventilated"), "n_observed"] + 1 == len(data) - 2


def test_material_difference_is_the_import_criterion() -> None:
    from dah_outcomes.io.exclusions import MATERIAL_P, MATERIAL_RATIO

    assert (MATERIAL_RISK_RATIO, MATERIAL_P_VALUE) == (MATERIAL_RATIO, MATERIAL_P)
    # the registry case of issue 13: 9 of 9 rejected died against 2 of 31
    ratio, p, material = material_difference(9, 9, 2, 31)
    assert ratio == pytest.approx(15.5)
    assert p < 1e-6
    assert material
    # a large ratio worth less than one patient is no difference: 0 of 3 against 12%
    ratio, p, material = material_difference(0, 3, 12, 100)
    assert ratio == 0
    assert not material
    # a ratio of 2 worth one patient, with no power, still counts
    assert material_difference(2, 4, 25, 100)[2]
    assert not material_difference(30, 100, 25, 100)[2]
    assert np.isinf(material_difference(1, 5, 0, 10)[0])
    assert np.isnan(material_difference(0, 5, 0, 10)[0])
    with pytest.raises(ArgumentError, match="0 <= events <= rows"):
        material_difference(3, 2, 1, 10)


def test_summary_counts_missing_where_a_value_is_expected() -> None:
    frame = pd.DataFrame(
        {
            "mechanical_ventilation": [True, True, False, None, False],
            "ventilation_days": [5, None, None, None, None],
            "age": [30.0, None, 50.0, 60.0, 70.0],
        }
    )
    plain = missing_summary(frame).to_frame().set_index("column")
    assert plain.loc["ventilation_days", "n_missing"] == 4
    rule = {"ventilation_days": ("mechanical_ventilation", True, "ventilated episodes")}
    ruled = missing_summary(frame, applies_when=rule).to_frame().set_index("column")
    # an amount is expected only where its flag is true: one of two ventilated is missing
    assert ruled.loc["ventilation_days", ["n_expected", "n_missing"]].tolist() == [2, 1]
    assert ruled.loc["ventilation_days", "pct_missing"] == 50.0
    assert ruled.loc["ventilation_days", "note"] == "among ventilated episodes"
    assert ruled.loc["age", ["n_rows", "n_missing", "pct_missing"]].tolist() == [5, 1, 20.0]
    assert missing_summary(frame, columns=["age"]).to_frame()["column"].tolist() == ["age"]
    with pytest.raises(ArgumentError, match="not in the data"):
        missing_summary(frame, columns=["nope"])
    with pytest.raises(ArgumentError, match="must be a Cohort, a DataFrame"):
        missing_summary([1, 2])


def test_cohort_tables_and_contract_rules(small_tables) -> None:
    p, e = small_tables
    e = e.assign(mechanical_ventilation=e["mechanical_ventilation"].astype(object))
    e.loc[e.index[0], "mechanical_ventilation"] = None
    cohort = Cohort(p, e)
    summary = missing_summary(cohort)
    frame = summary.to_frame()
    assert set(frame["table"]) == {"patients", "episodes", "treatments"}
    row = frame.set_index(["table", "column"]).loc[("episodes", "mechanical_ventilation")]
    assert row["n_missing"] == 1
    assert row["n_expected"] == len(e)
    # an empty death date is a missing value only for the dead; an empty arm never is
    deaths = frame.set_index(["table", "column"]).loc[("patients", "death_date")]
    assert deaths["n_missing"] == 0
    assert deaths["n_expected"] == p["death_date"].notna().sum()
    assert deaths["note"] == "among patients who died"
    arm = frame.set_index(["table", "column"]).loc[("episodes", "arm")]
    assert arm["n_missing"] == 0
    assert arm["note"].endswith("not missing when empty")
    # a contract column the source never had is missing wherever a value is expected
    absent = next(c.name for c in EPISODE_COLUMNS if c.name not in e.columns and not c.treatment)
    row = frame.set_index(["table", "column"]).loc[("episodes", absent)]
    assert row["note"].startswith("column not recorded")
    assert row["n_missing"] == row["n_expected"]
    assert "mechanical_ventilation" in summary.incomplete["column"].tolist()
    assert summary.fingerprint == cohort.fingerprint
    patterns = missing_patterns(cohort)
    assert "mechanical_ventilation" in patterns.columns
    assert "death_date" not in patterns.columns
    assert patterns.n_rows == cohort.n_dah_patients
    by = missingness_by_outcome(cohort)
    assert set(by.outcomes) == {"died", "ventilated"}
    assert set(by.to_frame()["outcome"]) <= {"died"}  # ventilation is the column examined


def test_results_are_frozen_and_render(reference) -> None:
    import dataclasses

    data, _ = reference
    for result in (
        missing_summary(data),
        missing_patterns(data),
        missingness_by_outcome(data, outcomes={"died": "died", "ventilated": "ventilated"}),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, dataclasses.fields(result)[0].name, None)
        json.dumps(result.to_dict())
        page = result._repr_html_()
        assert page.startswith("<div><strong>")
        assert "<table" in page
        assert str(result).splitlines()[0] in page.replace("&#x27;", "'")


def test_html_is_escaped() -> None:
    frame = pd.DataFrame({"<b>x</b>": [1, None], "y": [None, 2]})
    for result in (missing_summary(frame), missing_patterns(frame)):
        assert "<b>x</b>" not in result._repr_html_()
        assert "&lt;b&gt;x&lt;/b&gt;" in result._repr_html_()


def test_arguments_are_checked() -> None:
    frame = pd.DataFrame({"a": [1, None], "died": [1, 0]})
    with pytest.raises(ArgumentError, match="needs outcomes"):
        missingness_by_outcome(frame)
    with pytest.raises(ArgumentError, match="binary column"):
        missingness_by_outcome(pd.DataFrame({"a": [1, None], "o": ["x", "y"]}), outcomes=["o"])
    with pytest.raises(ArgumentError, match="list of column names"):
        missing_patterns(frame, columns="a")
    with pytest.raises(ArgumentError, match="at least one column"):
        missing_patterns(frame, columns=[])


def test_a_death_without_a_date_is_a_missing_death_date(small_tables) -> None:
    p, e = small_tables
    p = p.assign(vital_status=["alive", "dead", "dead", "unknown", None])
    cohort = Cohort(p, e)
    deaths = missing_summary(cohort).to_frame().set_index("column").loc["death_date"]
    # P2 died on a recorded date, P3 on an unrecorded one
    assert deaths[["n_expected", "n_missing"]].tolist() == [2, 1]
    by = missingness_by_outcome(cohort, columns=["death_date"]).to_frame()
    died = by.set_index("outcome").loc["died"]
    assert died[["n_missing", "events_missing"]].tolist() == [
        int(cohort.n_dah_patients - 1),
        int((cohort.patients.set_index("patient_id")["vital_status"] == "dead").sum() - 1),
    ]
