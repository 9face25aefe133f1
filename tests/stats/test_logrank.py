"""Log-rank and Fleming-Harrington tests against R's ``survdiff`` (survival 3.5-3,
``tests/reference/make_reference.R``) on lung and veteran, to 1e-6 relative; the gamma
exponent (not in survdiff) against lifelines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.stats.logrank import (
    LogRankResult,
    logrank_from_counts,
    logrank_from_km,
    logrank_test,
    pairwise_logrank,
)
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.testing import assert_close, expect_dropped_rows

REF = Path(__file__).parents[1] / "reference"
DATA = {n: pd.read_csv(REF / f"{n}.csv") for n in ("lung", "veteran")}
JSON = {n: json.loads((REF / f"{n}.json").read_text()) for n in ("lung", "veteran")}
# R's factor level order of veteran$celltype (survdiff reports groups in that order), read
# from the survfit block of the same JSON
R_LEVELS = {("veteran", "celltype"): list(JSON["veteran"]["kaplan_meier"][1]["groups"])}
CASES = [(n, i) for n in DATA for i in range(len(JSON[n]["logrank"]))]


close = assert_close


def check(r: LogRankResult, name: str, ref: dict) -> None:
    close(r.statistic, ref["chisq"])
    assert r.df == ref["df"]
    close(r.p_value, ref["p"])
    frame = r.to_frame().set_index("group")
    order = R_LEVELS.get((name, ref["group_by"]))
    if order is not None:
        frame = frame.loc[order]
    close(frame["observed"], ref["observed"])
    close(frame["expected"], ref["expected"])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_logrank_matches_survdiff(name: str, index: int) -> None:
    ref = JSON[name]["logrank"][index]
    used = ["time", "event", ref["group_by"], *([ref["strata"]] if ref["strata"] else [])]
    with expect_dropped_rows(DATA[name], used):
        r = logrank_test(
            DATA[name],
            time="time",
            event="event",
            group=ref["group_by"],
            strata=ref["strata"],
            rho=ref["rho"],
            min_arm_size=1,  # lung's ph.ecog has an arm of 1 (the warning: test_exact_logrank)
        )
    check(r, name, ref)
    assert r.stratified == (ref["strata"] is not None)
    assert ("Fleming-Harrington" in r.method) == bool(ref["rho"])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_non_integer_times_and_counts_match_survdiff(name: str, index: int) -> None:
    # time + 0.5 leaves the whole-number path (value sort instead of bincount); the counts
    # path takes a (group, stratum, time) aggregate. Both must give R's numbers.
    ref = JSON[name]["logrank"][index]
    df = DATA[name].dropna(subset=[c for c in (ref["group_by"], ref["strata"]) if c])
    shifted = logrank_test(
        df.assign(time=df["time"] + 0.5),
        time="time",
        event="event",
        group=ref["group_by"],
        strata=ref["strata"],
        rho=ref["rho"],
        min_arm_size=1,
    )
    check(shifted, name, ref)
    keys = [c for c in (ref["group_by"], ref["strata"]) if c] + ["time"]
    counts = (
        df.assign(censored=1 - df["event"])
        .groupby(keys, as_index=False)[["event", "censored"]]
        .sum()
    )
    from_counts = logrank_from_counts(
        counts, events="event", group=ref["group_by"], strata=ref["strata"], rho=ref["rho"]
    )
    check(from_counts, name, ref)


@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")
@pytest.mark.parametrize(
    ("name", "index"), [c for c in CASES if JSON[c[0]]["logrank"][c[1]]["strata"] is None]
)
def test_test_from_fitted_curves_matches_survdiff(name: str, index: int) -> None:
    ref = JSON[name]["logrank"][index]
    with expect_dropped_rows(DATA[name], ["time", "event", ref["group_by"]]):
        km = kaplan_meier(DATA[name], time="time", event="event", group=ref["group_by"])
    test = logrank_from_km(km, rho=ref["rho"])
    check(test, name, ref)
    assert test.n_dropped == km.n_dropped


def test_test_from_curves_refuses_delayed_entry() -> None:
    lung = DATA["lung"]
    km = kaplan_meier(
        lung.assign(entry=lung["time"] * 0.5),
        time="time",
        event="event",
        group="sex",
        entry="entry",
    )
    with pytest.raises(ArgumentError, match="delayed entry"):
        logrank_from_km(km)
    with pytest.raises(ArgumentError, match="at least 2"):
        logrank_from_km(kaplan_meier(lung, time="time", event="event"))


@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")
def test_gamma_matches_lifelines() -> None:
    from lifelines.statistics import logrank_test as ll_logrank

    lung = DATA["lung"]
    a, b = lung[lung["sex"] == 1], lung[lung["sex"] == 2]
    for rho, gamma in ((0, 1), (1, 1), (0.5, 2)):
        ours = logrank_test(lung, time="time", event="event", group="sex", rho=rho, gamma=gamma)
        theirs = ll_logrank(
            a["time"],
            b["time"],
            a["event"],
            b["event"],
            weightings="fleming-harrington",
            p=rho,
            q=gamma,
        )
        close(ours.statistic, theirs.test_statistic)
        close(ours.p_value, theirs.p_value)


def test_pairwise_holm_and_bonferroni() -> None:
    vet = DATA["veteran"]
    out = pairwise_logrank(vet, time="time", event="event", group="celltype")
    assert len(out) == 6
    assert set(out["adjust"]) == {"holm"}
    # each row equals the two-group test on that pair's rows
    row = out[(out["group_a"] == "adeno") & (out["group_b"] == "large")].iloc[0]
    pair = logrank_test(
        vet[vet["celltype"].isin(["adeno", "large"])], time="time", event="event", group="celltype"
    )
    close(row["statistic"], pair.statistic)
    # Holm (R's p.adjust): sorted p times (m, m-1, ...), made monotone, capped at 1
    p = np.sort(out["p_value"].to_numpy())
    holm = np.minimum(np.maximum.accumulate(p * np.arange(6, 0, -1)), 1)
    close(np.sort(out["p_adjusted"].to_numpy()), holm)
    bonf = pairwise_logrank(vet, time="time", event="event", group="celltype", adjust="bonferroni")
    close(bonf["p_adjusted"], np.minimum(bonf["p_value"] * 6, 1))
    strat = pairwise_logrank(vet, time="time", event="event", group="trt", strata="celltype")
    ref = JSON["veteran"]["logrank"][2]  # trt stratified by celltype: one pair
    close(strat["statistic"], [ref["chisq"]])


def test_result_views() -> None:
    with expect_dropped_rows(DATA["lung"], ["time", "event", "ph.ecog"]):
        r = logrank_test(DATA["lung"], time="time", event="event", group="ph.ecog", min_arm_size=1)
    assert r.n_dropped == 1
    frame = r.to_frame()
    assert list(frame["n"]) == [63, 113, 50, 1]
    close(frame["observed"].sum(), frame["expected"].sum())  # sum(O) = sum(E)
    close(r.variance.sum(axis=1), np.zeros(4))  # rows of the variance sum to 0
    json.dumps(r.to_dict())
    assert "log-rank" in str(r.to_dict()["method"])


def test_bad_arguments() -> None:
    lung = DATA["lung"]
    with pytest.raises(ArgumentError, match="at least 2"):
        logrank_test(lung.assign(g=1), time="time", event="event", group="g")
    with pytest.raises(ArgumentError, match="rho"):
        logrank_test(lung, time="time", event="event", group="sex", rho=-1)
    with pytest.raises(ArgumentError, match="adjust"):
        pairwise_logrank(lung, time="time", event="event", group="sex", adjust="fdr")
    # group b leaves before the first event: never at risk, nothing to compare
    never_at_risk = pd.DataFrame({"t": [1.0, 2.0, 0.5], "e": [1, 1, 0], "g": ["a", "a", "b"]})
    with pytest.raises(EstimationError, match="at least 2"):
        logrank_test(never_at_risk, time="t", event="e", group="g")


def test_group_never_at_risk_is_left_out_as_survdiff_does() -> None:
    # survdiff drops groups with zero expected events and lowers df (survdiff.R: df <- exp > 0)
    lung = DATA["lung"]
    extra = pd.DataFrame({"time": [1.0, 2.0], "event": [0, 0], "sex": [3, 3]})
    with_extra = logrank_test(
        pd.concat([lung, extra]), time="time", event="event", group="sex", min_arm_size=1
    )
    ref = JSON["lung"]["logrank"][0]
    assert with_extra.df == 1
    close(with_extra.statistic, ref["chisq"])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(0, 30).map(float), st.floats(0, 30, allow_nan=False)),
            st.integers(0, 1),
            st.sampled_from("abc"),
        ),
        min_size=4,
        max_size=60,
    ),
    st.sampled_from([0.0, 1.0]),
)
def test_invariant_to_row_order_and_labels(rows, rho) -> None:
    df = pd.DataFrame(rows, columns=["t", "e", "g"])
    if df["g"].nunique() < 2:
        return
    try:
        r = logrank_test(df, time="t", event="e", group="g", rho=rho, min_arm_size=1)
    except EstimationError:
        return
    shuffled = logrank_test(
        df.sample(frac=1, random_state=3), time="t", event="e", group="g", rho=rho, min_arm_size=1
    )
    renamed = logrank_test(
        df.assign(g=df["g"].map({"a": "z", "b": "y", "c": "x"})),
        time="t",
        event="e",
        group="g",
        rho=rho,
        min_arm_size=1,
    )
    np.testing.assert_allclose(shuffled.statistic, r.statistic, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(renamed.statistic, r.statistic, rtol=1e-7, atol=1e-9)
    assert r.statistic >= -1e-9
    assert 0 <= r.p_value <= 1
