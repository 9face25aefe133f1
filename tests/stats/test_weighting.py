"""IPW weights and the logistic fit behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from dah_outcomes import ArgumentError
from dah_outcomes.stats.weighting import ipw_weights, logistic_fit


def test_logistic_fit_recovers_coefficients() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 2))
    y = (rng.random(20_000) < expit(-0.5 + x @ np.array([1.0, -2.0]))).astype(float)
    beta = logistic_fit(x, y)
    np.testing.assert_allclose(beta, [-0.5, 1.0, -2.0], atol=0.08)


def test_weights_balance_the_confounder() -> None:
    rng = np.random.default_rng(2)
    severe = rng.random(5000) < 0.5
    treated = rng.random(5000) < np.where(severe, 0.8, 0.2)
    df = pd.DataFrame({"severe": severe, "treated": treated})
    w = ipw_weights(df, treatment="treated", confounders=["severe"])
    for arm in (True, False):
        m = df["treated"] == arm
        balanced = np.average(df.loc[m, "severe"], weights=w[m])
        assert balanced == pytest.approx(df["severe"].mean(), abs=0.01)
    assert w.mean() == pytest.approx(1.0, abs=0.05)


def test_bad_treatment() -> None:
    df = pd.DataFrame({"t": [0, 1, 2], "c": [1.0, 2.0, 3.0]})
    with pytest.raises(ArgumentError, match="binary"):
        ipw_weights(df, treatment="t", confounders=["c"])
