"""Robust (grouped infinitesimal-jackknife) variances of Kaplan-Meier and Aalen-Johansen curves.

When a subject contributes several rows (recurrent events, follow-up split into intervals,
delayed entry in counting-process form), the rows are not independent and Greenwood's
variance is too small. R's ``survfit`` then uses the infinitesimal jackknife (IJ): the
derivative of the estimate with respect to each subject's case weight, summed within a
subject (a cluster), squared and added up over subjects. This module computes it as
survival 3.5's C routines do (``survfitkm.c`` for one curve, ``survfitci.c`` for the
multi-state curves), in closed form rather than their loop over subjects per event time:

- Kaplan-Meier: the IJ of ``S(t_j)`` for cluster ``c`` is ``S(t_j) C_c(t_j)`` with
  ``C_c(t_j) = sum_{i<=j} (Y_c(t_i) h_i - dN_c(t_i)) / (n_i - d_i)``, ``h = d / n``, ``Y_c``
  the cluster's (weighted) rows at risk and ``dN_c`` its (weighted) events;
- Aalen-Johansen, cause ``k``: ``U_ck(t_j) = sum_{i<=j} S(t_{i-1}) [C_c(t_{i-1}) h_ki +
  (dN_cki - Y_c(t_i) h_ki) / n_i]``.

Clusters are processed in blocks, so memory stays at a block times the number of event times;
when each row is its own cluster (no id) the sums of squares have a closed form in
O(rows + times), equal to the blocks to about 1e-12 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dah_outcomes.stats.risk_sets import RiskTable

__all__ = ["infinitesimal_jackknife_variance"]

_BLOCK_CELLS = 2_000_000  # clusters x event times held at once


def infinitesimal_jackknife_variance(
    rt: RiskTable,
    time: np.ndarray,
    event: np.ndarray,
    cluster: np.ndarray | None,
    *,
    entry: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    causes: bool = False,
) -> np.ndarray:
    """IJ variances at each time of ``rt``: of the survival ``S`` and, with ``causes``, of
    each cause's cumulative incidence.

    Parameters
    ----------
    rt : RiskTable
        The risk table of exactly these rows (``risk_table(time, event, entry=, weights=)``).
    time, event : ndarray
        Exit time and event code (0 censored, 1..K cause) of each row.
    cluster : ndarray of int or None
        Cluster (subject) code of each row, 0..m-1; None when each row is its own cluster
        (then a closed form in O(rows + times) replaces the blocks over clusters).
    entry : ndarray, optional
        Delayed-entry time of each row (at risk on ``(entry, time]``).
    weights : ndarray, optional
        Case weights.
    causes : bool, default False
        Also return the variance of each cause's cumulative incidence.

    Returns
    -------
    ndarray
        Shape ``(len(rt.time),)`` (the variance of ``S``), or with ``causes`` shape
        ``(len(rt.time), 1 + K)``: ``S`` first, then causes 1..K. A step function: between
        event times the value of the last event time, 0 before the first.
    """
    w = np.ones(len(time)) if weights is None else np.asarray(weights, dtype=float)
    d_all = rt.n_event_any
    ev_at = np.flatnonzero(d_all > 0)
    n_out = 1 + (rt.n_event.shape[1] if causes else 0)
    if len(ev_at) == 0:
        out = np.zeros((len(rt.time), n_out))
        return out if causes else out[:, 0]
    tj, n, d = rt.time[ev_at], rt.n_risk[ev_at], d_all[ev_at]
    h = d / n
    surv = np.cumprod(1.0 - h)
    # where everyone at risk has the event S reaches 0 and stays there: the step's own
    # increment multiplies S = 0 (b = 0 keeps it finite), as survfitkm's recursion gives 0
    with np.errstate(divide="ignore"):
        b = np.where(n > d, 1.0 / (n - d), 0.0)
    steps = _Steps(
        n=n,
        a=h * b,
        b=b,
        s_prev=np.concatenate(([1.0], surv[:-1])),
        hk=rt.n_event[ev_at][:, : n_out - 1] / n[:, None],
    )
    # the rows' event-time index ranges: at risk at t_j for lo <= j < hi
    lo = (
        np.zeros(len(time), dtype=np.intp) if entry is None else np.searchsorted(tj, entry, "right")
    )
    hi = np.searchsorted(tj, time, side="right")
    if cluster is None:
        total = _singleton_sums(steps, lo, hi, w, event)
    else:
        total = _blocked_sums(steps, lo, hi, w, event, cluster)
    # the closed form's expanded squares can leave a rounding residue below 0
    total = np.maximum(total, 0.0)
    total[:, 0] *= surv**2
    # carried forward to every time of the table
    idx = np.searchsorted(tj, rt.time, side="right") - 1
    out = np.where(idx[:, None] >= 0, total[np.maximum(idx, 0)], 0.0)
    return out if causes else out[:, 0]


@dataclass(frozen=True, slots=True)
class _Steps:
    """Per event time: number at risk, the KM increments a = h / (n - d) and b = 1 / (n - d),
    S just before, and each cause's share of the risk set hk = d_k / n."""

    n: np.ndarray
    a: np.ndarray
    b: np.ndarray
    s_prev: np.ndarray
    hk: np.ndarray


def _blocked_sums(
    st: _Steps,
    lo: np.ndarray,
    hi: np.ndarray,
    w: np.ndarray,
    event: np.ndarray,
    cluster: np.ndarray,
) -> np.ndarray:
    """Sums over clusters of the squared influences (C_c, then U_ck), block by block."""
    n_t, n_causes = len(st.n), st.hk.shape[1]
    is_ev = event > 0
    j_ev = hi[is_ev] - 1  # an event row's own time is the last event time it is at risk at
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    total = np.zeros((n_t, 1 + n_causes))
    block = max(1, _BLOCK_CELLS // (n_t + 1))
    for c0 in range(0, n_clusters, block):
        in_b = (cluster >= c0) & (cluster < c0 + block)
        nb = min(block, n_clusters - c0)
        k = cluster[in_b] - c0
        # at-risk weight per cluster and event time, from a difference array over time
        diff = np.zeros((nb, n_t + 1))
        np.add.at(diff, (k, lo[in_b]), w[in_b])
        np.add.at(diff, (k, hi[in_b]), -w[in_b])
        y = np.cumsum(diff[:, :n_t], axis=1)
        ev_b = in_b[is_ev]
        k_ev, jj, w_ev = cluster[is_ev][ev_b] - c0, j_ev[ev_b], w[is_ev][ev_b]
        step = y * st.a
        np.add.at(step, (k_ev, jj), -w_ev * st.b[jj])
        c = np.cumsum(step, axis=1)
        total[:, 0] += (c**2).sum(axis=0)
        c_prev = np.concatenate((np.zeros((nb, 1)), c[:, :-1]), axis=1)
        cause_ev = event[is_ev][ev_b] - 1
        for q in range(n_causes):
            hk = st.hk[:, q]
            inc = st.s_prev * (c_prev * hk - y * hk / st.n)
            mine = cause_ev == q
            own = st.s_prev[jj[mine]] * w_ev[mine] / st.n[jj[mine]]
            np.add.at(inc, (k_ev[mine], jj[mine]), own)
            total[:, 1 + q] += (np.cumsum(inc, axis=1) ** 2).sum(axis=0)
    return total


def _running(
    index: np.ndarray, values: np.ndarray, n_t: int, until: np.ndarray | None = None
) -> np.ndarray:
    """Per event time, the sum of ``values`` over rows with ``index <= j`` (and ``j < until``):
    one bincount and a cumulative sum, no per-row loop."""
    acc = np.bincount(index, weights=values, minlength=n_t + 1)
    if until is not None:
        acc -= np.bincount(until, weights=values, minlength=n_t + 1)
    return np.cumsum(acc)[:n_t]


def _singleton_sums(
    st: _Steps, lo: np.ndarray, hi: np.ndarray, w: np.ndarray, event: np.ndarray
) -> np.ndarray:
    """The same sums when every row is its own cluster, in closed form.

    A row at risk on event times lo..hi-1 has ``C(j) = w (A_j - B)``, ``B = A_{lo-1}``, while
    at risk (less ``w b`` at its own event), and a constant ``K`` once it has left; the sum of
    squares over rows is then a few running sums of row coefficients. Likewise the cause-k
    influence is ``w F_j - w B Q_j - w E`` while at risk (``Q`` the running sum of
    ``q = S(t-) h_k``, ``F`` that of ``q (A_{j-1} - 1 / n)``) and ``U_end + K (Q_j -
    Q_{hi-1})`` after.
    """
    n_t, n_causes = len(st.n), st.hk.shape[1]
    keep = hi > lo  # rows never at risk at an event time have no influence
    lo, hi, w, event = lo[keep], hi[keep], w[keep], event[keep]
    last = hi - 1
    a_ext = np.concatenate(([0.0], np.cumsum(st.a)))  # a_ext[j + 1] = A_j
    big_a = a_ext[1:]
    base = a_ext[lo]
    ev = event > 0
    own_b = np.where(ev, st.b[last], 0.0)
    x_end = big_a[last] - base  # A_{hi-1} - B
    k_fin = w * (x_end - own_b)
    w2 = w * w
    total = np.zeros((n_t, 1 + n_causes))
    active = [_running(lo, v, n_t, hi) for v in (w2, w2 * base, w2 * base**2)]
    total[:, 0] = active[0] * big_a**2 - 2 * active[1] * big_a + active[2]
    # at its own event time the row's C lacks w b: (X - b)^2 - X^2 = b^2 - 2 X b
    total[:, 0] += np.bincount(last, weights=w2 * (own_b**2 - 2 * x_end * own_b), minlength=n_t)
    total[:, 0] += _running(hi, k_fin**2, n_t)
    a_prev = np.concatenate(([0.0], big_a[:-1]))  # A_{j-1}
    for q in range(n_causes):
        qk = st.s_prev * st.hk[:, q]
        big_q = np.cumsum(qk)
        big_f = np.cumsum(qk * (a_prev - 1.0 / st.n))
        q_ext, f_ext = np.concatenate(([0.0], big_q)), np.concatenate(([0.0], big_f))
        alpha, beta = w, -w * base
        gamma = -w * (f_ext[lo] - base * q_ext[lo])  # F_{lo-1} - B Q_{lo-1}
        s = [
            _running(lo, v, n_t, hi)
            for v in (alpha**2, beta**2, gamma**2, alpha * beta, alpha * gamma, beta * gamma)
        ]
        total[:, 1 + q] = (
            s[0] * big_f**2
            + s[1] * big_q**2
            + s[2]
            + 2 * (s[3] * big_f * big_q + s[4] * big_f + s[5] * big_q)
        )
        # a row's own event of cause q adds e = S(t-) w / n at its last time, and stays
        u_lin = alpha * big_f[last] + beta * big_q[last] + gamma
        e = np.where(event == q + 1, st.s_prev[last] * w / st.n[last], 0.0)
        total[:, 1 + q] += np.bincount(last, weights=2 * u_lin * e + e**2, minlength=n_t)
        kappa, mu = k_fin, u_lin + e - k_fin * big_q[last]
        fin = [_running(hi, v, n_t) for v in (kappa**2, kappa * mu, mu**2)]
        total[:, 1 + q] += fin[0] * big_q**2 + 2 * fin[1] * big_q + fin[2]
    return total


def robust_by_default(event: np.ndarray, id: np.ndarray | None, weights: np.ndarray | None) -> bool:
    """R's ``survfitKM`` default for ``robust``: TRUE with non-integer case weights, or with an
    ``id`` under which some subject has more than one event; otherwise Greenwood.

    Parameters
    ----------
    event : ndarray
        Event indicator of each row.
    id : ndarray, optional
        Subject of each row.
    weights : ndarray, optional
        Case weights.

    Returns
    -------
    bool
    """
    if weights is not None and np.any(weights != np.floor(weights)):
        return True
    if id is None:
        return False
    with_event = id[event == 1]
    return len(set(with_event.tolist())) < len(with_event)


def last_of_subject(id: np.ndarray, entry: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Rows that end a subject's run of contiguous intervals (R's ``survflag`` bit 2).

    A row ending without an event while the same subject's next row starts at its stop time
    is not a censoring: survfit does not count it in ``n.censor``.

    Parameters
    ----------
    id : ndarray
        Subject of each row.
    entry, time : ndarray
        Start and stop of each row.

    Returns
    -------
    ndarray of bool
    """
    codes = np.unique(id.astype(str), return_inverse=True)[1]
    order = np.lexsort((time, codes))
    c, start, stop = codes[order], entry[order], time[order]
    ends = np.ones(len(order), dtype=bool)
    ends[:-1] = (c[:-1] != c[1:]) | (stop[:-1] < start[1:])
    out = np.empty(len(order), dtype=bool)
    out[order] = ends
    return out
