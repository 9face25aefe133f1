"""The time axis of a survival figure: days, weeks, months or years, with breaks a reader
expects (whole months or years, not 0, 500, 1000 days)."""

from __future__ import annotations

import numpy as np

from dah_outcomes.errors import ArgumentError

__all__ = ["TIME_UNITS", "time_breaks", "time_factor", "time_label"]

#: Length of each unit in days; a month is a twelfth of a Julian year, as R's lubridate and
#: most survival papers take it, so 12 months are exactly a year.
TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}

#: Candidate distances between breaks per unit, smallest first; the first giving at most
#: :data:`_MAX_BREAKS` intervals over the axis is used.
_STEPS: dict[str, tuple[float, ...]] = {
    "days": (1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1825, 3650),
    "weeks": (1, 2, 4, 13, 26, 52, 104, 260),
    "months": (1, 2, 3, 6, 12, 24, 60, 120),
    "years": (0.25, 0.5, 1, 2, 5, 10, 20),
}
_MAX_BREAKS = 8


def time_factor(from_unit: str, to_unit: str) -> float:
    """What a time in ``from_unit`` is multiplied by to be in ``to_unit``.

    Parameters
    ----------
    from_unit, to_unit : str
        Units of :data:`TIME_UNITS`.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        If either unit is not one of :data:`TIME_UNITS` (and they differ).
    """
    if from_unit == to_unit:
        return 1.0
    for unit in (from_unit, to_unit):
        if unit not in TIME_UNITS:
            raise ArgumentError(
                f"time unit must be one of {list(TIME_UNITS)} to convert, got {unit!r}"
            )
    return TIME_UNITS[from_unit] / TIME_UNITS[to_unit]


def time_breaks(lo: float, hi: float, unit: str) -> list[float]:
    """Breaks of a time axis from ``lo`` to ``hi``: multiples of a round step of the unit.

    Parameters
    ----------
    lo, hi : float
        Axis limits (in ``unit``).
    unit : str
        One of :data:`TIME_UNITS`; another unit gets steps of 1, 2, 5, 10, ...

    Returns
    -------
    list of float
        At most nine breaks, from the first multiple at or above ``max(lo, 0)``.

    Examples
    --------
    >>> time_breaks(0, 60, "months")
    [0.0, 12.0, 24.0, 36.0, 48.0, 60.0]
    """
    span = hi - max(lo, 0.0)
    if not np.isfinite(span) or span <= 0:
        return [max(lo, 0.0)]
    steps = _STEPS.get(unit) or tuple(m * 10.0**e for e in range(-3, 7) for m in (1, 2, 5))
    step = next((s for s in steps if span / s <= _MAX_BREAKS), None)
    if step is None:  # longer than the largest step allows: a power of ten of it
        step = steps[-1] * 10 ** np.ceil(np.log10(span / (steps[-1] * _MAX_BREAKS)))
    first = np.ceil(max(lo, 0.0) / step - 1e-9) * step + 0.0  # + 0.0: no "-0.0" break
    # a tolerance keeps the last break when hi is an exact multiple up to rounding
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def time_label(unit: str) -> str:
    """The default time-axis label in ``unit``, e.g. ``"Months since DAH onset"``.

    Parameters
    ----------
    unit : str

    Returns
    -------
    str
    """
    return f"{unit[:1].upper()}{unit[1:]} since DAH onset"
