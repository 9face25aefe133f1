"""Kaplan-Meier estimation by group, matching R's ``survfit`` conventions.

Everything is computed from risk-set counts per group (time, at risk, events, censored), so
aggregated registry input (:func:`kaplan_meier_from_counts`) goes through the same code as one
row per patient. Conventions follow R's survival package (3.5):

- ``std_err`` is Greenwood's standard error of the cumulative hazard ``-log S`` (R's
  ``std.err``); confidence intervals use R's transforms ``log`` (R's default), ``log-log``
  (SAS, lifelines) and ``plain``.
- Quantiles and their CIs follow ``quantile.survfit``: the CI bounds are where the pointwise
  CI crosses ``1 - p``, and a flat stretch exactly at the level gives its midpoint.
- The restricted mean and its SE follow ``print.survfit(rmean=)``.

The counting itself is in :mod:`~dah_outcomes.stats.group_counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError, SmallSampleWarning, warn
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice, check_conf_level
from dah_outcomes.stats.group_counts import (
    counts_table,
    label_codes,
    read_grouped,
    risk_tables_by_group,
)
from dah_outcomes.stats.inputs import SurvivalInput
from dah_outcomes.stats.jackknife import (
    infinitesimal_jackknife_variance,
    last_of_subject,
    robust_by_default,
)
from dah_outcomes.stats.risk_sets import RiskTable
from dah_outcomes.stats.survival_quantiles import quantile_time

__all__ = [
    "CONF_TYPES",
    "KaplanMeierResult",
    "RMSTDifference",
    "SurvivalCurve",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "risk_tables_by_group",
]

CONF_TYPES = ("log", "log-log", "plain")


# --------------------------------------------------------------------------------------------
# the estimator


@dataclass(frozen=True, slots=True)
class SurvivalCurve:
    """One group's Kaplan-Meier curve at every distinct time (events and censorings).

    ``std_err`` is the Greenwood SE of the cumulative hazard ``-log S`` (R's ``std.err``),
    NaN once the curve has reached 0.
    """

    group: str
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _ci(
    surv: np.ndarray, se: np.ndarray, z: float, conf_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI of S from the SE of -log S, as R's ``survfit_confint``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            # exp(log S -/+ z se) = S * exp(-/+ z se); NaN where S = 0, as R's NA
            log_s = np.log(surv)
            lower = np.exp(log_s - z * se)
            upper = np.minimum(np.exp(log_s + z * se), 1.0)
        elif conf_type == "log-log":
            ok = (surv > 0) & (surv < 1)
            log_s = np.log(surv)
            xx = np.where(ok, np.log(-log_s), np.nan)
            lower = np.exp(-np.exp(xx - z * se / log_s))
            upper = np.exp(-np.exp(xx + z * se / log_s))
        else:
            lower = np.maximum(surv - z * se * surv, 0.0)
            upper = np.minimum(surv + z * se * surv, 1.0)
    return lower, upper


def _curve(
    group: str, rt: RiskTable, z: float, conf_type: str, var_s: np.ndarray | None = None
) -> SurvivalCurve:
    """One curve; ``var_s``, when given, is a robust variance of S itself (R's logse FALSE),
    put on the scale of -log S as ``se(S) / S`` (what survfit_confint does with it)."""
    d, n = rt.n_event_any, rt.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0))
        inc = np.where(d > 0, d / (n * (n - d)), 0.0)  # Greenwood increments
        if var_s is None:
            se = np.where(surv > 0, np.sqrt(np.cumsum(inc)), np.nan)
        else:
            se = np.where(surv > 0, np.sqrt(var_s) / surv, np.nan)
    lower, upper = _ci(surv, se, z, conf_type)
    return SurvivalCurve(group, rt.time, n, d, rt.n_censor, surv, se, lower, upper)


def _clopper_pearson(x: float, n: float, conf_level: float) -> tuple[float, float]:
    """Clopper-Pearson interval of x successes in n (NaN when n is 0)."""
    a = (1 - conf_level) / 2
    with np.errstate(invalid="ignore"):
        lo = 0.0 if x <= 0 else float(stats.beta.ppf(a, x, n - x + 1))
        hi = 1.0 if x >= n else float(stats.beta.ppf(1 - a, x + 1, n - x))
    return (lo, hi) if n > 0 else (float("nan"), float("nan"))


def _rmst(c: SurvivalCurve, horizon: float) -> tuple[float, float]:
    """Area under the curve to ``horizon`` and its SE, as R's ``print.survfit(rmean=)``."""
    before = c.time < horizon
    t = np.concatenate(([0.0], c.time[before], [horizon]))
    areas = np.diff(t) * np.concatenate(([1.0], c.survival[before]))
    # Var = sum over event times t_j of A_j^2 d_j / (n_j (n_j - d_j)), A_j the area from t_j
    # to the horizon
    after = np.cumsum(areas[::-1])[::-1][1:]
    d, n = c.n_event[before], c.n_risk[before]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.sum(np.where((d > 0) & (n > d), after**2 * d / (n * (n - d)), 0.0))
    return float(areas.sum()), float(np.sqrt(var))


@dataclass(frozen=True, slots=True, kw_only=True)
class RMSTDifference(ResultMixin):
    """Difference of restricted mean survival times, ``group_a - group_b``, to a horizon.

    Attributes
    ----------
    groups : tuple of str
        ``(group_a, group_b)``.
    horizon : float
        Restriction time.
    rmst, se : tuple of float
        Each group's RMST and its SE (R's ``print.survfit(rmean=)``).
    difference, se_difference : float
        ``rmst_a - rmst_b`` and its SE (independent groups).
    ci_lower, ci_upper : float
        Normal (Wald) confidence interval of the difference.
    z, p_value : float
        Wald z statistic and two-sided p-value.
    conf_level : float
    method : str
    """

    groups: tuple[str, str]
    horizon: float
    rmst: tuple[float, float]
    se: tuple[float, float]
    difference: float
    se_difference: float
    ci_lower: float
    ci_upper: float
    z: float
    p_value: float
    conf_level: float
    method: str = "difference of restricted mean survival times (Wald)"

    def to_frame(self) -> pd.DataFrame:
        """One row: groups, horizon, difference with CI, z and p."""
        return pd.DataFrame(
            [
                {
                    "group_a": self.groups[0],
                    "group_b": self.groups[1],
                    "horizon": self.horizon,
                    "rmst_a": self.rmst[0],
                    "rmst_b": self.rmst[1],
                    "difference": self.difference,
                    "se": self.se_difference,
                    "ci_lower": self.ci_lower,
                    "ci_upper": self.ci_upper,
                    "z": self.z,
                    "p_value": self.p_value,
                    "conf_level": self.conf_level,
                }
            ]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
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
    method : str
        The estimator and its variance, in words.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    """

    curves: tuple[SurvivalCurve, ...] = field(repr=False)
    conf_type: str
    conf_level: float
    time_unit: str = "days"
    method: str = "Kaplan-Meier (Greenwood variance)"
    n_dropped: int = 0

    @property
    def groups(self) -> list[str]:
        """Group labels in order."""
        return [c.group for c in self.curves]

    def curve(self, group: object = None) -> SurvivalCurve:
        """The curve of ``group`` (the only one when None)."""
        if group is None and len(self.curves) == 1:
            return self.curves[0]
        for c in self.curves:
            if c.group == str(group):
                return c
        raise ArgumentError(f"no group {group!r}; groups: {self.groups}")

    @property
    def _z(self) -> float:
        return float(stats.norm.ppf(0.5 + self.conf_level / 2))

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per group and distinct time."""
        parts = [
            pd.DataFrame(
                {
                    "group": c.group,
                    "time": c.time,
                    "n_risk": c.n_risk,
                    "n_event": c.n_event,
                    "n_censor": c.n_censor,
                    "survival": c.survival,
                    "std_err": c.std_err,
                    "ci_lower": c.lower,
                    "ci_upper": c.upper,
                }
            )
            for c in self.curves
        ]
        out = pd.concat(parts, ignore_index=True)
        out["conf_type"], out["conf_level"] = self.conf_type, self.conf_level
        return out

    def _title(self) -> str:
        level = f"{self.conf_level:.0%}"
        return (
            f"{self.method}: median survival with {level} CI ({self.conf_type} transform), "
            f"time in {self.time_unit}"
            + (f"; {self.n_dropped:,} row(s) dropped for missing values" if self.n_dropped else "")
        )

    def summary_frame(self) -> pd.DataFrame:
        """Per group n, events and median with its CI, as R's ``print.survfit`` (the steps
        are in :meth:`to_frame`).

        Returns
        -------
        DataFrame
        """
        med = self.median()
        return pd.DataFrame(
            {
                "group": med["group"],
                "n": med["n"],
                "events": med["n_events"],
                "median": med["time"],
                "ci_lower": med["ci_lower"],
                "ci_upper": med["ci_upper"],
            }
        )

    def to_dict(self) -> dict:
        """Method, CI settings and per group n, events and median with CI (JSON-safe)."""
        return {
            "method": self.method,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "time_unit": self.time_unit,
            "groups": json_safe(self.quantile(0.5)),
        }

    def quantile(self, p: float = 0.5) -> pd.DataFrame:
        """Time by which a fraction ``p`` has had the event, with CI, per group.

        Follows R's ``quantile.survfit``: the CI bounds are where the pointwise survival CI
        crosses ``1 - p``; a flat stretch of the curve exactly at ``1 - p`` gives the midpoint
        of the stretch. NaN where the curve (or a bound) never reaches the level.
        """
        if not 0 <= p <= 1:
            raise ArgumentError(f"p must be within [0, 1], got {p!r}")
        rows = []
        for c in self.curves:
            x = np.concatenate(([0.0], c.time))
            rows.append(
                {
                    "group": c.group,
                    "n": float(c.n_risk[0]) if len(c.n_risk) else 0.0,
                    "n_events": float(c.n_event.sum()),
                    "quantile": p,
                    "time": quantile_time(x, np.concatenate(([0.0], 1 - c.survival)), p),
                    "ci_lower": quantile_time(x, np.concatenate(([0.0], 1 - c.lower)), p),
                    "ci_upper": quantile_time(x, np.concatenate(([0.0], 1 - c.upper)), p),
                    "conf_type": self.conf_type,
                    "conf_level": self.conf_level,
                }
            )
        return pd.DataFrame(rows)

    def median(self) -> pd.DataFrame:
        """Median survival time with CI per group (R's ``print.survfit`` median)."""
        return self.quantile(0.5)

    @staticmethod
    def n_at_risk(curve: SurvivalCurve, t: float) -> float:
        """Number at risk at time ``t``: followed up to ``t`` or beyond (R's convention)."""
        k = int(np.searchsorted(curve.time, t, side="left"))
        return float(curve.n_risk[k]) if k < len(curve.time) else 0.0

    def survival_at(self, times: Sequence[float], *, warn_degenerate: bool = False) -> pd.DataFrame:
        """Survival (step function) with its CI at landmark times, per group.

        As R's ``summary(fit, times=)`` within follow-up; past a group's last time the value
        is NaN (not extrapolated), or 0 when the curve has already reached 0. Beside the
        Greenwood interval, ``exact_lower``/``exact_upper`` give the Clopper-Pearson interval
        of the survivors among the patients whose status at the time is known (died by it,
        or followed to it): the exact binomial interval when nobody was censored earlier,
        the one to read when the Greenwood interval is degenerate (no event yet: 1.000 to
        1.000, which says nothing about a small arm).

        Parameters
        ----------
        times : sequence of float
            Landmark times.
        warn_degenerate : bool, default False
            Give a ``SmallSampleWarning`` naming the exact interval where the Greenwood
            interval has zero width at survival 1 (no event yet).

        Returns
        -------
        DataFrame
            One row per (group, time).
        """
        rows = [self._at(c, float(t)) for c in self.curves for t in times]
        degenerate = [r for r in rows if r["survival"] == 1.0 and r["ci_lower"] == r["ci_upper"]]
        if warn_degenerate and degenerate:
            shown = "; ".join(
                f"{r['group']} at {r['time']:g} (n = {r['n_risk']:g}): exact "
                f"{r['exact_lower']:.3f}-{r['exact_upper']:.3f}"
                for r in degenerate[:5]
            )
            warn(
                f"survival_at: {len(degenerate)} survival estimate(s) of 1 with a Greenwood "
                f"interval of zero width (no event yet), which says nothing about a small "
                f"arm; report the exact binomial (Clopper-Pearson) interval beside it "
                f"(columns exact_lower, exact_upper): {shown}",
                SmallSampleWarning,
            )
        return pd.DataFrame(rows)

    def _at(self, c: SurvivalCurve, t: float) -> dict:
        j = int(np.searchsorted(c.time, t, side="right")) - 1
        if j < 0:
            s, lo, hi, se = 1.0, 1.0, 1.0, 0.0
        else:
            s, lo, hi, se = c.survival[j], c.lower[j], c.upper[j], c.std_err[j]
        dead = float(c.n_event[: j + 1].sum()) if j >= 0 else 0.0
        n_risk = self.n_at_risk(c, t)
        at_t = float(c.n_event[j]) if j >= 0 and c.time[j] == t else 0.0
        known = dead + n_risk - at_t
        ex_lo, ex_hi = _clopper_pearson(known - dead, known, self.conf_level)
        if len(c.time) == 0 or t > c.time[-1]:
            s = 0.0 if len(c.time) and c.survival[-1] == 0 else float("nan")
            lo = hi = se = float("nan")
            ex_lo, ex_hi = (ex_lo, ex_hi) if s == 0.0 else (float("nan"), float("nan"))
        return {
            "group": c.group,
            "time": t,
            "survival": float(s),
            "std_err": float(se),
            "ci_lower": float(lo),
            "ci_upper": float(hi),
            "n_risk": n_risk,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "exact_lower": ex_lo,
            "exact_upper": ex_hi,
            "n_known": known,
        }

    def rmst(self, horizon: float) -> pd.DataFrame:
        """Restricted mean survival time to ``horizon`` with its SE and CI, per group.

        The SE is R's (``print.survfit(rmean=)``); the CI is normal, ``rmst +/- z se``.
        """
        _check_horizon(horizon)
        rows = []
        for c in self.curves:
            mean, se = _rmst(c, float(horizon))
            rows.append(
                {
                    "group": c.group,
                    "horizon": float(horizon),
                    "rmst": mean,
                    "se": se,
                    "ci_lower": mean - self._z * se,
                    "ci_upper": mean + self._z * se,
                    "conf_level": self.conf_level,
                }
            )
        return pd.DataFrame(rows)

    def rmst_difference(
        self, other_or_groups: KaplanMeierResult | Sequence[object], horizon: float
    ) -> RMSTDifference:
        """RMST difference between two arms, with a Wald CI and two-sided z-test.

        Parameters
        ----------
        other_or_groups : KaplanMeierResult or pair of group labels
            Either a second single-curve result (difference = this one minus that one), or
            ``(group_a, group_b)`` naming two groups of this result (``a - b``).
        horizon : float
            Restriction time.
        """
        _check_horizon(horizon)
        if isinstance(other_or_groups, KaplanMeierResult):
            if len(self.curves) != 1 or len(other_or_groups.curves) != 1:
                raise ArgumentError(
                    "comparing two results needs one curve in each; pass "
                    "(group_a, group_b) to compare groups of one result"
                )
            a, b = self.curves[0], other_or_groups.curves[0]
        elif (
            isinstance(other_or_groups, Sequence)
            and not isinstance(other_or_groups, str)
            and len(other_or_groups) == 2
        ):
            a, b = self.curve(other_or_groups[0]), self.curve(other_or_groups[1])
        else:
            raise ArgumentError(
                "other_or_groups must be a KaplanMeierResult or a pair of "
                f"group labels from {self.groups}, got {other_or_groups!r}"
            )
        (ma, sa), (mb, sb) = _rmst(a, float(horizon)), _rmst(b, float(horizon))
        diff, se = ma - mb, float(np.hypot(sa, sb))
        z = diff / se if se > 0 else float("nan")
        return RMSTDifference(
            groups=(a.group, b.group),
            horizon=float(horizon),
            rmst=(ma, mb),
            se=(sa, sb),
            difference=diff,
            se_difference=se,
            ci_lower=diff - self._z * se,
            ci_upper=diff + self._z * se,
            z=z,
            p_value=float(2 * stats.norm.sf(abs(z))),
            conf_level=self.conf_level,
        )


def _check_horizon(horizon: float) -> None:
    if not (isinstance(horizon, int | float | np.number) and np.isfinite(horizon) and horizon > 0):
        raise ArgumentError(f"horizon must be a positive finite time, got {horizon!r}")


def _check(conf_type: str, conf_level: float) -> float:
    check_choice("conf_type", conf_type, CONF_TYPES)
    return float(stats.norm.ppf(0.5 + check_conf_level(conf_level) / 2))


def kaplan_meier(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str | None = None,
    entry: str | None = None,
    weights: str | None = None,
    id: str | None = None,
    robust: bool | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log",
    time_unit: str = "days",
) -> KaplanMeierResult:
    """Kaplan-Meier survival by group, as R's ``survfit(Surv(time, event) ~ group)``.

    Parameters
    ----------
    data : DataFrame
        One row per subject, or with ``entry`` and ``id`` one row per interval
        (counting-process form); not modified.
    time, event : str
        Follow-up (stop) time and event indicator (1 event, 0 censored).
    group : str, optional
        Column of group labels; one curve per group, sorted (a categorical column keeps its
        level order, as R keeps a factor's).
    entry : str, optional
        Delayed-entry (left-truncation) or interval start time.
    weights : str, optional
        Case weights.
    id : str, optional
        Subject (cluster) of each row, as survfit's ``id``: the robust variance sums each
        subject's influence, and with ``entry`` a row that ends without an event while the
        subject's next row starts at its stop is not counted in ``n_censor`` (as survfit).
    robust : bool, optional
        Use the robust (grouped infinitesimal-jackknife) standard error of survival 3.5's
        ``survfitKM`` instead of Greenwood's. The default (None) is R's: robust when the
        case weights are not whole numbers, or when ``id`` is given and some subject has
        more than one event; Greenwood otherwise (an id that only splits follow-up changes
        nothing). True without ``id`` treats each row as its own cluster (with ``entry``,
        where rows may share a subject, it needs ``id``, as R does). ``std_err`` stays the
        SE of ``-log S``: the robust SE of ``S`` (R's ``std.err`` when robust) divided by S.
        The restricted mean's SE is print.survfit's either way (survival 3.5 does not make
        it robust).
    conf_level : float, default 0.95
    conf_type : {"log", "log-log", "plain"}, default "log"
        CI transform; R's default is ``log``, SAS's and lifelines' ``log-log``.
    time_unit : str, default "days"
        Carried into the result.

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [5, 8, 8, 12, 20], "e": [1, 1, 0, 1, 0]})
    >>> km = kaplan_meier(df, time="t", event="e")
    >>> km.curve().survival.round(3).tolist()
    [0.8, 0.6, 0.3, 0.3]
    """
    z = _check(conf_type, conf_level)
    if robust is not None and not isinstance(robust, bool | np.bool_):
        raise ArgumentError(f"robust must be True, False or None (R's default), got {robust!r}")
    if robust and entry is not None and id is None:
        raise ArgumentError("robust=True with entry needs id: rows of one subject are a cluster")
    s, codes, labels, _, _ = read_grouped(
        data,
        time=time,
        event=event,
        group=group,
        entry=entry,
        weights=weights,
        id=id,
        what="kaplan_meier",
    )
    tables = risk_tables_by_group(
        s.time, s.event, codes, len(labels), entry=s.entry, weights=s.weights
    )
    if s.id is not None and s.entry is not None:
        last = last_of_subject(s.id, s.entry, s.time)
        tables = [_real_censorings(rt, s, codes == g, last) for g, rt in enumerate(tables)]
    use_robust = robust_by_default(s.event, s.id, s.weights) if robust is None else robust
    # without an id each row is its own cluster, which the jackknife takes in closed form
    clusters = None if s.id is None else _codes(s.id)
    curves = []
    for g, (lab, rt) in enumerate(zip(labels, tables, strict=True)):
        var_s = None
        if use_robust:
            m = codes == g
            var_s = infinitesimal_jackknife_variance(
                rt,
                s.time[m],
                s.event[m],
                None if clusters is None else _codes(clusters[m]),
                entry=None if s.entry is None else s.entry[m],
                weights=None if s.weights is None else s.weights[m],
            )
        curves.append(_curve(str(lab), rt, z, conf_type, var_s))
    return KaplanMeierResult(
        curves=tuple(curves),
        conf_type=conf_type,
        conf_level=float(conf_level),
        time_unit=time_unit,
        method="Kaplan-Meier (robust infinitesimal-jackknife variance, "
        + ("clustered by id)" if s.id is not None else "each row its own cluster)")
        if use_robust
        else "Kaplan-Meier (Greenwood variance)",
        n_dropped=s.n_dropped,
    )


def _codes(labels: np.ndarray) -> np.ndarray:
    return pd.factorize(labels)[0]


def _real_censorings(rt: RiskTable, s: SurvivalInput, m: np.ndarray, last: np.ndarray) -> RiskTable:
    """``n_censor`` counting only the rows that end a subject's follow-up (survfit with id)."""
    w = np.ones(int(m.sum())) if s.weights is None else s.weights[m]
    pos = np.searchsorted(rt.time, s.time[m])
    cens = np.bincount(pos, weights=w * ((s.event[m] == 0) & last[m]), minlength=len(rt.time))
    return RiskTable(time=rt.time, n_risk=rt.n_risk, n_event=rt.n_event, n_censor=cens)


def tables_from_counts(
    counts: pd.DataFrame,
    *,
    time: str,
    events: str,
    censored: str,
    group: str | None,
    strata: str | None = None,
) -> tuple[list, list[list[RiskTable]]]:
    """Risk tables per (stratum, group) from aggregated counts; returns group labels and a
    list over strata of per-group tables."""
    if not isinstance(counts, pd.DataFrame):
        raise ArgumentError(f"counts must be a pandas DataFrame, got {type(counts).__name__}")
    cols = [c for c in (time, events, censored, group, strata) if c is not None]
    missing = [c for c in cols if c not in counts.columns]
    if missing:
        raise ArgumentError(f"column(s) {missing} not in counts; columns: {list(counts.columns)}")
    frame = counts[cols].dropna()
    nums = {}
    for c in (time, events, censored):
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise ArgumentError(f"counts column {c!r} must be numeric, found {frame[c].dtype}")
        v = frame[c].to_numpy(dtype=float)
        if not np.isfinite(v).all() or (v < 0).any():
            raise ArgumentError(f"counts column {c!r} must be finite and >= 0")
        nums[c] = v
    if group is None:
        codes, labels = np.zeros(len(frame), dtype=np.intp), ["all"]
    else:
        codes, labels = label_codes(frame[group])
    st = np.zeros(len(frame), dtype=np.intp) if strata is None else label_codes(frame[strata])[0]
    out = []
    for s_code in range(int(st.max()) + 1 if len(st) else 0):
        in_s = st == s_code
        per_group = []
        for g in range(len(labels)):
            m = in_s & (codes == g)
            uniq, inv = np.unique(nums[time][m], return_inverse=True)
            d = np.bincount(inv, weights=nums[events][m], minlength=len(uniq))
            cens = np.bincount(inv, weights=nums[censored][m], minlength=len(uniq))
            keep = (d + cens) > 0
            per_group.append(counts_table(uniq[keep], d[keep], cens[keep]))
        out.append(per_group)
    return labels, out


def kaplan_meier_from_counts(
    counts: pd.DataFrame,
    *,
    time: str = "time",
    events: str = "events",
    censored: str = "censored",
    group: str | None = None,
    conf_level: float = 0.95,
    conf_type: str = "log",
    time_unit: str = "days",
) -> KaplanMeierResult:
    """Kaplan-Meier from aggregated counts: rows of (group, time, events, censored).

    A registry's or database's ``GROUP BY group, time`` output is enough, so ten million
    patients cost one group-by where they live. Equal to :func:`kaplan_meier` on the
    underlying rows; rows with the same (group, time) are added up.

    Parameters
    ----------
    counts : DataFrame
        One row per (group, time).
    time, events, censored : str
        Columns of the time, the events at it and the censorings at it.
    group : str, optional
        Column of group labels (one curve when None).
    conf_level : float, default 0.95
        Confidence level, in (0, 1).
    conf_type : {"log", "log-log", "plain"}, default "log"
        CI transform, as in :func:`kaplan_meier`.
    time_unit : str, default "days"
        Carried into the result.

    Returns
    -------
    KaplanMeierResult
    """
    z = _check(conf_type, conf_level)
    labels, per_stratum = tables_from_counts(
        counts, time=time, events=events, censored=censored, group=group
    )
    curves = tuple(
        _curve(str(lab), rt, z, conf_type) for lab, rt in zip(labels, per_stratum[0], strict=True)
    )
    return KaplanMeierResult(
        curves=curves, conf_type=conf_type, conf_level=float(conf_level), time_unit=time_unit
    )
