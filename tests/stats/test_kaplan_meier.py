"""Kaplan-Meier and log-rank against R (survival 3.5-3) on lung and veteran.

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

from dah_outcomes import ArgumentError
from dah_outcomes.stats.kaplan_meier import kaplan_meier, kaplan_meier_from_counts
from dah_outcomes.stats.logrank import logrank_test, pairwise_logrank

REF = Path(__file__).parents[1] / "reference"
DATA = {n: pd.read_csv(REF / f"{n}.csv") for n in ("lung", "veteran")}
JSON = {n: json.loads((REF / f"{n}.json").read_text()) for n in ("lung", "veteran")}
# R's factor level order of veteran$celltype (survdiff reports groups in that order)
R_LEVELS = {("veteran", "celltype"): ["squamous", "smallcell", "adeno", "large"]}


def close(ours, theirs) -> None:
    theirs = np.array([np.nan if v is None else v for v in theirs], dtype=float)
    np.testing.assert_allclose(np.asarray(ours, dtype=float), theirs, rtol=1e-6, atol=1e-9)


KM_CASES = [(name, i, ct) for name in DATA for i in range(len(JSON[name]["kaplan_meier"]))
            for ct in ("log", "log-log", "plain")]


@pytest.mark.parametrize(("name", "block", "conf_type"), KM_CASES)
def test_kaplan_meier_matches_survfit(name: str, block: int, conf_type: str) -> None:
    ref = JSON[name]["kaplan_meier"][block]
    km = kaplan_meier(DATA[name], time="time", event="event", group=ref["group_by"],
                      conf_type=conf_type)
    medians = km.median().set_index("group")
    rmst = km.rmst(365).set_index("group")
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
        close([medians.loc[c.group, "time"]], [g["median"]])
        close(medians.loc[c.group, ["ci_lower", "ci_upper"]], g["median_ci"][conf_type])
        close([rmst.loc[c.group, "rmst"], rmst.loc[c.group, "se"]],
              [g["rmst_365"], g["rmst_365_se"]])


@pytest.mark.parametrize(("name", "index"), [(n, i) for n in DATA
                                             for i in range(len(JSON[n]["logrank"]))])
def test_logrank_matches_survdiff(name: str, index: int) -> None:
    ref = JSON[name]["logrank"][index]
    r = logrank_test(DATA[name], time="time", event="event", group=ref["group_by"],
                     strata=ref["strata"], rho=ref["rho"])
    assert r.statistic == pytest.approx(ref["chisq"], rel=1e-6)
    assert r.df == ref["df"]
    assert r.p_value == pytest.approx(ref["p"], rel=1e-6)
    order = R_LEVELS.get((name, ref["group_by"]))
    frame = r.to_frame().set_index("group")
    if order is not None:
        frame = frame.loc[order]
    close(frame["observed"], ref["observed"])
    close(frame["expected"], ref["expected"])


def test_aggregated_counts_equal_rows() -> None:
    lung = DATA["lung"]
    counts = (lung.assign(censored=1 - lung["event"])
              .groupby(["sex", "time"], as_index=False)[["event", "censored"]].sum())
    a = kaplan_meier(lung, time="time", event="event", group="sex")
    b = kaplan_meier_from_counts(counts, time="time", events="event", censored="censored",
                                 group="sex")
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_landmarks_and_rmst_difference() -> None:
    km = kaplan_meier(DATA["lung"], time="time", event="event", group="sex")
    land = km.survival_at([0, 30, 90, 365, 5000])
    row = land[(land["group"] == "1") & (land["time"] == 365)].iloc[0]
    c = km.curve("1")
    j = np.searchsorted(c.time, 365, side="right") - 1
    assert row["survival"] == c.survival[j] and row["ci_lower"] == c.lower[j]
    assert land[land["time"] == 5000]["survival"].isna().all()  # not extrapolated
    diff = km.rmst_difference(365, "2", "1")
    r = km.rmst(365).set_index("group")
    assert diff["difference"] == pytest.approx(r.loc["2", "rmst"] - r.loc["1", "rmst"])
    assert diff["ci_lower"] < diff["difference"] < diff["ci_upper"]
    assert 0 < diff["p_value"] < 0.01


def test_delayed_entry_and_weights() -> None:
    lung = DATA["lung"].assign(w=2.0, entry=0.0)
    plain = kaplan_meier(lung, time="time", event="event")
    doubled = kaplan_meier(lung, time="time", event="event", weights="w")
    np.testing.assert_allclose(doubled.curve().survival, plain.curve().survival)
    late = kaplan_meier(lung.assign(entry=lung["time"] * 0.5), time="time", event="event",
                        entry="entry")
    assert (late.curve().n_risk <= plain.curve().n_risk).all()


def test_pairwise_holm() -> None:
    out = pairwise_logrank(DATA["veteran"], time="time", event="event", group="celltype")
    assert len(out) == 6
    assert (out["p_adjusted"] >= out["p_value"]).all() and (out["p_adjusted"] <= 1).all()
    smallest = out["p_value"].idxmin()
    assert out.loc[smallest, "p_adjusted"] == pytest.approx(6 * out.loc[smallest, "p_value"])


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentError, match="conf_type"):
        kaplan_meier(DATA["lung"], time="time", event="event", conf_type="arcsine")
    with pytest.raises(ArgumentError, match="at least 2"):
        logrank_test(DATA["lung"].assign(g=1), time="time", event="event", group="g")
    with pytest.raises(ArgumentError, match="event"):
        kaplan_meier(DATA["lung"].assign(event=2), time="time", event="event")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 1), st.sampled_from("abc")),
                min_size=2, max_size=60),
       st.sampled_from(["log", "log-log", "plain"]))
def test_invariants(rows, conf_type) -> None:
    df = pd.DataFrame(rows, columns=["t", "e", "g"])
    km = kaplan_meier(df, time="t", event="e", group="g", conf_type=conf_type)
    for c in km.curves:
        assert ((c.survival >= 0) & (c.survival <= 1)).all()
        assert (np.diff(c.survival) <= 1e-12).all()
        ok = ~np.isnan(c.lower)
        assert (c.lower[ok] <= c.survival[ok] + 1e-12).all()
        assert (c.upper[ok] >= c.survival[ok] - 1e-12).all()
    shuffled = kaplan_meier(df.sample(frac=1, random_state=1), time="t", event="e", group="g",
                            conf_type=conf_type)
    pd.testing.assert_frame_equal(km.to_frame(), shuffled.to_frame())
    renamed = kaplan_meier(df.assign(g=df["g"].map({"a": "x", "b": "y", "c": "z"})),
                           time="t", event="e", group="g", conf_type=conf_type)
    np.testing.assert_array_equal(renamed.to_frame()["survival"], km.to_frame()["survival"])
