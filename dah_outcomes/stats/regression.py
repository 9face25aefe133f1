"""What the proportional-hazards regressions share: the Newton-Raphson fit of a concave
log (pseudo-)likelihood, and the table of log ratios with Wald intervals.

Used by :func:`~dah_outcomes.stats.cox.cox_regression` and
:func:`~dah_outcomes.stats.fine_gray.fine_gray`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import EstimationError
from dah_outcomes.stats._checks import warn_not_converged

__all__ = ["NewtonFit", "newton_raphson", "ratio_table"]

#: log-likelihood, score and information at a coefficient vector
Evaluation = tuple[float, np.ndarray, np.ndarray]


class NewtonFit(NamedTuple):
    """The end of a Newton-Raphson fit."""

    beta: np.ndarray
    loglik0: float
    loglik: float
    information: np.ndarray
    iterations: int
    converged: bool


def newton_raphson(
    evaluate: Callable[[np.ndarray], Evaluation], p: int, *, model: str, max_iter: int, tol: float
) -> NewtonFit:
    """Maximise a concave log-likelihood from zero by Newton-Raphson with step halving.

    Stops when the log-likelihood changes by less than ``tol`` relative to its size (as R's
    ``coxph`` does) or after ``max_iter`` steps; a step that lowers the log-likelihood is
    halved (up to 30 times), which keeps the fit finite where a monotone likelihood pushes a
    coefficient away. A fit that stops at ``max_iter`` is announced by a
    :class:`~dah_outcomes.errors.ConvergenceWarning` and returned with ``converged=False``.

    Parameters
    ----------
    evaluate : callable
        ``beta -> (loglik, score, information)``.
    p : int
        Number of coefficients.
    model : str
        The model's name, for messages.
    max_iter : int
        Most Newton steps.
    tol : float
        Relative change of the log-likelihood that ends the fit.

    Returns
    -------
    NewtonFit
        The estimate, the log-likelihood at zero and at the estimate, the information at the
        estimate, the number of iterations and whether the fit converged.

    Raises
    ------
    EstimationError
        When the information matrix is singular (a constant or collinear covariate).
    """
    beta = np.zeros(p)
    ll0, score, info = evaluate(beta)
    ll, iterations, converged = ll0, 0, False
    for _ in range(max_iter):
        iterations += 1
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                f"the {model} information matrix is singular: a covariate "
                "is constant or collinear with others; drop or merge it"
            ) from exc
        new = beta + step
        ll_new, s_new, i_new = evaluate(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12) and halvings < 30:
            step /= 2
            new = beta + step
            ll_new, s_new, i_new = evaluate(new)
            halvings += 1
        done = abs(ll_new - ll) <= tol * max(1.0, abs(ll))
        beta, ll, score, info = new, ll_new, s_new, i_new
        if done:
            converged = True
            break
    if not converged:
        warn_not_converged(model, iterations)
    return NewtonFit(beta, float(ll0), float(ll), info, iterations, converged)


def ratio_table(
    terms: Sequence[str],
    coef: np.ndarray,
    se: np.ndarray,
    conf_level: float,
    ratio: str = "hazard_ratio",
) -> pd.DataFrame:
    """One row per term: coef, SE, the ratio ``exp(coef)`` with its Wald interval, z, p.

    Parameters
    ----------
    terms : sequence of str
        Term names.
    coef, se : ndarray
        Log ratios and their standard errors.
    conf_level : float
        Confidence level of the interval.
    ratio : str, default "hazard_ratio"
        Name of the ratio column.

    Returns
    -------
    DataFrame
        Columns ``term, coef, se, <ratio>, ci_lower, ci_upper, z, p_value``.
    """
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    zstat = coef / se
    with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite ratio
        return pd.DataFrame(
            {
                "term": list(terms),
                "coef": coef,
                "se": se,
                ratio: np.exp(coef),
                "ci_lower": np.exp(coef - z * se),
                "ci_upper": np.exp(coef + z * se),
                "z": zstat,
                "p_value": 2 * stats.norm.sf(np.abs(zstat)),
            }
        )
