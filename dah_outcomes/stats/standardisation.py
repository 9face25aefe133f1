"""Standardised risks by arm: g-computation and doubly robust (AIPW) estimates, with
bootstrap percentile intervals.

The risk of each arm is the risk the whole population would have had, had everyone received
that arm, at a horizon (death by day 30, by day 90) or for a binary outcome (death in
hospital).

Censoring. A patient followed for less than the horizon without the event has an unknown
outcome. Rather than drop them (biased: the short follow-ups are the survivors still in
hospital) or model time (a Cox or pooled logistic model), each patient whose outcome at the
horizon is known is weighted by the inverse of the probability of remaining uncensored until
then (IPCW), with that probability from the Kaplan-Meier estimate of the censoring
distribution within each arm. Censoring is thus assumed independent of the outcome given the
arm (registry follow-up ends at a calendar date or a transfer, not because of the patient's
course). Within an arm, the weighted proportion equals one minus the Kaplan-Meier estimate of
survival at the horizon (Satten and Datta 2001), which is the "observed" risk reported beside
the standardised ones; for a binary outcome every weight is 1.

- g-computation: a logistic model of the outcome (at the horizon) on the arm and the
  covariates, fitted with the IPC weights to the patients whose outcome is known, predicts
  every patient's risk under each arm; the standardised risk is their mean.
- AIPW: the g-computation mean plus the inverse-propensity-weighted mean residual of the
  patients of the arm (propensities from a multinomial logistic model of the arm on the same
  covariates). It is consistent when either the outcome or the propensity model is right.

Bootstrap: patients are resampled with replacement (as frequency weights drawn from a seeded
numpy Generator) and every model is refitted, warm-started from the full-sample fit;
intervals are percentile intervals of the replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from dah_outcomes.errors import ArgumentError, ConvergenceWarning, EstimationError, warn
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_conf_level, check_positive_int
from dah_outcomes.stats._cox_engine import design_matrix
from dah_outcomes.stats.propensity import (
    PropensityWeights,
    arm_codes,
    class_probabilities,
    multinomial_logit,
    propensity_positivity,
    weights_from_scores,
)

__all__ = [
    "RISK_METHODS",
    "ArmRisks",
    "RiskEndpoint",
    "censoring_weights",
    "standardised_arm_risks",
]

#: The estimators, in words (quoted in methods texts).
RISK_METHODS = {
    "observed": "the arm's own risk (one minus Kaplan-Meier at the horizon; the proportion "
    "for a binary outcome), unadjusted",
    "gcomputation": "g-computation: mean predicted risk under the arm from an IPC-weighted "
    "logistic outcome model of arm and covariates",
    "aipw": "augmented inverse-probability weighting: g-computation plus the propensity-"
    "weighted residuals of the arm's patients (doubly robust)",
}


@dataclass(frozen=True, slots=True)
class RiskEndpoint:
    """One outcome whose risk is standardised.

    Attributes
    ----------
    label : str
        Name in results (e.g. ``"30"`` or ``"in_hospital"``).
    event : str
        Column of the event: 1/True for the event; with ``time``, 0 means censored.
    time : str, optional
        Column of the time to the event or censoring (binary outcome when omitted).
    horizon : float, optional
        The horizon, in the units of ``time`` (required with ``time``): the event counts
        when ``time <= horizon``, and a patient is known event-free when ``time >= horizon``.
    """

    label: str
    event: str
    time: str | None = None
    horizon: float | None = None


def _censoring_before(
    time: np.ndarray, censored: np.ndarray, f: np.ndarray, query: np.ndarray
) -> np.ndarray:
    """Weighted Kaplan-Meier of the censoring distribution just before each query time,
    G(q-) = prod over censoring times u < q of (1 - c(u) / R(u)). Deaths at a time precede
    the censorings then, as in the Kaplan-Meier of survival, so R(u) leaves out the deaths at
    u; with that convention the weighted proportion of an arm is exactly one minus its
    Kaplan-Meier estimate."""
    keep = censored & (f > 0)
    u, inverse = np.unique(time[keep], return_inverse=True)
    if len(u) == 0:
        return np.ones(len(query))
    c = np.bincount(inverse, weights=f[keep], minlength=len(u))
    order = np.argsort(time, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(f[order])])
    at_risk = cum[-1] - cum[np.searchsorted(time[order], u, side="right")] + c
    surv = np.concatenate([[1.0], np.cumprod(1.0 - c / at_risk)])
    return surv[np.searchsorted(u, query, side="left")]


def censoring_weights(
    time: np.ndarray,
    event: np.ndarray,
    horizon: float,
    arm: np.ndarray,
    *,
    frequency: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The outcome at the horizon and each patient's inverse-probability-of-censoring weight.

    Parameters
    ----------
    time : ndarray
        Time to the event or censoring.
    event : ndarray
        1 for the event, 0 for censoring.
    horizon : float
        The horizon.
    arm : ndarray of int
        Strata of the censoring distribution (one Kaplan-Meier each).
    frequency : ndarray, optional
        Frequency weights (a bootstrap replicate's counts).

    Returns
    -------
    outcome : ndarray of float
        1 when the event happened by the horizon.
    weights : ndarray
        ``1 / G(min(time, horizon)-)`` for patients whose outcome is known, 0 for those
        censored before the horizon.
    """
    f = np.ones(len(time)) if frequency is None else frequency
    y = (event == 1) & (time <= horizon)
    known = y | (time >= horizon)
    q = np.minimum(time, horizon)
    g = np.ones(len(time))
    for a in np.unique(arm):
        m = arm == a
        g[m] = _censoring_before(time[m], event[m] == 0, f[m], q[m])
    return y.astype(float), np.where(known, 1.0 / np.where(known, g, 1.0), 0.0)


@dataclass(eq=False)
class _Data:
    """The arrays every replicate refits on."""

    x: np.ndarray
    arm: np.ndarray
    n_arms: int
    endpoints: list[tuple[RiskEndpoint, np.ndarray, np.ndarray | None]]  # (spec, event, time)


def _outcome(
    d: _Data, ep: RiskEndpoint, event: np.ndarray, time: np.ndarray | None, f: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The outcome and its weights (frequency times IPC weight; 0 where unknown)."""
    if time is None:
        return event.astype(float), f.copy()
    assert ep.horizon is not None
    y, ipcw = censoring_weights(time, event, ep.horizon, d.arm, frequency=f)
    return y, f * ipcw


def _replicate(
    d: _Data, f: np.ndarray, starts: list[np.ndarray | None]
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Observed, g-computation and AIPW risks, shape (endpoints, 3, arms), for frequency
    weights ``f``; the fitted coefficients (to warm-start replicates); the scores."""
    k = d.n_arms
    coef, ok = multinomial_logit(d.x, d.arm, k, weights=f, start=starts[0])
    if not ok:
        raise EstimationError("the propensity model did not converge")
    e = class_probabilities(d.x, coef)
    onehot = np.eye(k)[d.arm]
    xo = np.column_stack([onehot[:, 1:], d.x])
    out = np.empty((len(d.endpoints), 3, k))
    fitted = [coef]
    for j, (ep, event, time) in enumerate(d.endpoints):
        y, w = _outcome(d, ep, event, time, f)
        beta, ok = multinomial_logit(xo, y.astype(int), 2, weights=w, start=starts[j + 1])
        if not ok:
            raise EstimationError(f"the outcome model of {ep.label} did not converge")
        fitted.append(beta)
        b = beta[:, 0]
        base = b[0] + d.x @ b[k:]
        m = expit(base[:, None] + np.concatenate([[0.0], b[1:k]])[None, :])
        total = f.sum()
        gcomp = f @ m / total
        resid = onehot * (w * y)[:, None] - onehot * w[:, None] * m
        # only a patient's own arm has a residual: another arm's propensity may underflow to
        # 0 (separation in the propensity model), and 0 / 0 must not reach the sum
        inverse = np.divide(resid, e, out=np.zeros_like(resid), where=onehot > 0)
        aipw = gcomp + inverse.sum(axis=0) / total
        observed = (onehot * (w * y)[:, None]).sum(axis=0) / (onehot * w[:, None]).sum(axis=0)
        out[j] = np.vstack([observed, gcomp, aipw])
    return out, fitted, e


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmRisks(ResultMixin):
    """Standardised risks by arm for one or more endpoints.

    Attributes
    ----------
    estimates : DataFrame
        ``endpoint, arm, method`` (a key of :data:`RISK_METHODS`), ``risk, ci_lower,
        ci_upper``.
    counts : DataFrame
        ``endpoint, arm, n`` (patients), ``n_known`` (outcome known at the horizon),
        ``n_events``.
    arms : tuple of str
        The arms, in order.
    covariates : tuple of str
        The models' covariate terms.
    bootstrap : int
        Bootstrap replicates asked for.
    n_boot_failed : int
        Replicates in which a model could not be fitted (left out of the intervals).
    seed : int
        Seed of the bootstrap's numpy Generator.
    conf_level : float
    propensity : PropensityWeights
        The full-sample propensity scores, with stabilised ATE weights (for diagnostics).
    draws : ndarray, shape (bootstrap, endpoints, 3, arms)
        The replicates' estimates (NaN where one failed), in the order of ``estimates``.
    """

    estimates: pd.DataFrame = field(repr=False)
    counts: pd.DataFrame = field(repr=False)
    arms: tuple[str, ...]
    covariates: tuple[str, ...]
    bootstrap: int
    n_boot_failed: int
    seed: int
    conf_level: float
    propensity: PropensityWeights = field(repr=False)
    draws: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The estimates with their counts, one row per endpoint, arm and method."""
        return self.estimates.merge(self.counts, on=["endpoint", "arm"], how="left")

    def to_dict(self) -> dict[str, Any]:
        """The estimates and settings (JSON-safe).

        Returns
        -------
        dict
            ``arms, covariates, bootstrap, n_boot_failed, seed, conf_level, estimates``
            (rows of :meth:`to_frame`), ``propensity``.
        """
        return json_safe(
            {
                "arms": list(self.arms),
                "covariates": list(self.covariates),
                "bootstrap": self.bootstrap,
                "n_boot_failed": self.n_boot_failed,
                "seed": self.seed,
                "conf_level": self.conf_level,
                "estimates": self.to_frame(),
                "propensity": self.propensity,
            }
        )

    def _title(self) -> str:
        return (
            f"Standardised risks over {len(self.arms)} arms ({self.bootstrap} bootstrap replicates)"
        )


def _prepare(
    data: pd.DataFrame, treatment: str, covariates: Sequence[str], endpoints: Sequence[RiskEndpoint]
) -> tuple[_Data, tuple[str, ...], list[str]]:
    if not endpoints:
        raise ArgumentError("give at least one endpoint")
    cols = [treatment, *covariates]
    for ep in endpoints:
        if not isinstance(ep, RiskEndpoint):
            raise ArgumentError(f"endpoints must be RiskEndpoint objects, got {ep!r}")
        if (ep.time is None) != (ep.horizon is None):
            raise ArgumentError(f"endpoint {ep.label!r}: give both time and horizon, or neither")
        cols += [ep.event] + ([ep.time] if ep.time else [])
    missing = [c for c in dict.fromkeys(cols) if c not in data]
    if missing:
        raise ArgumentError(f"columns not found: {missing}")
    if data[list(dict.fromkeys(cols))].isna().any().any():
        raise ArgumentError(
            f"missing values in {list(dict.fromkeys(cols))}: drop or impute them first"
        )
    codes, arms = arm_codes(data[treatment])
    if len(arms) < 2:
        raise ArgumentError(f"standardised risks need at least two arms, got {list(arms)}")
    x, names = design_matrix(data, covariates)
    eps = []
    for ep in endpoints:
        event = data[ep.event].to_numpy(dtype=float)
        if not np.isin(event, (0.0, 1.0)).all():
            raise ArgumentError(f"event {ep.event!r} must be 0/1 (or False/True)")
        time = None if ep.time is None else data[ep.time].to_numpy(dtype=float)
        eps.append((ep, event, time))
    return _Data(x=x, arm=codes, n_arms=len(arms), endpoints=eps), arms, names


def _counts(d: _Data, arms: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    f = np.ones(len(d.arm))
    for ep, event, time in d.endpoints:
        y, w = _outcome(d, ep, event, time, f)
        for i, a in enumerate(arms):
            m = d.arm == i
            rows.append(
                {
                    "endpoint": ep.label,
                    "arm": a,
                    "n": int(m.sum()),
                    "n_known": int((w[m] > 0).sum()),
                    "n_events": int(y[m].sum()),
                }
            )
    return pd.DataFrame(rows)


def _bootstrap(
    d: _Data, fitted: list[np.ndarray], bootstrap: int, seed: int
) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(seed)
    n = len(d.arm)
    draws = np.full((bootstrap, len(d.endpoints), 3, d.n_arms), np.nan)
    failed = 0
    starts: list[np.ndarray | None] = list(fitted)
    for b in range(bootstrap):
        f = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        try:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                draws[b] = _replicate(d, f, starts)[0]
        except EstimationError:
            failed += 1
    return draws, failed


def standardised_arm_risks(
    data: pd.DataFrame,
    *,
    treatment: str,
    covariates: Sequence[str],
    endpoints: Sequence[RiskEndpoint],
    bootstrap: int = 200,
    seed: int = 0,
    conf_level: float = 0.95,
) -> ArmRisks:
    """Observed, g-computation and AIPW risks of each arm, with bootstrap intervals.

    Parameters
    ----------
    data : DataFrame
        One row per patient; no missing values in the columns used.
    treatment : str
        Column of arm labels (a categorical's order kept, else sorted).
    covariates : sequence of str
        Covariates of both the outcome and the propensity model (categories dummy-coded).
    endpoints : sequence of RiskEndpoint
        The outcomes (binary, or time to event at a horizon).
    bootstrap : int, default 200
        Bootstrap replicates (0: no intervals).
    seed : int, default 0
        Seed of the bootstrap's numpy Generator (the same seed gives the same intervals).
    conf_level : float, default 0.95
        Level of the percentile intervals.

    Returns
    -------
    ArmRisks

    Raises
    ------
    ArgumentError
        For missing values, unknown columns, fewer than two arms or a bad setting.
    EstimationError
        When an arm has no patient whose outcome is known at a horizon, or a model cannot
        be fitted to the full sample.

    Warns
    -----
    ConvergenceWarning
        When more than 5% of the bootstrap replicates could not be fitted.
    PositivityWarning
        When the full-sample propensity scores or stabilised ATE weights cross a positivity
        threshold (:func:`~dah_outcomes.stats.propensity.positivity_diagnostics`): the AIPW
        estimate of that arm then leans on a few patients, g-computation on extrapolation.
        The scores are not bounded (R's estimate is not either); the warning says so instead.
    """
    conf_level = check_conf_level(conf_level)
    bootstrap = check_positive_int("bootstrap", bootstrap, minimum=0)
    seed = check_positive_int("seed", seed, minimum=0)
    d, arms, names = _prepare(data, treatment, covariates, endpoints)
    counts = _counts(d, arms)
    unknown = counts[counts["n_known"] == 0]
    if not unknown.empty:
        r = unknown.iloc[0]
        raise EstimationError(
            f"no patient of arm {r['arm']!r} has a known outcome for {r['endpoint']!r} (all "
            "censored before the horizon): leave the arm out, or choose a shorter horizon"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        point, fitted, scores = _replicate(d, np.ones(len(d.arm)), [None] * (len(endpoints) + 1))
    draws, failed = _bootstrap(d, fitted, bootstrap, seed)
    if bootstrap and failed > 0.05 * bootstrap:
        warn(
            f"standardised_arm_risks: {failed} of {bootstrap} bootstrap replicates could not "
            "be fitted (an arm without events, or separation) and are left out of the "
            "intervals, which are therefore too narrow",
            ConvergenceWarning,
        )
    alpha = 1 - conf_level
    if bootstrap - failed >= 2:
        lo, hi = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    else:
        lo = hi = np.full_like(point, np.nan)
    methods = list(RISK_METHODS)
    rows = [
        {
            "endpoint": ep.label,
            "arm": a,
            "method": meth,
            "risk": float(point[j, m, i]),
            "ci_lower": float(lo[j, m, i]),
            "ci_upper": float(hi[j, m, i]),
        }
        for j, (ep, _, _) in enumerate(d.endpoints)
        for i, a in enumerate(arms)
        for m, meth in enumerate(methods)
    ]
    ate = weights_from_scores(scores, d.arm)
    positivity = propensity_positivity(scores, d.arm, ate, arms, where="standardised_arm_risks")
    propensity = PropensityWeights(
        arms=arms,
        estimand="ATE",
        reference=None,
        stabilized=True,
        truncation="none",
        arm=d.arm,
        scores=scores,
        weights=ate,
        n_truncated=0,
        converged=True,
        covariates=tuple(names),
        positivity=positivity,
    )
    return ArmRisks(
        estimates=pd.DataFrame(rows),
        counts=counts,
        arms=arms,
        covariates=tuple(names),
        bootstrap=bootstrap,
        n_boot_failed=failed,
        seed=seed,
        conf_level=conf_level,
        propensity=propensity,
        draws=draws,
    )
