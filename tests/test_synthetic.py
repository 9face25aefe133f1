"""Synthetic cohorts: calibration meets targets, same seed same bytes, known ground truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from dah_outcomes import (
    ArgumentError,
    CalibrationError,
    ScenarioError,
    available_scenarios,
    calibrate,
    generate_cohort,
    load_scenario,
    rates,
    save_cohort,
)


def test_shipped_scenarios() -> None:
    assert {"seed-article", "published-series"} <= set(available_scenarios())


@pytest.mark.parametrize("name", ["seed-article", "published-series"])
def test_calibration_meets_every_target(name: str) -> None:
    cal = calibrate(load_scenario(name))
    for target, value in cal.targets.items():
        assert cal.expected[target] == pytest.approx(value, abs=1e-9), target


def _digest(folder: Path) -> str:
    return hashlib.sha256(
        b"".join((folder / f).read_bytes() for f in ("patients.csv", "episodes.csv"))
    ).hexdigest()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = generate_cohort("seed-article", n_sle=3000, seed=11)
    b = generate_cohort("seed-article", n_sle=3000, seed=11)
    c = generate_cohort("seed-article", n_sle=3000, seed=12)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    save_cohort(a, tmp_path / "a")
    save_cohort(b, tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    g = generate_cohort("seed-article", n_sle=3000, seed=np.random.default_rng(11))
    assert g.fingerprint == a.fingerprint


def test_truth_and_provenance_are_stored() -> None:
    cohort = generate_cohort("seed-article", n_sle=2000, seed=5)
    truth = cohort.provenance["truth"]
    assert truth["death_hazard_ratios"]["plasmapheresis"] == 0.8
    assert truth["death_hazard_ratios"]["historical_era"] > 1
    assert cohort.provenance["seed"] == 5
    assert cohort.provenance["scenario"]["name"] == ("seed-article")


def test_confounding_by_indication_is_present() -> None:
    """Plasmapheresis goes to sicker patients: its crude mortality OR exceeds the truth."""
    cohort = generate_cohort("seed-article", n_sle=150_000, seed=3)
    e = cohort.episodes[cohort.episodes["episode_number"] == 1]
    modern = e["onset_date"] >= "2000-01-01"
    sub = e[modern]
    severe_plex = sub.loc[sub["plasmapheresis"], "severe"].mean()
    severe_none = sub.loc[~sub["plasmapheresis"], "severe"].mean()
    assert severe_plex > severe_none + 0.05


def test_published_series_scenario_mortality() -> None:
    cohort = generate_cohort("published-series", n_sle=300_000, seed=1)
    r = rates(cohort, by="era")
    hist = r.get("mortality", "historical")
    assert hist.ci_lower <= 0.60 <= hist.ci_upper


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentError, match="n_sle"):
        generate_cohort(n_sle=0)
    with pytest.raises(ArgumentError, match="seed"):
        generate_cohort(n_sle=10, seed=-1)
    with pytest.raises(ScenarioError, match="unknown scenario"):
        generate_cohort("no-such-scenario")


def test_scenario_problems_are_listed_together(tmp_path: Path) -> None:
    src = Path(__file__).parents[1] / "dah_outcomes/synthetic/scenarios/seed-article.toml"
    bad = (
        src.read_text()
        .replace("plasmapheresis = 0.57", "plasmapheresis = 1.7")
        .replace("[effects.rituximab]", "[effects.rituximab]\nshoe_size = 2.0")
    )
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "plasmapheresis = 1.7" in msg
    assert "shoe_size" in msg
    assert "2 problem(s)" in msg


def test_unreachable_target_is_a_clear_calibration_error(tmp_path: Path) -> None:
    src = Path(__file__).parents[1] / "dah_outcomes/synthetic/scenarios/seed-article.toml"
    # recurrence of 99.9% cannot happen when a fifth of patients die in their first episode
    path = tmp_path / "unreachable.toml"
    path.write_text(src.read_text().replace("recurrence = 0.29 ", "recurrence = 0.999 "))
    with pytest.raises(CalibrationError, match="cannot calibrate recurrence"):
        calibrate(load_scenario(path))
