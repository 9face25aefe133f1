"""Rubin's rules against R's ``mice::pool``, ``mice::pool.scalar`` and ``mice::D1`` (mice
3.15.0, R 4.2.2; ``tests/reference/make_mi_pooling_reference.R``): the same per-imputation
estimates and variances pooled here agree to 1e-10 on estimate, ubar, b, t, df, riv, lambda
and fmi (D1: statistic, df and p-value); our own Cox and Kaplan-Meier fits of mice's completed
datasets, pooled, agree with mice's pooled ``coxph`` and with ``survfit`` + ``pool.scalar``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.stats.pooling import (
    PooledEstimate,
    barnard_rubin_df,
    pool_cox,
    pool_estimates,
    pool_kaplan_meier,
    pool_proportions,
    pool_scalar,
    pool_survival,
    pool_wald_test,
)
from dah_outcomes.testing import assert_close

REF = json.loads((Path(__file__).parents[1] / "reference" / "mi_pooling.json").read_text())
FIELDS = {
    "estimate": "estimate",
    "ubar": "ubar",
    "b": "b",
    "t": "t",
    "df": "df",
    "riv": "riv",
    "lambda": "lambda_",
    "fmi": "fmi",
}
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def per_imputation(model: dict) -> tuple[np.ndarray, np.ndarray]:
    """The (m, p) estimates and variances of a model (R wrote one list per imputation)."""
    return np.array(model["estimates"], dtype=float), np.array(model["variances"], dtype=float)


def assert_matches(pooled: PooledEstimate, ref: dict, **tol: float) -> None:
    for theirs, ours in FIELDS.items():
        if theirs in ref:
            assert_close(getattr(pooled, ours), np.atleast_1d(ref[theirs]), **(tol or TIGHT))


def completed(i: int) -> pd.DataFrame:
    return pd.DataFrame(REF["completed"][i])


@pytest.mark.parametrize("model", ["glm", "lm", "coxph", "proportion"])
def test_pool_matches_mice_pool(model: str) -> None:
    ref = REF[model]
    q, u = per_imputation(ref)
    pooled = pool_estimates(q, u, terms=ref["terms"], dfcom=ref["pooled"]["dfcom"])
    assert pooled.m == REF["m"] == 5
    assert pooled.terms == tuple(np.atleast_1d(ref["terms"]))
    assert_matches(pooled, ref["pooled"])


def test_infinite_dfcom_is_rubins_df() -> None:
    q, u = per_imputation(REF["glm"])
    pooled = pool_estimates(q, u)
    lam = (1 + 1 / 5) * pooled.b / pooled.t
    assert_close(pooled.df, 4 / lam**2, **TIGHT)
    assert np.isinf(pooled.dfcom).all()


def test_proportion_on_logit_scale_matches_intercept_only_glm() -> None:
    ref = REF["proportion"]
    pooled = pool_proportions(ref["events"], ref["total"])
    assert pooled.scale == "logit"
    assert pooled.dfcom[0] == ref["pooled"]["dfcom"] == 199
    assert_matches(pooled, ref["from_counts"])  # pool.scalar(qlogis(p), 1/(n p (1-p)), n, 1)
    # the glm's fits, pooled by mice, agree to the glm's convergence (IRLS stops near 1e-8)
    assert_matches(pooled, ref["pooled"], rtol=1e-6, atol=1e-12)
    assert 0 < pooled.value_ci_lower[0] < pooled.value[0] < pooled.value_ci_upper[0] < 1
    assert pooled.value[0] == pytest.approx(1 / (1 + math.exp(-pooled.estimate[0])), abs=1e-15)


def test_pool_scalar_matches_mice_pool_scalar() -> None:
    ref = REF["mean"]
    pooled = pool_scalar(ref["estimates"], ref["variances"], n=ref["n"], k=ref["k"])
    assert_matches(pooled, {**ref["pooled"], "riv": ref["pooled"]["riv"]})
    assert pooled.dfcom[0] == 199


def test_survival_on_cloglog_scale_matches_pool_scalar() -> None:
    for row in REF["km"]:
        pooled = pool_survival(row["survival"], row["std_err"])
        assert_matches(pooled, row["pooled"])
        assert pooled.value[0] == pytest.approx(math.exp(-math.exp(pooled.estimate[0])))
        # the back-transform reverses the order; the survival bounds are still ordered
        assert pooled.value_ci_lower[0] < pooled.value[0] < pooled.value_ci_upper[0]


def test_our_kaplan_meier_of_completed_data_pooled_as_r() -> None:
    fits = [kaplan_meier(completed(i), time="time", event="status", group="cyc") for i in range(5)]
    pooled = pool_kaplan_meier(fits, REF["km_times"])
    assert pooled.terms[0] == "0, t=90"
    for j, row in enumerate(REF["km"]):
        assert pooled.terms[j] == f"{row['group']}, t={row['time']:g}"
        for theirs, ours in FIELDS.items():
            if theirs in row["pooled"]:
                # survfit and our Kaplan-Meier agree to rounding; pooled on top of them
                assert_close(getattr(pooled, ours)[j], row["pooled"][theirs], **TIGHT)


def test_our_cox_fits_of_completed_data_pooled_as_mice() -> None:
    covariates = ["age", "severe", "hb", "cyc"]
    fits = [
        cox_regression(completed(i), time="time", event="status", covariates=covariates)
        for i in range(5)
    ]
    pooled = pool_cox(fits)
    ref = REF["coxph"]["pooled"]
    assert pooled.dfcom[0] == ref["dfcom"][0]  # events minus coefficients, as mice
    assert_matches(pooled, ref)  # our Cox fits agree with coxph to ~1e-14 here
    assert pooled.scale == "log"
    assert_close(pooled.value, np.exp(pooled.estimate), **TIGHT)


def test_covariance_matrices_give_the_total_covariance() -> None:
    rng = np.random.default_rng(3)
    q = rng.normal(size=(6, 2))
    a = rng.normal(size=(6, 2, 2))
    cov = a @ np.transpose(a, (0, 2, 1)) + np.eye(2)
    pooled = pool_estimates(q, cov, terms=["x", "y"])
    expected = cov.mean(axis=0) + (1 + 1 / 6) * np.cov(q, rowvar=False)
    assert_close(pooled.covariance, expected, **TIGHT)
    assert_close(np.diag(pooled.covariance), pooled.t, **TIGHT)
    by_variance = pool_estimates(q, np.diagonal(cov, axis1=1, axis2=2))
    assert by_variance.covariance is None
    assert_close(by_variance.t, pooled.t, **TIGHT)


def test_identical_imputations_floor_lambda_as_mice() -> None:
    # no between-imputation variance: lambda 0, the df from mice's floor of 1e-4
    pooled = pool_estimates([1.0, 1.0, 1.0], [0.1, 0.1, 0.1])
    assert pooled.b[0] == 0
    assert pooled.lambda_[0] == 0
    assert pooled.riv[0] == 0
    assert pooled.df[0] == pytest.approx(2 / 1e-8)
    dfobs = 101 / 103 * 100 * (1 - 1e-4)
    assert_close(barnard_rubin_df(3, 0.0, 0.1, 100), [1 / (1 / 2e8 + 1 / dfobs)], **TIGHT)


def test_interval_uses_t_with_pooled_df() -> None:
    pooled = pool_estimates([0.2, 0.5, 0.3, 0.6], [0.01, 0.02, 0.015, 0.01], dfcom=30)
    from scipy import stats

    half = stats.t.ppf(0.975, pooled.df[0]) * math.sqrt(pooled.t[0])
    assert pooled.ci_lower[0] == pytest.approx(pooled.estimate[0] - half, abs=1e-14)
    assert pooled.ci_upper[0] == pytest.approx(pooled.estimate[0] + half, abs=1e-14)


def test_result_views() -> None:
    q, u = per_imputation(REF["coxph"])
    pooled = pool_estimates(q, u, terms=REF["coxph"]["terms"], dfcom=132, scale="log")
    frame = pooled.to_frame()
    assert list(frame["term"]) == REF["coxph"]["terms"]
    assert pool_estimates([1.0, 2.0], [0.1, 0.2], terms="HR").terms == ("HR",)
    assert {"estimate", "ci_lower", "ci_upper", "lambda", "fmi", "df", "riv", "m"} <= set(frame)
    assert (frame["m"] == 5).all()
    d = pooled.to_dict()
    json.dumps(d)
    assert d["m"] == 5
    assert d["scale"] == "log"
    assert "Rubin" in str(pooled)
    assert "<table" in pooled._repr_html_()
    with pytest.raises(ValueError, match="read-only"):
        pooled.estimate[0] = 0.0
    with pytest.raises(AttributeError):
        pooled.m = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pool_estimates([1.0], [0.1]), ArgumentError, "at least 2 imputations"),
        (lambda: pool_estimates([1.0, 2.0], [0.1]), ArgumentError, "variances must match"),
        (
            lambda: pool_estimates([1.0, np.nan], [0.1, 0.1]),
            EstimationError,
            r"imputation\(s\) \[2\]",
        ),
        (lambda: pool_estimates([1.0, 2.0], [0.1, -1]), EstimationError, "non-negative"),
        (lambda: pool_estimates([1.0, 2.0], [0.1, 0.1], dfcom=0), ArgumentError, "dfcom"),
        (lambda: pool_estimates([1.0, 2.0], [0.1, 0.1], scale="probit"), ArgumentError, "scale"),
        (
            lambda: pool_estimates([1.0, 2.0], [0.1, 0.1], conf_level=95),
            ArgumentError,
            "conf_level",
        ),
        (lambda: pool_estimates([1.0, 2.0], [0.1, 0.1], terms=["a", "b"]), ArgumentError, "terms"),
        (lambda: pool_scalar([1.0, 2.0], [0.1, 0.1], n=1, k=1), ArgumentError, "n - k"),
        (lambda: pool_proportions([0, 3], 10), EstimationError, "infinite logit"),
        (lambda: pool_proportions([11, 3], 10), ArgumentError, "0 <= events <= total"),
        (lambda: pool_survival([1.0, 0.9], [0.0, 0.1]), EstimationError, "infinite log"),
        (lambda: pool_cox([]), ArgumentError, "CoxResult"),
        (lambda: pool_kaplan_meier([1, 2], [1.0]), ArgumentError, "KaplanMeierResult"),
    ],
)
def test_bad_arguments(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_cox_fits_with_different_terms_refused() -> None:
    d0, d1 = completed(0), completed(1)
    a = cox_regression(d0, time="time", event="status", covariates=["age", "cyc"])
    b = cox_regression(d1, time="time", event="status", covariates=["age", "hb"])
    with pytest.raises(ArgumentError, match="different terms"):
        pool_cox([a, b])


@pytest.mark.parametrize(("dfcom", "key"), [(REF["d1"]["dfcom"], "reiter"), (None, "large_sample")])
def test_wald_test_matches_mice_d1(dfcom: int | None, key: str) -> None:
    # hb and cyc jointly in the logistic model: mice::D1 (Reiter's df with the residual df)
    # and mitml::testModels without complete-data df (Li, Raghunathan and Rubin's df)
    ref, d1 = REF["glm"], REF["d1"]
    test = pool_wald_test(
        np.array(ref["estimates"]),
        np.array(d1["covariances"]),
        test=[3, 4],
        terms=ref["terms"],
        dfcom=dfcom,
    )
    assert test.terms == ("hb", "cyc1")
    expected = d1[key]
    for field in ("statistic", "df1", "df2", "p_value", "riv"):
        assert_close(getattr(test, field), expected[field], **TIGHT)
    assert test.m == 5
    json.dumps(test.to_dict())
    assert test.to_frame().loc[0, "terms"] == "hb, cyc1"


def test_wald_test_of_one_coefficient_is_the_squared_pooled_t() -> None:
    # with k = 1, (1 + riv) ubar = ubar + (1 + 1/m) b = t: D1 is qbar^2 / t exactly
    q = np.array([[0.50], [0.52], [0.49], [0.51]])
    u = np.full((4, 1, 1), 0.01)
    test = pool_wald_test(q, u)
    pooled = pool_estimates(q, u[:, :, 0])
    assert test.riv == pytest.approx(pooled.riv[0], rel=1e-12)
    assert test.statistic == pytest.approx(pooled.estimate[0] ** 2 / pooled.t[0], rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test": []}, ArgumentError, "distinct positions"),
        ({"test": [0, 0]}, ArgumentError, "distinct positions"),
        ({"test": [5]}, ArgumentError, "distinct positions"),
        ({"dfcom": 0}, ArgumentError, "dfcom"),
    ],
)
def test_bad_wald_arguments(kwargs: dict, error: type, match: str) -> None:
    q = np.array([[0.1, 0.2], [0.2, 0.1], [0.15, 0.3]])
    u = np.tile(np.eye(2) * 0.01, (3, 1, 1))
    with pytest.raises(error, match=match):
        pool_wald_test(q, u, **kwargs)
    with pytest.raises(ArgumentError, match="covariances must have shape"):
        pool_wald_test(q, u[:, 0])
    with pytest.raises(EstimationError, match="riv = 0"):
        pool_wald_test(np.ones((3, 2)), u)
