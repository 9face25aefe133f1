"""Kaplan-Meier estimation by group, matching R's ``survfit`` conventions.

Works from risk-set counts (:mod:`dah_outcomes.stats.risk_sets`), so aggregated registry input
(time, events, censored per group) is as welcome as one row per patient. Confidence intervals
use R's transforms (``log``, R's default; ``log-log``, as SAS and lifelines; ``plain``), the
median and other quantiles follow R's ``quantile.survfit`` (midpoint of a flat stretch at the
quantile), and the restricted mean follows ``print.survfit(rmean=)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.risk_sets import RiskTable, risk_table, time_index

__all__ = ["CONF_TYPES", "KaplanMeierResult", "SurvivalCurve", "kaplan_meier",
           "kaplan_meier_from_counts"]

CONF_TYPES = ("log", "log-log", "plain")
_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True, slots=True)
class SurvivalCurve:
    """One group's Kaplan-Meier curve at every distinct time (events and censorings)."""

    group: str
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray  # Greenwood SE of the cumulative hazard -log S (NaN where S = 0)
    lower: np.ndarray
    upper: np.ndarray


def _ci(surv: np.ndarray, se: np.ndarray, z: float, conf_type: str
        ) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            ok = surv > 0
            lower = np.where(ok, np.exp(np.log(surv) - z * se), np.nan)
            upper = np.where(ok, np.minimum(np.exp(np.log(surv) + z * se), 1.0), np.nan)
        elif conf_type == "log-log":
            ok = (surv > 0) & (surv < 1)
            xx = np.where(ok, np.log(-np.log(surv)), np.nan)
            lower = np.exp(-np.exp(xx - z * se / np.log(surv)))
            upper = np.exp(-np.exp(xx + z * se / np.log(surv)))
        else:
            lower = np.maximum(surv - z * se * surv, 0.0)
            upper = np.minimum(surv + z * se * surv, 1.0)
    return lower, upper


def _curve(group: str, rt: RiskTable, z: float, conf_type: str) -> SurvivalCurve:
    d = rt.n_event_any
    n = rt.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0))
        # Greenwood: sum d / (n (n - d)); infinite once the curve reaches 0, as in R
        inc = np.where(d > 0, d / (n * (n - d)), 0.0)
    # once the curve reaches 0 the SE of -log S is undefined (R reports NA there)
    se = np.where(surv > 0, np.sqrt(np.cumsum(inc)), np.nan)
    lower, upper = _ci(surv, se, z, conf_type)
    return SurvivalCurve(group, rt.time, n, d, rt.n_censor, surv, se, lower, upper)


def _findq(x: np.ndarray, y: np.ndarray, p: float, xmax: float) -> float:
    """R's findq: where the cumulative distribution ``y`` (at times ``x``) crosses ``p``."""
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if len(y) == 0 or np.max(y) < p:
        return float("nan")
    first = np.concatenate([[True], np.diff(y) != 0])  # drop duplicated levels (censorings)
    x, y = x[first], y[first]

    def constant_right(knots: np.ndarray) -> float:
        # approx(knots, 1:n, p, method="constant", f=1): NaN outside [knots[0], knots[-1]]
        if p < knots[0] or p > knots[-1]:
            return float("nan")
        # the first knot >= p: on a knot, that knot; between knots, the right one (f=1)
        return float(np.searchsorted(knots, p, side="left"))

    i1, i2 = constant_right(y + _TOL), constant_right(y - _TOL)
    if np.isnan(i1) or np.isnan(i2):
        if not np.isnan(i1) and abs(p - y[-1]) < _TOL:
            return float((x[int(i1)] + xmax) / 2)
        return float("nan")
    if p == 0:
        return float(x[0])
    if abs(p - y[-1]) < _TOL:
        return float((x[int(i1)] + xmax) / 2)
    return float((x[int(i1)] + x[int(i2)]) / 2)


@dataclass(frozen=True, slots=True)
class KaplanMeierResult(ResultMixin):
    """Kaplan-Meier curves by group.

    Attributes
    ----------
    curves : tuple of SurvivalCurve
        One per group, in group order.
    conf_type : str
        CI transform: ``log``, ``log-log`` or ``plain``.
    conf_level : float
        Confidence level.
    time_unit : str
        Unit of time (e.g. ``"days"``).
    """

    curves: tuple[SurvivalCurve, ...] = field(repr=False)
    conf_type: str
    conf_level: float
    time_unit: str = "days"

    @property
    def groups(self) -> list[str]:
        """Group labels in order."""
        return [c.group for c in self.curves]

    def curve(self, group: str | None = None) -> SurvivalCurve:
        """The curve of ``group`` (the only one when None)."""
        if group is None and len(self.curves) == 1:
            return self.curves[0]
        for c in self.curves:
            if c.group == str(group):
                return c
        raise ArgumentError(f"no group {group!r}; groups: {self.groups}")

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per group and distinct time."""
        parts = [pd.DataFrame({"group": c.group, "time": c.time, "n_risk": c.n_risk,
                               "n_event": c.n_event, "n_censor": c.n_censor,
                               "survival": c.survival, "std_err": c.std_err,
                               "ci_lower": c.lower, "ci_upper": c.upper})
                 for c in self.curves]
        out = pd.concat(parts, ignore_index=True)
        out["conf_type"], out["conf_level"] = self.conf_type, self.conf_level
        return out

    def to_dict(self) -> dict:
        """Summary per group: n, events, median with CI (JSON-safe)."""
        from dah_outcomes.results import json_safe

        med = self.quantile(0.5)
        return {"conf_type": self.conf_type, "conf_level": self.conf_level,
                "time_unit": self.time_unit, "groups": json_safe(med)}

    def quantile(self, p: float = 0.5) -> pd.DataFrame:
        """Time by which a fraction ``p`` has had the event, with CI, per group (R's rules).

        The CI bounds are where the pointwise survival CI crosses ``1 - p``.
        """
        if not 0 <= p <= 1:
            raise ArgumentError(f"p must be within [0, 1], got {p!r}")
        rows = []
        for c in self.curves:
            x = np.concatenate([[0.0], c.time])
            xmax = float(c.time[-1])
            rows.append({
                "group": c.group, "n": float(c.n_risk[0]), "events": float(c.n_event.sum()),
                "quantile": p,
                "time": _findq(x, np.concatenate([[0.0], 1 - c.survival]), p, xmax),
                "ci_lower": _findq(x, np.concatenate([[0.0], 1 - c.lower]), p, xmax),
                "ci_upper": _findq(x, np.concatenate([[0.0], 1 - c.upper]), p, xmax),
            })
        return pd.DataFrame(rows)

    def median(self) -> pd.DataFrame:
        """Median survival time with CI per group."""
        return self.quantile(0.5)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Survival (step function) and its CI at each landmark time, per group.

        Times beyond a group's last observation give NaN (not extrapolated), or 0 when the
        curve has already reached 0.
        """
        rows = []
        for c in self.curves:
            for t in times:
                j = int(np.searchsorted(c.time, t, side="right")) - 1
                beyond = t > c.time[-1]
                if j < 0:
                    s, lo, hi = 1.0, 1.0, 1.0
                else:
                    s, lo, hi = c.survival[j], c.lower[j], c.upper[j]
                nr = self.n_at_risk(c, t)
                if beyond:
                    # past the last follow-up the curve is unknown, unless it already hit 0
                    s = 0.0 if c.survival[-1] == 0 else float("nan")
                    lo = hi = float("nan")
                rows.append({"group": c.group, "time": float(t), "survival": float(s),
                             "ci_lower": float(lo), "ci_upper": float(hi), "n_risk": nr})
        return pd.DataFrame(rows)

    @staticmethod
    def n_at_risk(curve: SurvivalCurve, t: float) -> float:
        """Number at risk at time ``t``: followed up to ``t`` or beyond (R's convention)."""
        k = int(np.searchsorted(curve.time, t, side="left"))
        return float(curve.n_risk[k]) if k < len(curve.time) else 0.0

    def rmst(self, horizon: float) -> pd.DataFrame:
        """Restricted mean survival time to ``horizon`` with its SE, per group (R's rmean)."""
        rows = []
        for c in self.curves:
            t = np.concatenate([[0.0], c.time[c.time < horizon], [horizon]])
            s = np.concatenate([[1.0], c.survival[c.time < horizon]])
            areas = np.diff(t) * s
            mean = float(areas.sum())
            # variance: sum over event times of A_j^2 d_j / (n_j (n_j - d_j)), A_j the area
            # after t_j up to the horizon
            inside = (c.time < horizon) & (c.n_event > 0)
            after = np.cumsum(areas[::-1])[::-1]  # area from each knot to the horizon
            a_j = after[1:][c.time[c.time < horizon].searchsorted(c.time[inside])]
            d, n = c.n_event[inside], c.n_risk[inside]
            with np.errstate(divide="ignore", invalid="ignore"):
                var = float(np.sum(np.where(n > d, a_j**2 * d / (n * (n - d)), 0.0)))
            rows.append({"group": c.group, "horizon": float(horizon), "rmst": mean,
                         "se": float(np.sqrt(var))})
        return pd.DataFrame(rows)

    def rmst_difference(self, horizon: float, group_a: str, group_b: str) -> dict[str, float]:
        """RMST(a) - RMST(b) with a normal CI and two-sided z-test."""
        r = self.rmst(horizon).set_index("group")
        diff = float(r.loc[group_a, "rmst"] - r.loc[group_b, "rmst"])
        se = float(np.hypot(r.loc[group_a, "se"], r.loc[group_b, "se"]))
        z = float(stats.norm.ppf(0.5 + self.conf_level / 2))
        stat = diff / se if se > 0 else float("nan")
        return {"difference": diff, "se": se, "ci_lower": diff - z * se,
                "ci_upper": diff + z * se, "z": stat,
                "p_value": float(2 * stats.norm.sf(abs(stat))), "horizon": float(horizon)}


def _check(conf_type: str, conf_level: float) -> float:
    if conf_type not in CONF_TYPES:
        raise ArgumentError(f"conf_type must be one of {list(CONF_TYPES)}, got {conf_type!r}")
    if not 0 < conf_level < 1:
        raise ArgumentError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    return float(stats.norm.ppf(0.5 + conf_level / 2))


def _group_order(labels: np.ndarray) -> list:
    uniq = pd.unique(labels)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def kaplan_meier(data: pd.DataFrame, *, time: str, event: str, group: str | None = None,
                 entry: str | None = None, weights: str | None = None,
                 conf_level: float = 0.95, conf_type: str = "log",
                 time_unit: str = "days") -> KaplanMeierResult:
    """Kaplan-Meier survival by group.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time, event : str
        Follow-up time and event indicator (1 event, 0 censored).
    group : str, optional
        Column of group labels; one curve per group (sorted).
    entry : str, optional
        Delayed-entry (left-truncation) time.
    weights : str, optional
        Case weights.
    conf_level : float, default 0.95
    conf_type : {"log", "log-log", "plain"}, default "log"
        CI transform; R's default is ``log``, SAS's and lifelines' ``log-log``.
    time_unit : str
        Carried into the result.

    Returns
    -------
    KaplanMeierResult
    """
    z = _check(conf_type, conf_level)
    s = read_survival_columns(data, time=time, event=event, group=group, entry=entry,
                              weights=weights)
    labels = s.group if s.group is not None else np.zeros(len(s.time), dtype=np.int8)
    codes, uniques = pd.factorize(labels)
    order = _group_order(np.asarray(uniques, dtype=object)) if s.group is not None else [0]
    position = {u: i for i, u in enumerate(uniques)}
    curves = []
    if s.entry is None:
        # one pass for every group: counts by (time, group), then each group's rows
        uniq, inv = time_index(s.time)
        k, m = len(uniques), len(uniq)
        w = np.ones(len(s.time)) if s.weights is None else s.weights
        flat = inv * k + codes
        exits = np.bincount(flat, weights=w, minlength=m * k).reshape(m, k)
        died = np.bincount(flat, weights=w * (s.event == 1), minlength=m * k).reshape(m, k)
        for g in order:
            j = position[g]
            keep = exits[:, j] > 0
            n_risk = np.cumsum(exits[::-1, j])[::-1][keep]
            rt = RiskTable(uniq[keep], n_risk, died[keep, j].reshape(-1, 1),
                           (exits[:, j] - died[:, j])[keep])
            curves.append(_curve(str(g) if s.group is not None else "all", rt, z, conf_type))
    else:
        for g in order:
            mask = codes == position[g]
            rt = risk_table(s.time[mask], s.event[mask], entry=s.entry[mask],
                            weights=None if s.weights is None else s.weights[mask])
            curves.append(_curve(str(g) if s.group is not None else "all", rt, z, conf_type))
    return KaplanMeierResult(tuple(curves), conf_type, float(conf_level), time_unit)


def kaplan_meier_from_counts(counts: pd.DataFrame, *, time: str = "time",
                             events: str = "events", censored: str = "censored",
                             group: str | None = None, conf_level: float = 0.95,
                             conf_type: str = "log", time_unit: str = "days"
                             ) -> KaplanMeierResult:
    """Kaplan-Meier from aggregated counts (group, time, events, censored), e.g. a registry's
    group-by output. Equal to :func:`kaplan_meier` on the underlying rows."""
    z = _check(conf_type, conf_level)
    for c in (time, events, censored, *([group] if group else [])):
        if c not in counts:
            raise ArgumentError(f"column {c!r} not in counts; columns: {list(counts.columns)}")
    labels = counts[group].to_numpy(dtype=object) if group else np.full(len(counts), "all",
                                                                         dtype=object)
    curves = []
    for g in _group_order(labels):
        part = counts[labels == g].groupby(time, sort=True)[[events, censored]].sum()
        d = part[events].to_numpy(dtype=float)
        cens = part[censored].to_numpy(dtype=float)
        exits = d + cens
        n_risk = np.cumsum(exits[::-1])[::-1]
        keep = exits > 0
        rt = RiskTable(part.index.to_numpy(dtype=float)[keep], n_risk[keep],
                       d[keep].reshape(-1, 1), cens[keep])
        curves.append(_curve(str(g), rt, z, conf_type))
    return KaplanMeierResult(tuple(curves), conf_type, float(conf_level), time_unit)
