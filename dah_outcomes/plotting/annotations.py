"""What a survival figure carries inside its plot area, the legend and a test's p-value, each
in a corner the curves leave free."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from matplotlib.axes import Axes

from dah_outcomes.results import format_p_value

__all__ = ["p_value_label", "place_legend_and_text"]

#: Corners tried, in order of preference, as (x, y, ha, va) in axes fraction.
_CORNERS = (
    (0.98, 0.96, "right", "top"),
    (0.98, 0.04, "right", "bottom"),
    (0.02, 0.04, "left", "bottom"),
    (0.02, 0.96, "left", "top"),
)

#: matplotlib's name of each corner, for the legend.
_LEGEND_LOC: dict[
    tuple[str, str], Literal["upper right", "lower right", "lower left", "upper left"]
] = {
    ("right", "top"): "upper right",
    ("right", "bottom"): "lower right",
    ("left", "bottom"): "lower left",
    ("left", "top"): "upper left",
}


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


def _free_corners(
    ax: Axes, curves: Sequence[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[float, float, str, str]]:
    """The corners of ``ax``, fewest curve points in them first (ties in preference order)."""
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
        in_x = px >= 0.55 if ha == "right" else px <= 0.45
        in_y = py >= 0.7 if va == "top" else py <= 0.3
        return int(np.sum(in_x & in_y))

    return sorted(_CORNERS, key=crowding)  # a stable sort keeps the preference among equals


def place_legend_and_text(
    ax: Axes,
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    text: str | None,
    title: str | None,
    gid: str = "p-value",
) -> None:
    """The legend in the corner the curves leave freest, and ``text`` (a p-value) in the
    next: two corners, so that neither covers the other, whatever the data.

    Parameters
    ----------
    ax : Axes
        With its curves drawn and its limits set.
    curves : sequence of (x, y) arrays
        The step functions drawn, in data coordinates.
    text : str or None
        Written in the second freest corner (none when None).
    title : str or None
        The legend's title.
    gid : str
        Id of the text (in SVG output, and to find it again).
    """
    corners = _free_corners(ax, curves)
    _, _, ha, va = corners[0]
    ax.legend(frameon=False, loc=_LEGEND_LOC[ha, va], title=title)
    if text is not None:
        cx, cy, ha, va = corners[1]
        ax.text(cx, cy, text, transform=ax.transAxes, ha=ha, va=va, gid=gid)
