"""Firth-penalised Cox: properties (there is no R coxphf value in tests/reference)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import SmallSampleWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.firth import firth_cox


def small_series(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], 12)
    t = rng.exponential(30, 24)
    died = (arm == 0) & (rng.random(24) < 0.6)  # no deaths in arm 1
    return pd.DataFrame({"t": np.ceil(t), "e": died.astype(int), "plex": arm})


def test_finite_estimate_where_plain_cox_diverges() -> None:
    df = small_series()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = cox_regression(df, time="t", event="e", covariates=["plex"], ties="breslow")
    assert any(issubclass(w.category, SmallSampleWarning) for w in caught)
    assert abs(plain.coef[0]) > 10
    firth = firth_cox(df, time="t", event="e", covariates=["plex"])
    est = firth.coef[0]
    assert np.isfinite(est)
    assert -8 < est < 0
    assert firth.ci_lower[0] < est < firth.ci_upper[0]
    assert np.isfinite(firth.ci_upper[0])  # the upper limit is finite; the lower may not be


def test_close_to_plain_cox_with_many_events() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.5 * x))
    df = pd.DataFrame({"t": t, "e": (rng.random(n) < 0.8).astype(int), "x": x})
    plain = cox_regression(df, time="t", event="e", covariates=["x"], ties="breslow")
    firth = firth_cox(df, time="t", event="e", covariates=["x"])
    assert firth.coef[0] == pytest.approx(plain.coef[0], abs=0.01)
    frame = firth.to_frame()
    assert frame.loc[0, "ci_lower"] < frame.loc[0, "hazard_ratio"] < frame.loc[0, "ci_upper"]
