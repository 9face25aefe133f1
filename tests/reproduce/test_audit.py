"""The published series and the audit of the cited figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dah_outcomes.cli import main
from dah_outcomes.reproduce.audit import audit_claims
from dah_outcomes.reproduce.claims import load_claims
from dah_outcomes.reproduce.published import load_published_series, select_studies

CITED = "cited-figures"  # the shipped claims file, by name


def test_published_series_loads_with_provenance_columns() -> None:
    d = load_published_series()
    assert len(d) == 100
    assert {"study_id", "events", "total", "overlap_group"} <= set(d.columns)
    assert str(d["events"].dtype) == "Int64"


def test_selection_reproduces_the_metafor_reference_set() -> None:
    ref = json.loads(
        (Path(__file__).parents[1] / "reference" / "meta_dah_mortality.json").read_text()
    )
    chosen = select_studies(
        load_published_series(), "death", populations=("adult", "unknown", "mixed", "paediatric")
    )
    assert sorted(chosen["study_id"]) == sorted(ref["study_id"])


def test_audit_verdicts() -> None:
    table = audit_claims(load_claims(CITED)).to_frame().set_index("claim")
    # the ~12% mortality lies outside the pooled published mortality (about 41%)
    assert table.loc["mortality_aggressive", "verdict"] == "outside the published evidence"
    assert 0.3 < table.loc["mortality_aggressive", "pooled"] < 0.55
    assert table.loc["recurrence", "verdict"] == "within the pooled CI"
    assert "7, 14" in table.loc["recurrence", "series_sizes"]
    assert "only if truncated: [7, 14" in table.loc["mechanical_ventilation", "series_sizes"]


def test_audit_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", CITED, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["claims"]
    assert {r["claim"] for r in rows} >= {"incidence", "mortality_historical"}


def test_death_timeframe_selection() -> None:
    d = load_published_series()
    all_frames = select_studies(d, "death")
    in_hospital = select_studies(d, "death", death_timeframes=("in_hospital", "initial_episode"))
    assert 0 < len(in_hospital) < len(all_frames)
    assert set(in_hospital["death_timeframe"]) <= {"in_hospital", "initial_episode"}


def _robustness() -> tuple:
    result = audit_claims(load_claims(CITED))
    return result.to_frame().set_index("claim"), result.robustness


def test_mortality_verdict_depends_on_the_time_frames_pooled() -> None:
    table, rob = _robustness()
    m = rob[(rob["claim"] == "mortality_aggressive") & (rob["estimator"] == "REML logit")]
    everything = m[(m["time_frame"] == "all time frames") & (m["interval"] == "z")].iloc[0]
    # mixed time frames: 41% (31-52%), and ~12% outside
    assert everything["pooled"] == pytest.approx(0.41, abs=0.01)
    assert (everything["ci_lower"], everything["ci_upper"]) == pytest.approx((0.31, 0.52), abs=0.01)
    assert everything["verdict"] == "outside the published evidence"
    # in-hospital and initial-episode series alone: 24% (9-50%), and ~12% inside
    hosp = m[(m["time_frame"] == "in-hospital or initial episode") & (m["interval"] == "z")].iloc[0]
    assert hosp["pooled"] == pytest.approx(0.24, abs=0.01)
    assert (hosp["ci_lower"], hosp["ci_upper"]) == pytest.approx((0.09, 0.50), abs=0.01)
    assert hosp["verdict"] == "within the pooled CI"
    assert not table.loc["mortality_aggressive", "robust"]


def test_ventilation_verdict_depends_on_the_interval() -> None:
    table, rob = _robustness()
    v = rob[(rob["claim"] == "mechanical_ventilation") & (rob["estimator"] == "REML logit")]
    by_interval = dict(zip(v["interval"], v["verdict"], strict=True))
    assert by_interval["z"] == "outside the published evidence"
    assert by_interval["Hartung-Knapp, t PI (k-2 df)"] == "within the prediction interval only"
    assert not table.loc["mechanical_ventilation", "robust"]


def test_a_verdict_all_choices_share_is_robust() -> None:
    table, rob = _robustness()
    assert table.loc["nephritis", "robust"]  # 57% against about 89%: outside every way
    assert set(rob.loc[rob["claim"] == "nephritis", "verdict"]) == {
        "outside the published evidence"
    }
    assert "6 of 6" in table.loc["nephritis", "verdicts"]


def test_historical_era_definitions_are_each_tried() -> None:
    _, rob = _robustness()
    h = rob[rob["claim"] == "mortality_historical"]
    assert set(h["era_definition"]) == {
        "published before 2005",
        "published before 2000",
        "study period midpoint before 2000",
    }
    mid = h[
        (h["era_definition"] == "study period midpoint before 2000")
        & (h["time_frame"] == "all time frames")
    ]
    # lee2001 (1988-1998), chang2002 (1994-2001), badsha2004 (1994-2001), taiwan_pe (1985-2012)
    assert set(mid["k"]) == {4}


def test_audit_json_has_the_robustness_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", CITED, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"time_frame", "interval", "estimator", "era_definition", "verdict"} <= set(
        out["robustness"][0]
    )
    assert {"robust", "verdicts"} <= set(out["claims"][0])


def test_summary_words_the_robustness_of_each_verdict() -> None:
    summary = audit_claims(load_claims(CITED)).summary().set_index("claim")
    assert summary.loc["mortality_aggressive", "robustness"] == "not robust"
    assert summary.loc["mechanical_ventilation", "robustness"] == "not robust"
    assert summary.loc["nephritis", "robustness"] == "robust"
    assert summary.loc["nephritis", "n_choices"] == 6
    assert summary.loc["mortality_aggressive", "n_choices"] == 12  # 2 time frames x 2 x 3
    assert summary.loc["mortality_historical", "n_choices"] == 36  # x 3 era definitions


def test_summary_tells_not_judged_and_no_evidence_from_not_robust() -> None:
    from dah_outcomes.reproduce.claims import Claim, parse_printed

    pub = load_published_series()
    one = pub[pub["outcome"] == "nephritis"].head(1)  # one series: nothing is pooled
    claims = [
        next(c for c in load_claims(CITED) if c.id == "nephritis"),
        Claim("s90", "survival_at", parse_printed("80%"), time_days=90),
    ]
    result = audit_claims(claims, one)
    summary = result.summary().set_index("claim")
    assert summary.loc["nephritis", "robustness"] == "not judged"
    assert summary.loc["nephritis", "verdicts"] == (
        "fewer than 2 published series: not pooled: 6 of 6"
    )
    assert summary.loc["s90", "robustness"] == "no evidence"
    assert summary.loc["s90", "n_choices"] == 0
    assert result.differing_choices().empty


def test_differing_choices_are_the_rows_of_the_claims_that_are_not_robust() -> None:
    result = audit_claims(load_claims(CITED))
    shaky = result.differing_choices()
    assert set(shaky["claim"]) == {"mortality_aggressive", "mechanical_ventilation"}
    rob = result.robustness
    assert len(shaky) == int(rob["claim"].isin(set(shaky["claim"])).sum()) == 12 + 6
    for _, rows in shaky.groupby("claim"):
        assert rows["verdict"].nunique() > 1


def test_audit_text_shows_robustness_and_the_verdicts_under_each_choice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["audit", CITED]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    lines = out.splitlines()
    assert lines[0].startswith("Verdicts under the default choices (mortality: all time frames")
    assert lines[1].split()[-1] == "robustness"
    row = {line.split()[0]: line for line in lines[2:10]}
    assert row["mortality_aggressive"].endswith("outside the published evidence not robust")
    assert row["nephritis"].endswith("outside the published evidence     robust")
    assert row["recurrence"].endswith("within the pooled CI     robust")
    assert (
        "  mechanical_ventilation: not robust (outside the published evidence: 3 of 6; within "
        "the prediction interval only: 3 of 6, over 6 choices)"
    ) in lines
    assert "  nephritis: robust (outside the published evidence: 6 of 6, over 6 choices)" in lines
    # the choices behind each verdict that is not robust, one row per combination
    block = out.split("mortality_aggressive (~12%), not robust:\n")[1].splitlines()
    assert block[0].split()[:2] == ["time_frame", "interval"]
    hospital = [line for line in block[1:13] if line.startswith("in-hospital or initial episode")]
    assert len(hospital) == 6
    assert all(line.endswith("within the pooled CI") for line in hospital)
    assert "nephritis (57%), not robust" not in out
    ventilation = out.split("mechanical_ventilation (85%), not robust:\n")[1].splitlines()
    assert "era_definition" not in ventilation[0]  # a choice only for the historical era
    z = [line for line in ventilation[1:7] if " z " in line]
    assert len(z) == 3
    assert all(line.endswith("outside the published evidence") for line in z)


def test_audit_json_summary_agrees_with_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", CITED, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    summary = {r["claim"]: r for r in out["summary"]}
    for claim in out["claims"]:
        words = summary[claim["claim"]]["robustness"]
        assert words == ("robust" if claim["robust"] else "not robust")
        assert summary[claim["claim"]]["verdicts"] == claim["verdicts"]
    n = {c: sum(r["claim"] == c for r in out["robustness"]) for c in summary}
    assert all(n[c] == summary[c]["n_choices"] for c in summary)
