"""Standardised risks of death by arm: the observed risk by an independent route (Kaplan-Meier,
the in-hospital proportion), standardised = observed without confounding, g-computation and
AIPW near the truth with a correct outcome model (and AIPW when only the propensity model is
right), reproducible bootstraps, warnings recorded, and the ``standardise`` command."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import dah_outcomes as dah
from dah_outcomes.analyses.arm_risks import StandardisedRisks, standardised_risks
from dah_outcomes.cli import main
from dah_outcomes.endpoints.frames import death_frame, patient_outcomes
from dah_outcomes.errors import (
    ArgumentError,
    DahOutcomesWarning,
    EstimationError,
    ImmortalTimeWarning,
    PositivityWarning,
    SmallSampleWarning,
)
from dah_outcomes.io import save_cohort
from dah_outcomes.stats import kaplan_meier
from dah_outcomes.stats.standardisation import RiskEndpoint, standardised_arm_risks


@pytest.fixture(scope="module")
def cohort() -> dah.Cohort:
    return dah.generate_cohort("seed-article", n_sle=20_000, seed=3)


def _quiet(cohort: dah.Cohort, **kwargs: object) -> StandardisedRisks:
    """The analysis with its warnings silenced (they are tested on their own below)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return standardised_risks(cohort, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def result(cohort: dah.Cohort) -> StandardisedRisks:
    return _quiet(cohort, bootstrap=40, seed=5)


def test_observed_risk_is_kaplan_meier_and_the_in_hospital_proportion(
    cohort: dah.Cohort, result
) -> None:
    frame = death_frame(cohort)
    frame = frame[frame["arm"] != "Unknown"]
    km = kaplan_meier(frame, time="time", event="event", group="arm")
    table = result.to_frame().set_index(["arm", "horizon"])
    curves = km.to_frame()
    for arm in result.arms:
        curve = curves[curves["group"] == arm]
        for days in (30, 90):
            surv = curve.loc[curve["time"] <= days, "survival"]
            expected = 1 - (surv.iloc[-1] if len(surv) else 1.0)
            assert table.loc[(arm, days), "observed_risk"] == pytest.approx(expected, abs=1e-12)
    died = patient_outcomes(cohort).groupby("arm")["died"].mean()
    for arm in result.arms:
        assert table.loc[(arm, "in_hospital"), "observed_risk"] == pytest.approx(died[arm])


def test_without_adjustment_standardised_equals_observed(cohort: dah.Cohort) -> None:
    r = _quiet(cohort, adjust_for=(), bootstrap=0)
    f = r.to_frame()
    np.testing.assert_allclose(f["gcomputation_risk"], f["observed_risk"], atol=1e-9)
    np.testing.assert_allclose(f["aipw_risk"], f["observed_risk"], atol=1e-9)
    assert r.adjusted_for == ()


def test_shape_and_counts(result) -> None:
    assert result.arms[0] == "MP+CYC+PLEX"
    assert result.horizons == (30, 90, "in_hospital")
    assert len(result.table) == len(result.arms) * 3 * 3
    f = result.to_frame()
    assert len(f) == len(result.arms) * 3
    assert {"observed_risk", "gcomputation_ci_lower", "aipw_ci_upper"} <= set(f.columns)
    assert ((f["aipw_ci_lower"] <= f["aipw_risk"]) & (f["aipw_risk"] <= f["aipw_ci_upper"])).all()
    assert (f["n_known"] <= f["n"]).all()
    assert f.groupby("arm")["n"].nunique().eq(1).all()
    assert sum(f.drop_duplicates("arm")["n"]) == result.n
    assert result.adjusted_for == ("severe", "infection", "mechanical_ventilation", "era")
    assert set(result.effective_n) == set(result.arms)
    d = result.to_dict()
    json.dumps(d)
    first = d["estimates"][0]
    assert set(first) == {
        "arm",
        "horizon",
        "n",
        "n_known",
        "n_events",
        "observed",
        "gcomputation",
        "aipw",
    }
    assert set(first["aipw"]) == {"estimate", "ci_lower", "ci_upper"}
    assert "Standardised risks" in str(result)


def test_method_selects_the_estimators(cohort: dah.Cohort) -> None:
    r = _quiet(cohort, method="aipw", horizons=("in_hospital",), bootstrap=0)
    assert set(r.table["method"]) == {"observed", "aipw"}
    assert set(r.to_dict()["estimates"][0]) >= {"observed", "aipw"}
    assert "gcomputation" not in r.to_dict()["estimates"][0]
    assert r.horizons == ("in_hospital",)


def test_bootstrap_is_reproducible_by_seed(cohort: dah.Cohort, result) -> None:
    again = _quiet(cohort, bootstrap=40, seed=5)
    pd.testing.assert_frame_equal(again.table, result.table)
    other = _quiet(cohort, bootstrap=40, seed=6)
    assert not np.allclose(other.table["ci_lower"], result.table["ci_lower"])
    np.testing.assert_allclose(other.table["risk"], result.table["risk"])


def test_warnings_are_issued_and_recorded(cohort: dah.Cohort) -> None:
    with pytest.warns(DahOutcomesWarning) as caught:
        r = standardised_risks(cohort, horizons=(30,), bootstrap=0, min_events=10_000)
    messages = [str(w.message) for w in caught]
    categories = {w.category for w in caught}
    assert {SmallSampleWarning, ImmortalTimeWarning, PositivityWarning} <= categories
    # once, with the numbers, and recorded on the result
    positivity = [str(w.message) for w in caught if w.category is PositivityWarning]
    assert len(positivity) == 1
    assert r.risks.propensity.positivity is not None
    assert positivity[0] == r.risks.propensity.positivity.message
    assert r.to_dict()["positivity"]["flagged"]
    assert any("fewer than 10000 deaths in MP+CYC+PLEX by day 30" in m for m in messages)
    # courses start after onset in seed-article: the arms select survivors
    assert any(m.startswith("standardised risks by arm: ") for m in messages)
    assert all(m in r.warnings for m in messages)


def test_small_arms_are_left_out_with_their_patients(
    cohort: dah.Cohort, result: StandardisedRisks
) -> None:
    sizes = result.to_frame().drop_duplicates("arm").set_index("arm")["n"]
    smallest = sizes.idxmin()
    with pytest.warns(DahOutcomesWarning) as caught:
        r = standardised_risks(cohort, bootstrap=0, min_arm_size=int(sizes.min()) + 1)
    assert r.arms_left_out == {smallest: int(sizes.min())}
    assert smallest not in r.arms
    assert r.n == result.n - sizes.min()
    assert any(f"left out, with their patients: {smallest}" in str(w.message) for w in caught)
    assert r.to_dict()["arms_left_out"] == {smallest: int(sizes.min())}


def test_an_arm_without_a_known_outcome_is_an_error() -> None:
    data = pd.DataFrame(
        {
            "arm": ["A"] * 6 + ["B"] * 3,
            "time": [5.0, 40, 50, 3, 60, 45, 10, 12, 8],
            "event": [1, 0, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    with pytest.raises(EstimationError, match="no patient of arm 'B' has a known outcome"):
        standardised_arm_risks(
            data,
            treatment="arm",
            covariates=[],
            endpoints=[RiskEndpoint("30", "event", "time", 30)],
        )


def test_arm_defining_covariates_are_not_adjusted_for(cohort: dah.Cohort) -> None:
    r = _quiet(cohort, adjust_for=("severe", "cyclophosphamide"), bootstrap=0)
    assert r.adjusted_for == ("severe",)
    assert r.not_adjusted == {"cyclophosphamide": "it defines the arms compared"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "ipw"}, "method"),
        ({"horizons": (0,)}, "whole number of days"),
        ({"horizons": ()}, "non-empty"),
        ({"horizons": "in_hospital"}, "sequence"),
        ({"adjust_for": ("colour",)}, "unknown"),
        ({"bootstrap": -1}, "bootstrap"),
        ({"conf_level": 95}, "conf_level"),
    ],
)
def test_bad_arguments(cohort: dah.Cohort, kwargs: dict, match: str) -> None:
    with pytest.raises(ArgumentError, match=match):
        _quiet(cohort, **kwargs)


def _simulated(n: int, seed: int, *, quadratic: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Three arms confounded by x and a flag; death depends on the arm, x (or x^2) and the
    flag; returns the data and the true standardised risk of each arm (the population mean of
    the true probabilities)."""
    rng = np.random.default_rng(seed)
    x, flag = rng.normal(size=n), rng.random(n) < 0.4
    eta = np.column_stack([np.zeros(n), 0.6 * x - 0.5 * flag, -0.4 * x + 0.8 * flag])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    arm = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    effect = np.array([0.0, 0.5, 1.0])
    shape = 0.9 * x**2 - 0.9 if quadratic else 0.9 * x
    risk = lambda a: expit(-1.5 + effect[a] + shape + 0.7 * flag)  # noqa: E731
    died = rng.random(n) < risk(arm)
    data = pd.DataFrame(
        {
            "arm": pd.Categorical(np.array(["A", "B", "C"])[arm], ["A", "B", "C"]),
            "x": x,
            "flag": flag,
            "died": died,
        }
    )
    return data, np.array([risk(np.full(n, a)).mean() for a in range(3)])


def test_both_estimators_are_near_the_truth_with_a_correct_outcome_model() -> None:
    data, truth = _simulated(40_000, 11, quadratic=False)
    # the normal confounder's tails give some patients a propensity below 0.01 and a
    # weight over 10 times the mean: near-violations by the package's thresholds
    with pytest.warns(PositivityWarning, match="standardised_arm_risks: near-violations"):
        r = standardised_arm_risks(
            data,
            treatment="arm",
            covariates=["x", "flag"],
            endpoints=[RiskEndpoint("d", "died")],
            bootstrap=0,
        )
    est = r.estimates.pivot(index="arm", columns="method", values="risk").loc[["A", "B", "C"]]
    # SE of a standardised risk at n = 40,000 is about 0.004
    np.testing.assert_allclose(est["gcomputation"], truth, atol=0.015)
    np.testing.assert_allclose(est["aipw"], truth, atol=0.015)
    np.testing.assert_allclose(est["aipw"], est["gcomputation"], atol=0.01)
    # the crude risks are confounded
    assert np.max(np.abs(est["observed"] - truth)) > 0.02


def test_aipw_is_right_when_only_the_propensity_model_is() -> None:
    data, truth = _simulated(40_000, 12, quadratic=True)
    # the normal confounder's tails give some patients a propensity below 0.01 and a
    # weight over 10 times the mean: near-violations by the package's thresholds
    with pytest.warns(PositivityWarning, match="standardised_arm_risks: near-violations"):
        r = standardised_arm_risks(
            data,
            treatment="arm",
            covariates=["x", "flag"],
            endpoints=[RiskEndpoint("d", "died")],
            bootstrap=0,
        )
    est = r.estimates.pivot(index="arm", columns="method", values="risk").loc[["A", "B", "C"]]
    np.testing.assert_allclose(est["aipw"], truth, atol=0.015)
    # the linear outcome model misses the curvature: g-computation is off
    assert np.max(np.abs(est["gcomputation"] - truth)) > np.max(np.abs(est["aipw"] - truth))


def test_bootstrap_intervals_cover_the_truth_mostly() -> None:
    hits, total = 0, 0
    for seed in range(8):
        data, truth = _simulated(1500, 100 + seed, quadratic=False)
        with warnings.catch_warnings():
            # some of these small samples cross a positivity threshold (a weight over 10
            # times the mean) and some do not: coverage is what is checked here
            warnings.simplefilter("ignore", PositivityWarning)
            r = standardised_arm_risks(
                data,
                treatment="arm",
                covariates=["x", "flag"],
                endpoints=[RiskEndpoint("d", "died")],
                bootstrap=60,
                seed=seed,
            )
        e = r.estimates[r.estimates["method"] == "aipw"].set_index("arm").loc[["A", "B", "C"]]
        hits += int(((e["ci_lower"] <= truth) & (truth <= e["ci_upper"])).sum())
        total += 3
    # 24 intervals at 95%: fewer than 18 covering would be very unlikely (p < 0.001)
    assert hits >= 18


@pytest.fixture(scope="module")
def cohort_dir(cohort: dah.Cohort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("standardise") / "cohort"
    save_cohort(cohort, path)
    return path


def test_cli_json(cohort_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    args = ["standardise", str(cohort_dir), "--bootstrap", "20", "--seed", "2", "--json"]
    assert main([*args, "--horizon", "30,in_hospital", "--method", "aipw"]) == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert d["horizons"] == [30, "in_hospital"]
    assert d["method"] == "aipw"
    assert d["bootstrap"] == 20
    assert d["seed"] == 2
    assert {"arms", "estimates", "n", "effective_n", "warnings", "fingerprint"} <= set(d)
    assert set(d["estimates"][0]) == {
        "arm",
        "horizon",
        "n",
        "n_known",
        "n_events",
        "observed",
        "aipw",
    }
    assert any("immortal-time bias" in m for m in d["warnings"])
    # our warnings reach stderr as one line each and are in the JSON too
    for message in d["warnings"]:
        assert f"warning: {message}" in out.err


def test_cli_text(cohort_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    assert main(["standardise", str(cohort_dir), "--bootstrap", "0", "--horizon", "90"]) == 0
    text = capsys.readouterr().out
    assert "death by day 90" in text
    assert "g-computation" in text
    assert "AIPW" in text
    assert "observed" in text
    assert "effective sample size" in text
    assert "positivity (propensity score" in text
    assert "near-violations: standardised_arm_risks" in text  # Rituximab's, as in the API


@pytest.mark.parametrize(
    "extra",
    [["--horizon", "0"], ["--horizon", "week"], ["--method", "ipw"], ["--bootstrap", "-3"]],
)
def test_cli_usage_errors_exit_2(
    cohort_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["standardise", str(cohort_dir), *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert sum("error:" in line for line in err.splitlines()) == 1


def test_cli_errors_of_ours_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["standardise", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error:")


def test_aipw_is_near_the_generator_truth_when_arms_are_fixed_at_onset(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """seed-article with every course on the day of onset: the arm received is fixed at time
    zero, so the standardised risk of the arm is the truth's estimand (with the shipped delays
    arms select survivors: benchmarks/results/standardised_truth.md)."""
    text = (Path(dah.__file__).parent / "synthetic" / "scenarios" / "seed-article.toml").read_text(
        encoding="utf-8"
    )
    text = re.sub(r"first_day = \d+", "first_day = 0", text)
    text = re.sub(r"mean_delay_days = [\d.]+", "mean_delay_days = 0", text)
    text = re.sub(r"infection_delay_days = \d+", "infection_delay_days = 0", text)
    path = tmp_path_factory.mktemp("scenario") / "immediate.toml"
    path.write_text(text, encoding="utf-8")
    cohort = dah.generate_cohort(path, n_sle=200_000, seed=21)
    truth = {
        (r["arm"], r["horizon_days"]): r["risk"]
        for r in cohort.provenance["truth"]["standardized_risks"]
    }
    r = _quiet(cohort, bootstrap=0, method="aipw")
    # every course on the day of onset: no immortal time, no warning of it
    assert not any("immortal-time" in m for m in r.warnings)
    checked = 0
    for row in r.to_frame().itertuples():
        if (row.arm, row.horizon) not in truth:
            continue  # "Other" is not an intervention
        true = truth[(row.arm, row.horizon)]
        se = np.sqrt(true * (1 - true) / r.effective_n[row.arm])
        assert abs(row.aipw_risk - true) < 4 * se, (row.arm, row.horizon, row.aipw_risk, true)
        checked += 1
    assert checked == 12


def test_imported_cohort_gives_the_same_answer(cohort: dah.Cohort, tmp_path: Path) -> None:
    """A registry's tables written as plain CSV files and imported (no mapping: the
    contract's own column names) give the generated cohort's standardised risks exactly."""
    folder = tmp_path / "registry"
    folder.mkdir()
    for name in ("patients", "episodes", "treatments"):
        table = getattr(cohort, name)
        table.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    imported = dah.read_cohort(folder).cohort
    ours = _quiet(imported, bootstrap=10, seed=4).to_frame()
    theirs = _quiet(cohort, bootstrap=10, seed=4).to_frame()
    pd.testing.assert_frame_equal(ours, theirs)
