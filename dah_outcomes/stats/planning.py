"""Study planning for small series: how many events, patients and years a question needs.

- :func:`events_for_hazard_ratio`: Schoenfeld's (1983) number of events for a two-arm
  log-rank (or Cox) comparison to detect a hazard ratio with a given power.
- :func:`sample_size_for_half_width`: patients for a proportion's CI to be no wider than
  +/- a half-width (Wald closed form, or the Wilson interval searched).
- :func:`sample_size_one_proportion`: patients to detect ``p1`` against ``p0`` with Cohen's
  arcsine effect size, as R's ``pwr::pwr.p.test``.
- :func:`expected_accrual`: DAH cases expected from an incidence, a cohort and years, with
  the Poisson range of what one study would see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import optimize, stats

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level

__all__ = [
    "AccrualForecast",
    "events_for_hazard_ratio",
    "expected_accrual",
    "sample_size_for_half_width",
    "sample_size_one_proportion",
]


def _check_probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ArgumentError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _check_positive(name: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ArgumentError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def events_for_hazard_ratio(
    hazard_ratio: float, *, power: float = 0.8, alpha: float = 0.05, allocation: float = 0.5
) -> float:
    """Events needed to detect ``hazard_ratio`` by a two-sided log-rank test (Schoenfeld).

    Parameters
    ----------
    hazard_ratio : float
        Target hazard ratio (not 1).
    power : float, default 0.8
        Probability of rejecting when the hazard ratio is the target.
    alpha : float, default 0.05
        Two-sided significance level.
    allocation : float, default 0.5
        Share of patients in one arm.

    Returns
    -------
    float
        ``(z_{1-alpha/2} + z_power)^2 / (a (1 - a) log(HR)^2)``; round up for a protocol.
    """
    hr = _check_positive("hazard_ratio", hazard_ratio)
    if hr == 1:
        raise ArgumentError("hazard_ratio must differ from 1 (no effect needs no events)")
    power = _check_probability("power", power)
    alpha = _check_probability("alpha", alpha)
    a = _check_probability("allocation", allocation)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 / (a * (1 - a) * math.log(hr) ** 2))


def _wilson_half_width(p: float, n: float, z: float) -> float:
    """Half the width of the Wilson interval at an observed proportion ``p`` of ``n``."""
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)


def sample_size_for_half_width(
    proportion: float,
    half_width: float,
    *,
    conf_level: float = 0.95,
    ci_method: str = "wilson",
) -> int:
    """Patients for a proportion's interval to be at most ``+/- half_width`` wide.

    Parameters
    ----------
    proportion : float
        Anticipated proportion (e.g. 0.4 mortality).
    half_width : float
        Largest acceptable half-width of the interval, in (0, 0.5].
    conf_level : float, default 0.95
        Level of the interval.
    ci_method : {"wilson", "wald"}, default "wilson"
        ``wald``: the closed form ``z^2 p (1 - p) / h^2``; ``wilson``: the smallest ``n``
        whose Wilson interval at the anticipated proportion is that narrow.

    Returns
    -------
    int
        The smallest whole number of patients.
    """
    p = _check_probability("proportion", proportion)
    h = _check_probability("half_width", half_width)
    z = float(stats.norm.ppf(0.5 + check_conf_level(conf_level) / 2))
    check_choice("ci_method", ci_method, ("wilson", "wald"))
    wald = z * z * p * (1 - p) / (h * h)
    if ci_method == "wald":
        return math.ceil(wald - 1e-9)
    n = max(1, math.floor(wald) - 1)  # Wilson's interval is never wider than Wald's here
    while _wilson_half_width(p, n, z) > h:
        n += 1
    while n > 1 and _wilson_half_width(p, n - 1, z) <= h:
        n -= 1
    return n


def sample_size_one_proportion(
    p0: float, p1: float, *, power: float = 0.8, alpha: float = 0.05
) -> float:
    """Patients to detect ``p1`` against ``p0`` (two-sided), as R's ``pwr.p.test``.

    Parameters
    ----------
    p0, p1 : float
        Proportion under the null hypothesis and the one to detect.
    power : float, default 0.8
        Target power.
    alpha : float, default 0.05
        Two-sided significance level.

    Returns
    -------
    float
        ``n`` solving ``power = P(Z > z_{a/2} - h sqrt(n)) + P(Z < -z_{a/2} - h sqrt(n))``
        with Cohen's ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))``; round up for a protocol.
    """
    p0 = _check_probability("p0", p0)
    p1 = _check_probability("p1", p1)
    if p0 == p1:
        raise ArgumentError("p0 and p1 must differ")
    power = _check_probability("power", power)
    alpha = _check_probability("alpha", alpha)
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0)))
    crit = float(stats.norm.ppf(1 - alpha / 2))

    def gap(n: float) -> float:
        shift = h * math.sqrt(n)
        return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift)) - power

    return float(optimize.brentq(gap, 2.0, 1e9, xtol=1e-12, rtol=1e-14))


@dataclass(frozen=True, slots=True, kw_only=True)
class AccrualForecast(ResultMixin):
    """DAH cases a cohort is expected to yield.

    Attributes
    ----------
    expected : float
        Expected cases: incidence x cohort size x years.
    lower, upper : int
        Central Poisson range (``conf_level``) of the cases one study would observe.
    incidence, per : float
        Incidence per ``per`` person-years.
    cohort_size, years : float
    conf_level : float
    """

    expected: float
    lower: int
    upper: int
    incidence: float
    per: float
    cohort_size: float
    years: float
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """One row: the forecast and its inputs."""
        return pd.DataFrame([self.to_dict()])


def expected_accrual(
    incidence: float,
    cohort_size: float,
    years: float,
    *,
    per: float = 1000.0,
    conf_level: float = 0.9,
) -> AccrualForecast:
    """Expected DAH cases given an incidence, a cohort of patients and years of follow-up.

    Parameters
    ----------
    incidence : float
        Cases per ``per`` person-years (e.g. 3.4 per 1,000 patient-years of SLE).
    cohort_size : float
        Patients followed.
    years : float
        Years each is followed (person-years = cohort size x years; no attrition).
    per : float, default 1000
        Person-years the incidence is expressed per.
    conf_level : float, default 0.9
        Coverage of the Poisson range of observed cases.

    Returns
    -------
    AccrualForecast
    """
    rate = _check_positive("incidence", incidence) / _check_positive("per", per)
    mean = rate * _check_positive("cohort_size", cohort_size) * _check_positive("years", years)
    level = check_conf_level(conf_level)
    return AccrualForecast(
        expected=mean,
        lower=int(stats.poisson.ppf((1 - level) / 2, mean)),
        upper=int(stats.poisson.ppf((1 + level) / 2, mean)),
        incidence=float(incidence),
        per=float(per),
        cohort_size=float(cohort_size),
        years=float(years),
        conf_level=level,
    )
