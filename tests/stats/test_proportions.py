"""Proportion and rate intervals against R (tests/reference/proportions.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dah_outcomes import ArgumentError, proportion_ci, rate_ci
from dah_outcomes.stats.proportions import PROPORTION_METHODS

REF = json.loads((Path(__file__).parents[1] / "reference" / "proportions.json").read_text())
# Agreement with R to 1e-9 (absolute): the formulas are closed-form or exact quantiles.
TOL = 1e-9
R_KEYS = {
    "wilson": "wilson",
    "clopper-pearson": "clopper_pearson",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
    "wilson-cc": "wilson_cc",
}


@pytest.mark.parametrize("case", REF["binomial"], ids=lambda c: f"{c['k']}/{c['n']}")
@pytest.mark.parametrize("method", sorted(R_KEYS))
def test_binomial_interval_matches_r(case: dict, method: str) -> None:
    ci = proportion_ci(case["k"], case["n"], ci_method=method)
    low, high = case[R_KEYS[method]]
    assert ci.estimate == pytest.approx(case["estimate"], abs=TOL)
    assert ci.ci_lower == pytest.approx(low, abs=TOL)
    assert ci.ci_upper == pytest.approx(high, abs=TOL)
    assert ci.method == method
    assert ci.conf_level == 0.95


@pytest.mark.parametrize("case", REF["poisson"], ids=lambda c: f"{c['events']}/{c['person_time']}")
def test_poisson_interval_matches_r(case: dict) -> None:
    r = rate_ci(case["events"], case["person_time"])
    assert r.estimate == pytest.approx(case["rate"], rel=TOL)
    assert r.ci_lower == pytest.approx(case["exact_ci"][0], abs=TOL)
    assert r.ci_upper == pytest.approx(case["exact_ci"][1], rel=TOL)


def test_rate_per_thousand_scales_every_number() -> None:
    base = rate_ci(14, 3200)
    scaled = rate_ci(14, 3200, per=1000)
    for name in ("estimate", "ci_lower", "ci_upper"):
        assert getattr(scaled, name) == pytest.approx(1000 * getattr(base, name))


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((5, 4), {}, "cannot exceed"),
        ((-1, 4), {}, ">= 0"),
        ((1.5, 4), {}, "whole number"),
        ((1, 4), {"ci_method": "wald"}, "ci_method must be one of"),
        ((1, 4), {"conf_level": 95}, "conf_level"),
    ],
)
def test_bad_arguments_get_clear_errors(args: tuple, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ArgumentError, match=fragment):
        proportion_ci(*args, **kwargs)
    # ArgumentError is also a ValueError, so generic callers catch it.
    with pytest.raises(ValueError, match=fragment):
        proportion_ci(*args, **kwargs)


def test_rate_rejects_zero_person_time() -> None:
    with pytest.raises(ArgumentError, match="person_time"):
        rate_ci(1, 0)


@pytest.mark.parametrize("method", sorted(PROPORTION_METHODS))
def test_empty_denominator_is_an_argument_error(method: str) -> None:
    # as R's binom.test(0, 0) and prop.test(0, 0) stop, rather than a NaN interval
    with pytest.raises(ArgumentError, match="total must be positive"):
        proportion_ci(0, 0, ci_method=method)


@given(
    n=st.integers(min_value=1, max_value=5000),
    frac=st.floats(min_value=0, max_value=1),
    method=st.sampled_from(sorted(PROPORTION_METHODS)),
    level=st.floats(min_value=0.5, max_value=0.999),
)
def test_interval_invariants(n: int, frac: float, method: str, level: float) -> None:
    k = round(frac * n)
    ci = proportion_ci(k, n, ci_method=method, conf_level=level)
    assert 0.0 <= ci.ci_lower <= ci.estimate <= ci.ci_upper <= 1.0
    wider = proportion_ci(k, n, ci_method=method, conf_level=min(0.9999, level + 0.0005))
    assert wider.ci_lower <= ci.ci_lower + 1e-12
    assert wider.ci_upper >= ci.ci_upper - 1e-12
    # Symmetry: the interval for n-k is the mirror image.
    mirror = proportion_ci(n - k, n, ci_method=method, conf_level=level)
    assert mirror.ci_lower == pytest.approx(1 - ci.ci_upper, abs=1e-9)


def test_result_views_agree() -> None:
    ci = proportion_ci(8, 14, ci_method="clopper-pearson")
    d = ci.to_dict()
    frame = ci.to_frame()
    assert d["events"] == 8
    assert frame.loc[0, "ci_upper"] == d["ci_upper"]
    assert "Clopper-Pearson" in str(ci)
    assert "<table" in ci._repr_html_()
