"""Ground truth of a scenario that is not a declared number: the marginal hazard ratio.

A scenario declares *conditional* hazard ratios of death (given the other covariates), each
acting from the day its treatment starts. An inverse-probability-weighted or unadjusted model
estimates the *marginal* hazard ratio, which differs from the conditional one because hazard
ratios are not collapsible. This module computes that marginal truth by simulating both
potential outcomes of every patient of a large sample with the same random numbers: "treated"
(the course starts on the patient's own start day) and "never treated", and fitting the hazard
ratio of the treated world against the untreated one among the patients alive and in hospital
on their start day, from that day (the same patients in both worlds, so a treatment with no
effect gives exactly 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.synthetic.calibration import calibrate
from dah_outcomes.synthetic.generator import (
    IndexEpisodes,
    course_log_hazard_ratios,
    death_log_hazard,
    draw_dah_onset,
    draw_episode_features,
    draw_population,
)
from dah_outcomes.synthetic.model import DAYS_PER_YEAR, timed_cumhaz_inverse
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario

__all__ = [
    "TruthPopulation",
    "marginal_hazard_ratio",
    "treatment_effects_truth",
    "truth_population",
]

#: SLE patients simulated for the truth stored with every cohort (cached per scenario).
TRUTH_N_SLE = 200_000
TRUTH_SEED = 99
_CACHE: dict[tuple[str, int, int], dict[str, dict[str, float]]] = {}


def marginal_hazard_ratio(
    sc: Scenario, treatment: str = "plasmapheresis", *, n_sle: int = 2_000_000, seed: int = 99
) -> float:
    """The marginal hazard ratio of death for ``treatment`` under ``sc``.

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.
    treatment : str
        One of the modelled treatments.
    n_sle : int
        SLE patients simulated (about ``incidence * n_sle`` DAH patients, each in both arms).
    seed : int
        Seed of the simulation.

    Returns
    -------
    float
        exp(beta) of a Cox model of death on the world (treated vs never treated), from each
        patient's start day, fitted to the two potential-outcome cohorts stacked (ties by
        Efron).
    """
    if treatment not in TREATMENTS:
        raise ArgumentError(f"treatment must be one of {list(TREATMENTS)}, got {treatment!r}")
    return _marginal(sc, (treatment,), n_sle, seed)[treatment]


def treatment_effects_truth(sc: Scenario) -> dict[str, dict[str, float]]:
    """Per treatment, the declared conditional and the simulated marginal hazard ratio.

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.

    Returns
    -------
    dict of str to dict
        ``{treatment: {"hazard_ratio": declared, "marginal_hazard_ratio": simulated}}`` for
        every modelled treatment (``TRUTH_N_SLE`` SLE patients, seed ``TRUTH_SEED``; cached).
    """
    key = (sc.digest, TRUTH_N_SLE, TRUTH_SEED)
    if key not in _CACHE:
        marginal = _marginal(sc, TREATMENTS, TRUTH_N_SLE, TRUTH_SEED)
        _CACHE[key] = {
            t: {
                "hazard_ratio": float(sc.effects["death"].get(t, 1.0)),
                "marginal_hazard_ratio": marginal[t],
            }
            for t in TREATMENTS
        }
    return {t: dict(v) for t, v in _CACHE[key].items()}


@dataclass(frozen=True, slots=True)
class TruthPopulation:
    """DAH patients of a large simulated SLE population, before any treatment is given.

    ``episodes`` holds the index episodes with their intended courses (``starts``) and the
    start day each course would have (``potential_starts``); ``scale`` is the hazard multiplier
    of death from onset (intercept, calendar trend, covariates, site); ``exponential`` the
    standard exponential each death time inverts (the common random numbers of every world);
    ``censor_days`` the days from onset to loss to follow-up or study end.
    """

    episodes: IndexEpisodes
    scale: np.ndarray
    exponential: np.ndarray
    censor_days: np.ndarray
    parameters: dict[str, float]


def truth_population(sc: Scenario, n_sle: int, seed: int) -> TruthPopulation:
    """Draw the DAH patients of ``n_sle`` SLE patients under ``sc`` (calibrated parameters).

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.
    n_sle : int
        SLE patients simulated (about ``dah_incidence * n_sle`` DAH patients).
    seed : int
        Seed of the simulation.

    Returns
    -------
    TruthPopulation
        Index episodes, death hazard multipliers and the exponentials of their death times.
    """
    params = calibrate(sc).parameters
    rng = np.random.default_rng(seed)
    pop = draw_population(sc, n_sle, rng)
    has, first, onset = draw_dah_onset(
        params["dah_at_diagnosis"], params["dah_hazard_per_year"], pop, rng, sc.onset_shape
    )
    age = pop.age[has] + (onset[has] - pop.diagnosis_day[has]) / DAYS_PER_YEAR
    onset = onset[has]
    ep = draw_episode_features(
        sc, dict(params), onset, first[has], rng, age_at_onset=age, site=pop.site[has]
    )
    e = rng.standard_exponential(len(onset))
    return TruthPopulation(
        episodes=ep,
        scale=np.exp(death_log_hazard(sc, params, ep)),
        exponential=e,
        censor_days=(pop.loss_day[has] - onset).astype(float),
        parameters=dict(params),
    )


def _marginal(sc: Scenario, treatments: tuple[str, ...], n_sle: int, seed: int) -> dict[str, float]:
    from dah_outcomes.stats.cox import cox_regression

    tp = truth_population(sc, n_sle, seed)
    ep, e, scale, censor = tp.episodes, tp.exponential, tp.scale, tp.censor_days
    out = {}
    for treatment in treatments:
        k = TREATMENTS.index(treatment)
        start = ep.potential_starts[:, k]
        frames = []
        for treated in (False, True):
            starts = ep.starts.copy()
            starts[:, k] = start if treated else np.inf
            log_hr = course_log_hazard_ratios(sc, starts)
            t = np.floor(np.minimum(timed_cumhaz_inverse(e / scale, starts, log_hr, sc.death), 1e9))
            frames.append(_from_start(np.minimum(t, censor), t <= censor, start, treated))
        data = pd.concat(frames, ignore_index=True)
        fit = cox_regression(
            data, time="stop", event="event", entry="start", covariates=["treated"]
        )
        out[treatment] = float(np.exp(fit.coef[0]))
    return out


def _from_start(
    time: np.ndarray, event: np.ndarray, start_day: np.ndarray, treated: bool
) -> pd.DataFrame:
    """Each patient from their own start day, in one world (deaths within the day at +0.5).

    Only patients alive, in hospital and under follow-up on the day their course would start
    enter, in both worlds alike: before that day the worlds are the same, so comparing them
    from it measures the treatment alone (exactly 1 when it does nothing).
    """
    stop = time + 0.5
    enter = np.isfinite(start_day) & (start_day < stop)
    return pd.DataFrame(
        {
            "start": start_day[enter],
            "stop": stop[enter],
            "event": event[enter].astype(int),
            "treated": float(treated),
        }
    )
