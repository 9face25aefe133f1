"""The command line: generate, validate, rates (--json), schema, demo, and clean user errors."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning, ImmortalTimeWarning

ENDPOINT_KEYS = {
    "incidence",
    "first_manifestation",
    "mechanical_ventilation",
    "plasmapheresis",
    "nephritis",
    "recurrence",
    "mortality",
    "mortality_per_episode",
}
ROW_KEYS = {"events", "total", "estimate", "ci_lower", "ci_upper", "method", "conf_level"}


@contextlib.contextmanager
def immortal_time_lines() -> Iterator[None]:
    """A command comparing arms of a generated cohort (treatment flags without start dates)
    prints the immortal-time warning as a 'warning:' line (the tests make it an error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", ImmortalTimeWarning)
        yield


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "cohort"
    assert (
        main(
            [
                "generate",
                "--scenario",
                "seed-article",
                "--n-sle",
                "20000",
                "--seed",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


def test_generate_writes_tables_and_provenance(cohort_dir: Path) -> None:
    assert {p.name for p in cohort_dir.iterdir()} == {
        "patients.csv",
        "episodes.csv",
        "treatments.csv",
        "provenance.json",
    }
    meta = json.loads((cohort_dir / "provenance.json").read_text())
    assert meta["provenance"]["seed"] == 4
    assert meta["counts"]["patients"] == 20000


def test_validate_ok(cohort_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(cohort_dir)]) == 0
    assert "valid" in capsys.readouterr().out


def test_rates_json(cohort_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["rates", str(cohort_dir), "--by", "arm", "--ci-method", "jeffreys", "--json"]
    with immortal_time_lines():
        assert main(args) == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert out.err == f"warning: {d['warnings'][0]}\n"
    assert set(d["rates"]) == ENDPOINT_KEYS
    assert all(set(v) == ROW_KEYS for v in d["rates"].values())
    assert "MP+CYC+PLEX" in d["groups"]
    assert d["groups"]["MP+CYC+PLEX"]["mortality"]["method"] == "jeffreys"


def test_rates_text(cohort_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rates", str(cohort_dir), "--by", "era"]) == 0
    out = capsys.readouterr().out
    assert "historical" in out
    assert "per 1,000 person-years at risk" in out
    assert "at the start of follow-up (no person-time at risk) are not counted" in out
    assert "recurrence, cumulative incidence with death competing" in out
    assert "recurrent episodes per 100 person-years" in out
    assert main(["rates", str(cohort_dir), "--by", "era", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["warnings"] == []
    cif = d["recurrence_cumulative_incidence"]
    assert set(cif["overall"]) == {"1", "2", "5"}
    assert set(cif["groups"]) == {"historical", "modern"}
    assert set(cif["overall"]["5"]) == {"time", "cif", "ci_lower", "ci_upper"}
    rate = d["recurrence_rate_per_100_person_years"]
    assert rate["overall"]["events"] == sum(g["events"] for g in rate["groups"].values())
    inc = d["incidence_rate_per_1000_person_years"]
    # first-manifestation cases (DAH at SLE diagnosis) have no person-time: not in the rate
    assert d["incidence_cases_at_entry"] > 0
    assert inc["events"] + d["incidence_cases_at_entry"] == d["rates"]["incidence"]["events"]


def test_validate_lists_problems(
    cohort_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("patients.csv", "episodes.csv"):
        text = (cohort_dir / name).read_text()
        if name == "episodes.csv":
            lines = text.splitlines()
            lines[1] = lines[1].replace(lines[1].split(",")[2], "2030-13-45", 1)
            text = "\n".join(lines) + "\n"
        (bad / name).write_text(text)
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "onset_date" in out
    assert "2030-13-45" in out
    assert "[type]" in out
    assert main(["validate", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"][0]["rule"] == "type"


def test_user_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dah_outcomes.cli", "rates", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:")
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dah_outcomes.cli",
            "generate",
            "--scenario",
            "nope",
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "unknown scenario" in proc.stderr


def test_schema_and_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert "| `in_hospital_death` |" in capsys.readouterr().out
    assert main(["schema", "--format", "json"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["episodes"]["primaryKey"] == ["patient_id", "episode_number"]
    assert main(["scenarios"]) == 0
    assert "seed-article" in capsys.readouterr().out


def test_demo_writes_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with immortal_time_lines(), warnings.catch_warnings():
        # rates and the report by arm; the report's causal sections on a 30,000-patient
        # cohort also warn (positivity for cyclophosphamide by day 2, few rituximab deaths):
        # the command prints each as a 'warning:' line
        warnings.simplefilter("always", DahOutcomesWarning)
        assert main(["demo", "--out", str(tmp_path), "--n-sle", "30000", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "warning: outcome rates by arm: " in captured.err
    assert "warning: clone_censor_weight: positivity fails" in captured.err
    assert "mortality_aggressive" in out
    for name in (
        "cited_figures.csv",
        "rates.json",
        "cited_figures.png",
        "cited_figures.svg",
        "rates_by_arm.csv",
        "cohort/provenance.json",
        "report.html",
        "report_figures/figure-01.png",
        "report_figures/figure-01.svg",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    page = (tmp_path / "report.html").read_text("utf-8")
    assert 'id="cited-figures"' in page
    assert 'id="target-trials"' in page


def test_acceptance_rates_on_200k_seed_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 2's check through the command line: incidence in 5-6%, cited figures in CIs."""
    out = tmp_path / "big"
    assert (
        main(
            [
                "generate",
                "--n-sle",
                "200000",
                "--seed",
                "2026",
                "--out",
                str(out),
                "--format",
                "parquet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["rates", str(out), "--json"]) == 0
    overall = json.loads(capsys.readouterr().out)["rates"]
    assert 0.05 <= overall["incidence"]["estimate"] <= 0.06
    for name, cited in (
        ("first_manifestation", 0.29),
        ("mechanical_ventilation", 0.85),
        ("plasmapheresis", 0.57),
        ("nephritis", 0.57),
        ("recurrence", 0.29),
    ):
        assert overall[name]["ci_lower"] <= cited <= overall[name]["ci_upper"], name
    with immortal_time_lines():
        assert main(["rates", str(out), "--by", "arm", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: outcome rates by arm: ")
    arm = json.loads(captured.out)["groups"]["MP+CYC+PLEX"]["mortality"]
    assert arm["ci_lower"] <= 0.12 <= arm["ci_upper"]
    assert main(["rates", str(out), "--by", "era", "--json"]) == 0
    era = json.loads(capsys.readouterr().out)["groups"]["historical"]["mortality"]
    assert era["estimate"] > 0.5


def _by_options() -> dict[str, object]:
    import argparse

    from dah_outcomes.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: action
        for name, sub in commands.choices.items()
        for action in sub._actions
        if "--by" in action.option_strings
    }


def test_every_by_option_offers_the_one_vocabulary() -> None:
    from dah_outcomes import BY_CHOICES

    options = _by_options()
    assert {"rates", "survival", "report"} <= set(options)
    for name, action in options.items():
        assert tuple(action.choices) == BY_CHOICES, name


def test_by_choices_run_and_a_bad_one_is_refused(
    cohort_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["survival", str(cohort_dir), "--by", "sex", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["groups"]) == {"F", "M"}
    assert main(["rates", str(cohort_dir), "--by", "site", "--json"]) == 0
    assert "site-A" in json.loads(capsys.readouterr().out)["groups"]
    for command in ("rates", "survival", "report"):
        with pytest.raises(SystemExit) as exit_:
            main([command, str(cohort_dir), "--by", "colour"])
        assert exit_.value.code == 2
        assert "choose from arm, era, site, sex" in capsys.readouterr().err.replace("'", "")
