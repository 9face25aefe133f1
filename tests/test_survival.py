"""Survival by arm from a cohort: the DAH wiring, the CLI and the figure read back."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from small_series_cohort import REFERENCE as SERIES_REFERENCE
from small_series_cohort import series_cohort

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.analyses.survival import recurrence_by_group, survival_by_group
from dah_outcomes.cli import main
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import ImmortalTimeWarning, UninformativeIntervalWarning
from dah_outcomes.plotting import plot_km
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.testing import assert_close


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
    # one patient per arm: every interval is of zero width (alive) or none (dead)
    with immortal_time(), pytest.warns(UninformativeIntervalWarning, match="9 Greenwood"):
        result = survival_by_group(Cohort(*small_tables), "arm")
    d = result.to_dict()["groups"]
    assert d["MP+CYC"]["n_events"] == 1
    assert d["MP+CYC"]["survival_at"]["30"]["survival"] == 0.0
    assert d["MP+CYC+PLEX"]["survival_at"]["30"]["survival"] == 1.0
    assert d["MP+CYC+PLEX"]["survival_at"]["30"]["exact_note"] == (
        "0 of 1 died by day 30: exact 95% upper bound on mortality 98%"  # 1 - 0.025
    )


# --------------------------------------------------------------------------------------------
# survival at fixed days in a small series: the exact bound beside an interval that says
# nothing (tests/reference/make_survival_exact_reference.R: survfit and binom.test)


def uninformative(match: str = "Greenwood interval"):
    return pytest.warns(UninformativeIntervalWarning, match=match)


def r_rows(level: float) -> dict[tuple[str, int], dict]:
    return {
        (r["arm"], r["time"]): r
        for r in SERIES_REFERENCE["rows"]
        if r["conf_level"] == level and r["estimated"]
    }


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_small_series_survival_and_exact_bounds_against_r(level: float) -> None:
    with immortal_time(), uninformative("survival by arm: 4 Greenwood interval"):
        result = survival_by_group(series_cohort(), "arm", conf_level=level)
    ours = result.at_times.set_index(["group", "time"])
    ref = r_rows(level)
    assert len(ref) == 8  # MP+CYC at 365 is past its follow-up: not estimated, by either
    assert np.isnan(ours.loc[("MP+CYC", 365.0), "survival"])
    for (arm, day), r in ref.items():
        row = ours.loc[(arm, float(day))]
        assert_close(
            [row["survival"], row["n_risk"], row["n_dead"], row["n_known"]],
            [r["survival"], r["n_risk"], r["n_dead"], r["n_known"]],
            rtol=1e-12,
        )
        for col in ("ci_lower", "ci_upper"):  # R's NA (survival 0, log scale) is our NaN
            assert (np.isnan(row[col]) and r[col] is None) or abs(row[col] - r[col]) < 1e-12
        assert abs(row["exact_lower"] - r["exact_lower"]) < 1e-12, (arm, day)
        assert abs(row["exact_upper"] - r["exact_upper"]) < 1e-12, (arm, day)
    marked = result.uninformative.set_index(["group", "time"])["interval_problem"].to_dict()
    assert marked == {
        ("Rituximab", 30.0): "zero width",
        **{("Steroids without CYC", float(t)): "no interval" for t in (30, 90, 365)},
    }


def test_small_series_exact_bound_in_words_recorded_and_warned() -> None:
    with immortal_time(), uninformative() as caught:
        result = survival_by_group(series_cohort(), "arm")
    notes = result.uninformative.set_index(["group", "time"])["exact_note"]
    # 1 - 0.025^(1/6) = 0.459 (the 46%); 0.025^(1/2) = 0.158
    assert notes[("Rituximab", 30.0)] == (
        "0 of 6 died by day 30: exact 95% upper bound on mortality 46%"
    )
    assert notes[("Steroids without CYC", 90.0)] == (
        "2 of 2 died by day 90: exact 95% lower bound on mortality 16%"
    )
    message = next(str(w.message) for w in caught if w.category is UninformativeIntervalWarning)
    assert "Rituximab at 30 (survival 1.000, CI 1.000-1.000): 0 of 6 died" in message
    assert "Steroids without CYC at 30 (survival 0.000, CI none): 2 of 2 died" in message
    assert message in result.warnings  # recorded on the result, as the immortal-time one
    d = result.to_dict()
    rtx = d["groups"]["Rituximab"]["survival_at"]
    assert rtx["30"]["interval_problem"] == "zero width"
    assert rtx["30"]["exact_note"] == notes[("Rituximab", 30.0)]
    assert rtx["90"]["interval_problem"] is None  # 0.625 (0.320-1.000) says something
    assert rtx["90"]["exact_note"] is None
    assert (rtx["90"]["n_dead"], rtx["90"]["n_known"]) == (2, 5.0)
    assert message in d["warnings"]


def test_no_uninformative_warning_when_every_interval_says_something() -> None:
    # by era the series is one group of 16 with deaths before each day: no warning at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = survival_by_group(series_cohort(), "era")
    assert result.uninformative.empty
    assert result.warnings == ()
    assert set(result.at_times["exact_note"]) == {""}


def test_uninformative_interval_after_a_landmark_is_named_so() -> None:
    # alive at day 30: 6 rituximab, 5 MP+CYC; nobody dies in the next 5 days
    with uninformative("from the day-30 landmark: 1 Greenwood"):
        result = survival_by_group(series_cohort(), "era", landmark_days=30, times=[5, 60])
    notes = result.uninformative["exact_note"].tolist()
    # 1 - 0.025^(1/11) = 0.285
    assert notes == [
        "0 of 11 died by day 5 after the landmark: exact 95% upper bound on mortality 28%"
    ]


def test_mark_uninformative_words_each_case() -> None:
    import pandas as pd

    from dah_outcomes.analyses.small_series import mark_uninformative, uninformative_message
    from dah_outcomes.errors import ArgumentError

    at = pd.DataFrame(
        {
            "group": ["a", "b", "c", "d", "e"],
            "time": [30.0, 30.0, 30.0, 30.0, 400.0],
            "survival": [0.5, 0.5, 1.0, 0.4, np.nan],
            "ci_lower": [0.0, 0.2, 1.0, 0.1, np.nan],  # a: plain CI clipped to 0 to 1
            "ci_upper": [1.0, 0.9, 1.0, 0.8, np.nan],
            "exact_lower": [0.0126, 0.1, 0.9, 0.05, np.nan],
            "exact_upper": [0.9874, 0.9, 1.0, 0.75, np.nan],
            "n_known": [2.0, 10.0, 35.0, 5.0, 0.0],
            "conf_level": [0.95] * 5,
        }
    )
    marked = mark_uninformative(at, [1, 5, 0, 3, 2])
    assert marked["interval_problem"].tolist() == ["covers 0 to 1", "", "zero width", "", ""]
    assert marked.loc[0, "exact_note"] == (
        "1 of 2 died by day 30: exact 95% CI on mortality 1.3% to 99%"
    )
    assert marked.loc[2, "exact_note"] == (
        "0 of 35 died by day 30: exact 95% upper bound on mortality 10%"
    )
    assert marked["exact_note"].tolist()[1::2] == ["", ""]  # unmarked, or no estimate
    message = uninformative_message(marked, "test", shown=1)
    assert message is not None
    assert message.startswith("test: 2 Greenwood interval(s) say nothing")
    assert message.endswith("; and 1 more")
    assert uninformative_message(marked.iloc[[1, 3]], "test") is None
    with pytest.raises(ArgumentError, match="one count per row"):
        mark_uninformative(at, [0])


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
