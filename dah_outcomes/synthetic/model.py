"""The equations of the synthetic-cohort model, shared by calibration and generation.

Calibration evaluates these equations' *expected* rates (means of probabilities over a large
fixed sample) and the generator *draws* from them, so the two can never drift apart.

Model, for each SLE patient with follow-up ``F`` years (to study end, loss or background
death):

* DAH at SLE diagnosis (DAH as first manifestation) with probability ``p0``; otherwise a later
  first DAH at constant hazard ``lam`` per year: ``P(DAH) = p0 + (1 - p0)(1 - exp(-lam F))``.
* Index-episode features: severe and infection are Bernoulli with declared prevalence;
  nephritis, mechanical ventilation and each treatment are logistic in the covariates with the
  declared odds ratios and a calibrated intercept.
* Death after onset: proportional hazards with cumulative hazard
  ``exp(b0 + b_hist * historical + sum log(HR) x) * H0(t)``, where
  ``H0(t) = (t / acute_days) ** acute_shape`` in the acute phase and grows linearly by
  ``chronic_relative_rate`` per year after it: deaths are early. In-hospital death is death
  before discharge.
* Recurrence: after discharge alive, gap times to the next episode are exponential with rate
  ``lam_rec * exp(sum log(HR) x)`` per year, until death or end of follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit

__all__ = [
    "DAYS_PER_YEAR",
    "baseline_cumhaz",
    "baseline_cumhaz_inverse",
    "linear_predictor",
    "logistic_probability",
]

DAYS_PER_YEAR = 365.25


def linear_predictor(
    effects: Mapping[str, float], covariates: Mapping[str, np.ndarray], n: int
) -> np.ndarray:
    """Sum of ``log(ratio) * x`` over the declared effects (0 when there are none)."""
    lin = np.zeros(n)
    for name, ratio in effects.items():
        lin += np.log(ratio) * covariates[name]
    return lin


def logistic_probability(intercept: float, lin: np.ndarray) -> np.ndarray:
    """P(outcome) of a logistic model with this intercept and linear predictor."""
    return expit(intercept + lin)


def baseline_cumhaz(t_days: np.ndarray, death: Mapping[str, float]) -> np.ndarray:
    """Baseline cumulative hazard of death at ``t_days`` after onset."""
    a, k, r = death["acute_days"], death["acute_shape"], death["chronic_relative_rate"]
    t = np.asarray(t_days, dtype=float)
    acute = (np.minimum(t, a) / a) ** k
    return acute + r * np.maximum(t - a, 0.0) / DAYS_PER_YEAR


def baseline_cumhaz_inverse(h: np.ndarray, death: Mapping[str, float]) -> np.ndarray:
    """Time (days) at which the baseline cumulative hazard reaches ``h``."""
    a, k, r = death["acute_days"], death["acute_shape"], death["chronic_relative_rate"]
    h = np.asarray(h, dtype=float)
    acute = a * np.minimum(h, 1.0) ** (1.0 / k)
    with np.errstate(divide="ignore"):
        late = np.where(h > 1.0, (h - 1.0) * DAYS_PER_YEAR / r if r > 0 else np.inf, 0.0)
    return acute + late
