"""Survival figures: Kaplan-Meier curves with an aligned number-at-risk table, cumulative
incidence with its band, and scaled Schoenfeld residuals. Each draws on a given Axes (or a
new Figure) and returns the Axes; none changes global matplotlib state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import new_axes
from dah_outcomes.plotting.annotations import p_value_label, place_legend_and_text
from dah_outcomes.plotting.colors import PALETTE, Palette, group_colors, group_linestyles
from dah_outcomes.plotting.risk_table import RiskRow, add_risk_table, draw_risk_table, fit_inside
from dah_outcomes.plotting.time_axis import time_breaks, time_factor, time_label
from dah_outcomes.stats.competing import CumulativeIncidenceResult, GrayTestResult
from dah_outcomes.stats.logrank import LogRankResult, logrank_from_km
from dah_outcomes.stats.nonparametric import KaplanMeierResult
from dah_outcomes.stats.proportional_hazards import ProportionalHazardsTest

__all__ = ["plot_cif", "plot_km", "plot_schoenfeld"]


def _p_value(test: bool | float | LogRankResult | GrayTestResult | None, km: Any) -> float | None:
    """The p-value to print: a number as given, a test's, or (``True``) the log-rank test of
    ``km``'s curves."""
    if test is None or test is False:
        return None
    if test is True:
        if km is None:
            raise ArgumentError("pval=True needs a Kaplan-Meier result; pass the test itself")
        return float(logrank_from_km(km).p_value)
    if isinstance(test, LogRankResult | GrayTestResult):
        return float(test.p_value)
    return float(test)


def _test_name(test: object, default: str) -> str:
    if isinstance(test, LogRankResult) and (test.rho, test.gamma) != (0.0, 0.0):
        return f"Fleming-Harrington ({test.rho:g}, {test.gamma:g})"
    return default


def _time_axis(
    t_max: float, unit: str, xlim: tuple[float, float] | None, at_risk_times: Any
) -> tuple[tuple[float, float], list[float]]:
    """Limits of the time axis and the times of its breaks (and the risk table's columns)."""
    lo, hi = xlim if xlim is not None else (0.0, t_max)
    if at_risk_times is not None:
        return (lo, hi), [float(t) for t in at_risk_times]
    return (lo, hi), [t for t in time_breaks(lo, hi, unit) if t <= min(hi, t_max) + 1e-9]


def plot_km(
    km: KaplanMeierResult,
    *,
    ax: Axes | None = None,
    at_risk_times: Sequence[float] | None = None,
    ci: bool = True,
    censor_ticks: bool = True,
    show_events: bool = False,
    show_censored: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    min_cell: int | None = None,
    palette: Palette = None,
    linestyles: bool | str | Sequence[Any] | Mapping[str, Any] = False,
    xlim: tuple[float, float] | None = None,
    pval: bool | float | LogRankResult = False,
    median_lines: bool = False,
    time_unit: str | None = None,
    legend_title: str | None = None,
    fun: str = "survival",
    risk_table: bool = True,
) -> Axes:
    """Kaplan-Meier curves with the number-at-risk table aligned under the time axis.

    Parameters
    ----------
    km : KaplanMeierResult
        From :func:`~dah_outcomes.stats.kaplan_meier.kaplan_meier`.
    ax : Axes, optional
        Axes for the curves; its place in the figure is split between the curves and the
        risk table below them, so that both stay inside the figure (a plain ``savefig``
        keeps the table). A new figure is made when omitted.
    at_risk_times : sequence of float, optional
        Times of the breaks and of the table's columns, in ``time_unit`` (default: round
        steps of the unit, see :func:`~dah_outcomes.plotting.time_axis.time_breaks`).
    ci : bool
        Shade the pointwise confidence band.
    censor_ticks : bool
        Mark censoring times with a "+".
    show_events, show_censored : bool
        Add rows with the cumulative events / censored by each time.
    xlabel, ylabel : str, optional
        Axis labels; by default "<Unit> since DAH onset" and "Survival probability" (or
        "Cumulative incidence" with ``fun="event"``).
    min_cell : int, optional
        Print the table's counts between 1 and ``min_cell - 1`` as ``<min_cell`` (small-cell
        suppression; a group that small should be left out of ``km`` by the caller).
    palette : sequence of str or mapping, optional
        Group colours (see :func:`~dah_outcomes.plotting.colors.group_colors`; default
        Okabe-Ito dealt in sorted label order). Pass the cohort's mapping,
        ``group_colors(all_levels)``, to keep each group's colour when some are left out.
    linestyles : bool, str, sequence or mapping, default False
        Line type per group (see :func:`~dah_outcomes.plotting.colors.group_linestyles`);
        ``True`` deals distinct dash patterns, for greyscale print.
    xlim : (float, float), optional
        Time axis limits in ``time_unit`` (default: 0 to the last time); the default breaks
        are within them. Counts drawn outside the limits a caller sets later are clipped.
    pval : bool, float or LogRankResult, default False
        Print a p-value in a corner the curves leave free (the legend takes the freest),
        as "Log-rank p = 0.012" or "Log-rank p < 0.001": ``True`` computes the log-rank
        test of the curves (:func:`~dah_outcomes.stats.logrank.logrank_from_km`; curves with
        delayed entry need the test passed instead), a test result or a number is printed
        as given.
    median_lines : bool, default False
        Dashed lines from the survival axis at 0.5 to each group's median and down to the
        time axis (survminer's ``surv.median.line = "hv"``); a group whose curve does not
        reach 0.5 has none.
    time_unit : {"days", "weeks", "months", "years"}, optional
        Unit of the time axis; ``km``'s times (in ``km.time_unit``) are converted (a month
        is 365.25 / 12 days). Default: ``km.time_unit``.
    legend_title : str, optional
        Title of the legend (e.g. "Treatment arm").
    fun : {"survival", "event"}, default "survival"
        Draw the survival S(t), or the cumulative incidence 1 - S(t) (with its band
        reflected); the latter is the incidence of the event only without competing risks
        (otherwise use :func:`plot_cif`).
    risk_table : bool, default True
        Draw the number-at-risk table under the curves.

    Returns
    -------
    Axes
        The curves' Axes; the risk table's Axes is ``ax.figure.axes[-1]`` and carries the
        label ``"at-risk table"``. In a notebook the returned Axes (a
        :class:`~dah_outcomes.plotting._axes.NotebookAxes` when the figure is new) shows the
        whole figure.

    Raises
    ------
    ArgumentError
        For an unknown ``fun`` or time unit, or ``pval=True`` with fewer than two groups.
    """
    if fun not in ("survival", "event"):
        raise ArgumentError(f"fun must be 'survival' or 'event', got {fun!r}")
    unit = km.time_unit if time_unit is None else time_unit
    scale = time_factor(km.time_unit, unit)
    p_value = _p_value(pval, km)
    event = fun == "event"
    groups = [c.group for c in km.curves]
    colours = group_colors(groups, palette)
    styles = group_linestyles(groups, linestyles)
    rows = 1 + int(show_events) + int(show_censored)
    n_lines = len(km.curves) * rows
    with mpl.rc_context({"font.size": 9}):
        if risk_table:
            ax, table = add_risk_table(ax, n_lines)
        elif ax is None:
            ax = new_axes(7.5, 4.2)
        t_max = max(float(c.time[-1]) for c in km.curves) * scale
        drawn: list[tuple[np.ndarray, np.ndarray]] = []
        for c in km.curves:
            color = colours[str(c.group)]
            x = np.concatenate([[0.0], c.time * scale])
            s = np.concatenate([[1.0], c.survival])
            y = 1 - s if event else s
            drawn.append((x, y))
            ax.step(x, y, where="post", color=color, ls=styles[str(c.group)], lw=1.6, label=c.group)
            if ci:
                lo = np.concatenate([[1.0], c.lower])
                hi = np.concatenate([[1.0], c.upper])
                lo, hi = (1 - hi, 1 - lo) if event else (lo, hi)
                ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.15, lw=0)
            if censor_ticks:
                cens = c.n_censor > 0
                ax.plot(x[1:][cens], y[1:][cens], "+", color=color, ms=5, mew=0.8)
        ax.set_ylim(0, 1.02)
        limits, ticks = _time_axis(t_max, unit, xlim, at_risk_times)
        ax.set_xlim(*limits)
        if median_lines:
            _median_lines(ax, km, scale, colours)
        ax.set_ylabel(ylabel or ("Cumulative incidence" if event else "Survival probability"))
        ax.grid(color="#e5e5e5")
        ax.set_xticks(ticks)
        label = None if p_value is None else p_value_label(p_value, _test_name(pval, "Log-rank"))
        place_legend_and_text(ax, drawn, text=label, title=legend_title)
        xlabel = xlabel or time_label(unit)
        if not risk_table:
            ax.set_xlabel(xlabel)
            return ax
        ax.tick_params(labelbottom=False)
        table_rows = _km_rows(km, colours, [t / scale for t in ticks], show_events, show_censored)
        draw_risk_table(table, ticks, table_rows, xlabel=xlabel, min_cell=min_cell)
        fit_inside(ax, table)
    return ax


def _km_rows(
    km: KaplanMeierResult,
    colours: Mapping[str, str],
    at: Sequence[float],
    show_events: bool,
    show_censored: bool,
) -> list[RiskRow]:
    """The risk table's lines: per group the number at risk at the times ``at`` (in the
    fit's unit), and the cumulative events and censored if asked."""
    several = show_events or show_censored
    out: list[RiskRow] = []
    for c in km.curves:
        color = colours[str(c.group)]
        entries = [("at risk", [KaplanMeierResult.n_at_risk(c, t) for t in at])]
        if show_events:
            entries.append(("events", [float(c.n_event[c.time <= t].sum()) for t in at]))
        if show_censored:
            entries.append(("censored", [float(c.n_censor[c.time <= t].sum()) for t in at]))
        for name, values in entries:
            out.append((f"{c.group} ({name})" if several else c.group, color, values))
    return out


def _median_lines(
    ax: Axes, km: KaplanMeierResult, scale: float, colours: Mapping[str, str]
) -> None:
    """survminer's "hv" median lines: across at 0.5 to the last median, down at each."""
    medians = km.median()
    reached = [
        (str(g), float(t) * scale)
        for g, t in zip(medians["group"], medians["time"], strict=True)
        if np.isfinite(t)
    ]
    if not reached:
        return
    y = 0.5
    last = max(t for _, t in reached)
    dash = (0, (4, 3))
    ax.plot([ax.get_xlim()[0], last], [y, y], color="#555555", ls=dash, lw=0.9, gid="median-line")
    for g, t in reached:
        ax.plot([t, t], [0, y], color=colours[g], ls=dash, lw=0.9, gid=f"median-{g}")


def _cif_at_risk(part: Any, times: Sequence[float]) -> list[float]:
    """Number at risk at each time, as the Kaplan-Meier table counts it: those followed up
    to the time or beyond (the risk set of the first distinct time at or after it)."""
    t = part["time"].to_numpy()
    n = part["n_risk"].to_numpy()
    out = []
    for x in times:
        k = int(np.searchsorted(t, x, side="left"))
        out.append(float(n[k]) if k < len(t) else 0.0)
    return out


def plot_cif(
    result: CumulativeIncidenceResult,
    *,
    cause: int = 1,
    ax: Axes | None = None,
    ci: bool = True,
    conf_level: float | None = None,
    xlabel: str | None = None,
    ylabel: str = "Cumulative incidence",
    palette: Palette = None,
    linestyles: bool | str | Sequence[Any] | Mapping[str, Any] = False,
    risk_table: bool = False,
    at_risk_times: Sequence[float] | None = None,
    min_cell: int | None = None,
    pval: float | GrayTestResult | None = None,
    time_unit: str = "days",
    xlim: tuple[float, float] | None = None,
    legend_title: str | None = None,
) -> Axes:
    """Cumulative incidence of ``cause`` by group (Aalen-Johansen step functions).

    With ``ci`` (the default) each curve carries a shaded pointwise band, the log(-log)
    interval of cmprsk's variance
    (:meth:`~dah_outcomes.stats.competing.CumulativeIncidenceResult.confidence_interval`).
    Groups take the colours :func:`plot_km` gives them (both deal by sorted label).

    Parameters
    ----------
    result : CumulativeIncidenceResult
        From :func:`~dah_outcomes.stats.competing.cumulative_incidence`, its times in days.
    cause : int, default 1
        The cause drawn.
    ax : Axes, optional
        Axes to draw on, shared with a risk table as in :func:`plot_km` (a new figure
        when omitted).
    ci : bool, default True
        Shade the pointwise band.
    conf_level : float, optional
        Level of the band; by default the one the result was fitted with.
    xlabel, ylabel : str, optional
        Axis labels (by default "<Unit> since DAH onset" and "Cumulative incidence").
    palette : sequence of str or mapping, optional
        Group colours, as in :func:`plot_km` (the same groups get the same colours in both).
    linestyles : bool, str, sequence or mapping, default False
        Line type per group, as in :func:`plot_km`.
    risk_table : bool, default False
        Draw the number at risk (free of every cause and uncensored) under the curves, as
        :func:`plot_km` does. Off by default so that a caller drawing for a page with
        small-cell suppression passes ``min_cell`` when it turns the table on.
    at_risk_times : sequence of float, optional
        Times of the breaks and the table's columns, in ``time_unit``.
    min_cell : int, optional
        Small-cell suppression of the table's counts, as in :func:`plot_km`.
    pval : float or GrayTestResult, optional
        Gray's test (:func:`~dah_outcomes.stats.competing.gray_test`, or its p-value),
        printed as "Gray's test p = 0.012" in the corner the curves leave free.
    time_unit : {"days", "weeks", "months", "years"}, default "days"
        Unit of the time axis (the result's days are converted).
    xlim : (float, float), optional
        Time axis limits in ``time_unit`` (default: 0 to the last time).
    legend_title : str, optional
        Title of the legend.

    Returns
    -------
    Axes
        The curves' Axes (with a risk table, the table's is ``ax.figure.axes[-1]``,
        labelled ``"at-risk table"``).
    """
    bands = result.confidence_interval(cause, conf_level) if ci else None
    colours = group_colors(result.groups, palette)
    styles = group_linestyles(result.groups, linestyles)
    scale = time_factor("days", time_unit)
    p_value = _p_value(pval, None)
    parts = list(result.to_frame().groupby("group", sort=False))
    with mpl.rc_context({"font.size": 9}):
        if risk_table:
            ax, table = add_risk_table(ax, len(parts), width=7.0, height=3.8)
        elif ax is None:
            ax = new_axes(7.0, 3.8)
        drawn: list[tuple[np.ndarray, np.ndarray]] = []
        for g, part in parts:
            color = colours[str(g)]
            x = np.concatenate([[0.0], part["time"].to_numpy() * scale])
            y = np.concatenate([[0.0], part[f"cif_{cause}"].to_numpy()])
            drawn.append((x, y))
            ax.step(x, y, where="post", color=color, ls=styles[str(g)], lw=1.6, label=g)
            if bands is not None:
                b = bands[bands["group"] == g]
                lo = np.concatenate([[0.0], b["ci_lower"].to_numpy()])
                hi = np.concatenate([[0.0], b["ci_upper"].to_numpy()])
                ok = ~(np.isnan(lo) | np.isnan(hi))
                ax.fill_between(
                    x,
                    np.where(ok, lo, y),
                    np.where(ok, hi, y),
                    step="post",
                    color=color,
                    alpha=0.15,
                    lw=0,
                    gid=f"ci-{g}",
                )
        ax.set_ylim(0, 1)
        t_max = max((float(x[-1]) for x, _ in drawn), default=1.0)
        limits, ticks = _time_axis(t_max, time_unit, xlim, at_risk_times)
        ax.set_xlim(*limits)
        ax.set_xticks(ticks)
        ax.set_ylabel(ylabel)
        ax.grid(color="#e5e5e5")
        label = None if p_value is None else p_value_label(p_value, "Gray's test")
        place_legend_and_text(ax, drawn, text=label, title=legend_title)
        xlabel = xlabel or time_label(time_unit)
        if not risk_table:
            ax.set_xlabel(xlabel)
            return ax
        ax.tick_params(labelbottom=False)
        table_rows: list[RiskRow] = [
            (str(g), colours[str(g)], _cif_at_risk(part, [t / scale for t in ticks]))
            for g, part in parts
        ]
        draw_risk_table(table, ticks, table_rows, xlabel=xlabel, min_cell=min_cell)
        fit_inside(ax, table)
    return ax


def plot_schoenfeld(
    test: ProportionalHazardsTest, term: str, *, ax: Axes | None = None, bins: int = 10
) -> Axes:
    """Scaled Schoenfeld residuals of ``term`` against transformed time: ``beta(t)``.

    Each death is a point; the line joins the residuals' means within ``bins`` equal-count
    bins of transformed time, and the dashed line is the fitted (constant) coefficient.
    Under proportional hazards the binned means scatter around the dashed line without a
    trend. The title carries the term's test.

    Parameters
    ----------
    test : ProportionalHazardsTest
        From :func:`~dah_outcomes.stats.proportional_hazards.proportional_hazards_test`.
    term : str
        The term drawn (one of ``test.terms``).
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    bins : int, default 10
        Equal-count bins of transformed time for the line of means.

    Returns
    -------
    Axes
    """
    if term not in test.terms:
        raise ArgumentError(f"no term {term!r}; terms: {list(test.terms)}")
    j = test.terms.index(term)
    x, y = test.transformed_time, test.scaled_residuals[:, j]
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(6.0, 3.6)
        ax.plot(x, y, "o", ms=2.5, color="#9e9e9e", alpha=0.6, gid="residuals")
        order = np.argsort(x, kind="stable")
        groups = np.array_split(order, min(bins, len(order))) if len(order) else []
        centres = [float(np.mean(x[g])) for g in groups]
        means = [float(np.mean(y[g])) for g in groups]
        ax.plot(centres, means, "-o", color=PALETTE[0], lw=1.6, ms=3, gid="binned-means")
        fitted = float(test.fit.coef[test.fit.terms.index(term)]) if term in test.fit.terms else 1.0
        ax.axhline(fitted, color=PALETTE[1], ls="--", lw=1.2, gid="fitted")
        p_value = test.p_value[j]
        ax.set_title(f"{term}: proportional-hazards test p = {p_value:.3g}", fontsize=9)
        ax.set_xlabel(f"Transformed time ({test.transform})")
        ax.set_ylabel(f"Beta(t) for {term}")
        ax.grid(color="#e5e5e5")
    return ax
