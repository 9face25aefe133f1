"""Aalen-Johansen estimates against R's multi-state survfit on mgus2 (1e-6 relative)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.stats.competing import cumulative_incidence
from dah_outcomes.stats.nonparametric import kaplan_meier

REF = Path(__file__).parents[1] / "reference"


def test_aalen_johansen_matches_survfit() -> None:
    mgus = pd.read_csv(REF / "mgus2.csv")
    ref = json.loads((REF / "mgus2.json").read_text())["aalen_johansen_overall"]
    r = cumulative_incidence(mgus, time="etime", event="cause").to_frame()
    np.testing.assert_allclose(r["time"], ref["time"])
    np.testing.assert_allclose(r["cif_1"], ref["pcm"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(r["cif_2"], ref["death"], rtol=1e-6, atol=1e-12)


def test_cmprsk_timepoints_by_sex() -> None:
    mgus = pd.read_csv(REF / "mgus2.csv")
    ref = json.loads((REF / "mgus2.json").read_text())["cuminc_by_sex_at"]
    r = cumulative_incidence(mgus, time="etime", event="cause", group="sex")
    times = ref["times"]
    for row_name, values, variances in zip(
        ref["rows"], ref["estimate"], ref["variance"], strict=True
    ):
        sex, cause = row_name.split(" ")
        got = r.at(times, cause=int(cause))
        got = got[got["group"] == sex]
        np.testing.assert_allclose(got["cif"].to_numpy(), values, rtol=1e-6)
        np.testing.assert_allclose(got["variance"].to_numpy(), variances, rtol=1e-6)


def test_single_cause_is_one_minus_km() -> None:
    lung = pd.read_csv(REF / "lung.csv")
    cif = cumulative_incidence(lung, time="time", event="event").to_frame()
    km = kaplan_meier(lung, time="time", event="event").curve()
    np.testing.assert_allclose(cif["cif_1"], 1 - km.survival, atol=1e-12)


def test_gray_test_matches_cmprsk() -> None:
    from dah_outcomes.stats.competing import gray_test

    mgus = pd.read_csv(REF / "mgus2.csv")
    ref = json.loads((REF / "mgus2.json").read_text())["gray_test"]
    for cause, stat, p in zip(ref["causes"], ref["stat"], ref["p"], strict=True):
        r = gray_test(mgus, time="etime", event="cause", group="sex", cause=int(cause))
        np.testing.assert_allclose([r.statistic, r.p_value], [stat, p], rtol=1e-6)
        assert r.df == 1


def test_gray_test_is_invariant_to_row_order() -> None:
    from dah_outcomes.stats.competing import gray_test

    mgus = pd.read_csv(REF / "mgus2.csv")
    a = gray_test(mgus, time="etime", event="cause", group="sex")
    b = gray_test(mgus.sample(frac=1, random_state=2), time="etime", event="cause", group="sex")
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        # cmprsk::cuminc has no cause-1 test here (it tests only the causes that occur)
        ({"t": [1, 2, 3, 4], "e": [2, 2, 0, 0], "g": ["a", "a", "b", "b"]}, "no events of cause"),
        # every event at one time: cuminc prints stat -1, p 1 (a singular variance)
        ({"t": [1, 1, 1, 1], "e": [1, 1, 1, 1], "g": ["a", "a", "b", "b"]}, "singular"),
    ],
)
def test_gray_test_says_why_it_cannot_test(rows: dict, match: str) -> None:
    import warnings

    from dah_outcomes.errors import EstimationError
    from dah_outcomes.stats.competing import gray_test

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy warning leaks either
        with pytest.raises(EstimationError, match=match):
            gray_test(pd.DataFrame(rows), time="t", event="e", group="g", cause=1)
