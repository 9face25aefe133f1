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
    apply_timing,
    draw_dah_onset,
    draw_death_time,
    draw_episode_features,
    draw_population,
    episode_dict,
    recurrence_linear_predictor,
)
from dah_outcomes.synthetic.model import DAYS_PER_YEAR
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario, load_scenario
from dah_outcomes.synthetic.strategies import standardized_risks_truth, strategies_truth
from dah_outcomes.synthetic.truth import treatment_effects_truth

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
    vital_status: bool = False,
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
    vital_status : bool, default False
        Write the patients' ``vital_status`` at ``followup_end`` (``"dead"`` for every death,
        ``"alive"`` otherwise: the generator knows them all). Off by default for now so the
        committed example data and import round trips keep their bytes; the analyses are the
        same either way (a derived status censors the patients without a death date too).

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
        params["dah_at_diagnosis"], params["dah_hazard_per_year"], pop, rng, sc.onset_shape
    )
    idx = np.flatnonzero(has)
    onset = onset_all[idx]
    report("episodes", 0.4)
    draw = _EpisodeDraw(sc, params, pop, rng)
    ep = draw.features(idx, onset, first[idx])
    death_time = draw_death_time(sc, params, ep, rng)
    death_day = onset + np.floor(death_time).astype(np.int64)
    censor_day = pop.loss_day[idx]
    episodes, courses, in_hospital = _episode_rows(
        sc, params, draw, idx, onset, ep, death_time, death_day, censor_day, rng
    )
    report("tables", 0.7)
    died_dah = death_day <= censor_day
    end = pop.end_day.copy()
    death = np.where(pop.background_death_day <= pop.end_day, pop.background_death_day, -1)
    end[idx] = np.where(died_dah, death_day, censor_day)
    death[idx] = np.where(died_dah, death_day, -1)
    cause = np.where(death >= 0, "other", "").astype(object)
    cause[idx] = np.where(died_dah, in_hospital, "")
    patients = _patient_table(sc, pop, end, death, cause)
    if not vital_status:
        patients = patients.drop(columns="vital_status")
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
    cohort = Cohort(
        patients, episodes, provenance=provenance, design="population", treatments=courses
    )
    report("done", 1.0)
    return cohort


class _EpisodeDraw:
    """Draws episode features for DAH patients (age at onset and site from the population)."""

    def __init__(self, sc: Scenario, params: dict[str, float], pop, rng: np.random.Generator):
        self.sc, self.params, self.pop, self.rng = sc, params, pop, rng

    def features(self, rows: np.ndarray, onset: np.ndarray, first: np.ndarray) -> IndexEpisodes:
        age = self.pop.age[rows] + (onset - self.pop.diagnosis_day[rows]) / DAYS_PER_YEAR
        return draw_episode_features(
            self.sc,
            dict(self.params),
            onset,
            first,
            self.rng,
            age_at_onset=age,
            site=self.pop.site[rows],
        )


def _truth(sc: Scenario, params: dict[str, float]) -> dict[str, object]:
    """The true effects: declared ratios plus the calibrated historical-era hazard ratio."""
    death = dict(sc.effects["death"])
    death["historical_era"] = float(np.exp(params["death_historical"]))
    standardized = standardized_risks_truth(sc)
    return {
        "death_hazard_ratios": death,
        "recurrence_hazard_ratios": dict(sc.effects["recurrence"]),
        "odds_ratios": {
            m: dict(sc.effects[m]) for m in sc.effects if m not in ("death", "recurrence")
        },
        "treatment_effects": treatment_effects_truth(sc),
        "site_death_hazard_ratios": dict(sc.site_hazard_ratios),
        "effect_loss_per_day": {t: sc.timing[t]["effect_loss_per_day"] for t in TREATMENTS},
        "strategies": strategies_truth(sc),
        "standardized_risks": standardized["all"],
        "standardized_risks_by_era": {e: standardized[e] for e in ("historical", "modern")},
        "note": "death hazard ratios act on time from each patient's first DAH onset, on the "
        "death risk of the index episode's course; a recurrent episode adds an acute-phase "
        "risk of its own (recurrent_episode_hazard_ratio), acted on by its own covariates and "
        "courses, so the declared ratios are the effects on death before a second episode "
        "(end follow-up at a recurrence to estimate them; all-cause death dilutes them "
        "towards 1); a treatment's hazard ratio acts from the day its course starts (given "
        "only to patients alive and in hospital that day), weakened by effect_loss_per_day "
        "(the share of its log hazard ratio lost per day of delay from onset); "
        "marginal_hazard_ratio compares the "
        "treated and untreated worlds of the same patients from their start day; "
        "historical_era is the ratio at full historical "
        "weight (a step at the era boundary, or a linear trend over calendar_trend_years "
        "centred on it); age_per_decade is per 10 years of age at onset; odds ratios are for "
        "the logistic models of ventilation, nephritis and intended treatment; strategies and "
        "standardized_risks are risks of index-episode death as defined in "
        "dah_outcomes.synthetic.strategies",
    }


def _episode_rows(
    sc: Scenario,
    params: dict[str, float],
    draw: _EpisodeDraw,
    idx: np.ndarray,
    onset: np.ndarray,
    ep: IndexEpisodes,
    death_time: np.ndarray,
    death_day: np.ndarray,
    censor_day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Index episodes plus recurrences, until death, end of follow-up or max_episodes.

    ``death_day`` is updated in place when a recurrent episode is fatal. Returns the episodes,
    the treatment courses, and per DAH patient the cause a death would be recorded with.
    """
    # A recurrence's hazard uses the index episode's covariates (nephritis, treatment).
    ep = apply_timing(ep, death_time)
    rate = np.exp(params["recurrence"] + recurrence_linear_predictor(sc, ep))
    frames, courses = [], []
    number, cur_onset, cur_ep = 1, onset, ep
    alive_rows = np.arange(len(idx))
    cause = np.full(len(idx), "other", dtype=object)
    rec_hr = sc.death["recurrent_episode_hazard_ratio"]
    acute_only = {**sc.death, "chronic_relative_rate": 0.0}
    while True:
        stay_end = cur_onset + cur_ep.stay_days
        dd = death_day[alive_rows]
        fatal = (dd <= stay_end) & (dd <= censor_day[alive_rows])
        discharge = np.where(fatal, dd, stay_end)
        cause[alive_rows[fatal]] = _in_hospital_cause(cur_ep, fatal, rng)
        frames.append(_frame(idx[alive_rows], number, cur_onset, discharge, fatal, cur_ep))
        courses.append(_courses(idx[alive_rows], number, cur_onset, cur_ep))
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
        cur_ep = draw.features(idx[alive_rows], cur_onset, np.zeros(len(alive_rows), dtype=bool))
        # the time to death from this onset: the index draw's, or the new episode's acute risk
        to_death = (death_day[alive_rows] - cur_onset) + 0.5
        if rec_hr > 0:
            rec_params = {**params, "death": params["death"] + np.log(rec_hr)}
            acute = draw_death_time(sc, rec_params, cur_ep, rng, death_model=acute_only)
            to_death = np.minimum(to_death, acute)
            death_day[alive_rows] = cur_onset + np.floor(to_death).astype(np.int64)
        cur_ep = apply_timing(cur_ep, to_death)
    return (
        pd.concat(frames, ignore_index=True),
        pd.concat(courses, ignore_index=True),
        cause,
    )


def _in_hospital_cause(ep: IndexEpisodes, fatal: np.ndarray, rng: np.random.Generator):
    """Recorded cause of an in-hospital death: infection for some of the infected, else DAH."""
    infected = ep.features["infection"][fatal] > 0
    return np.where(infected & (rng.random(int(fatal.sum())) < 0.4), "infection", "dah")


def _courses(rows: np.ndarray, number: int, onset: np.ndarray, ep: IndexEpisodes) -> pd.DataFrame:
    """One treatment course per treatment given in each episode, dated from its start day.

    Oral prednisone and rFVIIa, which have no declared effect or timing, are dated at onset
    (glucocorticoids ongoing or begun at presentation; rFVIIa for the acute bleed).
    """
    parts = []
    at_onset = {t: np.where(ep.features[t] > 0, 0.0, np.inf) for t in ("oral_prednisone", "rfviia")}
    for k, name in enumerate((*TREATMENTS, *at_onset)):
        days = ep.starts[:, k] if k < len(TREATMENTS) else at_onset[name]
        given = np.isfinite(days)
        if not given.any():
            continue
        start = onset[given] + days[given].astype(np.int64)
        sessions = pd.array(
            ep.features["plasmapheresis_sessions"][given].astype(np.int64)
            if name == "plasmapheresis"
            else np.full(int(given.sum()), pd.NA),
            dtype="Int64",
        )
        dose = pd.array(
            ep.features["methylprednisolone_dose_mg"][given]
            if name == "methylprednisolone_pulse"
            else np.full(int(given.sum()), np.nan),
            dtype="Float64",
        )
        parts.append(
            pd.DataFrame(
                {
                    "patient_id": _ids(rows[given]),
                    "episode_number": pd.array(np.full(int(given.sum()), number), dtype="Int64"),
                    "treatment": name,
                    "start_date": _dates(start),
                    "dose_mg": dose,
                    "sessions": sessions,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _ids(rows: np.ndarray):
    return pd.array([f"SLE{r + 1:07d}" for r in rows], dtype="string")


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
    data: dict[str, object] = {
        "patient_id": _ids(rows),
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


def _patient_table(
    sc: Scenario, pop, end: np.ndarray, death: np.ndarray, cause: np.ndarray
) -> pd.DataFrame:
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
            # the generator knows every death: the others were alive when last followed
            "vital_status": pd.array(np.where(death >= 0, "dead", "alive"), dtype="string"),
            "cause_of_death": pd.array([c or None for c in cause], dtype="string"),
            "site": pd.array(sites[pop.site], dtype="string"),
        }
    )
