"""The argument layer: every public statistic checks its shared arguments the same way, and
nothing is dropped or stops silently."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dah_outcomes as dah
from dah_outcomes import stats
from dah_outcomes.errors import (
    ArgumentError,
    ConvergenceWarning,
    DahOutcomesError,
    DroppedRowsWarning,
    EstimationError,
    MissingDependencyError,
)


def _data(n: int = 120, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n)
    t = rng.exponential(1 / np.exp(0.5 * x))
    cause = np.where(rng.uniform(size=n) < 0.6, 1, 2)
    cens = rng.uniform(size=n) < 0.2
    return pd.DataFrame(
        {
            "t": t,
            "e": (~cens).astype(int),
            "cause": np.where(cens, 0, cause),
            "x": x,
            "g": np.where(x == 1, "b", "a"),
            "id": np.arange(n),
        }
    )


DATA = _data()

# every public statistic that takes conf_level, called with everything else valid
CALLS = {
    "proportion_ci": lambda lvl: dah.proportion_ci(3, 10, conf_level=lvl),
    "rate_ci": lambda lvl: dah.rate_ci(3, 100.0, conf_level=lvl),
    "kaplan_meier": lambda lvl: dah.kaplan_meier(DATA, time="t", event="e", conf_level=lvl),
    "cox_regression": lambda lvl: dah.cox_regression(
        DATA, time="t", event="e", covariates=["x"], conf_level=lvl
    ),
    "fine_gray": lambda lvl: dah.fine_gray(
        DATA, time="t", event="cause", covariates=["x"], conf_level=lvl
    ),
    "firth_cox": lambda lvl: dah.firth_cox(
        DATA, time="t", event="e", covariates=["x"], conf_level=lvl
    ),
    "cumulative_incidence": lambda lvl: dah.cumulative_incidence(
        DATA, time="t", event="cause", conf_level=lvl
    ),
    "mean_cumulative_function": lambda lvl: dah.mean_cumulative_function(
        DATA, time="t", event="e", id="id", conf_level=lvl
    ),
    "meta_proportions": lambda lvl: dah.meta_proportions([2, 5, 4], [10, 12, 9], conf_level=lvl),
    "meta_subgroups": lambda lvl: dah.meta_subgroups(
        [2, 5, 4, 3], [10, 12, 9, 8], ["a", "a", "b", "b"], conf_level=lvl
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("level", [95, 0, 1, -0.5, 1.5, float("nan"), "0.95", True])
def test_every_statistic_rejects_a_bad_conf_level(name: str, level: object) -> None:
    with pytest.raises(ArgumentError, match=r"conf_level must be in \(0, 1\), got"):
        CALLS[name](level)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_statistic_accepts_a_good_conf_level(name: str) -> None:
    CALLS[name](0.9)


def test_percent_level_gets_a_hint() -> None:
    with pytest.raises(ArgumentError, match=r"0\.95 for 95%"):
        dah.cox_regression(DATA, time="t", event="e", covariates=["x"], conf_level=95)


def test_choice_errors_list_the_choices() -> None:
    with pytest.raises(ArgumentError, match=r"ties must be one of \['breslow', 'efron'\]"):
        dah.cox_regression(DATA, time="t", event="e", covariates=["x"], ties="exact")
    with pytest.raises(ArgumentError, match="conf_type must be one of"):
        dah.kaplan_meier(DATA, time="t", event="e", conf_type="arcsin")
    with pytest.raises(ArgumentError, match="ci_method must be one of"):
        dah.proportion_ci(1, 4, ci_method="wald")


def test_cumulative_incidence_level_is_carried_to_its_interval() -> None:
    ci90 = dah.cumulative_incidence(DATA, time="t", event="cause", conf_level=0.9)
    ci95 = dah.cumulative_incidence(DATA, time="t", event="cause")
    a, b = ci90.confidence_interval(), ci95.confidence_interval()
    assert (a["conf_level"] == 0.9).all()
    assert (b["conf_level"] == 0.95).all()
    inner = a["cif"].between(0.01, 0.99)
    assert (a["ci_upper"] - a["ci_lower"])[inner].lt((b["ci_upper"] - b["ci_lower"])[inner]).all()
    # a level given later still wins
    np.testing.assert_array_equal(
        ci90.confidence_interval(conf_level=0.95)["ci_lower"], b["ci_lower"]
    )


WITH_MISSING = DATA.assign(x=DATA["x"].astype(float).mask(DATA.index % 10 == 0))
N_MISSING = int(WITH_MISSING["x"].isna().sum())

DROPPING = {
    "cox_regression": lambda d: dah.cox_regression(d, time="t", event="e", covariates=["x"]),
    "fine_gray": lambda d: dah.fine_gray(d, time="t", event="cause", covariates=["x"]),
    "firth_cox": lambda d: dah.firth_cox(d, time="t", event="e", covariates=["x"]),
    "kaplan_meier": lambda d: dah.kaplan_meier(d, time="t", event="e", group="x"),
    "logrank_test": lambda d: dah.logrank_test(d, time="t", event="e", group="x"),
    "cumulative_incidence": lambda d: dah.cumulative_incidence(
        d, time="t", event="cause", group="x"
    ),
    "gray_test": lambda d: dah.gray_test(d, time="t", event="cause", group="x"),
    "mean_cumulative_function": lambda d: dah.mean_cumulative_function(
        d, time="t", event="e", id="id", group="x"
    ),
}


@pytest.mark.parametrize("name", sorted(DROPPING))
def test_dropped_rows_are_counted_and_announced(name: str) -> None:
    with pytest.warns(DroppedRowsWarning, match=f"{name}: {N_MISSING} of {len(DATA)} rows"):
        result = DROPPING[name](WITH_MISSING)
    assert result.n_dropped == N_MISSING
    assert result.to_dict().get("n_dropped", N_MISSING) == N_MISSING


@pytest.mark.parametrize("name", sorted(DROPPING))
def test_complete_data_gives_no_warning(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = DROPPING[name](DATA)
    assert result.n_dropped == 0


def test_the_warning_points_at_the_callers_line() -> None:
    with pytest.warns(DroppedRowsWarning) as record:
        dah.cox_regression(WITH_MISSING, time="t", event="e", covariates=["x"])
    assert record[0].filename == __file__


@pytest.mark.parametrize("fit", ["cox_regression", "fine_gray"])
def test_a_fit_stopped_at_its_limit_says_so(fit: str) -> None:
    func = getattr(dah, fit)
    event = "e" if fit == "cox_regression" else "cause"
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        result = func(DATA, time="t", event=event, covariates=["x"], max_iter=1)
    assert result.converged is False
    assert result.iterations == 1
    assert result.to_dict()["converged"] is False
    assert func(DATA, time="t", event=event, covariates=["x"]).converged


@pytest.mark.parametrize(("max_iter", "tol"), [(0, 1e-9), (2.5, 1e-9), (10, 0), (10, -1)])
def test_iteration_arguments_are_checked(max_iter: object, tol: object) -> None:
    with pytest.raises(ArgumentError, match=r"max_iter|tol"):
        dah.cox_regression(DATA, time="t", event="e", covariates=["x"], max_iter=max_iter, tol=tol)


def test_error_classes_are_catchable_as_builtins() -> None:
    assert issubclass(EstimationError, ValueError)
    assert issubclass(EstimationError, DahOutcomesError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(DroppedRowsWarning, UserWarning)
    assert issubclass(ConvergenceWarning, UserWarning)


def test_result_fields_are_keyword_only_and_arrays_read_only() -> None:
    fit = dah.cox_regression(DATA, time="t", event="e", covariates=["x"])
    with pytest.raises(ValueError, match="read-only"):
        fit.coef[0] = 1.0
    with pytest.raises(TypeError):
        dah.ProportionCI(1, 2, 0.5, 0.1, 0.9, "wilson", 0.95)  # type: ignore[misc]


def test_stats_namespace_gives_functions() -> None:
    assert callable(stats.kaplan_meier)
    assert stats.kaplan_meier is dah.kaplan_meier
    assert stats.fine_gray is dah.fine_gray
    assert stats.cox_regression is dah.cox_regression
    from dah_outcomes.stats import fine_gray, kaplan_meier

    assert callable(kaplan_meier)
    assert callable(fine_gray)
