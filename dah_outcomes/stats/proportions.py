"""Confidence intervals for proportions and for Poisson rates, from plain counts.

A reviewer often has only ``k`` and ``n`` from a paper, so these functions take counts, not
cohorts. Each interval is checked against R (``binom.test``, ``prop.test``, ``qbeta`` and
``poisson.test``) in ``tests/stats/test_proportions.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level

__all__ = [
    "PROPORTION_METHODS",
    "RATE_METHODS",
    "ProportionCI",
    "RateCI",
    "proportion_ci",
    "rate_ci",
]

PROPORTION_METHODS: dict[str, str] = {
    "wilson": "Wilson score interval",
    "clopper-pearson": "Clopper-Pearson exact interval",
    "jeffreys": "Jeffreys interval (equal-tailed Beta(k+1/2, n-k+1/2))",
    "agresti-coull": "Agresti-Coull interval",
    "wilson-cc": "Wilson score interval with continuity correction",
}
RATE_METHODS: dict[str, str] = {
    "exact": "exact Poisson interval (chi-square / gamma quantiles)",
    "wald-log": "Wald interval on the log rate",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProportionCI(ResultMixin):
    """A proportion with its confidence interval.

    Attributes
    ----------
    events, total : int
        Numerator and denominator.
    estimate : float
        ``events / total``.
    ci_lower, ci_upper : float
        Interval bounds, within [0, 1].
    method : str
        Key of :data:`PROPORTION_METHODS`.
    conf_level : float
        Confidence level, e.g. 0.95.
    """

    events: int
    total: int
    estimate: float
    ci_lower: float
    ci_upper: float
    method: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the fields."""
        return pd.DataFrame([self.to_dict()])

    def _title(self) -> str:
        return f"Proportion ({PROPORTION_METHODS[self.method]}, {self.conf_level:.0%} CI)"


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCI(ResultMixin):
    """An event rate per unit of person-time with its confidence interval.

    Attributes
    ----------
    events : int
        Number of events.
    person_time : float
        Person-time at risk, in ``time_unit``.
    estimate, ci_lower, ci_upper : float
        Rate per ``per`` units of person-time, and its bounds.
    per : float
        Multiplier of the rate (1000 gives events per 1,000 person-years).
    time_unit : str
        Unit of ``person_time`` (e.g. ``"person-years"``).
    method : str
        Key of :data:`RATE_METHODS`.
    conf_level : float
        Confidence level.
    """

    events: int
    person_time: float
    estimate: float
    ci_lower: float
    ci_upper: float
    per: float
    time_unit: str
    method: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the fields."""
        return pd.DataFrame([self.to_dict()])

    def _title(self) -> str:
        return f"Rate per {self.per:g} {self.time_unit} ({RATE_METHODS[self.method]})"


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        raise ArgumentError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ArgumentError(f"{name} must be >= 0, got {value!r}")
    return int(value)


def proportion_ci(
    events: int, total: int, *, ci_method: str = "wilson", conf_level: float = 0.95
) -> ProportionCI:
    """Confidence interval for a binomial proportion ``events / total``.

    Parameters
    ----------
    events : int
        Number of patients (or episodes) with the outcome, ``0 <= events <= total``.
    total : int
        Number of patients (or episodes) at risk.
    ci_method : {"wilson", "clopper-pearson", "jeffreys", "agresti-coull", "wilson-cc"}
        Interval method. Wilson (the default) has near-nominal coverage in small series;
        Clopper-Pearson is conservative; ``wilson-cc`` matches R's ``prop.test`` default.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    ProportionCI

    Raises
    ------
    ArgumentError
        If the counts are negative, not whole, ``total`` is 0, ``events > total``,
        ``ci_method`` is unknown or ``conf_level`` is not in (0, 1).

    Notes
    -----
    The Jeffreys interval follows Brown, Cai & DasGupta (2001): the lower bound is 0 when
    ``events == 0`` and the upper bound 1 when ``events == total``. Agresti-Coull bounds are
    clipped to [0, 1]. ``wilson-cc``
    applies R's continuity correction ``min(0.5, |events - total / 2|)``, none at
    ``events = total / 2``.

    Examples
    --------
    >>> ci = proportion_ci(4, 7)
    >>> round(ci.estimate, 4), round(ci.ci_lower, 4), round(ci.ci_upper, 4)
    (0.5714, 0.2505, 0.8418)
    """
    k = _check_count("events", events)
    n = _check_count("total", total)
    if k > n:
        raise ArgumentError(f"events ({k}) cannot exceed total ({n}); check the counts")
    method = check_choice("ci_method", ci_method, PROPORTION_METHODS)
    conf_level = check_conf_level(conf_level)
    if n == 0:
        # R's binom.test and prop.test stop here too: a proportion of nobody is undefined
        raise ArgumentError("total must be positive, got 0: a proportion needs a denominator")
    low, high = _BOUNDS[method](k, n, conf_level)
    return ProportionCI(
        events=k,
        total=n,
        estimate=k / n,
        ci_lower=float(max(0.0, low)),
        ci_upper=float(min(1.0, high)),
        method=method,
        conf_level=float(conf_level),
    )


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def _wilson(k: int, n: int, conf_level: float, cc: float = 0.0) -> tuple[float, float]:
    # Written as R's prop.test does it, continuity correction `cc` = 0.5 / n or 0.
    z = _z(conf_level)
    p = k / n
    z22n = z * z / (2 * n)

    def bound(pc: float, sign: float) -> float:
        return (pc + z22n + sign * z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))) / (
            1 + 2 * z22n
        )

    p_up = p + cc / n
    p_lo = p - cc / n
    high = 1.0 if p_up >= 1 else bound(p_up, +1.0)
    low = 0.0 if p_lo <= 0 else bound(p_lo, -1.0)
    return low, high


def _wilson_cc(k: int, n: int, conf_level: float) -> tuple[float, float]:
    # prop.test's correction is min(0.5, |k - n p0|) with p0 = 1/2: none at k = n/2
    return _wilson(k, n, conf_level, cc=min(0.5, abs(k - n / 2)))


def _clopper_pearson(k: int, n: int, conf_level: float) -> tuple[float, float]:
    alpha = 1 - conf_level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def _jeffreys(k: int, n: int, conf_level: float) -> tuple[float, float]:
    alpha = 1 - conf_level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5))
    return low, high


def _agresti_coull(k: int, n: int, conf_level: float) -> tuple[float, float]:
    z = _z(conf_level)
    n_t = n + z * z
    p_t = (k + z * z / 2) / n_t
    h = z * math.sqrt(p_t * (1 - p_t) / n_t)
    return p_t - h, p_t + h


_BOUNDS = {
    "wilson": _wilson,
    "wilson-cc": _wilson_cc,
    "clopper-pearson": _clopper_pearson,
    "jeffreys": _jeffreys,
    "agresti-coull": _agresti_coull,
}


def rate_ci(
    events: int,
    person_time: float,
    *,
    ci_method: str = "exact",
    conf_level: float = 0.95,
    per: float = 1.0,
    time_unit: str = "person-years",
) -> RateCI:
    """Confidence interval for a Poisson event rate ``events / person_time``.

    Parameters
    ----------
    events : int
        Number of events.
    person_time : float
        Total person-time at risk (> 0).
    ci_method : {"exact", "wald-log"}
        ``exact`` inverts the Poisson distribution (as R's ``poisson.test``); ``wald-log``
        is the normal approximation on the log scale (undefined for 0 events).
    conf_level : float, default 0.95
        Confidence level.
    per : float, default 1
        Report the rate per this many units (1000 for "per 1,000 person-years").
    time_unit : str, default "person-years"
        Unit of ``person_time``, carried into the result.

    Returns
    -------
    RateCI

    Examples
    --------
    >>> r = rate_ci(5, 1000, per=1000)
    >>> round(r.estimate, 3), round(r.ci_lower, 4), round(r.ci_upper, 3)
    (5.0, 1.6235, 11.668)
    """
    k = _check_count("events", events)
    if (
        not isinstance(person_time, int | float | np.number)
        or not person_time > 0
        or not math.isfinite(person_time)
    ):
        # R's poisson.test stops on an infinite time too; a rate of 0 (0, 0) would mislead
        raise ArgumentError(f"person_time must be a positive finite number, got {person_time!r}")
    method = check_choice("ci_method", ci_method, RATE_METHODS)
    conf_level = check_conf_level(conf_level)
    if not per > 0:
        raise ArgumentError(f"per must be positive, got {per!r}")
    alpha = 1 - conf_level
    t = float(person_time)
    if method == "exact":
        low = 0.0 if k == 0 else float(stats.gamma.ppf(alpha / 2, k)) / t
        high = float(stats.gamma.ppf(1 - alpha / 2, k + 1)) / t
    else:
        if k == 0:
            low, high = 0.0, float("nan")
        else:
            half = _z(conf_level) / math.sqrt(k)
            low, high = k / t * math.exp(-half), k / t * math.exp(half)
    return RateCI(
        events=k,
        person_time=t,
        estimate=k / t * per,
        ci_lower=low * per,
        ci_upper=high * per,
        per=float(per),
        time_unit=time_unit,
        method=method,
        conf_level=float(conf_level),
    )
