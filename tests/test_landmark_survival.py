"""Landmark analysis of survival by arm (``survival_by_group(..., landmark_days=D)``,
``dah-outcomes survival --landmark-days D``): who is in it, their arm by day D, time from D;
and a rescue therapy with no effect, which the ever/never curves find protective and the
landmark curves do not."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from treated_cohorts import ARM_TREATMENTS, with_courses

import dah_outcomes as dah
from dah_outcomes.cli import main
from dah_outcomes.endpoints.arms import assign_arms
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import (
    DroppedRowsWarning,
    ImmortalTimeWarning,
    UninformativeIntervalWarning,
)
from dah_outcomes.io import save_cohort
from dah_outcomes.stats.nonparametric import kaplan_meier

DAY = 7


@pytest.fixture(scope="module")
def late() -> dah.Cohort:
    base = dah.generate_cohort("seed-article", n_sle=20_000, seed=3)
    return with_courses(
        base, {**dict.fromkeys(ARM_TREATMENTS, 0), "plasmapheresis": (0, 14)}, seed=2
    )


def _by_hand(cohort: dah.Cohort, day: int) -> pd.DataFrame:
    """The landmark frame rebuilt from the tables: index episodes, first course per treatment,
    arm rules applied to 'started by day' flags."""
    frame = death_frame(cohort)
    onset = frame.set_index("patient_id")["onset_date"]
    t = cohort.treatments
    t = t[t["episode_number"] == 1]
    first = t.groupby(["patient_id", "treatment"], observed=True)["start_date"].min().unstack()
    flags = pd.DataFrame(index=frame["patient_id"])
    index = cohort.episodes[cohort.episodes["episode_number"] == 1].set_index("patient_id")
    for treatment in ARM_TREATMENTS:
        started = first[treatment].reindex(flags.index) if treatment in first else None
        days = (started - onset.reindex(flags.index)).dt.days
        given = index[treatment].reindex(flags.index).astype("boolean")
        flags[treatment] = (days <= day).fillna(False) & given.fillna(False)
    frame = frame.assign(arm=assign_arms(flags.reset_index(drop=True)).to_numpy())
    alive = frame[frame["time"] >= day]
    return alive.assign(time=alive["time"] - day)


def test_landmark_curves_are_km_of_the_patients_alive_at_the_landmark(late) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the landmark is the remedy: no immortal-time warning
        result = dah.survival_by_group(late, "arm", landmark_days=DAY)
    assert result.warnings == ()
    assert result.landmark_days == DAY
    assert result.n_timing_unknown == 0
    hand = _by_hand(late, DAY)
    direct = kaplan_meier(hand, time="time", event="event", group="arm")
    assert sorted(result.km.groups) == sorted(direct.groups)
    for g in direct.groups:
        ours, theirs = result.km.curve(g), direct.curve(g)
        np.testing.assert_array_equal(ours.time, theirs.time)
        np.testing.assert_array_equal(ours.survival, theirs.survival)
    counts = result.medians.set_index("group")["n"]
    assert int(counts.sum()) == len(hand) < late.n_dah_patients
    # patients whose plasmapheresis started after the landmark are in the arm without it
    frame = dah.patient_outcomes(late)
    assert (
        hand["arm"] != frame.set_index("patient_id").loc[hand["patient_id"], "arm"].values
    ).any()
    d = result.to_dict()
    assert d["landmark_days"] == DAY
    assert d["time_unit"] == "days since the landmark"
    assert "treatment received by day 7" in d["definition"]


def test_landmark_by_era_keeps_everyone_alive_then(late) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # no historical patient alive at day 30 dies in the next 30 days here: that zero-width
        # interval is rightly announced, and is not what this test is about
        warnings.simplefilter("ignore", UninformativeIntervalWarning)
        result = dah.survival_by_group(late, "era", landmark_days=30)
    alive = death_frame(late)["time"] >= 30
    assert int(result.medians["n"].sum()) == int(alive.sum())


def test_undated_treatments_are_left_out_and_counted() -> None:
    cohort = dah.generate_cohort("seed-article", n_sle=20_000, seed=3)  # flags, no courses
    half = with_courses(cohort, dict.fromkeys(ARM_TREATMENTS, 0), undated=0.3, seed=1)
    hand = _by_hand(half, DAY)
    with pytest.warns(DroppedRowsWarning, match="left out .*counted in n_timing_unknown"):
        result = dah.survival_by_group(half, "arm", landmark_days=DAY)
    assert result.n_timing_unknown > 0
    assert int(result.medians["n"].sum()) + result.n_timing_unknown == len(hand)
    assert result.warnings
    assert "no start date" in result.warnings[0]


def test_a_null_rescue_looks_protective_ever_vs_never_and_not_at_the_landmark() -> None:
    """Rituximab with no effect, started on day 1 + Poisson(3) in half the survivors."""
    rng = np.random.default_rng(11)
    cohort = dah.generate_cohort("seed-article", n_sle=60_000, seed=9)
    frame = death_frame(cohort)
    start = 1 + rng.poisson(3, len(frame))
    alive = frame["time"].to_numpy() >= start
    rescued = alive & (rng.random(len(frame)) < 0.5)
    e = cohort.episodes
    first = e["episode_number"] == 1
    flag = pd.Series(rescued, index=frame["patient_id"])
    e = e.assign(rituximab=np.where(first, flag.reindex(e["patient_id"]).to_numpy(), False))
    ids = frame["patient_id"].to_numpy()[rescued]
    onset = frame["onset_date"].to_numpy()[rescued]
    courses = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_number": 1,
            "treatment": "rituximab",
            "start_date": onset + pd.to_timedelta(start[rescued], unit="D"),
        }
    )
    discharge = e[first].set_index("patient_id")["discharge_date"]
    courses = courses[courses["start_date"].to_numpy() <= discharge.reindex(ids).to_numpy()]
    e.loc[first & ~e["patient_id"].isin(courses["patient_id"]), "rituximab"] = False
    null = dah.Cohort(cohort.patients, e, design=cohort.design, treatments=courses)
    rtx = dah.ArmDefinition(arms=(dah.Arm("rituximab", all_of=("rituximab",)),), otherwise="none")
    with pytest.warns(ImmortalTimeWarning):
        naive = dah.survival_by_group(null, "arm", arms=rtx)
    assert naive.logrank is not None
    assert naive.logrank.p_value < 1e-6  # the immortal days look like a benefit
    landmark = dah.survival_by_group(null, "arm", arms=rtx, landmark_days=10)
    assert landmark.logrank is not None
    assert landmark.logrank.p_value > 0.01, landmark.logrank


def test_cli_landmark(late, tmp_path: Path, capsys) -> None:
    save_cohort(late, tmp_path / "c")
    args = ["survival", str(tmp_path / "c"), "--landmark-days", str(DAY)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main([*args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["landmark_days"] == DAY
    assert d["warnings"] == []
    direct = dah.survival_by_group(late, "arm", landmark_days=DAY).to_dict()
    assert d["groups"] == json.loads(json.dumps(direct["groups"]))
    assert main(args) == 0
    assert "Landmark analysis at day 7" in capsys.readouterr().out
    assert main([*args, "--endpoint", "recurrence"]) == 1
    assert "--landmark-days goes with --endpoint death" in capsys.readouterr().err
    assert main([*args[:2], "--landmark-days", "-1"]) == 1
    assert "landmark_days must be a whole number" in capsys.readouterr().err
