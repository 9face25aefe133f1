"""Ground truth of a scenario that is not a declared number: the marginal hazard ratio.

A scenario declares *conditional* hazard ratios of death (given the other covariates). An
inverse-probability-weighted Cox model estimates the *marginal* hazard ratio, which differs from
the conditional one because hazard ratios are not collapsible. This module computes that marginal
truth by simulating both potential outcomes of every patient of a large sample (everyone treated,
no one treated, with the same random numbers) and fitting the treatment's hazard ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.synthetic.calibration import calibrate
from dah_outcomes.synthetic.generator import (
    IndexEpisodes,
    death_linear_predictor,
    draw_dah_onset,
    draw_episode_features,
    draw_population,
)
from dah_outcomes.synthetic.model import baseline_cumhaz_inverse
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario

__all__ = ["marginal_hazard_ratio"]


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
        exp(beta) of a Cox model of death on treatment alone, fitted to the two potential-
        outcome cohorts stacked (ties by Efron).
    """
    if treatment not in TREATMENTS:
        raise ArgumentError(f"treatment must be one of {list(TREATMENTS)}, got {treatment!r}")
    from dah_outcomes.stats.cox import cox_regression

    params = calibrate(sc).parameters
    rng = np.random.default_rng(seed)
    pop = draw_population(sc, n_sle, rng)
    has, first, onset = draw_dah_onset(
        params["dah_at_diagnosis"], params["dah_hazard_per_year"], pop, rng
    )
    onset = onset[has]
    modern = onset >= int(sc.population["era_boundary"].astype(np.int64))
    ep = draw_episode_features(sc, dict(params), modern, first[has], rng)
    e = rng.standard_exponential(len(onset))
    censor = (pop.loss_day[has] - onset).astype(float)
    frames = []
    for a in (0.0, 1.0):
        features = {**ep.features, treatment: np.full(len(onset), a)}
        cf = IndexEpisodes(features=features, arm=ep.arm, stay_days=ep.stay_days)
        eta = (
            params["death"]
            + params["death_historical"] * (1.0 - modern)
            + death_linear_predictor(sc, cf)
        )
        t = np.floor(np.minimum(baseline_cumhaz_inverse(e / np.exp(eta), sc.death), 1e9))
        frames.append(
            pd.DataFrame(
                {"time": np.minimum(t, censor), "event": (t <= censor).astype(int), "treated": a}
            )
        )
    data = pd.concat(frames, ignore_index=True)
    fit = cox_regression(data, time="time", event="event", covariates=["treated"])
    return float(np.exp(fit.coef[0]))
