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

Clusters are processed in blocks, so memory stays at a block times the number of event times.
"""

from __future__ import annotations

import numpy as np

from dah_outcomes.stats.risk_sets import RiskTable

__all__ = ["infinitesimal_jackknife_variance"]

_BLOCK_CELLS = 2_000_000  # clusters x event times held at once


def infinitesimal_jackknife_variance(
    rt: RiskTable,
    time: np.ndarray,
    event: np.ndarray,
    cluster: np.ndarray,
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
    cluster : ndarray of int
        Cluster (subject) code of each row, 0..m-1.
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
    out = np.zeros((len(rt.time), n_out))
    if len(ev_at) == 0:
        return out if causes else out[:, 0]
    tj, n, d = rt.time[ev_at], rt.n_risk[ev_at], d_all[ev_at]
    dk = rt.n_event[ev_at]  # (T, K) events of each cause
    h = d / n
    surv = np.cumprod(1.0 - h)
    s_prev = np.concatenate(([1.0], surv[:-1]))
    # where everyone at risk has the event S reaches 0 and stays there: the step's own
    # increment multiplies S = 0 (b = 0 keeps it finite), as survfitkm's recursion gives 0
    with np.errstate(divide="ignore"):
        b = np.where(n > d, 1.0 / (n - d), 0.0)
    a = h * b
    # the rows' event-time index ranges: at risk at t_j for lo <= j < hi
    lo = (
        np.zeros(len(time), dtype=np.intp) if entry is None else np.searchsorted(tj, entry, "right")
    )
    hi = np.searchsorted(tj, time, side="right")
    is_ev = event > 0
    j_ev = np.searchsorted(tj, time[is_ev])
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    n_t = len(tj)
    total = np.zeros((n_t, n_out))
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
        step = y * a
        np.add.at(step, (k_ev, jj), -w_ev * b[jj])
        c = np.cumsum(step, axis=1)
        total[:, 0] += (c**2).sum(axis=0)
        if causes:
            c_prev = np.concatenate((np.zeros((nb, 1)), c[:, :-1]), axis=1)
            cause_ev = event[is_ev][ev_b] - 1
            for q in range(n_out - 1):
                hk = dk[:, q] / n
                inc = s_prev * (c_prev * hk - y * hk / n)
                mine = cause_ev == q
                np.add.at(inc, (k_ev[mine], jj[mine]), s_prev[jj[mine]] * w_ev[mine] / n[jj[mine]])
                total[:, 1 + q] += (np.cumsum(inc, axis=1) ** 2).sum(axis=0)
    total[:, 0] *= surv**2
    # carried forward to every time of the table
    idx = np.searchsorted(tj, rt.time, side="right") - 1
    out = np.where(idx[:, None] >= 0, total[np.maximum(idx, 0)], 0.0)
    return out if causes else out[:, 0]


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
