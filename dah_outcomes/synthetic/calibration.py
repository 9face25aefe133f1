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
    dah_occurrence,
    death_linear_predictor,
    draw_dah_onset,
    draw_death_day,
    draw_episode_features,
    draw_population,
    recurrence_linear_predictor,
)
from dah_outcomes.synthetic.model import DAYS_PER_YEAR, baseline_cumhaz
from dah_outcomes.synthetic.scenario import Scenario

__all__ = ["CALIBRATION_N", "CALIBRATION_SEED", "Calibration", "calibrate"]

CALIBRATION_N = 1_000_000
CALIBRATION_SEED = 20_261_124
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
    log_lam = _root(
        lambda ll: dah_occurrence(p0, np.exp(ll), years).mean() - t["dah_incidence"],
        -20.0,
        5.0,
        "dah_incidence",
        t["dah_incidence"],
    )
    lam = float(np.exp(log_lam))
    params: dict[str, float] = {"dah_at_diagnosis": p0, "dah_hazard_per_year": lam}
    expected["dah_incidence"] = float(dah_occurrence(p0, lam, years).mean())
    has, first, onset = draw_dah_onset(p0, lam, pop, rng)
    expected["first_manifestation"] = p0 / expected["dah_incidence"]
    onset, first = onset[has], first[has]
    modern = onset >= int(sc.population["era_boundary"].astype(np.int64))

    def solve(model: str, lin: np.ndarray, _: Any) -> float:
        target = t[model]
        a = _root(lambda b: expit(b + lin).mean() - target, -40.0, 40.0, model, target)
        expected[model] = float(expit(a + lin).mean())
        return a

    intercepts: dict[str, float] = {}
    ep = draw_episode_features(sc, intercepts, modern, first, rng, solve)
    params.update(intercepts)

    # Death: in-hospital means death before the day after discharge (days are whole).
    hist = ~modern
    ref = ep.arm == sc.reference_arm
    if not ref.any() or not hist.any():
        raise CalibrationError(
            f"scenario {sc.name}: no index episode in the reference arm {sc.reference_arm!r} or "
            "in the historical era; check reference_arm, the treatment targets and the dates"
        )
    lin = death_linear_predictor(sc, ep)
    h_stay = baseline_cumhaz(ep.stay_days + 1.0, sc.death)

    def p_death(b0: float, bh: float) -> np.ndarray:
        return -np.expm1(-np.exp(b0 + bh * hist + lin) * h_stay)

    def b0_for(bh: float) -> float:
        return _root(
            lambda b0: p_death(b0, bh)[ref].mean() - t["mortality_reference_arm"],
            -40.0,
            20.0,
            "mortality_reference_arm",
            t["mortality_reference_arm"],
        )

    bh = _root(
        lambda bh: p_death(b0_for(bh), bh)[hist].mean() - t["mortality_historical_era"],
        -10.0,
        10.0,
        "mortality_historical_era",
        t["mortality_historical_era"],
    )
    params["death"], params["death_historical"] = b0_for(bh), bh
    p = p_death(params["death"], bh)
    expected["mortality_reference_arm"] = float(p[ref].mean())
    expected["mortality_historical_era"] = float(p[hist].mean())

    # Recurrence: the window from discharge to death or censoring, with death times drawn.
    death_day = draw_death_day(sc, params, ep, onset, rng)
    loss = pop.loss_day[has]
    fatal = death_day <= onset + ep.stay_days
    discharge = onset + ep.stay_days
    # a recurrence starts at least min_recurrence_gap_days after discharge, before the
    # earlier of death and loss to follow-up
    window = np.where(fatal, 0, np.maximum(np.minimum(death_day, loss) - discharge, 0))
    window = np.where(window >= sc.course["min_recurrence_gap_days"], window, 0)
    window = window / DAYS_PER_YEAR
    lin_r = recurrence_linear_predictor(sc, ep)

    def p_rec(lr: float) -> np.ndarray:
        return -np.expm1(-np.exp(lr + lin_r) * window)

    params["recurrence"] = _root(
        lambda lr: p_rec(lr).mean() - t["recurrence"], -20.0, 10.0, "recurrence", t["recurrence"]
    )
    expected["recurrence"] = float(p_rec(params["recurrence"]).mean())
    return Calibration(
        scenario=sc.name,
        parameters=params,
        targets=dict(t),
        expected=expected,
        n_sle=n,
        n_dah=int(has.sum()),
        seed=seed,
    )
