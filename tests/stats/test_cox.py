"""Cox regression against R's coxph (survival 3.5-3): lung (Efron, Breslow), veteran
(categorical covariate), cgd (Andersen-Gill counting process with cluster-robust SE).
Tolerance 1e-5 relative as the issue asks (we see agreement to ~1e-9)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import ArgumentError, SmallSampleWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.testing import expect_dropped_rows

REF = Path(__file__).parents[1] / "reference"


def load(name: str) -> tuple[pd.DataFrame, dict]:
    return pd.read_csv(REF / f"{name}.csv"), json.loads((REF / f"{name}.json").read_text())


def check(fit, ref: dict) -> None:
    frame = fit.to_frame()
    assert list(frame["term"]) == ref["terms"]
    np.testing.assert_allclose(frame["coef"], ref["coef"], rtol=1e-5)
    np.testing.assert_allclose(frame["se"], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(frame["ci_lower"], ref["hr_lower"], rtol=1e-5)
    np.testing.assert_allclose(frame["ci_upper"], ref["hr_upper"], rtol=1e-5)
    np.testing.assert_allclose(frame["p_value"], ref["p"], rtol=1e-4)
    np.testing.assert_allclose(fit.loglik, ref["loglik"], rtol=1e-8)
    assert fit.concordance == pytest.approx(ref["concordance"], rel=1e-8)
    assert (fit.n, fit.n_events) == (ref["n"], ref["nevent"])


@pytest.mark.parametrize("index", [0, 1], ids=["efron", "breslow"])
def test_lung(index: int) -> None:
    lung, ref = load("lung")
    r = ref["cox"][index]
    with expect_dropped_rows(lung, ["time", "event", "age", "sex", "ph.ecog"]):
        fit = cox_regression(
            lung, time="time", event="event", covariates=["age", "sex", "ph.ecog"], ties=r["ties"]
        )
    check(fit, r)
    assert fit.n_dropped == len(lung) - fit.n
    assert fit.converged


def test_veteran_categorical_terms() -> None:
    vet, ref = load("veteran")
    # R keeps survival::veteran's factor level order (squamous is the reference)
    vet["celltype"] = pd.Categorical(
        vet["celltype"], categories=["squamous", "smallcell", "adeno", "large"]
    )
    check(
        cox_regression(
            vet, time="time", event="event", covariates=["trt", "karno", "age", "celltype"]
        ),
        ref["cox"][0],
    )


def test_cgd_andersen_gill_robust() -> None:
    cgd, ref = load("cgd")
    fit = cox_regression(
        cgd,
        time="stop",
        entry="start",
        event="event",
        covariates=["treat", "age", "inherit", "steroids"],
        id="id",
    )
    assert fit.robust
    check(fit, ref["andersen_gill"])


def test_strata_equal_separate_baselines() -> None:
    lung, _ = load("lung")
    used = ["time", "event", "age", "ph.ecog", "sex"]
    with expect_dropped_rows(lung, used):
        fit = cox_regression(
            lung, time="time", event="event", covariates=["age", "ph.ecog"], strata="sex"
        )
    # a stratum shift in time leaves a stratified fit unchanged
    shifted = lung.assign(time=np.where(lung["sex"] == 2, lung["time"] * 3, lung["time"]))
    with expect_dropped_rows(shifted, used):
        again = cox_regression(
            shifted, time="time", event="event", covariates=["age", "ph.ecog"], strata="sex"
        )
    np.testing.assert_allclose(fit.coef, again.coef, rtol=1e-10)


def test_weights_equal_duplicated_rows() -> None:
    lung, _ = load("lung")
    lung = lung.dropna(subset=["ph.ecog"])
    doubled = cox_regression(
        pd.concat([lung, lung]),
        time="time",
        event="event",
        covariates=["age", "sex"],
        ties="breslow",
    )
    weighted = cox_regression(
        lung.assign(w=2.0),
        time="time",
        event="event",
        covariates=["age", "sex"],
        weights="w",
        ties="breslow",
    )
    np.testing.assert_allclose(doubled.coef, weighted.coef, rtol=1e-8)


def test_monotone_likelihood_warns() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"t": rng.exponential(1, 60), "e": 1, "arm": np.repeat([0, 1], 30)})
    df.loc[df["arm"] == 1, "e"] = 0  # no events in one arm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cox_regression(df, time="t", event="e", covariates=["arm"])
    assert any(issubclass(w.category, SmallSampleWarning) for w in caught)


def test_arguments() -> None:
    lung, _ = load("lung")
    with pytest.raises(ArgumentError, match="ties"):
        cox_regression(lung, time="time", event="event", covariates=["age"], ties="exact")
    with pytest.raises(ArgumentError, match="covariate"):
        cox_regression(lung, time="time", event="event", covariates=[])


def _pair_counts(t, e, eta, w) -> np.ndarray:
    """Concordant, tied and all comparable pairs by brute force (R's counting: a pair is
    comparable when the shorter follow-up ends in an event; ties in eta count one half)."""
    conc = tied = total = 0.0
    for i in np.flatnonzero(e == 1):
        comp = (t > t[i]) | ((t == t[i]) & (e == 0))
        ww = w[i] * w[comp]
        conc += float(np.sum(ww * (eta[comp] < eta[i])))
        tied += float(np.sum(ww * (eta[comp] == eta[i])))
        total += float(np.sum(ww))
    return np.array([conc, tied, total])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concordance_equals_pairwise_count_with_ties_and_weights(seed: int) -> None:
    from dah_outcomes.stats._cox_engine import _concordance_fast

    rng = np.random.default_rng(seed)
    n = 157
    t = rng.integers(1, 30, n).astype(float)  # many tied times
    e = rng.integers(0, 2, n).astype(float)
    eta = rng.integers(0, 6, n).astype(float)  # many tied predictions
    w = rng.uniform(0.5, 2.0, n)
    c, ti, tot = _pair_counts(t, e, eta, w)
    got = _concordance_fast(t, e, eta, w, np.zeros(n))
    assert got == pytest.approx((c + ti / 2) / tot, rel=1e-12)
    # strata: pairs are formed within a stratum only
    s = rng.integers(0, 2, n)
    c, ti, tot = sum(_pair_counts(t[s == k], e[s == k], eta[s == k], w[s == k]) for k in (0, 1))
    assert _concordance_fast(t, e, eta, w, s) == pytest.approx((c + ti / 2) / tot, rel=1e-12)


# --- the fast engine against the general one --------------------------------------------

KINDS = ["tied", "untied", "weighted", "stratified", "start_stop", "start_stop_untied"]


def _engine_data(kind: str, seed: int = 11) -> pd.DataFrame:
    """Rows of every shape the engine has to bin: heavy ties in whole days (or none), deaths
    and censorings at the same time, a last time at which everyone at risk dies, rows at risk
    at no event time, an uncentred covariate, weights, strata and (start, stop] rows that
    enter exactly at an event time."""
    rng = np.random.default_rng(seed)
    n = 600
    x = np.column_stack([rng.normal(60, 10, n), rng.integers(0, 2, n), rng.normal(0, 1, n)])
    t = rng.exponential(15 / np.exp(0.02 * (x[:, 0] - 60) + 0.4 * x[:, 1] - 0.3 * x[:, 2]))
    t = t + 0.01 if kind.endswith("untied") else np.ceil(t)
    t = np.minimum(t, 40.0)
    e = (rng.random(n) < 0.7).astype(int)
    df = pd.DataFrame({"t": t, "e": e, "age": x[:, 0], "male": x[:, 1], "z": x[:, 2]})
    df["w"] = rng.uniform(0.3, 3.0, n) if kind == "weighted" else 1.0
    df["s"] = rng.integers(0, 3, n) if kind == "stratified" else 0
    df["id"] = np.arange(n)
    # everyone still at risk at the last time dies then; one row ends before any death
    last = pd.DataFrame({"t": 45.0, "e": 1, "age": [50.0, 70, 65], "male": [0.0, 1, 1]})
    df = pd.concat([df, last.assign(z=[0.1, -0.5, 1.2], w=1.0, s=0, id=[n, n + 1, n + 2])])
    df = pd.concat([df, df.iloc[[0]].assign(t=0.001, e=0, id=n + 3)], ignore_index=True)
    df["start"] = 0.0
    if kind.startswith("start_stop"):
        # split each follow-up at a day drawn within it (some on an event time), z changing
        cut = np.floor(df["t"] * rng.uniform(0, 1, len(df)))
        two = cut > 0
        first = df[two].assign(t=cut[two], e=0)
        second = df[two].assign(start=cut[two], z=df["z"][two] + 1.0)
        # a row entering after every death is at risk at no event time
        tail = df.iloc[[1]].assign(start=46.0, t=50.0, e=1)
        df = pd.concat([df[~two], first, second, tail], ignore_index=True)
    return df


def _fit_kwargs(kind: str) -> dict:
    kw: dict = {"time": "t", "event": "e", "covariates": ["age", "male", "z"]}
    if kind == "weighted":
        kw["weights"] = "w"
    if kind == "stratified":
        kw["strata"] = "s"
    if kind.startswith("start_stop"):
        kw.update(entry="start", id="id")
    return kw


def _strata(df: pd.DataFrame, kind: str) -> list:
    from dah_outcomes.stats._cox_engine import prepare_stratum

    entry = kind.startswith("start_stop")
    return [
        prepare_stratum(
            g[["age", "male", "z"]].to_numpy(float),
            g["t"].to_numpy(float),
            g["start"].to_numpy(float) if entry else None,
            g["e"].to_numpy(),
            g["w"].to_numpy(float),
        )
        for _, g in df.groupby("s", sort=True)
    ]


def _total(engine, groups: list, beta: np.ndarray, ties: str) -> tuple:
    """Log-likelihood, score and information summed over the strata."""
    parts = [engine(st, beta, ties) for st in groups]
    return tuple(sum(part[k] for part in parts) for k in range(3))


def _close(a, b, rtol: float = 1e-10, scale: float = 1.0) -> None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(scale, float(np.max(np.abs(b))))
    assert np.max(np.abs(a - b)) <= rtol * scale, np.max(np.abs(a - b)) / scale


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("kind", KINDS)
def test_fast_engine_equals_general_engine(kind: str, ties: str) -> None:
    from dah_outcomes.stats._cox_engine import (
        loglik_score_info,
        loglik_score_info_general,
        score_residuals,
        score_residuals_general,
    )

    df = _engine_data(kind)
    groups = _strata(df, kind)
    if kind != "untied":
        assert any((st.d > 1).any() for st in groups)  # the tied paths are exercised

    def newton(engine) -> np.ndarray:
        beta = np.zeros(3)
        for _ in range(12):  # far past convergence: both land on the same point
            _, u, i = _total(engine, groups, beta, ties)
            beta = beta + np.linalg.solve(i, u)
        return beta

    beta_hat = newton(loglik_score_info)
    _close(beta_hat, newton(loglik_score_info_general))
    for beta in (np.zeros(3), beta_hat, beta_hat + np.array([0.02, -0.3, 0.2])):
        for st in groups:
            fast, general = (
                loglik_score_info(st, beta, ties),
                loglik_score_info_general(st, beta, ties),
            )
            # the score is a difference of sums of w x over the deaths: relative to those
            size = float(np.sum(st.w[st.ev_rows] @ np.abs(st.x[st.ev_rows])))
            for a, b, scale in zip(fast, general, (1.0, size, 1.0), strict=True):
                _close(a, b, scale=scale)
            _close(score_residuals(st, beta, ties), score_residuals_general(st, beta, ties))

    # and through cox_regression: its log-likelihood, model SE and (robust) SE
    fit = cox_regression(df, ties=ties, concordance=False, **_fit_kwargs(kind))
    ll, _, info = _total(loglik_score_info_general, groups, fit.coef, ties)
    assert fit.loglik[1] == pytest.approx(ll, rel=1e-12)
    cov = np.linalg.inv(info)
    _close(fit.naive_se, np.sqrt(np.diag(cov)))
    if fit.robust:
        resid = np.vstack([score_residuals_general(st, fit.coef, ties) for st in groups])
        dfbeta = (resid * df["w"].to_numpy()[:, None]) @ cov  # one stratum: rows in order
        per_id = pd.DataFrame(dfbeta).groupby(df["id"].to_numpy()).sum().to_numpy()
        _close(fit.se, np.sqrt(np.diag(per_id.T @ per_id)))
