"""Recurrent events: the mean cumulative function (Nelson-Aalen estimate of the expected
number of events per subject), from counting-process rows ``(entry, time]``.

The estimate matches R's ``survfit(Surv(start, stop, event) ~ group, id = id)`` cumulative
hazard. Its CI uses the Lawless-Nadeau robust variance, which sums each subject's own
contributions and so allows events of one subject to be correlated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_conf_level
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.risk_sets import risk_table

__all__ = ["MeanCumulativeFunction", "mean_cumulative_function"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MeanCumulativeFunction(ResultMixin):
    """MCF by group at every distinct event or exit time.

    Attributes
    ----------
    table : DataFrame
        ``group, time, n_risk, n_event, mcf, se, ci_lower, ci_upper`` (Lawless-Nadeau SE;
        log-transformed CI, as for a cumulative hazard).
    conf_level : float
        Confidence level of the intervals.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    table: pd.DataFrame = field(repr=False)
    conf_level: float
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def mean_cumulative_function(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    id: str,
    entry: str | None = None,
    group: str | None = None,
    conf_level: float = 0.95,
) -> MeanCumulativeFunction:
    """Mean cumulative function of recurrent events, by group.

    Parameters
    ----------
    data : DataFrame
        Counting-process rows: one per subject interval ``(entry, time]``, ``event`` 1 when an
        event ends the interval.
    time, event, id : str
        Interval end, event indicator and subject identifier.
    entry : str, optional
        Interval start (0 when omitted: one interval per subject).
    group : str, optional
        One MCF per group.
    conf_level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    MeanCumulativeFunction
    """
    conf_level = check_conf_level(conf_level)
    s = read_survival_columns(
        data,
        time=time,
        event=event,
        id=id,
        entry=entry,
        group=group,
        what="mean_cumulative_function",
    )
    assert s.id is not None  # id is a required column name: read_survival_columns read it
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    labels = s.group if s.group is not None else np.full(len(s.time), "all", dtype=object)
    parts = []
    for g in sorted(pd.unique(labels), key=str):
        m = labels == g
        t, e = s.time[m], s.event[m]
        ent = np.zeros(m.sum()) if s.entry is None else s.entry[m]
        rt = risk_table(t, e, entry=ent)
        d = rt.n_event_any
        with np.errstate(divide="ignore", invalid="ignore"):
            dlam = np.where(rt.n_risk > 0, d / rt.n_risk, 0.0)
        mcf = np.cumsum(dlam)
        # Lawless-Nadeau: subject i's increment at t_j is (dN_ij - Y_ij dLambda_j) / n_j
        subj = pd.factorize(pd.Series(s.id[m], dtype=object))[0]
        n_subj = subj.max() + 1
        j_event = np.searchsorted(rt.time, t)  # each row's exit time index
        contrib = np.zeros((n_subj, len(rt.time)))
        np.add.at(contrib, (subj[e == 1], j_event[e == 1]), 1.0)
        lo = np.searchsorted(rt.time, ent, side="right")  # first time index > entry
        at_risk = np.zeros((n_subj, len(rt.time) + 1))
        np.add.at(at_risk, (subj, lo), 1.0)
        np.add.at(at_risk, (subj, j_event + 1), -1.0)
        y = np.cumsum(at_risk, axis=1)[:, :-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = np.where(rt.n_risk > 0, (contrib - y * dlam) / rt.n_risk, 0.0)
        var = np.sum(np.cumsum(inc, axis=1) ** 2, axis=0)
        se = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(mcf > 0, np.exp(z * se / mcf), np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "group": str(g),
                    "time": rt.time,
                    "n_risk": rt.n_risk,
                    "n_event": d,
                    "mcf": mcf,
                    "se": se,
                    "ci_lower": mcf / factor,
                    "ci_upper": mcf * factor,
                }
            )
        )
    return MeanCumulativeFunction(
        table=pd.concat(parts, ignore_index=True), conf_level=conf_level, n_dropped=s.n_dropped
    )
