"""Ground truth of treatment strategies and standardised arm risks (issue 15, section 3).

The analytic truth of :mod:`dah_outcomes.synthetic.strategies` (means of model probabilities)
is checked against a direct simulation of the same definitions (drawn death times, rejection
sampling of the start days), a null effect gives a risk difference of exactly 0, and the
delay effect declared in ``seed-article`` acts as declared.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from dah_outcomes import ScenarioError, calibrate, generate_cohort, load_scenario
from dah_outcomes.endpoints.arms import DEFAULT_ARMS
from dah_outcomes.errors import ArgumentError
from dah_outcomes.synthetic.generator import course_log_hazard_ratios
from dah_outcomes.synthetic.model import (
    linear_predictor,
    logistic_probability,
    timed_cumhaz_inverse,
)
from dah_outcomes.synthetic.scenario import TREATMENTS
from dah_outcomes.synthetic.strategies import (
    ARM_INTERVENTIONS,
    standardized_risks_truth,
    strategy_truth,
)
from dah_outcomes.synthetic.truth import truth_population

KEYS = {
    "treatment",
    "grace_days",
    "horizon_days",
    "risk_treated",
    "risk_untreated",
    "risk_difference",
    "risk_ratio",
}


def _seed_text() -> str:
    return (
        resources.files("dah_outcomes.synthetic") / "scenarios" / "seed-article.toml"
    ).read_text()


@pytest.fixture(scope="module")
def seed_truth() -> dict:
    return generate_cohort("seed-article", n_sle=2000, seed=3).provenance["truth"]


def test_seed_article_declares_the_issue_strategies(seed_truth: dict) -> None:
    got = {
        (s["treatment"], s["grace_days"], s["horizon_days"]): s for s in seed_truth["strategies"]
    }
    assert {("cyclophosphamide", 2, 90), ("plasmapheresis", 7, 90)} <= set(got)
    for s in got.values():
        assert set(s) >= KEYS
        assert 0 < s["risk_treated"] < 1
        assert 0 < s["risk_untreated"] < 1
        assert s["risk_difference"] == s["risk_treated"] - s["risk_untreated"]
        assert s["risk_ratio"] == pytest.approx(s["risk_treated"] / s["risk_untreated"], rel=1e-15)
        # both treatments protect (declared HRs 0.6 and 0.8), so starting early helps
        assert s["risk_difference"] < -0.01
        assert s["risk_difference_mc_se"] < 0.001
    # infected patients start cyclophosphamide from day 3: no positivity within 2 days
    assert got[("cyclophosphamide", 2, 90)]["share_without_positivity"] == pytest.approx(
        0.30, abs=0.02
    )
    assert got[("plasmapheresis", 7, 90)]["share_without_positivity"] == 0.0


def test_null_treatment_has_risk_difference_exactly_zero() -> None:
    truth = generate_cohort("rescue-null", n_sle=2000, seed=1).provenance["truth"]
    rtx = next(s for s in truth["strategies"] if s["treatment"] == "rituximab")
    assert rtx["risk_difference"] == 0.0
    assert rtx["risk_ratio"] == 1.0
    assert rtx["risk_treated"] > 0.1


def test_null_with_a_delay_loss_is_exactly_zero(tmp_path: Path) -> None:
    # cyclophosphamide made ineffective: its effect loss per day must not create an effect
    text = _seed_text().replace("cyclophosphamide = 0.60", "cyclophosphamide = 1.0")
    path = tmp_path / "null-cyc.toml"
    path.write_text(text)
    sc = load_scenario(path)
    for grace in (0, 2, 7):
        s = strategy_truth(sc, "cyclophosphamide", grace_days=grace, horizon_days=90, n_sle=50_000)
        assert s["risk_difference"] == 0.0, grace


def _draw_start(rng, p, offset, mean, stay):
    """One draw of the natural start day of a course (inf: not planned or after discharge)."""
    intended = rng.random(len(p)) < p
    delay = rng.poisson(mean, len(p)) if mean > 0 else 0
    s = offset + delay
    return np.where(intended & (s <= stay), s, np.inf)


def _simulated_strategies(sc, treatment, grace, horizon, n_sle, reps, seed):
    """Risks under the two strategies by drawing, not by formula (rejection sampling)."""
    tp = truth_population(sc, n_sle, 98)
    ep, k = tp.episodes, TREATMENTS.index(treatment)
    timing = sc.timing[treatment]
    p = logistic_probability(
        tp.parameters[treatment],
        linear_predictor(sc.effects[treatment], ep.features, len(tp.scale)),
    )
    offset = timing["first_day"] + timing["infection_delay_days"] * ep.features["infection"]
    stay = ep.stay_days.astype(float)
    rng = np.random.default_rng(seed)
    c, h = grace + 1.0, horizon + 1.0

    def death(start, e):
        starts = ep.starts.copy()
        starts[:, k] = start
        return timed_cumhaz_inverse(
            e / tp.scale, starts, course_log_hazard_ratios(sc, starts), sc.death
        )

    def draw(accept):
        # rejection sampling: redraw until accept(start) holds for every patient
        s = _draw_start(rng, p, offset, timing["mean_delay_days"], stay)
        for _ in range(500):
            bad = ~accept(s)
            if not bad.any():
                break
            s[bad] = _draw_start(rng, p[bad], offset[bad], timing["mean_delay_days"], stay[bad])
        return s

    possible = offset <= np.minimum(grace, stay)
    treated, untreated = [], []
    for _ in range(reps):
        # not within G: planned starts on days <= G redrawn from the law
        s0 = draw(lambda s: ~(s <= grace))
        untreated.append(death(s0, rng.standard_exponential(len(p))) < h)
        # within G: the natural world to the end of the grace period, then starters' risk
        s_nat = _draw_start(rng, p, offset, timing["mean_delay_days"], stay)
        t_nat = death(s_nat, rng.standard_exponential(len(p)))
        follows = (t_nat < c) | (s_nat <= grace)
        t1 = t_nat.copy()
        todo = ~follows
        # no start within G possible: the course on day G, given survival to c
        fallback = todo & ~possible
        t1[fallback] = _conditional_on_alive(rng, death, np.full(len(p), float(grace)), c)[fallback]
        for _ in range(500):
            if not (todo & possible).any():
                break
            s_star = draw(lambda s: s <= grace)
            t_star = death(s_star, rng.standard_exponential(len(p)))
            ok = todo & possible & (t_star >= c)
            t1[ok] = t_star[ok]
            todo &= ~ok
        treated.append(t1 < h)
    return np.mean(treated, axis=0).mean(), np.mean(untreated, axis=0).mean(), len(p) * reps


def _conditional_on_alive(rng, death, start, c):
    """Death times with the course on ``start``, drawn given survival to ``c`` (rejection)."""
    t = death(start, rng.standard_exponential(len(start)))
    for _ in range(500):
        bad = t < c
        if not bad.any():
            break
        t[bad] = death(start, rng.standard_exponential(len(start)))[bad]
    return t


@pytest.mark.parametrize(("treatment", "grace"), [("plasmapheresis", 7), ("cyclophosphamide", 2)])
def test_analytic_truth_matches_a_direct_simulation(treatment: str, grace: int) -> None:
    sc = load_scenario("seed-article")
    n_sle = 60_000
    truth = strategy_truth(sc, treatment, grace_days=grace, horizon_days=90, n_sle=n_sle, seed=98)
    r1, r0, n = _simulated_strategies(sc, treatment, grace, 90, n_sle, reps=12, seed=5)
    for sim, exact in ((r1, truth["risk_treated"]), (r0, truth["risk_untreated"])):
        se = np.sqrt(exact * (1 - exact) / n)
        assert abs(sim - exact) < 4 * se, (sim, exact, se)


def test_standardized_risks_shape_and_order(seed_truth: dict) -> None:
    rows = seed_truth["standardized_risks"]
    assert set(ARM_INTERVENTIONS) <= set(DEFAULT_ARMS.names)
    assert {(r["arm"], r["horizon_days"]) for r in rows} == {
        (a, h) for a in ARM_INTERVENTIONS for h in (30, 90, "in_hospital")
    }
    risk = {(r["arm"], r["horizon_days"]): r["risk"] for r in rows}
    for h in (30, 90, "in_hospital"):
        # each added protective treatment lowers the risk (declared HRs below 1)
        assert risk[("MP+CYC+PLEX", h)] < risk[("MP+CYC", h)] < risk[("Steroids without CYC", h)]
    assert risk[("MP+CYC+PLEX", 30)] < risk[("MP+CYC+PLEX", 90)]
    era = seed_truth["standardized_risks_by_era"]
    for hist, mod in zip(era["historical"], era["modern"], strict=True):
        assert hist["arm"] == mod["arm"]
        assert hist["risk"] > 2 * mod["risk"]


def test_standardized_risk_matches_drawn_deaths() -> None:
    sc = load_scenario("seed-article")
    tp = truth_population(sc, 100_000, 98)
    ep = tp.episodes
    exact = standardized_risks_truth(sc, n_sle=100_000, seed=98)["all"]
    risk = {(r["arm"], r["horizon_days"]): r["risk"] for r in exact}
    starts = ep.starts.copy()
    for t in ARM_INTERVENTIONS["MP+CYC"][0]:
        starts[:, TREATMENTS.index(t)] = ep.potential_starts[:, TREATMENTS.index(t)]
    starts[:, TREATMENTS.index("plasmapheresis")] = np.inf
    rng = np.random.default_rng(0)
    reps = 20
    dead = np.mean(
        [
            timed_cumhaz_inverse(
                rng.standard_exponential(len(tp.scale)) / tp.scale,
                starts,
                course_log_hazard_ratios(sc, starts),
                sc.death,
            )
            < ep.stay_days + 1.0
            for _ in range(reps)
        ]
    )
    p = risk[("MP+CYC", "in_hospital")]
    assert abs(dead - p) < 4 * np.sqrt(p * (1 - p) / (reps * len(tp.scale)))


def test_delay_weakens_the_declared_effect() -> None:
    sc = load_scenario("seed-article")
    assert sc.timing["cyclophosphamide"]["effect_loss_per_day"] == 0.05
    k = TREATMENTS.index("cyclophosphamide")
    starts = np.full((4, len(TREATMENTS)), np.inf)
    starts[:, k] = [0.0, 4.0, 10.0, 30.0]
    log_hr = course_log_hazard_ratios(sc, starts)[:, k]
    assert np.exp(log_hr) == pytest.approx([0.6, 0.6**0.8, 0.6**0.5, 1.0], rel=1e-12)
    # a treatment without a declared loss keeps its ratio whatever the day
    j = TREATMENTS.index("plasmapheresis")
    starts[:, j] = [0.0, 4.0, 10.0, 30.0]
    assert np.exp(course_log_hazard_ratios(sc, starts)[:, j]) == pytest.approx([0.8] * 4)


def test_delay_has_a_true_answer(tmp_path: Path) -> None:
    """Without the declared loss the early-start benefit of cyclophosphamide is smaller."""
    sc = load_scenario("seed-article")
    path = tmp_path / "no-loss.toml"
    path.write_text(_seed_text().replace("effect_loss_per_day = 0.05", "effect_loss_per_day = 0"))
    flat = load_scenario(path)
    with_loss = strategy_truth(sc, "cyclophosphamide", grace_days=2, horizon_days=90, n_sle=50_000)
    no_loss = strategy_truth(flat, "cyclophosphamide", grace_days=2, horizon_days=90, n_sle=50_000)
    assert with_loss["risk_difference"] < no_loss["risk_difference"] < 0


def test_rescue_null_calibration_is_exact() -> None:
    cal = calibrate(load_scenario("rescue-null"))
    for target, value in cal.targets.items():
        assert cal.expected[target] == pytest.approx(value, abs=1e-9), target


def test_strategy_problems_are_listed(tmp_path: Path) -> None:
    text = _seed_text() + (
        '\n[[strategies]]\ntreatment = "aspirin"\ngrace_days = -1\nhorizon_days = 2.5\n'
    )
    text = text.replace("effect_loss_per_day = 0.05", "effect_loss_per_day = 2")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    for part in ("aspirin", "grace_days", "horizon_days", "effect_loss_per_day = 2"):
        assert part in msg, part


def test_bad_arguments() -> None:
    sc = load_scenario("seed-article")
    with pytest.raises(ArgumentError, match="treatment must be one of"):
        strategy_truth(sc, "aspirin", grace_days=2, horizon_days=90)
    with pytest.raises(ArgumentError, match="grace_days"):
        strategy_truth(sc, "rituximab", grace_days=-1, horizon_days=90)
    with pytest.raises(ArgumentError, match="shorter than"):
        strategy_truth(sc, "rituximab", grace_days=30, horizon_days=7)


def test_adjustment_set_estimand_is_near_the_full_truth() -> None:
    """Pooling the starters by the default adjustment set alone barely moves the truth."""
    sc = load_scenario("seed-article")
    features = ("severe", "infection", "mechanical_ventilation", "modern_era")
    full = strategy_truth(sc, "plasmapheresis", grace_days=7, horizon_days=90, n_sle=100_000)
    pooled = strategy_truth(
        sc, "plasmapheresis", grace_days=7, horizon_days=90, n_sle=100_000, adjust_for=features
    )
    assert pooled["adjusted_for"] == list(features)
    assert pooled["risk_untreated"] == full["risk_untreated"]
    assert pooled["risk_treated"] != full["risk_treated"]
    assert abs(pooled["risk_difference"] - full["risk_difference"]) < 0.002
    with pytest.raises(ArgumentError, match="unknown episode features"):
        strategy_truth(sc, "plasmapheresis", grace_days=7, horizon_days=90, adjust_for=["shoe"])
