"""Survival figures a paper can print as they are: the log-rank or Gray's p-value, median
lines, time in days, months or years on round breaks, a legend title, 1 - S, and a risk table
that stays inside the figure, whoever made the Axes and however it is saved."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting import group_colors, plot_cif, plot_km
from dah_outcomes.plotting.annotations import p_value_label
from dah_outcomes.plotting.time_axis import time_breaks, time_factor
from dah_outcomes.stats.competing import cumulative_incidence, gray_test
from dah_outcomes.stats.logrank import logrank_test
from dah_outcomes.stats.nonparametric import kaplan_meier

ARMS = ["Rituximab", "MP alone", "MP+CYC"]
MONTH = 365.25 / 12


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(20)
    n = 240
    arm = rng.choice(ARMS, n)
    # Rituximab lives longer, so the groups differ and one median is later than the others
    time = rng.exponential(np.where(arm == "Rituximab", 1400.0, 500.0)).round() + 1
    return pd.DataFrame(
        {
            "time": np.minimum(time, 1825.0),
            "status": np.where(time > 1825, 0, rng.choice([0, 1, 2], n, p=[0.3, 0.5, 0.2])),
            "arm": pd.Categorical(arm, categories=ARMS),
        }
    ).assign(dead=lambda d: (d["status"] > 0).astype(int))


@pytest.fixture(scope="module")
def km(frame):
    return kaplan_meier(frame, time="time", event="dead", group="arm")


def _text(ax, gid: str) -> str:
    found = [t.get_text() for t in ax.texts if t.get_gid() == gid]
    assert len(found) == 1, found
    return found[0]


def _curve_lines(ax) -> dict[str, object]:
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def _at_risk_by_hand(frame: pd.DataFrame, days: list[float]) -> dict[str, list[float]]:
    """Followed up to each day or beyond, counted from the rows (not from any fit)."""
    return {
        g: [float((part["time"] >= d).sum()) for d in days]
        for g, part in frame.groupby("arm", observed=True)
    }


def _table_counts(ax) -> dict[str, list[float]]:
    """The numbers of the risk table, per line label, left to right."""
    table = ax.figure.axes[-1]
    names = {
        round(y): t.get_text()
        for y, t in zip(table.get_yticks(), table.get_yticklabels(), strict=True)
    }
    out: dict[str, list[tuple[float, float]]] = {}
    for t in table.texts:
        x, y = t.get_position()
        out.setdefault(names[round(y)], []).append((x, float(t.get_text())))
    return {k: [v for _, v in sorted(cells)] for k, cells in out.items()}


# --- p-values --------------------------------------------------------------------------


def test_the_log_rank_p_value_is_the_test_of_the_rows(frame, km) -> None:
    ax = plot_km(km, pval=True)
    p = logrank_test(frame, time="time", event="dead", group="arm").p_value
    assert _text(ax, "p-value") == p_value_label(p, "Log-rank")
    # a test result or a number is printed as given; a tiny p is "< 0.001", never "= 0"
    assert _text(plot_km(km, pval=3e-12), "p-value") == "Log-rank p < 0.001"
    assert _text(plot_km(km, pval=0.0123), "p-value") == "Log-rank p = 0.012"
    assert not [t for t in plot_km(km).texts if t.get_gid() == "p-value"]


@pytest.mark.parametrize("fun", ["survival", "event"])
def test_the_p_value_and_the_legend_keep_clear_of_each_other_and_the_start(km, fun) -> None:
    fig = Figure(figsize=(5, 4))
    for ax in (plot_km(km, pval=True, fun=fun, legend_title="Arm"), fig.add_axes((0, 0, 1, 1))):
        if not ax.lines:
            plot_km(km, ax=ax, pval=True, fun=fun, legend_title="Arm")
        ax.figure.savefig(io.BytesIO(), format="png")
        (text,) = [t for t in ax.texts if t.get_gid() == "p-value"]
        legend = ax.get_legend()
        assert legend is not None
        assert not text.get_window_extent().overlaps(legend.get_window_extent())
        # every curve starts at the left, at 1 (survival) or 0 (incidence): neither goes there
        start = (0.02, 0.96) if fun == "survival" else (0.02, 0.04)
        assert text.get_position() != start
        corner = ax.transAxes.inverted().transform(legend.get_window_extent())
        assert not (
            corner[0, 0] < 0.1 and (corner[1, 1] > 0.9 if fun == "survival" else corner[0, 1] < 0.1)
        )


def test_gray_p_value_on_the_cif(frame) -> None:
    cif = cumulative_incidence(frame, time="time", event="status", group="arm")
    gray = gray_test(frame, time="time", event="status", group="arm")
    ax = plot_cif(cif, pval=gray)
    assert _text(ax, "p-value") == p_value_label(gray.p_value, "Gray's test")
    assert _text(plot_cif(cif, pval=0.0004), "p-value") == "Gray's test p < 0.001"


# --- medians, time units, 1 - S, legend ------------------------------------------------


def test_median_lines_drop_at_each_groups_median(km) -> None:
    medians = km.median().set_index("group")["time"]
    assert medians.notna().sum() >= 2
    ax = plot_km(km, median_lines=True, time_unit="months")
    for g, t in medians.items():
        drops = [ln for ln in ax.get_lines() if ln.get_gid() == f"median-{g}"]
        if np.isnan(t):
            assert not drops
            continue
        (line,) = drops
        assert list(line.get_xdata()) == pytest.approx([t / MONTH] * 2)
        assert list(line.get_ydata()) == [0, 0.5]
    (across,) = [ln for ln in ax.get_lines() if ln.get_gid() == "median-line"]
    assert list(across.get_ydata()) == [0.5, 0.5]
    assert across.get_xdata()[1] == pytest.approx(np.nanmax(medians) / MONTH)
    assert not [ln for ln in plot_km(km).get_lines() if str(ln.get_gid()).startswith("median")]


@pytest.mark.parametrize(
    ("unit", "step", "label"),
    [("days", 365.0, "Days"), ("months", 12.0, "Months"), ("years", 1.0, "Years")],
)
def test_time_units_convert_and_break_on_round_values(frame, km, unit, step, label) -> None:
    ax = plot_km(km, time_unit=unit)
    factor = time_factor("days", unit)
    line = _curve_lines(ax)["MP alone"]
    assert line.get_xdata()[1:] == pytest.approx(km.curve("MP alone").time * factor)
    ticks = list(ax.get_xticks())
    assert ticks[0] == 0
    assert np.allclose(np.diff(ticks), step)
    assert ax.figure.axes[-1].get_xlabel() == f"{label} since DAH onset"
    # the table counts at the breaks, whatever their unit, are the rows' counts at those days
    days = [t / factor for t in ticks]
    assert _table_counts(ax) == _at_risk_by_hand(frame, days)


def test_time_breaks_are_round_and_few() -> None:
    assert time_breaks(0, 60, "months") == [0, 12, 24, 36, 48, 60]
    assert time_breaks(0, 50, "days") == [0, 7, 14, 21, 28, 35, 42, 49]
    assert time_breaks(0, 4.9, "years") == [0, 1, 2, 3, 4]
    assert time_breaks(100, 800, "days") == [180, 270, 360, 450, 540, 630, 720]
    assert all(len(time_breaks(0, hi, "days")) <= 9 for hi in (3, 40, 400, 4000, 40_000))
    with pytest.raises(ArgumentError, match="time unit"):
        time_factor("days", "fortnights")


def test_fun_event_draws_one_minus_survival(km) -> None:
    ax = plot_km(km, fun="event")
    c = km.curve("MP+CYC")
    line = _curve_lines(ax)["MP+CYC"]
    assert line.get_ydata() == pytest.approx(np.concatenate([[0.0], 1 - c.survival]))
    assert ax.get_ylabel() == "Cumulative incidence"
    with pytest.raises(ArgumentError, match="fun must be"):
        plot_km(km, fun="cumhaz")


def test_legend_title_only_when_asked(km) -> None:
    ax = plot_km(km, legend_title="Treatment arm")
    assert ax.get_legend().get_title().get_text() == "Treatment arm"
    assert plot_km(km).get_legend().get_title().get_text() == ""


def test_old_calls_keep_working(km) -> None:
    """The report's call: days, its own breaks, then its own limits."""
    ax = plot_km(km, at_risk_times=[0, 365, 730], min_cell=5, xlabel="Days")
    ax.set_xlim(0, 1825)
    assert list(ax.get_xticks()) == [0, 365, 730]
    assert ax.figure.axes[-1].get_xlabel() == "Days"


# --- the risk table inside the figure ---------------------------------------------------


def _axes_a_user_makes() -> list:
    plain = Figure()
    constrained = Figure(figsize=(10, 4), layout="constrained")
    two = Figure(figsize=(10, 4))
    bare = Figure(figsize=(5, 4))
    return [
        plain.add_subplot(),
        constrained.subplots(1, 2)[0],
        two.subplots(1, 2)[1],
        bare.add_axes((0.0, 0.0, 1.0, 1.0)),  # no margin left at all
    ]


@pytest.mark.parametrize("which", range(5), ids=["new", "plain", "constrained", "right", "bare"])
def test_the_risk_table_is_inside_a_plainly_saved_figure(km, which) -> None:
    ax = plot_km(km, pval=True) if which == 0 else plot_km(km, ax=_axes_a_user_makes()[which - 1])
    fig = ax.figure
    fig.savefig(io.BytesIO(), format="png")  # no bbox_inches="tight": the page is the figure
    table = fig.axes[-1] if which == 0 else next(a for a in fig.axes if a.get_label())
    assert table.get_label() == "at-risk table"
    page = fig.bbox
    for box in (table.get_tightbbox(), ax.get_tightbbox()):
        # every edge within the page (1 pixel of rounding allowed)
        assert box.x0 >= page.x0 - 1, (box, page)
        assert box.x1 <= page.x1 + 1, (box, page)
        assert box.y0 >= page.y0 - 1, (box, page)
        assert box.y1 <= page.y1 + 1, (box, page)
    # the table is below the curves, not over them
    assert table.get_window_extent().y1 <= ax.get_window_extent().y0


def test_the_cif_has_a_risk_table_with_the_rows_counts(frame) -> None:
    cif = cumulative_incidence(frame, time="time", event="status", group="arm")
    ax = plot_cif(cif, at_risk_times=[0, 365, 730, 1095], risk_table=True)
    table = ax.figure.axes[-1]
    assert table.get_label() == "at-risk table"
    assert _table_counts(ax) == _at_risk_by_hand(frame, [0, 365, 730, 1095])
    # by default none (a caller under small-cell suppression turns it on with min_cell)
    assert len(plot_cif(cif).figure.axes) == 1
    small = plot_cif(cif, at_risk_times=[0, 1460], risk_table=True, min_cell=30)
    assert "<30" in [t.get_text() for t in small.figure.axes[-1].texts]


def test_cif_and_km_colour_each_arm_alike_in_lines_and_tables(frame, km) -> None:
    cif = cumulative_incidence(frame, time="time", event="status", group="arm")
    expected = {g: to_hex(c) for g, c in group_colors(ARMS).items()}
    for ax in (plot_km(km), plot_cif(cif, pval=0.5, risk_table=True)):
        assert {g: to_hex(ln.get_color()) for g, ln in _curve_lines(ax).items()} == expected
        table = ax.figure.axes[-1]
        assert {t.get_text(): to_hex(t.get_color()) for t in table.get_yticklabels()} == expected


def test_without_a_risk_table_the_curves_carry_the_time_axis(km) -> None:
    ax = plot_km(km, risk_table=False, time_unit="years")
    assert len(ax.figure.axes) == 1
    assert ax.get_xlabel() == "Years since DAH onset"
    assert all(label.get_visible() for label in ax.get_xticklabels())


def test_pval_true_needs_two_groups(frame) -> None:
    one = kaplan_meier(frame, time="time", event="dead")
    with pytest.raises(ArgumentError, match="need at least 2"):
        plot_km(one, pval=True)
    assert not [t for t in plot_km(one).texts if t.get_gid() == "p-value"]
