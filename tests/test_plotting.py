"""Figures show themselves in a notebook (a PNG, the same bytes each time, no pyplot) and give
each group one colour across every figure of a cohort (Okabe-Ito unless ``palette=`` says)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.colors import to_hex

from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting import (
    OKABE_ITO,
    PALETTE,
    NotebookAxes,
    NotebookFigure,
    group_colors,
    group_linestyles,
    new_axes,
    plot_cif,
    plot_forest,
    plot_km,
)
from dah_outcomes.plotting._axes import figure_png
from dah_outcomes.stats.competing import cumulative_incidence
from dah_outcomes.stats.nonparametric import kaplan_meier

#: arms whose categorical order ("Rituximab" first) is not their sorted order
ARMS = ["Rituximab", "MP alone", "MP+CYC"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(18)
    n = 300
    return pd.DataFrame(
        {
            "time": rng.exponential(200.0, n).round() + 1,
            "status": rng.choice([0, 1, 2], n, p=[0.4, 0.4, 0.2]),
            "arm": pd.Categorical(rng.choice(ARMS, n), categories=ARMS),
        }
    ).assign(dead=lambda d: (d["status"] > 0).astype(int))


def _line_colours(ax) -> dict[str, str]:
    """Label to hex colour of the labelled curves of an Axes."""
    return {
        line.get_label(): to_hex(line.get_color())
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def _display(obj) -> tuple[dict, dict]:
    """What Jupyter's display machinery makes of ``obj`` (the kernel's own formatter)."""
    return DisplayFormatter().format(obj)


def test_a_new_axes_shows_its_figure_as_png() -> None:
    ax = new_axes(4, 3)
    ax.plot([0, 1], [0, 1])
    assert isinstance(ax, NotebookAxes)
    assert isinstance(ax.figure, NotebookFigure)
    for obj in (ax, ax.figure):
        data, metadata = _display(obj)
        assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
        assert "<Figure size" not in data["text/plain"]
        assert "<Axes" not in data["text/plain"]
        # shown at 96 px per inch: a 4 x 3 in figure is about 384 x 288 (tight bbox)
        assert 300 < metadata["image/png"]["width"] < 420
    # no pyplot figure manager, so nothing global was touched
    assert ax.figure.canvas.manager is None


def test_plot_km_result_displays_whole_figure_with_the_same_bytes(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    ax = plot_km(km, at_risk_times=[0, 100, 200])
    first, _ = figure_png(ax)
    second, _ = figure_png(plot_km(km, at_risk_times=[0, 100, 200]))
    assert first == second
    data, _ = _display(ax)
    assert data["image/png"] == first
    # the risk table's Axes shows the figure too (the last expression may be any Axes)
    table = ax.figure.axes[-1]
    assert table.get_label() == "at-risk table"
    assert _display(table)[0]["image/png"] == first


def test_a_users_axes_is_left_as_it_is(frame) -> None:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    assert plot_km(km, ax=ax) is ax
    assert type(ax) is Axes


def test_the_same_arm_has_the_same_colour_in_km_and_cif(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    cif = cumulative_incidence(frame, time="time", event="status", group="arm")
    # the two fits order their groups differently; colours must not follow that order
    assert [c.group for c in km.curves] != list(cif.groups)
    km_colours = _line_colours(plot_km(km))
    cif_colours = _line_colours(plot_cif(cif))
    assert km_colours == cif_colours
    assert set(km_colours.values()) == {to_hex(c) for c in PALETTE[:3]}
    assert km_colours == {g: to_hex(c) for g, c in group_colors(ARMS).items()}


def test_palette_overrides_the_default(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    cif = cumulative_incidence(frame, time="time", event="status", group="arm")
    chosen = {"Rituximab": "#111111", "MP alone": "#222222", "MP+CYC": "#333333"}
    assert _line_colours(plot_km(km, palette=chosen)) == chosen
    assert _line_colours(plot_cif(cif, palette=chosen)) == chosen
    # a sequence is dealt in sorted label order
    dealt = _line_colours(plot_km(km, palette=["red", "green", "blue"]))
    assert dealt == {"MP alone": "#ff0000", "MP+CYC": "#008000", "Rituximab": "#0000ff"}


def test_a_cohort_mapping_keeps_colours_when_a_group_is_left_out(frame) -> None:
    cohort_colours = group_colors(ARMS)
    two = frame[frame["arm"] != "MP alone"].assign(arm=lambda d: d["arm"].astype(str))
    km = kaplan_meier(two, time="time", event="dead", group="arm")
    drawn = _line_colours(plot_km(km, palette=cohort_colours))
    assert drawn == {g: to_hex(cohort_colours[g]) for g in ("MP+CYC", "Rituximab")}
    # without the mapping the two remaining groups are dealt the first two colours
    assert _line_colours(plot_km(km))["Rituximab"] == to_hex(PALETTE[1])


def test_risk_table_numbers_take_their_curve_colour(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    ax = plot_km(km, at_risk_times=[0, 100])
    colours = group_colors(ARMS)
    table = ax.figure.axes[-1]
    for tick in table.get_yticklabels():
        assert to_hex(tick.get_color()) == to_hex(colours[tick.get_text()])


def test_palette_errors_say_what_is_missing() -> None:
    with pytest.raises(ArgumentError, match=r"no colour for \['c'\]"):
        group_colors(["a", "b", "c"], {"a": "red", "b": "blue"})
    with pytest.raises(ArgumentError, match="not matplotlib colours"):
        group_colors(["a"], ["notacolour"])
    with pytest.raises(ArgumentError, match="non-empty sequence"):
        group_colors(["a"], "red")


def test_okabe_ito_is_the_default_palette() -> None:
    assert tuple(OKABE_ITO.values()) == PALETTE
    assert {c.upper() for c in PALETTE} == {
        "#000000",
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
    }
    assert len(set(group_colors([f"g{i}" for i in range(8)]).values())) == 8


def test_line_types_are_optional_and_dealt_like_colours(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    solid = {line.get_label(): line.get_linestyle() for line in plot_km(km).get_lines()}
    assert {solid[g] for g in ARMS} == {"-"}
    ax = plot_km(km, linestyles=True)
    # matplotlib names every custom dash "--"; the pattern itself tells them apart
    styles = {line.get_label(): str(line._unscaled_dash_pattern) for line in ax.get_lines()}
    assert len({styles[g] for g in ARMS}) == 3
    assert group_linestyles(ARMS, True)["MP alone"] == "solid"
    with pytest.raises(ArgumentError, match="no line type"):
        group_linestyles(ARMS, {"MP alone": "solid"})


def test_forest_rows_take_their_groups_colour() -> None:
    table = pd.DataFrame(
        {
            "label": ["Rituximab vs MP alone", "MP+CYC vs MP alone", "Age (per 10 years)"],
            "level": ["Rituximab", "MP+CYC", None],
            "hazard_ratio": [0.8, 1.2, 1.1],
            "ci_lower": [0.5, 0.9, 1.0],
            "ci_upper": [1.3, 1.6, 1.2],
        }
    )
    colours = group_colors(ARMS)
    ax = plot_forest(table, label="label", palette=colours)
    # rows are drawn bottom-up: the table's last row first
    drawn = [to_hex(c) for c in ax.collections[0].get_colors()]
    assert drawn == ["#000000", to_hex(colours["MP+CYC"]), to_hex(colours["Rituximab"])]
    with pytest.raises(ArgumentError, match="not a column"):
        plot_forest(table, palette=colours, group="arm")


def test_a_narrower_time_axis_does_not_widen_the_shown_figure(frame) -> None:
    km = kaplan_meier(frame, time="time", event="dead", group="arm")
    _, full = figure_png(plot_km(km))
    # the table's counts at times the caller's xlim leaves out are clipped, not drawn far right
    ax = plot_km(km)
    ax.set_xlim(0, 50)
    _, narrowed = figure_png(ax)
    assert narrowed["width"] == pytest.approx(full["width"], abs=40)
    ax = plot_km(km, xlim=(0, 50))
    assert ax.get_xlim() == (0, 50)
    assert max(ax.get_xticks()) <= 50
    assert figure_png(ax)[1]["width"] == pytest.approx(full["width"], abs=40)
