"""Firth-penalised logistic regression for binary outcomes (Firth 1993; Heinze & Schemper
2002), as R's ``logistf``: in-hospital death in a series of 10 to 40 patients.

With few deaths, or an arm without any (separation), the maximum-likelihood estimate is biased
away from zero or infinite. Firth's penalty, half the log-determinant of the Fisher
information ``X' W X``, is Jeffreys' prior: the estimate stays finite and its small-sample
bias is removed to first order. Intervals come from the profile penalised likelihood (the
other coefficients refitted at each trial value), p-values from penalised likelihood ratios,
as ``logistf``'s defaults (``pl = TRUE``); a Wald interval is unreliable exactly where Firth
is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import special

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.stats._checks import (
    MIN_EVENTS_PER_VARIABLE,
    check_conf_level,
    check_iterations,
    warn_dropped,
    warn_few_events_per_variable,
    warn_not_converged,
)
from dah_outcomes.stats._cox_engine import design_matrix
from dah_outcomes.stats.profile_likelihood import ProfileLikelihoodFit, profile_intervals

__all__ = ["FirthLogisticResult", "firth_logistic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FirthLogisticResult(ProfileLikelihoodFit):
    """A Firth-penalised logistic fit with profile penalised-likelihood CIs.

    Attributes
    ----------
    terms : tuple of str
        ``"(Intercept)"`` then the covariate terms (R's names for dummies).
    coef : ndarray
        Penalised log odds ratios (the intercept a log odds).
    ci_lower, ci_upper : ndarray
        Profile penalised-likelihood bounds of ``coef`` (log scale; ``to_frame`` adds odds
        ratios); infinite where the profile never falls to the critical value.
    p_value : ndarray
        Penalised likelihood-ratio p-values (coefficient = 0, the others refitted).
    penalized_loglik : float
        Penalised log-likelihood at the estimate (``logistf``'s ``loglik[1]``).
    n, n_events : int
        Rows used and outcomes equal to 1.
    conf_level : float
    converged : bool
        Whether the full fit met its tolerance.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    ratio: ClassVar[str] = "odds_ratio"
    method: ClassVar[str] = "Firth, profile penalised likelihood"


def _penalised(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """log L(beta) + 1/2 log det(X' W X)."""
    eta = x @ beta
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    pi = special.expit(eta)
    sign, logdet = np.linalg.slogdet((x * (pi * (1 - pi))[:, None]).T @ x)
    return loglik + 0.5 * logdet if sign > 0 else -np.inf


def _score_info(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firth's modified score ``X'(y - pi + h (1/2 - pi))`` (the gradient of the penalised
    log-likelihood) and the information ``X' W X``."""
    pi = special.expit(x @ beta)
    w = pi * (1 - pi)
    info = (x * w[:, None]).T @ x
    xw = x * np.sqrt(w)[:, None]
    h = np.einsum("ij,ij->i", xw @ np.linalg.pinv(info), xw)  # hat-matrix diagonal
    return x.T @ (y - pi + h * (0.5 - pi)), info


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    free: np.ndarray,
    start: np.ndarray,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, float, bool]:
    """Maximise the penalised log-likelihood over the ``free`` coefficients (the others held
    at ``start``) by Newton-Raphson with step halving, as ``logistf.fit``."""
    beta = start.copy()
    current = _penalised(x, y, beta)
    for _ in range(max_iter):
        if not free.any():
            return beta, current, True
        score, info = _score_info(x, y, beta)
        step = np.zeros_like(beta)
        step[free] = np.linalg.lstsq(info[np.ix_(free, free)], score[free], rcond=None)[0]
        big = np.max(np.abs(step))
        if big > 5.0:  # logistf's maxstep: no step longer than 5 on the log-odds scale
            step *= 5.0 / big
        for _ in range(30):
            trial = beta + step
            value = _penalised(x, y, trial)
            if value >= current - 1e-12:
                break
            step /= 2
        beta, previous, current = trial, current, value
        if np.max(np.abs(step)) < tol and abs(current - previous) < tol:
            return beta, current, True
    return beta, current, False


def _read(
    data: pd.DataFrame, outcome: str, covariates: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The complete rows, the 0/1 outcome and how many rows were dropped."""
    problems = [c for c in (outcome, *covariates) if c not in data.columns]
    if problems:
        raise ArgumentError(f"firth_logistic: column(s) not in the data: {problems}")
    used = [outcome, *covariates]
    kept = data[used].notna().all(axis=1)
    n_dropped = int((~kept).sum())
    warn_dropped(n_dropped, len(data), used, what="firth_logistic")
    rows = data.loc[kept]
    y = rows[outcome].to_numpy(dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ArgumentError(f"firth_logistic: {outcome!r} must be 0/1 (or boolean)")
    if len(rows) == 0:
        raise EstimationError("firth_logistic: no complete rows to fit")
    return rows, y, n_dropped


def firth_logistic(
    data: pd.DataFrame,
    *,
    outcome: str,
    covariates: Sequence[str],
    conf_level: float = 0.95,
    max_iter: int = 100,
    tol: float = 1e-8,
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
) -> FirthLogisticResult:
    """Fit a Firth-penalised logistic regression with profile-likelihood CIs, as ``logistf``.

    Parameters
    ----------
    data : DataFrame
        One row per patient (not modified).
    outcome : str
        Binary outcome column (1/0 or boolean), e.g. in-hospital death.
    covariates : sequence of str
        Numeric, boolean or categorical columns (categories treatment-coded against their
        first level, named as R names them).
    conf_level : float, default 0.95
        Level of the profile penalised-likelihood intervals.
    max_iter : int, default 100
        Most Newton steps of each fit.
    tol : float, default 1e-8
        Largest coefficient change (and penalised log-likelihood change) that ends a fit.
    min_events_per_variable : float, default 10
        Fewer outcomes of the rarer kind per covariate term than this give a
        ``SmallSampleWarning`` (Firth removes the bias; the data still carry little).

    Returns
    -------
    FirthLogisticResult
        Finite estimates even under separation (an arm with no deaths).

    Raises
    ------
    ArgumentError
        A missing column or an outcome that is not 0/1.
    EstimationError
        No complete rows, or a singular design (a constant or collinear covariate).
    """
    conf_level = check_conf_level(conf_level)
    max_iter, tol = check_iterations(max_iter, tol)
    rows, y, n_dropped = _read(data, outcome, covariates)
    xc, names = design_matrix(rows, covariates)
    x = np.column_stack((np.ones(len(rows)), xc))
    terms = ("(Intercept)", *names)
    p = x.shape[1]
    if np.linalg.matrix_rank(x) < p:
        raise EstimationError(
            "firth_logistic: the design is singular (a covariate is constant or collinear "
            f"with others among {list(terms[1:])}); drop one"
        )
    n_events = int(y.sum())
    warn_few_events_per_variable(
        min(n_events, len(y) - n_events),
        p - 1,
        model="firth_logistic",
        minimum=min_events_per_variable,
        events="outcomes of the rarer kind",
    )
    every = np.ones(p, dtype=bool)
    beta, lmax, converged = _fit(x, y, every, np.zeros(p), max_iter, tol)
    if not converged:
        warn_not_converged("Firth logistic", max_iter)

    def profile(j: int, b: float) -> float:
        free = every.copy()
        free[j] = False
        start = beta.copy()
        start[j] = b
        return _fit(x, y, free, start, max_iter, tol)[1]

    lower, upper, pvals = profile_intervals(profile, beta, lmax, conf_level)
    return FirthLogisticResult(
        terms=terms,
        coef=beta,
        ci_lower=lower,
        ci_upper=upper,
        p_value=pvals,
        penalized_loglik=lmax,
        n=len(y),
        n_events=n_events,
        conf_level=conf_level,
        converged=converged,
        n_dropped=n_dropped,
    )
