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
