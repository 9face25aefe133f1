"""The proportional-hazards test (R's ``cox.zph``).

Two checks. R's printed ``cox.zph`` for ``coxph(Surv(time, status) ~ age + sex + ph.ecog,
lung)`` (survival 3.x, transform "km"): chisq age 0.188, sex 2.305, ph.ecog 2.054, GLOBAL
4.464 — published R output, given to three decimals, so compared at 5e-4. And an
independent score test: the data split at every death time into counting-process rows with
the extra covariates ``x * g(t)``, scored by the Cox code (which matches ``coxph``) at
``(beta_hat, 0)``; the two must agree to rounding (1e-8) with ties, strata and weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats._cox_engine import loglik_score_info, prepare_stratum
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.proportional_hazards import (
    _transform_times,
    proportional_hazards_test,
)
from dah_outcomes.testing import expect_dropped_rows

REF = Path(__file__).parents[1] / "reference"
LUNG = pd.read_csv(REF / "lung.csv")
VETERAN = pd.read_csv(REF / "veteran.csv")

# R 4.x, survival 3.x: print(cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, lung)))
R_LUNG_ZPH = {"age": 0.188, "sex": 2.305, "ph.ecog": 2.054, "GLOBAL": 4.464}


def test_matches_r_cox_zph_on_lung() -> None:
    with expect_dropped_rows(LUNG, ["time", "event", "age", "sex", "ph.ecog"]):
        z = proportional_hazards_test(
            LUNG, time="time", event="event", covariates=["age", "sex", "ph.ecog"]
        )
    frame = z.to_frame().set_index("term")
    for term, chisq in R_LUNG_ZPH.items():
        assert frame.loc[term, "chisq"] == pytest.approx(chisq, abs=5e-4)
    assert frame["df"].tolist() == [1, 1, 1, 3]
    assert z.fit.n_events == 164
    # one scaled residual per death, centred on beta where hazards are proportional
    assert z.scaled_residuals.shape == (164, 3)
    np.testing.assert_allclose(np.nanmean(z.scaled_residuals, axis=0), z.fit.coef, atol=0.05)


def _split_score_test(
    df: pd.DataFrame,
    covs: list[str],
    strata: str | None,
    weights: str | None,
    ties: str,
    transform: str,
) -> float:
    """Global score test for x * g(t), computed on data split at the death times."""
    fit = cox_regression(
        df, time="t", event="e", covariates=covs, strata=strata, weights=weights, ties=ties
    )
    x = df[covs].to_numpy(float)
    ttimes = _transform_times(df["t"].to_numpy(float), df["e"].to_numpy(float), None, transform)
    g = ttimes - ttimes[df["e"].to_numpy() == 1].mean()
    g_at = dict(zip(df["t"], g, strict=False))  # g depends on the time only
    cuts = np.unique(df.loc[df["e"] == 1, "t"])
    is_cut = set(cuts.tolist())
    total_u, total_i = 0.0, 0.0
    st_col = np.zeros(len(df)) if strata is None else df[strata].to_numpy()
    for s in np.unique(st_col):
        m = st_col == s
        rows = []
        for i in np.flatnonzero(m):
            t_i, start = df["t"].iat[i], 0.0
            for c in [*cuts[cuts < t_i], t_i]:
                ev = float(df["e"].iat[i] == 1 and c == t_i)
                gc = g_at[c] if c in is_cut else 0.0
                rows.append(
                    (
                        start,
                        c,
                        ev,
                        *x[i],
                        *(x[i] * gc),
                        1.0 if weights is None else df[weights].iat[i],
                    )
                )
                start = c
        a = np.array(rows)
        p = len(covs)
        st = prepare_stratum(a[:, 3 : 3 + 2 * p], a[:, 1], a[:, 0], a[:, 2], a[:, -1])
        _, u, info = loglik_score_info(st, np.concatenate((fit.coef, np.zeros(p))), ties)
        total_u, total_i = total_u + u, total_i + info
    u = np.concatenate((np.zeros(len(covs)), total_u[len(covs) :]))
    return float(u @ np.linalg.solve(total_i, u))


@pytest.mark.parametrize(
    ("ties", "strata", "weights", "transform"),
    [
        ("efron", None, None, "km"),
        ("breslow", None, None, "km"),
        ("efron", "s", None, "rank"),
        ("efron", None, "w", "identity"),
        ("breslow", "s", "w", "km"),
    ],
)
def test_equals_score_test_on_split_data(ties, strata, weights, transform) -> None:
    rng = np.random.default_rng(7)
    n = 70
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 2, n).astype(float),
            "s": rng.integers(0, 2, n),
            "w": rng.uniform(0.5, 2, n),
        }
    )
    # time-varying effect of x2, whole-day times so that deaths tie
    scale = np.exp(0.5 * df["x1"] + df["x2"] * rng.normal(0.8, 0.5, n))
    df["t"] = np.ceil(rng.weibull(0.7, n) * 30 / scale)
    df["e"] = (rng.uniform(size=n) < 0.8).astype(int)
    z = proportional_hazards_test(
        df,
        time="t",
        event="e",
        covariates=["x1", "x2"],
        strata=strata,
        weights=weights,
        ties=ties,
        transform=transform,
    )
    expected = _split_score_test(df, ["x1", "x2"], strata, weights, ties, transform)
    assert z.chisq[-1] == pytest.approx(expected, rel=1e-8)


def test_categorical_term_is_one_test_with_k_minus_1_df() -> None:
    z = proportional_hazards_test(
        VETERAN, time="time", event="event", covariates=["trt", "karno", "celltype"]
    )
    frame = z.to_frame().set_index("term")
    assert frame.loc["celltype", "df"] == 3
    assert frame.loc["GLOBAL", "df"] == 5
    # Karnofsky score is the textbook non-proportional covariate in this trial
    assert frame.loc["karno", "p_value"] < 0.01
    assert any(line.startswith("karno: its effect appears to change") for line in z.advice())
    assert z.scaled_residuals.shape == (len(z.time), 3)


def test_to_dict_and_bad_transform() -> None:
    z = proportional_hazards_test(LUNG, time="time", event="event", covariates=["age"])
    d = z.to_dict()
    assert d["transform"] == "km"
    assert d["tests"][-1]["term"] == "GLOBAL"
    assert "proportional" in d["advice"][-1]
    with pytest.raises(ArgumentError, match="transform must be one of"):
        proportional_hazards_test(
            LUNG, time="time", event="event", covariates=["age"], transform="sqrt"
        )


def test_residual_figure_draws_the_residuals_and_the_fitted_coefficient() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from dah_outcomes.plotting import plot_schoenfeld

    z = proportional_hazards_test(VETERAN, time="time", event="event", covariates=["trt", "karno"])
    ax = plot_schoenfeld(z, "karno")
    lines = {line.get_gid(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["residuals"].get_ydata(), z.scaled_residuals[:, 1])
    assert lines["fitted"].get_ydata()[0] == pytest.approx(z.fit.coef[1])
    assert len(lines["binned-means"].get_xdata()) == 10
    assert "p = " in ax.get_title()
    with pytest.raises(ArgumentError, match="no term"):
        plot_schoenfeld(z, "age")
