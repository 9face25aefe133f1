"""The cited figures: one definition (the shipped claims file), one rule (the verdicts), one
answer whichever way it is asked (library, demo, command line)."""

from __future__ import annotations

import json
import tomllib
import warnings
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes

import dah_outcomes as dah
from dah_outcomes import ArgumentError
from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning, ImmortalTimeWarning
from dah_outcomes.plotting import plot_cited_figures
from dah_outcomes.reproduce.cited_figures import CITED_FIGURES_NAME
from dah_outcomes.reproduce.claims import Claim, load_claims, parse_printed
from dah_outcomes.reproduce.recompute import recompute
from dah_outcomes.reproduce.verdicts import VERDICTS, ReproductionResult, reproduce

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def cohort() -> dah.Cohort:
    return dah.generate_cohort("seed-article", n_sle=30_000, seed=1)


def test_cited_figures_are_the_shipped_claims() -> None:
    assert tuple(load_claims(CITED_FIGURES_NAME)) == dah.CITED_FIGURES
    assert [c.id for c in dah.CITED_FIGURES] == [
        "incidence",
        "first_manifestation",
        "mechanical_ventilation",
        "plasmapheresis",
        "nephritis",
        "recurrence",
        "mortality_aggressive",
        "mortality_historical",
    ]
    assert all(isinstance(c, Claim) for c in dah.CITED_FIGURES)


def test_one_definition_in_the_repository() -> None:
    # the claims file is package data, so it ships in the wheel...
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/*.toml" in config["tool"]["setuptools"]["package-data"]["dah_outcomes.reproduce"]
    # ...and no second copy of it lives in the repository to drift from it
    copies = sorted(
        p.relative_to(ROOT).as_posix()
        for p in ROOT.glob("**/cited_figures.toml")
        if ".venv" not in p.parts and "build" not in p.parts
    )
    assert copies == ["dah_outcomes/reproduce/data/cited_figures.toml"]


def test_compare_is_reproduce_of_the_shipped_claims(cohort) -> None:
    # the arm's mortality is an ever/never comparison of treatments started after onset
    with pytest.warns(ImmortalTimeWarning, match="immortal-time bias"):
        comparison = dah.compare_cited_figures(cohort)
    assert isinstance(comparison, ReproductionResult)
    with pytest.warns(ImmortalTimeWarning):
        expected = reproduce(load_claims("cited-figures"), cohort).to_frame()
    notes = comparison.to_frame().set_index("claim")["warnings"]
    assert "ImmortalTimeWarning" in notes["mortality_aggressive"]
    assert "ImmortalTimeWarning" not in notes["incidence"]
    pd.testing.assert_frame_equal(comparison.to_frame(), expected)
    assert set(comparison.to_frame()["verdict"]) <= set(VERDICTS)
    assert sum(comparison.verdict_counts.values()) == len(dah.CITED_FIGURES)
    assert list(comparison.verdict_counts) == list(VERDICTS)


def test_demo_and_reproduce_command_agree(tmp_path: Path, capsys) -> None:
    """The demo's table and `dah-outcomes reproduce cited-figures` give the same verdicts."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DahOutcomesWarning)  # the CLI prints them
        assert main(["demo", "--out", str(tmp_path), "--n-sle", "30000", "--seed", "1"]) == 0
        printed = capsys.readouterr().out
        demo = pd.read_csv(tmp_path / "cited_figures.csv")
        cohort = str(tmp_path / "cohort")
        assert main(["reproduce", "cited-figures", "--cohort", cohort, "--json"]) == 0
        command = pd.DataFrame(json.loads(capsys.readouterr().out)["claims"])
    assert list(demo["claim"]) == list(command["claim"]) == [c.id for c in dah.CITED_FIGURES]
    assert list(demo["verdict"]) == list(command["verdict"])
    assert demo["estimate"].tolist() == pytest.approx(command["estimate"].tolist(), abs=1e-12)
    for verdict in demo["verdict"]:
        assert verdict in printed
    saved = json.loads((tmp_path / "rates.json").read_text())["cited_figures"]["claims"]
    assert [r["verdict"] for r in saved] == list(demo["verdict"])


def test_cited_figures_on_a_200k_cohort() -> None:
    """The foundation's acceptance check under the one rule (it was "every figure agrees"
    under the comparison's own rule): incidence in 5-6% and historical mortality above 50%
    as estimates, and no cited figure contradicted by the cohort."""
    cohort = dah.generate_cohort("seed-article", n_sle=200_000, seed=2026)
    with pytest.warns(ImmortalTimeWarning):
        result = dah.compare_cited_figures(cohort)
    table = result.to_frame().set_index("claim")
    assert 0.05 <= table.loc["incidence", "estimate"] <= 0.06
    assert table.loc["incidence", "verdict"] == "reproduced"
    assert table.loc["mortality_historical", "estimate"] > 0.5
    assert table.loc["mortality_historical", "verdict"] == "reproduced"
    assert result.all_reproduced_or_consistent, table
    assert table["verdict"].isin(["reproduced", "consistent"]).all(), table
    # and, as the comparison's own rule asked before, each cited point value inside its CI
    cited = {
        "first_manifestation": 0.29,
        "mechanical_ventilation": 0.85,
        "plasmapheresis": 0.57,
        "nephritis": 0.57,
        "recurrence": 0.29,
        "mortality_aggressive": 0.12,
    }
    for claim, value in cited.items():
        row = table.loc[claim]
        assert row["ci_lower"] <= value <= row["ci_upper"], (claim, row)


def test_all_reproduced_or_consistent_counts_unrecomputable_against(small_tables) -> None:
    claims = [
        Claim("mort", "mortality", parse_printed("1 (33.3%)")),
        Claim("s", "survival_at", parse_printed("80%")),  # no time_days: not recomputable
    ]
    result = reproduce(claims, dah.Cohort(*small_tables))
    assert result.verdict_counts["reproduced"] == 1
    assert result.verdict_counts["not recomputable"] == 1
    assert not result.all_reproduced_or_consistent


def test_recompute_rejects_an_unknown_statistic(small_tables) -> None:
    with pytest.raises(ArgumentError, match="statistic must be one of"):
        recompute(Claim("x", "vibes", parse_printed("1%")), dah.Cohort(*small_tables))


def test_plot_cited_figures(cohort) -> None:
    with pytest.warns(ImmortalTimeWarning):
        result = dah.compare_cited_figures(cohort)
    ax = plot_cited_figures(result)
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "incidence"
    assert "mortality_aggressive (arm=MP+CYC+PLEX)" in labels
    verdicts = [t.get_text() for t in ax.figure.axes[1].get_yticklabels()]
    assert verdicts == list(result.to_frame()["verdict"])[::-1]
    hr_only = reproduce([Claim("hr", "hazard_ratio", parse_printed("0.8"), term="severe")], cohort)
    with pytest.raises(ArgumentError, match="percentage"):
        plot_cited_figures(hr_only)
