"""Cox proportional-hazards regression, written in numpy to match R's ``coxph``.

Efron (R's default) and Breslow ties, strata, case weights, delayed entry / counting-process
``(start, stop]`` rows (Andersen-Gill), and the cluster-robust sandwich variance. The rows are
binned once by event time (``stats._cox_engine``), so that a Newton-Raphson step costs a few
whole-array passes over the rows and none over pairs or sorted copies: a million rows (whole
days, heavily tied) fit in about a third of a second, counting-process rows with the robust
SE in about half a second (benchmarks/results/time_varying_cox.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError, SmallSampleWarning, warn
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level, check_iterations
from dah_outcomes.stats._cox_engine import (
    concordance_index,
    design_matrix,
    loglik_score_info,
    packed_score_residuals,
    prepare_stratum,
)
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.regression import newton_raphson, ratio_table

__all__ = ["CoxResult", "cox_regression", "design_matrix"]

TIES = ("efron", "breslow")


@dataclass(frozen=True, slots=True, kw_only=True)
class CoxResult(ResultMixin):
    """A fitted Cox model.

    Attributes
    ----------
    terms : tuple of str
        Term names (R's naming for categorical levels).
    coef, se : ndarray
        Log hazard ratios and their standard errors (robust when ``robust``).
    loglik : tuple of float
        Partial log-likelihood at beta = 0 and at the estimate.
    concordance : float
        Harrell's C of the linear predictor (NaN when not asked for, above 5,000,000 rows,
        or above 20,000 rows of counting-process data, where it is not computed).
    n, n_events : int
    ties : str
    robust : bool
        Whether ``se`` is the cluster-robust sandwich SE.
    conf_level : float
    iterations : int
    converged : bool
        Whether Newton-Raphson met its tolerance before ``max_iter``.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    terms: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    naive_se: np.ndarray = field(repr=False)
    loglik: tuple[float, float]
    concordance: float
    n: int
    n_events: int
    ties: str
    robust: bool
    conf_level: float
    iterations: int
    converged: bool = True
    n_dropped: int = 0

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coef, HR with CI, SE, z, p."""
        return ratio_table(self.terms, self.coef, self.se, self.conf_level)

    def to_dict(self) -> dict:
        from dah_outcomes.results import json_safe

        return {
            "terms": json_safe(self.to_frame()),
            "loglik": list(self.loglik),
            "concordance": json_safe(self.concordance),
            "n": self.n,
            "n_events": self.n_events,
            "ties": self.ties,
            "robust": self.robust,
            "conf_level": self.conf_level,
            "iterations": self.iterations,
            "converged": self.converged,
            "n_dropped": self.n_dropped,
        }


def cox_regression(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | None = None,
    weights: str | None = None,
    id: str | None = None,
    ties: str = "efron",
    robust: bool = False,
    conf_level: float = 0.95,
    max_iter: int = 30,
    tol: float = 1e-10,
    concordance: bool = True,
) -> CoxResult:
    """Fit a Cox proportional-hazards model (R's ``coxph``).

    Parameters
    ----------
    data : DataFrame
        One row per subject, or per ``(entry, time]`` interval for counting-process data.
    time, event : str
        Exit time and event indicator.
    covariates : sequence of str
        Numeric, boolean or categorical columns (categories are dummy-coded).
    entry : str, optional
        Start of each interval (delayed entry; Andersen-Gill with ``id``).
    strata : str, optional
        Separate baseline hazard per stratum.
    weights : str, optional
        Case weights.
    id : str, optional
        Cluster identifier: the SE becomes the cluster-robust sandwich (as ``cluster(id)``).
    ties : {"efron", "breslow"}
        Handling of tied event times; Efron is R's default.
    robust : bool
        Robust SE with each row its own cluster (when ``id`` is not given).
    conf_level : float, default 0.95
        Confidence level of the hazard-ratio intervals, in (0, 1).
    max_iter : int, default 30
        Most Newton-Raphson steps.
    tol : float, default 1e-10
        Relative change of the log-likelihood that ends the fit.
    concordance : bool, default True
        Compute Harrell's C (as R's ``coxph`` does). Set False to skip its
        ``O(n log n)`` pass when only the coefficients are wanted.

    Returns
    -------
    CoxResult

    Warns
    -----
    SmallSampleWarning
        When the likelihood is monotone (e.g. an arm without events) and a coefficient
        diverges.
    DroppedRowsWarning
        When rows are left out for a missing value (counted in ``n_dropped``).
    ConvergenceWarning
        When the fit stops at ``max_iter`` (``converged`` is False).
    """
    check_choice("ties", ties, TIES)
    conf_level = check_conf_level(conf_level)
    max_iter, tol = check_iterations(max_iter, tol)
    if not covariates:
        raise ArgumentError("give at least one covariate")
    s = read_survival_columns(
        data,
        time=time,
        event=event,
        entry=entry,
        weights=weights,
        strata=strata,
        id=id,
        extra=list(covariates),
        what="cox_regression",
    )
    x, terms = design_matrix(data.loc[s.kept], covariates)
    n, p = x.shape
    w = np.ones(n) if s.weights is None else s.weights
    # one stratum needs no masks (each would copy every column)
    masks = (
        [None] if s.strata is None else [np.flatnonzero(s.strata == g) for g in pd.unique(s.strata)]
    )

    def part(a: np.ndarray | None, m: np.ndarray | None) -> np.ndarray | None:
        return a if a is None or m is None else np.take(a, m, axis=0)

    groups = [
        prepare_stratum(*(part(a, m) for a in (x, s.time, s.entry, s.event, w))) for m in masks
    ]

    def evaluate(beta):
        total = [0.0, np.zeros(p), np.zeros((p, p))]
        for st in groups:
            if len(st.times):
                ll, sc, inf = loglik_score_info(st, beta, ties)
                total[0] += ll
                total[1] += sc
                total[2] += inf
        return total

    fit = newton_raphson(evaluate, p, model="Cox", max_iter=max_iter, tol=tol)
    beta, ll0, ll, info = fit.beta, fit.loglik0, fit.loglik, fit.information
    cov = np.linalg.inv(info)
    naive = np.sqrt(np.diag(cov))
    if np.any(np.abs(beta) > 15) or np.any(naive > 1e3):
        warn(
            "the Cox likelihood looks monotone (a coefficient is diverging, e.g. a group "
            "without events): the hazard ratio is not estimable by plain maximum likelihood; "
            "use the Firth-penalised fit dah_outcomes.firth_cox instead",
            SmallSampleWarning,
        )
    se = naive
    use_robust = robust or s.id is not None
    if use_robust:
        se = _robust_se(data, id, s.kept, masks, groups, beta, ties, cov, w)
    # the concordance is an O(n log n) pass (a Python loop over events with delayed entry):
    # skipped for very large data
    limit = 5_000_000 if s.entry is None else 20_000
    conc = float("nan")
    if concordance and n <= limit:
        sl = s.strata if s.strata is not None else np.zeros(n, dtype=object)
        conc = concordance_index(s.time, s.event, s.entry, x @ beta, w, sl)
    return CoxResult(
        terms=tuple(terms),
        coef=beta,
        se=se,
        naive_se=naive,
        loglik=(float(ll0), float(ll)),
        concordance=conc,
        n=n,
        n_events=int(s.event.sum()),
        ties=ties,
        robust=use_robust,
        conf_level=conf_level,
        iterations=fit.iterations,
        converged=fit.converged,
        n_dropped=s.n_dropped,
    )


def _cluster_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Cluster labels as codes 0..k-1 (gaps allowed): whole-number ids are their own codes,
    other labels are factorised (hashing a million labels costs more than the fit step)."""
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 4 * len(values) + 1_000_000:
            return values - lo, hi - lo + 1
    codes, uniq = pd.factorize(values)
    return codes, len(uniq)


def _robust_se(data, id, kept, masks, groups, beta, ties, cov, w) -> np.ndarray:
    """The cluster-robust sandwich SE: dfbeta (score residuals times the variance), summed
    within clusters (each row its own cluster without ``id``), squared and summed."""
    p = len(beta)
    codes, n_groups = (None, 0) if id is None else _cluster_codes(data[id].to_numpy()[kept])
    sums = np.zeros((p, n_groups))
    square = np.zeros(p)
    for m, st in zip(masks, groups, strict=True):
        if not len(st.times):
            continue
        rows, resid = packed_score_residuals(st, beta, ties)
        rows = rows if m is None else m[rows]  # rows of the whole data
        dfbeta = cov @ (resid * w.take(rows))
        if codes is None:
            square += np.einsum("ij,ij->i", dfbeta, dfbeta)
        else:
            at = codes.take(rows)
            for k in range(p):
                sums[k] += np.bincount(at, weights=dfbeta[k], minlength=n_groups)
    return np.sqrt(square + np.einsum("ij,ij->i", sums, sums))
