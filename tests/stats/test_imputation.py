"""Chained-equation imputation: recovery of known means and coefficients (MCAR and MAR, where
the complete cases are biased), seeds, predictive mean matching imputing only observed values,
untouched complete columns, dtypes, arguments; the Nelson-Aalen predictor against
``mice::nelsonaalen`` (``tests/reference/make_mi_pooling_reference.R``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.stats.imputation import ImputationResult, impute_chained, nelson_aalen_at_times
from dah_outcomes.stats.pooling import pool_estimates, pool_proportions, pool_scalar
from dah_outcomes.testing import assert_close

REF = json.loads((Path(__file__).parents[1] / "reference" / "mi_pooling.json").read_text())


def full_data(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.random(n) < expit(-0.3 + 1.2 * x)
    y = 1 + 2 * x + 0.5 * z + rng.normal(size=n)
    site = rng.choice(np.array(["A", "B", "C"]), n, p=[0.5, 0.3, 0.2])
    count = rng.poisson(np.exp(1 + 0.3 * x))
    return pd.DataFrame(
        {
            "x": x,
            "z": pd.array(z, dtype="boolean"),
            "y": y,
            "site": pd.array(site, dtype="string"),
            "count": pd.array(count, dtype="Int64"),
        }
    )


def amputed(full: pd.DataFrame, *, mar: bool, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = full.copy()
    n = len(data)
    x = full["x"].to_numpy()
    # MAR: y missing mostly where x is high (so complete cases understate the mean of y)
    p_y = expit(-1.5 + 2.0 * x) if mar else np.full(n, 0.3)
    miss_y = rng.random(n) < p_y
    data.loc[miss_y, "y"] = np.nan
    data.loc[rng.random(n) < 0.15, "z"] = pd.NA
    data.loc[rng.random(n) < 0.1, "site"] = pd.NA
    data.loc[rng.random(n) < 0.1, "count"] = pd.NA
    # x missing only where y is observed (keeps the MAR mechanism of y on observed values)
    data.loc[(rng.random(n) < 0.1) & ~miss_y, "x"] = np.nan
    return data


COLUMNS = ["x", "z", "y", "site", "count"]


@pytest.fixture(scope="module")
def mcar() -> tuple[pd.DataFrame, pd.DataFrame, ImputationResult]:
    full = full_data()
    data = amputed(full, mar=False)
    return full, data, impute_chained(data, columns=COLUMNS, m=10, iterations=5, seed=3)


@pytest.fixture(scope="module")
def mar() -> tuple[pd.DataFrame, pd.DataFrame, ImputationResult]:
    full = full_data()
    data = amputed(full, mar=True)
    return full, data, impute_chained(data, columns=COLUMNS, m=10, iterations=5, seed=4)


def pooled_mean(imp: ImputationResult, column: str):
    values = [d[column].to_numpy(dtype=float) for d in imp]
    return pool_scalar(
        [v.mean() for v in values], [v.var(ddof=1) / len(v) for v in values], n=len(values[0])
    )


def pooled_ols(imp: ImputationResult):
    """OLS of y on x and z in each completed dataset, pooled (df n - 3)."""
    est, var = [], []
    for d in imp:
        x = np.column_stack([np.ones(len(d)), d["x"], d["z"].to_numpy(dtype=float)])
        y = d["y"].to_numpy(dtype=float)
        coef, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
        sigma2 = rss[0] / (len(y) - 3)
        est.append(coef)
        var.append(np.diag(np.linalg.inv(x.T @ x)) * sigma2)
    return pool_estimates(est, var, terms=["(Intercept)", "x", "z"], dfcom=len(y) - 3)


def test_nelson_aalen_matches_mice() -> None:
    na = REF["nelsonaalen"]
    assert_close(nelson_aalen_at_times(na["time"], na["status"]), na["hazard"], atol=1e-13)
    obs = REF["observed"]
    assert_close(nelson_aalen_at_times(obs["time"], obs["status"]), na["hazard_obs"], atol=1e-13)


def test_nelson_aalen_breslow_is_d_over_n() -> None:
    h = nelson_aalen_at_times([3, 1, 1, 2, 5], [1, 1, 0, 1, 0], ties="breslow")
    # at 1: 1/5; at 2: + 1/3; at 3: + 1/2; 5 is censored
    assert_close(h, [1 / 5 + 1 / 3 + 1 / 2, 1 / 5, 1 / 5, 1 / 5 + 1 / 3, 1 / 5 + 1 / 3 + 1 / 2])
    efron = nelson_aalen_at_times([1, 1, 1], [1, 1, 1])
    assert_close(efron, [1 / 3 + 1 / 2 + 1] * 3)


def test_mcar_recovers_mean_and_coefficients(mcar) -> None:
    full, _, imp = mcar
    mean = pooled_mean(imp, "y")
    truth = full["y"].mean()
    assert mean.ci_lower[0] < truth < mean.ci_upper[0]
    assert abs(mean.estimate[0] - truth) < 0.05
    ols = pooled_ols(imp)
    # declared coefficients 1, 2, 0.5: inside the pooled intervals, and close
    assert (ols.ci_lower < [1, 2, 0.5]).all()
    assert (ols.ci_upper > [1, 2, 0.5]).all()
    assert_close(ols.estimate, [1, 2, 0.5], atol=0.15)
    assert (ols.fmi > 0).all()
    assert (ols.fmi < 0.6).all()


def test_mar_mi_removes_the_complete_case_bias(mar) -> None:
    full, data, imp = mar
    truth = full["y"].mean()
    complete_case = data["y"].mean()
    mean = pooled_mean(imp, "y")
    assert truth - complete_case > 0.5  # the complete cases are far too low
    assert mean.ci_lower[0] < truth < mean.ci_upper[0]
    assert abs(mean.estimate[0] - truth) < 0.1
    ols = pooled_ols(imp)
    assert abs(ols.estimate[1] - 2) < 0.15


def test_logistic_imputation_recovers_a_proportion(mar) -> None:
    full, _, imp = mar
    events = [int(d["z"].sum()) for d in imp]
    pooled = pool_proportions(events, len(full))
    truth = full["z"].mean()
    assert pooled.value_ci_lower[0] < truth < pooled.value_ci_upper[0]


def test_pmm_imputes_only_observed_values(mcar) -> None:
    _, data, imp = mcar
    assert imp.methods["y"] == "pmm"
    assert imp.methods["count"] == "pmm"
    for column in ("x", "y", "count"):
        observed = set(data[column].dropna().to_numpy(dtype=float))
        missing = data[column].isna().to_numpy()
        for d in imp:
            assert set(d[column].to_numpy(dtype=float)[missing]) <= observed


def test_completed_data_keep_dtypes_and_observed_values(mcar) -> None:
    _, data, imp = mcar
    for d in imp:
        assert not d[COLUMNS].isna().any().any()
        assert (d.dtypes == data.dtypes).all()
        assert set(d["site"]) <= {"A", "B", "C"}
        for column in COLUMNS:
            seen = data[column].notna().to_numpy()
            pd.testing.assert_series_equal(d[column][seen], data[column][seen])
    assert imp.methods == {
        "x": "pmm",
        "z": "logreg",
        "y": "pmm",
        "site": "polyreg",
        "count": "pmm",
    }


def test_categories_imputed_in_proportion(mcar) -> None:
    full, _, imp = mcar
    shares = np.mean([d["site"].value_counts(normalize=True).sort_index() for d in imp], axis=0)
    truth = full["site"].value_counts(normalize=True).sort_index().to_numpy()
    assert_close(shares, truth, atol=0.02)


def test_same_seed_same_imputations() -> None:
    data = amputed(full_data(n=400), mar=True)
    a = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=11)
    b = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=11)
    c = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=12)
    for i in range(2):
        pd.testing.assert_frame_equal(a.completed(i), b.completed(i))
    np.testing.assert_array_equal(a.chain_means, b.chain_means)
    assert not a.completed(0)["y"].equals(c.completed(0)["y"])
    assert not a.completed(0)["y"].equals(a.completed(1)["y"])  # independent streams


def test_complete_columns_and_the_input_untouched() -> None:
    data = amputed(full_data(n=400), mar=False)
    data["complete"] = np.arange(len(data), dtype=float)
    data["carried"] = "kept"
    before = data.copy()
    imp = impute_chained(data, columns=["complete", *COLUMNS], m=2, iterations=2, seed=0)
    pd.testing.assert_frame_equal(data, before)
    assert imp.n_missing["complete"] == 0
    for d in imp:
        pd.testing.assert_series_equal(d["complete"], before["complete"])
        pd.testing.assert_series_equal(d["carried"], before["carried"])
    assert np.isnan(imp.chain_means[:, :, 0]).all()


def test_predictors_inform_the_imputation() -> None:
    # y is missing; only the complete predictor w knows it: imputations follow w
    rng = np.random.default_rng(5)
    w = rng.normal(size=1000)
    y = w + 0.1 * rng.normal(size=1000)
    data = pd.DataFrame({"y": np.where(rng.random(1000) < 0.4, np.nan, y), "w": w})
    imp = impute_chained(data, columns=["y"], predictors=["w"], m=2, iterations=1, seed=1)
    missing = data["y"].isna().to_numpy()
    assert np.corrcoef(imp.completed(0)["y"][missing], w[missing])[0, 1] > 0.95
    assert imp.predictors == ("w",)


def test_norm_method_draws_new_values() -> None:
    data = amputed(full_data(n=500), mar=False)
    imp = impute_chained(data, columns=["x", "y"], m=2, iterations=2, seed=2, methods={"y": "norm"})
    missing = data["y"].isna().to_numpy()
    imputed = imp.completed(0)["y"].to_numpy()[missing]
    assert not set(imputed) & set(data["y"].dropna())  # drawn, not matched


def test_result_views(mcar) -> None:
    _, data, imp = mcar
    frame = imp.to_frame()
    assert list(frame["column"]) == COLUMNS
    assert frame.set_index("column").loc["y", "n_missing"] == int(data["y"].isna().sum())
    d = imp.to_dict()
    json.dumps(d)
    assert d["m"] == 10
    assert d["iterations"] == 5
    assert "datasets" not in d
    assert imp.chain_means.shape == (10, 5, len(COLUMNS))
    assert len(imp) == 10
    assert "m = 10" in str(imp)
    with pytest.raises(ArgumentError, match=r"\[0, 10\)"):
        imp.completed(10)
    edited = imp.completed(0)
    edited.loc[0, "x"] = 99.0
    assert imp.completed(0).loc[0, "x"] != 99.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"columns": ["nope"]}, ArgumentError, "no column"),
        ({"columns": "y"}, ArgumentError, "non-empty list"),
        ({"columns": ["y"], "predictors": ["x"]}, ArgumentError, "missing values"),
        ({"columns": ["y", "y"]}, ArgumentError, "named twice"),
        ({"columns": ["y"], "methods": {"y": "cart"}}, ArgumentError, "methods"),
        ({"columns": ["y"], "methods": {"x": "pmm"}}, ArgumentError, "not in columns"),
        ({"columns": ["y"], "methods": {"y": "logreg"}}, ArgumentError, "not binary"),
        ({"columns": ["site"], "methods": {"site": "pmm"}}, ArgumentError, "polyreg"),
        ({"columns": ["y"], "m": 0}, ArgumentError, "m must"),
        ({"columns": ["y"], "iterations": 1.5}, ArgumentError, "iterations"),
        ({"columns": ["y"], "seed": -1}, ArgumentError, "seed"),
        ({"columns": ["empty"]}, EstimationError, "fewer than 2 observed"),
        ({"columns": ["y"], "predictors": ["onset"]}, ArgumentError, "dates or durations"),
    ],
)
def test_bad_arguments(kwargs, error, match) -> None:
    data = amputed(full_data(n=50), mar=False)
    data["empty"] = np.nan
    data.loc[0, "empty"] = 1.0
    data["onset"] = pd.Timestamp("2020-01-01")
    with pytest.raises(error, match=match):
        impute_chained(data, **kwargs)


def test_bad_nelson_aalen_arguments() -> None:
    with pytest.raises(ArgumentError, match="one length"):
        nelson_aalen_at_times([1, 2], [1])
    with pytest.raises(ArgumentError, match="non-negative"):
        nelson_aalen_at_times([1, np.nan], [1, 0])
    with pytest.raises(ArgumentError, match="0/1"):
        nelson_aalen_at_times([1, 2], [1, 2])
    with pytest.raises(ArgumentError, match="ties"):
        nelson_aalen_at_times([1, 2], [1, 0], ties="exact")
    with pytest.raises(ArgumentError, match="DataFrame"):
        impute_chained([[1.0]], columns=["a"])  # type: ignore[arg-type]


def test_pooled_cox_model_agrees_with_mice_on_the_same_data() -> None:
    # the reference's observed data (age, haemoglobin drop and cyclophosphamide missing at
    # random), imputed here and by mice(m = 40, maxit = 10): the pooled Cox models agree up to
    # Monte Carlo error (a tenth of a standard error here; imputing without the outcome and
    # its cumulative hazard moves age, hb and cyc 0.2 to 0.5 standard errors towards 0)
    from dah_outcomes.stats.cox import cox_regression
    from dah_outcomes.stats.pooling import pool_cox

    obs = pd.DataFrame(REF["observed"]).astype(float)
    obs["cyc"] = pd.array(
        [None if v is None else bool(v) for v in REF["observed_cyc"]], dtype="boolean"
    )
    obs["dead90"] = np.asarray(REF["observed_dead90"], dtype=float)
    obs["na"] = nelson_aalen_at_times(obs["time"], obs["status"])
    imp = impute_chained(
        obs,
        columns=["age", "hb", "cyc"],
        predictors=["severe", "time", "status", "dead90", "na"],
        m=40,
        iterations=10,
        seed=0,
    )
    assert imp.methods == {"age": "pmm", "hb": "pmm", "cyc": "logreg"}
    fits = [
        cox_regression(
            d.assign(cyc=d["cyc"].astype(float)),
            time="time",
            event="status",
            covariates=["age", "severe", "hb", "cyc"],
        )
        for d in imp
    ]
    ours, mice = pool_cox(fits), REF["mice_m40"]
    z = (ours.estimate - np.asarray(mice["estimate"])) / np.sqrt(mice["t"])
    assert (np.abs(z) < 0.25).all(), z
    assert_close(ours.fmi, mice["fmi"], atol=0.12)


def test_a_column_observed_at_one_value_is_filled_with_it() -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "flag": pd.array([False] * 150 + [None] * 50, dtype="boolean"),
            "site": pd.array(["A"] * 120 + [None] * 80, dtype="string"),
        }
    )
    data.loc[rng.random(200) < 0.2, "x"] = np.nan
    imp = impute_chained(data, columns=["x", "flag", "site"], m=3, iterations=3, seed=1)
    for d in imp:
        assert not d["flag"].any()
        assert (d["site"] == "A").all()


def test_delta_adjustment_shifts_the_imputations() -> None:
    data = amputed(full_data(n=800), mar=False)
    base = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=5)
    zero = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=5, delta={"z": 0.0})
    pd.testing.assert_frame_equal(base.completed(0), zero.completed(0))
    missing = data["z"].isna().to_numpy()

    def share(delta: float) -> float:
        imp = impute_chained(data, columns=COLUMNS, m=2, iterations=3, seed=5, delta={"z": delta})
        return float(np.mean([d["z"].to_numpy(dtype=bool)[missing].mean() for d in imp]))

    shares = [share(d) for d in (-5.0, -1.0, 0.0, 1.0, 5.0)]
    assert shares == sorted(shares)
    assert shares[0] < 0.05
    assert shares[-1] > 0.95
    # a number's imputations move by delta (one column, one iteration: the same draws)
    rng = np.random.default_rng(1)
    w = rng.normal(size=300)
    one = pd.DataFrame({"y": np.where(rng.random(300) < 0.3, np.nan, w + rng.normal(size=300))})
    one["w"] = w
    kwargs = {"columns": ["y"], "predictors": ["w"], "m": 1, "iterations": 1, "seed": 2}
    a = impute_chained(one, **kwargs).completed(0)["y"]
    b = impute_chained(one, **kwargs, delta={"y": 0.75}).completed(0)["y"]
    gap = (b - a).to_numpy()
    imputed = gap[one["y"].isna().to_numpy()]
    assert_close(imputed, np.full(len(imputed), 0.75), atol=1e-12)
    assert (gap[one["y"].notna().to_numpy()] == 0).all()
    shifted = impute_chained(one, **kwargs, delta={"y": 0.75})
    assert shifted.delta == {"y": 0.75}
    assert shifted.to_dict()["delta"] == {"y": 0.75}


@pytest.mark.parametrize(
    ("delta", "match"),
    [
        ({"site": 1.0}, "categories"),
        ({"nope": 1.0}, "not in columns"),
        ({"z": float("inf")}, "finite"),
        ({"z": "1"}, "finite"),
    ],
)
def test_bad_delta(delta: dict, match: str) -> None:
    data = amputed(full_data(n=50), mar=False)
    with pytest.raises(ArgumentError, match=match):
        impute_chained(data, columns=COLUMNS, delta=delta)
