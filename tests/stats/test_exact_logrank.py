"""Exact and permutation log-rank tests against R's ``coin::logrank_test`` (coin 1.4-2,
``tests/reference/make_exact_logrank_reference.R``): the statistic and the 2-group exact
p-value to 1e-10 on small series with tied days (log-rank and Fleming-Harrington weights);
k-group exact p-values (which coin does not compute) against coin's Monte Carlo p-value
within 4 standard errors and against a brute-force listing of every assignment; and the
small-arm warning of the asymptotic test, tested to fire and not to fire.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning
from dah_outcomes.stats.logrank import logrank_test
from dah_outcomes.stats.permutation import logrank_scores, quadratic_statistic

REF = json.loads((Path(__file__).parents[1] / "reference" / "exact_logrank.json").read_text())
CASES = REF["cases"]


def frame(case: dict) -> pd.DataFrame:
    return pd.DataFrame({"t": case["time"], "e": case["event"], "g": case["group"]})


def run(case: dict, **kw) -> object:
    return logrank_test(
        frame(case), time="t", event="e", group="g", rho=case["rho"], gamma=case["gamma"], **kw
    )


@pytest.mark.parametrize("case", [c for c in CASES if len(set(c["group"])) == 2])
def test_two_group_exact_matches_coin(case: dict) -> None:
    r = run(case, method="exact")
    assert abs(r.statistic - case["statistic"] ** 2) < 1e-10
    assert abs(r.p_value - case["exact_p"]) < 1e-10
    assert r.distribution == "exact"
    assert r.df == 1


@pytest.mark.parametrize("case", [c for c in CASES if len(set(c["group"])) > 2])
def test_k_group_statistic_and_exact_p_match_coin(case: dict) -> None:
    r = run(case, method="exact")
    assert abs(r.statistic - case["statistic"]) < 1e-10
    p_mc = case["approximate_p"]
    se = np.sqrt(r.p_value * (1 - r.p_value) / case["nresample"])
    assert abs(r.p_value - p_mc) < 4 * se


def brute_force_p(case: dict) -> float:
    """Every distinct assignment of the labels, one at a time (the definition, no shortcut)."""
    t = np.asarray(case["time"], float)
    e = np.asarray(case["event"], float)
    labels, codes = np.unique(case["group"], return_inverse=True)
    k = len(labels)
    a = logrank_scores(t, e, case["rho"], case["gamma"])
    observed = quadratic_statistic(a, codes, k)
    n = len(codes)
    sizes = np.bincount(codes).tolist()

    def assignments(free: tuple, g: int):  # every labelling of the free positions
        if g == k - 1:
            yield {i: g for i in free}
            return
        for chosen in itertools.combinations(free, sizes[g]):
            rest = tuple(i for i in free if i not in chosen)
            for tail in assignments(rest, g + 1):
                yield {**dict.fromkeys(chosen, g), **tail}

    hits = total = 0
    for lab in assignments(tuple(range(n)), 0):
        total += 1
        perm = np.array([lab[i] for i in range(n)])
        hits += quadratic_statistic(a, perm, k) >= observed - 1e-9
    return hits / total


@pytest.mark.parametrize("index", [0, 2, 6])
def test_exact_p_equals_listing_every_assignment(index: int) -> None:
    case = CASES[index]
    if len(case["time"]) > 12:
        pytest.fail("brute force listing is only for the small cases")
    assert abs(run(case, method="exact").p_value - brute_force_p(case)) < 1e-12


@pytest.mark.parametrize("case", CASES[5:8])
def test_permutation_p_is_seeded_and_near_exact(case: dict) -> None:
    exact = run(case, method="exact").p_value
    a = run(case, method="permutation", seed=7, n_resamples=20_000)
    b = run(case, method="permutation", seed=7, n_resamples=20_000)
    assert a.p_value == b.p_value
    assert a.n_resamples == 20_000
    assert a.to_dict()["distribution"] == "permutation"
    assert abs(a.p_value - exact) < 4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-4


def test_asymptotic_default_is_unchanged() -> None:
    case = CASES[3]  # arms of 10 and 12: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = run(case)
    assert r.distribution == "asymptotic"
    assert r.n_resamples is None


def test_small_arm_warning_fires_on_asymptotic_and_not_on_exact() -> None:
    case = CASES[7]  # arms of 1, 3, 4 and 6 (the 14-patient series)
    with pytest.warns(SmallSampleWarning, match=r"3 arm\(s\) with fewer than 5.*method='exact'"):
        run(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(case, method="exact")
        run(case, min_arm_size=1)
    with pytest.warns(SmallSampleWarning, match="fewer than 7"):
        run(CASES[0], min_arm_size=7)  # arms of 5 and 6


def test_bad_arguments() -> None:
    df = frame(CASES[0]).assign(s=1)
    with pytest.raises(ArgumentError, match="method"):
        logrank_test(df, time="t", event="e", group="g", method="monte-carlo")
    with pytest.raises(ArgumentError, match="not stratified"):
        logrank_test(df, time="t", event="e", group="g", strata="s", method="exact")
    with pytest.raises(ArgumentError, match="n_resamples"):
        logrank_test(df, time="t", event="e", group="g", method="permutation", n_resamples=0)
    rng = np.random.default_rng(0)
    big = pd.DataFrame(
        {"t": rng.integers(1, 50, 60), "e": rng.integers(0, 2, 60), "g": rng.integers(0, 2, 60)}
    )
    with pytest.raises(EstimationError, match="permutation"):
        logrank_test(big, time="t", event="e", group="g", method="exact")
    no_events = df.assign(e=0)
    with pytest.raises(EstimationError):
        logrank_test(no_events, time="t", event="e", group="g", method="exact")
