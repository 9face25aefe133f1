"""Competing risks: the Aalen-Johansen cumulative incidence of each cause, deterministic with
tied times (no jitter), matching R's multi-state ``survfit`` estimates, with delayed entry.

The variances are cmprsk's (Gray's delta method) by default, or, and always with delayed
entry, the infinitesimal jackknife of R's multi-state ``survfit``. Gray's k-sample test
compares the cumulative incidence of one cause across groups, summed over strata, as
``cmprsk::cuminc`` reports it. Fine-Gray regression is in :mod:`.subdistribution`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.jackknife import infinitesimal_jackknife_variance
from dah_outcomes.stats.risk_sets import risk_table

__all__ = ["CumulativeIncidenceResult", "GrayTestResult", "cumulative_incidence", "gray_test"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativeIncidenceResult(ResultMixin):
    """Aalen-Johansen cumulative incidence by group.

    Attributes
    ----------
    table : DataFrame
        ``group, time, n_risk``, for each cause ``cif_k`` and its variance ``var_k``, and
        ``survival`` (no event of any cause), at every distinct time.
    n_causes : int
        Number of causes (event codes 1..K).
    conf_level : float
        Confidence level of :meth:`confidence_interval` unless it is given another.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    variance : str
        How ``var_k`` was computed: ``"gray"`` (Gray's delta method, as cmprsk's
        ``cuminc``) or ``"jackknife"`` (the infinitesimal jackknife of R's multi-state
        ``survfit``, its ``std.err`` squared).
    """

    table: pd.DataFrame = field(repr=False)
    n_causes: int
    conf_level: float = 0.95
    n_dropped: int = 0
    variance: str = "gray"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def groups(self) -> list[str]:
        return list(pd.unique(self.table["group"]))

    def confidence_interval(self, cause: int = 1, conf_level: float | None = None) -> pd.DataFrame:
        """Pointwise CI of the cumulative incidence of ``cause`` at every distinct time.

        The log(-log) transformed interval ``F ** exp(+/- z sqrt(V) / (F log F))`` of
        cmprsk's variance ``V`` (as ``cmprsk``'s documentation and most reports use); NaN
        where ``F`` is 0 or 1.

        Parameters
        ----------
        cause : int, default 1
            The cause (1..K).
        conf_level : float, optional
            Confidence level; by default the one the result was fitted with.

        Returns
        -------
        DataFrame
            ``group, time, cif, variance, ci_lower, ci_upper, conf_level``.
        """
        if not 1 <= cause <= self.n_causes:
            raise ArgumentError(f"cause must be within 1..{self.n_causes}, got {cause}")
        conf_level = check_conf_level(self.conf_level if conf_level is None else conf_level)
        part = self.table[["group", "time", f"cif_{cause}", f"var_{cause}"]]
        part = part.rename(columns={f"cif_{cause}": "cif", f"var_{cause}": "variance"})
        lower, upper = cif_log_log_ci(
            part["cif"].to_numpy(), part["variance"].to_numpy(), conf_level
        )
        return part.assign(ci_lower=lower, ci_upper=upper, conf_level=conf_level)

    def at(self, times: Sequence[float], cause: int = 1) -> pd.DataFrame:
        """Cumulative incidence of ``cause`` at the given times (a step function)."""
        if not 1 <= cause <= self.n_causes:
            raise ArgumentError(f"cause must be within 1..{self.n_causes}, got {cause}")
        rows = []
        for g, part in self.table.groupby("group", sort=False):
            t = part["time"].to_numpy()
            cif = part[f"cif_{cause}"].to_numpy()
            var = part[f"var_{cause}"].to_numpy()
            for x in times:
                j = int(np.searchsorted(t, x, side="right")) - 1
                rows.append(
                    {
                        "group": g,
                        "time": float(x),
                        "cif": 0.0 if j < 0 else cif[j],
                        "variance": 0.0 if j < 0 else var[j],
                    }
                )
        return pd.DataFrame(rows)


def cif_log_log_ci(
    cif: np.ndarray, variance: np.ndarray, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """log(-log) confidence bounds of cumulative incidences from their variances."""
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    f = np.asarray(cif, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = z * np.sqrt(np.asarray(variance, dtype=float)) / (f * np.log(f))
        inside = (f > 0) & (f < 1)
        return (np.where(inside, f ** np.exp(-a), np.nan), np.where(inside, f ** np.exp(a), np.nan))


def _gray_variance(
    fk: np.ndarray, fkn: np.ndarray, cif: np.ndarray, d1: np.ndarray, d2: np.ndarray, rs: np.ndarray
) -> np.ndarray:
    """Variance of the cumulative incidence by Gray's (1988) delta method, as cmprsk's
    ``cuminc``: contributions of the cause's own events and of competing events, with a
    correction for tied events, evaluated where the cause has events and carried forward."""
    with np.errstate(divide="ignore", invalid="ignore"):

        def t6(d: np.ndarray) -> np.ndarray:
            tie = np.where(d > 1, 1 - (d - 1) / (rs - 1), 1.0)
            return fk * fk * tie * d / (rs * rs)

        inv = np.where(fkn > 0, 1 / fkn, 0.0)
        other = (d2 > 0) & (fkn > 0)
        w2 = np.where(other, t6(d2), 0.0)
        t4_other = cif * inv
        w1 = np.where(d1 > 0, t6(d1), 0.0)
        t4_own = 1 + inv * cif
    v1 = np.cumsum(t4_other**2 * w2 + t4_own**2 * w1)
    v2 = np.cumsum(inv * t4_other * w2 + inv * t4_own * w1)
    v3 = np.cumsum(inv**2 * w2 + inv**2 * w1)
    at_event = v1 + cif**2 * v3 - 2 * cif * v2
    # a step function that changes only where the cause has events
    idx = np.where(d1 > 0, np.arange(len(d1)), -1)
    idx = np.maximum.accumulate(idx)
    return np.where(idx >= 0, at_event[np.maximum(idx, 0)], 0.0)


VARIANCES = ("gray", "jackknife")


def cumulative_incidence(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    id: str | None = None,
    n_causes: int | None = None,
    weights: str | None = None,
    variance: str | None = None,
    conf_level: float = 0.95,
) -> CumulativeIncidenceResult:
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
    entry : str, optional
        Delayed-entry (left-truncation) time: a subject is at risk on ``(entry, time]``,
        as R's ``survfit(Surv(entry, time, factor(event)) ~ group, id = subject)``.
    id : str, optional
        Subject of each row, when follow-up is split into rows ``(entry, time]`` (only a
        subject's last row may end in an event): the jackknife variance sums each subject's
        influence, as survfit's ``id``. Without it each row is its own subject.
    n_causes : int, optional
        K (default: the largest code present).
    weights : str, optional
        Case weights.
    variance : {"gray", "jackknife"}, optional
        ``"gray"``: Gray's delta method, as cmprsk's ``cuminc`` (the default without
        ``entry``); ``"jackknife"``: the infinitesimal jackknife of R's multi-state
        ``survfit`` (the default, and the only choice, with ``entry`` or ``id``, which
        cmprsk cannot take).
    conf_level : float, default 0.95
        Level of the pointwise intervals of :meth:`CumulativeIncidenceResult.confidence_interval`.

    Returns
    -------
    CumulativeIncidenceResult
    """
    conf_level = check_conf_level(conf_level)
    if variance is None:
        variance = "gray" if entry is None and id is None else "jackknife"
    check_choice("variance", variance, VARIANCES)
    if id is not None and variance == "gray":
        raise ArgumentError("id (several rows per subject) needs variance='jackknife'")
    if variance == "gray" and entry is not None:
        raise ArgumentError(
            "variance='gray' (cmprsk's) has no form for delayed entry; use 'jackknife' "
            "(R's multi-state survfit)"
        )
    raw = pd.to_numeric(data[event], errors="coerce") if event in data else None
    k = int(n_causes or (np.nanmax(raw) if raw is not None and raw.notna().any() else 1))
    s = read_survival_columns(
        data,
        time=time,
        event=event,
        group=group,
        entry=entry,
        weights=weights,
        id=id,
        max_event_code=k,
        what="cumulative_incidence",
    )
    labels = s.group if s.group is not None else np.full(len(s.time), "all", dtype=object)
    parts = []
    for g in sorted(pd.unique(labels), key=str):
        m = labels == g
        sub_entry = None if s.entry is None else s.entry[m]
        sub_w = None if s.weights is None else s.weights[m]
        rt = risk_table(s.time[m], s.event[m], entry=sub_entry, weights=sub_w, n_causes=k)
        d_any = rt.n_event_any
        with np.errstate(divide="ignore", invalid="ignore"):  # n_risk 0 between late entries
            surv = np.cumprod(np.where(rt.n_risk > 0, 1 - d_any / rt.n_risk, 1.0))
            share = np.where(rt.n_risk[:, None] > 0, rt.n_event / rt.n_risk[:, None], 0.0)
        before = np.concatenate([[1.0], surv[:-1]])  # S(t-)
        frame = {"group": str(g), "time": rt.time, "n_risk": rt.n_risk}
        ij = None
        if variance == "jackknife":
            ij = infinitesimal_jackknife_variance(
                rt,
                s.time[m],
                s.event[m],
                None if s.id is None else pd.factorize(s.id[m])[0],  # None: one row each
                entry=sub_entry,
                weights=sub_w,
                causes=True,
            )
        for c in range(k):
            cif = np.cumsum(before * share[:, c])
            frame[f"cif_{c + 1}"] = cif
            frame[f"var_{c + 1}"] = (
                _gray_variance(
                    before, surv, cif, rt.n_event[:, c], d_any - rt.n_event[:, c], rt.n_risk
                )
                if ij is None
                else ij[:, 1 + c]
            )
        frame["survival"] = surv
        parts.append(pd.DataFrame(frame))
    return CumulativeIncidenceResult(
        table=pd.concat(parts, ignore_index=True),
        n_causes=k,
        conf_level=conf_level,
        n_dropped=s.n_dropped,
        variance=variance,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GrayTestResult(ResultMixin):
    """Gray's test of equal cumulative incidence of ``cause`` across groups.

    Attributes
    ----------
    groups : tuple of str
        Groups compared.
    cause : int
        The cause tested.
    statistic, df, p_value : float
        Chi-square statistic, its degrees of freedom and p-value.
    rho : float
        Weight power.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    groups: tuple[str, ...]
    cause: int
    statistic: float
    df: int
    p_value: float
    rho: float
    n_dropped: int = 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "cause": self.cause,
                    "statistic": self.statistic,
                    "df": self.df,
                    "p_value": self.p_value,
                    "rho": self.rho,
                }
            ]
        )


def _gray_stratum(
    t: np.ndarray, m: np.ndarray, g: np.ndarray, ng: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score and variance of Gray's test in one stratum (m: 0 censored, 1 cause of
    interest, 2 other cause; g: group 0..ng-1), following Gray (1988)."""
    order = np.argsort(t, kind="stable")
    t, m, g = t[order], m[order], g[order]
    ng1 = ng - 1
    rs = np.bincount(g, minlength=ng).astype(float)
    f1m, skmm = np.zeros(ng), np.ones(ng)
    f1, skm = np.zeros(ng), np.ones(ng)
    c = np.zeros((ng, ng))
    v3, v2 = np.zeros(ng), np.zeros((ng1, ng))
    score, var = np.zeros(ng1), np.zeros((ng1, ng1))
    fm = 0.0
    starts = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]]))
    ends = np.concatenate([starts[1:], [len(t)]])
    for lo, hi in zip(starts, ends, strict=True):
        d = np.zeros((3, ng))
        np.add.at(d, (m[lo:hi], g[lo:hi]), 1.0)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 > 0 or nd2 > 0:
            live = rs > 0
            skm = np.where(live, skmm * (rs - d[1] - d[2]) / np.where(live, rs, 1), skm)
            f1 = np.where(live, f1m + skmm * d[1] / np.where(live, rs, 1), f1)
            # a group whose risk set has emptied has rs = skmm = 0: it drops out of the sums
            # (divided only where live, so no 0/0 is formed)
            h = np.divide(rs, skmm, out=np.zeros(ng), where=live)
            tr = float(h.sum())
            tq = float((h * (1 - f1m)).sum())
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = -fb * np.outer(h, h) / tr
            np.fill_diagonal(a, fb * h * (1 - h / tr))
            if nd1 > 0:  # dF / (1 - F-): nothing at a competing event alone, where 1 - F-
                # may already be 0 (cmprsk's 0/0 there makes its statistic NaN)
                c += a * nd1 / (tr * (1 - fm))
            for i in range(ng1):
                if live[i]:
                    score[i] += fb * (d[1, i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in np.flatnonzero(live):
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    col = a[:ng1, k] - t4 * c[:ng1, k]
                    v2[:, k] += col * t4 * t3
                    var += np.outer(col, col) * t3
            if nd2 > 0:
                for k in np.flatnonzero((skm > 0) & (d[2] > 0)):
                    t4 = (1 - f) / skm[k]
                    t5 = 1 - (d[2, k] - 1) / (rs[k] - 1) if d[2, k] > 1 else 1.0
                    t3 = t5 * skmm[k] ** 2 * d[2, k] / rs[k] ** 2
                    v3[k] += t4 * t4 * t3
                    col = t4 * c[:ng1, k]
                    v2[:, k] -= col * t4 * t3
                    var += np.outer(col, col) * t3
            fm = f
        rs -= np.bincount(g[lo:hi], minlength=ng)
        f1m, skmm = f1.copy(), skm.copy()
    cc = c[:ng1]
    var += (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return score, var


def gray_test(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    cause: int = 1,
    strata: str | None = None,
    rho: float = 0.0,
) -> GrayTestResult:
    """Gray's k-sample test of equal cumulative incidence of ``cause`` (cmprsk's test).

    Parameters
    ----------
    data : DataFrame
    time, event : str
        Time and event code (0 censored, 1..K causes).
    group : str
        Groups compared (sorted labels).
    cause : int
        The cause of interest; every other cause competes.
    strata : str, optional
        Scores and variances are summed over strata.
    rho : float
        Weight power (1 - F(t-))^rho; 0 as cmprsk's default.

    Returns
    -------
    GrayTestResult
    """
    raw = pd.to_numeric(data[event], errors="coerce") if event in data else None
    k = int(np.nanmax(raw)) if raw is not None and raw.notna().any() else 1
    s = read_survival_columns(
        data,
        time=time,
        event=event,
        group=group,
        strata=strata,
        max_event_code=max(k, cause),
        what="gray_test",
    )
    assert s.group is not None  # group is a required column name: read_survival_columns read it
    labels = sorted(pd.unique(s.group), key=str)
    ng = len(labels)
    if ng < 2:
        raise ArgumentError(f"group column {group!r} has {ng} group(s); need at least 2")
    gidx = pd.Index(labels).get_indexer(s.group)
    m = np.where(s.event == cause, 1, np.where(s.event == 0, 0, 2))
    st = s.strata if s.strata is not None else np.zeros(len(s.time), dtype=object)
    score, var = np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    for level in pd.unique(st):
        mask = st == level
        sc, v = _gray_stratum(s.time[mask], m[mask], gidx[mask], ng, rho)
        score, var = score + sc, var + v
    if not (m == 1).any():
        raise EstimationError(
            f"gray_test: no events of cause {cause}; there is no cumulative incidence to compare"
        )
    try:
        stat = float(score @ np.linalg.solve(var, score))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "gray_test: the variance of the score is singular (e.g. every event at one time, "
            "or a group never at risk at an event); there is nothing to test"
        ) from exc
    return GrayTestResult(
        groups=tuple(str(x) for x in labels),
        cause=cause,
        statistic=stat,
        df=ng - 1,
        p_value=float(stats.chi2.sf(stat, ng - 1)),
        rho=float(rho),
        n_dropped=s.n_dropped,
    )
