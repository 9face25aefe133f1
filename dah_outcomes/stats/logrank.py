"""Comparing survival between groups: the log-rank test and its Fleming-Harrington family,
k groups, stratified, with Holm-adjusted pairwise comparisons; matching R's ``survdiff``.

Computed from the same per-group risk tables as Kaplan-Meier
(:func:`~dah_outcomes.stats.kaplan_meier.risk_tables_by_group`), so it accepts aggregated counts
(:func:`logrank_from_counts`) as well as one row per subject.

R's ``survdiff(rho=)`` weights each event time by ``S(t-)^rho``, where ``S`` is the
Kaplan-Meier curve of all groups pooled (within the stratum), taken just before ``t``; this
module adds the second Fleming-Harrington exponent, ``(1 - S(t-))^gamma`` (``gamma=0`` is R's).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.results import ResultMixin, format_p_value, json_safe
from dah_outcomes.stats._checks import (
    MIN_ARM_SIZE,
    check_choice,
    check_positive_int,
    warn_small_arms,
)
from dah_outcomes.stats.nonparametric import (
    KaplanMeierResult,
    read_grouped,
    risk_tables_by_group,
    tables_from_counts,
)
from dah_outcomes.stats.permutation import (
    exact_pvalue,
    logrank_scores,
    permutation_pvalue,
    quadratic_statistic,
)
from dah_outcomes.stats.risk_sets import RiskTable

__all__ = [
    "ADJUST_METHODS",
    "LOGRANK_METHODS",
    "LogRankResult",
    "logrank_from_counts",
    "logrank_from_km",
    "logrank_test",
    "pairwise_logrank",
]

ADJUST_METHODS = ("holm", "bonferroni", "none")
LOGRANK_METHODS = ("asymptotic", "exact", "permutation")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRankResult(ResultMixin):
    """A k-group (weighted, possibly stratified) log-rank test.

    Attributes
    ----------
    groups : tuple of str
        Group labels in order.
    observed, expected : ndarray
        (Weighted) observed and expected events per group, summed over strata (R's
        ``obs`` and ``exp``).
    variance : ndarray
        Variance-covariance matrix of observed - expected (R's ``var``).
    statistic, df, p_value : float
        Chi-square statistic, degrees of freedom (groups with expected events - 1, as R)
        and p-value. With ``distribution`` "exact" or "permutation", the statistic is coin's
        (its permutation covariance in place of survdiff's) and the p-value its exact or
        Monte Carlo permutation p-value.
    rho, gamma : float
        Fleming-Harrington weights S(t-)^rho (1 - S(t-))^gamma; 0, 0 is the log-rank test.
    stratified : bool
        Whether the test was stratified.
    method : str
        The test in words.
    n : ndarray
        Subjects per group.
    n_dropped : int
        Input rows left out for a missing value in a used column.
    distribution : str
        "asymptotic" (chi-square), "exact" or "permutation".
    n_resamples : int or None
        Random assignments behind a permutation p-value.
    """

    groups: tuple[str, ...]
    observed: np.ndarray = field(repr=False)
    expected: np.ndarray = field(repr=False)
    variance: np.ndarray = field(repr=False)
    statistic: float
    df: int
    p_value: float
    rho: float = 0.0
    gamma: float = 0.0
    stratified: bool = False
    method: str = "log-rank"
    n: np.ndarray | None = field(default=None, repr=False)
    n_dropped: int = 0
    distribution: str = "asymptotic"
    n_resamples: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per group: n, observed, expected, (O-E)^2/E and (O-E)^2/V, as R prints."""
        o_e = self.observed - self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "group": list(self.groups),
                    "n": self.n if self.n is not None else np.nan,
                    "observed": self.observed,
                    "expected": self.expected,
                    "o_minus_e_sq_over_e": o_e**2 / self.expected,
                    "o_minus_e_sq_over_v": o_e**2 / np.diag(self.variance),
                }
            )

    def _title(self) -> str:
        p = format_p_value(self.p_value)
        shown = f"p {p}" if p.startswith("<") else f"p = {p}"
        test = self.method + (", stratified" if self.stratified else "")
        if self.distribution != "asymptotic":
            test += f", {self.distribution} p-value"
        return f"{test}: chi-square = {self.statistic:.2f} on {self.df} df, {shown}"

    def to_dict(self) -> dict:
        """Statistic, df, p-value, method and per-group counts (JSON-safe)."""
        return {
            "method": self.method,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "rho": self.rho,
            "gamma": self.gamma,
            "stratified": self.stratified,
            "distribution": self.distribution,
            "n_resamples": self.n_resamples,
            "groups": json_safe(self.to_frame()),
            "variance": json_safe(self.variance),
        }


def _stratum(
    tables: list[RiskTable], rho: float, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance of one stratum from its per-group risk tables.

    Each group's sorted times are placed among the pooled event times by one
    ``searchsorted`` of sorted queries; its exits before each event time are then a
    cumulative ``bincount``. Memory stays at (event times x groups).
    """
    k = len(tables)
    pooled = np.concatenate([rt.time[rt.n_event_any > 0] for rt in tables])
    if len(pooled) == 0:
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    pooled.sort(kind="stable")  # k sorted runs: a merge, near-linear
    times = pooled[np.concatenate(([True], pooled[1:] != pooled[:-1]))]
    m = len(times)
    # (group, time) layout: each group's row is contiguous
    n_g = np.empty((k, m))
    d_g = np.zeros((k, m))
    for g, rt in enumerate(tables):
        if len(rt.time) == 0:
            n_g[g] = 0.0
            continue
        # c = number of event times <= the group's time: the time lies before event time j
        # (0-based) exactly when c <= j
        c = np.searchsorted(times, rt.time, side="right")
        exits = rt.n_risk - np.append(rt.n_risk[1:], 0.0)
        n_g[g] = rt.n_risk[0] - np.cumsum(np.bincount(c, weights=exits, minlength=m + 1))[:m]
        ev = rt.n_event_any > 0
        d_g[g, c[ev] - 1] = rt.n_event_any[ev]
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    if rho or gamma:
        s_minus = np.concatenate(([1.0], np.cumprod(1 - d / n)[:-1]))  # pooled KM at t-
        w = s_minus**rho * (1 - s_minus) ** gamma
    else:
        w = np.ones(m)
    obs = d_g @ w
    exp = n_g @ (w * d / n)
    # V = sum_t f_t (diag(n_g / n) - n_g n_h / n^2), f_t = w^2 d (n - d) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
    var = np.diag(n_g @ (factor / n)) - (n_g * (factor / n**2)) @ n_g.T
    return obs, exp, var


def _test(
    labels: list,
    per_stratum: list[list[RiskTable]],
    rho: float,
    gamma: float,
    stratified: str | None,
) -> LogRankResult:
    k = len(labels)
    obs, exp, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    n = np.zeros(k)
    for tables in per_stratum:
        o, e, v = _stratum(tables, rho, gamma)
        obs, exp, var = obs + o, exp + e, var + v
        n += [rt.n_risk[0] if len(rt.n_risk) else 0.0 for rt in tables]
    # As R's survdiff: groups with no expected events (never at risk at an event time) are
    # left out and the degrees of freedom reduced; the quadratic form drops one more group
    # (any one gives the same value, the variance having rank k - 1)
    used = np.flatnonzero(exp > 0)
    if len(used) < 2:
        raise EstimationError(
            f"only {len(used)} group(s) have subjects at risk at an event "
            "time; a comparison needs at least 2"
        )
    diff = (obs - exp)[used][1:]
    try:
        stat = float(diff @ np.linalg.solve(var[np.ix_(used[1:], used[1:])], diff))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the log-rank variance matrix is singular (e.g. all event "
            "weights are zero); check rho and gamma"
        ) from exc
    df = len(used) - 1
    name = (
        "log-rank" if not (rho or gamma) else f"Fleming-Harrington G(rho={rho:g}, gamma={gamma:g})"
    )
    if stratified is not None:
        name = f"stratified {name} (strata: {stratified})"
    return LogRankResult(
        groups=tuple(str(x) for x in labels),
        observed=obs,
        expected=exp,
        variance=var,
        statistic=stat,
        df=df,
        p_value=float(stats.chi2.sf(stat, df)),
        rho=float(rho),
        gamma=float(gamma),
        stratified=stratified is not None,
        method=name,
        n=n,
    )


def _check_weights(rho: float, gamma: float) -> None:
    for name, v in (("rho", rho), ("gamma", gamma)):
        if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
            raise ArgumentError(f"{name} must be a finite number >= 0, got {v!r}")


def logrank_test(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    method: str = "asymptotic",
    n_resamples: int = 10_000,
    seed: int | None = None,
    min_arm_size: int = MIN_ARM_SIZE,
) -> LogRankResult:
    """Log-rank test of equal survival across k groups, as R's ``survdiff`` or ``coin``.

    Parameters
    ----------
    data : DataFrame
        One row per subject (not modified).
    time, event, group : str
        Follow-up time, event indicator (1/0) and group label columns.
    strata : str, optional
        Stratify: observed, expected and variance are summed over strata.
    rho, gamma : float, default 0
        Fleming-Harrington weights ``S(t-)^rho (1 - S(t-))^gamma`` with ``S`` the pooled
        Kaplan-Meier curve; ``rho=1`` is the Peto-Peto modification of the Gehan-Wilcoxon
        test that R's ``survdiff(rho=1)`` computes.
    method : {"asymptotic", "exact", "permutation"}, default "asymptotic"
        The p-value: the chi-square approximation (R's ``survdiff``); the exact conditional
        distribution over every assignment of the group labels (R's
        ``coin::logrank_test(distribution = "exact")``, which has it for 2 groups; here for k
        groups as well, listing up to 5 million assignments); or ``n_resamples`` random
        assignments (coin's ``approximate()``). See :mod:`dah_outcomes.stats.permutation`.
        Exact and permutation tests are not stratified.
    n_resamples : int, default 10000
        Random assignments for ``method="permutation"``.
    seed : int, optional
        Seed of the permutation p-value (the same seed gives the same p-value).
    min_arm_size : int, default 5
        An asymptotic test with an arm smaller than this gives a ``SmallSampleWarning``
        pointing to ``method="exact"``.

    Returns
    -------
    LogRankResult
        Groups are sorted (a categorical column keeps its level order).

    Raises
    ------
    ArgumentError
        Fewer than two groups, bad weights, an unknown method, or strata with an exact or
        permutation test.
    EstimationError
        Fewer than two groups ever at risk at an event time, a singular variance, or too
        many assignments for an exact p-value.

    Warns
    -----
    SmallSampleWarning
        An asymptotic test with an arm of fewer than ``min_arm_size`` patients.
    """
    _check_weights(rho, gamma)
    check_choice("method", method, LOGRANK_METHODS)
    check_positive_int("n_resamples", n_resamples)
    check_positive_int("min_arm_size", min_arm_size)
    if method != "asymptotic" and strata is not None:
        raise ArgumentError(
            f"method={method!r} is not stratified; drop strata= or use method='asymptotic'"
        )
    s, codes, labels, st_codes, st_labels = read_grouped(
        data, time=time, event=event, group=group, strata=strata, what="logrank_test"
    )
    k = len(labels)
    if k < 2:
        raise ArgumentError(f"group column {group!r} has {k} group(s); need at least 2")
    if st_codes is None:
        per_stratum = [risk_tables_by_group(s.time, s.event, codes, k)]
    else:
        per_stratum = []
        for j in range(len(st_labels)):
            m = st_codes == j
            per_stratum.append(risk_tables_by_group(s.time[m], s.event[m], codes[m], k))
    result = dataclasses.replace(
        _test(labels, per_stratum, rho, gamma, strata), n_dropped=s.n_dropped
    )
    if method == "asymptotic":
        warn_small_arms(
            [] if result.n is None else result.n.tolist(),
            result.groups,
            what="logrank_test",
            minimum=min_arm_size,
            remedy="Use method='exact' (or 'permutation')",
        )
        return result
    return _conditional(result, s.time, s.event, codes, method, n_resamples, seed)


def _conditional(
    result: LogRankResult,
    time: np.ndarray,
    event: np.ndarray,
    codes: np.ndarray,
    method: str,
    n_resamples: int,
    seed: int | None,
) -> LogRankResult:
    """The asymptotic result with coin's statistic and its exact or permutation p-value."""
    present = np.flatnonzero(np.bincount(codes, minlength=len(result.groups)) > 0)
    remap = np.full(len(result.groups), -1, dtype=np.intp)
    remap[present] = np.arange(len(present))
    k = len(present)
    sub = remap[codes]
    scores = logrank_scores(time, (event > 0).astype(float), result.rho, result.gamma)
    statistic = quadratic_statistic(scores, sub, k)
    if method == "exact":
        p = exact_pvalue(scores, sub, k)
    else:
        p = permutation_pvalue(scores, sub, k, n_resamples=n_resamples, seed=seed)
    return dataclasses.replace(
        result,
        statistic=statistic,
        df=k - 1,
        p_value=p,
        method=f"{method} {result.method} (conditional, as coin)",
        distribution=method,
        n_resamples=n_resamples if method == "permutation" else None,
    )


def logrank_from_counts(
    counts: pd.DataFrame,
    *,
    time: str = "time",
    events: str = "events",
    censored: str = "censored",
    group: str = "group",
    strata: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> LogRankResult:
    """Log-rank test from aggregated counts: rows of (group[, stratum], time, events, censored).

    Equal to :func:`logrank_test` on the underlying rows, so a registry's ``GROUP BY``
    output is enough.

    Parameters
    ----------
    counts : DataFrame
        One row per (group[, stratum], time); rows with the same key are added up.
    time, events, censored : str
        Columns of the time, the events at it and the censorings at it.
    group : str, default "group"
        Column of group labels.
    strata : str, optional
        Column of stratum labels (a stratified test).
    rho, gamma : float, default 0
        Fleming-Harrington weights, as in :func:`logrank_test`.

    Returns
    -------
    LogRankResult
    """
    _check_weights(rho, gamma)
    labels, per_stratum = tables_from_counts(
        counts, time=time, events=events, censored=censored, group=group, strata=strata
    )
    if len(labels) < 2:
        raise ArgumentError(f"group column {group!r} has {len(labels)} group(s); need at least 2")
    return _test(labels, per_stratum, rho, gamma, strata)


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    # Holm's step-down, as R's p.adjust(method = "holm")
    order = np.argsort(p, kind="stable")
    adj = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    out = np.empty(m)
    out[order] = adj
    return out


def pairwise_logrank(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    adjust: str = "holm",
) -> pd.DataFrame:
    """Every pair of groups compared by a (weighted, stratified) log-rank test.

    Each pair uses only its two groups' rows, as R's ``survminer::pairwise_survdiff``.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time, event, group : str
        Follow-up time, event indicator and group labels.
    strata : str, optional
        Stratify every pairwise test.
    rho, gamma : float, default 0
        Fleming-Harrington weights, as in :func:`logrank_test`.
    adjust : {"holm", "bonferroni", "none"}, default "holm"
        Multiplicity adjustment of the p-values (R's ``p.adjust``).

    Returns
    -------
    DataFrame
        ``group_a, group_b, statistic, df, p_value, p_adjusted, adjust, method``.
    """
    check_choice("adjust", adjust, ADJUST_METHODS)
    _check_weights(rho, gamma)
    s, codes, labels, st_codes, st_labels = read_grouped(
        data, time=time, event=event, group=group, strata=strata, what="pairwise_logrank"
    )
    if len(labels) < 2:
        raise ArgumentError(f"group column {group!r} has {len(labels)} group(s); need at least 2")
    rows = []
    for a, b in itertools.combinations(range(len(labels)), 2):
        pair = (codes == a) | (codes == b)
        sub_codes = (codes[pair] == b).astype(np.intp)
        if st_codes is None:
            per_stratum = [risk_tables_by_group(s.time[pair], s.event[pair], sub_codes, 2)]
        else:
            per_stratum = []
            for j in range(len(st_labels)):
                m = st_codes[pair] == j
                per_stratum.append(
                    risk_tables_by_group(s.time[pair][m], s.event[pair][m], sub_codes[m], 2)
                )
        r = _test([labels[a], labels[b]], per_stratum, rho, gamma, strata)
        rows.append(
            {
                "group_a": str(labels[a]),
                "group_b": str(labels[b]),
                "statistic": r.statistic,
                "df": r.df,
                "p_value": r.p_value,
                "method": r.method,
            }
        )
    out = pd.DataFrame(rows)
    out.insert(5, "p_adjusted", _adjust(out["p_value"].to_numpy(), adjust))
    out.insert(6, "adjust", adjust)
    return out


def logrank_from_km(
    km: KaplanMeierResult, *, rho: float = 0.0, gamma: float = 0.0
) -> LogRankResult:
    """The (unstratified) log-rank test of the groups of a fitted Kaplan-Meier result.

    The curves already hold each group's risk table, so this costs no second pass over the
    rows: equal to :func:`logrank_test` on the data the curves came from.

    Parameters
    ----------
    km : KaplanMeierResult
        Curves fitted without delayed entry, one per group.
    rho, gamma : float, default 0
        Fleming-Harrington weights, as in :func:`logrank_test`.

    Returns
    -------
    LogRankResult
        With ``n_dropped`` taken from ``km``.

    Raises
    ------
    ArgumentError
        Fewer than two curves, or curves fitted with delayed entry (their at-risk counts do
        not follow from exits alone).
    """
    _check_weights(rho, gamma)
    if len(km.curves) < 2:
        raise ArgumentError(f"the result has {len(km.curves)} curve(s); need at least 2")
    tables = []
    for c in km.curves:
        following = np.append(c.n_risk[1:], 0.0)
        if not np.allclose(c.n_risk - following, c.n_event + c.n_censor):
            raise ArgumentError(
                f"curve {c.group!r} has delayed entry; use logrank_test on "
                "the rows (survdiff has no delayed entry either)"
            )
        tables.append(RiskTable(c.time, c.n_risk, c.n_event.reshape(-1, 1), c.n_censor))
    return dataclasses.replace(_test(km.groups, [tables], rho, gamma, None), n_dropped=km.n_dropped)
