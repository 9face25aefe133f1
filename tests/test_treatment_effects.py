"""Treatment timing: starts, timelines, and a rescue therapy with no effect at all, which an
ever vs never comparison finds protective (immortal time) and the landmark and time-varying
analyses do not."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import dah_outcomes as dah
from dah_outcomes.analyses.treatment_effects import treatment_effect
from dah_outcomes.cli import main
from dah_outcomes.endpoints.timelines import treatment_starts, treatment_timeline
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning, ImmortalTimeWarning
from dah_outcomes.io import save_cohort

ONSET = pd.Timestamp("2010-01-01")


def _tables(
    death_day: np.ndarray,
    followup_days: np.ndarray,
    rescue_day: np.ndarray,
    severe: np.ndarray,
    *,
    flag_only: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Patients with DAH on ONSET, dying on ``death_day`` (NaN: alive at the end of
    follow-up on ``followup_days``), given rituximab on ``rescue_day`` (NaN: never); with
    ``flag_only`` true the flag is kept but the course's date is not recorded."""
    n = len(death_day)
    ids = [f"P{i:04d}" for i in range(n)]
    died = ~np.isnan(death_day)
    end_day = np.where(died, death_day, followup_days)
    to_date = lambda days: [ONSET + pd.Timedelta(days=int(d)) for d in days]  # noqa: E731
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": "F",
            "followup_start": ONSET - pd.Timedelta(days=365),
            "followup_end": to_date(end_day),
            "death_date": [
                ONSET + pd.Timedelta(days=int(d)) if ok else None
                for d, ok in zip(end_day, died, strict=True)
            ],
        }
    )
    treated = ~np.isnan(rescue_day)
    episodes = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_number": 1,
            "onset_date": ONSET,
            "discharge_date": to_date(end_day),
            "severe": severe.astype(bool),
            "infection": False,
            "mechanical_ventilation": False,
            "rituximab": treated,
            "in_hospital_death": died,
        }
    )
    keep = treated if flag_only is None else treated & ~flag_only
    treatments = pd.DataFrame(
        {
            "patient_id": np.array(ids)[keep],
            "episode_number": 1,
            "treatment": "rituximab",
            "start_date": to_date(rescue_day[keep]),
        }
    )
    return patients, episodes, treatments


def _null_rescue(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A rescue therapy with hazard ratio 1, started on day 1 + Poisson(3) in half of the
    patients still alive then; severe patients die faster and are rescued more often."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.4
    hazard = 0.02 * np.where(severe, 2.0, 1.0)  # per day
    death = np.floor(rng.exponential(1 / hazard))
    follow = np.full(n, 180.0)
    death = np.where(death <= follow, death, np.nan)
    start = 1 + rng.poisson(3, n).astype(float)
    alive = np.isnan(death) | (death >= start)
    rescued = alive & (rng.random(n) < np.where(severe, 0.7, 0.4))
    return _tables(death, follow, np.where(rescued, start, np.nan), severe)


_P, _E, _T = _null_rescue(4000, seed=11)
NULL = dah.Cohort(_P, _E, treatments=_T)


def test_starts_and_timing_states() -> None:
    death = np.array([3.0, np.nan, 0.0, np.nan, 10.0])
    rescue = np.array([2.0, 0.0, np.nan, np.nan, 5.0])
    p, e, t = _tables(
        death, np.full(5, 30.0), rescue, np.zeros(5), flag_only=np.array([0, 0, 0, 0, 1], bool)
    )
    e["rituximab"] = e["rituximab"].astype("boolean")
    e.loc[3, "rituximab"] = pd.NA  # not recorded
    cohort = dah.Cohort(p, e, treatments=t)
    s = treatment_starts(cohort, "rituximab").set_index("patient_id")
    assert s["timing"].tolist() == ["known", "known", "untreated", "missing", "unknown"]
    assert s["start_day"].tolist()[:2] == [2.0, 0.0]
    assert np.isnan(s["start_day"].iloc[2])


def test_timeline_switches_on_at_the_start_day() -> None:
    death = np.array([3.0, np.nan, 0.0, 7.0])
    rescue = np.array([2.0, 0.0, np.nan, 9.0])  # the last starts after death: never treated
    p, e, t = _tables(death, np.full(4, 30.0), rescue, np.zeros(4))
    t = t[t["patient_id"] != "P0003"]
    e.loc[3, "rituximab"] = False
    rows = treatment_timeline(treatment_starts(dah.Cohort(p, e, treatments=t), "rituximab"))
    got = rows[["patient_id", "start", "stop", "treated", "event"]].values.tolist()
    assert got == [
        ["P0000", 0.0, 2.0, 0, 0],
        ["P0000", 2.0, 3.5, 1, 1],
        ["P0001", 0.0, 30.5, 1, 0],
        ["P0002", 0.0, 0.5, 0, 1],
        ["P0003", 0.0, 7.5, 0, 1],
    ]


def test_naive_comparison_is_biased_and_says_so() -> None:
    with pytest.warns(ImmortalTimeWarning, match="immortal-time bias") as record:
        naive = treatment_effect(NULL, "rituximab", method="naive", adjust_for=["severe"])
    assert naive.hazard_ratio < 0.8
    assert naive.ci_upper < 1
    assert naive.warnings
    assert "started after DAH onset" in naive.warnings[0]
    assert str(record[0].message) == naive.warnings[0]


@pytest.mark.parametrize(("method", "days"), [("time-varying", None), ("landmark", 7)])
def test_landmark_and_time_varying_recover_the_null(method: str, days: int | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no immortal-time warning, nor any other
        fit = treatment_effect(
            NULL, "rituximab", method=method, landmark_days=days, adjust_for=["severe"]
        )
    assert fit.ci_lower < 1 < fit.ci_upper, fit
    assert 0.8 < fit.hazard_ratio < 1.25
    assert fit.warnings == ()
    assert fit.adjusted_for == ("severe",)


def test_no_warning_when_every_course_starts_at_onset() -> None:
    rng = np.random.default_rng(5)
    n = 600
    severe = rng.random(n) < 0.5
    death = np.floor(rng.exponential(30, n))
    death = np.where(death <= 90, death, np.nan)
    rescue = np.where(rng.random(n) < 0.5, 0.0, np.nan)
    p, e, t = _tables(death, np.full(n, 90.0), rescue, severe)
    cohort = dah.Cohort(p, e, treatments=t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = treatment_effect(cohort, "rituximab", method="naive", adjust_for=[])
    assert fit.warnings == ()


def test_courses_without_a_date_are_counted_and_announced() -> None:
    n = 400
    rng = np.random.default_rng(2)
    death = np.where(rng.random(n) < 0.5, np.floor(rng.exponential(20, n)), np.nan)
    rescue = np.where(rng.random(n) < 0.5, 1.0, np.nan)
    rescue = np.where(~np.isnan(death) & (death < 1), np.nan, rescue)
    undated = rng.random(n) < 0.1
    p, e, t = _tables(death, np.full(n, 60.0), rescue, np.zeros(n), flag_only=undated)
    cohort = dah.Cohort(p, e, treatments=t)
    n_unknown = int((undated & ~np.isnan(rescue)).sum())
    with pytest.warns(DroppedRowsWarning, match=f"{n_unknown} patients treated with rituximab"):
        fit = treatment_effect(cohort, "rituximab", adjust_for=[])
    assert fit.n_timing_unknown == n_unknown
    assert fit.n == n - n_unknown
    with pytest.warns(ImmortalTimeWarning, match=f"{n_unknown} have no start date"):
        treatment_effect(cohort, "rituximab", method="naive", adjust_for=[])


def test_arguments_are_checked() -> None:
    with pytest.raises(ArgumentError, match="treatment must be one of"):
        treatment_effect(NULL, "aspirin")
    with pytest.raises(ArgumentError, match="method must be one of"):
        treatment_effect(NULL, "rituximab", method="g-formula")
    with pytest.raises(ArgumentError, match="needs landmark_days"):
        treatment_effect(NULL, "rituximab", method="landmark")
    with pytest.raises(ArgumentError, match="landmark_days goes with"):
        treatment_effect(NULL, "rituximab", landmark_days=7)


def test_cli_json(tmp_path, capsys) -> None:
    save_cohort(NULL, tmp_path / "c")
    args = ["treatment-effect", str(tmp_path / "c"), "--treatment", "rituximab", "--json"]
    assert main([*args, "--method", "time-varying"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["hazard_ratio"]) == {"estimate", "ci_lower", "ci_upper"}
    assert d["treatment"] == "rituximab"
    assert d["method"] == "time-varying"
    assert d["warnings"] == []
    assert d["n"] == NULL.n_dah_patients
    with warnings.catch_warnings():
        # the tests make our warnings errors; here the CLI's own display is under test
        warnings.simplefilter("always", ImmortalTimeWarning)
        assert main([*args, "--method", "naive"]) == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert any("immortal-time" in w for w in d["warnings"])
    # one plain line, no file name or traceback
    assert out.err.startswith("warning: naive hazard ratio of rituximab: of ")
    assert out.err == f"warning: {d['warnings'][0]}\n"
    assert "Traceback" not in out.err
    assert main([*args, "--method", "landmark"]) == 1
    assert "needs landmark_days" in capsys.readouterr().err
