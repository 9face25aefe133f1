"""Fine-Gray regression of the subdistribution hazard, as ``cmprsk::crr``.

A DAH recurrence that never happens because the patient died is not a censored recurrence:
death removes the patient from the recurrence risk for good. The Fine-Gray model keeps the
dead in the risk set of the cause of interest, with the weight ``G(t-) / G(T_i-)`` (``G``
the Kaplan-Meier of censoring), so that its coefficients describe the cumulative incidence.

Conventions follow cmprsk 2.2 ``crr``: ``G`` is evaluated just before each time (within
each censoring group, crr's ``cengroup``), ties are Breslow's, and the variance is Fine and
Gray's sandwich, whose middle part adds to each subject's score contribution ``eta_i`` the
term ``psi_i`` that accounts for ``G`` being estimated. crr's double loops (``crrvv``)
become cumulative sums over sorted times, so a fit costs a few passes over the data instead
of ``O(n^2)``.

Tests check the estimate against a weighted Cox fit on data expanded as
``survival::finegray`` expands it, the variance against a literal transcription of crr's
loops, and, without competing events, both against the Cox model's robust variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning, warn
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import (
    MIN_EVENTS_PER_VARIABLE,
    check_conf_level,
    check_iterations,
    warn_few_events_per_variable,
)
from dah_outcomes.stats._cox_engine import design_matrix
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.regression import newton_raphson, ratio_table

__all__ = ["FineGrayResult", "censoring_survival_before", "fine_gray"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FineGrayResult(ResultMixin):
    """A fitted Fine-Gray subdistribution hazards model.

    Attributes
    ----------
    terms : tuple of str
        Term names (categorical levels named as R names them).
    coef, se : ndarray
        Log subdistribution hazard ratios and Fine-Gray sandwich standard errors.
    naive_se : ndarray
        Standard errors from the inverse information alone (crr's ``v`` before the sandwich).
    loglik : tuple of float
        Log pseudo-likelihood at beta = 0 and at the estimate.
    cause : int
        Event code of the cause of interest; every other nonzero code competes.
    n, n_events, n_competing : int
        Rows used, events of ``cause`` and competing events.
    conf_level : float
    iterations : int
    method : str
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
    cause: int
    n: int
    n_events: int
    n_competing: int
    conf_level: float
    iterations: int
    method: str = "Fine-Gray subdistribution hazards (cmprsk::crr conventions)"
    converged: bool = True
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coef, subdistribution HR with CI, SE, z, p."""
        return ratio_table(
            self.terms, self.coef, self.se, self.conf_level, ratio="subdistribution_hr"
        )

    def to_dict(self) -> dict:
        """Terms, counts, log pseudo-likelihoods and method (JSON-safe)."""
        return {
            "method": self.method,
            "terms": json_safe(self.to_frame()),
            "loglik": list(self.loglik),
            "cause": self.cause,
            "n": self.n,
            "n_events": self.n_events,
            "n_competing": self.n_competing,
            "conf_level": self.conf_level,
            "iterations": self.iterations,
            "converged": self.converged,
            "n_dropped": self.n_dropped,
        }


def censoring_survival_before(time: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Kaplan-Meier of the censoring times, evaluated just before each ``time``.

    ``censored`` marks the rows whose follow-up ended by censoring; every other row is
    censored *for* the censoring distribution. This is crr's ``uuu``: the survfit of
    censoring read at ``time * (1 - 100 eps)``, i.e. the left limit ``G(t-)``.
    """
    uniq, inv = np.unique(time, return_inverse=True)
    n_c = np.bincount(inv, weights=censored.astype(float), minlength=len(uniq))
    n_all = np.bincount(inv, minlength=len(uniq)).astype(float)
    at_risk = np.cumsum(n_all[::-1])[::-1]
    g = np.cumprod(1.0 - n_c / at_risk)
    return np.concatenate(([1.0], g[:-1]))[inv]


def _censoring_by_group(
    t: np.ndarray, censored: np.ndarray, cg: np.ndarray, ncg: int
) -> np.ndarray:
    """``G_g(t_i-)`` for every censoring group ``g`` and row ``i`` (shape ``(ncg, n)``).

    crr's ``uuu``: each group's censoring Kaplan-Meier read at every row's time just before
    it; past a group's last time (where its approx() knot sets 0) the value is 0, so a
    competing row of that group no longer counts at later failures of other groups.
    """
    out = np.zeros((ncg, len(t)))
    for g in range(ncg):
        m = cg == g
        uniq, inv = np.unique(t[m], return_inverse=True)
        n_c = np.bincount(inv, weights=censored[m].astype(float), minlength=len(uniq))
        at_risk = np.cumsum(np.bincount(inv, minlength=len(uniq))[::-1])[::-1]
        before = np.concatenate(([1.0], np.cumprod(1.0 - n_c / at_risk)))  # G(uniq_j-)
        out[g] = np.where(t > uniq[-1], 0.0, before[np.searchsorted(uniq, t, side="left")])
    return out


@dataclass(frozen=True, slots=True)
class _Sorted:
    """Rows sorted by time with what every pass needs."""

    t: np.ndarray  # times, ascending
    x: np.ndarray  # covariates (n, p)
    kind: np.ndarray  # 0 censored, 1 cause of interest, 2 competing
    cg: np.ndarray  # censoring group 0..ncg-1 per row
    g_before: np.ndarray  # G_{cg(i)}(t_i-) per row: the row's own group
    ft: np.ndarray  # distinct failure times (cause of interest)
    d: np.ndarray  # failures per distinct failure time
    g_ft: np.ndarray  # (ncg, n_ft): G_g(t-) at each distinct failure time
    first_ge: np.ndarray  # per failure time: first row with t >= ft; rows before it
    # have t < ft (the competing ones among them stay, weighted)


def _prepare(t: np.ndarray, x: np.ndarray, kind: np.ndarray, cg: np.ndarray) -> _Sorted:
    order = np.argsort(t, kind="stable")
    t, x, kind, cg = t[order], x[order], kind[order], cg[order]
    g_rows = _censoring_by_group(t, kind == 0, cg, int(cg.max()) + 1)
    g_before = g_rows[cg, np.arange(len(t))]
    ft, d = np.unique(t[kind == 1], return_counts=True)
    first_ge = np.searchsorted(t, ft, side="left")
    g_ft = g_rows[:, first_ge]  # every row at time ft has the same G_g(ft-)
    return _Sorted(t, x, kind, cg, g_before, ft, d.astype(float), g_ft, first_ge)


def _risk_sums(
    s: _Sorted, beta: np.ndarray, order: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """S0, S1 (and S2) at each failure time over the weighted Fine-Gray risk set."""
    e = np.exp(s.x @ beta)
    comp = (s.kind == 2) / s.g_before * e  # competing rows, weight G(t-)/G(T_i-) later

    def at_times(v: np.ndarray) -> np.ndarray:
        # rows still at risk (t >= ft), plus competing rows that failed before ft, each
        # weighted by its own censoring group's G(ft-)
        shape = v.shape[1:]
        ones = [1] * len(shape)
        out = np.cumsum((e.reshape(-1, *ones) * v)[::-1], axis=0)[::-1]
        out = np.concatenate([out, np.zeros((1, *shape))])[s.first_ge]
        for g in range(s.g_ft.shape[0]):
            cw = np.where(s.cg == g, comp, 0.0).reshape(-1, *ones)
            fwd = np.concatenate([np.zeros((1, *shape)), np.cumsum(cw * v, axis=0)])
            out = out + s.g_ft[g].reshape(-1, *ones) * fwd[s.first_ge]
        return out

    s0 = at_times(np.ones(len(s.t)))
    s1 = at_times(s.x)
    s2 = at_times(s.x[:, :, None] * s.x[:, None, :]) if order == 2 else None
    return s0, s1, s2


def _loglik_score_info(s: _Sorted, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    s0, s1, s2 = _risk_sums(s, beta, 2)
    assert s2 is not None  # order 2 computes S2
    xbar = s1 / s0[:, None]
    fail = s.kind == 1
    loglik = float((s.x[fail] @ beta).sum() - (s.d * np.log(s0)).sum())
    score = s.x[fail].sum(axis=0) - (s.d[:, None] * xbar).sum(axis=0)
    info = np.einsum("f,fij->ij", s.d / s0, s2) - np.einsum("f,fi,fj->ij", s.d, xbar, xbar)
    return loglik, score, info


def _rev_cumsum(v: np.ndarray) -> np.ndarray:
    """Sums from each index to the end, with a zero row appended (index len(v) = none)."""
    return np.concatenate((np.cumsum(v[::-1], axis=0)[::-1], np.zeros((1, *v.shape[1:]))))


def _influence(s: _Sorted, beta: np.ndarray) -> np.ndarray:
    """``eta_i + psi_i`` per row (crr's ``crrvv``), in the sorted order of ``s``."""
    n, p = s.x.shape
    e = np.exp(s.x @ beta)
    s0, s1, _ = _risk_sums(s, beta, 1)
    xbar = s1 / s0[:, None]
    a = s.d / s0  # d Lambda_1 per failure time
    b = a[:, None] * xbar
    # eta: dN part minus the compensator over the time each row is in the risk set
    eta = np.zeros((n, p))
    fail = s.kind == 1
    k_fail = np.searchsorted(s.ft, s.t[fail])
    eta[fail] = s.x[fail] - xbar[k_fail]
    upto = np.searchsorted(s.ft, s.t, side="right")  # failure times <= t_i
    cum_a = np.concatenate(([0.0], np.cumsum(a)))
    cum_b = np.concatenate((np.zeros((1, p)), np.cumsum(b, axis=0)))
    eta -= e[:, None] * (s.x * cum_a[upto][:, None] - cum_b[upto])
    # a competing row stays in the risk set after its failure, with weight G(t-)/G(T_i-) of
    # its own censoring group
    comp = s.kind == 2
    cw = np.where(comp, e / s.g_before, 0.0)
    for g in range(s.g_ft.shape[0]):
        mine = comp & (s.cg == g)
        ga, gb = _rev_cumsum(s.g_ft[g] * a), _rev_cumsum(s.g_ft[g][:, None] * b)
        eta[mine] -= cw[mine][:, None] * (s.x[mine] * ga[upto[mine]][:, None] - gb[upto[mine]])
    return eta + _psi(s, xbar, s0, cw)


def _psi(s: _Sorted, xbar: np.ndarray, s0: np.ndarray, cw: np.ndarray) -> np.ndarray:
    """The censoring martingale integrals of q_g(u) / Y_g(u) for each censoring group ``g``,
    ``Y_g`` its rows with t >= u. As crrvv (cmprsk 2.2-11), ``q_g`` pairs g's failures with
    g's competing rows only."""
    n, p = s.x.shape
    psi = np.zeros((n, p))
    cens_times = np.unique(s.t[s.kind == 0])
    if len(cens_times) == 0:
        return psi
    # q_g(u) = sum over g's failures with ft >= u of G_g(ft-)/S0 * (C1_g(u) - xbar C0_g(u)),
    # where C0_g, C1_g sum e/G_g(T-) (times x) over g's competing rows with T < u
    before_u = np.searchsorted(s.t, cens_times, side="left")  # rows with t < u
    f_from = np.searchsorted(s.ft, cens_times, side="left")  # failure times >= u
    fail = s.kind == 1
    k_fail = np.searchsorted(s.ft, s.t[fail])
    for g in range(s.g_ft.shape[0]):
        rows = s.cg == g
        d_g = np.bincount(k_fail[s.cg[fail] == g], minlength=len(s.ft)).astype(float)
        cwg = np.where(rows, cw, 0.0)
        c0 = np.concatenate(([0.0], np.cumsum(cwg)))
        c1 = np.concatenate((np.zeros((1, p)), np.cumsum(cwg[:, None] * s.x, axis=0)))
        h0 = _rev_cumsum(d_g * s.g_ft[g] / s0)
        h1 = _rev_cumsum(d_g[:, None] * s.g_ft[g][:, None] * xbar / s0[:, None])
        q = c1[before_u] * h0[f_from][:, None] - c0[before_u][:, None] * h1[f_from]
        y_g = _rev_cumsum(rows.astype(float))[np.searchsorted(s.t, cens_times, side="left")]
        k_c = np.searchsorted(cens_times, s.t[rows & (s.kind == 0)])
        n_cens = np.bincount(k_c, minlength=len(cens_times)).astype(float)
        y_c = np.where(n_cens > 0, y_g, 1.0)  # a group with no rows left has no censoring
        step = n_cens[:, None] * q / y_c[:, None] ** 2
        # every row of g loses sum over g's censoring times u <= t_i of n_c(u) q(u) / Y_g(u)^2
        drift = np.concatenate((np.zeros((1, p)), np.cumsum(step, axis=0)))
        psi[rows] = -drift[np.searchsorted(cens_times, s.t[rows], side="right")]
        own = rows & (s.kind == 0)
        psi[own] += q[k_c] / y_c[k_c][:, None]
    return psi


def _check_design(x: np.ndarray, terms: Sequence[str]) -> None:
    """A constant or collinear covariate has no estimate: say which, as R's coxph names the
    term it finds aliased with the ones before it (it drops it and reports NA)."""
    centred = x - x.mean(axis=0)
    if x.shape[0] == 0 or np.linalg.matrix_rank(centred) >= x.shape[1]:
        return
    scale = np.linalg.norm(centred, axis=0)
    constant = [t for t, v in zip(terms, scale, strict=True) if v == 0]
    if constant:
        detail = f"constant: {constant}"
    else:
        aliased = [
            t
            for j, t in enumerate(terms)
            if np.linalg.matrix_rank(centred[:, : j + 1]) <= np.linalg.matrix_rank(centred[:, :j])
        ]
        detail = f"{aliased} a linear combination of the terms before (order: {list(terms)})"
    raise EstimationError(
        f"fine_gray: the covariates are constant or collinear ({detail}); drop or merge one"
    )


def _warn_infinite(terms: Sequence[str], beta: np.ndarray, last_step: np.ndarray) -> None:
    """coxph's test for a coefficient going to infinity (separation): the Newton step is still
    large, absolutely and relative to the coefficient, when the log-likelihood stopped moving
    (survival's eps = 1e-9 and toler.inf = sqrt(eps))."""
    step = np.abs(last_step)
    bad = [
        t for t, d, b in zip(terms, step, beta, strict=True) if d > 1e-9 and d > 1e-9**0.5 * abs(b)
    ]
    if bad:
        warn(
            f"fine_gray: the pseudo-likelihood converged before {bad}; the coefficient may be "
            "infinite (a covariate separates the events, e.g. no events of the cause in one "
            "group): its ratio and SE are meaningless. Merge sparse levels or drop the term",
            SmallSampleWarning,
        )


def fine_gray(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    cause: int = 1,
    cengroup: str | None = None,
    conf_level: float = 0.95,
    max_iter: int = 50,
    tol: float = 1e-10,
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
) -> FineGrayResult:
    """Fit a Fine-Gray model for the subdistribution hazard of ``cause`` (``cmprsk::crr``).

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time : str
        Time to the first event of any cause, or to censoring.
    event : str
        0 = censored, 1..K = cause; codes other than ``cause`` compete.
    covariates : sequence of str
        Numeric, boolean or categorical columns (categories dummy-coded against the first).
    cause : int, default 1
        The cause of interest.
    cengroup : str, optional
        Column of censoring groups (e.g. centres with their own follow-up rules): the
        censoring distribution ``G`` is estimated within each group, as crr's ``cengroup``,
        and a competing row's weight uses its own group's ``G``. As in crr (2.2-11), past a
        group's last time its ``G`` is 0, and the variance's term for estimating ``G_g``
        pairs the group's own failures with its own competing rows.
    conf_level : float, default 0.95
        Confidence level of the intervals, in (0, 1).
    max_iter : int, default 50
        Most Newton-Raphson steps.
    tol : float, default 1e-10
        Relative change of the log pseudo-likelihood at which Newton-Raphson stops.
    min_events_per_variable : float, default 10
        Fewer events of ``cause`` per coefficient than this give a ``SmallSampleWarning``
        (0 turns the check off).

    Raises
    ------
    EstimationError
        No events of the cause, or a constant or collinear covariate (named).

    Warns
    -----
    SmallSampleWarning
        Few events per variable, or a coefficient that may be infinite (separation).

    Returns
    -------
    FineGrayResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> x = rng.integers(0, 2, 400)
    >>> t = rng.exponential(1.0, 400)
    >>> ev = np.where(rng.uniform(size=400) < 0.4 + 0.2 * x, 1, 2)
    >>> ev[rng.uniform(size=400) < 0.2] = 0
    >>> df = pd.DataFrame({"t": t, "ev": ev, "x": x})
    >>> fit = fine_gray(df, time="t", event="ev", covariates=["x"])
    >>> fit.to_frame()["term"].tolist()
    ['x']
    """
    conf_level = check_conf_level(conf_level)
    max_iter, tol = check_iterations(max_iter, tol)
    if not covariates:
        raise ArgumentError("give at least one covariate")
    if not (isinstance(cause, int | np.integer) and cause >= 1):
        raise ArgumentError(f"cause must be a positive event code, got {cause!r}")
    raw = pd.to_numeric(data[event], errors="coerce") if event in data else None
    top = int(max(cause, np.nanmax(raw) if raw is not None and raw.notna().any() else 1))
    s_in = read_survival_columns(
        data,
        time=time,
        event=event,
        max_event_code=top,
        extra=list(covariates) + ([] if cengroup is None else [cengroup]),
        what="fine_gray",
    )
    x, terms = design_matrix(data.loc[s_in.kept], covariates)
    ev = s_in.event.astype(int)
    kind = np.where(ev == 0, 0, np.where(ev == cause, 1, 2))
    if not (kind == 1).any():
        raise EstimationError(f"no events of cause {cause}: the Fine-Gray model needs some")
    p = x.shape[1]
    _check_design(x, terms)
    warn_few_events_per_variable(
        int((kind == 1).sum()), p, model="fine_gray", minimum=min_events_per_variable
    )
    cg = (
        np.zeros(len(ev), dtype=np.intp)
        if cengroup is None
        else pd.factorize(data.loc[s_in.kept, cengroup], sort=True)[0]
    )
    s = _prepare(s_in.time, x, kind, cg)
    fit = newton_raphson(
        lambda b: _loglik_score_info(s, b), p, model="Fine-Gray", max_iter=max_iter, tol=tol
    )
    beta, ll0, ll, info = fit.beta, fit.loglik0, fit.loglik, fit.information
    inv = np.linalg.inv(info)
    if fit.converged:  # else the ConvergenceWarning has said it: the step is still large
        _warn_infinite(terms, beta, inv @ _loglik_score_info(s, beta)[1])
    infl = _influence(s, beta)
    cov = inv @ (infl.T @ infl) @ inv
    return FineGrayResult(
        terms=tuple(terms),
        coef=beta,
        se=np.sqrt(np.diag(cov)),
        naive_se=np.sqrt(np.diag(inv)),
        loglik=(float(ll0), float(ll)),
        cause=int(cause),
        n=len(s.t),
        n_events=int((kind == 1).sum()),
        n_competing=int((kind == 2).sum()),
        conf_level=conf_level,
        iterations=fit.iterations,
        converged=fit.converged,
        n_dropped=s_in.n_dropped,
        method="Fine-Gray subdistribution hazards (cmprsk::crr conventions"
        + ("" if cengroup is None else f"; censoring within groups of {cengroup!r}")
        + ")",
    )
