"""Solving a scenario's intercepts so that its targets hold in expectation.

Each target is met by one intercept, solved in model order on a large, fixed calibration sample
(``CALIBRATION_N`` SLE patients drawn with ``CALIBRATION_SEED``), as the *mean of model
probabilities* rather than of draws, so the equations are smooth and the solution is exact for
that sample. The calibration depends only on the scenario, never on the seed or size of the
cohort later generated: the solved parameters are properties of the scenario, stored with every
cohort as part of its ground truth.

Two targets on death (the reference arm's and the historical era's in-hospital mortality) are
met jointly by the death model's intercept and its historical-era log hazard ratio (nested
root-finding); every declared effect is kept as declared.

Treatments are given only to patients alive (and in hospital) on the day their course starts,
so a treatment's target is the share of index episodes that *received* it, and the reference
arm's mortality is that of the patients who received the arm's treatments. Both depend on the
death model, which depends on who was treated: the intercepts are solved by fixed-point
iteration (intended-use targets raised by the share of intended courses not given, then death
re-solved), which converges in a few rounds because early deaths change the shares little.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from dah_outcomes.errors import CalibrationError
from dah_outcomes.results import ResultMixin
from dah_outcomes.synthetic.generator import (
    IndexEpisodes,
    apply_timing,
    course_log_hazard_ratios,
    dah_occurrence,
    death_linear_predictor,
    draw_dah_onset,
    draw_death_time,
    draw_episode_features,
    draw_population,
    recurrence_linear_predictor,
)
from dah_outcomes.synthetic.model import DAYS_PER_YEAR, linear_predictor, timed_cumhaz
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario

__all__ = ["CALIBRATION_N", "CALIBRATION_SEED", "Calibration", "calibrate"]

CALIBRATION_N = 1_000_000
CALIBRATION_SEED = 20_261_124
#: Most rounds of the fixed-point iteration between treatment use and death (see the module),
#: and the largest gap between a treatment's target and its expected use that ends it.
FIXED_POINT_ROUNDS = 12
FIXED_POINT_TOL = 1e-11
_CACHE: dict[tuple[str, int, int], Calibration] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration(ResultMixin):
    """Solved parameters of a scenario and the expected rates they give.

    Attributes
    ----------
    scenario : str
        Scenario name.
    parameters : dict of str to float
        ``dah_at_diagnosis`` (probability), ``dah_hazard_per_year``, the logistic intercepts of
        nephritis, ventilation and each treatment, the death model's intercept (``death``) and
        historical-era log hazard ratio (``death_historical``), and the log recurrence rate
        per year (``recurrence``).
    targets, expected : dict of str to float
        Each target and the expectation achieved on the calibration sample.
    n_sle, n_dah, seed : int
        Size of the calibration sample and its seed.
    """

    scenario: str
    parameters: dict[str, float]
    targets: dict[str, float] = field(repr=False)
    expected: dict[str, float] = field(repr=False)
    n_sle: int
    n_dah: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """One row per target: declared value and calibrated expectation."""
        return pd.DataFrame(
            {
                "target": list(self.targets),
                "declared": list(self.targets.values()),
                "expected": [self.expected[k] for k in self.targets],
            }
        )


def _root(f: Callable[[float], float], lo: float, hi: float, what: str, target: float) -> float:
    f_lo, f_hi = f(lo), f(hi)
    if np.sign(f_lo) == np.sign(f_hi):
        raise CalibrationError(
            f"cannot calibrate {what} to {target:.4g}: reachable expectations run from "
            f"{f_lo + target:.4g} to {f_hi + target:.4g} under the declared effects; change the "
            "target or the effects in the scenario"
        )
    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def calibrate(
    sc: Scenario,
    *,
    n: int = CALIBRATION_N,
    seed: int = CALIBRATION_SEED,
) -> Calibration:
    """Solve the intercepts of ``sc`` (cached per scenario text, ``n`` and ``seed``).

    Parameters
    ----------
    sc : Scenario
        The scenario whose targets are to hold in expectation.
    n : int
        Size of the fixed calibration sample.
    seed : int
        Seed of the calibration sample.

    Returns
    -------
    Calibration
        The solved intercepts and the targets they reach.

    Raises
    ------
    CalibrationError
        If a target cannot be reached under the declared effects.
    """
    key = (sc.digest, n, seed)
    if key not in _CACHE:
        _CACHE[key] = _calibrate(sc, n, seed)
    return _CACHE[key]


def _calibrate(sc: Scenario, n: int, seed: int) -> Calibration:
    t = sc.targets
    rng = np.random.default_rng(seed)
    pop = draw_population(sc, n, rng)
    years = pop.followup_years
    expected: dict[str, float] = {}

    # DAH occurrence: p0 follows from the two targets; the later-onset hazard is solved.
    p0 = t["first_manifestation"] * t["dah_incidence"]
    shape = sc.onset_shape
    log_lam = _root(
        lambda ll: dah_occurrence(p0, np.exp(ll), years, shape).mean() - t["dah_incidence"],
        -20.0,
        5.0,
        "dah_incidence",
        t["dah_incidence"],
    )
    lam = float(np.exp(log_lam))
    params: dict[str, float] = {"dah_at_diagnosis": p0, "dah_hazard_per_year": lam}
    expected["dah_incidence"] = float(dah_occurrence(p0, lam, years, shape).mean())
    has, first, onset = draw_dah_onset(p0, lam, pop, rng, shape)
    expected["first_manifestation"] = p0 / expected["dah_incidence"]
    age = pop.age[has] + (onset[has] - pop.diagnosis_day[has]) / DAYS_PER_YEAR
    site, onset, first = pop.site[has], onset[has], first[has]
    state = rng.bit_generator.state  # every round redraws the same episodes

    shares = dict.fromkeys(TREATMENTS, 1.0)
    for _ in range(FIXED_POINT_ROUNDS):
        rng.bit_generator.state = state
        intercepts: dict[str, float] = {}

        def solve(model: str, lin: np.ndarray, _: Any) -> float:
            # intended use = received target / share of intended courses given
            target = t[model] / shares.get(model, 1.0)
            a = _root(lambda b: expit(b + lin).mean() - target, -40.0, 40.0, model, target)
            expected[model] = float(expit(a + lin).mean())
            return a

        ep = draw_episode_features(
            sc, intercepts, onset, first, rng, solve, age_at_onset=age, site=site
        )
        params.update(intercepts)
        survival = _solve_death(sc, ep, params, expected)
        for k, name in enumerate(TREATMENTS):
            # P(received) = P(intended) * P(in hospital and alive on the start day)
            p_int = expit(intercepts[name] + _treatment_lin(sc, ep, name))
            given = survival(ep.potential_starts[:, k])
            expected[name] = float((p_int * given).mean())
            shares[name] = float((p_int * given).mean() / p_int.mean())
        if max(abs(expected[x] - t[x]) for x in TREATMENTS) < FIXED_POINT_TOL:
            break
    else:
        raise CalibrationError(
            f"scenario {sc.name}: treatment use and death did not settle in "
            f"{FIXED_POINT_ROUNDS} rounds; courses starting so late that few patients live to "
            "receive them make the targets unreachable: lower the target or the delay"
        )

    params["recurrence"], expected["recurrence"] = _solve_recurrence(
        sc, ep, params, pop.loss_day[has] - onset, rng
    )
    return Calibration(
        scenario=sc.name,
        parameters=params,
        targets=dict(t),
        expected=expected,
        n_sle=n,
        n_dah=int(has.sum()),
        seed=seed,
    )


def _treatment_lin(sc: Scenario, ep: IndexEpisodes, model: str) -> np.ndarray:
    return linear_predictor(sc.effects[model], ep.features, len(ep.arm))


def _solve_recurrence(
    sc: Scenario,
    ep: IndexEpisodes,
    params: dict[str, float],
    censor: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """The log recurrence rate per year, and the recurrence share it gives.

    The window runs from discharge to death or censoring, with death times drawn and the
    treatments as received; a recurrence starts at least ``min_recurrence_gap_days`` after
    discharge.
    """
    death_time = draw_death_time(sc, params, ep, rng)
    received = apply_timing(ep, death_time)
    death_day = np.floor(death_time)
    fatal = death_day <= ep.stay_days
    window = np.where(fatal, 0, np.maximum(np.minimum(death_day, censor) - ep.stay_days, 0))
    window = np.where(window >= sc.course["min_recurrence_gap_days"], window, 0) / DAYS_PER_YEAR
    lin_r = recurrence_linear_predictor(sc, received)

    def p_rec(lr: float) -> np.ndarray:
        return -np.expm1(-np.exp(lr + lin_r) * window)

    t = sc.targets["recurrence"]
    lr = _root(lambda lr: p_rec(lr).mean() - t, -20.0, 10.0, "recurrence", t)
    return lr, float(p_rec(lr).mean())


def _solve_death(
    sc: Scenario, ep: IndexEpisodes, params: dict[str, float], expected: dict[str, float]
) -> Callable[[np.ndarray], np.ndarray]:
    """Solve the death intercept and calendar effect; return P(alive at day s) per episode.

    In-hospital death is death before the day after discharge (days are whole). The cumulative
    hazard factors as ``exp(eta) * G(t)`` with ``G`` fixed by the start days, so the
    expectations are smooth in both parameters.
    """
    t = sc.targets
    hist_w = ep.features["historical_weight"]
    hist = ep.features["modern_era"] == 0
    ref_k = [
        TREATMENTS.index(x)
        for x in ("methylprednisolone_pulse", "cyclophosphamide", "plasmapheresis")
    ]
    ref = ep.arm == sc.reference_arm
    if not ref.any() or not hist.any():
        raise CalibrationError(
            f"scenario {sc.name}: no index episode in the reference arm {sc.reference_arm!r} or "
            "in the historical era; check reference_arm, the treatment targets and the dates"
        )
    lin = death_linear_predictor(sc, ep)
    log_hr = course_log_hazard_ratios(sc, ep.starts)
    g_stay = timed_cumhaz(ep.stay_days + 1.0, ep.starts, log_hr, sc.death)
    # the reference arm as received: every one of its treatments given (alive at the last start)
    g_ref = timed_cumhaz(ep.starts[:, ref_k].max(axis=1), ep.starts, log_hr, sc.death)
    ref = ref & np.isfinite(ep.starts[:, ref_k].max(axis=1))

    def risk(b0: float, bh: float) -> np.ndarray:
        return np.exp(b0 + bh * hist_w + lin)

    def ref_mortality(b0: float, bh: float) -> float:
        r = risk(b0, bh)[ref]
        alive = np.exp(-r * g_ref[ref])
        return float((alive - np.exp(-r * g_stay[ref])).sum() / alive.sum())

    def b0_for(bh: float) -> float:
        return _root(
            lambda b0: ref_mortality(b0, bh) - t["mortality_reference_arm"],
            -40.0,
            20.0,
            "mortality_reference_arm",
            t["mortality_reference_arm"],
        )

    def hist_mortality(bh: float) -> float:
        return float(-np.expm1(-risk(b0_for(bh), bh) * g_stay)[hist].mean())

    bh = _root(
        lambda bh: hist_mortality(bh) - t["mortality_historical_era"],
        -10.0,
        10.0,
        "mortality_historical_era",
        t["mortality_historical_era"],
    )
    params["death"], params["death_historical"] = b0_for(bh), bh
    expected["mortality_reference_arm"] = ref_mortality(params["death"], bh)
    expected["mortality_historical_era"] = hist_mortality(bh)
    r_all = risk(params["death"], bh)

    def survival(s: np.ndarray) -> np.ndarray:
        g = timed_cumhaz(np.where(np.isfinite(s), s, 0.0), ep.starts, log_hr, sc.death)
        return np.where(np.isfinite(s), np.exp(-r_all * g), 0.0)

    return survival
