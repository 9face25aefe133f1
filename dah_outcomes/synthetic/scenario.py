"""Scenario files: the declared targets and effects a synthetic cohort is generated from.

A scenario is a TOML file (shipped ones live in ``dah_outcomes/synthetic/scenarios/``). It
declares marginal *targets* (rates the calibration meets in expectation) and *effects* (odds
ratios of ventilation and treatment choice, hazard ratios of death and recurrence) that the
calibration keeps fixed. Loading checks every field and raises one
:class:`~dah_outcomes.errors.ScenarioError` listing all problems.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from dah_outcomes.errors import ScenarioError

__all__ = [
    "AGE_CENTRE",
    "COVARIATES",
    "TREATMENTS",
    "Scenario",
    "available_scenarios",
    "load_scenario",
]

#: Treatments whose use is modelled by a calibrated logistic model.
TREATMENTS = (
    "methylprednisolone_pulse",
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
    "mycophenolate",
    "hydroxychloroquine",
)
#: Episode covariates an effect may name (besides earlier treatments, for death).
COVARIATES = (
    "severe",
    "infection",
    "nephritis",
    "first_manifestation",
    "mechanical_ventilation",
    "modern_era",
    "age_per_decade",
)
#: Age (years at DAH onset) at which ``age_per_decade`` is zero.
AGE_CENTRE = 40.0
_RATE_TARGETS = (
    "dah_incidence",
    "first_manifestation",
    "mechanical_ventilation",
    "nephritis",
    "recurrence",
    "mortality_reference_arm",
    "mortality_historical_era",
    *TREATMENTS,
)
_MODELS = {
    "mechanical_ventilation": COVARIATES,
    "nephritis": COVARIATES,
    **{t: COVARIATES for t in TREATMENTS},
    "death": (*COVARIATES, *TREATMENTS),
    "recurrence": (*COVARIATES, *TREATMENTS),
}
_POPULATION_NUMBERS = {
    "female_fraction": (0.0, 1.0),
    "age_at_diagnosis_mean": (1.0, 90.0),
    "age_at_diagnosis_sd": (0.0, 40.0),
    "annual_loss_to_followup": (0.0, 0.5),
    "annual_background_mortality": (0.0, 0.5),
}
_PREVALENCES = ("severe", "infection", "bal_confirmed", "ecmo_if_ventilated", "rfviia")
_DEATH = {
    "acute_days": (1.0, 365.0),
    "acute_shape": (0.05, 5.0),
    "chronic_relative_rate": (0.0, 10.0),
}
# Optional [death] numbers (a scenario without them keeps the first model: a step at the era
# boundary and no acute-phase death risk in recurrent episodes).
_DEATH_OPTIONAL = {
    "calendar_trend_years": ((0.0, 60.0), 0.0),
    "recurrent_episode_hazard_ratio": ((0.0, 100.0), 0.0),
}
# [timing.<treatment>]: start day = first_day + Poisson(mean_delay_days), plus
# infection_delay_days when the episode has an infection; default: every course on day 0.
# effect_loss_per_day: the share of the log hazard ratio of death lost per day of delay from
# onset (a course started on day s acts with log(HR) * max(0, 1 - loss * s)); default 0.
_TIMING = {
    "first_day": ((0.0, 365.0), 0.0),
    "mean_delay_days": ((0.0, 365.0), 0.0),
    "infection_delay_days": ((0.0, 365.0), 0.0),
    "effect_loss_per_day": ((0.0, 1.0), 0.0),
}
# [[strategies]]: treatment strategies whose true risks the generator records.
_STRATEGY = {"grace_days": (0, 365), "horizon_days": (1, 3650)}
_COURSE = {
    "length_of_stay_median_days": (1.0, 365.0),
    "length_of_stay_sd_log": (0.0, 3.0),
    "ventilated_stay_factor": (0.1, 10.0),
    "ventilation_days_mean": (0.5, 100.0),
    "max_episodes": (1.0, 50.0),
    "min_recurrence_gap_days": (1.0, 365.0),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed, checked scenario.

    Attributes
    ----------
    name, description : str
        Identity of the scenario.
    population : dict
        Dates (as ``numpy.datetime64[D]``), fractions and rates of the SLE source population.
    targets : dict of str to float
        Marginal rates met in expectation by calibration.
    reference_arm : str
        Arm whose in-hospital mortality is ``targets["mortality_reference_arm"]``.
    prevalence : dict of str to float
        Prevalence of uncalibrated episode features.
    effects : dict of str to dict of str to float
        Per model, the odds or hazard ratio of each covariate (the ground truth).
    death, course : dict of str to float
        Shape of the death hazard (acute phase, chronic rate, the width of the smooth calendar
        trend, the acute-phase hazard ratio of a recurrent episode) and of the hospital course.
    timing : dict of str to dict of str to float
        Per treatment, the day its course starts after onset: ``first_day`` plus a Poisson
        delay with mean ``mean_delay_days``, plus ``infection_delay_days`` with infection. A
        course is given only to a patient alive and in hospital on that day. A course started
        on day ``s`` acts with ``log(HR) * max(0, 1 - effect_loss_per_day * s)``: the effect
        of a delayed course is weaker.
    onset_shape : float
        Weibull shape of the hazard of a later first DAH after SLE diagnosis (below 1: onsets
        concentrate early).
    site_hazard_ratios : dict of str to float
        Hazard ratio of death at each site (1 for every site unless declared).
    strategies : tuple of dict
        Declared treatment strategies (``treatment``, ``grace_days``, ``horizon_days``): "start
        within ``grace_days``" against "not within", whose true risks of death by
        ``horizon_days`` the generator records (see :mod:`dah_outcomes.synthetic.strategies`).
    source : str
        Where the scenario was read from; ``digest`` is the sha256 of its text.
    """

    name: str
    description: str
    population: dict[str, Any]
    targets: dict[str, float]
    reference_arm: str
    prevalence: dict[str, float]
    effects: dict[str, dict[str, float]]
    death: dict[str, float]
    course: dict[str, float]
    timing: dict[str, dict[str, float]]
    onset_shape: float
    site_hazard_ratios: dict[str, float]
    source: str = field(repr=False)
    digest: str = field(repr=False)
    strategies: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe declaration (stored in provenance)."""
        pop = {
            k: (str(v) if isinstance(v, np.datetime64) else v) for k, v in self.population.items()
        }
        return {
            "name": self.name,
            "description": self.description,
            "population": pop,
            "targets": dict(self.targets),
            "reference_arm": self.reference_arm,
            "prevalence": dict(self.prevalence),
            "effects": {m: dict(e) for m, e in self.effects.items()},
            "death": dict(self.death),
            "course": dict(self.course),
            "timing": {t: dict(v) for t, v in self.timing.items()},
            "onset_shape": self.onset_shape,
            "site_hazard_ratios": dict(self.site_hazard_ratios),
            "strategies": [dict(x) for x in self.strategies],
            "source": self.source,
            "sha256": self.digest,
        }


def available_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package.

    Returns
    -------
    list of str
        Sorted names, each accepted by :func:`load_scenario`.
    """
    folder = resources.files("dah_outcomes.synthetic") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name, or a scenario TOML file by path.

    Parameters
    ----------
    name_or_path : str or Path
        A name from :func:`available_scenarios`, or the path of a scenario ``.toml``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the scenario is unknown, unreadable, or any field is missing or out of range
        (all problems are listed in one message).
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    elif str(name_or_path) in available_scenarios():
        ref = resources.files("dah_outcomes.synthetic") / "scenarios" / f"{name_or_path}.toml"
        text, source = ref.read_text(encoding="utf-8"), f"builtin:{name_or_path}"
    else:
        raise ScenarioError(
            f"unknown scenario {str(name_or_path)!r}: give one of {available_scenarios()} "
            "or the path of a scenario .toml file"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario {source} is not valid TOML: {exc}") from exc
    return _parse(raw, source, hashlib.sha256(text.encode()).hexdigest())


class _Reader:
    """Reads a scenario's sections, collecting every problem instead of stopping at the first
    (so one error lists them all)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name)
        if not isinstance(value, dict):
            self.problems.append(f"[{name}] section is missing")
            return {}
        return value

    def number(self, sec: str, table: dict[str, Any], key: str, low: float, high: float) -> float:
        v = table.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.problems.append(f"[{sec}] {key} must be a number, found {v!r}")
            return float("nan")
        if not low <= v <= high:
            self.problems.append(f"[{sec}] {key} = {v} is outside [{low}, {high}]")
        return float(v)

    def population(self) -> dict[str, Any]:
        pop_raw = self.section("population")
        population: dict[str, Any] = {}
        dated = True
        for key in ("diagnosis_start", "diagnosis_end", "study_end", "era_boundary"):
            try:
                population[key] = np.datetime64(str(pop_raw.get(key)), "D")
            except ValueError:
                dated = False
                self.problems.append(
                    f"[population] {key} must be a date YYYY-MM-DD, found {pop_raw.get(key)!r}"
                )
        for key, (low, high) in _POPULATION_NUMBERS.items():
            population[key] = self.number("population", pop_raw, key, low, high)
        sites = pop_raw.get("sites")
        if not (isinstance(sites, list) and sites and all(isinstance(s, str) for s in sites)):
            self.problems.append("[population] sites must be a non-empty list of names")
            sites = ["site-A"]
        population["sites"] = list(sites)
        if dated and not (
            population["diagnosis_start"] < population["diagnosis_end"] < population["study_end"]
        ):
            self.problems.append("[population] need diagnosis_start < diagnosis_end < study_end")
        return population

    def targets(self) -> dict[str, float]:
        targets_raw = self.section("targets")
        unknown = sorted(set(targets_raw) - set(_RATE_TARGETS))
        if unknown:
            self.problems.append(
                f"[targets] unknown target(s) {unknown}; known: {list(_RATE_TARGETS)}"
            )
        return {k: self.number("targets", targets_raw, k, 1e-6, 1 - 1e-6) for k in _RATE_TARGETS}

    def effects(self) -> dict[str, dict[str, float]]:
        effects_raw = self.section("effects")
        effects: dict[str, dict[str, float]] = {}
        for model, allowed in _MODELS.items():
            table = effects_raw.get(model, {})
            bad = sorted(set(table) - set(allowed))
            if bad:
                self.problems.append(
                    f"[effects.{model}] unknown covariate(s) {bad}; allowed: {list(allowed)}"
                )
            effects[model] = {
                k: self.number(f"effects.{model}", table, k, 1e-3, 1e3)
                for k in table
                if k in allowed
            }
        extra_models = sorted(set(effects_raw) - set(_MODELS))
        if extra_models:
            self.problems.append(
                f"[effects] unknown model(s) {extra_models}; known: {list(_MODELS)}"
            )
        return effects

    def ranged(self, name: str, ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
        raw = self.section(name)
        return {k: self.number(name, raw, k, lo, hi) for k, (lo, hi) in ranges.items()}

    def optional(
        self, name: str, table: dict[str, Any], spec: dict[str, tuple[tuple[float, float], float]]
    ) -> dict[str, float]:
        """Numbers of ``table`` that may be absent (their declared defaults then)."""
        return {
            k: self.number(name, table, k, lo, hi) if k in table else default
            for k, ((lo, hi), default) in spec.items()
        }

    def timing(self) -> dict[str, dict[str, float]]:
        raw = self.raw.get("timing", {})
        if not isinstance(raw, dict):
            self.problems.append("[timing] must be a table of [timing.<treatment>] tables")
            raw = {}
        unknown = sorted(set(raw) - set(TREATMENTS))
        if unknown:
            self.problems.append(
                f"[timing] unknown treatment(s) {unknown}; known: {list(TREATMENTS)}"
            )
        out = {}
        for t in TREATMENTS:
            table = raw.get(t, {})
            if not isinstance(table, dict):
                self.problems.append(f"[timing.{t}] must be a table")
                table = {}
            extra = sorted(set(table) - set(_TIMING))
            if extra:
                self.problems.append(f"[timing.{t}] unknown key(s) {extra}; known: {list(_TIMING)}")
            out[t] = self.optional(f"timing.{t}", table, _TIMING)
        return out

    def strategies(self) -> tuple[dict[str, Any], ...]:
        raw = self.raw.get("strategies", [])
        if not (isinstance(raw, list) and all(isinstance(x, dict) for x in raw)):
            self.problems.append("strategies must be [[strategies]] tables")
            return ()
        out = []
        for i, table in enumerate(raw):
            where = f"strategies[{i}]"
            extra = sorted(set(table) - {"treatment", *_STRATEGY})
            if extra:
                self.problems.append(f"[{where}] unknown key(s) {extra}")
            treatment = table.get("treatment")
            if treatment not in TREATMENTS:
                self.problems.append(
                    f"[{where}] treatment must be one of {list(TREATMENTS)}, found {treatment!r}"
                )
            entry: dict[str, Any] = {"treatment": treatment}
            for key, (low, high) in _STRATEGY.items():
                v = table.get(key)
                if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                    self.problems.append(
                        f"[{where}] {key} must be a whole number in [{low}, {high}], found {v!r}"
                    )
                entry[key] = v
            out.append(entry)
        return tuple(out)

    def sites(self, population: dict[str, Any]) -> dict[str, float]:
        raw = self.raw.get("population", {}).get("site_death_hazard_ratios")
        names = population["sites"]
        if raw is None:
            return dict.fromkeys(names, 1.0)
        if not isinstance(raw, list) or len(raw) != len(names):
            self.problems.append(
                f"[population] site_death_hazard_ratios must list one ratio per site ({len(names)})"
            )
            return dict.fromkeys(names, 1.0)
        table = {str(i): v for i, v in enumerate(raw)}
        return {
            name: self.number("population", table, str(i), 1e-3, 1e3)
            for i, name in enumerate(names)
        }

    def text(self, key: str, *, within: str | None = None, hint: str) -> str | None:
        holder = self.raw.get(within) if within else self.raw
        value = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(value, str) or not value:
            self.problems.append(hint)
            return None
        return value


def _parse(raw: dict[str, Any], source: str, digest: str) -> Scenario:
    r = _Reader(raw)
    population = r.population()
    targets = r.targets()
    prevalence = {
        k: r.number("prevalence", r.section("prevalence"), k, 0.0, 1.0) for k in _PREVALENCES
    }
    effects = r.effects()
    death, course = r.ranged("death", _DEATH), r.ranged("course", _COURSE)
    death.update(r.optional("death", r.raw.get("death", {}), _DEATH_OPTIONAL))
    timing = r.timing()
    strategies = r.strategies()
    onset_raw = r.raw.get("onset", {})
    onset_shape = r.number("onset", onset_raw, "shape", 0.05, 5.0) if "shape" in onset_raw else 1.0
    site_hr = r.sites(population)
    ref = r.text(
        "name",
        within="reference_arm",
        hint='[reference_arm] name must be an arm name, e.g. "MP+CYC+PLEX"',
    )
    name = r.text("name", hint="name must be a non-empty string")
    if r.problems:
        raise ScenarioError(
            f"scenario {source} has {len(r.problems)} problem(s):\n  - " + "\n  - ".join(r.problems)
        )
    return Scenario(
        name=str(name),
        description=str(raw.get("description", "")).strip(),
        population=population,
        targets=targets,
        reference_arm=str(ref),
        prevalence=prevalence,
        effects=effects,
        death=death,
        course=course,
        timing=timing,
        onset_shape=onset_shape,
        site_hazard_ratios=site_hr,
        source=source,
        digest=digest,
        strategies=strategies,
    )
