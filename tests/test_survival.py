"""Survival by arm from a cohort: the DAH wiring, the CLI and the figure read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.analyses.survival import recurrence_by_group, survival_by_group
from dah_outcomes.cli import main
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.plotting import plot_km
from dah_outcomes.stats.nonparametric import kaplan_meier


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=30_000, seed=5)


def test_survival_by_arm_equals_km_on_the_death_frame(cohort: Cohort) -> None:
    result = survival_by_group(cohort, "arm")
    frame = death_frame(cohort)
    direct = kaplan_meier(frame, time="time", event="event", group="arm")
    for g in direct.groups:
        np.testing.assert_array_equal(result.km.curve(g).survival, direct.curve(g).survival)
    assert result.km.groups[0] == "MP+CYC+PLEX"  # arms in their declared order
    assert result.logrank is not None and result.logrank.df == len(direct.groups) - 1


def test_small_cohort_by_hand(small_tables) -> None:
    result = survival_by_group(Cohort(*small_tables), "arm")
    d = result.to_dict()["groups"]
    assert d["MP+CYC"]["events"] == 1 and d["MP+CYC"]["landmarks"]["30"]["survival"] == 0.0
    assert d["MP+CYC+PLEX"]["landmarks"]["30"]["survival"] == 1.0


def test_at_risk_numbers_drawn_equal_the_estimator(cohort: Cohort) -> None:
    km = survival_by_group(cohort, "era").km
    times = [0, 365, 730, 1095]
    ax = plot_km(km, at_risk_times=times)
    table = next(a for a in ax.figure.axes if a.get_label() == "at-risk table")
    labels = [t.get_text() for t in table.get_yticklabels()]
    assert labels == km.groups
    drawn = sorted(
        (round(t.get_position()[1]), t.get_position()[0], int(t.get_text())) for t in table.texts
    )
    for row, curve in enumerate(reversed(km.curves)):
        numbers = [v for y, _, v in drawn if y == row]
        assert numbers == [int(km.n_at_risk(curve, t)) for t in times]


def test_cli_survival_json_and_plot(cohort: Cohort, tmp_path: Path, capsys) -> None:
    from dah_outcomes.io import save_cohort

    save_cohort(cohort, tmp_path / "c")
    png = tmp_path / "km.png"
    assert main(["survival", str(tmp_path / "c"), "--by", "arm", "--json", "--plot", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    first = d["groups"]["MP+CYC+PLEX"]
    assert set(first) == {"n", "events", "median", "median_ci", "landmarks"}
    assert set(first["landmarks"]) == {"30", "90", "365"}
    assert d["logrank"]["df"] == len(d["groups"]) - 1 and 0 <= d["logrank"]["p_value"] <= 1
    assert png.stat().st_size > 10_000
    assert main(["survival", str(tmp_path / "c"), "--plot", str(tmp_path / "x.gif")]) == 1


def test_forest_plot_draws_each_term() -> None:
    import pandas as pd

    from dah_outcomes.plotting import plot_forest

    table = pd.DataFrame(
        {
            "term": ["a", "b"],
            "hazard_ratio": [0.5, 2.0],
            "ci_lower": [0.3, 1.5],
            "ci_upper": [0.8, 2.9],
        }
    )
    ax = plot_forest(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert ax.get_xscale() == "log"
    assert any("0.50 (0.30-0.80)" in t.get_text() for t in ax.texts)


def test_recurrence_with_death_competing(cohort: Cohort, tmp_path: Path, capsys) -> None:
    from dah_outcomes.analyses.survival import recurrence_by_group
    from dah_outcomes.io import save_cohort

    r = recurrence_by_group(cohort, "era")
    land = r.to_frame()
    ok = land["cif"] > 0
    assert (land.loc[ok, "ci_lower"] < land.loc[ok, "cif"]).all()
    assert (land.loc[ok, "cif"] < land.loc[ok, "ci_upper"]).all()
    assert r.gray is not None and r.gray.df == 1
    save_cohort(cohort, tmp_path / "c")
    assert (
        main(
            [
                "survival",
                str(tmp_path / "c"),
                "--endpoint",
                "recurrence",
                "--json",
                "--plot",
                str(tmp_path / "cif.svg"),
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    first = next(iter(d["groups"].values()))
    assert {"n", "recurrences", "deaths_before_recurrence", "landmarks"} <= set(first)
    assert d["gray_test"]["df"] == len(d["groups"]) - 1
    assert (tmp_path / "cif.svg").read_text().lstrip().startswith("<?xml")
    # the text report names the test and each arm's subdistribution hazard ratio
    assert main(["survival", str(tmp_path / "c"), "--endpoint", "recurrence"]) == 0
    text = capsys.readouterr().out
    assert "Gray's test" in text
    assert "Fine-Gray subdistribution hazard ratios of recurrence:" in text


def test_cif_figure_draws_the_confidence_band_of_the_estimator() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from dah_outcomes.plotting import plot_cif

    cohort = generate_cohort("seed-article", n_sle=60_000, seed=11)
    result = recurrence_by_group(cohort, by="era")
    ax = plot_cif(result.cif, cause=1)
    bands = {c.get_gid(): c for c in ax.collections if str(c.get_gid()).startswith("ci-")}
    assert set(bands) == {f"ci-{g}" for g in result.cif.groups}
    ci = result.cif.confidence_interval(1)
    for g in result.cif.groups:
        verts = bands[f"ci-{g}"].get_paths()[0].vertices
        part = ci[ci["group"] == g].dropna()
        # the band's top edge reaches the largest upper bound, its bottom the lower bounds
        assert verts[:, 1].max() == pytest.approx(part["ci_upper"].max(), rel=1e-12)
        assert set(np.round(part["ci_lower"], 12)) <= set(np.round(verts[:, 1], 12))
    # the CI contains the estimate and the landmark CIs are the same numbers
    inner = ci.dropna(subset=["ci_lower", "ci_upper"])
    assert len(inner) > 0.9 * len(ci)
    assert ((inner["ci_lower"] <= inner["cif"]) & (inner["cif"] <= inner["ci_upper"])).all()
    land = result.landmarks
    for _, r in land.dropna().iterrows():
        row = ci[(ci["group"] == r["group"]) & (ci["time"] <= r["time"])].iloc[-1]
        assert r["ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-12)


def test_recurrence_by_arm_carries_fine_gray_subdistribution_hazard_ratios() -> None:
    cohort = generate_cohort("seed-article", n_sle=60_000, seed=11)
    result = recurrence_by_group(cohort, by="era")
    assert result.fine_gray is not None
    d = result.to_dict()["fine_gray"]
    assert d["cause"] == 1 and len(d["terms"]) == len(result.cif.groups) - 1
    assert d["terms"][0]["term"].startswith("era")
