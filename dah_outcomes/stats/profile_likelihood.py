"""What the Firth-penalised fits share: the result of a fit with profile penalised-likelihood
intervals, and the profile search that gives those intervals and the likelihood-ratio p-values.

Used by :func:`~dah_outcomes.stats.firth.firth_cox` and
:func:`~dah_outcomes.stats.logistic.firth_logistic`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from dah_outcomes.results import ResultMixin

__all__ = ["ProfileLikelihoodFit", "profile_intervals"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileLikelihoodFit(ResultMixin):
    """A penalised fit with profile-likelihood CIs and likelihood-ratio p-values.

    Attributes
    ----------
    terms : tuple of str
        Term names.
    coef : ndarray
        Penalised coefficients (log ratios).
    ci_lower, ci_upper : ndarray
        Profile penalised-likelihood bounds of ``coef`` (log scale; ``to_frame`` shows them
        as ratios); infinite where the profile never falls to the critical value.
    p_value : ndarray
        Penalised likelihood-ratio p-values (coefficient = 0, the others refitted).
    penalized_loglik : float
        Penalised log-likelihood at the estimate.
    n, n_events : int
        Rows used and events.
    conf_level : float
    converged : bool
        Whether the fit of the full model met its tolerance.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    #: the name of the exponentiated coefficient in ``to_frame``
    ratio: ClassVar[str] = "ratio"
    #: how the intervals were found, in ``to_frame``
    method: ClassVar[str] = "profile penalised likelihood"

    terms: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    ci_lower: np.ndarray = field(repr=False)
    ci_upper: np.ndarray = field(repr=False)
    p_value: np.ndarray = field(repr=False)
    penalized_loglik: float
    n: int
    n_events: int
    conf_level: float
    converged: bool = True
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coefficient, its ratio and profile CI, p-value, method."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": self.coef,
                self.ratio: np.exp(self.coef),
                "ci_lower": np.exp(self.ci_lower),
                "ci_upper": np.exp(self.ci_upper),
                "p_value": self.p_value,
                "method": self.method,
            }
        )


def _bound(drop: Callable[[float], float], at: float, direction: float) -> float:
    """Where the profile deviance ``drop`` crosses 0 on one side of the estimate ``at``.

    The bracket doubles (up to 64 on the log scale) until the deviance exceeds the critical
    value; a bound never reached is infinite, as ``coxphf`` and ``logistf`` report it.
    """
    step = 1.0
    far = at + direction * step
    while drop(far) < 0 and step < 64:
        step *= 2
        far = at + direction * step
    if drop(far) < 0:
        return direction * np.inf
    low, high = sorted((far, at))
    return float(optimize.brentq(drop, low, high))


def profile_intervals(
    profile: Callable[[int, float], float], beta: np.ndarray, loglik: float, conf_level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Profile-likelihood intervals and likelihood-ratio p-values of every coefficient.

    Parameters
    ----------
    profile : callable
        ``profile(j, b)``: the maximal penalised log-likelihood with coefficient ``j`` held
        at ``b`` and the others refitted.
    beta : ndarray
        The penalised estimate.
    loglik : float
        The penalised log-likelihood at ``beta``.
    conf_level : float
        Level of the intervals, in (0, 1).

    Returns
    -------
    lower, upper : ndarray
        The bounds, where twice the drop of the profile from ``loglik`` reaches the
        chi-square(1) quantile at ``conf_level``.
    p_value : ndarray
        The likelihood-ratio p-value of each coefficient being 0.
    """
    crit = float(stats.chi2.ppf(conf_level, 1))
    p = len(beta)
    lower, upper, pvals = np.empty(p), np.empty(p), np.empty(p)
    for j in range(p):

        def drop(b: float, j: int = j) -> float:
            return 2 * (loglik - profile(j, b)) - crit

        lower[j] = _bound(drop, beta[j], -1.0)
        upper[j] = _bound(drop, beta[j], +1.0)
        pvals[j] = float(stats.chi2.sf(max(0.0, 2 * (loglik - profile(j, 0.0))), 1))
    return lower, upper, pvals
