"""Generating a whole synthetic :class:`~dah_outcomes.cohort.Cohort` from a scenario."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.synthetic.calibration import calibrate
from dah_outcomes.synthetic.generator import (
    IndexEpisodes,
    draw_dah_onset,
    draw_death_day,
    draw_episode_features,
    draw_population,
    episode_dict,
    recurrence_linear_predictor,
)
from dah_outcomes.synthetic.model import DAYS_PER_YEAR
from dah_outcomes.synthetic.scenario import Scenario, load_scenario

__all__ = ["generate_cohort"]

Progress = Callable[[str, float], None]
_FLAGS = (
    "first_manifestation",
    "nephritis",
    "infection",
    "severe",
    "bal_confirmed",
    "icu_admission",
    "mechanical_ventilation",
    "ecmo",
    "methylprednisolone_pulse",
    "oral_prednisone",
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
    "mycophenolate",
    "hydroxychloroquine",
    "rfviia",
)
_COUNTS = ("ventilation_days", "plasmapheresis_sessions")
_AMOUNTS = ("hemoglobin_drop", "methylprednisolone_dose_mg")


def generate_cohort(
    scenario: str | Path | Scenario = "seed-article",
    *,
    n_sle: int = 20_000,
    seed: int | np.random.Generator = 0,
    progress: Progress | None = None,
) -> Cohort:
    """Generate a synthetic population cohort of SLE patients with DAH episodes.

    Parameters
    ----------
    scenario : str, path or Scenario, default "seed-article"
        A shipped scenario name (see :func:`~dah_outcomes.synthetic.scenario.available_scenarios`),
        the path of a scenario TOML file, or a loaded scenario.
    n_sle : int, default 20000
        Size of the SLE source population.
    seed : int or numpy.random.Generator, default 0
        Seed of every random draw; the same seed gives the same cohort, byte for byte.
    progress : callable, optional
        Called as ``progress(step, fraction_done)`` between steps (the CLI draws a bar).

    Returns
    -------
    Cohort
        A population-design cohort. Its provenance holds the scenario, seed, calibrated
        parameters and the true effects (``provenance["truth"]``).

    Examples
    --------
    >>> cohort = generate_cohort("seed-article", n_sle=2000, seed=1)
    >>> cohort.design, cohort.n_patients
    ('population', 2000)
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if isinstance(n_sle, bool) or not isinstance(n_sle, int | np.integer) or n_sle < 1:
        raise ArgumentError(f"n_sle must be a positive whole number, got {n_sle!r}")
    seed_label: str | int
    if isinstance(seed, np.random.Generator):
        rng, seed_label = seed, "generator"
    elif isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        rng, seed_label = np.random.default_rng(int(seed)), int(seed)
    else:
        raise ArgumentError(
            f"seed must be a non-negative integer or a numpy Generator, got {seed!r}"
        )
    report = progress or (lambda step, frac: None)
    report("calibrating", 0.0)
    cal = calibrate(sc)
    params = cal.parameters
    report("population", 0.2)
    pop = draw_population(sc, int(n_sle), rng)
    has, first, onset_all = draw_dah_onset(
        params["dah_at_diagnosis"], params["dah_hazard_per_year"], pop, rng
    )
    idx = np.flatnonzero(has)
    onset = onset_all[idx]
    boundary = int(sc.population["era_boundary"].astype(np.int64))
    report("episodes", 0.4)
    ep = draw_episode_features(sc, dict(params), onset >= boundary, first[idx], rng)
    death_day = draw_death_day(sc, params, ep, onset, rng)
    censor_day = pop.loss_day[idx]
    episodes = _episode_rows(sc, params, idx, onset, ep, death_day, censor_day, boundary, rng)
    report("tables", 0.7)
    died_dah = death_day <= censor_day
    end = pop.end_day.copy()
    death = np.where(pop.background_death_day <= pop.end_day, pop.background_death_day, -1)
    end[idx] = np.where(died_dah, death_day, censor_day)
    death[idx] = np.where(died_dah, death_day, -1)
    patients = _patient_table(sc, pop, end, death)
    provenance = {
        "source": "synthetic",
        "scenario": sc.to_dict(),
        "seed": seed_label,
        "n_sle": int(n_sle),
        "calibration": {
            "parameters": cal.parameters,
            "expected": cal.expected,
            "n_sle": cal.n_sle,
            "seed": cal.seed,
        },
        "truth": _truth(sc, params),
    }
    report("validating", 0.85)
    cohort = Cohort(patients, episodes, provenance=provenance, design="population")
    report("done", 1.0)
    return cohort


def _truth(sc: Scenario, params: dict[str, float]) -> dict[str, object]:
    """The true effects: declared ratios plus the calibrated historical-era hazard ratio."""
    death = dict(sc.effects["death"])
    death["historical_era"] = float(np.exp(params["death_historical"]))
    return {
        "death_hazard_ratios": death,
        "recurrence_hazard_ratios": dict(sc.effects["recurrence"]),
        "odds_ratios": {
            m: dict(sc.effects[m]) for m in sc.effects if m not in ("death", "recurrence")
        },
        "note": "death hazard ratios act on time from each patient's first DAH onset and use "
        "the index episode's covariates; odds ratios are for the logistic models of "
        "ventilation, nephritis and treatment choice",
    }


def _episode_rows(
    sc: Scenario,
    params: dict[str, float],
    idx: np.ndarray,
    onset: np.ndarray,
    ep: IndexEpisodes,
    death_day: np.ndarray,
    censor_day: np.ndarray,
    boundary: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Index episodes plus recurrences, until death, end of follow-up or max_episodes."""
    # A recurrence's hazard uses the index episode's covariates (nephritis, treatment).
    rate = np.exp(params["recurrence"] + recurrence_linear_predictor(sc, ep))
    frames = []
    number, cur_onset, cur_ep = 1, onset, ep
    alive_rows = np.arange(len(idx))
    while True:
        stay_end = cur_onset + cur_ep.stay_days
        dd = death_day[alive_rows]
        fatal = (dd <= stay_end) & (dd <= censor_day[alive_rows])
        discharge = np.where(fatal, death_day[alive_rows], stay_end)
        frames.append(_frame(idx[alive_rows], number, cur_onset, discharge, fatal, cur_ep))
        if number >= sc.course["max_episodes"]:
            break
        gap = rng.standard_exponential(len(alive_rows)) / rate[alive_rows] * DAYS_PER_YEAR
        min_gap = sc.course["min_recurrence_gap_days"]
        nxt = discharge + np.maximum(min_gap, np.ceil(np.minimum(gap, 1e7))).astype(np.int64)
        limit = np.minimum(death_day[alive_rows], censor_day[alive_rows])
        keep = ~fatal & (nxt <= limit)
        if not keep.any():
            break
        alive_rows, cur_onset = alive_rows[keep], nxt[keep]
        number += 1
        cur_ep = draw_episode_features(
            sc, dict(params), cur_onset >= boundary, np.zeros(len(alive_rows), dtype=bool), rng
        )
    return pd.concat(frames, ignore_index=True)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")


def _frame(
    rows: np.ndarray,
    number: int,
    onset: np.ndarray,
    discharge: np.ndarray,
    fatal: np.ndarray,
    ep: IndexEpisodes,
) -> pd.DataFrame:
    x = episode_dict(ep)
    width = 7
    data: dict[str, object] = {
        "patient_id": pd.array([f"SLE{r + 1:0{width}d}" for r in rows], dtype="string"),
        "episode_number": pd.array(np.full(len(rows), number), dtype="Int64"),
        "onset_date": _dates(onset),
        "discharge_date": _dates(discharge),
    }
    for f in _FLAGS:
        data[f] = pd.array(x[f].astype(bool), dtype="boolean")
    for c in _COUNTS:
        data[c] = pd.array(x[c].astype(np.int64), dtype="Int64")
    for c in _AMOUNTS:
        data[c] = pd.array(x[c], dtype="Float64")
    data["in_hospital_death"] = pd.array(fatal, dtype="boolean")
    return pd.DataFrame(data)


def _patient_table(sc: Scenario, pop, end: np.ndarray, death: np.ndarray) -> pd.DataFrame:
    n = len(pop.diagnosis_day)
    birth = pop.diagnosis_day - np.round(pop.age * DAYS_PER_YEAR).astype(np.int64)
    sites = np.array(sc.population["sites"], dtype=object)
    death_dates = pd.Series(_dates(np.where(death >= 0, death, 0)))
    death_dates[death < 0] = pd.NaT
    return pd.DataFrame(
        {
            "patient_id": pd.array([f"SLE{i + 1:07d}" for i in range(n)], dtype="string"),
            "sex": pd.array(np.where(pop.female, "F", "M"), dtype="string"),
            "birth_date": _dates(birth),
            "sle_diagnosis_date": _dates(pop.diagnosis_day),
            "followup_start": _dates(pop.diagnosis_day),
            "followup_end": _dates(end),
            "death_date": death_dates.to_numpy(dtype="datetime64[s]"),
            "site": pd.array(sites[pop.site], dtype="string"),
        }
    )
