"""Ground truth of treatment strategies and of standardised arm risks, for causal estimators.

A scenario's ``[[strategies]]`` name a treatment ``k``, a grace period of ``G`` days and a
horizon of ``H`` days. Their truth is computed on one large simulated population (the same
patients, covariates, other treatments and hazards in every world), as means of model
probabilities over patients rather than of draws, so it carries little Monte Carlo noise.

The strategies are those the clone-censor-weight (CCW) estimand defines, with inverse
probability of censoring weights on the covariates of the data-generating model. Write, per
patient, ``A(s)`` for the natural probability that a course of ``k`` is planned to start on day
``s`` (intended with the logistic probability of the treatment model, on a start day of the
declared timing law, in hospital that day), ``D(t; s)`` for the probability of death before
time ``t`` (days from onset) when it starts on day ``s`` (``s = inf``: never), a course being
given only to a patient alive on its start day, and ``c = G + 1`` (a death on day ``G`` or
earlier falls within the grace period). Death by the horizon is death before ``H + 1``.

* **Start within G days** ("treated"). Within the grace period the course follows its natural
  course: deaths before ``c`` are those of the natural world, treated or not, and count in this
  arm (as in CCW, where a clone dying in the grace period has not deviated). Patients alive at
  ``c`` all follow the strategy: their risk after ``c`` is that of the patients with the same
  covariates who started on a day ``s <= G`` and are alive at ``c`` (start days weighted by
  ``A(s) * (1 - D(c; s))``), which is what weighting the starters by the inverse probability of
  having started by ``G`` gives. A patient with no chance of a start within ``G`` (e.g. a
  course held back by an infection beyond the grace period: a positivity violation that no
  estimator can overcome) is given the course on day ``G``; their share is recorded as
  ``share_without_positivity``.
* **Not within G days** ("untreated"). No course of ``k`` starts on a day ``s <= G``; after the
  grace period courses start as they naturally would among patients with the same covariates
  who had not started: on day ``s > G`` with probability ``A(s) / (1 - sum_{u <= G} A(u))``,
  never otherwise (CCW's weighted clones that had not started by ``G``).

Each risk is written as the never-treated risk plus terms that are each a difference between a
treated and the never-treated world, so a treatment without any effect (hazard ratio 1, which
splits no hazard segment: bit-identical worlds) gives a risk difference of exactly 0 and a
risk ratio of exactly 1.

Standardised risks by arm are the risks of death by 30 and 90 days and in hospital (before the
day after the index episode's discharge) if every patient of the population received that
arm's treatments: each course the arm requires planned on the patient's own start day (given if
alive and in hospital then), each it excludes not given, the others as they naturally are:

* ``MP+CYC+PLEX``: methylprednisolone pulses, cyclophosphamide and plasmapheresis given;
* ``MP+CYC``: pulses and cyclophosphamide given, plasmapheresis not;
* ``Rituximab``: rituximab given, cyclophosphamide not (so no arm above applies);
* ``Steroids without CYC``: cyclophosphamide and rituximab not given (pulses as natural).

Every truth is of the index episode's death process (the one the declared hazard ratios act
on); the acute risk of a recurrent episode within the horizon is not part of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import poisson

from dah_outcomes.errors import ArgumentError
from dah_outcomes.synthetic.generator import course_log_hazard_ratios
from dah_outcomes.synthetic.model import linear_predictor, logistic_probability, timed_cumhaz
from dah_outcomes.synthetic.scenario import TREATMENTS, Scenario
from dah_outcomes.synthetic.truth import TruthPopulation, truth_population

__all__ = [
    "ARM_INTERVENTIONS",
    "STANDARDIZED_HORIZONS",
    "standardized_risks_truth",
    "strategies_truth",
    "strategy_truth",
]

#: SLE patients simulated for the strategy and arm truths stored with every cohort.
STRATEGY_N_SLE = 400_000
STRATEGY_SEED = 98
#: Horizons of the standardised arm risks (days, or death before discharge).
STANDARDIZED_HORIZONS: tuple[int | str, ...] = (30, 90, "in_hospital")
#: Per arm of the default arm definition: the treatments given and those withheld.
ARM_INTERVENTIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "MP+CYC+PLEX": (("methylprednisolone_pulse", "cyclophosphamide", "plasmapheresis"), ()),
    "MP+CYC": (("methylprednisolone_pulse", "cyclophosphamide"), ("plasmapheresis",)),
    "Rituximab": (("rituximab",), ("cyclophosphamide",)),
    "Steroids without CYC": ((), ("cyclophosphamide", "rituximab")),
}
_CACHE: dict[tuple[str, int, int], TruthPopulation] = {}
_RESULTS: dict[tuple[str, str], Any] = {}


def _population(sc: Scenario, n_sle: int, seed: int) -> TruthPopulation:
    key = (sc.digest, n_sle, seed)
    if key not in _CACHE:
        _CACHE.clear()  # one population at a time (about 22,000 DAH patients)
        _CACHE[key] = truth_population(sc, n_sle, seed)
    return _CACHE[key]


def strategy_truth(
    sc: Scenario,
    treatment: str,
    *,
    grace_days: int,
    horizon_days: int,
    n_sle: int = STRATEGY_N_SLE,
    seed: int = STRATEGY_SEED,
    adjust_for: Sequence[str] | None = None,
) -> dict[str, Any]:
    """True risks of death by the horizon under "start within G days" and "not within G".

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.
    treatment : str
        One of the modelled treatments.
    grace_days : int
        Grace period ``G``: a course on day ``G`` or earlier starts within it.
    horizon_days : int
        Death on day ``H`` or earlier counts.
    n_sle : int
        SLE patients simulated.
    seed : int
        Seed of the simulation.
    adjust_for : sequence of str, optional
        Episode features (e.g. ``("severe", "infection", "mechanical_ventilation",
        "modern_era")``) standing for an estimator's adjustment set. By default a patient
        alive and untreated at the end of the grace period takes the risk of starters with
        all of their own covariates; with ``adjust_for`` that of the starters who share only
        these features, the estimand of clone-censor-weight with a censoring model on them.
        It differs when omitted prognostic covariates (age, site, the calendar trend within
        an era) are distributed differently among starters and non-starters who survive the
        grace period. A diagnostic: not exactly 0 under a null effect (Monte Carlo noise).

    Returns
    -------
    dict
        ``treatment``, ``grace_days``, ``horizon_days``, ``risk_treated``, ``risk_untreated``,
        ``risk_difference`` (treated minus untreated), ``risk_ratio``,
        ``risk_difference_mc_se`` (Monte Carlo standard error of the simulated truth),
        ``share_planned_within_grace`` (natural course: intended, in hospital, on a day
        ``<= G``; some die before it), ``share_without_positivity`` and
        ``n_dah`` (patients simulated), as defined in the module docstring.
    """
    if treatment not in TREATMENTS:
        raise ArgumentError(f"treatment must be one of {list(TREATMENTS)}, got {treatment!r}")
    for name, v, low in (("grace_days", grace_days, 0), ("horizon_days", horizon_days, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise ArgumentError(f"{name} must be a whole number >= {low}, got {v!r}")
    if horizon_days < grace_days:
        raise ArgumentError(
            f"horizon_days ({horizon_days}) must not be shorter than grace_days ({grace_days})"
        )
    tp = _population(sc, n_sle, seed)
    world = _World(sc, tp, TREATMENTS.index(treatment))
    strata = None
    if adjust_for is not None:
        unknown = [f for f in adjust_for if f not in tp.episodes.features]
        if unknown:
            raise ArgumentError(f"adjust_for names unknown episode features {unknown}")
        strata = np.column_stack([tp.episodes.features[f] for f in adjust_for])
    treated, untreated, started, no_positivity = world.risks(
        int(grace_days), int(horizon_days), strata
    )
    r1, r0 = float(treated.mean()), float(untreated.mean())
    return {
        "treatment": treatment,
        "grace_days": int(grace_days),
        "horizon_days": int(horizon_days),
        "risk_treated": r1,
        "risk_untreated": r0,
        "risk_difference": r1 - r0,
        "risk_ratio": r1 / r0,
        # the truth's own Monte Carlo error: the patients are independent draws
        "risk_difference_mc_se": float(np.std(treated - untreated) / np.sqrt(len(treated))),
        "share_planned_within_grace": float(started.mean()),
        "share_without_positivity": float(no_positivity.mean()),
        "n_dah": len(tp.scale),
        **({"adjusted_for": list(adjust_for)} if adjust_for is not None else {}),
    }


def strategies_truth(sc: Scenario) -> list[dict[str, Any]]:
    """The truth of every strategy ``sc`` declares (``[[strategies]]``), in declared order.

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.

    Returns
    -------
    list of dict
        One :func:`strategy_truth` per declared strategy (cached per scenario text).
    """
    key = ("strategies", sc.digest)
    if key not in _RESULTS:
        _RESULTS[key] = [
            strategy_truth(
                sc, s["treatment"], grace_days=s["grace_days"], horizon_days=s["horizon_days"]
            )
            for s in sc.strategies
        ]
    return [dict(x) for x in _RESULTS[key]]


def standardized_risks_truth(
    sc: Scenario, *, n_sle: int = STRATEGY_N_SLE, seed: int = STRATEGY_SEED
) -> dict[str, list[dict[str, Any]]]:
    """Risk of death if every patient received each arm's treatments (module docstring).

    Parameters
    ----------
    sc : Scenario
        A loaded scenario.
    n_sle : int
        SLE patients simulated.
    seed : int
        Seed of the simulation.

    Returns
    -------
    dict
        ``{"all": [...], "historical": [...], "modern": [...]}``: per era of onset (``all``:
        every patient), a list of ``{"arm", "horizon_days", "risk"}`` over
        :data:`ARM_INTERVENTIONS` and :data:`STANDARDIZED_HORIZONS` (``"in_hospital"``: death
        before the day after discharge). Cached per scenario text at the default size.
    """
    key = ("standardized", sc.digest)
    if (n_sle, seed) == (STRATEGY_N_SLE, STRATEGY_SEED) and key in _RESULTS:
        return {g: [dict(x) for x in v] for g, v in _RESULTS[key].items()}
    tp = _population(sc, n_sle, seed)
    ep = tp.episodes
    modern = ep.features["modern_era"] > 0
    groups = {"all": np.ones(len(modern), dtype=bool), "historical": ~modern, "modern": modern}
    out: dict[str, list[dict[str, Any]]] = {g: [] for g in groups}
    for arm, (given, withheld) in ARM_INTERVENTIONS.items():
        starts = ep.starts.copy()
        for t in given:
            starts[:, TREATMENTS.index(t)] = ep.potential_starts[:, TREATMENTS.index(t)]
        for t in withheld:
            starts[:, TREATMENTS.index(t)] = np.inf
        log_hr = course_log_hazard_ratios(sc, starts)
        for horizon in STANDARDIZED_HORIZONS:
            if horizon == "in_hospital":
                until = ep.stay_days + 1.0
            else:
                until = np.full(len(starts), float(horizon) + 1.0)
            risk = -np.expm1(-tp.scale * timed_cumhaz(until, starts, log_hr, sc.death))
            for g, rows in groups.items():
                out[g].append(
                    {"arm": arm, "horizon_days": horizon, "risk": float(risk[rows].mean())}
                )
    if (n_sle, seed) == (STRATEGY_N_SLE, STRATEGY_SEED):
        _RESULTS[key] = out
    return {g: [dict(x) for x in v] for g, v in out.items()}


class _World:
    """One treatment's worlds on a truth population: natural start-day law and death risks."""

    def __init__(self, sc: Scenario, tp: TruthPopulation, k: int) -> None:
        self.sc, self.tp, self.k = sc, tp, k
        ep = tp.episodes
        name = TREATMENTS[k]
        lin = linear_predictor(sc.effects[name], ep.features, len(tp.scale))
        self.p_intended = logistic_probability(tp.parameters[name], lin)
        timing = sc.timing[name]
        self.offset = (
            timing["first_day"] + timing["infection_delay_days"] * ep.features["infection"]
        )
        self.mean_delay = timing["mean_delay_days"]
        self.stay = ep.stay_days.astype(float)

    def start_law(self, last_day: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Support days and natural probabilities ``A(s)`` of planned starts up to ``last_day``."""
        m = self.mean_delay
        # beyond 12 standard deviations (plus 20 days) a Poisson tail is below 1e-20
        n_delays = int(m + 12.0 * np.sqrt(m) + 20.0) if m > 0 else 1
        days, probs = [], []
        for j in range(n_delays):
            s = self.offset + j
            pmf = poisson.pmf(j, m) if m > 0 else 1.0
            if j > m and pmf < 1e-18:
                break  # the rest of the tail weighs less than 1e-17 in all
            ok = (s <= self.stay) & (s <= last_day)
            if not ok.any():
                if (self.offset + j > last_day).all():
                    break
                continue
            days.append(s)
            probs.append(np.where(ok, self.p_intended * pmf, 0.0))
        return days, probs

    def death_before(self, t: float, start: np.ndarray | float) -> np.ndarray:
        """``D(t; s)``: P(death before ``t``) with the course planned on day ``start``."""
        ep = self.tp.episodes
        starts = ep.starts.copy()
        starts[:, self.k] = start
        log_hr = course_log_hazard_ratios(self.sc, starts)
        g = timed_cumhaz(np.full(len(starts), float(t)), starts, log_hr, self.sc.death)
        return -np.expm1(-self.tp.scale * g)

    def risks(
        self, grace: int, horizon: int, strata: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """Per patient: risk treated, risk untreated, P(natural start within G), no positivity.

        With ``strata`` (one row of covariate values per patient), a patient alive at the end
        of the grace period who has not started takes the risk of the starters of their
        stratum rather than of their own covariates (see :func:`strategy_truth`).
        """
        c, h = grace + 1.0, horizon + 1.0
        base_h, base_c = self.death_before(h, np.inf), self.death_before(c, np.inf)
        rho_never = (1.0 - base_h) / (1.0 - base_c)
        days, probs = self.start_law(float(horizon))
        n = len(base_h)
        within = np.zeros(n)
        delta1, w_sum, w_rho = np.zeros(n), np.zeros(n), np.zeros(n)
        after = []
        for s, a in zip(days, probs, strict=True):
            d_h, d_c = self.death_before(h, s), self.death_before(c, s)
            early = s <= grace
            a_in = np.where(early, a, 0.0)
            within += a_in
            delta1 += np.where(s < c, a, 0.0) * (d_c - base_c)
            # starters alive at c, and their survival from c to the horizon, minus the untreated
            w = a_in * (1.0 - d_c)
            w_sum += w
            w_rho += w * ((1.0 - d_h) / (1.0 - d_c) - rho_never)
            after.append(np.where(early, 0.0, a) * (d_h - base_h))
        if strata is not None:
            # pool the starters of each stratum: sum_i sum_s w_i(s) rho_i(s) / sum_i W_i
            _, group = np.unique(strata, axis=0, return_inverse=True)
            group = group.ravel()
            num = np.bincount(group, weights=w_rho + w_sum * rho_never)
            den = np.bincount(group, weights=w_sum)
            has = den[group] > 0.0
            w_sum = np.where(has, 1.0, 0.0)
            w_rho = np.where(has, num[group] / np.where(has, den[group], 1.0) - rho_never, 0.0)
        no_positivity = w_sum <= 0.0
        fallback = self.death_before(h, float(grace)), self.death_before(c, float(grace))
        delta2 = np.where(
            no_positivity,
            (1.0 - fallback[0]) / (1.0 - fallback[1]) - rho_never,
            w_rho / np.where(no_positivity, 1.0, w_sum),
        )
        treated = base_h + delta1 * (rho_never + delta2) - (1.0 - base_c) * delta2
        untreated = base_h + sum(after, np.zeros(n)) / (1.0 - within)
        return treated, untreated, within, no_positivity.astype(float)
