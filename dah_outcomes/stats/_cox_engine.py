"""The Cox partial-likelihood engine shared by the Cox fit, the Firth fit and the
proportional-hazards test: rows packed once per stratum in exit order, risk-set sums by
reverse cumulative sums, Efron and Breslow ties, score residuals and Harrell's C.

A private module of :mod:`dah_outcomes.stats`: its names are shared inside the package and
are not part of the public API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "SortedRows",
    "Stratum",
    "concordance_index",
    "design_matrix",
    "efron_terms",
    "loglik_score_info",
    "prepare_stratum",
    "risk_sums",
    "score_residuals",
]


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix and term names: numbers and booleans as they are; categories as
    treatment-coded dummies against the first level (the categorical's own order, else sorted),
    named as R names them (``celltypesmallcell``)."""
    cols, names = [], []
    for c in covariates:
        s = data[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        ):
            levels = (
                list(s.cat.categories)
                if isinstance(s.dtype, pd.CategoricalDtype)
                else sorted(s.dropna().unique(), key=str)
            )
            for level in levels[1:]:
                cols.append((s == level).to_numpy(dtype=float))
                names.append(f"{c}{level}")
        else:
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
    return np.column_stack(cols) if cols else np.zeros((len(data), 0)), names


@dataclass
class SortedRows:
    """A stratum's rows in decreasing exit time, packed once for every Newton step.

    ``packed`` holds ``[1, x, upper triangle of x x^T]`` by row, transposed so that one
    cumulative sum along its rows gives every risk-set sum at once: the sums a step needs cost
    one multiply and one ``cumsum``, with no gather of rows and no ``(n, p, p)`` array.
    """

    packed: np.ndarray  # (K, n): 1, x, x_a x_b (a <= b), rows in decreasing exit time
    x: np.ndarray  # (n, p) covariates in the same order
    w: np.ndarray  # case weights in the same order
    last_at_risk: np.ndarray  # per event time: position of the last row with exit >= t
    ev_pos: np.ndarray  # positions of the event rows, grouped by event time (ascending)
    ev_starts: np.ndarray  # start of each event time's group within ev_pos
    iu: tuple[np.ndarray, np.ndarray]
    p: int
    ev_wx: np.ndarray  # sum of w x over the events (constant across steps)
    ev_w: np.ndarray  # case weights of the event rows, in ev_pos order
    slot_t: np.ndarray  # per death slot: its event time index
    frac: np.ndarray  # per death slot: Efron's k/d
    wv: np.ndarray  # per death slot: mean case weight of its time's deaths
    tied_pos: np.ndarray  # event rows at tied event times (d > 1), grouped by time
    tied_starts: np.ndarray  # start of each tied time's group within tied_pos
    tied_t: np.ndarray  # index of each tied time


@dataclass
class Stratum:
    x: np.ndarray
    stop: np.ndarray
    entry: np.ndarray | None
    event: np.ndarray
    w: np.ndarray
    times: np.ndarray  # distinct event times
    tidx: np.ndarray  # event rows -> index in times
    d: np.ndarray  # events per time
    ev_rows: np.ndarray
    stop_order: np.ndarray
    entry_order: np.ndarray | None
    fast: SortedRows | None = None  # right-censored data only


def prepare_stratum(x, stop, entry, event, w) -> Stratum:
    ev = np.flatnonzero(event == 1)
    times, tidx = np.unique(stop[ev], return_inverse=True)
    d = np.bincount(tidx, minlength=len(times)).astype(float)
    stop_order = np.argsort(stop, kind="stable")
    fast = None
    if entry is None and len(times):
        desc = stop_order[::-1]
        xs = x[desc]
        iu = np.triu_indices(x.shape[1])
        packed = np.vstack([np.ones((1, len(desc))), xs.T, (xs[:, iu[0]] * xs[:, iu[1]]).T])
        ts = stop[desc]
        # rows with exit >= t are the first (count) rows of the decreasing order
        last = len(ts) - np.searchsorted(ts[::-1], times, side="left") - 1
        ev_sorted = np.flatnonzero(event[desc] == 1)[::-1]  # ascending time
        ev_t = np.searchsorted(times, ts[ev_sorted])
        starts = np.flatnonzero(np.concatenate(([True], ev_t[1:] != ev_t[:-1])))
        ws = w[desc]
        slot_t, frac = _slots(d, "efron")
        wbar = np.add.reduceat(ws[ev_sorted], starts) / d
        tied = np.flatnonzero(d > 1)
        keep = (d > 1)[ev_t]
        tied_pos = ev_sorted[keep]
        tied_starts = (
            np.flatnonzero(np.concatenate(([True], ev_t[keep][1:] != ev_t[keep][:-1])))
            if len(tied_pos)
            else np.zeros(0, dtype=np.intp)
        )
        fast = SortedRows(
            np.ascontiguousarray(packed),
            np.ascontiguousarray(xs),
            ws,
            last,
            ev_sorted,
            starts,
            iu,
            x.shape[1],
            ws[ev_sorted] @ xs[ev_sorted],
            ws[ev_sorted],
            slot_t,
            frac,
            wbar[slot_t],
            tied_pos,
            tied_starts,
            tied,
        )
    return Stratum(
        x,
        stop,
        entry,
        event,
        w,
        times,
        tidx,
        d,
        ev,
        stop_order,
        None if entry is None else np.argsort(entry, kind="stable"),
        fast,
    )


def _slots(d: np.ndarray, ties: str) -> tuple[np.ndarray, np.ndarray]:
    """One slot per death: its time index and Efron's fraction k/d (0 for Breslow)."""
    counts = d.astype(int)
    slot_t = np.repeat(np.arange(len(d)), counts)
    k = np.arange(len(slot_t)) - np.repeat(np.cumsum(d) - d, counts)
    frac = k / d[slot_t] if ties == "efron" else np.zeros(len(slot_t))
    return slot_t, frac


_FOLD_SLOTS = 10_000


def _loglik_score_info_slots(st: Stratum, beta: np.ndarray, ties: str):
    """The per-slot form of :func:`_loglik_score_info_sorted`, kept for small data (up to
    ``_FOLD_SLOTS`` deaths), where its ``(K, slots)`` arrays are cheap and its rounding is the
    one the fits have always had (the Firth fit's BFGS is sensitive to the last bit)."""
    f = st.fast
    assert f is not None
    p = len(beta)
    eta = f.x @ beta
    r = f.w * np.exp(eta)
    m_rows = f.packed * r  # (K, n)
    at_risk = np.cumsum(m_rows, axis=1)[:, f.last_at_risk]  # (K, m) sums over exit >= t
    died = np.add.reduceat(m_rows[:, f.ev_pos], f.ev_starts, axis=1)  # (K, m)
    wsum = np.add.reduceat(f.w[f.ev_pos], f.ev_starts)
    wbar = wsum / st.d
    slot_t, frac = _slots(st.d, ties)
    denom = at_risk[0, slot_t] - frac * died[0, slot_t]
    num1 = at_risk[1 : 1 + p, slot_t] - frac * died[1 : 1 + p, slot_t]  # (p, slots)
    xbar = num1 / denom
    wv = wbar[slot_t]
    ev_x = f.x[f.ev_pos]
    ev_w = f.w[f.ev_pos]
    loglik = float(np.dot(ev_w, eta[f.ev_pos]) - np.dot(wv, np.log(denom)))
    score = ev_w @ ev_x - xbar @ wv
    second = (at_risk[1 + p :, slot_t] - frac * died[1 + p :, slot_t]) @ (wv / denom)
    packed_info = second - ((xbar[f.iu[0]] * xbar[f.iu[1]]) @ wv)
    info = np.zeros((p, p))
    info[f.iu] = packed_info
    info[(f.iu[1], f.iu[0])] = packed_info
    return loglik, score, info


def _loglik_score_info_sorted(st: Stratum, beta: np.ndarray, ties: str):
    """Log partial likelihood, score and information from the packed sorted rows.

    Efron's slots are folded into per-time scalars: with ``A`` the risk-set sums and ``D``
    the sums over the deaths at a time, each slot's terms are ``A - f D`` over its
    denominator, so the sums over slots are ``A c0 - D c1`` (and a quadratic form for the
    means kept per slot, ``p`` rows) with ``c`` 1-D sums over the slots: no ``(K, slots)``
    array. ``D``
    is only formed at tied event times, the only ones with ``f > 0``.
    """
    f = st.fast
    assert f is not None
    if len(f.slot_t) <= _FOLD_SLOTS:
        return _loglik_score_info_slots(st, beta, ties)
    eta = f.x @ beta
    r = f.w * np.exp(eta)
    m_rows = f.packed * r  # (K, n)
    np.cumsum(m_rows, axis=1, out=m_rows)
    at_risk = m_rows[:, f.last_at_risk]  # (K, m) sums over exit >= t
    m = at_risk.shape[1]
    efron = ties == "efron" and len(f.tied_pos)
    slot_t, frac = f.slot_t, f.frac
    if efron:
        died = np.zeros_like(at_risk)
        died[:, f.tied_t] = np.add.reduceat(
            f.packed[:, f.tied_pos] * r[f.tied_pos], f.tied_starts, axis=1
        )
        denom = at_risk[0, slot_t] - frac * died[0, slot_t]
    else:
        denom = at_risk[0, slot_t]
    wv = f.wv
    inv = wv / denom
    loglik = float(np.dot(f.ev_w, eta[f.ev_pos]) - np.dot(wv, np.log(denom)))
    c0 = np.bincount(slot_t, weights=inv, minlength=m)
    a1 = at_risk[1 : 1 + f.p]
    iu0, iu1 = f.iu
    second = at_risk[1 + f.p :] @ c0
    if efron:
        c1 = np.bincount(slot_t, weights=inv * frac, minlength=m)
        second -= died[1 + f.p :] @ c1
        xbar = (a1[:, slot_t] - frac * died[1 : 1 + f.p, slot_t]) / denom
    else:
        xbar = a1[:, slot_t] / denom
    s1 = xbar @ wv
    xx = (xbar[iu0] * xbar[iu1]) @ wv
    score = f.ev_wx - s1
    packed_info = second - xx
    p = f.p
    info = np.zeros((p, p))
    info[f.iu] = packed_info
    info[(f.iu[1], f.iu[0])] = packed_info
    return loglik, score, info


def risk_sums(st: Stratum, vals: np.ndarray) -> np.ndarray:
    """Sum of ``vals`` (rows first axis) over each event time's risk set entry < t <= stop."""

    def rev(order: np.ndarray, key: np.ndarray) -> np.ndarray:
        v = vals[order]
        c = np.concatenate(
            [np.cumsum(v[::-1], axis=0)[::-1], np.zeros((1, *vals.shape[1:]))], axis=0
        )
        return c[np.searchsorted(key[order], st.times, side="left")]  # key >= t

    out = rev(st.stop_order, st.stop)
    if st.entry is not None:
        # rows that enter at or after t are not yet at risk
        out = out - rev(st.entry_order, st.entry)  # type: ignore[arg-type]
    return out


def efron_terms(st: Stratum, eta: np.ndarray, ties: str, p: int):
    """Per tied-death slot: denominators, means and weights (Efron's k/d fractions)."""
    r = st.w * np.exp(eta)
    x = st.x
    s0 = risk_sums(st, r)
    s1 = risk_sums(st, r[:, None] * x)
    m = len(st.times)
    ev = st.ev_rows
    e0 = np.bincount(st.tidx, weights=r[ev], minlength=m)
    e1 = (
        np.stack(
            [np.bincount(st.tidx, weights=r[ev] * x[ev, j], minlength=m) for j in range(p)], axis=1
        )
        if p
        else np.zeros((m, 0))
    )
    wsum = np.bincount(st.tidx, weights=st.w[ev], minlength=m)
    wbar = wsum / st.d
    slot_t, frac = _slots(st.d, ties)
    denom = s0[slot_t] - frac * e0[slot_t]
    num1 = s1[slot_t] - frac[:, None] * e1[slot_t]
    return r, wbar, slot_t, frac, denom, num1


def loglik_score_info(st: Stratum, beta: np.ndarray, ties: str):
    if st.fast is not None:
        return _loglik_score_info_sorted(st, beta, ties)
    p = len(beta)
    eta = st.x @ beta
    r, wbar, slot_t, frac, denom, num1 = efron_terms(st, eta, ties, p)
    ev = st.ev_rows
    wv = wbar[slot_t]
    loglik = float(np.sum(st.w[ev] * eta[ev]) - np.sum(wv * np.log(denom)))
    xbar = num1 / denom[:, None]
    score = (st.w[ev, None] * st.x[ev]).sum(axis=0) - (wv[:, None] * xbar).sum(axis=0)
    # information: sum wv * [ (S2 - f E2)/denom - xbar xbar^T ]
    rx = r[:, None, None] * st.x[:, :, None] * st.x[:, None, :]
    s2 = risk_sums(st, rx)
    m = len(st.times)
    e2 = np.zeros((m, p, p))
    np.add.at(e2, st.tidx, rx[ev])
    a = (wv / denom)[:, None, None] * (s2[slot_t] - frac[:, None, None] * e2[slot_t])
    info = a.sum(axis=0) - np.einsum("s,si,sj->ij", wv, xbar, xbar)
    return loglik, score, info


def score_residuals(st: Stratum, beta: np.ndarray, ties: str) -> np.ndarray:
    """Score residuals per row (R's ``residuals(fit, "score")``), Efron-aware."""
    p = len(beta)
    eta = st.x @ beta
    _, wbar, slot_t, frac, denom, num1 = efron_terms(st, eta, ties, p)
    m = len(st.times)
    xbar = num1 / denom[:, None]
    haz = wbar[slot_t] / denom
    h = np.bincount(slot_t, weights=haz, minlength=m)
    hx = np.stack(
        [np.bincount(slot_t, weights=haz * xbar[:, j], minlength=m) for j in range(p)], axis=1
    )
    # the tied deaths themselves are at risk only for the (1 - k/d) share of each slot
    h_own = np.bincount(slot_t, weights=(1 - frac) * haz, minlength=m)
    hx_own = np.stack(
        [np.bincount(slot_t, weights=(1 - frac) * haz * xbar[:, j], minlength=m) for j in range(p)],
        axis=1,
    )
    xmean = (
        np.stack([np.bincount(slot_t, weights=xbar[:, j], minlength=m) for j in range(p)], axis=1)
        / st.d[:, None]
    )
    ch = np.concatenate([[0.0], np.cumsum(h)])
    chx = np.concatenate([np.zeros((1, p)), np.cumsum(hx, axis=0)])
    hi = np.searchsorted(st.times, st.stop, side="right")  # times <= stop
    lo = (
        np.zeros(len(st.stop), dtype=int)
        if st.entry is None
        else np.searchsorted(st.times, st.entry, side="right")
    )  # times <= entry excluded
    big_h = ch[hi] - ch[lo]
    big_hx = chx[hi] - chx[lo]
    ev = st.ev_rows
    j = st.tidx
    big_h[ev] += h_own[j] - h[j]
    big_hx[ev] += hx_own[j] - hx[j]
    resid = -np.exp(eta)[:, None] * (st.x * big_h[:, None] - big_hx)
    resid[ev] += st.x[ev] - xmean[j]
    return resid


def _prefix_rank_counts(
    q: np.ndarray, q_rank: np.ndarray, rank: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each query (position ``q``, rank ``r``): the weight of the rows at positions
    ``< q`` whose rank is below ``r``, and of those whose rank equals ``r``.

    A wavelet matrix over the ranks: one stable partition of the rows per bit, from the
    highest, with running counts of the zero bits. A query walks down the bits of its rank,
    adding the rows of its range whose bit is 0 where its own bit is 1; the range left at
    the bottom holds the rows of equal rank. ``O(n log n)`` in whole-array numpy steps,
    with no Python loop over rows.
    """
    n = len(rank)
    lo = np.zeros(len(q), dtype=np.int64)
    hi = q.astype(np.int64)
    below = np.zeros(len(q))
    rank_b, w_b = rank.astype(np.int64), w.astype(float)
    for bit in range(int(rank.max()).bit_length() - 1 if n else -1, -1, -1):
        one = ((rank_b >> bit) & 1).astype(bool)
        zero_count = np.concatenate(([0], np.cumsum(~one)))
        zero_weight = np.concatenate(([0.0], np.cumsum(np.where(one, 0.0, w_b))))
        n_zero = int(zero_count[-1])
        q_one = ((q_rank >> bit) & 1).astype(bool)
        below += np.where(q_one, zero_weight[hi] - zero_weight[lo], 0.0)
        lo = np.where(q_one, n_zero + lo - zero_count[lo], zero_count[lo])
        hi = np.where(q_one, n_zero + hi - zero_count[hi], zero_count[hi])
        order = np.concatenate((np.flatnonzero(~one), np.flatnonzero(one)))
        rank_b, w_b = rank_b[order], w_b[order]
    cum = np.concatenate(([0.0], np.cumsum(w_b)))
    return below, cum[hi] - cum[lo]


def _concordance_fast(time, event, eta, w, strata) -> float:
    """Harrell's C for right-censored data (R's ``concordance``): each event is compared
    with every row of longer follow-up, or censored at the same time; ties in the linear
    predictor count one half."""
    conc = disc = tied = 0.0
    for sidx in pd.unique(strata):
        m = strata == sidx
        t, e, ww = time[m], event[m], w[m]
        order = np.lexsort((e, -t))  # decreasing time; censored first within a time
        t_o, e_o, w_o = t[order], e[order], ww[order]
        rank = np.unique(eta[m], return_inverse=True)[1][order]
        ev = np.flatnonzero(e_o == 1)
        if not len(ev):
            continue
        # an event is compared with the rows before its time's group of events
        new = np.concatenate(([True], t_o[ev][1:] != t_o[ev][:-1]))
        q = ev[new][np.cumsum(new) - 1]
        lo, eq = _prefix_rank_counts(q, rank[ev], rank, w_o)
        total = np.concatenate(([0.0], np.cumsum(w_o)))[q]
        we = w_o[ev]
        conc += float(we @ lo)
        tied += float(we @ eq)
        disc += float(we @ (total - lo - eq))
    total = conc + disc + tied
    return (conc + tied / 2) / total if total > 0 else float("nan")


def concordance_index(time, event, entry, eta, w, strata) -> float:
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
