"""Fine-Gray regression (``cmprsk::crr`` conventions).

The shared R reference has no ``crr`` values, so the fit is checked three independent ways:

- the estimate and the inverse information equal a Breslow Cox fit on data expanded as
  ``survival::finegray`` expands it (competing rows kept at risk, weighted by
  ``G(t-) / G(T_i-)``), run through the Cox code that matches R's ``coxph`` — to 1e-8;
- the sandwich variance equals a line-by-line Python transcription of crr's Fortran
  routine ``crrvv`` (cmprsk 2.2-11) — to 1e-10 relative;
- without competing events the model is a Cox model, and both estimate and SE equal
  ``cox_regression(ties="breslow", robust=True)``;

plus a simulation from Fine and Gray's (1999) design, where the subdistribution hazard
ratio is known (a regression check: seeded, with a 3-SE window).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.subdistribution import censoring_survival_before, fine_gray


def _data(n: int, seed: int, ties: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.integers(0, 2, n)
    t = rng.exponential(10 / np.exp(0.4 * x1 - 0.5 * x2))
    return pd.DataFrame(
        {
            "t": np.ceil(t) if ties else t,
            "ev": rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3]),
            "x1": x1,
            "x2": x2,
        }
    )


def _km_censoring_before(t: np.ndarray, cens: np.ndarray) -> np.ndarray:
    """G(t_i-) by the textbook product, one loop per row (independent of the module)."""
    out = np.empty(len(t))
    for i, ti in enumerate(t):
        g = 1.0
        for u in np.unique(t[t < ti]):
            at_risk = np.sum(t >= u)
            g *= 1 - np.sum((t == u) & cens) / at_risk
        out[i] = g
    return out


def _crrvv(t2, ici, x, b, wt):
    """crr's variance pieces, transcribed from cmprsk's Fortran ``crrvv`` (one censoring
    group, no time-varying covariates); rows sorted by time."""
    n, p = x.shape
    e = np.exp(x @ b)

    def risk_weight(j: int, i: int) -> float:
        """Row j's weight in the risk set of row i's failure time (0: not in it)."""
        if t2[j] < t2[i]:
            return 0.0 if ici[j] <= 1 else e[j] * wt[i] / wt[j]
        return e[j]

    xb = np.zeros((n, p + 1))
    for i in range(n):
        if ici[i] != 1:
            continue
        for j in range(n):
            twt = risk_weight(j, i)
            xb[i, 0] += twt
            xb[i, 1:] += twt * x[j]
    v, v2 = np.zeros((p, p)), np.zeros((p, p))
    icrsk, ss2, qu, lc = n, np.zeros(p), np.zeros(p), 0
    for i in range(n):
        st1 = np.zeros(p)
        for j in range(n):
            if ici[j] != 1:
                continue
            if t2[j] <= t2[i]:
                twt = e[i]
            elif t2[i] < t2[j] and ici[i] > 1:
                twt = e[i] * wt[j] / wt[i]
            else:
                continue
            st1 -= (x[i] - xb[j, 1:] / xb[j, 0]) * twt / xb[j, 0]
        if ici[i] == 1:
            st1 += x[i] - xb[i, 1:] / xb[i, 0]
            vt = np.zeros((p, p))
            for j in range(n):
                dx = x[j] - xb[i, 1:] / xb[i, 0]
                vt += risk_weight(j, i) * np.outer(dx, dx)
            v += vt / xb[i, 0]
        if i == 0 or t2[i] > t2[i - 1]:
            qu = np.zeros(p)
            for j1 in range(lc, n):
                if ici[j1] != 1:
                    continue
                ss0, ss = 0.0, np.zeros(p)
                for j2 in range(n):
                    if t2[j2] >= t2[i]:
                        break
                    if ici[j2] <= 1:
                        continue
                    twt = e[j2] * wt[j1] / wt[j2]
                    ss0 += twt
                    ss += x[j2] * twt
                qu += (ss - xb[j1, 1:] * ss0 / xb[j1, 0]) / xb[j1, 0]
            for j in range(i, n):
                if t2[j] > t2[i]:
                    break
                if ici[j] == 0:
                    ss2 = ss2 - qu / icrsk**2
        st2 = ss2.copy()
        if ici[i] == 0:
            st2 += qu / icrsk
        st = st1 + st2
        v2 += np.outer(st, st)
        if i < n - 1 and t2[i + 1] > t2[i]:
            icrsk -= i - lc + 1
            lc = i + 1
    return v, v2


@pytest.mark.parametrize(("seed", "ties"), [(1, True), (2, False), (3, True)])
def test_variance_equals_transcribed_crr(seed: int, ties: bool) -> None:
    df = _data(45, seed, ties).sort_values("t", kind="stable").reset_index(drop=True)
    fit = fine_gray(df, time="t", event="ev", covariates=["x1", "x2"], min_events_per_variable=0)
    t2, ici = df["t"].to_numpy(), df["ev"].to_numpy()
    wt = _km_censoring_before(t2, ici == 0)
    np.testing.assert_allclose(censoring_survival_before(t2, ici == 0), wt, rtol=1e-12)
    v, v2 = _crrvv(t2, ici, df[["x1", "x2"]].to_numpy(float), fit.coef, wt)
    h = np.linalg.inv(v)
    np.testing.assert_allclose(fit.se, np.sqrt(np.diag(h @ v2 @ h.T)), rtol=1e-10)
    np.testing.assert_allclose(fit.naive_se, np.sqrt(np.diag(h)), rtol=1e-10)


def _finegray_expand(df: pd.DataFrame) -> pd.DataFrame:
    """survival::finegray's data: competing rows continue, weighted, to each failure."""
    g = censoring_survival_before(df["t"].to_numpy(), df["ev"].to_numpy() == 0)
    ft = np.unique(df.loc[df["ev"] == 1, "t"])
    g_at = {f: g[np.flatnonzero(df["t"].to_numpy() == f)[0]] for f in ft}
    rows = []
    for i, r in df.iterrows():
        rows.append((0.0, r["t"], float(r["ev"] == 1), 1.0, r["x1"], r["x2"]))
        if r["ev"] == 2:
            start = r["t"]
            for f in ft[ft > r["t"]]:
                rows.append((start, f, 0.0, g_at[f] / g[i], r["x1"], r["x2"]))
                start = f
    return pd.DataFrame(rows, columns=["start", "stop", "e", "w", "x1", "x2"])


@pytest.mark.parametrize(("seed", "ties"), [(4, True), (5, False)])
def test_estimate_equals_weighted_cox_on_finegray_data(seed: int, ties: bool) -> None:
    df = _data(200, seed, ties)
    fit = fine_gray(df, time="t", event="ev", covariates=["x1", "x2"])
    expanded = _finegray_expand(df)
    cox = cox_regression(
        expanded,
        time="stop",
        event="e",
        entry="start",
        weights="w",
        covariates=["x1", "x2"],
        ties="breslow",
    )
    np.testing.assert_allclose(fit.coef, cox.coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.naive_se, cox.naive_se, rtol=1e-8)
    assert fit.loglik[1] == pytest.approx(cox.loglik[1], rel=1e-9)


def test_without_competing_events_it_is_a_cox_model() -> None:
    df = _data(300, 6).assign(ev=lambda d: d["ev"].where(d["ev"] != 2, 0))
    fit = fine_gray(df, time="t", event="ev", covariates=["x1", "x2"])
    cox = cox_regression(
        df, time="t", event="ev", covariates=["x1", "x2"], ties="breslow", robust=True
    )
    np.testing.assert_allclose(fit.coef, cox.coef, rtol=1e-9)
    np.testing.assert_allclose(fit.se, cox.se, rtol=1e-9)


def test_recovers_the_subdistribution_hazard_ratio_of_fine_gray_1999() -> None:
    # Fine & Gray (1999), section 5: F1(t | x) = 1 - (1 - p (1 - exp(-t)))^exp(beta x)
    rng = np.random.default_rng(2026)
    n, p, beta = 4000, 0.6, 0.5
    x = rng.integers(0, 2, n).astype(float)
    r = np.exp(beta * x)
    f1_inf = 1 - (1 - p) ** r
    cause1 = rng.uniform(size=n) < f1_inf
    u = rng.uniform(size=n) * f1_inf
    t1 = -np.log(1 - (1 - (1 - u) ** (1 / r)) / p)  # inverse of F1(t | x)
    t2 = rng.exponential(1 / np.exp(beta * x))
    time = np.where(cause1, t1, t2)
    cens = rng.uniform(0, 3, n)
    ev = np.where(cens < time, 0, np.where(cause1, 1, 2))
    df = pd.DataFrame({"t": np.minimum(time, cens), "ev": ev, "x": x})
    fit = fine_gray(df, time="t", event="ev", covariates=["x"])
    assert abs(fit.coef[0] - beta) < 3 * fit.se[0]
    # the cause-specific Cox hazard ratio answers another question and misses beta here
    naive = cox_regression(
        df.assign(e1=(df["ev"] == 1).astype(int)), time="t", event="e1", covariates=["x"]
    )
    assert abs(naive.coef[0] - beta) > abs(fit.coef[0] - beta)


def test_result_views_and_errors() -> None:
    df = _data(120, 7)
    fit = fine_gray(df, time="t", event="ev", covariates=["x1", "x2"], cause=2)
    frame = fit.to_frame()
    assert list(frame["term"]) == ["x1", "x2"]
    assert (frame["ci_lower"] < frame["subdistribution_hr"]).all()
    d = fit.to_dict()
    assert d["cause"] == 2
    assert d["n_events"] == int((df["ev"] == 2).sum())
    with pytest.raises(ArgumentError, match="covariate"):
        fine_gray(df, time="t", event="ev", covariates=[])
    with pytest.raises(EstimationError, match="no events of cause 3"):
        fine_gray(df, time="t", event="ev", covariates=["x1"], cause=3)


def test_events_per_variable_warning() -> None:
    df = _data(45, 2, False)
    n_events = int((df["ev"] == 1).sum())
    with pytest.warns(SmallSampleWarning, match=rf"fine_gray: {n_events} events for 2"):
        fine_gray(df, time="t", event="ev", covariates=["x1", "x2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine_gray(df, time="t", event="ev", covariates=["x1", "x2"], min_events_per_variable=1)


def test_collinear_and_constant_covariates_are_named() -> None:
    df = _data(200, 4, True)
    with pytest.raises(EstimationError, match="collinear"):
        fine_gray(
            df.assign(x3=2 * df["x1"] - df["x2"]),
            time="t",
            event="ev",
            covariates=["x1", "x2", "x3"],
        )
    with pytest.raises(EstimationError, match=r"constant: \['k'\]"):
        fine_gray(df.assign(k=1.0), time="t", event="ev", covariates=["x1", "k"])


def test_separation_warns_that_the_coefficient_may_be_infinite() -> None:
    # R's coxph on the same rows: "Loglik converged before variable 1; coefficient may be
    # infinite"; no events of cause 1 where g = 1
    df = _data(200, 5, True)
    df["g"] = (np.arange(len(df)) % 2).astype(float)
    df.loc[(df["g"] == 1) & (df["ev"] == 1), "ev"] = 2
    with pytest.warns(SmallSampleWarning, match=r"converged before \['g'\]"):
        fine_gray(df, time="t", event="ev", covariates=["g", "x1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine_gray(_data(200, 5, True), time="t", event="ev", covariates=["x1", "x2"])
