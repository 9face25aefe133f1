"""Risk-set counts at the distinct event/censoring times: the one group-by behind
Kaplan-Meier, log-rank, Nelson-Aalen and Aalen-Johansen.

Working from counts means ten million rows cost one sort (or, for integer times, one
``bincount``) and that aggregated registry tables (time, events, censored) feed the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RiskTable", "risk_table", "time_index"]


def time_index(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct times and each row's index into them (``np.unique(..., return_inverse)``).

    Whole-number times (days, as registries record them) take a ``bincount`` path that needs
    no sort; distinct times with no row are dropped, so the result equals ``np.unique``'s.
    """
    n = len(time)
    if n and time.dtype.kind in "fiu":
        lo, hi = float(time.min()), float(time.max())
        if lo >= 0 and hi <= 4 * n + 1_000_000 and np.array_equal(time, np.floor(time)):
            t = time.astype(np.int64)
            present = np.bincount(t, minlength=int(hi) + 1) > 0
            uniq = np.flatnonzero(present)
            remap = np.cumsum(present) - 1
            return uniq.astype(time.dtype), remap[t]
    return np.unique(time, return_inverse=True)


@dataclass(frozen=True, slots=True)
class RiskTable:
    """Counts at each distinct time, in increasing time order.

    Attributes
    ----------
    time : ndarray
        Distinct times at which at least one row ends (event or censoring).
    n_risk : ndarray
        (Weighted) number at risk just before ``time``.
    n_event : ndarray of shape (n_times, n_causes)
        (Weighted) events of each cause at ``time`` (one column when there is one cause).
    n_censor : ndarray
        (Weighted) censored at ``time``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray

    @property
    def n_event_any(self) -> np.ndarray:
        """Events of any cause at each time."""
        return self.n_event.sum(axis=1)


def risk_table(
    time: np.ndarray,
    event: np.ndarray,
    *,
    entry: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    n_causes: int = 1,
) -> RiskTable:
    """Aggregate rows into a :class:`RiskTable`.

    Parameters
    ----------
    time : ndarray
        Exit time of each row.
    event : ndarray of int
        0 = censored, 1..n_causes = event cause.
    entry : ndarray, optional
        Delayed-entry time (row at risk on ``(entry, time]``).
    weights : ndarray, optional
        Case weights; counts become sums of weights.
    n_causes : int, default 1
        Number of event causes.

    Returns
    -------
    RiskTable
    """
    w = np.ones(len(time)) if weights is None else np.asarray(weights, dtype=float)
    uniq, inv = time_index(np.asarray(time))
    m = len(uniq)
    n_event = np.empty((m, n_causes))
    for cause in range(1, n_causes + 1):
        n_event[:, cause - 1] = np.bincount(inv, weights=w * (event == cause), minlength=m)
    n_censor = np.bincount(inv, weights=w * (event == 0), minlength=m)
    exits = np.bincount(inv, weights=w, minlength=m)
    # at risk at t_j = rows with time >= t_j (minus those entering at or after t_j)
    n_risk = np.cumsum(exits[::-1])[::-1]
    if entry is not None:
        # a row with entry e is not at risk at t_j when e >= t_j
        pos = np.searchsorted(uniq, entry, side="right")  # first index with t_j > e
        late = np.bincount(pos, weights=w, minlength=m + 1)[:m]
        n_risk = n_risk - (w.sum() - np.cumsum(late))
    return RiskTable(time=uniq, n_risk=n_risk, n_event=n_event, n_censor=n_censor)
