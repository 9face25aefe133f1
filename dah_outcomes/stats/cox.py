"""Cox proportional-hazards regression, written in numpy to match R's ``coxph``.

Efron (R's default) and Breslow ties, strata, case weights, delayed entry / counting-process
``(start, stop]`` rows (Andersen-Gill), and the cluster-robust sandwich variance. Risk-set sums
are reverse cumulative sums over sorted times, so a Newton-Raphson step costs a sort-free pass
over the data: a million rows fit in about a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.inputs import read_survival_columns

__all__ = ["CoxResult", "cox_regression", "design_matrix"]

TIES = ("efron", "breslow")


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix and term names: numbers and booleans as they are; categories as
    treatment-coded dummies against the first level (the categorical's own order, else sorted),
    named as R names them (``celltypesmallcell``)."""
    cols, names = [], []
    for c in covariates:
        s = data[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            levels = (list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype)
                      else sorted(s.dropna().unique(), key=str))
            for level in levels[1:]:
                cols.append((s == level).to_numpy(dtype=float))
                names.append(f"{c}{level}")
        else:
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
    return np.column_stack(cols) if cols else np.zeros((len(data), 0)), names


@dataclass(frozen=True, slots=True)
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
        Harrell's C of the linear predictor (NaN above 200,000 rows, or 20,000 rows of
        counting-process data, where it is not computed).
    n, n_events : int
    ties : str
    robust : bool
        Whether ``se`` is the cluster-robust sandwich SE.
    conf_level : float
    iterations : int
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

    @property
    def hazard_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coef, HR with CI, SE, z, p."""
        z = float(stats.norm.ppf(0.5 + self.conf_level / 2))
        zstat = self.coef / self.se
        with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite HR
            return self._frame(z, zstat)

    def _frame(self, z: float, zstat: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({
            "term": list(self.terms), "coef": self.coef, "se": self.se,
            "hazard_ratio": np.exp(self.coef), "hr_lower": np.exp(self.coef - z * self.se),
            "hr_upper": np.exp(self.coef + z * self.se), "z": zstat,
            "p_value": 2 * stats.norm.sf(np.abs(zstat)),
        })

    def to_dict(self) -> dict:
        from dah_outcomes.results import json_safe

        return {"terms": json_safe(self.to_frame()), "loglik": list(self.loglik),
                "concordance": json_safe(self.concordance), "n": self.n,
                "n_events": self.n_events, "ties": self.ties, "robust": self.robust,
                "conf_level": self.conf_level}


@dataclass
class _Stratum:
    x: np.ndarray
    stop: np.ndarray
    entry: np.ndarray | None
    event: np.ndarray
    w: np.ndarray
    times: np.ndarray       # distinct event times
    tidx: np.ndarray        # event rows -> index in times
    d: np.ndarray           # events per time
    ev_rows: np.ndarray
    stop_order: np.ndarray
    entry_order: np.ndarray | None


def _prepare(x, stop, entry, event, w) -> _Stratum:
    ev = np.flatnonzero(event == 1)
    times, tidx = np.unique(stop[ev], return_inverse=True)
    d = np.bincount(tidx, minlength=len(times)).astype(float)
    return _Stratum(x, stop, entry, event, w, times, tidx, d, ev, np.argsort(stop, kind="stable"),
                    None if entry is None else np.argsort(entry, kind="stable"))


def _risk_sums(st: _Stratum, vals: np.ndarray) -> np.ndarray:
    """Sum of ``vals`` (rows first axis) over each event time's risk set entry < t <= stop."""
    def rev(order: np.ndarray, key: np.ndarray) -> np.ndarray:
        v = vals[order]
        c = np.concatenate([np.cumsum(v[::-1], axis=0)[::-1],
                            np.zeros((1, *vals.shape[1:]))], axis=0)
        return c[np.searchsorted(key[order], st.times, side="left")]  # key >= t
    out = rev(st.stop_order, st.stop)
    if st.entry is not None:
        # rows that enter at or after t are not yet at risk
        out = out - rev(st.entry_order, st.entry)  # type: ignore[arg-type]
    return out


def _efron_terms(st: _Stratum, eta: np.ndarray, ties: str, p: int):
    """Per tied-death slot: denominators, means and weights (Efron's k/d fractions)."""
    r = st.w * np.exp(eta)
    x = st.x
    s0 = _risk_sums(st, r)
    s1 = _risk_sums(st, r[:, None] * x)
    m = len(st.times)
    ev = st.ev_rows
    e0 = np.bincount(st.tidx, weights=r[ev], minlength=m)
    e1 = np.stack([np.bincount(st.tidx, weights=r[ev] * x[ev, j], minlength=m)
                   for j in range(p)], axis=1) if p else np.zeros((m, 0))
    wsum = np.bincount(st.tidx, weights=st.w[ev], minlength=m)
    wbar = wsum / st.d
    # one slot per death: time index j and fraction k/d_j (0 for Breslow)
    slot_t = np.repeat(np.arange(m), st.d.astype(int))
    k = np.arange(len(slot_t)) - np.repeat(np.cumsum(st.d) - st.d, st.d.astype(int))
    frac = k / st.d[slot_t] if ties == "efron" else np.zeros(len(slot_t))
    denom = s0[slot_t] - frac * e0[slot_t]
    num1 = s1[slot_t] - frac[:, None] * e1[slot_t]
    return r, wbar, slot_t, frac, denom, num1


def _loglik_score_info(st: _Stratum, beta: np.ndarray, ties: str):
    p = len(beta)
    eta = st.x @ beta
    r, wbar, slot_t, frac, denom, num1 = _efron_terms(st, eta, ties, p)
    ev = st.ev_rows
    wv = wbar[slot_t]
    loglik = float(np.sum(st.w[ev] * eta[ev]) - np.sum(wv * np.log(denom)))
    xbar = num1 / denom[:, None]
    score = (st.w[ev, None] * st.x[ev]).sum(axis=0) - (wv[:, None] * xbar).sum(axis=0)
    # information: sum wv * [ (S2 - f E2)/denom - xbar xbar^T ]
    rx = r[:, None, None] * st.x[:, :, None] * st.x[:, None, :]
    s2 = _risk_sums(st, rx)
    m = len(st.times)
    e2 = np.zeros((m, p, p))
    np.add.at(e2, st.tidx, rx[ev])
    a = (wv / denom)[:, None, None] * (s2[slot_t] - frac[:, None, None] * e2[slot_t])
    info = a.sum(axis=0) - np.einsum("s,si,sj->ij", wv, xbar, xbar)
    return loglik, score, info


def _score_residuals(st: _Stratum, beta: np.ndarray, ties: str) -> np.ndarray:
    """Score residuals per row (R's ``residuals(fit, "score")``), Efron-aware."""
    p = len(beta)
    eta = st.x @ beta
    _, wbar, slot_t, frac, denom, num1 = _efron_terms(st, eta, ties, p)
    m = len(st.times)
    xbar = num1 / denom[:, None]
    haz = wbar[slot_t] / denom
    h = np.bincount(slot_t, weights=haz, minlength=m)
    hx = np.stack([np.bincount(slot_t, weights=haz * xbar[:, j], minlength=m)
                   for j in range(p)], axis=1)
    # the tied deaths themselves are at risk only for the (1 - k/d) share of each slot
    h_own = np.bincount(slot_t, weights=(1 - frac) * haz, minlength=m)
    hx_own = np.stack([np.bincount(slot_t, weights=(1 - frac) * haz * xbar[:, j], minlength=m)
                       for j in range(p)], axis=1)
    xmean = np.stack([np.bincount(slot_t, weights=xbar[:, j], minlength=m)
                      for j in range(p)], axis=1) / st.d[:, None]
    ch = np.concatenate([[0.0], np.cumsum(h)])
    chx = np.concatenate([np.zeros((1, p)), np.cumsum(hx, axis=0)])
    hi = np.searchsorted(st.times, st.stop, side="right")  # times <= stop
    lo = (np.zeros(len(st.stop), dtype=int) if st.entry is None
          else np.searchsorted(st.times, st.entry, side="right"))  # times <= entry excluded
    big_h = ch[hi] - ch[lo]
    big_hx = chx[hi] - chx[lo]
    ev = st.ev_rows
    j = st.tidx
    big_h[ev] += h_own[j] - h[j]
    big_hx[ev] += hx_own[j] - hx[j]
    resid = -np.exp(eta)[:, None] * (st.x * big_h[:, None] - big_hx)
    resid[ev] += st.x[ev] - xmean[j]
    return resid


class _Fenwick:
    """Weighted counts by rank with prefix sums in O(log n)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tree = np.zeros(size + 1)
        self.point = np.zeros(size)

    def add(self, r: int, v: float) -> None:
        self.point[r] += v
        i = r + 1
        while i <= self.size:
            self.tree[i] += v
            i += i & -i

    def below(self, r: int) -> float:
        """Total weight at ranks < r."""
        total, i = 0.0, r
        while i > 0:
            total += self.tree[i]
            i -= i & -i
        return total


def _concordance_fast(time, event, eta, w, strata) -> float:
    """Harrell's C for right-censored data in O(n log n): rows enter a Fenwick tree over the
    ranks of eta in decreasing time order; each event is compared with the rows already in
    the tree (longer follow-up, or censored at the same time)."""
    conc = disc = tied = 0.0
    for sidx in pd.unique(strata):
        m = strata == sidx
        t, e, et, ww = time[m], event[m], eta[m], w[m]
        levels, rank = np.unique(et, return_inverse=True)
        fen = _Fenwick(len(levels))
        order = np.lexsort((e, -t))  # decreasing time; censored (e=0) first within a time
        total_w = 0.0
        i = 0
        n = len(order)
        while i < n:
            j = i
            while j < n and t[order[j]] == t[order[i]]:
                j += 1
            block = order[i:j]
            for r in block[e[block] == 0]:
                fen.add(int(rank[r]), ww[r])
                total_w += ww[r]
            for r in block[e[block] == 1]:
                lo, eq = fen.below(int(rank[r])), fen.point[rank[r]]
                conc += ww[r] * lo
                tied += ww[r] * eq
                disc += ww[r] * (total_w - lo - eq)
            for r in block[e[block] == 1]:
                fen.add(int(rank[r]), ww[r])
                total_w += ww[r]
            i = j
    total = conc + disc + tied
    return (conc + tied / 2) / total if total > 0 else float("nan")


def _concordance(time, event, entry, eta, w, strata) -> float:
    """Harrell's C over risk sets: each event against everyone at risk at its time."""
    if entry is None:
        return _concordance_fast(time, event, eta, w, strata)
    conc = disc = tied = 0.0
    for sidx in pd.unique(strata):
        m = strata == sidx
        t, e, s, et, ww = time[m], event[m], None if entry is None else entry[m], eta[m], w[m]
        for i in np.flatnonzero(e == 1):
            at = (t > t[i]) | ((t == t[i]) & (e == 0))
            if s is not None:
                at &= s < t[i]
            wi = ww[i] * ww[at]
            conc += float(np.sum(wi * (et[at] < et[i])))
            disc += float(np.sum(wi * (et[at] > et[i])))
            tied += float(np.sum(wi * (et[at] == et[i])))
    total = conc + disc + tied
    return (conc + tied / 2) / total if total > 0 else float("nan")


def cox_regression(data: pd.DataFrame, *, time: str, event: str, covariates: Sequence[str],
                   entry: str | None = None, strata: str | None = None,
                   weights: str | None = None, id: str | None = None, ties: str = "efron",
                   robust: bool = False, conf_level: float = 0.95, max_iter: int = 30,
                   tol: float = 1e-10) -> CoxResult:
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
    robust : bool
        Robust SE with each row its own cluster (when ``id`` is not given).
    conf_level : float

    Returns
    -------
    CoxResult

    Warns
    -----
    SmallSampleWarning
        When the likelihood is monotone (e.g. an arm without events) and a coefficient
        diverges.
    """
    if ties not in TIES:
        raise ArgumentError(f"ties must be one of {list(TIES)}, got {ties!r}")
    if not covariates:
        raise ArgumentError("give at least one covariate")
    s = read_survival_columns(data, time=time, event=event, entry=entry, weights=weights,
                              strata=strata, id=id, extra=list(covariates))
    complete = data[[c for c in [time, event, entry, weights, strata, id, *covariates]
                     if c is not None]].notna().all(axis=1)
    x, terms = design_matrix(data.loc[complete], covariates)
    n, p = x.shape
    w = np.ones(n) if s.weights is None else s.weights
    sl = s.strata if s.strata is not None else np.zeros(n, dtype=object)
    groups = [_prepare(x[m], s.time[m], None if s.entry is None else s.entry[m], s.event[m],
                       w[m]) for m in (sl == g for g in pd.unique(sl))]

    def evaluate(beta):
        total = [0.0, np.zeros(p), np.zeros((p, p))]
        for st in groups:
            if len(st.times):
                ll, sc, inf = _loglik_score_info(st, beta, ties)
                total[0] += ll
                total[1] += sc
                total[2] += inf
        return total

    beta = np.zeros(p)
    ll0, score, info = evaluate(beta)
    ll = ll0
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as exc:
            raise EstimationError("the Cox information matrix is singular: a covariate is "
                                  "constant or collinear with others") from exc
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
            break
    cov = np.linalg.inv(info)
    naive = np.sqrt(np.diag(cov))
    if np.any(np.abs(beta) > 15) or np.any(naive > 1e3):
        warnings.warn(
            "the Cox likelihood looks monotone (a coefficient is diverging, e.g. a group "
            "without events): the hazard ratio is not estimable by plain maximum likelihood; "
            "use the Firth-penalised fit dah_outcomes.firth_cox instead",
            SmallSampleWarning, stacklevel=2)
    se = naive
    use_robust = robust or s.id is not None
    if use_robust:
        resid = np.zeros((n, p))
        for m, st in zip((sl == g for g in pd.unique(sl)), groups, strict=True):
            resid[m] = _score_residuals(st, beta, ties)
        dfbeta = (resid * w[:, None]) @ cov
        cluster = s.id if s.id is not None else np.arange(n)
        codes = pd.factorize(pd.Series(cluster, dtype=object))[0]
        summed = np.zeros((codes.max() + 1, p))
        np.add.at(summed, codes, dfbeta)
        se = np.sqrt(np.diag(summed.T @ summed))
    eta = x @ beta
    # the concordance is a Python-level Fenwick pass: skipped for very large data
    limit = 200_000 if s.entry is None else 20_000
    conc = _concordance(s.time, s.event, s.entry, eta, w, sl) if n <= limit else float("nan")
    return CoxResult(terms=tuple(terms), coef=beta, se=se, naive_se=naive,
                     loglik=(float(ll0), float(ll)), concordance=conc, n=n,
                     n_events=int(s.event.sum()), ties=ties, robust=use_robust,
                     conf_level=float(conf_level), iterations=iterations)
