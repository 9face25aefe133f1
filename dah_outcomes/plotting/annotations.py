"""Text a survival figure carries inside its plot area: a test's p-value, placed in the corner
the curves leave free."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from dah_outcomes.results import format_p_value

__all__ = ["p_value_label", "place_in_free_corner"]

#: Corners tried, in order of preference, as (x, y, ha, va) in axes fraction.
_CORNERS = (
    (0.98, 0.96, "right", "top"),
    (0.98, 0.04, "right", "bottom"),
    (0.02, 0.04, "left", "bottom"),
    (0.02, 0.96, "left", "top"),
)


def p_value_label(p: float, test: str) -> str:
    """``"<test> p = 0.012"``, or ``"<test> p < 0.001"`` below 0.001 (never ``p = 0``).

    Parameters
    ----------
    p : float
        The p-value.
    test : str
        The test's name, e.g. ``"Log-rank"``.

    Returns
    -------
    str

    Examples
    --------
    >>> p_value_label(0.01234, "Log-rank")
    'Log-rank p = 0.012'
    >>> p_value_label(3e-9, "Gray's test")
    "Gray's test p < 0.001"
    """
    text = format_p_value(p)
    shown = f"< {text[1:]}" if text.startswith("<") else f"= {text}"
    return f"{test} p {shown}".strip()


def place_in_free_corner(
    ax: Axes, text: str, curves: Sequence[tuple[np.ndarray, np.ndarray]], *, gid: str
) -> None:
    """Write ``text`` in the corner of ``ax`` that the fewest curve points fall in.

    Parameters
    ----------
    ax : Axes
        With its limits set.
    text : str
    curves : sequence of (x, y) arrays
        The step functions drawn, in data coordinates.
    gid : str
        Id of the text (in SVG output, and to find it again).
    """
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    # a step function's points are sampled on a fine grid so that a long flat stretch counts
    grid = np.linspace(x_lo, x_hi, 200)
    fx, fy = [], []
    for x, y in curves:
        k = np.searchsorted(x, grid, side="right") - 1
        ok = k >= 0
        fx.append((grid[ok] - x_lo) / (x_hi - x_lo))
        fy.append((y[k[ok]] - y_lo) / (y_hi - y_lo))
    px = np.concatenate(fx) if fx else np.empty(0)
    py = np.concatenate(fy) if fy else np.empty(0)

    def crowding(corner: tuple[float, float, str, str]) -> int:
        _, _, ha, va = corner
        in_x = px >= 0.6 if ha == "right" else px <= 0.4
        in_y = py >= 0.8 if va == "top" else py <= 0.2
        return int(np.sum(in_x & in_y))

    cx, cy, ha, va = min(_CORNERS, key=crowding)  # min keeps the first of equals
    ax.text(cx, cy, text, transform=ax.transAxes, ha=ha, va=va, gid=gid)
