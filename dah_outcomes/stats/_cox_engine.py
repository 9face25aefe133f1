"""The Cox partial-likelihood engine shared by the Cox fit, the Firth fit and the
proportional-hazards test: Efron and Breslow ties, strata (one :class:`Stratum` each),
delayed entry and counting-process ``(start, stop]`` rows, score residuals and Harrell's C.

Two paths compute the same sums. The fast one (:func:`loglik_score_info`,
:func:`score_residuals`) packs a stratum's rows once (:class:`RiskSets`): every row goes into
the bin of the last event time it reaches, so that a Newton step is one sparse product of the
rows with their bins (no sort, no cumulative sum over rows, no ``(n, p, p)`` array), then a
reverse cumulative sum over the event times and Efron's terms per tied time. The general one
(:func:`efron_terms`, :func:`risk_sums`, :func:`loglik_score_info_general`,
:func:`score_residuals_general`) sums over rows directly; the proportional-hazards test
builds on it, and the tests hold the two paths together.

A private module of :mod:`dah_outcomes.stats`: its names are shared inside the package and
are not part of the public API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from dah_outcomes.stats.risk_sets import time_index

__all__ = [
    "RiskSets",
    "Stratum",
    "concordance_index",
    "design_matrix",
    "efron_terms",
    "loglik_score_info",
    "loglik_score_info_general",
    "packed_score_residuals",
    "prepare_stratum",
    "risk_sums",
    "score_residuals",
    "score_residuals_general",
    "unused_levels",
]


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    )


def unused_levels(data: pd.DataFrame, covariates: Sequence[str]) -> dict[str, list[str]]:
    """Per categorical covariate, the declared levels no row of ``data`` takes (those that
    :func:`design_matrix` leaves out); covariates without any are not listed."""
    out = {}
    for c in covariates:
        s = data[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            present = set(s.dropna().unique())
            missing = [str(v) for v in s.cat.categories if v not in present]
            if missing:
                out[c] = missing
    return out


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix and term names: numbers and booleans as they are; categories as
    treatment-coded dummies against the first level (the categorical's own order, else sorted),
    named as R names them (``celltypesmallcell``). A declared level that no row takes is
    left out (its column would be all zeros and the fit singular; R's ``coxph`` reports it
    as NA), so the reference is the first level present."""
    cols, names = [], []
    for c in covariates:
        s = data[c]
        if _is_categorical(s):
            levels = _levels_present(s)
            for level in levels[1:]:
                cols.append((s == level).to_numpy(dtype=float))
                names.append(f"{c}{level}")
        else:
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
    return np.column_stack(cols) if cols else np.zeros((len(data), 0)), names


def _levels_present(s: pd.Series) -> list[Any]:
    """The levels a categorical column takes, in the categorical's own order, else sorted."""
    present = set(s.dropna().unique())
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [v for v in s.cat.categories if v in present]
    return sorted(present, key=str)


def reference_levels(data: pd.DataFrame, covariates: Sequence[str]) -> dict[str, str]:
    """The reference level of each categorical covariate of :func:`design_matrix` (its first
    level present), which every dummy's ratio is against."""
    out = {}
    for c in covariates:
        s = data[c]
        if _is_categorical(s):
            levels = _levels_present(s)
            if levels:
                out[c] = str(levels[0])
    return out


@dataclass(eq=False)
class Stratum:
    """One stratum's rows, as given, with its distinct event times."""

    x: np.ndarray
    stop: np.ndarray
    entry: np.ndarray | None
    event: np.ndarray
    w: np.ndarray
    times: np.ndarray  # distinct event times, increasing
    tidx: np.ndarray  # event rows -> index in times
    d: np.ndarray  # events per time (float)
    ev_rows: np.ndarray
    by_exit: np.ndarray | None = None  # rows by exit time, where finding the times sorted them

    @cached_property
    def stop_order(self) -> np.ndarray:
        return np.argsort(self.stop, kind="stable")

    @cached_property
    def entry_order(self) -> np.ndarray | None:
        return None if self.entry is None else np.argsort(self.entry, kind="stable")

    @cached_property
    def fast(self) -> RiskSets:
        """The rows packed for :func:`loglik_score_info` (built on first use)."""
        return _risk_sets(self)


def _table_size(values: np.ndarray) -> int | None:
    """``max + 1`` for whole numbers >= 0 in a range a lookup table can hold (days, as
    registries record them), else None."""
    if not len(values):
        return None
    hi = float(values.max())
    whole = np.array_equal(values, np.floor(values))
    return int(hi) + 1 if whole and values.min() >= 0 and hi <= 4 * len(values) + 1e6 else None


def prepare_stratum(x, stop, entry, event, w) -> Stratum:
    """A stratum's rows (``entry`` None for right-censored data) with its event times; the
    fast path's packing (:attr:`Stratum.fast`) is built on first use."""
    ev = np.flatnonzero(event == 1)
    if _table_size(stop) is not None or not len(ev):
        times, tidx = time_index(stop[ev])  # no sort for whole-number times
        d = np.bincount(tidx, minlength=len(times)).astype(float)
        return Stratum(x, stop, entry, event, w, times, tidx, d, ev)
    # one sort of every row gives the event times and, later, the rows' bins
    by_exit = np.argsort(stop)
    dead = by_exit[event[by_exit] == 1]
    t = stop[dead]
    new = np.empty(len(t), dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    at = np.empty(len(stop), dtype=np.int64)
    at[dead] = np.cumsum(new) - 1
    tidx = at[ev]
    times = t[new]
    d = np.bincount(tidx, minlength=len(times)).astype(float)
    return Stratum(x, stop, entry, event, w, times, tidx, d, ev, by_exit)


def _time_bins(times: np.ndarray, values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Per value, the index of the last event time at or before it (-1 when none):
    ``searchsorted(times, values, "right") - 1``. Whole-number values read it from a table;
    others are searched in sorted order (``order``, or sorted here), so that the binary
    search walks forward instead of jumping about the memory."""
    size = _table_size(values)
    if size is not None and np.array_equal(times, np.floor(times)):
        present = np.zeros(size, dtype=np.int64)
        present[times[times < size].astype(np.int64)] = 1
        return (np.cumsum(present) - 1)[values.astype(np.int64)]
    order = np.argsort(values) if order is None else order
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.searchsorted(times, values[order], side="right") - 1
    return out


def _group_order(key: np.ndarray, top: int) -> np.ndarray:
    """Stable argsort of integer keys in ``[0, top)``: numpy sorts 16-bit keys by a linear
    radix sort, so larger keys go in two 16-bit passes (low half, then high half)."""
    if top <= 1 << 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    if top <= 1 << 32:
        k = key.astype(np.uint32)
        low = np.argsort((k & 0xFFFF).astype(np.uint16), kind="stable")
        return low[np.argsort((k[low] >> 16).astype(np.uint16), kind="stable")]
    return np.argsort(key, kind="stable")


@dataclass(eq=False)
class RiskSets:
    """A stratum's rows packed once for every Newton step.

    Each row at risk at some event time goes into the bin of the last event time at or before
    its exit; a bin with tied deaths is two segments, its deaths first. One sparse product of
    the segments with ``r [1, x]`` (``x`` centred, which changes nothing but rounding) gives
    the sums per bin; a reverse cumulative sum over the bins then gives the risk sets (rows
    with exit >= t), less the rows that enter at or after t (the ``entering`` bins). The
    second moments are never summed per time: the information needs them only through one
    weighted Gram matrix of the rows (see :func:`loglik_score_info`). Rows at risk at no event
    time are left out. Covariates are kept both by row (``packed``, for the sparse product)
    and by covariate (``xt``, for everything else: whole-row numpy operations are fastest on
    contiguous rows).
    """

    rows: np.ndarray  # the stratum's positions of the packed rows, by bin
    packed: np.ndarray  # (n, 1 + p): 1, x
    xt: np.ndarray  # (p, n) the centred covariates, same order
    w: np.ndarray
    exit_at: np.ndarray  # per row: 1 + its bin (the number of event times <= its exit)
    entry_at: np.ndarray | None  # per row: the number of event times <= its entry
    segments: sparse.csr_matrix  # (segments, n); its data are set to r at each step
    entering: sparse.csr_matrix | None  # (event times, n): rows by entry bin
    first_seg: np.ndarray  # per event time: its first segment (the deaths when tied)
    tied: np.ndarray  # event times with more than one death
    n_tied: np.ndarray  # their numbers of deaths (int)
    slot_start: np.ndarray  # per tied time: the start of its Efron slots
    frac: np.ndarray  # per slot: Efron's k/d
    wv: np.ndarray  # per slot: the mean case weight of its time's deaths
    death_w: np.ndarray  # per event time: the summed case weight of its deaths
    deaths: np.ndarray  # positions of the death rows
    death_time: np.ndarray  # their event time
    tied_deaths: np.ndarray  # positions of the deaths at tied times
    tied_deaths_of: np.ndarray  # their index in ``tied``
    ev_wx: np.ndarray  # sum of w x over the deaths (the same at every step)
    p: int
    last: tuple | None = None  # the last step's beta and sums: the residuals reuse them


def _csr(cols: np.ndarray, indptr: np.ndarray, n: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(len(indptr) - 1, n))


def _bin_rows(
    st: Stratum, exit_all: np.ndarray, entry_all: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows at risk at some event time, by bin and, within a bin, its deaths first (a
    death's exit is its bin's event time); and the number of rows in each bin."""
    alive = exit_all > (-1 if entry_all is None else entry_all)
    rows = np.flatnonzero(alive) if st.by_exit is None else st.by_exit[alive[st.by_exit]]
    key = 2 * exit_all.take(rows) + (st.event.take(rows) != 1)
    if len(key) > 1 and (key[1:] < key[:-1]).any():  # rows by exit time are nearly in order
        rows = rows[_group_order(key, 2 * len(st.times))]
    return rows, np.bincount(key >> 1, minlength=len(st.times))


def _risk_sets(st: Stratum) -> RiskSets:
    m, p = len(st.times), st.x.shape[1]
    exit_all = _time_bins(st.times, st.stop, st.by_exit)
    entry_all = None if st.entry is None else _time_bins(st.times, st.entry, None)
    rows, counts = _bin_rows(st, exit_all, entry_all)
    n = len(rows)
    # the rows are by bin, so bins, deaths and their times follow from the bins' counts
    exit_bin = np.repeat(np.arange(m), counts)
    bin_start = np.cumsum(counts) - counts
    tied = np.flatnonzero(st.d > 1)
    n_tied = st.d[tied].astype(np.int64)
    n_seg = np.ones(m, dtype=np.int64)
    n_seg[tied] = 2
    first_seg = np.concatenate(([0], np.cumsum(n_seg)[:-1]))
    indptr = np.empty(int(n_seg.sum()) + 1, dtype=np.int64)
    indptr[first_seg] = bin_start
    indptr[first_seg[tied] + 1] = bin_start[tied] + n_tied
    indptr[-1] = n
    entering, entry_bin = None, None
    if entry_all is not None:
        entry_bin = entry_all.take(rows)
        late = np.flatnonzero(entry_bin >= 0)
        late = late[_group_order(entry_bin[late], m)]
        counts = np.bincount(entry_bin[late], minlength=m)
        entering = _csr(late, np.concatenate(([0], np.cumsum(counts))), n)
    # np.take: several times faster than fancy indexing for whole rows
    x = np.take(st.x, rows, axis=0)
    x -= np.full(len(st.x), 1 / max(len(st.x), 1)) @ st.x  # the mean, by BLAS
    packed = np.empty((n, 1 + p))
    packed[:, 0] = 1.0
    packed[:, 1:] = x
    xt = np.ascontiguousarray(x.T)
    del x
    w = st.w.take(rows)
    d = st.d.astype(np.int64)
    death_time = np.repeat(np.arange(m), d)  # a bin's deaths are its first d rows
    deaths = np.arange(len(death_time)) + np.repeat(bin_start - (np.cumsum(d) - d), d)
    tied_index = np.full(m, -1)
    tied_index[tied] = np.arange(len(tied))
    at_tied = tied_index[death_time] >= 0
    death_w = np.bincount(death_time, weights=w[deaths], minlength=m)
    slot_start = np.cumsum(n_tied) - n_tied
    k = np.arange(int(n_tied.sum())) - np.repeat(slot_start, n_tied)
    return RiskSets(
        rows=rows,
        packed=packed,
        xt=xt,
        w=w,
        exit_at=exit_bin + 1,
        entry_at=None if entry_bin is None else entry_bin + 1,
        segments=_csr(np.arange(n), indptr, n),
        entering=entering,
        first_seg=first_seg,
        tied=tied,
        n_tied=n_tied,
        slot_start=slot_start,
        frac=k / np.repeat(st.d[tied], n_tied),
        wv=np.repeat(death_w[tied] / st.d[tied], n_tied),
        death_w=death_w,
        deaths=deaths,
        death_time=death_time,
        tied_deaths=deaths[at_tied],
        tied_deaths_of=tied_index[death_time[at_tied]],
        ev_wx=xt @ np.bincount(deaths, weights=w[deaths], minlength=n),
        p=p,
    )


def _bin_sums(f: RiskSets, beta: np.ndarray):
    """``eta``, ``r = w exp(eta)``, and per event time the risk-set sums ``A`` of
    ``r [1, x]`` and, at the tied times, the same sums ``D`` over the deaths."""
    if f.last is not None and np.array_equal(f.last[0], beta):
        return f.last[1]
    eta = beta @ f.xt
    r = np.exp(eta)
    r *= f.w
    # the segments' pattern is fixed: only their values change from step to step
    np.copyto(f.segments.data, r)
    seg = f.segments @ f.packed
    if len(f.tied):
        by_bin = seg[f.first_seg]
        died = seg[f.first_seg[f.tied]]
        by_bin[f.tied] += seg[f.first_seg[f.tied] + 1]
    else:
        by_bin, died = seg, seg[:0]
    if f.entering is not None:
        np.take(r, f.entering.indices, out=f.entering.data)
        by_bin -= f.entering @ f.packed
    at_risk = np.cumsum(by_bin[::-1], axis=0)[::-1]
    f.last = (beta.copy(), (eta, r, at_risk, died))
    return eta, r, at_risk, died


class _TimeTerms(NamedTuple):
    """Efron's slot sums folded into per-event-time numbers.

    At a time with ``d`` deaths, slot ``k`` has denominator ``den = A0 - f D0`` (``f = k/d``)
    and risk-set mean ``xbar = u + g delta``, with ``u = A1/A0`` the risk set's mean,
    ``delta = u - D1/D0`` its difference from the deaths' and ``g = f D0/den``; every sum
    over slots is then a sum of scalars per time times ``u`` and ``delta``, and no per-slot
    vector is formed. Breslow's (and Efron's at untied times) is the ``f = 0`` case.
    """

    log_den: float  # sum over slots of wv log(den)
    u: np.ndarray  # (m, p) risk-set means
    c0: np.ndarray  # (m,) sum wv / den
    c1: np.ndarray  # (tied,) sum wv f / den
    s1: np.ndarray  # (tied,) sum wv g
    s2: np.ndarray  # (tied,) sum wv g^2
    delta: np.ndarray  # (tied, p)
    den: np.ndarray | None  # per slot (Efron only)


def _time_terms(f: RiskSets, at_risk: np.ndarray, died: np.ndarray, ties: str) -> _TimeTerms:
    p = f.p
    a0 = at_risk[:, 0]
    u = at_risk[:, 1:] / a0[:, None]
    log_den = f.death_w * np.log(a0)
    c0 = f.death_w / a0
    nt = len(f.tied)
    if ties != "efron" or not nt:
        z = np.zeros(nt)
        return _TimeTerms(float(log_den.sum()), u, c0, z, z, z, np.zeros((nt, p)), None)
    d0 = died[:, 0]
    fd = f.frac * np.repeat(d0, f.n_tied)
    den = np.repeat(a0[f.tied], f.n_tied) - fd
    inv = f.wv / den
    q = inv * f.frac
    log_den[f.tied] = np.add.reduceat(f.wv * np.log(den), f.slot_start)
    c0[f.tied] = np.add.reduceat(inv, f.slot_start)
    c1 = np.add.reduceat(q, f.slot_start)
    q2 = np.add.reduceat(q * q / f.wv, f.slot_start)
    delta = u[f.tied] - died[:, 1:] / d0[:, None]
    return _TimeTerms(float(log_den.sum()), u, c0, c1, d0 * c1, d0 * d0 * q2, delta, den)


def _over_times(f: RiskSets, per_time: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``per_time`` over the event times in its ``(entry, exit]``."""
    cum = np.concatenate(([0.0], np.cumsum(per_time)))
    out = cum.take(f.exit_at)
    if f.entry_at is not None:
        out -= cum.take(f.entry_at)
    return out


def loglik_score_info(st: Stratum, beta: np.ndarray, ties: str):
    """Log partial likelihood, score and information of one stratum at ``beta``."""
    f = st.fast
    _, r, at_risk, died = _bin_sums(f, beta)
    t = _time_terms(f, at_risk, died, ties)
    loglik = float(f.ev_wx @ beta) - t.log_den
    u_t = t.u[f.tied]
    score = f.ev_wx - (f.death_w @ t.u + t.s1 @ t.delta)
    # The second moments, sum over times and slots of wv (A2 - f D2) / den, are
    # sum_i r_i x_i x_i^T v_i: each row weighted by the c0 of the times it is at risk at, less
    # c1 at its own tied death time. One Gram matrix, no (m, p, p) sums.
    v = _over_times(f, t.c0)
    v[f.tied_deaths] -= t.c1.take(f.tied_deaths_of)
    v *= r
    second = (f.xt * v) @ f.xt.T
    # less the sum over slots of wv xbar xbar^T, xbar = u + g delta
    cross = (u_t * t.s1[:, None]).T @ t.delta
    means = (t.u * f.death_w[:, None]).T @ t.u + cross + cross.T
    means += (t.delta * t.s2[:, None]).T @ t.delta
    info = second - means
    return loglik, score, (info + info.T) / 2


def packed_score_residuals(
    st: Stratum, beta: np.ndarray, ties: str
) -> tuple[np.ndarray, np.ndarray]:
    """Score residuals (R's ``residuals(fit, "score")``), Efron-aware, of the rows at risk at
    some event time (the others' are 0): those rows' positions, and the residuals by
    covariate, ``(p, rows)``, in that order. Row i's is ``x_i - xmean`` at its death less
    ``exp(eta_i)`` times its share of the hazard over the event times in
    ``(entry_i, exit_i]``, ``x_i dH - d(H xbar)``."""
    f = st.fast
    eta, _, at_risk, died = _bin_sums(f, beta)
    t = _time_terms(f, at_risk, died, ties)
    h, hx = t.c0, (t.u * t.c0[:, None]).T.copy()  # (m,), (p, m)
    xmean = t.u.T.copy()
    # a tied death is at risk for the (1 - k/d) share of each of its time's slots
    own_h, own_hx = np.zeros(len(f.tied)), np.zeros((f.p, len(f.tied)))
    if t.den is not None:
        d0, den, tied = died[:, 0], t.den, f.tied
        inv_f = f.wv * f.frac / den  # wv f / den per slot
        r1 = np.add.reduceat(inv_f / den, f.slot_start)  # sum wv f / den^2
        r2 = np.add.reduceat(inv_f * f.frac / den, f.slot_start)  # sum wv f^2 / den^2
        r3 = np.add.reduceat(f.frac / den, f.slot_start)  # sum f / den
        hx[:, tied] += (t.delta * (d0 * r1)[:, None]).T
        own_h = -t.c1
        own_hx = (t.delta * (-d0 * r2)[:, None] - t.u[tied] * t.c1[:, None]).T
        xmean[:, tied] += (t.delta * (d0 * r3 / st.d[tied])[:, None]).T
    big_h = _over_times(f, h)
    big_h[f.tied_deaths] += own_h.take(f.tied_deaths_of)
    er = np.exp(eta)
    out = np.empty_like(f.xt)
    for k in range(f.p):  # one covariate at a time: whole-row operations on contiguous rows
        rk = out[k]
        rk[:] = _over_times(f, hx[k])
        rk[f.tied_deaths] += own_hx[k].take(f.tied_deaths_of)
        rk -= f.xt[k] * big_h
        rk *= er
        rk[f.deaths] += f.xt[k].take(f.deaths) - xmean[k].take(f.death_time)
    return f.rows, out


def score_residuals(st: Stratum, beta: np.ndarray, ties: str) -> np.ndarray:
    """Score residuals per row, ``(n, p)``: :func:`packed_score_residuals` in row order."""
    rows, packed = packed_score_residuals(st, beta, ties)
    out = np.zeros((len(st.stop), packed.shape[0]))
    out[rows] = packed.T
    return out


def _slots(d: np.ndarray, ties: str) -> tuple[np.ndarray, np.ndarray]:
    """One slot per death: its time index and Efron's fraction k/d (0 for Breslow)."""
    counts = d.astype(int)
    slot_t = np.repeat(np.arange(len(d)), counts)
    k = np.arange(len(slot_t)) - np.repeat(np.cumsum(d) - d, counts)
    frac = k / d[slot_t] if ties == "efron" else np.zeros(len(slot_t))
    return slot_t, frac


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


def loglik_score_info_general(st: Stratum, beta: np.ndarray, ties: str):
    """:func:`loglik_score_info` summed over rows (``(n, p, p)`` arrays): the reference
    that the fast path is tested against."""
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


def score_residuals_general(st: Stratum, beta: np.ndarray, ties: str) -> np.ndarray:
    """:func:`score_residuals` summed over rows: the reference for the fast path."""
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
    q: np.ndarray, q_rank: np.ndarray, rank: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """For each query (position ``q``, rank ``r``): the weight of the rows at positions
    ``< q`` whose rank is below ``r``, and of those whose rank equals ``r`` (``w`` None: unit
    weights, i.e. counts).

    A wavelet matrix over the ranks: one stable partition of the rows per bit, from the
    highest, with running counts of the zero bits. A query walks down the bits of its rank,
    adding the rows of its range whose bit is 0 where its own bit is 1; the range left at
    the bottom holds the rows of equal rank. ``O(n log n)`` in whole-array numpy steps,
    with no Python loop over rows; each level gathers each query's two range ends once.
    """
    n = len(rank)
    # 32-bit positions where they fit: the gathers below move half the bytes
    ix = np.dtype(np.int32 if n < 2**31 - 1 else np.int64)
    lo: np.ndarray = np.zeros(len(q), dtype=ix)
    hi: np.ndarray = q.astype(ix)
    below = np.zeros(len(q), dtype=np.int64 if w is None else float)
    rank_b: np.ndarray = rank.astype(ix)
    w_b = None if w is None else w.astype(float)
    zero_count: np.ndarray = np.zeros(n + 1, dtype=ix)
    zero_weight = np.zeros(n + 1)
    for bit in range(int(rank.max()).bit_length() - 1 if n else -1, -1, -1):
        one = ((rank_b >> bit) & 1).astype(bool)
        zero = ~one
        np.cumsum(zero, out=zero_count[1:])
        n_zero = int(zero_count[-1])  # a Python int keeps the arrays' 32 bits
        q_one = ((q_rank >> bit) & 1).astype(bool)
        z_lo, z_hi = zero_count.take(lo), zero_count.take(hi)
        if w_b is None:
            below += np.where(q_one, z_hi - z_lo, 0)
        else:
            np.cumsum(np.where(one, 0.0, w_b), out=zero_weight[1:])
            below += np.where(q_one, zero_weight.take(hi) - zero_weight.take(lo), 0.0)
        lo = np.where(q_one, n_zero + lo - z_lo, z_lo)
        hi = np.where(q_one, n_zero + hi - z_hi, z_hi)
        order = np.concatenate((np.flatnonzero(zero), np.flatnonzero(one)))
        rank_b = rank_b.take(order)
        if w_b is not None:
            w_b = w_b.take(order)
    if w_b is None:
        return below.astype(float), (hi - lo).astype(float)
    cum = np.concatenate(([0.0], np.cumsum(w_b)))
    return below, cum.take(hi) - cum.take(lo)


def _dense_rank(values: np.ndarray) -> np.ndarray:
    """0-based dense ranks (``np.unique(values, return_inverse=True)[1]``) from one sort."""
    order = np.argsort(values)
    v = values[order]
    step = np.empty(len(v), dtype=np.int64)
    step[:1] = 0
    np.not_equal(v[1:], v[:-1], out=step[1:])
    rank = np.empty(len(v), dtype=np.int64)
    rank[order] = np.cumsum(step)
    return rank


def _concordance_fast(time, event, eta, w, strata) -> float:
    """Harrell's C for right-censored data (R's ``concordance``): each event is compared
    with every row of longer follow-up, or censored at the same time; ties in the linear
    predictor count one half."""
    conc = disc = tied = 0.0
    unit = bool(np.all(w == 1))
    for sidx in pd.unique(strata):
        m = strata == sidx
        t, e, ww = time[m], event[m], w[m]
        # decreasing time, censored first within a time: one radix sort of time index and
        # event (time_index needs no sort for whole-number times)
        uniq, t_idx = time_index(t)
        order = _group_order(2 * (len(uniq) - 1 - t_idx) + (e == 1), 2 * len(uniq))
        t_o, e_o, w_o = t.take(order), e.take(order), ww.take(order)
        rank = _dense_rank(eta[m]).take(order)
        ev = np.flatnonzero(e_o == 1)
        if not len(ev):
            continue
        # an event is compared with the rows before its time's group of events
        new = np.concatenate(([True], t_o[ev][1:] != t_o[ev][:-1]))
        q = ev[new][np.cumsum(new) - 1]
        lo, eq = _prefix_rank_counts(q, rank.take(ev), rank, None if unit else w_o)
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
