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


#: Days standing in for "never" in the piecewise hazard (later than any follow-up).
NEVER_DAYS = 1e9


def _segments(starts: np.ndarray, log_hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment boundaries and hazard multipliers of a hazard switched on at ``starts``.

    ``starts`` has one row per patient and one column per treatment (days after onset; ``inf``
    when the treatment never starts); treatment ``k`` multiplies the hazard by
    ``exp(log_hr[k])`` (or ``exp(log_hr[i, k])`` per course) from its start day on. Returns
    ``bounds`` (n, K + 2), from 0 to :data:`NEVER_DAYS`, and ``mult`` (n, K + 1), the
    multiplier on each segment.
    """
    n = starts.shape[0]
    order = np.argsort(starts, axis=1, kind="stable")
    s_sorted = np.minimum(np.take_along_axis(starts, order, axis=1), NEVER_DAYS)
    per_course = np.broadcast_to(np.asarray(log_hr, dtype=float), starts.shape)
    cum = np.cumsum(np.take_along_axis(per_course, order, axis=1), axis=1)
    bounds = np.concatenate([np.zeros((n, 1)), s_sorted, np.full((n, 1), NEVER_DAYS)], axis=1)
    mult = np.exp(np.concatenate([np.zeros((n, 1)), cum], axis=1))
    return bounds, mult


def _acting(starts: np.ndarray, log_hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns of treatments that change the hazard of at least one patient.

    A treatment of hazard ratio 1 splits no segment, so two worlds that differ only in its
    start days give bit-identical hazards (a null effect is exactly null, not null up to
    rounding).
    """
    per_course = np.broadcast_to(np.asarray(log_hr, dtype=float), starts.shape)
    keep = np.any(per_course != 0.0, axis=0)
    return starts[:, keep], per_course[:, keep]


def timed_cumhaz(
    t_days: np.ndarray, starts: np.ndarray, log_hr: np.ndarray, death: Mapping[str, float]
) -> np.ndarray:
    """Baseline cumulative hazard at ``t_days`` with treatments switching on at ``starts``.

    The integral of ``h0(u) * prod_k exp(log_hr[k] * 1[u > starts[:, k]])`` from 0 to ``t``:
    the declared hazard ratios act from the day each treatment starts. ``log_hr`` is one log
    hazard ratio per treatment (K,) or one per course (n, K), e.g. an effect that depends on
    the start day.
    """
    t = np.minimum(np.asarray(t_days, dtype=float), NEVER_DAYS)
    starts, log_hr = _acting(starts, log_hr)
    if starts.shape[1] == 0:
        return baseline_cumhaz(t, death)
    bounds, mult = _segments(starts, log_hr)
    h_bounds = baseline_cumhaz(bounds, death)
    inside = np.clip(t[:, None], bounds[:, :-1], bounds[:, 1:])
    return (mult * (baseline_cumhaz(inside, death) - h_bounds[:, :-1])).sum(axis=1)


def timed_cumhaz_inverse(
    h: np.ndarray, starts: np.ndarray, log_hr: np.ndarray, death: Mapping[str, float]
) -> np.ndarray:
    """Time (days) at which :func:`timed_cumhaz` reaches ``h`` (``inf`` if never)."""
    h = np.asarray(h, dtype=float)
    starts, log_hr = _acting(starts, log_hr)
    if starts.shape[1] == 0:
        return baseline_cumhaz_inverse(h, death)
    bounds, mult = _segments(starts, log_hr)
    h_bounds = baseline_cumhaz(bounds, death)
    # G at each boundary, then the segment holding h and the inverse within it
    g_bounds = np.concatenate(
        [np.zeros((len(h), 1)), np.cumsum(mult * np.diff(h_bounds, axis=1), axis=1)], axis=1
    )
    seg = np.clip((g_bounds[:, :-1] <= h[:, None]).sum(axis=1) - 1, 0, mult.shape[1] - 1)
    rows = np.arange(len(h))
    base = h_bounds[rows, seg] + (h - g_bounds[rows, seg]) / mult[rows, seg]
    t = baseline_cumhaz_inverse(base, death)
    return np.where(t >= NEVER_DAYS, np.inf, t)
