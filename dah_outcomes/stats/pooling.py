"""Rubin's rules: pooling estimates over ``m`` multiply imputed datasets, as R's ``mice::pool``.

Each completed dataset gives an estimate ``Q_i`` and its variance ``U_i``. The pooled estimate
is their mean ``qbar``; its total variance ``t = ubar + (1 + 1/m) b`` adds the between-
imputation variance ``b`` (the sample variance of the ``Q_i``) to the mean within-imputation
variance ``ubar`` (Rubin 1987). The degrees of freedom are Barnard and Rubin's (1999)
small-sample ones when the complete-data degrees of freedom ``dfcom`` are known (mice's default
for its own fits: ``df.residual`` of a regression, events minus coefficients of a Cox model),
Rubin's ``(m - 1) / lambda^2`` otherwise. ``riv`` is the relative increase in variance due to
nonresponse, ``lambda`` the proportion of the total variance due to it and ``fmi`` the fraction
of missing information, each as mice reports them.

Estimates are pooled on a scale where they are close to normal, then transformed back:
proportions on the logit scale, Kaplan-Meier survival on the complementary log-log scale
(``log(-log S)``), hazard ratios on the log scale (Marshall et al. 2009). Several
coefficients at once (an arm with several levels) are tested by ``D1``
(:func:`pool_wald_test`). Checked against ``mice::pool``, ``mice::pool.scalar`` and
``mice::D1`` on the same completed-data estimates in ``tests/stats/test_pooling.py``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level
from dah_outcomes.stats.cox import CoxResult
from dah_outcomes.stats.nonparametric import KaplanMeierResult

__all__ = [
    "POOLING_SCALES",
    "PooledEstimate",
    "PooledWaldTest",
    "barnard_rubin_df",
    "pool_cox",
    "pool_estimates",
    "pool_kaplan_meier",
    "pool_proportions",
    "pool_scalar",
    "pool_survival",
    "pool_wald_test",
]

#: The scales estimates are pooled on, and the quantity each transforms back to.
POOLING_SCALES: dict[str, str] = {
    "identity": "the estimate itself",
    "logit": "a proportion, pooled as log(p / (1 - p))",
    "cloglog": "a survival probability, pooled as log(-log S)",
    "log": "a ratio (hazard or odds ratio), pooled as its logarithm",
}

_BACK: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda q: q,
    "logit": special.expit,
    "cloglog": lambda q: np.exp(-np.exp(q)),
    "log": np.exp,
}

# mice floors lambda at 1e-4 in the df (barnard.rubin), so that b = 0 gives a large finite df
_LAMBDA_FLOOR = 1e-4


@dataclass(frozen=True, slots=True, kw_only=True)
class PooledEstimate(ResultMixin):
    """Estimates pooled over multiple imputations by Rubin's rules.

    Attributes
    ----------
    terms : tuple of str
        One name per pooled quantity.
    estimate : ndarray
        Pooled estimate ``qbar`` on the pooling scale (``scale``).
    ubar, b, t : ndarray
        Within-imputation, between-imputation and total variance.
    dfcom : ndarray
        Complete-data degrees of freedom (infinite when not known).
    df : ndarray
        Degrees of freedom of the pooled estimate (Barnard-Rubin when ``dfcom`` is finite).
    riv : ndarray
        Relative increase in variance due to nonresponse, ``(1 + 1/m) b / ubar``.
    lambda_ : ndarray
        Proportion of the total variance due to nonresponse, ``(1 + 1/m) b / t`` (``lambda``
        in frames and dicts, as mice names it).
    fmi : ndarray
        Fraction of missing information, ``(riv + 2 / (df + 3)) / (riv + 1)``.
    ci_lower, ci_upper : ndarray
        ``estimate -/+ t_{df} sqrt(t)``, on the pooling scale.
    value, value_ci_lower, value_ci_upper : ndarray
        The estimate and its interval transformed back (the proportion, survival or ratio);
        equal to ``estimate`` and its bounds on the identity scale.
    scale : str
        Key of :data:`POOLING_SCALES`.
    m : int
        Number of imputations pooled.
    conf_level : float
    covariance : ndarray or None
        Total covariance matrix ``Ubar + (1 + 1/m) B`` when full covariance matrices were
        pooled, else None.
    """

    terms: tuple[str, ...]
    estimate: np.ndarray = field(repr=False)
    ubar: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    dfcom: np.ndarray = field(repr=False)
    df: np.ndarray = field(repr=False)
    riv: np.ndarray = field(repr=False)
    lambda_: np.ndarray = field(repr=False)
    fmi: np.ndarray = field(repr=False)
    ci_lower: np.ndarray = field(repr=False)
    ci_upper: np.ndarray = field(repr=False)
    value: np.ndarray = field(repr=False)
    value_ci_lower: np.ndarray = field(repr=False)
    value_ci_upper: np.ndarray = field(repr=False)
    scale: str
    m: int
    conf_level: float
    covariance: np.ndarray | None = field(default=None, repr=False)

    @property
    def std_error(self) -> np.ndarray:
        """Standard error of the pooled estimate, ``sqrt(t)``."""
        return np.sqrt(self.t)

    @property
    def p_value(self) -> np.ndarray:
        """Two-sided p-value of ``estimate = 0`` against Student's t with ``df``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * stats.t.sf(np.abs(self.estimate / np.sqrt(self.t)), self.df)

    def to_frame(self) -> pd.DataFrame:
        """One row per term: the pooled estimate, its variances, df, riv, lambda and fmi."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "m": self.m,
                "estimate": self.estimate,
                "std_error": self.std_error,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "value": self.value,
                "value_ci_lower": self.value_ci_lower,
                "value_ci_upper": self.value_ci_upper,
                "ubar": self.ubar,
                "b": self.b,
                "t": self.t,
                "dfcom": self.dfcom,
                "df": self.df,
                "riv": self.riv,
                "lambda": self.lambda_,
                "fmi": self.fmi,
                "p_value": self.p_value,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The table of terms and the pooling's settings, JSON-safe."""
        from dah_outcomes.results import json_safe

        return {
            "terms": json_safe(self.to_frame()),
            "scale": self.scale,
            "m": self.m,
            "conf_level": self.conf_level,
        }

    def _title(self) -> str:
        return (
            f"Pooled over {self.m} imputations (Rubin's rules, {self.scale} scale, "
            f"{self.conf_level:.0%} CI)"
        )


def barnard_rubin_df(m: int, b: Any, t: Any, dfcom: Any = math.inf) -> np.ndarray:
    """Degrees of freedom of a pooled estimate (Barnard and Rubin 1999), as mice's.

    Parameters
    ----------
    m : int
        Number of imputations.
    b, t : array_like
        Between-imputation and total variance.
    dfcom : array_like, default inf
        Complete-data degrees of freedom; infinite gives Rubin's ``(m - 1) / lambda^2``.

    Returns
    -------
    ndarray
        The degrees of freedom, elementwise.
    """
    b, t = np.asarray(b, dtype=float), np.asarray(t, dtype=float)
    dfcom = np.broadcast_to(np.asarray(dfcom, dtype=float), np.broadcast(b, t).shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.maximum((1 + 1 / m) * b / t, _LAMBDA_FLOOR)
        dfold = (m - 1) / lam**2
        dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
        return np.where(np.isinf(dfcom), dfold, dfold * dfobs / (dfold + dfobs))


def _as_estimates(estimates: Any) -> np.ndarray:
    q = np.asarray(estimates, dtype=float)
    if q.ndim == 1:
        q = q[:, None]
    if q.ndim != 2:
        raise ArgumentError(
            f"estimates must be one value per imputation, or an (m, p) array, got shape "
            f"{np.shape(estimates)}"
        )
    if q.shape[0] < 2:
        raise ArgumentError(
            f"Rubin's rules need at least 2 imputations (the between-imputation variance), "
            f"got {q.shape[0]}"
        )
    if not np.isfinite(q).all():
        bad = sorted({int(i) + 1 for i in np.flatnonzero(~np.isfinite(q).all(axis=1))})
        raise EstimationError(
            f"estimates of imputation(s) {bad} are not finite: pool only estimable fits "
            "(or pool on a scale where the estimate is finite)"
        )
    return q


def _as_variances(variances: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The within-imputation variances (m, p), and the covariance matrices when given."""
    m, p = shape
    u = np.asarray(variances, dtype=float)
    cov = None
    if u.shape == (m, p, p):
        cov = u
        u = np.diagonal(u, axis1=1, axis2=2)
    elif u.shape == (m,) and p == 1:
        u = u[:, None]
    elif u.shape != (m, p):
        raise ArgumentError(
            f"variances must match the estimates: shape ({m}, {p}) of variances or "
            f"({m}, {p}, {p}) of covariance matrices, got {np.shape(variances)}"
        )
    if not np.isfinite(u).all() or (u < 0).any():
        raise EstimationError(
            "the within-imputation variances must be finite and non-negative; an imputation's "
            "fit gave an infinite or negative variance"
        )
    return u, cov


def _as_dfcom(dfcom: Any, p: int) -> np.ndarray:
    if dfcom is None:
        return np.full(p, math.inf)
    d = np.broadcast_to(np.asarray(dfcom, dtype=float), (p,)).copy()
    if np.isnan(d).any() or (d <= 0).any():
        raise ArgumentError(f"dfcom must be positive (or inf when unknown), got {dfcom!r}")
    return d


def _terms(terms: Sequence[str] | None, p: int) -> tuple[str, ...]:
    if terms is None:
        return ("estimate",) if p == 1 else tuple(f"estimate_{j + 1}" for j in range(p))
    if isinstance(terms, str):  # one name, not its characters
        terms = [terms]
    names = tuple(str(t) for t in terms)
    if len(names) != p:
        raise ArgumentError(f"terms must name the {p} estimate(s), got {len(names)} names")
    return names


def pool_estimates(
    estimates: Any,
    variances: Any,
    *,
    terms: Sequence[str] | None = None,
    dfcom: Any = None,
    scale: str = "identity",
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool per-imputation estimates and their (co)variances by Rubin's rules (``mice::pool``).

    Parameters
    ----------
    estimates : array_like
        One estimate per imputation (shape ``(m,)``), or ``p`` per imputation (``(m, p)``),
        already on the pooling scale (``scale``).
    variances : array_like
        Their variances, ``(m,)`` or ``(m, p)``; or covariance matrices ``(m, p, p)``, which
        also give the total covariance matrix.
    terms : sequence of str, optional
        Names of the ``p`` estimates.
    dfcom : float or array_like, optional
        Complete-data degrees of freedom per term (e.g. a regression's residual df); the
        df are then Barnard and Rubin's. None (or inf) for the large-sample df.
    scale : {"identity", "logit", "cloglog", "log"}, default "identity"
        The scale the estimates are on; ``value`` transforms back from it.
    conf_level : float, default 0.95
        Confidence level of the t intervals.

    Returns
    -------
    PooledEstimate

    Raises
    ------
    ArgumentError
        Fewer than 2 imputations, mismatched shapes, a bad ``dfcom``, ``scale`` or
        ``conf_level``.
    EstimationError
        A non-finite estimate, or a non-finite or negative variance.

    Examples
    --------
    >>> pooled = pool_estimates([1.0, 1.2, 0.9], [0.04, 0.05, 0.04], dfcom=50)
    >>> round(float(pooled.estimate[0]), 4), round(float(pooled.t[0]), 4)
    (1.0333, 0.0744)
    """
    scale = check_choice("scale", scale, POOLING_SCALES)
    conf_level = check_conf_level(conf_level)
    q = _as_estimates(estimates)
    m, p = q.shape
    u, cov = _as_variances(variances, (m, p))
    names = _terms(terms, p)
    dfc = _as_dfcom(dfcom, p)
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    df = barnard_rubin_df(m, b, t, dfc)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = (1 + 1 / m) * b / t
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    half = stats.t.ppf(0.5 + conf_level / 2, df) * np.sqrt(t)
    lower, upper = qbar - half, qbar + half
    back = _BACK[scale]
    with np.errstate(over="ignore"):
        ends = np.sort(np.vstack([back(lower), back(upper)]), axis=0)  # cloglog reverses
    covariance = None
    if cov is not None:
        covariance = cov.mean(axis=0) + (1 + 1 / m) * np.atleast_2d(np.cov(q, rowvar=False))
    return PooledEstimate(
        terms=names,
        estimate=qbar,
        ubar=ubar,
        b=b,
        t=t,
        dfcom=dfc,
        df=df,
        riv=riv,
        lambda_=lam,
        fmi=fmi,
        ci_lower=lower,
        ci_upper=upper,
        value=back(qbar),
        value_ci_lower=ends[0],
        value_ci_upper=ends[1],
        scale=scale,
        m=m,
        conf_level=conf_level,
        covariance=covariance,
    )


def pool_scalar(
    estimates: Any,
    variances: Any,
    *,
    n: float = math.inf,
    k: int = 1,
    term: str = "estimate",
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool one scalar estimate over imputations, as ``mice::pool.scalar(Q, U, n, k)``.

    Parameters
    ----------
    estimates, variances : array_like
        One estimate and its variance per imputation.
    n : float, default inf
        Sample size; with ``k`` gives the complete-data df ``n - k`` (infinite by default,
        Rubin's large-sample df).
    k : int, default 1
        Number of parameters of the complete-data model.
    term : str, default "estimate"
        Name of the estimate.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    PooledEstimate

    Raises
    ------
    ArgumentError
        When ``n - k`` is not positive, or as :func:`pool_estimates`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Real):
        raise ArgumentError(f"n must be a number (inf when unknown), got {n!r}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise ArgumentError(f"k must be a whole number >= 0, got {k!r}")
    if not n - k > 0:
        raise ArgumentError(f"n - k must be positive (the complete-data df), got {n} - {k}")
    q = np.asarray(estimates, dtype=float)
    if q.ndim != 1:
        raise ArgumentError(f"estimates must be one number per imputation, got shape {q.shape}")
    return pool_estimates(q, variances, terms=[term], dfcom=n - k, conf_level=conf_level)


def pool_proportions(
    events: Any,
    totals: Any,
    *,
    terms: Sequence[str] | None = None,
    dfcom: Any = None,
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool proportions over imputations on the logit scale.

    Each imputation's ``logit(events / total)`` has variance ``1 / (total p (1 - p))``, the
    estimate and variance of an intercept-only logistic regression, so this pools as
    ``mice::pool`` pools ``glm(y ~ 1, family = binomial)`` fits.

    Parameters
    ----------
    events : array_like
        Events per imputation, ``(m,)``, or per imputation and group, ``(m, g)``.
    totals : array_like
        Denominators, broadcastable to ``events`` (a total that changes between
        imputations, e.g. the size of an arm defined by an imputed flag, is allowed).
    terms : sequence of str, optional
        Names of the ``g`` proportions.
    dfcom : float or array_like, optional
        Complete-data df; by default the first imputation's ``total - 1`` (the residual df
        of the intercept-only model, as mice takes it from the first fit).
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    PooledEstimate
        On the logit scale; ``value`` and its bounds are proportions.

    Raises
    ------
    ArgumentError
        For counts that are negative, not whole, or above their totals.
    EstimationError
        When an imputation has no events or only events (the logit is infinite): report the
        exact interval of each imputation instead, or pool fewer groups.
    """
    e = np.asarray(events, dtype=float)
    try:
        n = np.broadcast_to(np.asarray(totals, dtype=float), e.shape)
    except ValueError as exc:
        raise ArgumentError(f"totals must broadcast to events' shape {e.shape}") from exc
    if (e < 0).any() or (e > n).any() or (e != np.round(e)).any() or (n != np.round(n)).any():
        raise ArgumentError(
            "events and totals must be whole numbers with 0 <= events <= total per imputation"
        )
    if ((e == 0) | (e == n)).any():
        raise EstimationError(
            "a proportion of 0 or 1 in an imputation has an infinite logit and cannot be "
            "pooled by Rubin's rules: report the exact (Clopper-Pearson) interval of each "
            "imputation, or merge the sparse group"
        )
    p = e / n
    q = special.logit(p)
    u = 1 / (n * p * (1 - p))
    first = n[0] if n.ndim else n
    df = first - 1 if dfcom is None else dfcom
    if terms is None and e.ndim == 1:
        terms = ["proportion"]
    return pool_estimates(q, u, terms=terms, dfcom=df, scale="logit", conf_level=conf_level)


def pool_survival(
    survival: Any,
    std_err: Any,
    *,
    terms: Sequence[str] | None = None,
    dfcom: Any = None,
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool Kaplan-Meier survival at fixed times on the complementary log-log scale.

    Each imputation's ``log(-log S)`` has variance ``(se / log S)^2``, where ``se`` is the
    Greenwood standard error of the cumulative hazard ``-log S`` (R's ``survfit`` std.err,
    :class:`~dah_outcomes.stats.nonparametric.KaplanMeierResult`'s ``std_err``).

    Parameters
    ----------
    survival : array_like
        Survival per imputation, ``(m,)``, or per imputation and time (or group), ``(m, k)``.
    std_err : array_like
        Standard errors of ``-log S``, the same shape.
    terms : sequence of str, optional
        Names of the ``k`` survival probabilities (e.g. ``"CYC, t=365"``).
    dfcom : float or array_like, optional
        Complete-data df; None (the default) for the large-sample df, as
        ``mice::pool.scalar``'s default.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    PooledEstimate
        On the ``log(-log S)`` scale; ``value`` and its bounds are survival probabilities.

    Raises
    ------
    EstimationError
        When a survival is 0 or 1 (no event yet, or nobody left) in an imputation: its
        log(-log) is infinite.
    """
    s = np.asarray(survival, dtype=float)
    se = np.asarray(std_err, dtype=float)
    if s.shape != se.shape:
        raise ArgumentError(f"survival {s.shape} and std_err {se.shape} must have one shape")
    if not ((s > 0) & (s < 1)).all():
        raise EstimationError(
            "a survival of 0 or 1 (or a missing one: past the last follow-up) in an "
            "imputation has an infinite log(-log S) and cannot be pooled: choose times within "
            "follow-up and after the first event"
        )
    with np.errstate(invalid="ignore"):
        q = np.log(-np.log(s))
        u = (se / np.log(s)) ** 2
    return pool_estimates(q, u, terms=terms, dfcom=dfcom, scale="cloglog", conf_level=conf_level)


def pool_kaplan_meier(
    fits: Sequence[KaplanMeierResult],
    times: Sequence[float],
    *,
    dfcom: Any = None,
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool Kaplan-Meier fits of the imputed datasets at fixed times (log(-log) scale).

    Parameters
    ----------
    fits : sequence of KaplanMeierResult
        One fit per imputation, with the same groups.
    times : sequence of float
        The times to pool survival at.
    dfcom : float or array_like, optional
        Complete-data df (large-sample df by default).
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    PooledEstimate
        One term per group and time, named ``"<group>, t=<time>"``.

    Raises
    ------
    ArgumentError
        When the fits do not have the same groups.
    EstimationError
        As :func:`pool_survival`.
    """
    fits = list(fits)
    if not fits or not all(isinstance(f, KaplanMeierResult) for f in fits):
        raise ArgumentError("fits must be KaplanMeierResult objects, one per imputation")
    groups = fits[0].groups
    if any(f.groups != groups for f in fits):
        raise ArgumentError(
            "the Kaplan-Meier fits have different groups across imputations: give every "
            "group in every imputation (a group missing from one cannot be pooled)"
        )
    tables = [f.survival_at(list(times)) for f in fits]
    terms = [f"{g}, t={t:g}" for g, t in zip(tables[0]["group"], tables[0]["time"], strict=True)]
    s = np.vstack([tab["survival"].to_numpy(dtype=float) for tab in tables])
    se = np.vstack([tab["std_err"].to_numpy(dtype=float) for tab in tables])
    return pool_survival(s, se, terms=terms, dfcom=dfcom, conf_level=conf_level)


def pool_cox(
    fits: Sequence[CoxResult], *, dfcom: Any = None, conf_level: float | None = None
) -> PooledEstimate:
    """Pool Cox models fitted to each imputed dataset (log hazard ratios).

    Parameters
    ----------
    fits : sequence of CoxResult
        One fit per imputation, with the same terms.
    dfcom : float or array_like, optional
        Complete-data df; by default the first fit's events minus coefficients, as
        ``mice::pool`` takes it for ``coxph``.
    conf_level : float, optional
        Confidence level; by default the fits' own.

    Returns
    -------
    PooledEstimate
        On the log scale; ``value`` and its bounds are hazard ratios.

    Raises
    ------
    ArgumentError
        When the fits do not share their terms.
    """
    fits = list(fits)
    if not fits or not all(isinstance(f, CoxResult) for f in fits):
        raise ArgumentError("fits must be CoxResult objects, one per imputation")
    terms = fits[0].terms
    if any(f.terms != terms for f in fits):
        raise ArgumentError(
            "the Cox fits have different terms across imputations (a category level absent "
            "from one imputation?): fit the same model to every imputation"
        )
    q = np.vstack([f.coef for f in fits])
    u = np.vstack([f.se for f in fits]) ** 2
    if dfcom is None:
        dfcom = max(fits[0].n_events - len(terms), 1)
    level = fits[0].conf_level if conf_level is None else conf_level
    return pool_estimates(q, u, terms=terms, dfcom=dfcom, scale="log", conf_level=level)


@dataclass(frozen=True, slots=True, kw_only=True)
class PooledWaldTest(ResultMixin):
    """The multivariate Wald test of several pooled coefficients (``D1``).

    Attributes
    ----------
    terms : tuple of str
        The coefficients tested (jointly equal to ``null``).
    statistic : float
        The F statistic ``qbar' inv((1 + riv) Ubar) qbar / k``.
    df1, df2 : float
        Numerator (``k``) and denominator degrees of freedom.
    p_value : float
        ``P(F(df1, df2) > statistic)``.
    riv : float
        Average relative increase in variance, ``(1 + 1/m) tr(B inv(Ubar)) / k``.
    m : int
        Number of imputations.
    dfcom : float
        Complete-data df (infinite when not given: Li et al.'s df2; else Reiter's).
    """

    terms: tuple[str, ...]
    statistic: float
    df1: float
    df2: float
    p_value: float
    riv: float
    m: int
    dfcom: float

    def to_frame(self) -> pd.DataFrame:
        """One row: the terms tested, F, its df, p-value and riv."""
        return pd.DataFrame(
            [
                {
                    "terms": ", ".join(self.terms),
                    "statistic": self.statistic,
                    "df1": self.df1,
                    "df2": self.df2,
                    "p_value": self.p_value,
                    "riv": self.riv,
                    "m": self.m,
                    "dfcom": self.dfcom,
                }
            ]
        )

    def _title(self) -> str:
        return f"Pooled Wald test (D1) over {self.m} imputations"


def _reiter_df(k: int, m: int, riv: float, dfcom: float) -> float:
    """Reiter's (2007) small-sample denominator df of D1, as ``mitml``'s."""
    t = k * (m - 1)
    a = riv * t / (t - 2)
    vstar = (dfcom + 1) / (dfcom + 3) * dfcom
    c0, c1, c2 = 1 / (t - 4), vstar - 2 * (1 + a), vstar - 4 * (1 + a)
    z = (
        1 / c2
        + c0 * (a**2 * c1 / ((1 + a) ** 2 * c2))
        + c0 * (8 * a**2 * c1 / ((1 + a) * c2**2) + 4 * a**2 / ((1 + a) * c2))
        + c0 * (4 * a**2 / (c2 * c1) + 16 * a**2 * c1 / c2**3)
        + c0 * (8 * a**2 / c2**2)
    )
    return 4 + 1 / z


def _li_df(k: int, m: int, riv: float) -> float:
    """Li, Raghunathan and Rubin's (1991) denominator df of D1."""
    t = k * (m - 1)
    if t > 4:
        return 4 + (t - 4) * (1 + (1 - 2 / t) / riv) ** 2
    return t * (1 + 1 / k) * (1 + 1 / riv) ** 2 / 2


def pool_wald_test(
    estimates: Any,
    covariances: Any,
    *,
    test: Sequence[int] | None = None,
    terms: Sequence[str] | None = None,
    null: Any = 0.0,
    dfcom: float | None = None,
) -> PooledWaldTest:
    """Test several coefficients at once over imputations (``D1``, as ``mice::D1``).

    The Wald statistic of Li, Raghunathan and Rubin (1991) with the average relative
    increase in variance; the denominator df are Reiter's (2007) when the complete-data df
    are given (mice's ``D1`` gives the model's residual df), Li et al.'s otherwise (as
    ``mitml::testModels(df.com = NULL)``). Use it for a categorical covariate with several
    levels (an arm, an era), where one coefficient at a time is not the question.

    Parameters
    ----------
    estimates : array_like
        Coefficients per imputation, ``(m, p)``.
    covariances : array_like
        Their covariance matrices, ``(m, p, p)``.
    test : sequence of int, optional
        Positions of the coefficients tested (all by default).
    terms : sequence of str, optional
        Names of the ``p`` coefficients.
    null : float or array_like, default 0
        Values under the null hypothesis.
    dfcom : float, optional
        Complete-data df (e.g. a regression's residual df); None for the large-sample df.

    Returns
    -------
    PooledWaldTest

    Raises
    ------
    ArgumentError
        For mismatched shapes, fewer than 2 imputations, an empty or repeated ``test``, or
        ``dfcom`` not positive.
    EstimationError
        When the mean within-imputation covariance is singular, or no coefficient varies
        between imputations (the riv is 0 and the df undefined).
    """
    q = _as_estimates(estimates)
    m, p = q.shape
    u = np.asarray(covariances, dtype=float)
    if u.shape != (m, p, p):
        raise ArgumentError(f"covariances must have shape ({m}, {p}, {p}), got {u.shape}")
    names = _terms(terms, p)
    idx = list(range(p)) if test is None else [int(i) for i in test]
    if not idx or len(set(idx)) != len(idx) or min(idx) < 0 or max(idx) >= p:
        raise ArgumentError(f"test must name distinct positions in [0, {p}), got {test!r}")
    if dfcom is not None and not float(dfcom) > 0:
        raise ArgumentError(f"dfcom must be positive (or None when unknown), got {dfcom!r}")
    k = len(idx)
    diff = q[:, idx] - np.broadcast_to(np.asarray(null, dtype=float), (k,))
    ubar = u[:, idx][:, :, idx].mean(axis=0)
    b = np.atleast_2d(np.cov(diff, rowvar=False))
    try:
        inv_ubar = linalg.inv(ubar)
    except (linalg.LinAlgError, ValueError) as exc:
        raise EstimationError("the mean within-imputation covariance is singular") from exc
    riv = float((1 + 1 / m) * np.trace(b @ inv_ubar) / k)
    if not riv > 0:
        raise EstimationError(
            "the tested coefficients do not vary between imputations (riv = 0): the D1 df "
            "are undefined; test them on one completed dataset"
        )
    qbar = diff.mean(axis=0)
    statistic = float(qbar @ inv_ubar @ qbar / (k * (1 + riv)))
    complete_df = math.inf if dfcom is None else float(dfcom)
    infinite = math.isinf(complete_df)
    df2 = _li_df(k, m, riv) if infinite else _reiter_df(k, m, riv, complete_df)
    return PooledWaldTest(
        terms=tuple(names[i] for i in idx),
        statistic=statistic,
        df1=float(k),
        df2=float(df2),
        p_value=float(stats.f.sf(statistic, k, df2)),
        riv=riv,
        m=m,
        dfcom=complete_df,
    )
