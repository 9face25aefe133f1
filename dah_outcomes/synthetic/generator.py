"""Vectorised, seeded generation of synthetic DAH-in-SLE cohorts.

:func:`generate_cohort` draws an SLE source population, first DAH episodes, their clinical
course and treatment, death and recurrent episodes from a :class:`Scenario`, with the model's
intercepts solved by :mod:`dah_outcomes.synthetic.calibration` so that the scenario's targets
hold in expectation while its declared effects (the ground truth) are kept. Every draw comes
from one ``numpy.random.Generator`` in a fixed order: the same seed gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.endpoints.arms import DEFAULT_ARMS, assign_arms
from dah_outcomes.synthetic.model import (
    DAYS_PER_YEAR,
    baseline_cumhaz_inverse,
    linear_predictor,
    logistic_probability,
)
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario

__all__ = ["IndexEpisodes", "Population", "draw_episode_features", "draw_population"]

Solver = Callable[[str, np.ndarray, "np.ndarray | None"], float]


@dataclass(frozen=True, slots=True)
class Population:
    """The SLE source population as arrays (days are integers since 1970-01-01)."""

    diagnosis_day: np.ndarray
    age: np.ndarray
    female: np.ndarray
    site: np.ndarray
    loss_day: np.ndarray  # loss to follow-up (or study end, whichever first)
    background_death_day: np.ndarray
    end_day: np.ndarray  # end of follow-up without DAH: min(loss, background death)

    @property
    def followup_years(self) -> np.ndarray:
        """Follow-up without DAH, in years."""
        return (self.end_day - self.diagnosis_day) / DAYS_PER_YEAR


def draw_population(sc: Scenario, n: int, rng: np.random.Generator) -> Population:
    """Draw ``n`` SLE patients: diagnosis date, age, sex, site, loss and background death."""
    pop = sc.population
    start = pop["diagnosis_start"].astype(np.int64)
    stop = pop["diagnosis_end"].astype(np.int64)
    study_end = int(pop["study_end"].astype(np.int64))
    dx = rng.integers(start, stop + 1, size=n)
    age = np.clip(rng.normal(pop["age_at_diagnosis_mean"], pop["age_at_diagnosis_sd"], n), 8, 85)
    female = rng.random(n) < pop["female_fraction"]
    site = rng.integers(0, len(pop["sites"]), size=n)

    def annual_time(rate: float) -> np.ndarray:
        # exponential waiting time in days; rate 0 means never
        e = rng.standard_exponential(n)
        return np.floor(e / rate * DAYS_PER_YEAR) if rate > 0 else np.full(n, np.inf)

    loss = np.minimum(dx + annual_time(pop["annual_loss_to_followup"]), study_end)
    death = dx + annual_time(pop["annual_background_mortality"])
    loss_day = loss.astype(np.int64)
    death_day = np.where(np.isfinite(death), death, np.iinfo(np.int64).max // 2).astype(np.int64)
    end = np.minimum(loss_day, death_day)
    return Population(dx, age, female, site, loss_day, death_day, end)


def dah_occurrence(p0: float, lam: float, years: np.ndarray) -> np.ndarray:
    """P(any DAH during follow-up) per patient (see :mod:`dah_outcomes.synthetic.model`)."""
    return p0 + (1 - p0) * -np.expm1(-lam * years)


def draw_dah_onset(
    p0: float, lam: float, pop: Population, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which patients have DAH, whether at diagnosis, and the onset day."""
    n = len(pop.diagnosis_day)
    u, v = rng.random(n), rng.random(n)
    years = pop.followup_years
    later_p = -np.expm1(-lam * years)
    first = u < p0
    later = ~first & (u < p0 + (1 - p0) * later_p)
    # inverse CDF of the exponential truncated to the follow-up
    t_years = -np.log1p(-v * later_p) / lam
    # a later onset is at least a day after diagnosis (day 0 means DAH at diagnosis)
    offset = np.minimum(
        np.maximum(1, np.floor(t_years * DAYS_PER_YEAR)), pop.end_day - pop.diagnosis_day
    )
    onset = pop.diagnosis_day + np.where(later, offset, 0).astype(np.int64)
    return first | later, first, onset


@dataclass(frozen=True, slots=True)
class IndexEpisodes:
    """Features of one DAH episode per row (index or recurrent)."""

    features: dict[str, np.ndarray]
    arm: np.ndarray
    stay_days: np.ndarray


def draw_episode_features(
    sc: Scenario,
    intercepts: dict[str, float],
    modern: np.ndarray,
    first_manifestation: np.ndarray,
    rng: np.random.Generator,
    solve: Solver | None = None,
) -> IndexEpisodes:
    """Draw the clinical features, ICU course and treatments of ``len(modern)`` episodes.

    With ``solve`` (calibration), each calibrated intercept missing from ``intercepts`` is
    solved on this sample, in model order, before its outcome is drawn.
    """
    n = len(modern)
    prev = sc.prevalence
    x: dict[str, np.ndarray] = {
        "modern_era": modern.astype(float),
        "first_manifestation": first_manifestation.astype(float),
        "severe": (rng.random(n) < prev["severe"]).astype(float),
        "infection": (rng.random(n) < prev["infection"]).astype(float),
    }
    for model in ("nephritis", "mechanical_ventilation", *TREATMENTS):
        lin = linear_predictor(sc.effects[model], x, n)
        if solve is not None and model not in intercepts:
            intercepts[model] = solve(model, lin, None)
        x[model] = (rng.random(n) < logistic_probability(intercepts[model], lin)).astype(float)
    vent = x["mechanical_ventilation"] > 0
    mp = x["methylprednisolone_pulse"] > 0
    x["oral_prednisone"] = (~mp | (rng.random(n) < 0.85)).astype(float)
    x["bal_confirmed"] = (rng.random(n) < prev["bal_confirmed"]).astype(float)
    x["ecmo"] = (vent & (rng.random(n) < prev["ecmo_if_ventilated"])).astype(float)
    x["rfviia"] = (rng.random(n) < prev["rfviia"]).astype(float)
    x["icu_admission"] = (vent | (rng.random(n) < 0.3)).astype(float)
    course = sc.course
    stay = rng.lognormal(
        np.log(course["length_of_stay_median_days"]), course["length_of_stay_sd_log"], n
    )
    stay = np.maximum(1, np.ceil(stay * np.where(vent, course["ventilated_stay_factor"], 1.0)))
    vent_days = np.minimum(stay, 1 + rng.poisson(course["ventilation_days_mean"] - 0.5, n))
    x["ventilation_days"] = np.where(vent, vent_days, 0.0)
    x["hemoglobin_drop"] = np.round(np.minimum(rng.gamma(4.0, 0.6, n) + x["severe"], 15), 1)
    x["methylprednisolone_dose_mg"] = np.where(mp, rng.choice([1500.0, 3000.0, 5000.0], n), 0.0)
    plex = x["plasmapheresis"] > 0
    x["plasmapheresis_sessions"] = np.where(plex, 3 + rng.poisson(2.0, n), 0).astype(float)
    flags = pd.DataFrame(
        {
            k: x[k].astype(bool)
            for k in (
                "methylprednisolone_pulse",
                "cyclophosphamide",
                "plasmapheresis",
                "rituximab",
                "oral_prednisone",
            )
        }
    )
    arm = assign_arms(flags, DEFAULT_ARMS).to_numpy(dtype=object)
    return IndexEpisodes(features=x, arm=arm, stay_days=stay.astype(np.int64))


def death_linear_predictor(sc: Scenario, ep: IndexEpisodes) -> np.ndarray:
    """Declared log hazard ratios of death applied to the episode's covariates."""
    return linear_predictor(sc.effects["death"], ep.features, len(ep.arm))


def recurrence_linear_predictor(sc: Scenario, ep: IndexEpisodes) -> np.ndarray:
    """Declared log hazard ratios of recurrence applied to the episode's covariates."""
    return linear_predictor(sc.effects["recurrence"], ep.features, len(ep.arm))


def draw_death_day(
    sc: Scenario,
    intercepts: dict[str, float],
    ep: IndexEpisodes,
    onset: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Day of death (possibly after the end of follow-up) under the PH model."""
    hist = 1.0 - ep.features["modern_era"]
    eta = (
        intercepts["death"] + intercepts["death_historical"] * hist + death_linear_predictor(sc, ep)
    )
    e = rng.standard_exponential(len(onset))
    t = baseline_cumhaz_inverse(e / np.exp(eta), sc.death)
    t = np.where(np.isfinite(t), t, 1e9)
    return onset + np.floor(np.minimum(t, 1e9)).astype(np.int64)


def episode_dict(ep: IndexEpisodes) -> dict[str, Any]:
    """The feature arrays of ``ep`` plus its arm (for building the episodes table)."""
    return {**ep.features, "arm": ep.arm}
