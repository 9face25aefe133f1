"""Balance diagnostics: Table 1 shows the arm-defining flags as such, the weighted Table 1
(SMDs before and after weighting, effective sizes), overlap weights' exact balance with two
arms, and the love and overlap plots (drawn, and saved with the same bytes every run)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import dah_outcomes as dah
from dah_outcomes.analyses.balance import WeightedTableOne, weighted_table_one
from dah_outcomes.analyses.baseline import DEFINES_ARM, table_one
from dah_outcomes.cli import main
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, PositivityWarning
from dah_outcomes.io import save_cohort
from dah_outcomes.plotting import save_figure
from dah_outcomes.plotting.balance import plot_love, plot_overlap
from dah_outcomes.stats.balance import balance_table
from dah_outcomes.stats.propensity import propensity_weights

# Rituximab is given to few patients of some covariate patterns in seed-article: 134 of this
# cohort's patients have a propensity below 0.01 of it, a true near-violation of positivity
RITUXIMAB_OVERLAP = "'Rituximab': 134 with a propensity score below 0.01"

ARM_FLAGS = {"methylprednisolone_pulse", "cyclophosphamide", "plasmapheresis", "rituximab"}
MODEL_ROWS = ["severe", "infection", "mechanical_ventilation", "historical_era"]


@pytest.fixture(scope="module")
def cohort() -> dah.Cohort:
    return dah.generate_cohort("seed-article", n_sle=20_000, seed=3)


@pytest.fixture(scope="module")
def weighted(cohort: dah.Cohort) -> WeightedTableOne:
    with pytest.warns(PositivityWarning, match=RITUXIMAB_OVERLAP):
        return weighted_table_one(cohort)


def test_table_one_by_arm_shows_arm_defining_flags_as_such(cohort: dah.Cohort) -> None:
    t = table_one(cohort, "arm").to_frame().set_index("variable")
    defining = t[t["smd_note"] == DEFINES_ARM]
    assert set(defining.index) == ARM_FLAGS & set(t.index)
    assert defining["smd"].isna().all()
    others = t[t["smd_note"] == ""]
    assert np.isfinite(others["smd"]).all()
    assert not np.isinf(t["smd"]).any()


def test_table_one_by_another_grouping_has_no_notes(cohort: dah.Cohort) -> None:
    t = table_one(cohort, "era").to_frame()
    assert (t["smd_note"] == "").all()
    assert np.isfinite(t.loc[t["variable"].isin(ARM_FLAGS), "smd"]).all()


def test_weighted_table_one_records_its_positivity(weighted: WeightedTableOne) -> None:
    p = weighted.weights.positivity
    assert p is not None
    assert p.flagged
    i = p.groups.index("Rituximab")
    assert p.n_low[i] == 134
    assert p.min_probability[i] < 0.01
    # the arm's effective size is the one reported beside it
    assert p.effective_n[i] == pytest.approx(weighted.effective_n["Rituximab"])
    assert p.to_frame()["group"].tolist() == list(weighted.weights.arms)
    assert weighted.to_dict()["weights"]["positivity"]["message"] == p.message


def test_weighted_table_one(weighted: WeightedTableOne) -> None:
    t = weighted.to_frame().set_index("variable")
    arms = list(weighted.counts)
    assert arms[0] == "MP+CYC+PLEX"
    for a in arms:
        assert f"{a} (weighted)" in t.columns
    assert t.loc[MODEL_ROWS, "in_model"].all()
    assert not t.loc["age_at_onset", "in_model"]
    # the model's covariates are better balanced after weighting
    assert (t.loc[MODEL_ROWS, "smd_weighted"] < t.loc[MODEL_ROWS, "smd_unweighted"]).all()
    assert t.loc["severe", "smd_weighted"] < 0.1
    flags = t[t["smd_note"] == DEFINES_ARM]
    assert set(flags.index) == ARM_FLAGS
    assert flags[["smd_unweighted", "smd_weighted"]].isna().all().all()
    # unweighted proportions are those of Table 1's patients
    plex = t.loc["plasmapheresis", arms]
    assert plex["MP+CYC+PLEX"] == 1.0
    assert plex["MP+CYC"] == 0.0
    for a in arms:
        assert 0 < weighted.effective_n[a] <= weighted.counts[a]
    assert sum(weighted.counts.values()) == len(weighted.weights.weights)
    json.dumps(weighted.to_dict())
    assert "ATE-weighted" in str(weighted)


@pytest.mark.parametrize(("estimand", "reference"), [("ATT", "MP+CYC+PLEX"), ("overlap", None)])
def test_other_estimands(cohort: dah.Cohort, estimand: str, reference: str | None) -> None:
    with pytest.warns(PositivityWarning, match=RITUXIMAB_OVERLAP):
        t = weighted_table_one(cohort, estimand=estimand, reference=reference)
    assert t.weights.estimand == estimand
    frame = t.to_frame().set_index("variable")
    assert (frame.loc[MODEL_ROWS, "smd_weighted"] < frame.loc[MODEL_ROWS, "smd_unweighted"]).all()
    if estimand == "ATT":
        # the reference arm keeps its own patients unweighted
        assert t.effective_n[reference] == pytest.approx(t.counts[reference])


def test_truncation_reaches_the_weights(cohort: dah.Cohort) -> None:
    # truncation caps the weights, not the propensity scores: the warning stays
    with pytest.warns(PositivityWarning, match=RITUXIMAB_OVERLAP):
        t = weighted_table_one(cohort, truncate_at=2.0)
    assert t.weights.weights.max() <= 2.0
    assert t.weights.n_truncated > 0
    assert t.weights.truncation == "at 2"


def test_overlap_weights_balance_two_arms_exactly() -> None:
    rng = np.random.default_rng(8)
    n = 2000
    x, flag = rng.normal(size=n), rng.random(n) < 0.3
    treated = rng.random(n) < 1 / (1 + np.exp(-(0.4 * x + 0.9 * flag - 0.2)))
    data = pd.DataFrame({"arm": np.where(treated, "B", "A"), "x": x, "flag": flag})
    w = propensity_weights(data, treatment="arm", confounders=["x", "flag"], estimand="overlap")
    bal = balance_table(data, treatment="arm", covariates=["x", "flag"], weights=w.weights)
    # overlap weights from a logistic propensity model balance its covariates' means exactly
    np.testing.assert_allclose(bal.pairs["smd_weighted"], 0.0, atol=1e-8)
    assert (bal.pairs["smd_unweighted"].abs() > 0.1).all()


def test_weighted_table_one_errors(cohort: dah.Cohort) -> None:
    with pytest.raises(ArgumentError, match="reference"):
        weighted_table_one(cohort, estimand="ATT")
    with pytest.raises(ArgumentError, match="unknown"):
        weighted_table_one(cohort, adjust_for=("colour",))


def _bytes(ax: Axes) -> bytes:
    buffer = io.BytesIO()
    save_figure(ax, buffer, format="svg")
    return buffer.getvalue()


def test_love_plot(weighted: WeightedTableOne) -> None:
    ax = plot_love(weighted.to_frame())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    shown = weighted.to_frame()
    assert len(labels) == int((shown["smd_note"] == "").sum())
    assert "Severe presentation" in labels
    assert "Plasmapheresis" not in labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["unweighted", "weighted"]
    assert _bytes(ax) == _bytes(plot_love(weighted.to_frame()))


def test_overlap_plot(weighted: WeightedTableOne) -> None:
    ax = plot_overlap(weighted.weights, arm="MP+CYC")
    assert ax.get_xlabel() == "Propensity of MP+CYC given the covariates"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == len(weighted.counts)
    assert legend[0].startswith("MP+CYC+PLEX (n = ")
    assert _bytes(ax) == _bytes(plot_overlap(weighted.weights, arm="MP+CYC"))
    with pytest.raises(ArgumentError, match="arm must be one of"):
        plot_overlap(weighted.weights, arm="Dialysis")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_overlap(weighted.weights)  # the first arm by default, no warning


def test_cli_balance(
    cohort: dah.Cohort, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    save_cohort(cohort, tmp_path / "c")
    love, overlap = tmp_path / "love.svg", tmp_path / "overlap.png"
    args = [
        "balance",
        str(tmp_path / "c"),
        "--love-plot",
        str(love),
        "--overlap-plot",
        str(overlap),
    ]
    assert main([*args, "--estimand", "overlap", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["weights"]["estimand"] == "overlap"
    assert {"table", "counts", "effective_n", "adjusted_for", "threshold"} <= set(d)
    assert love.read_bytes().startswith(b"<?xml")
    assert overlap.read_bytes().startswith(b"\x89PNG")
    assert main(["balance", str(tmp_path / "c")]) == 0
    assert "effective sample size per arm" in capsys.readouterr().out
    assert main(["balance", str(tmp_path / "c"), "--estimand", "ATT"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: estimand='ATT' needs reference")
    assert main(["balance", str(tmp_path / "c"), "--love-plot", str(tmp_path / "x.gif")]) == 1
    assert "must end in .png, .svg or .pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["balance", str(tmp_path / "c"), "--estimand", "ATC"])
    assert exit_.value.code == 2
