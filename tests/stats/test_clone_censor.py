"""Clone-censor-weight: the expanded table against one built by hand, the censoring models
and the whole point estimate against R (``tests/reference/make_clone_censor_reference.R``:
glm(family = binomial) and survival's weighted survfit on a table expanded independently in
R, with and without frequency weights), weights against closed forms, the weighted
Kaplan-Meier against the plain one (ours and lifelines') when no clone is censored, the
bootstrap's frequency weights against patients actually repeated, reproducibility, and the
warnings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import (
    ArgumentError,
    DroppedRowsWarning,
    PositivityWarning,
    SmallSampleWarning,
)
from dah_outcomes.stats._clone_engine import censoring_models, clone_arrays, fit_once
from dah_outcomes.stats.clone_censor import (
    EXTREME_CLONE_WEIGHT,
    CloneCensorResult,
    clone_censor_weight,
    clone_table,
    pooled_logistic,
)
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.testing import assert_close

REFERENCE = Path(__file__).parents[1] / "reference"
REF = json.loads((REFERENCE / "clone_censor.json").read_text())
PATIENTS = pd.read_csv(REFERENCE / "clone_censor.csv")


def ccw(data: pd.DataFrame, **options) -> CloneCensorResult:
    """The estimate on columns time/event/start, no bootstrap unless asked."""
    options = {"bootstrap": 0, **options}
    return clone_censor_weight(data, time="time", event="event", start="start", **options)


def five() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": [200, 52, 90, 41, 2],
            "event": [0, 1, 1, 1, 1],
            "start": [0.0, np.nan, 1.0, 3.0, 1.0],
        }
    )


def test_table_of_five_patients_built_by_hand() -> None:
    """Grace 2 days, horizon 90: A starts on day 0 and is followed past the horizon; B never
    starts and dies on day 52; C starts on day 1 and dies on day 90; D starts on day 3 (late)
    and dies on day 41; E starts on day 1 and dies on day 2."""
    got = clone_table(five(), time="time", event="event", start="start", grace=2, horizon=90)
    f, t = False, True
    # (patient, strategy, start, stop, censored, event); strategy 0 start, 1 no start
    expected = [
        (0, 0, 0, 0, f, f), (0, 0, 1, 1, f, f), (0, 0, 2, 2, f, f), (0, 0, 3, 90, f, f),
        (1, 0, 0, 0, f, f), (1, 0, 1, 1, f, f), (1, 0, 2, 2, f, f), (1, 0, 3, 2, t, f),
        (2, 0, 0, 0, f, f), (2, 0, 1, 1, f, f), (2, 0, 2, 2, f, f), (2, 0, 3, 90, f, t),
        (3, 0, 0, 0, f, f), (3, 0, 1, 1, f, f), (3, 0, 2, 2, f, f), (3, 0, 3, 2, t, f),
        (4, 0, 0, 0, f, f), (4, 0, 1, 1, f, f), (4, 0, 2, 2, f, t),
        (0, 1, 0, -1, t, f),
        (1, 1, 0, 0, f, f), (1, 1, 1, 1, f, f), (1, 1, 2, 2, f, f), (1, 1, 3, 52, f, t),
        (2, 1, 0, 0, f, f), (2, 1, 1, 0, t, f),
        (3, 1, 0, 0, f, f), (3, 1, 1, 1, f, f), (3, 1, 2, 2, f, f), (3, 1, 3, 41, f, t),
        (4, 1, 0, 0, f, f), (4, 1, 1, 0, t, f),
    ]  # fmt: skip
    assert [tuple(r) for r in got.itertuples(index=False)] == expected


def test_table_cuts_at_the_horizon_and_keeps_positions() -> None:
    data = pd.DataFrame({"time": [10, 5, 3], "event": [1, 1, 1], "start": [np.nan] * 3})
    got = clone_table(data.iloc[[0, 2]], time="time", event="event", start="start", grace=1,
                      horizon=4)  # fmt: skip
    start_arm = got[got["strategy"] == 0]
    # patient 0 dies on day 10, after the horizon: no event; censored on day 2 (not started)
    assert start_arm[start_arm["patient"] == 0]["censored"].tolist() == [False, False, True]
    no_start = got[(got["strategy"] == 1) & (got["patient"] == 0)]
    assert no_start[["start", "stop"]].values.tolist() == [[0, 0], [1, 1], [2, 4]]
    assert not no_start["event"].any()
    assert set(got["patient"]) == {0, 1}  # positions among the rows given


@pytest.mark.parametrize("stabilized", [False, True])
def test_estimate_against_r_glm_and_weighted_survfit(stabilized: bool) -> None:
    ref = REF["unweighted"]
    fit = ccw(PATIENTS, grace=REF["grace"], horizon=REF["horizon"], covariates=["x1", "x2"],
              stabilized=stabilized)  # fmt: skip
    coef = fit.censoring_coefficients
    assert_close(coef[coef["strategy"] == fit.strategies[1]]["estimate"], ref["coef_nostart"])
    assert_close(coef[coef["strategy"] == fit.strategies[0]]["estimate"], ref["coef_start"])
    assert coef["term"].tolist()[:4] == ["(Intercept)", "x1", "x2b", "x2c"]
    risk = ref["risk_stabilized" if stabilized else "risk_unstabilized"]
    for k in (0, 1):
        curve = fit.curves[fit.curves["strategy"] == fit.strategies[k]]["risk"].to_numpy()
        assert_close(curve, risk[k], rtol=1e-9, atol=1e-12)
    assert fit.risk_difference == pytest.approx(risk[0][-1] - risk[1][-1], abs=1e-12)
    assert fit.converged


def test_frequency_weights_against_r_and_repeated_patients() -> None:
    """A bootstrap replicate is the estimate with each patient counted as often as drawn:
    the frequency-weighted fit equals R's and the fit on the patients actually repeated."""
    ref = REF["frequency"]
    g, h = REF["grace"], REF["horizon"]
    freq = PATIENTS["freq"].to_numpy()
    x = pd.get_dummies(PATIENTS["x2"], drop_first=True, dtype=float)
    design = np.column_stack([PATIENTS["x1"].to_numpy(float), x.to_numpy()])
    t = PATIENTS["time"].to_numpy(np.int64)
    table = clone_arrays(t, PATIENTS["event"].to_numpy(np.int64), PATIENTS["start"].to_numpy(),
                         g, h)  # fmt: skip
    models, _ = censoring_models(table, design, g)
    fit = fit_once(table, models, freq, horizon=h, stabilized=True, truncate=None, max_iter=50,
                   tol=1e-10)  # fmt: skip
    assert_close(fit.coefficients[1], ref["coef_nostart"])
    assert_close(fit.coefficients[0], ref["coef_start"])
    assert_close(fit.risk[0], ref["risk_stabilized"][0], rtol=1e-9, atol=1e-12)
    assert_close(fit.risk[1], ref["risk_stabilized"][1], rtol=1e-9, atol=1e-12)
    repeated = ccw(PATIENTS.loc[PATIENTS.index.repeat(freq)], grace=g, horizon=h,
                   covariates=["x1", "x2"])  # fmt: skip
    np.testing.assert_allclose(repeated.risk, fit.risk[:, h], rtol=1e-10)


def test_time_varying_covariate_against_r() -> None:
    """A covariate recorded on day 0 and on the days it changes, carried forward: the "no
    start" model of day k uses its value on day k, the "start" model its value on day G."""
    ref = REF["time_varying"]
    patients = pd.read_csv(REFERENCE / "clone_censor_tv_patients.csv")
    records = pd.read_csv(REFERENCE / "clone_censor_tv.csv")
    fit = ccw(patients, grace=REF["grace"], horizon=REF["horizon"], covariates=["x1"],
              time_varying=records, id="id")  # fmt: skip
    coef = fit.censoring_coefficients
    start, no_start = (coef[coef["strategy"] == s] for s in fit.strategies)
    assert_close(no_start["estimate"], ref["coef_nostart"])
    assert_close(start["estimate"], ref["coef_start"])
    assert start["term"].tolist() == ["(Intercept)", "x1", "z"]
    for k in (0, 1):
        curve = fit.curves[fit.curves["strategy"] == fit.strategies[k]]["risk"].to_numpy()
        assert_close(curve, ref["risk_stabilized"][k], rtol=1e-9, atol=1e-12)
    # the value as a baseline covariate (day 0 only) is another model
    baseline = patients.merge(records[records["day"] == 0][["id", "z"]], on="id")
    other = ccw(baseline, grace=REF["grace"], horizon=REF["horizon"], covariates=["x1", "z"])
    assert abs(other.risk[0] - fit.risk[0]) > 1e-6


def test_time_varying_arguments() -> None:
    patients = pd.read_csv(REFERENCE / "clone_censor_tv_patients.csv")
    records = pd.read_csv(REFERENCE / "clone_censor_tv.csv")
    options = {"grace": 2, "horizon": 30}
    with pytest.raises(ArgumentError, match="time_varying needs id"):
        ccw(patients, time_varying=records, **options)
    with pytest.raises(ArgumentError, match="id goes with time_varying"):
        ccw(patients, id="id", **options)
    with pytest.raises(ArgumentError, match="no record on day 0"):
        ccw(patients, time_varying=records[records["day"] > 0], id="id", **options)
    with pytest.raises(ArgumentError, match="same day"):
        ccw(patients, time_varying=pd.concat([records, records.head(1)]), id="id", **options)
    with pytest.raises(ArgumentError, match="missing or infinite"):
        ccw(patients, time_varying=records.assign(z=np.nan), id="id", **options)
    with pytest.raises(ArgumentError, match="names a patient twice"):
        ccw(pd.concat([patients, patients.head(1)]), time_varying=records, id="id", **options)
    with pytest.raises(ArgumentError, match="no covariate column"):
        ccw(patients, time_varying=records[["id", "day"]], id="id", **options)


def test_pooled_logistic_against_r_glm_with_weights() -> None:
    """The "start" censoring model of the R reference, refitted through the public
    function on the rows of day G + 1, with the bootstrap counts as weights."""
    g = REF["grace"]
    table = clone_table(PATIENTS, time="time", event="event", start="start", grace=g,
                        horizon=REF["horizon"])  # fmt: skip
    rows = table[(table["strategy"] == 0) & (table["start"] == g + 1)]
    p = PATIENTS.iloc[rows["patient"].to_numpy()]
    x = np.column_stack([p["x1"], p["x2"] == "b", p["x2"] == "c"]).astype(float)
    for weights, ref in ((None, REF["unweighted"]), (p["freq"].to_numpy(), REF["frequency"])):
        beta, converged = pooled_logistic(x, rows["censored"].to_numpy(float), weights=weights)
        assert converged
        assert_close(beta, ref["coef_start"])


def test_weights_in_closed_form() -> None:
    """Saturated censoring models: the weight of a "start" clone after the grace period is
    (alive at day G + 1) / (treated by G) in its covariate group, and a "no start" clone's
    weight on day k (no covariates) is the product over days j <= k of (at risk on j) /
    (at risk on j and not starting on j)."""
    #           group 0: 4 alive at day 3, 3 treated by day 2; group 1: 4 alive, 1 treated
    data = pd.DataFrame(
        {
            "time": [20, 20, 20, 20, 20, 20, 20, 20, 1],
            "event": [0, 0, 0, 0, 0, 0, 0, 0, 1],
            "start": [0, 1, 2, np.nan, 2, np.nan, np.nan, 5, np.nan],
            "group": [0, 0, 0, 0, 1, 1, 1, 1, 1],
        }
    )
    with pytest.warns(SmallSampleWarning, match="only 1 events"):  # one death
        fit = ccw(data, grace=2, horizon=10, covariates=["group"], stabilized=False)
    table = clone_table(data, time="time", event="event", start="start", grace=2, horizon=10)
    # the start clones entering day 3 uncensored: patients 0, 1, 2 (group 0) and 4 (group 1)
    # the weighted Kaplan-Meier at day 3 has them; their weights are 4/3 and 4/1
    w = _weights(data, grace=2, horizon=10, covariates=["group"], stabilized=False)
    post = (table["strategy"] == 0) & (table["start"] == 3) & ~table["censored"]
    assert dict(zip(table["patient"][post], w[post], strict=True)) == pytest.approx(
        {0: 4 / 3, 1: 4 / 3, 2: 4 / 3, 4: 4.0}, rel=1e-9
    )
    # no covariates: day 0, 9 at risk, 1 starts; day 1, 8 at risk (one died on day 1 counts
    # as at risk that day), 1 starts; day 2, 6 at risk (death on day 1), 2 start
    w0 = _weights(data, grace=2, horizon=10, covariates=[], stabilized=False)
    ns = (table["strategy"] == 1) & ~table["censored"]
    day_w = pd.Series(w0[ns], index=table["start"][ns]).groupby(level=0).first()
    factors = np.array([9 / 8, 8 / 7, 6 / 4])
    np.testing.assert_allclose(day_w.loc[[0, 1, 2]], np.cumprod(factors), rtol=1e-9)
    assert day_w.loc[3] == pytest.approx(np.prod(factors), rel=1e-9)
    # stabilised: multiplied by the marginal share uncensored, (8/9)(7/8)(4/6)
    ws = _weights(data, grace=2, horizon=10, covariates=[], stabilized=True)
    assert ws[ns][table["start"][ns] == 3] == pytest.approx(1.0)
    assert fit.n == 9


def _weights(data: pd.DataFrame, **options) -> np.ndarray:
    """The row weights of the estimate (NaN on censored rows)."""
    from dah_outcomes.stats._clone_engine import patient_arrays

    covariates = options.pop("covariates")
    t, e, s, x, _, _ = patient_arrays(data, "time", "event", "start", covariates)
    table = clone_arrays(t, e, s, options["grace"], options["horizon"])
    models, _ = censoring_models(table, x, options["grace"])
    fit = fit_once(table, models, np.ones(len(t)), horizon=options["horizon"],
                   stabilized=options["stabilized"], truncate=None, max_iter=50,
                   tol=1e-10)  # fmt: skip
    return fit.weights


def test_without_censoring_the_weighted_curve_is_kaplan_meier() -> None:
    """Nobody starts: "no start" clones are never censored, so their curve is the plain
    Kaplan-Meier; everybody starts on day 0: so is the "start" curve. Against ours and
    lifelines'."""
    lifelines = pytest.importorskip("lifelines")
    d = PATIENTS.assign(start=np.nan)
    h = REF["horizon"]
    km = kaplan_meier(d, time="time", event="event").survival_at(list(range(h + 1)))
    lf = lifelines.KaplanMeierFitter().fit(d["time"], d["event"])
    expected = 1 - lf.survival_function_at_times(np.arange(h + 1)).to_numpy()
    np.testing.assert_allclose(1 - km["survival"].to_numpy(), expected, atol=1e-12)
    with pytest.warns(SmallSampleWarning, match="no patient follows the strategy 'start"):
        never = ccw(d, grace=2, horizon=h, covariates=["x1"])
    curve = never.curves[never.curves["strategy"] == never.strategies[1]]["risk"]
    np.testing.assert_allclose(curve.to_numpy(), expected, atol=1e-12)
    assert np.isnan(never.risk[0])
    assert np.isnan(never.risk_difference)
    with pytest.warns(SmallSampleWarning, match="no patient follows the strategy 'no start"):
        always = ccw(d.assign(start=0.0), grace=2, horizon=h, covariates=["x1"])
    curve = always.curves[always.curves["strategy"] == always.strategies[0]]["risk"]
    np.testing.assert_allclose(curve.to_numpy(), expected, atol=1e-12)


def test_bootstrap_is_reproducible_and_covers_the_estimate() -> None:
    options = {"grace": 2, "horizon": 30, "covariates": ["x1", "x2"], "bootstrap": 40}
    a, b = ccw(PATIENTS, seed=7, **options), ccw(PATIENTS, seed=7, **options)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    c = ccw(PATIENTS, seed=8, **options)
    assert c.rd_ci_lower != a.rd_ci_lower
    assert a.rd_ci_lower < a.risk_difference < a.rd_ci_upper
    assert a.rr_ci_lower < a.risk_ratio < a.rr_ci_upper
    assert (a.risk_ci_lower < a.risk).all()
    assert (a.risk < a.risk_ci_upper).all()
    g = ccw(PATIENTS, seed=np.random.default_rng(7), **options)
    assert g.rd_ci_lower == a.rd_ci_lower  # a Generator seeded alike draws alike
    d = a.to_dict()
    assert [s["name"] for s in d["strategies"]] == list(a.strategies)
    assert set(d["strategies"][0]["risk"]) == {"estimate", "ci_lower", "ci_upper"}
    assert set(d["risk_ratio"]) == {"estimate", "ci_lower", "ci_upper"}
    frame = a.to_frame()
    assert frame["measure"].tolist() == ["risk", "risk", "risk_difference", "risk_ratio"]
    assert "Clone-censor-weight" in str(a)
    assert "<table" in a._repr_html_()
    with pytest.raises(ValueError, match="read-only"):
        a.risk[0] = 0.5


def test_truncation_clips_the_weights() -> None:
    options = {"grace": 2, "horizon": 30, "covariates": ["x1", "x2"], "stabilized": False}
    raw = ccw(PATIENTS, **options)
    cut = ccw(PATIENTS, truncate=90, **options)
    assert cut.weights["max"].max() < raw.weights["max"].max()
    assert (cut.weights["max_untruncated"] == raw.weights["max"]).all()
    assert cut.truncate == 90.0
    assert not np.allclose(cut.risk, raw.risk)


def _confounded(n: int, seed: int, *, effect: float = 1.0, p_infected: float = 0.0):
    """Daily starts (logistic in the day and a severity flag) and deaths (hazard doubled by
    severity, multiplied by ``effect`` once treated); infected patients are never treated."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.4
    infected = rng.random(n) < p_infected
    start = np.full(n, np.nan)
    death = np.full(n, np.inf)
    for day in range(120):
        p = 1 / (1 + np.exp(-(-1.5 + 1.0 * severe - 0.2 * day)))
        new = np.isnan(start) & np.isinf(death) & ~infected & (rng.random(n) < p)
        start[new] = day
        treated = ~np.isnan(start)
        h = 0.006 * np.where(severe, 3.0, 1.0) * np.where(treated, effect, 1.0)
        death[np.isinf(death) & (rng.random(n) < h)] = day
    return pd.DataFrame(
        {
            "time": np.minimum(death, 119),
            "event": np.isfinite(death).astype(int),
            "start": start,
            "severe": severe.astype(float),
            "infected": infected.astype(float),
        }
    )


def test_recovers_a_null_and_a_protective_effect() -> None:
    """With the censoring model right, the weighted contrast finds no effect where there is
    none, though the naive one does (the sick start early), and finds a protective one."""
    null = _confounded(6000, seed=3)
    fit = ccw(null, grace=3, horizon=60, covariates=["severe"], bootstrap=50)
    assert fit.rd_ci_lower < 0 < fit.rd_ci_upper
    assert abs(fit.risk_difference) < 0.03
    unadjusted = ccw(null, grace=3, horizon=60, bootstrap=0)
    assert unadjusted.risk_difference > fit.risk_difference + 0.02
    protective = ccw(_confounded(6000, seed=4, effect=0.3), grace=3, horizon=60,
                     covariates=["severe"], bootstrap=50)  # fmt: skip
    assert protective.rd_ci_upper < 0
    assert protective.risk_ratio < 0.8


def test_warnings_are_issued_and_recorded() -> None:
    small = PATIENTS.head(40)
    with pytest.warns(SmallSampleWarning, match="only .* events by day 30") as record:
        fit = ccw(small, grace=2, horizon=30)
    assert fit.warnings == tuple(str(r.message) for r in record)
    infected = _confounded(1500, seed=5, p_infected=0.3)
    # infected patients never start: they lack overlap with "start within 3 days" (one
    # PositivityWarning for the fit, naming the failure and the count below 0.01)
    with pytest.warns(PositivityWarning) as record:
        fit = ccw(infected, grace=3, horizon=60, covariates=["severe", "infected"])
    said = [str(r.message) for r in record if r.category is PositivityWarning]
    assert len(said) == 1
    assert "positivity fails under 'start" in said[0]
    assert "infected" in said[0]
    # those alive on day 4, when the untreated "start" clones are censored (one dying in the
    # grace period has followed the strategy, whatever its chances of starting)
    n_infected = int(((infected["infected"] == 1) & (infected["time"] >= 4)).sum())
    assert f"'start within 3 days': {n_infected} with a probability" in said[0]
    assert fit.positivity.n_low == (n_infected, 0)
    assert fit.positivity.message == said[0]
    assert said[0] in fit.warnings
    # one clone stands for many: a rare group in which almost nobody starts
    rare = pd.concat([_confounded(800, seed=6), _confounded(60, seed=7)], ignore_index=True)
    rare["group"] = np.r_[np.zeros(800), np.ones(60)]
    late = rare.index[rare["group"] == 1]
    rare.loc[late[1:], "start"] = np.nan
    rare.loc[late[0], ["start", "time", "event"]] = [0, 119, 0]
    with pytest.warns(PositivityWarning) as record:
        extreme = ccw(rare, grace=3, horizon=60, covariates=["group"], stabilized=False)
    assert any("extreme censoring weights" in str(r.message) for r in record)
    assert extreme.weights["max_untruncated"].max() > EXTREME_CLONE_WEIGHT


def test_missing_covariates_are_dropped_and_counted() -> None:
    d = PATIENTS.astype({"x1": float})
    d.loc[:4, "x1"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="5 of 300 rows dropped"):
        fit = ccw(d, grace=2, horizon=30, covariates=["x1"])
    assert (fit.n, fit.n_dropped) == (295, 5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"grace": -1, "horizon": 30}, "grace must be a whole number"),
        ({"grace": 2.5, "horizon": 30}, "grace must be a whole number"),
        ({"grace": 3, "horizon": 3}, "horizon must be a whole number of days after"),
        ({"grace": 2, "horizon": 30, "bootstrap": -1}, "bootstrap must be a whole number"),
        ({"grace": 2, "horizon": 30, "conf_level": 95}, "conf_level must be in"),
        ({"grace": 2, "horizon": 30, "truncate": 40}, "truncate must be a percentile"),
        ({"grace": 2, "horizon": 30, "seed": "x"}, "seed must be"),
        ({"grace": 2, "horizon": 30, "seed": -1}, "seed must be a whole number >= 0"),
        ({"grace": 2, "horizon": 30, "covariates": "x1"}, "sequence of column names"),
        ({"grace": 2, "horizon": 30, "covariates": ["nope"]}, "columns not in data"),
        ({"grace": 2, "horizon": 30, "labels": ("a", "a")}, "labels must be two"),
    ],
)
def test_bad_arguments(options: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        ccw(PATIENTS, **options)


def test_bad_data() -> None:
    with pytest.raises(ArgumentError, match="whole numbers of days"):
        ccw(PATIENTS.assign(time=PATIENTS["time"] + 0.5), grace=2, horizon=30)
    with pytest.raises(ArgumentError, match="whole numbers of days"):
        ccw(PATIENTS.assign(start=-1.0), grace=2, horizon=30)
    with pytest.raises(ArgumentError, match="must be 0/1"):
        ccw(PATIENTS.assign(event=2), grace=2, horizon=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ArgumentError, match="no complete rows"):
            ccw(PATIENTS.assign(time=np.nan), grace=2, horizon=30)


def test_day_interactions_make_the_censoring_model_saturated_in_day_and_covariate() -> None:
    """With one binary covariate, day-by-covariate terms saturate the "no start" model: its
    fitted probability of starting on each day is the observed share of starters among the
    clones at risk that day with that covariate value (an independent route: counting)."""
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.integers(0, 2, n)
    # starting depends on x differently by day: x = 1 cannot start before day 2
    start = np.where(x == 1, 2 + rng.poisson(2, n), rng.poisson(1.5, n)).astype(float)
    start[rng.random(n) < 0.2] = np.nan
    death = rng.exponential(200, n)
    data = pd.DataFrame(
        {
            "time": np.minimum(np.floor(death), 60),
            "event": (death < 60).astype(int),
            "start": start,
            "x": x.astype(float),
        }
    )
    fit = clone_censor_weight(
        data, time="time", event="event", start="start", grace=4, horizon=60,
        covariates=["x"], bootstrap=0, day_interactions=True,
    )  # fmt: skip
    coef = fit.censoring_coefficients
    no_start = coef[coef["strategy"] == coef["strategy"].unique()[1]].set_index("term")["estimate"]
    table = clone_table(data, time="time", event="event", start="start", grace=4, horizon=60)
    rows = table[(table["strategy"] == 1) & (table["start"] >= 1) & (table["start"] <= 4)]
    rows = rows.assign(x=data["x"].to_numpy()[rows["patient"].to_numpy()])
    checked = 0
    for (day, xv), cell in rows.groupby(["start", "x"]):
        share = cell["censored"].mean()
        if not 0 < share < 1:
            continue  # a saturated cell at 0 or 1 has an infinite logit
        checked += 1
        eta = (
            no_start["(Intercept)"]
            + no_start[f"day{day}"]
            + xv * (no_start["x"] + no_start[f"day{day}:x"])
        )
        assert 1 / (1 + np.exp(-eta)) == pytest.approx(share, abs=1e-8), (day, xv)
    assert checked >= 6
    additive = clone_censor_weight(
        data, time="time", event="event", start="start", grace=4, horizon=60,
        covariates=["x"], bootstrap=0,
    )  # fmt: skip
    assert not any(":" in t for t in additive.censoring_coefficients["term"])


def test_normal_interval_is_the_estimate_plus_minus_z_bootstrap_sds() -> None:
    """interval="normal" uses the same replicates as the percentile interval: the RD's is
    estimate ± z SD (the SD recorded as rd_se), the RR's the same on the log scale."""
    options = {"grace": 2, "horizon": 30, "covariates": ["x1", "x2"], "bootstrap": 40, "seed": 7}
    pct = ccw(PATIENTS, **options)
    nrm = ccw(PATIENTS, interval="normal", **options)
    assert pct.interval == "percentile"
    assert nrm.interval == "normal"
    assert nrm.risk_difference == pct.risk_difference
    assert nrm.rd_se == pct.rd_se
    assert nrm.rd_se > 0
    z = 1.959963984540054
    assert nrm.rd_ci_lower == pytest.approx(nrm.risk_difference - z * nrm.rd_se, rel=1e-12)
    assert nrm.rd_ci_upper == pytest.approx(nrm.risk_difference + z * nrm.rd_se, rel=1e-12)
    # log-scale interval of the ratio: its bounds' geometric mean is the estimate
    assert np.sqrt(nrm.rr_ci_lower * nrm.rr_ci_upper) == pytest.approx(nrm.risk_ratio)
    assert (nrm.risk_ci_lower >= 0).all()
    assert nrm.to_dict()["interval"] == "normal"
    assert nrm.to_dict()["risk_difference"]["se"] == nrm.rd_se
    # different from the percentile interval, but of the same spread
    assert nrm.rd_ci_lower != pct.rd_ci_lower
    half = (pct.rd_ci_upper - pct.rd_ci_lower) / 2
    assert 0.5 < (nrm.rd_ci_upper - nrm.rd_ci_lower) / 2 / half < 2
    with pytest.raises(ArgumentError, match="interval"):
        ccw(PATIENTS, grace=2, horizon=30, interval="bca")


def test_positivity_diagnostics_of_an_overlapping_fit() -> None:
    """Where every patient can follow both strategies nothing is announced, and the
    diagnostics are recorded all the same: the probabilities of following each strategy
    are the inverse of the unstabilised weights of the clones entering day grace + 1."""
    null = _confounded(3000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        fit = ccw(null, grace=3, horizon=60, covariates=["severe"], stabilized=False)
    p = fit.positivity
    assert not p.flagged
    assert p.n_low == (0, 0)
    assert fit.to_dict()["positivity"]["flagged"] is False
    # each strategy's largest unstabilised weight is 1 / its lowest probability of following
    # (a clone's probability only falls over the days; both covariate patterns have clones
    # still followed after the grace period)
    np.testing.assert_allclose(fit.weights["max"], 1 / np.array(p.min_probability), rtol=1e-9)
    assert all(0 < e <= n for e, n in zip(p.effective_n, p.n, strict=True))
    assert p.max_normalised_weight[0] > 1
