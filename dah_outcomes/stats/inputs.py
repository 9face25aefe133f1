"""Checking and extracting the named columns that every survival statistic takes.

The statistics functions accept any DataFrame plus column names (``time=``, ``event=``,
``group=``, ``entry=``, ``weights=``, ``strata=``, ``id=``). This module turns those into
clean numpy arrays once, with errors that say which column, which rows and how to fix it,
so each estimator does not re-check its input in its own way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats._checks import warn_dropped

__all__ = ["SurvivalInput", "read_survival_columns"]


@dataclass(frozen=True, slots=True)
class SurvivalInput:
    """Validated arrays for one survival analysis (rows with a missing value removed).

    Attributes
    ----------
    time : ndarray of float
        Event or censoring time (the ``stop`` time with delayed entry).
    event : ndarray of int
        0 = censored; 1 = event; with competing risks, 1..K = cause.
    entry : ndarray of float or None
        Left-truncation (delayed entry) time, strictly below ``time``.
    weights : ndarray of float or None
        Case weights (> 0).
    group : ndarray of object or None
        Group label of each row.
    strata : ndarray of object or None
        Stratum label of each row.
    id : ndarray of object or None
        Subject identifier (for clustered / recurrent data).
    kept : ndarray of bool
        Which rows of the input were used (False where a used column was missing), so that
        callers take further columns (e.g. covariates) from exactly these rows.
    """

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    weights: np.ndarray | None
    group: np.ndarray | None
    strata: np.ndarray | None
    id: np.ndarray | None
    kept: np.ndarray

    @property
    def n_dropped(self) -> int:
        """Rows removed because a used column was missing."""
        return int((~self.kept).sum())


def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    bad = list(index[mask][:limit])
    more = int(mask.sum()) - len(bad)
    return f"{bad}" + (f" and {more} more" if more > 0 else "")


def read_survival_columns(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    weights: str | None = None,
    strata: str | None = None,
    id: str | None = None,
    max_event_code: int = 1,
    extra: Sequence[str] = (),
    what: str = "the estimate",
    announce: bool = True,
) -> SurvivalInput:
    """Check the named columns of ``data`` and return them as arrays.

    Parameters
    ----------
    data : DataFrame
        One row per subject (or per counting-process interval with ``entry``).
    time, event : str
        Column names of the follow-up time and the event indicator (0 = censored).
    group, entry, weights, strata, id : str, optional
        Column names of the optional roles.
    max_event_code : int, default 1
        Largest allowed event code: 1 for ordinary survival, K for K competing causes.
    extra : sequence of str
        Further columns (e.g. covariates) whose missing values also drop the row.
    what : str
        The calling statistic, named in the warning about dropped rows.
    announce : bool, default True
        Warn about dropped rows; False only where the caller has already fitted a model
        on the same rows that announced them.

    Returns
    -------
    SurvivalInput

    Warns
    -----
    DroppedRowsWarning
        When rows are left out for a missing value (counted in ``n_dropped``).

    Raises
    ------
    ArgumentError
        If a column is missing, not numeric, or holds impossible values (negative times,
        event codes outside 0..max_event_code, entry not before time, weights <= 0), or if no
        complete row remains. The message names the column, the first offending rows and
        how to fix them.
    """
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    roles = {
        "time": time,
        "event": event,
        "group": group,
        "entry": entry,
        "weights": weights,
        "strata": strata,
        "id": id,
    }
    used = [c for c in roles.values() if c is not None] + list(extra)
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise ArgumentError(
            f"column(s) {missing} not found in data; available columns: {list(data.columns)}"
        )
    # column by column, so that complete data (the usual case) is never copied
    complete = np.ones(len(data), dtype=bool)
    for c in dict.fromkeys(used):
        complete &= data[c].notna().to_numpy()
    frame = data if complete.all() else data.loc[complete, used]
    if frame.empty or not complete.any():
        raise ArgumentError(
            f"no complete rows: every row has a missing value in one of {used}; "
            "fill or drop the missing values first"
        )
    if announce:
        warn_dropped(int((~complete).sum()), len(data), list(dict.fromkeys(used)), what=what)

    t = _time_column(frame, time)
    ev = _event_column(frame, event, max_event_code)
    ent = None if entry is None else _entry_column(frame, entry, time, t)
    w = None if weights is None else _weights_column(frame, weights)

    def labels(col: str | None) -> np.ndarray | None:
        return None if col is None else frame[col].to_numpy(dtype=object)

    return SurvivalInput(
        time=t,
        event=ev,
        entry=ent,
        weights=w,
        group=labels(group),
        strata=labels(strata),
        id=labels(id),
        kept=complete,
    )


def _numeric(frame: pd.DataFrame, role: str, col: str) -> np.ndarray:
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ArgumentError(
            f"{role} column {col!r} must be numeric, found dtype {s.dtype}; convert it "
            f"(e.g. pd.to_numeric(data[{col!r}])) before calling"
        )
    return s.to_numpy(dtype=float)


def _time_column(frame: pd.DataFrame, time: str) -> np.ndarray:
    t = _numeric(frame, "time", time)
    if (bad := ~np.isfinite(t) | (t < 0)).any():
        raise ArgumentError(
            f"time column {time!r} must be finite and >= 0; bad rows {_rows(bad, frame.index)}"
        )
    return t


def _event_column(frame: pd.DataFrame, event: str, max_event_code: int) -> np.ndarray:
    ev_f = _numeric(frame, "event", event)
    ev = ev_f.astype(np.int64)
    if (bad := (ev_f != ev) | (ev < 0) | (ev > max_event_code)).any():
        allowed = (
            "0 (censored) or 1 (event)"
            if max_event_code == 1
            else (f"0 (censored) or a cause code 1..{max_event_code}")
        )
        raise ArgumentError(
            f"event column {event!r} must hold {allowed}; bad rows {_rows(bad, frame.index)} "
            f"with values {sorted(set(ev_f[bad].tolist()))[:5]}"
        )
    return ev


def _entry_column(frame: pd.DataFrame, entry: str, time: str, t: np.ndarray) -> np.ndarray:
    ent = _numeric(frame, "entry", entry)
    if (bad := ~(ent < t) | (ent < 0)).any():
        raise ArgumentError(
            f"entry column {entry!r} must be >= 0 and strictly before {time!r}; bad rows "
            f"{_rows(bad, frame.index)}"
        )
    return ent


def _weights_column(frame: pd.DataFrame, weights: str) -> np.ndarray:
    w = _numeric(frame, "weights", weights)
    if (bad := ~np.isfinite(w) | (w <= 0)).any():
        raise ArgumentError(
            f"weights column {weights!r} must be positive and finite; bad rows "
            f"{_rows(bad, frame.index)}"
        )
    return w
