"""Quantiles of a survival curve and of its confidence bounds, as R's ``quantile.survfit``.

The CI of a quantile is where the pointwise CI of the curve crosses the level, so the search
runs on any non-decreasing-in-time cumulative distribution (``1 - S``, ``1 - lower``,
``1 - upper``); the conventions are survival 3.5's ``findq``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["quantile_time"]

_TOL = float(np.sqrt(np.finfo(float).eps))  # R's quantile.survfit tolerance


def _approx_right(knots: np.ndarray, p: float) -> int | None:
    """R's ``approx(knots, seq_along(knots), p, method="constant", f=1)`` (0-based):
    the first knot >= p, or None outside the knots' range. approx() sorts the knots first:
    a confidence bound need not fall monotonically (Greenwood's variance can jump)."""
    order = np.argsort(knots, kind="stable")
    ordered = knots[order]
    if len(knots) == 0 or p < ordered[0] or p > ordered[-1]:
        return None
    return int(order[np.searchsorted(ordered, p, side="left")])


def quantile_time(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """The time at which a cumulative distribution reaches ``p`` (R's ``findq``, survival 3.5).

    Parameters
    ----------
    x : ndarray
        Times, ascending, starting with the origin.
    y : ndarray
        The cumulative distribution at ``x`` (e.g. ``1 - S``), NaN where undefined.
    p : float
        The level, in [0, 1].

    Returns
    -------
    float
        The time; the midpoint of a flat stretch lying at ``p``; NaN where ``y`` never
        reaches ``p``.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # R's duplicated() drops repeated levels (censorings), NA counting as a level
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    # approx() drops the NA pairs but the index values still point into the deduplicated x
    ok = np.flatnonzero(~np.isnan(y))
    i1 = _approx_right(y[ok] + _TOL, p)
    i2 = _approx_right(y[ok] - _TOL, p)
    idx1 = None if i1 is None else ok[i1]
    idx2 = None if i2 is None else ok[i2]
    quant = float("nan") if idx1 is None or idx2 is None else float((x[idx1] + x[idx2]) / 2)
    if p == 0:
        quant = float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL:  # a flat end of the curve at p
        quant = float("nan") if idx1 is None else float((x[idx1] + xmax) / 2)
    return quant
