"""Meta-analysis of proportions against metafor 3.8-1 (tests/reference/meta_dah_mortality.json).

Tolerance 1e-6 relative (absolute 1e-9 near zero). REML follows metafor's Fisher scoring step
for step (same start, same stopping rule). GLMM: 1e-4 relative, because lme4 stops its optimiser
at its own tolerance (we see about 1e-5 on tau2 and 3e-6 on mu and its SE).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dah_outcomes import ArgumentError
from dah_outcomes.stats.meta import meta_proportions, meta_regression
from dah_outcomes.testing import assert_close

REF = json.loads((Path(__file__).parents[1] / "reference" / "meta_dah_mortality.json").read_text())
EVENTS, TOTALS = np.array(REF["events"]), np.array(REF["total"])
YEARS = np.array([np.nan if y == "NA" else float(y) for y in REF["year"]])


close = assert_close


@pytest.mark.parametrize("key", ["PLO_DL", "PLO_REML", "PFT_DL", "PFT_REML"])
def test_pooled_matches_metafor(key: str) -> None:
    ref = REF[key]
    meas, method = key.split("_")
    r = meta_proportions(
        EVENTS, TOTALS, method=method, transform="logit" if meas == "PLO" else "freeman-tukey"
    )
    close(r.studies["yi"], ref["yi"])
    close(r.studies["vi"], ref["vi"])
    close(
        [r.tau2, r.mu, r.mu_se, r.q, r.q_p, r.i2],
        [ref["tau2"], ref["mu"], ref["mu_se"], ref["q"], ref["q_p"], ref["i2"]],
    )
    close(
        [r.pooled, r.ci_lower, r.ci_upper, r.pi_lower, r.pi_upper],
        [ref["pooled"], *ref["ci"], *ref["pi"]],
    )
    assert r.k == ref["k"]


@pytest.mark.parametrize(
    ("key", "early"), [("PLO_DL_before_2005", True), ("PLO_DL_from_2005", False)]
)
def test_subgroups_by_era(key: str, early: bool) -> None:
    known = ~np.isnan(YEARS)
    sub = known & ((YEARS < 2005) if early else (YEARS >= 2005))
    r = meta_proportions(EVENTS[sub], TOTALS[sub], method="DL")
    ref = REF[key]
    close(
        [r.pooled, *[r.ci_lower, r.ci_upper], r.tau2, r.q],
        [ref["pooled"], *ref["ci"], ref["tau2"], ref["q"]],
    )


def test_subgroups_function_matches_the_era_split() -> None:
    from dah_outcomes.stats.meta import meta_subgroups

    known = ~np.isnan(YEARS)
    era = np.where(YEARS[known] < 2005, "before 2005", "from 2005")
    results, test = meta_subgroups(EVENTS[known], TOTALS[known], era, method="DL")
    close([results["before 2005"].pooled], [REF["PLO_DL_before_2005"]["pooled"]])
    close([results["from 2005"].pooled], [REF["PLO_DL_from_2005"]["pooled"]])
    assert test["df"] == 1
    assert 0 < test["p_value"] < 1


def test_metaregression_on_year() -> None:
    known = ~np.isnan(YEARS)
    r = meta_regression(EVENTS[known], TOTALS[known], YEARS[known] - 2000)
    ref = REF["PLO_REML_metaregression_year"]
    close(r.coef, ref["coef"], rtol=1e-5)
    close(r.se, ref["se"], rtol=1e-5)
    close([r.tau2, r.qm, r.qm_p], [ref["tau2"], ref["qm"], ref["qm_p"]], rtol=1e-5)


def test_arguments() -> None:
    with pytest.raises(ArgumentError, match="transform"):
        meta_proportions([1, 2], [3, 4], transform="arcsine")
    with pytest.raises(ArgumentError, match="events <= total"):
        meta_proportions([5, 2], [3, 4])
    with pytest.raises(ArgumentError, match="method"):
        meta_proportions([1, 2], [3, 4], method="ML")
    with pytest.raises(ArgumentError, match="logit"):
        meta_proportions([1, 2], [3, 4], method="GLMM", transform="freeman-tukey")


def test_glmm_matches_metafor() -> None:
    ref = REF["PLO_GLMM"]
    r = meta_proportions(EVENTS, TOTALS, method="GLMM")
    close(
        [r.mu, r.tau2, r.mu_se, r.pooled, r.ci_lower, r.ci_upper],
        [ref["mu"], ref["tau2"], ref["mu_se"], ref["pooled"], *ref["ci"]],
        rtol=1e-4,
    )


def test_meta_figures() -> None:
    from dah_outcomes.plotting.meta import plot_funnel, plot_meta_forest

    r = meta_proportions(EVENTS, TOTALS, method="REML", labels=REF["study_id"])
    ax = plot_meta_forest(r)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[: len(EVENTS)] == REF["study_id"]
    assert "prediction interval" in labels
    assert len(ax.patches) == 1  # the pooled diamond
    funnel = plot_funnel(r)
    assert len(funnel.lines[0].get_xdata()) == len(EVENTS)


KNHA = json.loads((Path(__file__).parents[1] / "reference" / "meta_knha.json").read_text())


def _moderator(values: list) -> np.ndarray:
    return np.array([np.nan if v in (None, "NA") else v for v in values], dtype=float)


@pytest.mark.parametrize(
    "ref",
    KNHA["pooled"],
    ids=[
        f"{r['dataset']}-{r['transform']}-{r['method']}-{r['test']}-{r['pi_method']}"
        for r in KNHA["pooled"]
    ],
)
def test_tests_and_prediction_intervals_match_metafor(ref: dict) -> None:
    data = KNHA["datasets"][ref["dataset"]]
    r = meta_proportions(
        data["events"],
        data["totals"],
        transform=ref["transform"],
        method=ref["method"],
        test=ref["test"],
        pi_method=ref["pi_method"],
    )
    assert r.mu_se == pytest.approx(ref["mu_se"], abs=1e-9)
    got = [r.pooled, r.ci_lower, r.ci_upper, r.pi_lower, r.pi_upper]
    want = [ref["pooled"], *ref["ci"], *ref["pi"]]
    assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize(
    "ref", KNHA["regression"], ids=[f"{r['dataset']}-{r['test']}" for r in KNHA["regression"]]
)
def test_meta_regression_tests_match_metafor(ref: dict) -> None:
    data = KNHA["datasets"][ref["dataset"]]
    mod = _moderator(data["moderator"])
    ok = ~np.isnan(mod)
    r = meta_regression(
        np.array(data["events"])[ok], np.array(data["totals"])[ok], mod[ok], test=ref["test"]
    )
    # REML stops where metafor's scoring stops (threshold 1e-5 on tau2): agreement to 1e-7
    np.testing.assert_allclose(r.coef, ref["coef"], atol=1e-7)
    np.testing.assert_allclose(r.se, ref["se"], atol=1e-7)
    np.testing.assert_allclose(r.p_value, ref["p"], atol=1e-9)
    np.testing.assert_allclose(r.ci_lower, ref["ci_lower"], atol=1e-7)
    np.testing.assert_allclose(r.ci_upper, ref["ci_upper"], atol=1e-7)
    assert r.qm == pytest.approx(ref["qm"], abs=1e-8)
    assert r.qm_p == pytest.approx(ref["qm_p"], abs=1e-9)


def test_knha_widens_the_interval_with_few_studies() -> None:
    data = KNHA["datasets"]["dah_ventilation"]
    z = meta_proportions(data["events"], data["totals"], test="z")
    knha = meta_proportions(data["events"], data["totals"], test="knha", pi_method="riley")
    assert knha.df == len(data["events"]) - 1
    assert z.df is None
    assert knha.pi_upper - knha.pi_lower > z.pi_upper - z.pi_lower


def test_knha_needs_an_inverse_variance_fit() -> None:
    with pytest.raises(ArgumentError, match="GLMM"):
        meta_proportions([3, 4, 5], [10, 10, 10], method="GLMM", test="knha")
    with pytest.raises(ArgumentError, match="pi_method"):
        meta_proportions([3, 4, 5], [10, 10, 10], pi_method="higgins")
