"""Risk-set counts by group from one row per subject: the one counting pass behind
Kaplan-Meier and log-rank.

Counting is done once per call: one ``bincount`` of (day, group) when times are whole numbers,
otherwise one sort of the times per group, never a sort of row indices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dah_outcomes.stats.inputs import SurvivalInput, read_survival_columns
from dah_outcomes.stats.risk_sets import RiskTable, risk_table

__all__ = ["counts_table", "label_codes", "read_grouped", "risk_tables_by_group"]


def label_codes(col: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes 0..k-1 and their labels (sorted; a categorical keeps its level order,
    as R keeps a factor's).

    Parameters
    ----------
    col : Series
        Group labels.

    Returns
    -------
    tuple
        Codes (ndarray of int) and the labels in code order.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        raw = col.cat.codes.to_numpy()
        cats = col.cat.categories
        present = np.bincount(raw, minlength=len(cats)) > 0
        if present.all():  # no unused level: the codes are already 0..k-1
            return raw.astype(np.intp, copy=False), list(cats)
        remap = np.cumsum(present) - 1
        return remap[raw], list(cats[present])
    try:
        codes, uniques = pd.factorize(col, sort=True)
        return codes, list(uniques)
    except TypeError:  # mixed label types: order by their text
        codes, uniques = pd.factorize(col)
        order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        return rank[codes], [uniques[i] for i in order]


def read_grouped(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None,
    entry: str | None = None,
    weights: str | None = None,
    strata: str | None = None,
    id: str | None = None,
    what: str = "the estimate",
) -> tuple[SurvivalInput, np.ndarray, list, np.ndarray | None, list]:
    """Validated arrays plus integer codes of ``group`` and ``strata``.

    Labels are factorised from the column itself (a categorical's codes are free) rather than
    through an object array, which at 10 million rows costs more than the estimator.
    """
    extra = [c for c in (group, strata) if c is not None]
    s = read_survival_columns(
        data, time=time, event=event, entry=entry, weights=weights, id=id, extra=extra, what=what
    )

    def column(name: str) -> pd.Series:
        return data[name] if s.n_dropped == 0 else data.loc[s.kept, name]

    if group is None:
        codes, labels = np.zeros(len(s.time), dtype=np.intp), ["all"]
    else:
        codes, labels = label_codes(column(group))
    st_codes, st_labels = (None, []) if strata is None else label_codes(column(strata))
    return s, codes, labels, st_codes, st_labels


def counts_table(time: np.ndarray, died: np.ndarray, censored: np.ndarray) -> RiskTable:
    """A one-cause :class:`RiskTable` from deaths and censorings at distinct ascending times.

    Parameters
    ----------
    time : ndarray
        Distinct times, ascending.
    died, censored : ndarray
        (Weighted) events and censorings at each time.

    Returns
    -------
    RiskTable
    """
    n_risk = np.cumsum((died + censored)[::-1])[::-1]
    return RiskTable(time=time, n_risk=n_risk, n_event=died.reshape(-1, 1), n_censor=censored)


def _sorted_table(t: np.ndarray, e: np.ndarray) -> RiskTable:
    """One group's counts from a single sort of values (no index sort, no gather).

    For t >= 0 the IEEE-754 bit pattern of a float64 orders like the float itself, so
    ``bits << 1 | event`` is a uint64 key whose sort orders by time with the censored rows of a
    tie before its events; one pass over the sorted keys then gives the distinct times, the
    exits and the events. (-0.0 loses its sign bit in the shift and joins 0.0.)
    """
    key = np.ascontiguousarray(t, dtype=np.float64).view(np.uint64) << np.uint64(1)
    key |= e.astype(np.uint64)
    key.sort()
    bits = key >> np.uint64(1)
    if len(bits) == 0:
        return counts_table(np.zeros(0), np.zeros(0), np.zeros(0))
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    exits = np.diff(np.append(starts, len(bits))).astype(float)
    # events per time: the run's count of odd keys, from a running count of events
    ends = np.append(starts[1:], len(bits)) - 1
    n_ev = np.cumsum(key & np.uint64(1), dtype=np.int64)
    died = (n_ev[ends] - np.concatenate(([0], n_ev[ends[:-1]]))).astype(float)
    return counts_table(bits[starts].view(np.float64), died, exits - died)


def _whole_numbers(time: np.ndarray, k: int) -> np.ndarray | None:
    """``time`` as int64 when all are whole numbers small enough to index a (day, group)
    count array of moderate size; otherwise None."""
    if len(time) == 0:
        return None
    hi = float(time.max())
    if (hi + 1) * k > 4 * len(time) + 1_000_000:
        return None
    as_int = time.astype(np.int64)
    return as_int if np.array_equal(as_int, time) else None


def risk_tables_by_group(
    time: np.ndarray,
    event: np.ndarray,
    codes: np.ndarray,
    k: int,
    *,
    entry: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> list[RiskTable]:
    """One :class:`RiskTable` per group code ``0..k-1`` (an empty table for an absent code).

    Equal to ``risk_table`` on each group's rows; faster paths are taken when there is no
    delayed entry: one ``bincount`` of (day, group) for whole-number times, else one value sort
    per group (unweighted).
    """
    if entry is None:
        days = _whole_numbers(time, k)
        if days is not None:
            key = days * k + codes
            size = (int(days.max()) + 1) * k
            exits = np.bincount(key, weights=weights, minlength=size).reshape(-1, k)
            # event weights rather than a gather of the event rows: one pass, no copy
            is_event = event == 1
            died = np.bincount(
                key, minlength=size, weights=is_event if weights is None else weights * is_event
            )
            died = died.reshape(-1, k)
            out = []
            for g in range(k):
                keep = np.flatnonzero(exits[:, g])
                d = died[keep, g].astype(float)
                out.append(counts_table(keep.astype(float), d, exits[keep, g] - d))
            return out
        if weights is None:
            ev = event == 1
            if k == 1:
                return [_sorted_table(time, ev)]
            out = []
            for g in range(k):
                m = codes == g
                out.append(_sorted_table(time[m], ev[m]))
            return out
    out = []
    for g in range(k):
        m = codes == g
        out.append(
            risk_table(
                time[m],
                event[m],
                entry=None if entry is None else entry[m],
                weights=None if weights is None else weights[m],
            )
        )
    return out
