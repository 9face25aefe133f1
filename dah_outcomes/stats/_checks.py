"""The argument layer: the checks every public statistic shares, with one wording each.

Each public function checks its arguments once, at its entry, through these helpers, so that
``conf_level=95`` gets the same message from a proportion CI as from a Cox model, and a bad
choice lists the valid ones. Nothing here knows about DAH.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from dah_outcomes.errors import (
    ArgumentError,
    ConvergenceWarning,
    DroppedRowsWarning,
    SmallSampleWarning,
    warn,
)

__all__ = [
    "MIN_ARM_SIZE",
    "MIN_EVENTS_PER_VARIABLE",
    "check_choice",
    "check_conf_level",
    "check_iterations",
    "check_positive_int",
    "check_tolerance",
    "few_events_message",
    "warn_dropped",
    "warn_few_events_per_variable",
    "warn_not_converged",
    "warn_small_arms",
]

MIN_EVENTS_PER_VARIABLE = 10
"""Events (or the rarer outcome) per estimated coefficient below which a regression warns:
the usual rule (Peduzzi et al. 1995, 1996), under which coefficients are biased and Wald
intervals too narrow."""

MIN_ARM_SIZE = 5
"""Patients per arm below which an asymptotic comparison warns and points to an exact one."""


T = TypeVar("T")


def check_conf_level(conf_level: Any) -> float:
    """``conf_level`` as a float strictly between 0 and 1.

    Parameters
    ----------
    conf_level : float
        The confidence level asked for (0.95, not 95).

    Returns
    -------
    float
        The level as a Python float.

    Raises
    ------
    ArgumentError
        If it is not a real number in (0, 1).
    """
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, numbers.Real)
        or not math.isfinite(float(conf_level))
        or not 0.0 < float(conf_level) < 1.0
    ):
        hint = " (a proportion: 0.95 for 95%)" if _looks_like_percent(conf_level) else ""
        raise ArgumentError(f"conf_level must be in (0, 1), got {conf_level!r}{hint}")
    return float(conf_level)


def _looks_like_percent(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and 1.0 < float(value) < 100.0
    )


def check_choice(name: str, value: T, choices: Collection[T]) -> T:
    """``value`` if it is one of ``choices``.

    Parameters
    ----------
    name : str
        The argument's name, as the caller wrote it.
    value : object
        The value given.
    choices : collection
        The allowed values.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ArgumentError
        Naming the argument, the valid choices (sorted) and the value given.
    """
    if value not in choices:
        raise ArgumentError(f"{name} must be one of {sorted(choices, key=str)}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an int no smaller than ``minimum`` (booleans refused).

    Parameters
    ----------
    name : str
        The argument's name.
    value : object
        The value given.
    minimum : int, default 1
        The smallest allowed value.

    Returns
    -------
    int

    Raises
    ------
    ArgumentError
        If ``value`` is not a whole number at least ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ArgumentError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_iterations(max_iter: Any, tol: Any) -> tuple[int, float]:
    """The iteration limit and tolerance of an iterative fit.

    Parameters
    ----------
    max_iter : int
        Most Newton (or EM) steps; at least 1.
    tol : float
        Convergence tolerance; positive and finite.

    Returns
    -------
    tuple of (int, float)
    """
    return check_positive_int("max_iter", max_iter), check_tolerance(tol)


def check_tolerance(tol: Any) -> float:
    """A convergence tolerance: a positive, finite real number.

    Parameters
    ----------
    tol : float
        The tolerance given.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        If it is not positive and finite.
    """
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not math.isfinite(float(tol))
        or float(tol) <= 0
    ):
        raise ArgumentError(f"tol must be a positive finite number, got {tol!r}")
    return float(tol)


def warn_dropped(n_dropped: int, n_rows: int, columns: Sequence[str], *, what: str) -> None:
    """Announce rows left out for missing values, if any (nothing is dropped silently).

    Parameters
    ----------
    n_dropped : int
        Rows left out.
    n_rows : int
        Rows given.
    columns : sequence of str
        The columns whose missing values drop a row.
    what : str
        The estimate, for the message (e.g. ``"cox_regression"``).

    Returns
    -------
    None
    """
    if n_dropped > 0:
        warn(
            f"{what}: {n_dropped} of {n_rows} rows dropped for a missing value in one of "
            f"{list(columns)}; the result counts them in n_dropped. Impute or fill them "
            "first if they are not missing at random",
            DroppedRowsWarning,
        )


def warn_not_converged(model: str, iterations: int) -> None:
    """Announce an iterative fit that stopped at its limit.

    Parameters
    ----------
    model : str
        The model, for the message.
    iterations : int
        The steps taken (the limit).

    Returns
    -------
    None
    """
    warn(
        f"the {model} fit did not converge in {iterations} iterations; the estimates are "
        "those of the last step (converged=False on the result): raise max_iter, or check "
        "for a diverging coefficient",
        ConvergenceWarning,
    )


def warn_few_events_per_variable(
    n_events: float,
    n_parameters: int,
    *,
    model: str,
    minimum: float = MIN_EVENTS_PER_VARIABLE,
    events: str = "events",
) -> bool:
    """Warn when a regression has fewer than ``minimum`` events per estimated coefficient.

    Parameters
    ----------
    n_events : float
        Events of the fit (for a binary outcome, the count of the rarer outcome).
    n_parameters : int
        Coefficients estimated (the columns of the design, intercept excluded).
    model : str
        The model, for the message (e.g. ``"cox_regression"``).
    minimum : float, default 10
        Events per variable below which the warning is issued.
    events : str, default "events"
        What is counted, for the message.

    Returns
    -------
    bool
        Whether the warning was issued.
    """
    message = few_events_message(
        n_events, n_parameters, model=model, minimum=minimum, events=events
    )
    if message is None:
        return False
    warn(message, SmallSampleWarning)
    return True


def few_events_message(
    n_events: float,
    n_parameters: int,
    *,
    model: str,
    minimum: float = MIN_EVENTS_PER_VARIABLE,
    events: str = "events",
) -> str | None:
    """The message of :func:`warn_few_events_per_variable`, or None when there are enough
    events; for a result that records the warnings it gave.

    Parameters
    ----------
    n_events : float
        Events of the fit.
    n_parameters : int
        Coefficients estimated.
    model : str
        The model, for the message.
    minimum : float, default 10
        Events per variable below which there is a message.
    events : str, default "events"
        What is counted, for the message.

    Returns
    -------
    str or None
        The warning's text, or None.
    """
    if n_parameters <= 0:
        return None
    epv = float(n_events) / n_parameters
    if epv >= minimum:
        return None
    return (
        f"{model}: {n_events:g} {events} for {n_parameters} coefficient(s), {epv:.1f} per "
        f"variable (below {minimum:g}): the coefficients are biased away from 0 and their "
        "Wald intervals too narrow. Fit fewer covariates, or a penalised model "
        "(firth_logistic, firth_cox) with profile-likelihood intervals"
    )


def warn_small_arms(
    sizes: Sequence[float],
    labels: Sequence[Any],
    *,
    what: str,
    minimum: int = MIN_ARM_SIZE,
    remedy: str = "",
) -> bool:
    """Warn when an arm of a comparison has fewer than ``minimum`` patients.

    Parameters
    ----------
    sizes : sequence of float
        Patients per arm.
    labels : sequence
        The arms' labels, in the order of ``sizes``.
    what : str
        The comparison, for the message (e.g. ``"logrank_test"``).
    minimum : int, default 5
        Patients per arm below which the warning is issued.
    remedy : str, optional
        What to do instead, appended to the message.

    Returns
    -------
    bool
        Whether the warning was issued.
    """
    small = [f"{lab} (n = {n:g})" for n, lab in zip(sizes, labels, strict=True) if n < minimum]
    if not small:
        return False
    warn(
        f"{what}: {len(small)} arm(s) with fewer than {minimum} patients: "
        f"{', '.join(small)}; the large-sample approximation is unreliable there"
        + (f". {remedy}" if remedy else ""),
        SmallSampleWarning,
    )
    return True
