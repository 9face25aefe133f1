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
    linear_predictor,
    logistic_probability,
    timed_cumhaz_inverse,
)
from dah_outcomes.synthetic.scenario import AGE_CENTRE, TREATMENTS, Scenario

__all__ = [
    "IndexEpisodes",
    "Population",
    "apply_timing",
    "course_log_hazard_ratios",
    "draw_episode_features",
    "draw_population",
    "treatment_log_hazard_ratios",
]

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


def dah_occurrence(p0: float, lam: float, years: np.ndarray, shape: float = 1.0) -> np.ndarray:
    """P(any DAH during follow-up) per patient (see :mod:`dah_outcomes.synthetic.model`)."""
    return p0 + (1 - p0) * -np.expm1(-lam * years**shape)


def draw_dah_onset(
    p0: float, lam: float, pop: Population, rng: np.random.Generator, shape: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which patients have DAH, whether at diagnosis, and the onset day.

    A later first DAH has cumulative hazard ``lam * t**shape`` (``t`` in years since SLE
    diagnosis): with ``shape`` below 1 the hazard falls with time, so onsets concentrate in
    the first years after diagnosis, as in the published series.
    """
    n = len(pop.diagnosis_day)
    u, v = rng.random(n), rng.random(n)
    years = pop.followup_years
    later_p = -np.expm1(-lam * years**shape)
    first = u < p0
    later = ~first & (u < p0 + (1 - p0) * later_p)
    # inverse CDF of the Weibull truncated to the follow-up
    t_years = (-np.log1p(-v * later_p) / lam) ** (1.0 / shape)
    # a later onset is at least a day after diagnosis (day 0 means DAH at diagnosis)
    offset = np.minimum(
        np.maximum(1, np.floor(t_years * DAYS_PER_YEAR)), pop.end_day - pop.diagnosis_day
    )
    onset = pop.diagnosis_day + np.where(later, offset, 0).astype(np.int64)
    return first | later, first, onset


@dataclass(frozen=True, slots=True)
class IndexEpisodes:
    """Features of one DAH episode per row (index or recurrent).

    ``starts`` holds, per treatment of :data:`~dah_outcomes.synthetic.scenario.TREATMENTS`
    (columns in that order), the day after onset its course starts (``inf`` when it is not
    given). Before :func:`apply_timing` these are the intended courses; after it, the courses
    given (to patients alive and in hospital on the start day), and the treatment features
    and ``arm`` describe the treatments received.
    """

    features: dict[str, np.ndarray]
    arm: np.ndarray
    stay_days: np.ndarray
    starts: np.ndarray
    potential_starts: np.ndarray  # the start day had the treatment been intended


def _historical_weight(sc: Scenario, onset: np.ndarray) -> np.ndarray:
    """Weight of the historical-era death hazard ratio at each onset date.

    With ``calendar_trend_years`` = 0 it is a step at the era boundary (1 before, 0 after);
    otherwise it falls linearly from 1 to 0 over that many years centred on the boundary: a
    smooth calendar trend in the death hazard.
    """
    boundary = int(sc.population["era_boundary"].astype(np.int64))
    width = sc.death["calendar_trend_years"] * DAYS_PER_YEAR
    if width <= 0:
        return (onset < boundary).astype(float)
    return np.clip(0.5 + (boundary - onset) / width, 0.0, 1.0)


def draw_start_days(sc: Scenario, x: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The day each treatment's course would start, for every episode (intended or not)."""
    n = len(x["severe"])
    starts = np.full((n, len(TREATMENTS)), np.inf)
    for k, t in enumerate(TREATMENTS):
        timing = sc.timing[t]
        delay = rng.poisson(timing["mean_delay_days"], n) if timing["mean_delay_days"] else 0
        starts[:, k] = timing["first_day"] + delay + timing["infection_delay_days"] * x["infection"]
    return starts


def draw_episode_features(
    sc: Scenario,
    intercepts: dict[str, float],
    onset: np.ndarray,
    first_manifestation: np.ndarray,
    rng: np.random.Generator,
    solve: Solver | None = None,
    *,
    age_at_onset: np.ndarray,
    site: np.ndarray,
) -> IndexEpisodes:
    """Draw the clinical features, ICU course and intended treatments of ``len(onset)`` episodes.

    With ``solve`` (calibration), each calibrated intercept missing from ``intercepts`` is
    solved on this sample, in model order, before its outcome is drawn.
    """
    n = len(onset)
    prev = sc.prevalence
    boundary = int(sc.population["era_boundary"].astype(np.int64))
    site_hr = np.array([sc.site_hazard_ratios[s] for s in sc.population["sites"]])
    x: dict[str, np.ndarray] = {
        "modern_era": (onset >= boundary).astype(float),
        "historical_weight": _historical_weight(sc, onset),
        "age_per_decade": (np.asarray(age_at_onset, dtype=float) - AGE_CENTRE) / 10.0,
        "site_log_hr": np.log(site_hr)[np.asarray(site, dtype=np.int64)],
        "first_manifestation": first_manifestation.astype(float),
        "severe": (rng.random(n) < prev["severe"]).astype(float),
        "infection": (rng.random(n) < prev["infection"]).astype(float),
    }
    for model in ("nephritis", "mechanical_ventilation", *TREATMENTS):
        lin = linear_predictor(sc.effects[model], x, n)
        if solve is not None and model not in intercepts:
            intercepts[model] = solve(model, lin, None)
        x[model] = (rng.random(n) < logistic_probability(intercepts[model], lin)).astype(float)
    potential = draw_start_days(sc, x, rng)
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
    # a course can start only while the patient is in hospital (on or before discharge)
    potential = np.where(potential <= stay[:, None], potential, np.inf)
    intended = np.column_stack([x[t] > 0 for t in TREATMENTS])
    return IndexEpisodes(
        features=x,
        arm=_arms(x),
        stay_days=stay.astype(np.int64),
        starts=np.where(intended, potential, np.inf),
        potential_starts=potential,
    )


def _arms(x: dict[str, np.ndarray]) -> np.ndarray:
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
    return assign_arms(flags, DEFAULT_ARMS).to_numpy(dtype=object)


def treatment_log_hazard_ratios(sc: Scenario) -> np.ndarray:
    """Declared log hazard ratios of death of each treatment, acting from its start day."""
    return np.log([sc.effects["death"].get(t, 1.0) for t in TREATMENTS])


def course_log_hazard_ratios(sc: Scenario, starts: np.ndarray) -> np.ndarray:
    """Log hazard ratio of death of each course, weakened by the days it started after onset.

    ``starts`` is (n, K) in the order of ``TREATMENTS`` (``inf``: no course). A course started
    on day ``s`` acts with ``log(HR) * max(0, 1 - effect_loss_per_day * s)`` from that day on
    (``[timing.<treatment>] effect_loss_per_day``, 0 unless declared): the scenario's
    statement that delay costs lives, with a true answer. A never-started course gets the
    day-0 value, which never acts.
    """
    loss = np.array([sc.timing[t]["effect_loss_per_day"] for t in TREATMENTS])
    day = np.where(np.isfinite(starts), starts, 0.0)
    kept = np.clip(1.0 - loss * day, 0.0, 1.0)
    return treatment_log_hazard_ratios(sc) * kept


def death_linear_predictor(sc: Scenario, ep: IndexEpisodes) -> np.ndarray:
    """Declared log hazard ratios of death of the episode's covariates present from onset.

    Treatments are left out: their hazard ratios act from the day each course starts (see
    :func:`treatment_log_hazard_ratios`). The site's hazard ratio is included.
    """
    fixed = {k: v for k, v in sc.effects["death"].items() if k not in TREATMENTS}
    return linear_predictor(fixed, ep.features, len(ep.arm)) + ep.features["site_log_hr"]


def recurrence_linear_predictor(sc: Scenario, ep: IndexEpisodes) -> np.ndarray:
    """Declared log hazard ratios of recurrence applied to the episode's covariates."""
    return linear_predictor(sc.effects["recurrence"], ep.features, len(ep.arm))


def death_log_hazard(sc: Scenario, intercepts: dict[str, float], ep: IndexEpisodes) -> np.ndarray:
    """Log hazard multiplier of death from onset: intercept, calendar trend and covariates."""
    return (
        intercepts["death"]
        + intercepts["death_historical"] * ep.features["historical_weight"]
        + death_linear_predictor(sc, ep)
    )


def draw_death_time(
    sc: Scenario,
    intercepts: dict[str, float],
    ep: IndexEpisodes,
    rng: np.random.Generator,
    death_model: dict[str, float] | None = None,
) -> np.ndarray:
    """Time of death in days after onset (continuous; may fall after follow-up ends).

    Proportional hazards in the covariates present from onset, with each intended
    treatment's hazard ratio switching on at its start day (weakened by the delay, see
    :func:`course_log_hazard_ratios`). A patient dead before a course starts never receives
    it, which :func:`apply_timing` records.
    """
    e = rng.standard_exponential(len(ep.arm))
    t = timed_cumhaz_inverse(
        e / np.exp(death_log_hazard(sc, intercepts, ep)),
        ep.starts,
        course_log_hazard_ratios(sc, ep.starts),
        death_model or sc.death,
    )
    return np.minimum(t, 1e9)


def apply_timing(ep: IndexEpisodes, death_time: np.ndarray) -> IndexEpisodes:
    """The episodes as received: courses only for patients alive on their start day.

    Treatment flags, the arm, plasmapheresis sessions (no more than the days from the first
    session to discharge or death) and ventilation days (no longer than the days alive in
    hospital) follow what was given.
    """
    death_day = np.floor(death_time)
    given = ep.starts <= death_day[:, None]
    starts = np.where(given, ep.starts, np.inf)
    x = dict(ep.features)
    for k, t in enumerate(TREATMENTS):
        x[t] = (x[t] > 0) & given[:, k]
        x[t] = x[t].astype(float)
    last_day = np.minimum(ep.stay_days, death_day)
    plex = TREATMENTS.index("plasmapheresis")
    room = np.where(given[:, plex], last_day - ep.starts[:, plex] + 1, 0)
    x["plasmapheresis_sessions"] = np.minimum(x["plasmapheresis_sessions"], room) * (
        x["plasmapheresis"] > 0
    )
    x["methylprednisolone_dose_mg"] = (
        x["methylprednisolone_dose_mg"] * x["methylprednisolone_pulse"]
    )
    x["ventilation_days"] = np.minimum(x["ventilation_days"], np.maximum(1, last_day)) * (
        x["mechanical_ventilation"] > 0
    )
    return IndexEpisodes(
        features=x,
        arm=_arms(x),
        stay_days=ep.stay_days,
        starts=starts,
        potential_starts=ep.potential_starts,
    )


def episode_dict(ep: IndexEpisodes) -> dict[str, Any]:
    """The feature arrays of ``ep`` plus its arm (for building the episodes table)."""
    return {**ep.features, "arm": ep.arm}
