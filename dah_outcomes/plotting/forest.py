"""Forest plots of ratios (hazard ratios and the like) on a log axis, with the columns a paper
prints beside them: the ratio with its CI, n/events and p, and the reference row."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.results import format_p_value

#: The colour of a row that is no group's (an adjustment covariate, or every row by default).
_INK = "#000000"
#: Font size of the columns (points) and the space between them; a digit of DejaVu Sans is
#: about 0.64 of the font size wide, which sets each column's width from its longest entry.
_COLUMN_FONT = 8.0
_CHAR = 0.64 * _COLUMN_FONT
_GAP = 12.0

__all__ = ["plot_forest"]


def _ratio_text(e: float, lo: float, hi: float) -> str:
    if not all(np.isfinite(v) for v in (e, lo, hi)):
        return "NA" if not np.isfinite(e) else f"{e:.2f} (NA)"
    return f"{e:.2f} ({lo:.2f}-{hi:.2f})"


def _count_text(n: object, events: object) -> str:
    def one(v: object) -> str:
        return "NA" if v is None or pd.isna(v) else f"{int(v):,}"  # type: ignore[call-overload]

    return f"{one(n)}/{one(events)}"


def _with_reference(
    t: pd.DataFrame, label: str, estimate: str, reference: str, counts: tuple[int, int] | None
) -> pd.DataFrame:
    """``t`` with the reference row before the first group row (the top without ``kind``)."""
    row: dict[str, object] = {c: np.nan for c in t.columns}
    row.update({label: reference, estimate: 1.0, "_reference": True})
    if "kind" in t.columns:
        row["kind"] = "group"
    if counts is not None:
        row["_n"], row["_events"] = counts
    at = 0
    if "kind" in t.columns and (t["kind"] == "group").any():
        at = int(np.flatnonzero((t["kind"] == "group").to_numpy())[0])
    top, rest = t.iloc[:at], t.iloc[at:]
    return pd.concat([top, pd.DataFrame([row]), rest], ignore_index=True)


def plot_forest(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    estimate: str = "hazard_ratio",
    low: str = "ci_lower",
    high: str = "ci_upper",
    xlabel: str = "Hazard ratio (log scale)",
    palette: Mapping[str, str] | None = None,
    group: str | None = None,
    reference: str | None = None,
    reference_counts: tuple[int, int] | None = None,
    estimate_header: str = "HR (95% CI)",
    p_value: str | None = "p_value",
    n: str | None = "n",
    events: str | None = None,
    wrap: int = 40,
) -> Axes:
    """Forest plot of ratios with CIs on a log axis (one row per term, first at the top),
    with the columns "HR (95% CI)", n/events and p to its right.

    Parameters
    ----------
    table : DataFrame
        One row per term, e.g. ``CoxResult.to_frame()`` or
        :meth:`~dah_outcomes.analyses.hazard_ratios.HazardRatios.to_frame`.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted); the columns are drawn to its right,
        inside the figure under a layout engine.
    label : str, optional
        Column of the row labels; default ``"label"`` when the table has it (readable
        names such as "Rituximab vs MP alone"), else ``"term"``. Labels longer than ``wrap``
        characters are wrapped.
    estimate, low, high : str
        Columns of the ratio and its interval.
    xlabel : str
        Label of the (log) ratio axis.
    palette : mapping of str to str, optional
        Group colours, e.g. the cohort's ``group_colors(arms)`` shared with its survival
        plots: a row whose ``group`` value is in the mapping takes that colour (an arm's hazard
        ratio in its Kaplan-Meier colour); other rows are black.
    group : str, optional
        Column naming each row's group; default ``"level"`` when ``palette`` is given and the
        table has it (as :func:`~dah_outcomes.analyses.hazard_ratios.hazard_ratios` does).
    reference : str, optional
        Label of the reference level (e.g. ``HazardRatios.reference``): a row reading
        "reference" in the ratio column, drawn as an open square at 1, before the first group
        row (rows whose ``kind`` is ``"group"``) or at the top.
    reference_counts : (int, int), optional
        n and events of the reference row.
    estimate_header : str, default "HR (95% CI)"
        Heading of the ratio column.
    p_value, n : str or None
        Columns of the p-value and of the row's n; a column the table lacks (or ``None``) is
        left out of the figure.
    events : str, optional
        Column of the row's events; by default ``"events"`` or ``"n_events"``, whichever the
        table has. n/events is shown when both columns are there (``n=None`` leaves it out).
    wrap : int, default 40
        Width at which labels are wrapped.

    Returns
    -------
    Axes

    Raises
    ------
    ArgumentError
        If ``group`` or ``label`` is not a column of ``table``.
    """
    if label is None:
        label = "label" if "label" in table.columns else "term"
    for name, col in (("label", label), ("group", group)):
        if col is not None and col not in table.columns:
            raise ArgumentError(
                f"{name}={col!r} is not a column of the table: {list(table.columns)}"
            )
    if group is None and palette is not None and "level" in table.columns:
        group = "level"
    if events is None:
        events = next((c for c in ("events", "n_events") if c in table.columns), None)
    t = table.reset_index(drop=True).assign(_reference=False)
    if n is not None and events is not None and {n, events} <= set(t.columns):
        t = t.assign(_n=t[n], _events=t[events])
    if reference is not None:
        t = _with_reference(t, label, estimate, reference, reference_counts)
    show_counts = "_n" in t.columns
    show_p = p_value is not None and p_value in t.columns
    t = t.iloc[::-1].reset_index(drop=True)
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.5, 0.32 * len(t) + 1.3)
        y = np.arange(len(t))
        keys = t[group].astype(str) if group is not None else pd.Series([""] * len(t))
        colours = [(palette or {}).get(k, _INK) for k in keys]
        ref = t["_reference"].to_numpy(dtype=bool)
        est = t[estimate].to_numpy(dtype=float)
        lo = t[low].to_numpy(dtype=float)
        hi = t[high].to_numpy(dtype=float)
        fit = ~ref
        fitted = [c for c, f in zip(colours, fit, strict=True) if f]
        ax.hlines(y[fit], lo[fit], hi[fit], colors=fitted, lw=1.6)
        ax.scatter(est[fit], y[fit], marker="s", c=fitted, s=25, zorder=3)
        if ref.any():
            ax.scatter(
                est[ref],
                y[ref],
                marker="s",
                facecolors="white",
                edgecolors=_INK,
                s=25,
                zorder=3,
                gid="reference",
            )
        # the line of no effect stops below the headings' row
        ax.vlines(1.0, -0.6, len(t) - 0.5, color="#7f7f7f", lw=0.8, ls="--")
        ax.set_xscale("log")
        bounds = np.concatenate([lo, hi, [1.0]])
        bounds = bounds[np.isfinite(bounds) & (bounds > 0)]
        lo_all, hi_all = float(bounds.min()), float(bounds.max())
        nice = [
            v
            for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
            if lo_all / 1.5 <= v <= hi_all * 1.5
        ] or [1]
        ax.set_xticks(nice, [f"{v:g}" for v in nice])
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_xlim(min(nice[0], lo_all) / 1.2, max(nice[-1], hi_all) * 1.2)
        labels = [textwrap.fill(str(v), wrap) for v in t[label]]
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", length=0)
        # one more row at the top for the columns' headings, so a title above stays clear
        ax.set_ylim(-0.6, len(t) + 0.4)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#e5e5e5")
        columns: list[tuple[str, list[str]]] = [
            (
                estimate_header,
                [
                    "reference" if r else _ratio_text(e, a, b)
                    for r, e, a, b in zip(ref, est, lo, hi, strict=True)
                ],
            )
        ]
        if show_counts:
            columns.append(
                (
                    "n/events",
                    [_count_text(a, b) for a, b in zip(t["_n"], t["_events"], strict=True)],
                )
            )
        if show_p:
            columns.append(
                (
                    "p",
                    ["" if r else format_p_value(v) for r, v in zip(ref, t[p_value], strict=True)],
                )
            )
        _draw_columns(ax, y, float(len(t)), columns)
    return ax


def _draw_columns(
    ax: Axes, y: np.ndarray, header_y: float, columns: list[tuple[str, list[str]]]
) -> None:
    """Text columns right of the plot, each as wide as its longest entry, headed in the row
    at ``header_y``."""
    offset = _GAP
    for header, cells in columns:
        for yi, cell in zip(y, cells, strict=True):
            ax.annotate(
                cell,
                (1.0, float(yi)),
                xycoords=("axes fraction", "data"),
                xytext=(offset, 0),
                textcoords="offset points",
                va="center",
                fontsize=_COLUMN_FONT,
            )
        ax.annotate(
            header,
            (1.0, header_y),
            xycoords=("axes fraction", "data"),
            xytext=(offset, 0),
            textcoords="offset points",
            va="center",
            fontsize=_COLUMN_FONT,
            fontweight="bold",
        )
        offset += _CHAR * max(len(header), *(len(c) for c in cells)) + _GAP
