"""Inverse-probability-of-treatment weights from a logistic propensity model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.stats._cox_engine import design_matrix

__all__ = ["ipw_weights", "logistic_fit"]


def logistic_fit(
    x: np.ndarray, y: np.ndarray, *, max_iter: int = 50, tol: float = 1e-10
) -> np.ndarray:
    """Maximum-likelihood logistic regression (with intercept) by Newton-Raphson.

    Returns the coefficients, intercept first.
    """
    xx = np.column_stack([np.ones(len(y)), x])
    beta = np.zeros(xx.shape[1])
    for _ in range(max_iter):
        p = expit(xx @ beta)
        grad = xx.T @ (y - p)
        info = (xx * (p * (1 - p))[:, None]).T @ xx
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                "the propensity model is singular: a confounder is constant "
                "or perfectly predicts treatment"
            ) from exc
        beta += step
        if np.max(np.abs(step)) < tol:
            return beta
    raise EstimationError("the propensity model did not converge (separation?)")


def ipw_weights(
    data: pd.DataFrame, *, treatment: str, confounders: Sequence[str], stabilized: bool = True
) -> np.ndarray:
    """Inverse-probability-of-treatment weights for a binary treatment.

    Parameters
    ----------
    data : DataFrame
        One row per patient; no missing values in the columns used.
    treatment : str
        Binary treatment column.
    confounders : sequence of str
        Covariates of the logistic propensity model (categories dummy-coded).
    stabilized : bool, default True
        Multiply by the marginal probability of the treatment received (weights average ~1).

    Returns
    -------
    ndarray
        One weight per row (ATE weights).
    """
    cols = [treatment, *confounders]
    if data[cols].isna().any().any():
        raise ArgumentError(f"missing values in {cols}: drop or impute them first")
    a = data[treatment].to_numpy(dtype=float)
    if not np.isin(a, (0.0, 1.0)).all():
        raise ArgumentError(f"treatment {treatment!r} must be binary (0/1 or False/True)")
    x, _ = design_matrix(data, confounders)
    ps = expit(np.column_stack([np.ones(len(a)), x]) @ logistic_fit(x, a))
    w = np.where(a == 1, 1 / ps, 1 / (1 - ps))
    if stabilized:
        w *= np.where(a == 1, a.mean(), 1 - a.mean())
    return w
