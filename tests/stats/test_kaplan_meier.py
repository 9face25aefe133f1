"""Kaplan-Meier against R (survival 3.5-3, ``tests/reference/make_reference.R``) on lung and
veteran, plus the invariants any survival curve must satisfy.

Tolerance 1e-6 relative (1e-9 absolute for values near zero): the estimator is the same
arithmetic as R's; differences are floating-point only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats.nonparametric import (
    KaplanMeierResult,
    RMSTDifference,
    kaplan_meier,
    kaplan_meier_from_counts,
    risk_tables_by_group,
)
from dah_outcomes.stats.risk_sets import risk_table
from dah_outcomes.testing import assert_close

REF = Path(__file__).parents[1] / "reference"
DATA = {n: pd.read_csv(REF / f"{n}.csv") for n in ("lung", "veteran")}
JSON = {n: json.loads((REF / f"{n}.json").read_text()) for n in ("lung", "veteran")}


close = assert_close


KM_CASES = [
    (name, i, ct)
    for name in DATA
    for i in range(len(JSON[name]["kaplan_meier"]))
    for ct in ("log", "log-log", "plain")
]


@pytest.mark.parametrize(("name", "block", "conf_type"), KM_CASES)
def test_kaplan_meier_matches_survfit(name: str, block: int, conf_type: str) -> None:
    ref = JSON[name]["kaplan_meier"][block]
    km = kaplan_meier(
        DATA[name], time="time", event="event", group=ref["group_by"], conf_type=conf_type
    )
    medians = km.median().set_index("group")
    rmst = km.rmst(365).set_index("group")
    assert sorted(km.groups) == sorted(ref["groups"])
    for label, g in ref["groups"].items():
        c = km.curve(None if ref["group_by"] is None else label)
        close(c.time, g["time"])
        close(c.n_risk, g["n_risk"])
        close(c.n_event, g["n_event"])
        close(c.n_censor, g["n_censor"])
        close(c.survival, g["survival"])
        close(c.std_err, g["std_err_cumhaz"])
        close(c.lower, g["ci"][conf_type]["lower"])
        close(c.upper, g["ci"][conf_type]["upper"])
        close(medians.loc[c.group, "time"], g["median"])
        close(medians.loc[c.group, ["ci_lower", "ci_upper"]], g["median_ci"][conf_type])
        close(rmst.loc[c.group, ["rmst", "se"]], [g["rmst_365"], g["rmst_365_se"]])


@pytest.mark.parametrize(("name", "block", "conf_type"), KM_CASES)
def test_non_integer_times_take_the_sort_path_and_still_match_survfit(
    name: str, block: int, conf_type: str
) -> None:
    # Shifting every time by 0.5 keeps order and ties but leaves the whole-number (bincount)
    # path, so this checks the value-sort path against the same R numbers.
    ref = JSON[name]["kaplan_meier"][block]
    df = DATA[name].assign(time=DATA[name]["time"] + 0.5)
    km = kaplan_meier(df, time="time", event="event", group=ref["group_by"], conf_type=conf_type)
    for label, g in ref["groups"].items():
        c = km.curve(None if ref["group_by"] is None else label)
        close(c.time - 0.5, g["time"])
        close(c.n_risk, g["n_risk"])
        close(c.survival, g["survival"])
        close(c.std_err, g["std_err_cumhaz"])
        close(c.lower, g["ci"][conf_type]["lower"])
        close(c.upper, g["ci"][conf_type]["upper"])


def test_categorical_groups_keep_level_order() -> None:
    vet = DATA["veteran"]
    levels = list(JSON["veteran"]["kaplan_meier"][1]["groups"])  # R's factor level order
    km = kaplan_meier(
        vet.assign(celltype=pd.Categorical(vet["celltype"], levels)),
        time="time",
        event="event",
        group="celltype",
    )
    assert km.groups == levels
    plain = kaplan_meier(vet, time="time", event="event", group="celltype")
    assert plain.groups == sorted(levels)
    for g in levels:
        np.testing.assert_array_equal(km.curve(g).survival, plain.curve(g).survival)


def test_aggregated_counts_equal_rows() -> None:
    lung = DATA["lung"]
    counts = (
        lung.assign(censored=1 - lung["event"])
        .groupby(["sex", "time"], as_index=False)[["event", "censored"]]
        .sum()
    )
    a = kaplan_meier(lung, time="time", event="event", group="sex", conf_type="log-log")
    b = kaplan_meier_from_counts(
        counts, time="time", events="event", censored="censored", group="sex", conf_type="log-log"
    )
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    # the same (group, time) split over several rows is added up
    doubled = pd.concat(
        [counts.assign(event=0, censored=counts["censored"]), counts.assign(censored=0)]
    )
    c = kaplan_meier_from_counts(
        doubled, time="time", events="event", censored="censored", group="sex", conf_type="log-log"
    )
    pd.testing.assert_frame_equal(a.to_frame(), c.to_frame())


def test_landmarks() -> None:
    km = kaplan_meier(DATA["lung"], time="time", event="event", group="sex")
    land = km.survival_at([0, 30, 90, 365, 5000])
    c = km.curve("1")
    for t in (30, 90, 365):
        row = land[(land["group"] == "1") & (land["time"] == t)].iloc[0]
        j = np.searchsorted(c.time, t, side="right") - 1
        assert row["survival"] == c.survival[j]
        assert (row["ci_lower"], row["ci_upper"]) == (c.lower[j], c.upper[j])
        assert row["n_risk"] == c.n_risk[np.searchsorted(c.time, t)]
    at0 = land[land["time"] == 0]
    assert (at0["survival"] == 1).all()
    assert land[land["time"] == 5000]["survival"].isna().all()  # not extrapolated


def test_rmst_difference_by_groups_and_by_results() -> None:
    lung = DATA["lung"]
    km = kaplan_meier(lung, time="time", event="event", group="sex")
    r = km.rmst(365).set_index("group")
    diff = km.rmst_difference(("2", "1"), 365)
    assert isinstance(diff, RMSTDifference)
    assert diff.difference == pytest.approx(r.loc["2", "rmst"] - r.loc["1", "rmst"])
    assert diff.se_difference == pytest.approx(np.hypot(r.loc["2", "se"], r.loc["1", "se"]))
    assert diff.ci_lower < diff.difference < diff.ci_upper
    assert diff.ci_upper - diff.difference == pytest.approx(1.959963984540054 * diff.se_difference)
    assert 0 < diff.p_value < 0.05
    women = kaplan_meier(lung[lung["sex"] == 2], time="time", event="event")
    men = kaplan_meier(lung[lung["sex"] == 1], time="time", event="event")
    other = women.rmst_difference(men, 365)
    assert other.difference == pytest.approx(diff.difference)
    assert other.p_value == pytest.approx(diff.p_value)
    assert other.to_frame().shape == (1, 12)
    with pytest.raises(ArgumentError, match="pair of group labels"):
        km.rmst_difference("2", 365)
    with pytest.raises(ArgumentError, match="horizon"):
        km.rmst(-1)


def test_quantile_rules_on_small_curves() -> None:
    # R's quantile.survfit: a flat stretch exactly at 1 - p gives its midpoint; a curve that
    # ends flat at 1 - p gives the midpoint of the last drop and the last time.
    flat = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 1, 1]})  # S = .75, .5, .25, 0
    assert kaplan_meier(flat, time="t", event="e").median()["time"].iloc[0] == 2.5
    end = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 0]})  # S = .75, .5, .5, .5
    assert kaplan_meier(end, time="t", event="e").median()["time"].iloc[0] == 3.0
    never = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 0, 0, 0]})
    assert np.isnan(kaplan_meier(never, time="t", event="e").median()["time"].iloc[0])
    q = kaplan_meier(flat, time="t", event="e").quantile(0.25)
    assert q["time"].iloc[0] == 1.5
    assert kaplan_meier(flat, time="t", event="e").quantile(0.0)["time"].iloc[0] == 0.0


def test_delayed_entry_and_weights() -> None:
    lung = DATA["lung"].assign(w=2.0, entry=0.0)
    plain = kaplan_meier(lung, time="time", event="event")
    doubled = kaplan_meier(lung, time="time", event="event", weights="w")
    np.testing.assert_allclose(doubled.curve().survival, plain.curve().survival)
    np.testing.assert_allclose(doubled.curve().n_risk, 2 * plain.curve().n_risk)
    zero_entry = kaplan_meier(lung, time="time", event="event", entry="entry")
    pd.testing.assert_frame_equal(zero_entry.to_frame(), plain.to_frame())
    late = kaplan_meier(
        lung.assign(entry=lung["time"] * 0.5), time="time", event="event", entry="entry"
    )
    assert (late.curve().n_risk <= plain.curve().n_risk).all()


def test_result_views() -> None:
    km = kaplan_meier(
        DATA["veteran"],
        time="time",
        event="event",
        group="trt",
        conf_type="log-log",
        conf_level=0.9,
    )
    frame = km.to_frame()
    assert set(frame["conf_type"]) == {"log-log"}
    assert set(frame["conf_level"]) == {0.9}
    assert list(frame.columns[:9]) == [
        "group",
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "survival",
        "std_err",
        "ci_lower",
        "ci_upper",
    ]
    d = km.to_dict()
    json.dumps(d)
    assert d["conf_type"] == "log-log"
    assert "Kaplan-Meier" in d["method"]
    # the text view is R's print: the heading, then n, events and median per group
    text = str(km).splitlines()
    assert text[0].startswith("Kaplan-Meier")
    assert "90% CI (log-log transform)" in text[0]
    assert len(text) == 2 + len(km.groups)
    before = DATA["veteran"].copy()
    kaplan_meier(DATA["veteran"], time="time", event="event", group="trt")
    pd.testing.assert_frame_equal(before, DATA["veteran"])  # input untouched


def test_bad_arguments() -> None:
    lung = DATA["lung"]
    with pytest.raises(ArgumentError, match="conf_type"):
        kaplan_meier(lung, time="time", event="event", conf_type="arcsine")
    with pytest.raises(ArgumentError, match="conf_level"):
        kaplan_meier(lung, time="time", event="event", conf_level=95)
    with pytest.raises(ArgumentError, match="event"):
        kaplan_meier(lung.assign(event=2), time="time", event="event")
    with pytest.raises(ArgumentError, match="not found"):
        kaplan_meier(lung, time="time", event="event", group="arm")
    with pytest.raises(ArgumentError, match="no group"):
        kaplan_meier(lung, time="time", event="event", group="sex").curve("3")
    with pytest.raises(ArgumentError, match="p must be"):
        kaplan_meier(lung, time="time", event="event").quantile(1.5)


times = st.one_of(
    st.integers(0, 40).map(float),
    st.sampled_from([0.0, 0.5, 1.25, 3.0, 7.75, 1e-9]),
    st.floats(0, 100, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            times, st.integers(0, 1), st.sampled_from("abc"), st.sampled_from([1.0, 0.5, 2.0])
        ),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
)
def test_grouped_counts_equal_risk_table(rows, weighted) -> None:
    # every fast path (bincount of whole numbers, value sort) gives what risk_table gives
    df = pd.DataFrame(rows, columns=["t", "e", "g", "w"])
    codes, labels = pd.factorize(df["g"], sort=True)
    t, e = df["t"].to_numpy(), df["e"].to_numpy()
    w = df["w"].to_numpy() if weighted else None
    tables = risk_tables_by_group(t, e, codes, len(labels), weights=w)
    for g, rt in enumerate(tables):
        m = codes == g
        ref = risk_table(t[m], e[m], weights=None if w is None else w[m])
        np.testing.assert_array_equal(rt.time, ref.time)
        np.testing.assert_allclose(rt.n_risk, ref.n_risk)
        np.testing.assert_allclose(rt.n_event, ref.n_event)
        np.testing.assert_allclose(rt.n_censor, ref.n_censor)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(times, st.integers(0, 1), st.sampled_from("abc")), min_size=2, max_size=60),
    st.sampled_from(["log", "log-log", "plain"]),
)
def test_invariants(rows, conf_type) -> None:
    df = pd.DataFrame(rows, columns=["t", "e", "g"])
    km = kaplan_meier(df, time="t", event="e", group="g", conf_type=conf_type)
    wide = kaplan_meier(df, time="t", event="e", group="g", conf_type=conf_type, conf_level=0.99)
    for c, cw in zip(km.curves, wide.curves, strict=True):
        assert ((c.survival >= 0) & (c.survival <= 1)).all()
        assert (np.diff(c.survival) <= 1e-12).all()
        ok = ~np.isnan(c.lower)
        assert (c.lower[ok] <= c.survival[ok] + 1e-12).all()
        assert (c.upper[ok] >= c.survival[ok] - 1e-12).all()
        assert (cw.lower[ok] <= c.lower[ok] + 1e-12).all()  # wider at a higher level
        assert (cw.upper[ok] >= c.upper[ok] - 1e-12).all()
    shuffled = kaplan_meier(
        df.sample(frac=1, random_state=1), time="t", event="e", group="g", conf_type=conf_type
    )
    pd.testing.assert_frame_equal(km.to_frame(), shuffled.to_frame())
    mapping = {"a": "z", "b": "y", "c": "x"}
    renamed = kaplan_meier(
        df.assign(g=df["g"].map(mapping)), time="t", event="e", group="g", conf_type=conf_type
    )
    a, b = km.to_frame(), renamed.to_frame()
    for g in km.groups:
        pd.testing.assert_frame_equal(
            a[a["group"] == g].drop(columns="group").reset_index(drop=True),
            b[b["group"] == mapping[g]].drop(columns="group").reset_index(drop=True),
        )
    assert isinstance(km, KaplanMeierResult)
