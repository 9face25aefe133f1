"""Delayed entry in ``cumulative_incidence`` and strata in ``gray_test``, against R.

Reference: ``tests/reference/make_survival_parity_reference.R`` on seeded competing-risks data
(120 subjects, two causes, 40% entering late, ties): R's multi-state
``survfit(Surv(entry, time, factor(status)) ~ g, id = id)`` estimates and standard errors
(survival 3.5-3), the same without entry, with case weights and with follow-up split into
rows (``id``), and
``cmprsk::cuminc(..., strata =)`` Gray's tests (cmprsk 2.2-11) for 2 and 3 groups, rho 0
and 1.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats.competing import cumulative_incidence, gray_test

REF = Path(__file__).parents[1] / "reference"
DATA = json.loads((REF / "survival_parity.json").read_text())
CR = pd.read_csv(REF / "competing_entry.csv")
SPLIT = pd.read_csv(REF / "competing_split.csv")  # CR's follow-up split at days 10 and 25


def block(label: str) -> dict:
    return next(b for b in DATA["multi_state"] if b["label"] == label)


@pytest.mark.parametrize(
    ("label", "kwargs"),
    [
        ("entry", {"group": "g", "entry": "entry"}),
        ("entry overall", {"entry": "entry"}),
        ("no entry", {"group": "g", "variance": "jackknife"}),
        ("entry weighted", {"group": "g", "entry": "entry", "weights": "w"}),
        ("entry split", {"group": "g", "entry": "entry", "id": "id"}),
    ],
)
def test_matches_multi_state_survfit(label: str, kwargs: dict) -> None:
    ref = block(label)
    assert ref["states"] == ["(s0)", "1", "2"]
    data = SPLIT if "id" in kwargs else CR
    fit = cumulative_incidence(data, time="time", event="status", **kwargs)
    assert fit.variance == "jackknife"
    r = fit.to_frame()
    pstate, se = np.array(ref["pstate"]), np.array(ref["std_err"])
    assert list(r["group"]) == ref["group"]
    np.testing.assert_array_equal(r["time"], ref["time"])
    if "weights" not in kwargs:  # multi-state survfit counts n.risk unweighted; ours weighs
        np.testing.assert_array_equal(r["n_risk"], ref["n_risk"])
    np.testing.assert_allclose(r["survival"], pstate[:, 0], rtol=1e-12, atol=1e-14)
    for cause in (1, 2):
        np.testing.assert_allclose(r[f"cif_{cause}"], pstate[:, cause], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.sqrt(r[f"var_{cause}"]), se[:, cause], rtol=1e-12, atol=1e-14)


def test_entry_changes_the_estimate() -> None:
    # the check has teeth: ignoring the late entries moves the curves well past 1e-12
    late = cumulative_incidence(CR, time="time", event="status", group="g", entry="entry")
    naive = cumulative_incidence(CR, time="time", event="status", group="g")
    assert naive.variance == "gray"
    diff = late.to_frame()["cif_1"] - naive.to_frame()["cif_1"]
    assert np.abs(diff).max() > 1e-3


def test_entry_at_zero_is_no_entry() -> None:
    zero = CR.assign(entry=0.0)
    a = cumulative_incidence(zero, time="time", event="status", group="g", entry="entry")
    b = cumulative_incidence(CR, time="time", event="status", group="g", variance="jackknife")
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-14)


def test_split_rows_clustered_by_id() -> None:
    # the estimate of split rows is the one of whole rows; only the SE needs the id
    split = cumulative_incidence(
        SPLIT, time="time", event="status", group="g", entry="entry", id="id"
    ).to_frame()
    whole = cumulative_incidence(
        CR, time="time", event="status", group="g", entry="entry"
    ).to_frame()
    merged = split.merge(whole, on=["group", "time"], suffixes=("", "_whole"))
    np.testing.assert_allclose(merged["cif_1"], merged["cif_1_whole"], rtol=1e-13)
    np.testing.assert_allclose(merged["var_1"], merged["var_1_whole"], rtol=1e-10)
    unclustered = cumulative_incidence(
        SPLIT, time="time", event="status", group="g", entry="entry"
    ).to_frame()
    assert np.abs(unclustered["var_1"] / split["var_1"] - 1).max() > 1e-3


def test_gray_variance_has_no_delayed_entry_form() -> None:
    with pytest.raises(ArgumentError, match="delayed entry"):
        cumulative_incidence(CR, time="time", event="status", entry="entry", variance="gray")
    with pytest.raises(ArgumentError, match="needs variance='jackknife'"):
        cumulative_incidence(CR, time="time", event="status", id="id", variance="gray")
    with pytest.raises(ArgumentError, match="variance"):
        cumulative_incidence(CR, time="time", event="status", variance="greenwood")


def test_jackknife_ci_uses_its_variance() -> None:
    fit = cumulative_incidence(CR, time="time", event="status", group="g", entry="entry")
    ci = fit.confidence_interval(cause=1)
    np.testing.assert_allclose(ci["variance"], fit.to_frame()["var_1"])
    inside = ci["cif"].between(0, 1, inclusive="neither")
    assert (ci.loc[inside, "ci_lower"] < ci.loc[inside, "cif"]).all()


@pytest.mark.parametrize("index", range(4))
def test_gray_test_with_strata_matches_cuminc(index: int) -> None:
    ref = DATA["gray_test"][index]
    for cause, stat, p, df in zip(ref["causes"], ref["stat"], ref["p"], ref["df"], strict=True):
        r = gray_test(
            CR,
            time="time",
            event="status",
            group=ref["group"],
            strata=ref["strata"],
            cause=int(cause),
            rho=ref["rho"],
        )
        np.testing.assert_allclose([r.statistic, r.p_value], [stat, p], rtol=1e-10)
        assert r.df == df


def test_strata_change_the_statistic() -> None:
    pooled = gray_test(CR, time="time", event="status", group="g")
    stratified = gray_test(CR, time="time", event="status", group="g", strata="stratum")
    assert abs(pooled.statistic - stratified.statistic) > 1e-3


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_gray_test_after_pooled_incidence_reaches_one(rho: float) -> None:
    # the pooled cause-1 incidence reaches 1 at t = 4, then group 1's competing event at
    # t = 5: crst's dF / (1 - F-) is 0/0 there (cuminc stops on the NaN); the increment is 0,
    # so the statistic equals the one with that event censored, and no numpy warning leaks
    rows = {"t": [4, 2, 1, 2, 5, 1], "e": [1, 1, 1, 1, 2, 1], "g": [2, 0, 0, 0, 1, 2]}
    censored = {**rows, "e": [1, 1, 1, 1, 0, 1]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        a = gray_test(pd.DataFrame(rows), time="t", event="e", group="g", rho=rho)
        b = gray_test(pd.DataFrame(censored), time="t", event="e", group="g", rho=rho)
    assert np.isfinite(a.statistic)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-14)
