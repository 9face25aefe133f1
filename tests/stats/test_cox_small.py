"""Cox on small series (issue 16): the events-per-variable warning, R's default SE with case
weights, a level no row takes, per-column proportional-hazards tests, and one clear message
for each kind of data a Cox model cannot be fitted to.

R values: ``tests/reference/make_cox_small_reference.R`` (R 4.2.2, survival 3.5-3) on R's
``veteran`` data, written to ``tests/reference/cox_small.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.proportional_hazards import proportional_hazards_test
from dah_outcomes.testing import assert_close

REF_DIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REF_DIR / "cox_small.json").read_text())


def veteran() -> pd.DataFrame:
    vet = pd.read_csv(REF_DIR / "veteran.csv")
    row = np.arange(1, len(vet) + 1)  # as the R script builds them
    return vet.assign(w_frac=0.5 + 0.25 * (row % 5), w_whole=1 + (row % 3))


def series(n_events: int, n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small series with exactly ``n_events`` deaths and three covariates."""
    rng = np.random.default_rng(seed)
    event = np.zeros(n, dtype=int)
    event[rng.choice(n, n_events, replace=False)] = 1
    return pd.DataFrame(
        {
            "t": rng.integers(1, 365, n).astype(float),
            "e": event,
            "age": rng.normal(35, 10, n),
            "vent": rng.integers(0, 2, n),
            "plex": rng.integers(0, 2, n),
        }
    )


COVS = ["age", "vent", "plex"]

# --------------------------------------------------------------------------------------------
# events per variable


def test_few_events_per_variable_warn_and_are_recorded() -> None:
    df = series(9)  # the example: 9 deaths, 3 covariates
    with pytest.warns(SmallSampleWarning, match=r"9 events for 3 coefficient\(s\), 3\.0 per"):
        fit = cox_regression(df, time="t", event="e", covariates=COVS)
    assert fit.events_per_variable == 3.0
    assert len(fit.warnings) == 1
    assert "3.0 per variable (below 10)" in fit.warnings[0]
    d = fit.to_dict()
    assert d["events_per_variable"] == 3.0
    assert d["warnings"] == list(fit.warnings)


def test_enough_events_per_variable_do_not_warn() -> None:
    df = series(30)  # exactly 10 per variable: the rule is "below 10"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = cox_regression(df, time="t", event="e", covariates=COVS)
    assert fit.events_per_variable == 10.0
    assert fit.warnings == ()


def test_events_per_variable_count_design_columns_and_the_minimum_is_an_argument() -> None:
    # a categorical of 4 levels is 3 coefficients: 20 events / 4 columns = 5 per variable
    df = series(20).assign(site=lambda d: np.array(["a", "b", "c", "d"] * 10))
    with pytest.warns(SmallSampleWarning, match=r"20 events for 4 coefficient\(s\)"):
        fit = cox_regression(df, time="t", event="e", covariates=["age", "site"])
    assert fit.events_per_variable == 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cox_regression(
            df, time="t", event="e", covariates=["age", "site"], min_events_per_variable=5
        )


def test_hazard_ratios_carry_the_events_per_variable_warning() -> None:
    from dah_outcomes import generate_cohort
    from dah_outcomes.analyses.hazard_ratios import hazard_ratios
    from dah_outcomes.errors import ImmortalTimeWarning

    # a few thousand SLE patients give some 70 deaths for 8 coefficients (the arms and the
    # default adjustment): under 10 per variable
    small = generate_cohort("seed-article", n_sle=3000, seed=1)
    with (
        pytest.warns(SmallSampleWarning, match=r"events for 8 coefficient\(s\)") as caught,
        pytest.warns(ImmortalTimeWarning),
    ):
        hr = hazard_ratios(small)
    epv = hr.n_events / 8
    assert epv < 10
    assert hr.cox.events_per_variable == pytest.approx(epv)
    said = [str(w.message) for w in caught if issubclass(w.category, SmallSampleWarning)]
    assert f"{epv:.1f} per variable" in said[0]
    assert said[0] in hr.warnings
    assert said[0] in hr.to_dict()["warnings"]
    # with more deaths than 10 per coefficient, no small-sample warning
    larger = generate_cohort("seed-article", n_sle=8000, seed=2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        hr = hazard_ratios(larger)
    assert hr.cox.events_per_variable >= 10
    assert not [w for w in seen if issubclass(w.category, SmallSampleWarning)]
    assert not any("per variable" in w for w in hr.warnings)


# --------------------------------------------------------------------------------------------
# case weights: R's default SE


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("kind", ["fractional", "whole"])
def test_default_se_with_case_weights_is_rs(ties: str, kind: str) -> None:
    ref = REF["weighted"][ties][kind]
    fit = cox_regression(
        veteran(),
        time="time",
        event="event",
        covariates=["karno", "trt", "celltype"],
        weights="w_frac" if kind == "fractional" else "w_whole",
        ties=ties,
    )
    assert fit.terms == tuple(ref["terms"])
    # coxph: robust when a weight is not a whole number, model-based when all are
    assert fit.robust is ref["robust"] is (kind == "fractional")
    assert_close(fit.coef, ref["coef"], rtol=1e-9)
    assert_close(fit.se, ref["se"], rtol=1e-9)
    assert_close(fit.naive_se, ref["naive_se"], rtol=1e-9)
    assert_close(np.array(fit.loglik), ref["loglik"], rtol=1e-12)


def test_robust_can_still_be_chosen_and_contradictions_are_refused() -> None:
    vet = veteran()
    args = {"time": "time", "event": "event", "covariates": ["karno", "trt"]}
    plain = cox_regression(vet, weights="w_frac", robust=False, **args)
    assert not plain.robust
    np.testing.assert_array_equal(plain.se, plain.naive_se)
    sandwich = cox_regression(vet, weights="w_whole", robust=True, **args)
    assert sandwich.robust
    assert not np.allclose(sandwich.se, sandwich.naive_se)
    assert cox_regression(vet.assign(pid=np.arange(len(vet)) // 2), id="pid", **args).robust
    with pytest.raises(ArgumentError, match="robust=False"):
        cox_regression(vet.assign(pid=np.arange(len(vet))), id="pid", robust=False, **args)
    with pytest.raises(ArgumentError, match="robust must be"):
        cox_regression(vet, robust="yes", **args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# a level no row takes


def test_unused_level_is_dropped_as_r_reports_it_na() -> None:
    vet = veteran()
    levels = [*sorted(vet["celltype"].unique()), "other"]
    vet["celltype"] = pd.Categorical(vet["celltype"], categories=levels)
    ref = REF["unused_level"]
    assert ref["with_unused"]["coef"][-1] is None  # R: NA for celltypeother
    with pytest.warns(SmallSampleWarning, match=r"left out of the model .*'celltype': \['other'\]"):
        fit = cox_regression(vet, time="time", event="event", covariates=["karno", "celltype"])
    assert fit.terms == tuple(ref["without"]["terms"]) == tuple(ref["with_unused"]["terms"][:-1])
    assert_close(fit.coef, ref["with_unused"]["coef"][:-1], rtol=1e-9)
    assert_close(fit.se, ref["with_unused"]["se"][:-1], rtol=1e-9)
    assert fit.dropped_levels == {"celltype": ("other",)}
    assert fit.to_dict()["dropped_levels"] == {"celltype": ["other"]}
    assert "left out" in fit.warnings[0]


def test_used_levels_give_no_warning() -> None:
    vet = veteran().assign(celltype=lambda d: pd.Categorical(d["celltype"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = cox_regression(vet, time="time", event="event", covariates=["karno", "celltype"])
    assert fit.dropped_levels == {}


# --------------------------------------------------------------------------------------------
# per-column proportional-hazards tests


@pytest.mark.parametrize("transform", ["km", "identity", "rank"])
@pytest.mark.parametrize("terms", [True, False])
def test_cox_zph_per_term_and_per_column_match_r(transform: str, terms: bool) -> None:
    ref = REF["zph"][transform]["terms_true" if terms else "terms_false"]
    z = proportional_hazards_test(
        veteran(),
        time="time",
        event="event",
        covariates=["trt", "karno", "celltype"],
        transform=transform,
        terms=terms,
    )
    frame = z.to_frame()
    assert list(frame["term"]) == ref["rows"]
    assert frame["df"].tolist() == ref["df"]
    assert_close(frame["chisq"].to_numpy(), ref["chisq"], rtol=1e-9)
    assert_close(frame["p_value"].to_numpy(), ref["p"], rtol=1e-9, atol=1e-14)
    # the scaled Schoenfeld residuals (R's z$y), one column per term or per design column
    assert z.scaled_residuals.shape == (128, len(ref["rows"]) - 1)
    assert_close(z.scaled_residuals, np.array(ref["y"]), rtol=1e-9, atol=1e-12)
    assert_close(z.time, ref["time"], rtol=0, atol=0)
    assert_close(z.transformed_time, ref["x"], rtol=1e-12, atol=1e-14)


def test_per_column_terms_are_the_design_columns() -> None:
    args = {"time": "time", "event": "event", "covariates": ["trt", "karno", "celltype"]}
    by_column = proportional_hazards_test(veteran(), terms=False, **args)
    assert by_column.terms == by_column.fit.terms
    assert by_column.residual_frame().columns.tolist()[2:] == list(by_column.fit.terms)
    with pytest.raises(ArgumentError, match="terms must be"):
        proportional_hazards_test(veteran(), terms="no", **args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# data a Cox model cannot be fitted to: one message each


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"t": [5.0], "e": [1], "x": [1.0]}), "1 row"),
        (pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [0, 0, 0, 0], "x": [0.0, 1, 0, 1]}), "no events"),
        (
            pd.DataFrame({"t": [0.0, 0, 0, 0], "e": [0, 0, 0, 0], "x": [0.0, 1, 0, 1]}),
            "every row is censored at time 0",
        ),
        (
            pd.DataFrame({"t": [1.0, 2, 3, 4, 5], "e": [1, 1, 0, 1, 1], "x": [0, 1, np.inf, 1, 0]}),
            "covariate 'x' has a non-finite value",
        ),
        (
            pd.DataFrame({"t": [1.0, 2, 3, 4, 5], "e": [1, 1, 0, 1, 1], "x": [0, 1, 1e200, 1, 0]}),
            r"covariate 'x' has values too large .*1e\+200",
        ),
        (
            pd.DataFrame({"t": [1.0, 2, 3, 4, 5], "e": [1, 1, 0, 1, 1], "x": [2.0] * 5}),
            r"\['x'\] are constant",
        ),
    ],
    ids=["one-row", "no-events", "censored-at-0", "infinite", "1e200", "constant"],
)
def test_each_impossible_fit_has_its_own_message(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(EstimationError, match=message) as info:
        cox_regression(frame, time="t", event="e", covariates=["x"])
    assert "collinear" not in str(info.value)


def test_constant_within_every_stratum_is_named() -> None:
    df = pd.DataFrame(
        {
            "t": [1.0, 2, 3, 4, 5, 6],
            "e": [1, 1, 0, 1, 1, 1],
            "s": [0, 0, 0, 1, 1, 1],
            "x": [0.0, 0, 0, 1, 1, 1],
            "z": [0.3, 1.2, 0.5, 0.1, 2.0, 0.7],
        }
    )
    with pytest.raises(EstimationError, match=r"\['x'\] are constant \(within every stratum\)"):
        cox_regression(df, time="t", event="e", covariates=["x", "z"], strata="s")
