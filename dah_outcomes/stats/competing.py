"""Competing risks: the Aalen-Johansen cumulative incidence of each cause, deterministic with
tied times (no jitter), matching R's multi-state ``survfit`` estimates.

Variances (cmprsk's, or survfit's), Gray's test and Fine-Gray regression are not implemented
yet; this module gives the estimates only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.risk_sets import risk_table

__all__ = ["CumulativeIncidenceResult", "cumulative_incidence"]


@dataclass(frozen=True, slots=True)
class CumulativeIncidenceResult(ResultMixin):
    """Aalen-Johansen cumulative incidence by group.

    Attributes
    ----------
    table : DataFrame
        ``group, time, n_risk, cif_1 .. cif_K, survival`` at every distinct time
        (``survival`` is the probability of no event of any cause).
    n_causes : int
        Number of causes (event codes 1..K).
    """

    table: pd.DataFrame = field(repr=False)
    n_causes: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def groups(self) -> list[str]:
        return list(pd.unique(self.table["group"]))

    def at(self, times: Sequence[float], cause: int = 1) -> pd.DataFrame:
        """Cumulative incidence of ``cause`` at the given times (a step function)."""
        if not 1 <= cause <= self.n_causes:
            raise ArgumentError(f"cause must be within 1..{self.n_causes}, got {cause}")
        rows = []
        for g, part in self.table.groupby("group", sort=False):
            t = part["time"].to_numpy()
            cif = part[f"cif_{cause}"].to_numpy()
            for x in times:
                j = int(np.searchsorted(t, x, side="right")) - 1
                rows.append({"group": g, "time": float(x), "cif": 0.0 if j < 0 else cif[j]})
        return pd.DataFrame(rows)


def cumulative_incidence(data: pd.DataFrame, *, time: str, event: str,
                         group: str | None = None, n_causes: int | None = None,
                         weights: str | None = None) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence functions.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time : str
        Time to the first event of any cause, or to censoring.
    event : str
        0 = censored, 1..K = cause.
    group : str, optional
        One set of curves per group.
    n_causes : int, optional
        K (default: the largest code present).
    weights : str, optional
        Case weights.

    Returns
    -------
    CumulativeIncidenceResult
    """
    raw = pd.to_numeric(data[event], errors="coerce") if event in data else None
    k = int(n_causes or (np.nanmax(raw) if raw is not None and raw.notna().any() else 1))
    s = read_survival_columns(data, time=time, event=event, group=group, weights=weights,
                              max_event_code=k)
    labels = s.group if s.group is not None else np.full(len(s.time), "all", dtype=object)
    parts = []
    for g in sorted(pd.unique(labels), key=str):
        m = labels == g
        rt = risk_table(s.time[m], s.event[m],
                        weights=None if s.weights is None else s.weights[m], n_causes=k)
        d_any = rt.n_event_any
        surv = np.cumprod(1 - d_any / rt.n_risk)
        before = np.concatenate([[1.0], surv[:-1]])  # S(t-)
        frame = {"group": str(g), "time": rt.time, "n_risk": rt.n_risk}
        for c in range(k):
            frame[f"cif_{c + 1}"] = np.cumsum(before * rt.n_event[:, c] / rt.n_risk)
        frame["survival"] = surv
        parts.append(pd.DataFrame(frame))
    return CumulativeIncidenceResult(pd.concat(parts, ignore_index=True), k)
