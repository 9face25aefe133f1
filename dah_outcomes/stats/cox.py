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

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning, warn
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import (
    MIN_EVENTS_PER_VARIABLE,
    check_choice,
    check_conf_level,
    check_iterations,
    few_events_message,
)
from dah_outcomes.stats._cox_engine import (
    concordance_index,
    design_matrix,
    loglik_score_info,
    packed_score_residuals,
    prepare_stratum,
    reference_levels,
    unused_levels,
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
    events_per_variable : float
        Events per estimated coefficient (``n_events / len(terms)``).
    dropped_levels : dict of str to tuple of str
        Per categorical covariate, the declared levels no row takes, left out of the design.
    reference_levels : dict of str to str
        Per categorical covariate, the level its hazard ratios are against.
    warnings : tuple of str
        The warnings the fit gave (too few events per variable, unused levels dropped, a
        diverging coefficient), as their messages.
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
    events_per_variable: float = float("nan")
    dropped_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reference_levels: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def _title(self) -> str:
        ref = "; ".join(f"{k} vs {v}" for k, v in self.reference_levels.items())
        se = "robust SE" if self.robust else "model SE"
        return (
            f"Cox model ({self.ties} ties, {se}): n = {self.n:,}, events = {self.n_events:,}"
            + (f", {self.n_dropped:,} row(s) dropped" if self.n_dropped else "")
            + (f"; concordance {self.concordance:.3f}" if np.isfinite(self.concordance) else "")
            + (f"; reference: {ref}" if ref else "")
        )

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
            "events_per_variable": json_safe(self.events_per_variable),
            "dropped_levels": {k: list(v) for k, v in self.dropped_levels.items()},
            "reference_levels": dict(self.reference_levels),
            "warnings": list(self.warnings),
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
    robust: bool | None = None,
    conf_level: float = 0.95,
    max_iter: int = 30,
    tol: float = 1e-10,
    concordance: bool = True,
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
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
    robust : bool, optional
        Whether ``se`` is the robust sandwich SE (clustered by ``id``, else each row its own
        cluster). None (the default) is R's default (survival 3.5 ``coxph``): robust when
        ``id`` is given or when a case weight is not a whole number (weights that are not
        frequencies), model-based otherwise. ``robust=False`` with ``id`` is refused (R
        ignores the cluster with a warning).
    conf_level : float, default 0.95
        Confidence level of the hazard-ratio intervals, in (0, 1).
    max_iter : int, default 30
        Most Newton-Raphson steps.
    tol : float, default 1e-10
        Relative change of the log-likelihood that ends the fit.
    concordance : bool, default True
        Compute Harrell's C (as R's ``coxph`` does). Set False to skip its
        ``O(n log n)`` pass when only the coefficients are wanted.
    min_events_per_variable : float, default 10
        Events per estimated coefficient below which the fit warns.

    Returns
    -------
    CoxResult

    Raises
    ------
    ArgumentError
        For a bad argument, or ``robust=False`` with ``id``.
    EstimationError
        With one row, no events (or every row censored at time 0), a covariate with an
        infinite or overflowing value, or a covariate constant (within strata) or collinear
        with others; each with its own message.

    Warns
    -----
    SmallSampleWarning
        When there are fewer than ``min_events_per_variable`` events per estimated
        coefficient (recorded in ``warnings``), when a categorical covariate has a declared
        level no row takes (the level is dropped, as R's ``coxph`` reports it NA, and
        recorded in ``dropped_levels``), and when the likelihood is monotone (e.g. an arm
        without events) and a coefficient diverges.
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
    _check_robust(robust, id)
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
    _check_follow_up(s.time, s.event)
    rows = data.loc[s.kept]
    notes = []
    dropped = unused_levels(rows, covariates)
    if dropped:
        notes.append(
            "cox_regression: declared level(s) that no row takes were left out of the model "
            f"(R's coxph reports their coefficients as NA): {dropped}"
        )
        warn(notes[-1], SmallSampleWarning)
    x, terms = design_matrix(rows, covariates)
    n, p = x.shape
    w = np.ones(n) if s.weights is None else s.weights
    # one stratum needs no masks (each would copy every column)
    masks = (
        [None] if s.strata is None else [np.flatnonzero(s.strata == g) for g in pd.unique(s.strata)]
    )
    _check_design(x, terms, masks)
    n_events = int(s.event.sum())
    few = few_events_message(n_events, p, model="cox_regression", minimum=min_events_per_variable)
    if few is not None:
        notes.append(few)
        warn(few, SmallSampleWarning)

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
        notes.append(
            "the Cox likelihood looks monotone (a coefficient is diverging, e.g. a group "
            "without events): the hazard ratio is not estimable by plain maximum likelihood; "
            "use the Firth-penalised fit dah_outcomes.firth_cox instead"
        )
        warn(notes[-1], SmallSampleWarning)
    se = naive
    use_robust = _robust_default(robust, id, s.weights)
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
        n_events=n_events,
        ties=ties,
        robust=use_robust,
        conf_level=conf_level,
        iterations=fit.iterations,
        converged=fit.converged,
        n_dropped=s.n_dropped,
        events_per_variable=n_events / p,
        dropped_levels={c: tuple(v) for c, v in dropped.items()},
        reference_levels=reference_levels(rows, covariates),
        warnings=tuple(notes),
    )


def _check_robust(robust: object, id: str | None) -> None:
    if robust is not None and not isinstance(robust, bool | np.bool_):
        raise ArgumentError(f"robust must be True, False or None, got {robust!r}")
    if robust is False and id is not None:
        raise ArgumentError(
            "id gives the cluster-robust SE and robust=False asks for the model-based one "
            "(R's coxph ignores the cluster with a warning): leave robust unset, or drop id"
        )


def _robust_default(robust: bool | None, id: str | None, weights: np.ndarray | None) -> bool:
    """R's rule (survival 3.5 ``coxph``): robust if asked; unset, robust with a cluster or
    with a case weight that is not a whole number, model-based otherwise."""
    if robust is not None:
        return bool(robust)
    fractional = weights is not None and bool(np.any(weights != np.floor(weights)))
    return id is not None or fractional


def _check_follow_up(time: np.ndarray, event: np.ndarray) -> None:
    """Data a Cox model cannot be fitted to, each with its own reason (rather than the
    singular information they lead to)."""
    if len(time) < 2:
        raise EstimationError(
            f"cox_regression: {len(time)} row(s) to fit; a Cox model compares subjects at "
            "risk and needs at least two rows, with at least one event"
        )
    if not event.any():
        if not np.any(time > 0):
            raise EstimationError(
                "cox_regression: every row is censored at time 0 (no follow-up and no events): "
                "check the time origin and the time unit"
            )
        raise EstimationError(
            f"cox_regression: no events among the {len(time)} rows: the partial likelihood "
            "has nothing to compare, so no hazard ratio can be estimated"
        )


def _check_design(x: np.ndarray, terms: list[str], masks: list) -> None:
    """Name the covariate that makes the fit impossible: a value that is not finite, or so
    large that its square overflows (the information would be infinite and the coefficient
    NaN), or a column constant within every stratum (the Cox model has no intercept, so a
    constant is not estimable)."""
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.sum((x - x.mean(axis=0)) ** 2, axis=0)
    for j, term in enumerate(terms):
        col = x[:, j]
        if not np.all(np.isfinite(col)):
            bad = col[~np.isfinite(col)][0]
            raise EstimationError(
                f"cox_regression: covariate {term!r} has a non-finite value ({bad}); "
                "replace or drop it"
            )
        if not np.isfinite(spread[j]):
            raise EstimationError(
                f"cox_regression: covariate {term!r} has values too large to fit "
                f"(largest |x| = {np.max(np.abs(col)):.3g}): rescale it (other units, or a log)"
            )
    varies = np.zeros(x.shape[1], dtype=bool)
    for m in masks:
        part = x if m is None else x[m]
        if len(part):
            varies |= (part != part[:1]).any(axis=0)
    if not varies.all():
        constant = [t for t, v in zip(terms, varies, strict=True) if not v]
        raise EstimationError(
            f"cox_regression: covariate(s) {constant} are constant (within every stratum) "
            "and have no estimable effect; drop them"
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
