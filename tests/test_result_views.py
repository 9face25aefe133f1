"""The text and notebook views of results read as R prints them: short summaries, formatted
numbers, the test statistic and the model's size in the heading; the full tables stay in
``to_frame()``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.analyses.baseline import table_one
from dah_outcomes.results import format_frame, format_p_value
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.logrank import logrank_test
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.synthetic.cohorts import generate_cohort

LUNG = Path(__file__).parent / "reference" / "lung.csv"


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    frame = pd.read_csv(LUNG)
    frame["sex_label"] = frame["sex"].map({1: "male", 2: "female"})
    return frame


def test_p_values_are_never_zero_or_scientific() -> None:
    shown = [format_p_value(p) for p in (0.0, 6.53e-125, 0.00099, 0.001, 0.05315, 1.0)]
    assert shown == ["<0.001", "<0.001", "<0.001", "0.001", "0.053", "1.000"]
    assert format_p_value(float("nan")) == "NA"
    assert format_p_value(None) == "NA"  # type: ignore[arg-type]
    assert format_p_value(0.0004, digits=4) == "0.0004"


def test_numbers_read_as_counts_and_estimates() -> None:
    frame = pd.DataFrame(
        {"n": [2069.0, 12.0], "estimate": [0.05315, 12.345], "p_value": [0.0, 0.5], "x": ["a", "b"]}
    )
    out = format_frame(frame)
    assert out["n"].tolist() == ["2,069", "12"]
    assert out["estimate"].tolist() == ["0.0532", "12.3"]
    assert out["p_value"].tolist() == ["<0.001", "0.500"]
    assert out["x"].tolist() == ["a", "b"]
    assert frame["n"].tolist() == [2069.0, 12.0]  # the input is not changed


def test_kaplan_meier_prints_one_row_per_group(lung: pd.DataFrame) -> None:
    km = kaplan_meier(lung, time="time", event="event", group="sex_label")
    text = str(km)
    lines = text.splitlines()
    assert len(lines) == 1 + 1 + 2  # heading, column names, two groups
    assert "median" in lines[1]
    assert "events" in lines[1]
    assert "time in days" in lines[0]
    assert "95% CI" in lines[0]
    # the full step table is still there
    assert len(km.to_frame()) > 100
    med = km.median().set_index("group")
    row = next(line for line in lines if line.strip().startswith("male"))
    assert f"{med.loc['male', 'time']:,.0f}" in row
    html = km._repr_html_()
    assert html.count("<tr") == 1 + 2


def test_log_rank_heading_gives_the_statistic_df_and_p(lung: pd.DataFrame) -> None:
    test = logrank_test(lung, time="time", event="event", group="sex_label")
    heading = str(test).splitlines()[0]
    assert f"chi-square = {test.statistic:.2f} on 1 df" in heading
    assert re.search(r"p = 0\.00\d", heading), heading  # R: p = 0.001


def test_cox_heading_names_n_events_concordance_and_reference(lung: pd.DataFrame) -> None:
    fit = cox_regression(lung, time="time", event="event", covariates=["age", "sex_label"])
    assert fit.reference_levels == {"sex_label": "female"}
    heading = str(fit).splitlines()[0]
    assert f"n = {fit.n:,}, events = {fit.n_events:,}" in heading
    assert f"concordance {fit.concordance:.3f}" in heading
    assert "reference: sex_label vs female" in heading
    assert fit.to_dict()["reference_levels"] == {"sex_label": "female"}


def test_table_one_prints_without_internal_columns_or_inf() -> None:
    cohort = generate_cohort("seed-article", n_sle=4000, seed=3)
    t = table_one(cohort, by="arm")
    shown = t.summary_frame()
    assert {"variable", "kind", "smd_note", "smd"}.isdisjoint(shown.columns)
    assert "Missing" not in shown.columns  # nothing is missing in a generated cohort
    assert not shown.astype(str).apply(lambda c: c.str.contains(r"\binf\b")).any().any()
    assert "defines arm" in shown["SMD"].tolist()
    assert all(re.fullmatch(r"\d+\.\d\d|defines arm|", v) for v in shown["SMD"])
    text = str(t)
    assert "variable" not in text.splitlines()[1]


def test_table_one_shows_missing_only_where_something_is_missing() -> None:
    cohort = generate_cohort("seed-article", n_sle=4000, seed=3)
    episodes = cohort.episodes.copy()
    episodes.loc[episodes.index[:5], "severe"] = pd.NA
    from dah_outcomes.cohort import Cohort

    damaged = Cohort(patients=cohort.patients, episodes=episodes, treatments=cohort.treatments)
    shown = table_one(damaged, by="arm").summary_frame()
    assert "Missing" in shown.columns
    severe = shown[shown["Characteristic"].str.startswith("Severe")]
    assert np.any(severe["Missing"].str.contains(r"[1-9]"))
