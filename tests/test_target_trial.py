"""Target trial emulation from a cohort: the protocol's TARGET table, the patient frame built
from the treatments table (checked against the engine called on the days the cohort was built
from), a rescue treatment with no effect whose naive contrast is biased and whose emulation
is not, an imported cohort giving the same answer, a generated cohort, reproducibility, and
the ``emulate`` command (its JSON, and bad arguments as one usage error, exit 2)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dah_outcomes as dah
from dah_outcomes.analyses.target_trial import (
    TargetTrialEmulation,
    emulate_target_trial,
    target_trial_protocol,
)
from dah_outcomes.cli import main
from dah_outcomes.errors import (
    ArgumentError,
    DroppedRowsWarning,
    PositivityWarning,
)
from dah_outcomes.io import save_cohort
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.stats.clone_censor import clone_censor_weight

ONSET = pd.Timestamp("2010-01-01")
TOP_KEYS = {"protocol", "strategies", "risk_difference", "risk_ratio", "n", "warnings"}
INTERVAL = {"estimate", "ci_lower", "ci_upper"}


def _simulate(n: int, seed: int, *, effect: float = 1.0) -> pd.DataFrame:
    """Per patient: severity, the day rituximab started (NaN never) and the day of death
    (NaN alive at day 120). The sick start early and die early; once started, the daily
    hazard of death is multiplied by ``effect``."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.4
    start = np.full(n, np.nan)
    death = np.full(n, np.nan)
    for day in range(121):
        alive = np.isnan(death)
        p = 1 / (1 + np.exp(-(-1.5 + 1.0 * severe - 0.2 * day)))
        new = alive & np.isnan(start) & (rng.random(n) < p)
        start[new] = day
        h = 0.006 * np.where(severe, 3.0, 1.0) * np.where(np.isnan(start), 1.0, effect)
        death[alive & (rng.random(n) < h)] = day
    return pd.DataFrame({"severe": severe, "start": start, "death": death})


def _cohort(sim: pd.DataFrame, *, undated: int = 0) -> dah.Cohort:
    """A cohort with every patient's DAH on ONSET, followed to day 120 or death; the first
    ``undated`` treated patients keep the flag without a dated course."""
    n = len(sim)
    ids = [f"P{i:05d}" for i in range(n)]
    died = sim["death"].notna().to_numpy()
    end = np.where(died, sim["death"].fillna(0), 120).astype(int)
    dates = ONSET + pd.to_timedelta(end, unit="D")
    treated = sim["start"].notna().to_numpy()
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": "F",
            "followup_start": ONSET - pd.Timedelta(days=365),
            "followup_end": dates,
            "death_date": pd.Series(dates).where(died),
        }
    )
    episodes = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_number": 1,
            "onset_date": ONSET,
            "discharge_date": dates,
            "severe": sim["severe"].to_numpy(),
            "infection": False,
            "mechanical_ventilation": False,
            "rituximab": treated,
            "in_hospital_death": died,
        }
    )
    dated = treated & (np.cumsum(treated) > undated)
    treatments = pd.DataFrame(
        {
            "patient_id": np.array(ids)[dated],
            "episode_number": 1,
            "treatment": "rituximab",
            "start_date": ONSET + pd.to_timedelta(sim["start"].to_numpy()[dated], unit="D"),
        }
    )
    return dah.Cohort(patients, episodes, treatments=treatments)


NULL_SIM = _simulate(3000, seed=21)
NULL = _cohort(NULL_SIM)


def emulate(cohort: dah.Cohort, **options) -> TargetTrialEmulation:
    options = {"treatment": "rituximab", "grace_days": 3, "horizon_days": 60, **options}
    return emulate_target_trial(cohort, **options)


def test_protocol_is_a_target_table() -> None:
    p = target_trial_protocol("cyclophosphamide", grace_days=2, horizon_days=90)
    frame = p.to_frame()
    assert frame.columns.tolist() == ["component", "specification", "emulation"]
    assert frame["component"].tolist() == [
        "Eligibility criteria",
        "Treatment strategies",
        "Assignment procedures",
        "Time zero",
        "Follow-up",
        "Outcome",
        "Causal contrast",
        "Adjustment set",
        "Statistical analysis",
    ]
    spec = frame.set_index("component")["specification"]
    assert "within 2 days of onset" in spec["Treatment strategies"]
    assert "by day 90" in spec["Outcome"]
    assert "severe, infection, mechanical_ventilation, era" in spec["Adjustment set"]
    assert p.adjust_for == dah.analyses.adjustment.DEFAULT_ADJUSTMENT
    d = p.to_dict()
    assert d["grace_days"] == 2
    assert [c["component"] for c in d["components"]] == frame["component"].tolist()
    assert "emulation:" in str(p)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"treatment": "aspirin"}, "treatment must be one of"),
        ({"grace_days": -1}, "grace_days must be a whole number of days >= 0"),
        ({"grace_days": 1.5}, "grace_days must be a whole number"),
        ({"horizon_days": 3}, "horizon_days must be a whole number of days >= 4"),
        ({"adjust_for": ["colour"]}, "unknown"),
        ({"bootstrap": -2}, "bootstrap must be"),
        ({"conf_level": 95}, "conf_level must be in"),
        ({"truncate": 101}, "truncate must be a percentile"),
    ],
)
def test_bad_arguments(options: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        emulate(NULL, **options)


def test_frame_from_the_treatments_table_is_the_days_simulated() -> None:
    """The emulation equals the engine called on the days the cohort was built from: start
    days relative to onset from the treatments table, deaths from the patients table."""
    fit = emulate(NULL, bootstrap=0, adjust_for=["severe"])
    days = pd.DataFrame(
        {
            "time": NULL_SIM["death"].fillna(120),
            "event": NULL_SIM["death"].notna().astype(int),
            "start": NULL_SIM["start"],
            "severe": NULL_SIM["severe"].astype(float),
        }
    )
    direct = clone_censor_weight(
        days, time="time", event="event", start="start", grace=3, horizon=60,
        covariates=["severe"], bootstrap=0, day_interactions=True,
    )  # fmt: skip
    np.testing.assert_array_equal(fit.ccw.risk, direct.risk)
    pd.testing.assert_frame_equal(fit.ccw.curves.drop(columns="strategy"),
                                  direct.curves.drop(columns="strategy"))  # fmt: skip
    assert fit.n == 3000
    assert fit.adjusted_for == ("severe",)


def test_null_rescue_is_found_null_and_the_naive_contrast_is_not() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind
        fit = emulate(NULL, bootstrap=100)
    assert fit.ccw.rd_ci_lower < 0 < fit.ccw.rd_ci_upper, fit
    assert fit.ccw.rr_ci_lower < 1 < fit.ccw.rr_ci_upper
    # the default adjustment set, less what this cohort cannot use
    assert fit.adjusted_for == ("severe",)
    assert fit.not_adjusted == {
        "infection": "the same value for every patient",
        "mechanical_ventilation": "the same value for every patient",
        "era": "the same value for every patient",
    }
    assert fit.warnings == ()
    # the sick start early: unadjusted, the early start looks harmful
    crude = emulate(NULL, bootstrap=0, adjust_for=[])
    assert crude.ccw.risk_difference > fit.ccw.risk_difference + 0.02


def test_a_protective_strategy_is_found() -> None:
    fit = emulate(_cohort(_simulate(3000, seed=22, effect=0.3)), bootstrap=100)
    assert fit.ccw.rd_ci_upper < 0
    assert fit.ccw.risk_ratio < 0.8


def test_to_dict_shape_and_reproducibility() -> None:
    a = emulate(NULL, bootstrap=30, seed=5)
    d = a.to_dict()
    assert set(d) >= TOP_KEYS
    assert len(d["strategies"]) == 2
    for s in d["strategies"]:
        assert set(s["risk"]) == INTERVAL
    assert set(d["risk_difference"]) == {*INTERVAL, "se"}
    assert d["risk_difference"]["se"] > 0
    assert set(d["positivity"]) >= {"flagged", "message", "groups"}
    assert set(d["risk_ratio"]) == INTERVAL
    assert d["n"] == 3000
    assert d["protocol"]["treatment"] == "rituximab"
    assert d["strategies"][0]["name"] == "rituximab within 3 days"
    same = json.dumps(emulate(NULL, bootstrap=30, seed=5).to_dict())
    assert json.dumps(d) == same
    assert json.dumps(emulate(NULL, bootstrap=30, seed=6).to_dict()) != same
    assert a.to_frame()["measure"].tolist()[-1] == "risk_ratio"
    assert "rituximab within 3 days vs not" in str(a)


def test_undated_courses_are_left_out_and_counted() -> None:
    cohort = _cohort(NULL_SIM, undated=25)
    with pytest.warns(DroppedRowsWarning, match="25 patients are treated with rituximab"):
        fit = emulate(cohort, bootstrap=0, adjust_for=["severe"])
    assert fit.n_timing_unknown == 25
    assert fit.n == 3000 - 25
    assert "no dated course" in fit.warnings[0]


def test_missing_covariates_are_left_out_and_counted() -> None:
    episodes = NULL.episodes.copy()
    episodes["severe"] = episodes["severe"].astype("boolean")
    episodes.loc[:9, "severe"] = pd.NA
    cohort = dah.Cohort(NULL.patients, episodes, treatments=NULL.treatments)
    with pytest.warns(DroppedRowsWarning, match="10 of 3000 patients left out") as record:
        fit = emulate(cohort, bootstrap=0, adjust_for=["severe"])
    assert (fit.n, fit.n_dropped) == (2990, 10)
    assert fit.warnings == tuple(str(r.message) for r in record)


def test_imported_cohort_gives_the_same_answer(tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    folder.mkdir()
    for name in ("patients", "episodes", "treatments"):
        table = getattr(NULL, name)
        table.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    imported = read_cohort(folder).cohort
    assert len(imported.treatments) == len(NULL.treatments)
    ours = emulate(imported, bootstrap=20).to_dict()
    theirs = emulate(NULL, bootstrap=20).to_dict()
    for key in ("strategies", "risk_difference", "risk_ratio", "n"):
        assert ours[key] == theirs[key]


@pytest.fixture(scope="module")
def generated() -> dah.Cohort:
    return dah.generate_cohort("seed-article", n_sle=12_000, seed=3)


def test_generated_cohort(generated: dah.Cohort) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fit = emulate(generated, treatment="plasmapheresis", grace_days=7, horizon_days=90,
                      bootstrap=50)  # fmt: skip
    ours = [str(r.message) for r in record if issubclass(r.category, dah.DahOutcomesWarning)]
    assert list(fit.warnings) == ours
    n_dah = int((generated.episodes["episode_number"] == 1).sum())
    assert fit.n + fit.n_dropped + fit.n_timing_unknown + fit.n_started_before_onset == n_dah
    assert 0 < fit.ccw.risk[0] < 1
    assert 0 < fit.ccw.risk[1] < 1
    assert fit.ccw.rd_ci_lower < fit.ccw.risk_difference < fit.ccw.rd_ci_upper


def test_generated_cyclophosphamide_names_the_positivity_failure(generated: dah.Cohort) -> None:
    """Infected patients are not given cyclophosphamide in the seed-article scenario: nobody
    like them follows "start within 2 days", which the emulation says."""
    with pytest.warns(PositivityWarning) as record:
        fit = emulate(generated, treatment="cyclophosphamide", grace_days=2, horizon_days=90,
                      bootstrap=0)  # fmt: skip
    said = [str(r.message) for r in record]
    assert any("positivity fails" in m and "infection" in m for m in said)
    assert set(said) <= set(fit.warnings)
    # the infected patients alive on day 3 are the ones below 0.01
    positivity = fit.to_dict()["positivity"]
    assert positivity["flagged"]
    low = {g["group"]: g["n_low"] for g in positivity["groups"]}
    assert low["cyclophosphamide within 2 days"] > 0
    assert low["no cyclophosphamide within 2 days"] == 0


# ---------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def null_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("emulate") / "null"
    save_cohort(NULL, path)
    return path


def test_cli_json(null_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["emulate", str(null_dir), "--treatment", "rituximab", "--grace-days", "3",
            "--horizon-days", "60", "--bootstrap", "20", "--seed", "4", "--json"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    d = json.loads(out)
    assert set(d) >= TOP_KEYS
    assert [set(s["risk"]) for s in d["strategies"]] == [INTERVAL, INTERVAL]
    assert set(d["risk_ratio"]) == INTERVAL
    assert d["protocol"]["grace_days"] == 3
    assert d["protocol"]["horizon_days"] == 60
    api = emulate(dah.load_cohort(null_dir), bootstrap=20, seed=4).to_dict()
    assert d == json.loads(json.dumps(api))
    assert main(args) == 0
    assert capsys.readouterr().out == out  # the same bytes every run


def test_cli_text(null_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["emulate", str(null_dir), "--treatment", "rituximab", "--grace-days", "3",
            "--horizon-days", "60", "--bootstrap", "0"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Eligibility criteria" in out
    assert "rituximab within 3 days vs not" in out
    assert "risk_difference" in out
    assert "positivity (probability of following the strategy" in out
    assert "no near-violation of positivity" in out


def test_cli_interval_and_day_interactions(
    null_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--interval normal and --no-day-interactions reach the estimator: the same numbers as
    the API with those options."""
    args = ["emulate", str(null_dir), "--treatment", "rituximab", "--grace-days", "3",
            "--horizon-days", "60", "--bootstrap", "20", "--seed", "4", "--json",
            "--interval", "normal", "--no-day-interactions"]  # fmt: skip
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["protocol"]["interval"] == "normal"
    assert d["protocol"]["day_interactions"] is False
    api = emulate(
        dah.load_cohort(null_dir), bootstrap=20, seed=4, interval="normal", day_interactions=False
    ).to_dict()
    assert d == json.loads(json.dumps(api))
    rd = d["risk_difference"]
    assert rd["ci_upper"] - rd["estimate"] == pytest.approx(1.959964 * rd["se"], rel=1e-6)
    with pytest.raises(SystemExit):
        main([*args[:-3], "--interval", "bca"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grace-days", "-1", "--horizon-days", "60"], "--grace-days: must be >= 0"),
        (["--grace-days", "3", "--horizon-days", "3"], "must be after the grace period"),
        (["--grace-days", "x", "--horizon-days", "60"], "expected a whole number"),
        (["--grace-days", "3", "--horizon-days", "60", "--bootstrap", "-5"], "--bootstrap"),
        (["--grace-days", "3", "--horizon-days", "60", "--conf-level", "95"], "(0, 1)"),
        (["--grace-days", "3"], "required: --horizon-days"),
        (["--grace-days", "3", "--horizon-days", "60", "--seed", "-1"], "--seed: must be >= 0"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_error_line(
    null_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["emulate", str(null_dir), "--treatment", "rituximab", *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert errors[0].startswith("dah-outcomes emulate: error:")
    assert message in errors[0]


def test_cli_unknown_treatment_and_missing_cohort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["emulate", str(tmp_path), "--treatment", "aspirin", "--grace-days", "1",
              "--horizon-days", "9"])  # fmt: skip
    assert exit_.value.code == 2
    assert "invalid choice: 'aspirin'" in capsys.readouterr().err
    code = main(["emulate", str(tmp_path / "nope"), "--treatment", "rituximab",
                 "--grace-days", "1", "--horizon-days", "9"])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.startswith("error:")
