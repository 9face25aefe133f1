"""Survival figures: Kaplan-Meier curves with an aligned number-at-risk table, cumulative
incidence with its band, and scaled Schoenfeld residuals. Each draws on a given Axes (or a
new Figure) and returns the Axes; none changes global matplotlib state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.transforms import Bbox, TransformedBbox

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting._axes import NotebookAxes, new_axes, new_figure
from dah_outcomes.plotting.colors import PALETTE, Palette, group_colors, group_linestyles
from dah_outcomes.stats.competing import CumulativeIncidenceResult
from dah_outcomes.stats.nonparametric import KaplanMeierResult
from dah_outcomes.stats.proportional_hazards import ProportionalHazardsTest

__all__ = ["plot_cif", "plot_km", "plot_schoenfeld"]


def plot_km(
    km: KaplanMeierResult,
    *,
    ax: Axes | None = None,
    at_risk_times: Sequence[float] | None = None,
    ci: bool = True,
    censor_ticks: bool = True,
    show_events: bool = False,
    show_censored: bool = False,
    xlabel: str = "Days since DAH onset",
    ylabel: str = "Survival probability",
    min_cell: int | None = None,
    palette: Palette = None,
    linestyles: bool | str | Sequence[Any] | Mapping[str, Any] = False,
    xlim: tuple[float, float] | None = None,
) -> Axes:
    """Kaplan-Meier curves with the number-at-risk table aligned under the time axis.

    Parameters
    ----------
    km : KaplanMeierResult
        From :func:`~dah_outcomes.stats.kaplan_meier.kaplan_meier`.
    ax : Axes, optional
        Axes for the curves; the risk table goes in a new Axes below it in the same figure.
        A new figure is made when omitted.
    at_risk_times : sequence of float, optional
        Times of the table's columns (default: the x-axis ticks).
    ci : bool
        Shade the pointwise confidence band.
    censor_ticks : bool
        Mark censoring times with a "+".
    show_events, show_censored : bool
        Add rows with the cumulative events / censored by each time.
    xlabel, ylabel : str
        Axis labels.
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
        Time axis limits (default: 0 to the last time); the table's default columns are the
        ticks within them. Counts drawn outside the limits a caller sets later are clipped.

    Returns
    -------
    Axes
        The curves' Axes; the risk table's Axes is ``ax.figure.axes[-1]`` and carries the
        attribute-free label ``"at-risk table"``. In a notebook the returned Axes (a
        :class:`~dah_outcomes.plotting._axes.NotebookAxes` when the figure is new) shows the
        whole figure.
    """
    colours = group_colors([c.group for c in km.curves], palette)
    styles = group_linestyles([c.group for c in km.curves], linestyles)
    rows = 1 + int(show_events) + int(show_censored)
    n_lines = len(km.curves) * rows
    with mpl.rc_context({"font.size": 9}):
        if ax is None:
            fig = new_figure(7.5, 4.2 + 0.22 * n_lines)
            grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.3 + 0.22 * n_lines])
            ax = fig.add_subplot(grid[0], axes_class=NotebookAxes)
            table = fig.add_subplot(grid[1], sharex=ax, axes_class=NotebookAxes)
        else:
            table = ax.inset_axes((0.0, -0.15 - 0.06 * n_lines, 1.0, 0.05 * n_lines), sharex=ax)
        table.set_label("at-risk table")
        t_max = max(float(c.time[-1]) for c in km.curves)
        for c in km.curves:
            color = colours[str(c.group)]
            x = np.concatenate([[0.0], c.time])
            y = np.concatenate([[1.0], c.survival])
            ax.step(x, y, where="post", color=color, ls=styles[str(c.group)], lw=1.6, label=c.group)
            if ci:
                lo = np.concatenate([[1.0], c.lower])
                hi = np.concatenate([[1.0], c.upper])
                ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.15, lw=0)
            if censor_ticks:
                cens = c.n_censor > 0
                ax.plot(c.time[cens], c.survival[cens], "+", color=color, ms=5, mew=0.8)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(*(xlim if xlim is not None else (0, t_max)))
        x_lo, x_hi = ax.get_xlim()
        ax.set_ylabel(ylabel)
        ax.grid(color="#e5e5e5")
        ax.legend(frameon=False, loc="lower left")
        ticks = (
            list(at_risk_times)
            if at_risk_times is not None
            else [t for t in ax.get_xticks() if max(x_lo, 0) <= t <= min(x_hi, t_max)]
        )
        ax.set_xticks(ticks)
        ax.tick_params(labelbottom=False)
        table.set_xlabel(xlabel)
        for side in ("top", "right", "left"):
            table.spines[side].set_visible(False)
        # a count at a time the caller's xlim leaves out must not widen the saved figure: the
        # counts are clipped to the table's width plus room for the first and last half number
        shown = TransformedBbox(Bbox([[-0.05, -1.0], [1.05, 2.0]]), table.transAxes)
        line = 0
        labels: list[tuple[float, str, str]] = []
        for c in km.curves:
            color = colours[str(c.group)]
            entries = [("at risk", [KaplanMeierResult.n_at_risk(c, t) for t in ticks])]
            if show_events:
                entries.append(("events", [float(c.n_event[c.time <= t].sum()) for t in ticks]))
            if show_censored:
                entries.append(("censored", [float(c.n_censor[c.time <= t].sum()) for t in ticks]))
            for name, values in entries:
                row = n_lines - 1 - line
                labels.append((row, f"{c.group} ({name})" if rows > 1 else c.group, color))
                for t, v in zip(ticks, values, strict=True):
                    small = min_cell is not None and 0 < v < min_cell
                    text = f"<{min_cell}" if small else f"{v:.0f}"
                    cell = table.text(t, row, text, ha="center", va="center", color=color)
                    cell.set_clip_box(shown)
                    cell.set_clip_on(True)
                line += 1
        # group names as tick labels, so the layout makes room for them
        table.set_yticks([y for y, _, _ in labels], [name for _, name, _ in labels])
        for tick, (_, _, color) in zip(table.get_yticklabels(), labels, strict=True):
            tick.set_color(color)
        table.tick_params(axis="y", length=0, pad=14)
        table.set_ylim(-0.5, n_lines - 0.5)
        table.set_title("Number at risk", loc="left", fontsize=8)
    return ax


def plot_cif(
    result: CumulativeIncidenceResult,
    *,
    cause: int = 1,
    ax: Axes | None = None,
    ci: bool = True,
    conf_level: float | None = None,
    xlabel: str = "Days since DAH onset",
    ylabel: str = "Cumulative incidence",
    palette: Palette = None,
    linestyles: bool | str | Sequence[Any] | Mapping[str, Any] = False,
) -> Axes:
    """Cumulative incidence of ``cause`` by group (Aalen-Johansen step functions).

    With ``ci`` (the default) each curve carries a shaded pointwise band, the log(-log)
    interval of cmprsk's variance
    (:meth:`~dah_outcomes.stats.competing.CumulativeIncidenceResult.confidence_interval`).

    Parameters
    ----------
    result : CumulativeIncidenceResult
        From :func:`~dah_outcomes.stats.competing.cumulative_incidence`.
    cause : int, default 1
        The cause drawn.
    ax : Axes, optional
        Axes to draw on (a new figure when omitted).
    ci : bool, default True
        Shade the pointwise band.
    conf_level : float, optional
        Level of the band; by default the one the result was fitted with.
    xlabel, ylabel : str
        Axis labels.
    palette : sequence of str or mapping, optional
        Group colours, as in :func:`plot_km` (the same groups get the same colours in both).
    linestyles : bool, str, sequence or mapping, default False
        Line type per group, as in :func:`plot_km`.

    Returns
    -------
    Axes
    """
    bands = result.confidence_interval(cause, conf_level) if ci else None
    colours = group_colors(result.groups, palette)
    styles = group_linestyles(result.groups, linestyles)
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.0, 3.8)
        for g, part in result.to_frame().groupby("group", sort=False):
            color = colours[str(g)]
            x = np.concatenate([[0.0], part["time"].to_numpy()])
            y = np.concatenate([[0.0], part[f"cif_{cause}"].to_numpy()])
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
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(color="#e5e5e5")
        ax.legend(frameon=False, loc="upper left")
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
