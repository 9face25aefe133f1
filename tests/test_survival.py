"""Survival by arm from a cohort: the DAH wiring, the CLI and the figure read back."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.analyses.survival import recurrence_by_group, survival_by_group
from dah_outcomes.cli import main
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import ImmortalTimeWarning
from dah_outcomes.plotting import plot_km
from dah_outcomes.stats.nonparametric import kaplan_meier


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=30_000, seed=5)


def immortal_time():
    """The generated cohorts record treatment flags without start dates (timing unknown), so
    every comparison by arm announces the immortal-time bias it may carry."""
    return pytest.warns(ImmortalTimeWarning, match="immortal-time bias")


def test_survival_by_arm_equals_km_on_the_death_frame(cohort: Cohort) -> None:
    with immortal_time():
        result = survival_by_group(cohort, "arm")
    frame = death_frame(cohort)
    direct = kaplan_meier(frame, time="time", event="event", group="arm")
    for g in direct.groups:
        np.testing.assert_array_equal(result.km.curve(g).survival, direct.curve(g).survival)
    assert result.km.groups[0] == "MP+CYC+PLEX"  # arms in their declared order
    assert result.logrank is not None
    assert result.logrank.df == len(direct.groups) - 1


def test_small_cohort_by_hand(small_tables) -> None:
    with immortal_time():
        result = survival_by_group(Cohort(*small_tables), "arm")
    d = result.to_dict()["groups"]
    assert d["MP+CYC"]["n_events"] == 1
    assert d["MP+CYC"]["survival_at"]["30"]["survival"] == 0.0
    assert d["MP+CYC+PLEX"]["survival_at"]["30"]["survival"] == 1.0


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
    with warnings.catch_warnings():
        warnings.simplefilter("always", ImmortalTimeWarning)
        assert (
            main(["survival", str(tmp_path / "c"), "--by", "arm", "--json", "--plot", str(png)])
            == 0
        )
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert out.err == f"warning: {d['warnings'][0]}\n"
    first = d["groups"]["MP+CYC+PLEX"]
    assert set(first) == {"n", "n_events", "median", "survival_at"}
    assert set(first["median"]) == {"estimate", "ci_lower", "ci_upper"}
    assert set(first["survival_at"]) == {"30", "90", "365"}
    assert d["landmark_days"] is None
    assert d["logrank"]["df"] == len(d["groups"]) - 1
    assert 0 <= d["logrank"]["p_value"] <= 1
    assert png.stat().st_size > 10_000
    with warnings.catch_warnings():
        warnings.simplefilter("always", ImmortalTimeWarning)
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
    assert r.gray is not None
    assert r.gray.df == 1
    save_cohort(cohort, tmp_path / "c")
    command = ["survival", str(tmp_path / "c"), "--endpoint", "recurrence"]
    with warnings.catch_warnings():
        warnings.simplefilter("always", ImmortalTimeWarning)  # by arm, the default
        assert main([*command, "--json", "--plot", str(tmp_path / "cif.svg")]) == 0
    d = json.loads(capsys.readouterr().out)
    first = next(iter(d["groups"].values()))
    assert {"n", "recurrences", "deaths_before_recurrence", "cif_at"} <= set(first)
    assert d["gray_test"]["df"] == len(d["groups"]) - 1
    assert (tmp_path / "cif.svg").read_text().lstrip().startswith("<?xml")
    # the text report names the test and each arm's subdistribution hazard ratio
    with warnings.catch_warnings():
        warnings.simplefilter("always", ImmortalTimeWarning)
        assert main(command) == 0
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
    land = result.at_times
    for _, r in land.dropna().iterrows():
        row = ci[(ci["group"] == r["group"]) & (ci["time"] <= r["time"])].iloc[-1]
        assert r["ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-12)


def test_recurrence_by_arm_carries_fine_gray_subdistribution_hazard_ratios() -> None:
    cohort = generate_cohort("seed-article", n_sle=60_000, seed=11)
    result = recurrence_by_group(cohort, by="era")
    assert result.fine_gray is not None
    d = result.to_dict()["fine_gray"]
    assert d["cause"] == 1
    assert len(d["terms"]) == len(result.cif.groups) - 1
    assert d["terms"][0]["term"].startswith("era")


def test_logrank_derived_from_the_curves_equals_the_test_on_the_rows(cohort: Cohort) -> None:
    from dah_outcomes.stats.logrank import logrank_test

    frame = death_frame(cohort)
    for by in ("arm", "era"):
        with immortal_time() if by == "arm" else contextlib.nullcontext():
            result = survival_by_group(cohort, by)
        direct = logrank_test(frame, time="time", event="event", group=by)
        assert result.logrank is not None
        assert result.logrank.statistic == pytest.approx(direct.statistic, rel=1e-12)
        assert (result.logrank.df, result.logrank.p_value) == pytest.approx(
            (direct.df, direct.p_value), rel=1e-12
        )
        # the same groups, in the grouping's order rather than sorted
        assert list(result.logrank.groups) == result.km.groups
        ours = dict(zip(result.logrank.groups, result.logrank.observed, strict=True))
        theirs = dict(zip(direct.groups, direct.observed, strict=True))
        assert ours == pytest.approx(theirs)


def test_survival_and_recurrence_by_every_grouping(cohort: Cohort) -> None:
    from dah_outcomes import BY_CHOICES, attach_group, patient_outcomes

    for by in BY_CHOICES:
        order = list(
            attach_group(patient_outcomes(cohort), cohort, by)[by].cat.categories.astype(str)
        )
        with immortal_time() if by == "arm" else contextlib.nullcontext():
            assert survival_by_group(cohort, by).km.groups == order, by
        with immortal_time() if by == "arm" else contextlib.nullcontext():
            assert list(recurrence_by_group(cohort, by).counts) == order, by


# --------------------------------------------------------------------------------------------
# hazard ratios


def test_hazard_ratios_are_the_adjusted_cox_model(cohort: Cohort) -> None:
    import pandas as pd

    from dah_outcomes import DEFAULT_ADJUSTMENT, hazard_ratios
    from dah_outcomes.stats.cox import cox_regression

    with immortal_time():
        hr = hazard_ratios(cohort)
    assert hr.adjust_for == DEFAULT_ADJUSTMENT == hr.adjusted_for
    assert hr.not_adjusted == {}
    assert hr.reference == hr.groups[0] == "MP+CYC+PLEX"
    assert hr.n_dropped == 0
    frame = death_frame(cohort)
    data = frame.assign(
        arm=pd.Categorical(frame["arm"], categories=list(hr.groups)),
        era=pd.Categorical(frame["era"], categories=["historical", "modern"]),
        **{c: frame[c].astype(float) for c in ("severe", "infection", "mechanical_ventilation")},
    )
    direct = cox_regression(
        data,
        time="time",
        event="event",
        covariates=["arm", "severe", "infection", "mechanical_ventilation", "era"],
    )
    table = hr.to_frame()
    assert tuple(table["term"]) == direct.terms
    np.testing.assert_allclose(table["hazard_ratio"], direct.hazard_ratio, rtol=1e-10)
    assert (hr.n, hr.n_events) == (direct.n, direct.n_events) == (len(frame), frame.event.sum())
    assert list(table["kind"]) == ["group"] * (len(hr.groups) - 1) + ["adjustment"] * 4
    d = json.loads(json.dumps(hr.to_dict()))
    assert d["adjusted_for"] == list(DEFAULT_ADJUSTMENT)
    assert len(d["terms"]) == len(table)
    # grouping by era: era is the comparison, not an adjustment
    by_era = hazard_ratios(cohort, by="era")
    assert "era" not in by_era.adjusted_for
    assert "era" in by_era.not_adjusted
    assert "era of onset (it is the grouping compared)" in by_era.methods_text()


def test_hazard_ratios_record_what_they_left_out(cohort: Cohort) -> None:
    import pandas as pd

    from dah_outcomes import DroppedRowsWarning, hazard_ratios

    e = cohort.episodes
    ids = e.loc[e["episode_number"] == 1, "patient_id"].iloc[:7]
    missing_some = e["patient_id"].isin(ids) & (e["episode_number"] == 1)
    changed = Cohort(
        cohort.patients,
        e.assign(infection=pd.NA, severe=e["severe"].mask(missing_some)),
        design=cohort.design,
    )
    with pytest.warns(DroppedRowsWarning, match="7 of"), immortal_time():
        hr = hazard_ratios(changed)
    assert hr.not_adjusted == {"infection": "no value recorded"}
    assert hr.adjusted_for == ("severe", "mechanical_ventilation", "era")
    assert hr.n_dropped == 7
    assert hr.n == cohort.n_dah_patients - 7
    assert "infection" not in set(hr.to_frame()["variable"])
    text = hr.methods_text()
    adjusted, _, rest = text.partition("Not adjusted for")
    assert "concurrent infection" not in adjusted
    assert "concurrent infection" in rest
    assert "7 left out for a missing covariate" in text


def test_hazard_ratio_argument_and_estimation_errors(small_tables) -> None:
    from dah_outcomes import ArgumentError, EstimationError, hazard_ratios

    cohort = Cohort(*small_tables)
    with pytest.raises(ArgumentError, match="adjust_for may name"):
        hazard_ratios(cohort, adjust_for=("shoe_size",))
    with pytest.raises(ArgumentError, match="sequence of covariate names"):
        hazard_ratios(cohort, adjust_for="severe")
    with pytest.raises(ArgumentError, match="conf_level"):
        hazard_ratios(cohort, conf_level=95)
    # two of the three arms have no death: no finite hazard ratio, and the error says so
    with pytest.raises(EstimationError, match="no deaths in arm group"), immortal_time():
        hazard_ratios(cohort, adjust_for=())
