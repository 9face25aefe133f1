"""The generator's timing model: when DAH starts, when patients die, when each course starts.

Each property is what a clinician would recognise in a DAH series (onset early after SLE
diagnosis, deaths spread over days to weeks, recurrent episodes that can kill, courses given
only to patients alive and in hospital) and is measured on generated cohorts; the generated
tables pass the same validation rules as an import (the Cohort constructor runs them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import generate_cohort, load_scenario
from dah_outcomes.errors import ImmortalTimeWarning, ScenarioError
from dah_outcomes.synthetic.model import baseline_cumhaz, timed_cumhaz, timed_cumhaz_inverse
from dah_outcomes.synthetic.scenario import TREATMENTS
from dah_outcomes.validation import validate_tables


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort("seed-article", n_sle=40_000, seed=2)


@pytest.fixture(scope="module")
def index(cohort) -> pd.DataFrame:
    e = cohort.episodes
    p = cohort.patients.set_index("patient_id")
    first = e[e["episode_number"] == 1].copy()
    first["death_date"] = p.loc[first["patient_id"], "death_date"].to_numpy()
    first["sle_diagnosis_date"] = p.loc[first["patient_id"], "sle_diagnosis_date"].to_numpy()
    return first


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    return ((a.to_numpy() - b.to_numpy()) / np.timedelta64(1, "D")).astype(float)


def test_onset_is_early_after_diagnosis(index: pd.DataFrame) -> None:
    years = _days(index["onset_date"], index["sle_diagnosis_date"]) / 365.25
    assert 1.5 < np.median(years) < 3.5  # published series: about 2.5 years


def test_deaths_spread_over_days_to_weeks(index: pd.DataFrame) -> None:
    dead = index[index["in_hospital_death"].astype(bool)]
    day = _days(dead["death_date"], dead["onset_date"])
    assert (day == 0).mean() < 0.15  # the first model had 30% on day 0
    assert np.median(day) >= 3
    assert np.quantile(day, 0.75) >= 7


def test_recurrent_episodes_carry_death_risk(cohort) -> None:
    e = cohort.episodes
    first = e.loc[e["episode_number"] == 1, "in_hospital_death"].astype(bool).mean()
    later = e.loc[e["episode_number"] > 1, "in_hospital_death"].astype(bool).mean()
    assert later > 0.05  # the first model: 0.13% against 19.8%
    assert later < first  # declared relative hazard 0.8


def test_mortality_trend_is_smooth(index: pd.DataFrame) -> None:
    # with a 12-year trend centred on 2000 there is no single step at the boundary
    year = index["onset_date"].dt.year
    m = (
        index["in_hospital_death"]
        .astype(bool)
        .groupby(pd.cut(year, [0, 1993, 1997, 2001, 2005, 3000]))
        .mean()
    )
    assert m.is_monotonic_decreasing or m.iloc[:-1].is_monotonic_decreasing
    assert m.iloc[0] > m.iloc[1] > m.iloc[3]


def test_courses_only_for_patients_alive_and_in_hospital(cohort) -> None:
    t = cohort.treatments.merge(cohort.episodes, on=["patient_id", "episode_number"])
    t = t.merge(cohort.patients[["patient_id", "death_date"]], on="patient_id")
    assert (t["start_date"] >= t["onset_date"]).all()
    assert (t["start_date"] <= t["discharge_date"]).all()
    assert not (t["start_date"] > t["death_date"]).fillna(False).any()
    plex = t[t["treatment"] == "plasmapheresis"]
    last = plex[["discharge_date", "death_date"]].min(axis=1)
    assert (plex["sessions"] <= _days(last, plex["start_date"]) + 1).all()
    e = cohort.episodes
    assert (e["ventilation_days"] <= _days(e["discharge_date"], e["onset_date"]) + 1).all()


def test_flags_agree_with_courses(cohort) -> None:
    e = cohort.episodes.set_index(["patient_id", "episode_number"])
    courses = cohort.treatments
    for name in TREATMENTS:
        flagged = set(e.index[e[name].astype(bool)])
        dated = set(
            map(
                tuple,
                courses.loc[
                    courses["treatment"] == name, ["patient_id", "episode_number"]
                ].itertuples(index=False),
            )
        )
        assert flagged == dated, name


def test_start_days_follow_the_declared_timing(cohort) -> None:
    sc = load_scenario("seed-article")
    t = cohort.treatments.merge(cohort.episodes, on=["patient_id", "episode_number"])
    day = pd.Series(_days(t["start_date"], t["onset_date"]), index=t.index)
    for name in TREATMENTS:
        timing = sc.timing[name]
        d = day[t["treatment"] == name]
        assert d.min() >= timing["first_day"], name
    rtx = day[t["treatment"] == "rituximab"]
    assert rtx.min() >= 2
    assert rtx.median() > 4
    # infection holds immunosuppression back
    cyc = t["treatment"] == "cyclophosphamide"
    infected = t["infection"].astype(bool)
    assert day[cyc & infected].mean() > day[cyc & ~infected].mean() + 2


def test_causes_of_death_are_recorded(cohort) -> None:
    p = cohort.patients
    dead = p["death_date"].notna()
    assert p.loc[dead, "cause_of_death"].notna().all()
    assert p.loc[~dead, "cause_of_death"].isna().all()
    assert {"dah", "infection", "other"} <= set(p.loc[dead, "cause_of_death"])


def test_age_and_site_change_mortality(index: pd.DataFrame, cohort) -> None:
    from dah_outcomes.stats import cox_regression

    p = cohort.patients.set_index("patient_id")
    birth = pd.Series(p.loc[index["patient_id"], "birth_date"].to_numpy(), index=index.index)
    data = pd.DataFrame(
        {
            "time": _days(index["discharge_date"], index["onset_date"]) + 0.5,
            "died": index["in_hospital_death"].astype(bool).astype(int),
            # age confounds with calendar time (older at onset = later onset): adjust for era
            "age_decades": _days(index["onset_date"], birth) / 3652.5,
            "modern": (index["onset_date"] >= pd.Timestamp("2000-01-01")).astype(int),
            "site_d": (p.loc[index["patient_id"], "site"].to_numpy() == "site-D").astype(int),
            "site_e": (p.loc[index["patient_id"], "site"].to_numpy() == "site-E").astype(int),
        }
    )
    fit = cox_regression(
        data, time="time", event="died", covariates=["age_decades", "modern", "site_d", "site_e"]
    )
    hr = dict(zip(fit.terms, np.exp(fit.coef), strict=True))
    assert hr["age_decades"] > 1.03  # declared 1.15 per decade (conditional)
    assert hr["site_d"] > hr["site_e"]  # declared 1.3 vs 0.85


def test_generated_tables_pass_the_import_rules(cohort) -> None:
    checked = validate_tables(cohort.patients, cohort.episodes, treatments=cohort.treatments)
    assert checked.report.ok, checked.report


def test_truth_has_treatment_effects() -> None:
    c = generate_cohort("rescue-null", n_sle=2000, seed=1)
    effects = c.provenance["truth"]["treatment_effects"]
    assert set(effects) == set(TREATMENTS)
    assert effects["rituximab"]["hazard_ratio"] == 1.0
    assert effects["rituximab"]["marginal_hazard_ratio"] == pytest.approx(1.0, abs=0.05)
    assert 0.6 < effects["cyclophosphamide"]["marginal_hazard_ratio"] < 0.8  # declared 0.6


def test_rescue_null_naive_is_biased_time_varying_is_not() -> None:
    from dah_outcomes.analyses.treatment_effects import treatment_effect

    c = generate_cohort("rescue-null", n_sle=60_000, seed=4)
    with pytest.warns(ImmortalTimeWarning):
        naive = treatment_effect(c, "rituximab", method="naive")
    tv = treatment_effect(c, "rituximab", method="time-varying")
    assert naive.hazard_ratio < 0.85  # the survivors' days credited to rituximab
    assert tv.ci_lower < 1.0 < tv.ci_upper
    assert abs(np.log(tv.hazard_ratio)) < abs(np.log(naive.hazard_ratio))


def test_default_timing_is_day_zero(tmp_path) -> None:
    # a scenario file without [timing] keeps every course at onset (the first model)
    src = load_scenario("seed-article").source
    from importlib import resources

    text = (
        resources.files("dah_outcomes.synthetic") / "scenarios" / "seed-article.toml"
    ).read_text()
    cut = text[: text.index("[timing.methylprednisolone_pulse]")] + text[text.index("[onset]") :]
    path = tmp_path / "old.toml"
    path.write_text(cut)
    c = generate_cohort(path, n_sle=3000, seed=1)
    t = c.treatments.merge(c.episodes, on=["patient_id", "episode_number"])
    assert (t["start_date"] == t["onset_date"]).all()
    assert src == "builtin:seed-article"


def test_timing_problems_are_listed(tmp_path) -> None:
    from importlib import resources

    text = (
        resources.files("dah_outcomes.synthetic") / "scenarios" / "seed-article.toml"
    ).read_text()
    text += "\n[timing.aspirin]\nfirst_day = 1\n"
    text = text.replace("first_day = 5", "first_day = -3")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "aspirin" in str(info.value)
    assert "first_day = -3" in str(info.value)


def test_piecewise_hazard_inverts_exactly() -> None:
    rng = np.random.default_rng(0)
    death = {"acute_days": 30.0, "acute_shape": 1.0, "chronic_relative_rate": 0.05}
    starts = np.where(rng.random((500, 3)) < 0.5, rng.integers(0, 20, (500, 3)), np.inf)
    log_hr = np.log([0.5, 2.0, 0.7])
    h = rng.exponential(size=500)
    t = timed_cumhaz_inverse(h, starts, log_hr, death)
    assert np.allclose(timed_cumhaz(t, starts, log_hr, death), h, rtol=1e-12)
    # numerical integral of the switched hazard for one patient
    grid = np.linspace(0, 40, 400_001)
    i = int(np.flatnonzero(np.isfinite(starts).sum(axis=1) == 3)[0])
    mult = np.exp(sum(log_hr[k] * (grid[1:] > starts[i, k]) for k in range(3)))
    numeric = np.sum(mult * np.diff(baseline_cumhaz(grid, death)))
    assert timed_cumhaz(np.array([40.0]), starts[i : i + 1], log_hr, death)[0] == pytest.approx(
        numeric, rel=1e-4
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(
            timed_cumhaz_inverse(
                np.array([1e12]), starts[:1], log_hr, {**death, "chronic_relative_rate": 0.0}
            )
        )[0]
