"""``dah-outcomes survival`` on a small series: the exact binomial bound beside a Greenwood
interval that says nothing, in the text table and in ``--json`` (the 16-patient series of
``tests/reference/survival_exact.json``; R's binom.test gives the bounds)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from small_series_cohort import REFERENCE, series_cohort

from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning
from dah_outcomes.io import save_cohort

ZERO_WIDTH = "0 of 6 died by day 30: exact 95% upper bound on mortality 46%"


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("series") / "cohort"
    save_cohort(series_cohort(), out)
    return out


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[str, str]:
    """Run the CLI, our warnings shown (not errors); it must succeed without a traceback."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DahOutcomesWarning)
        assert main(argv) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return out.out, out.err


def test_text_shows_the_exact_bound_beside_the_degenerate_interval(
    series: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = run(capsys, ["survival", str(series)])
    lines = out.splitlines()
    assert "exact binomial bound (where the CI says nothing)" in lines[1]
    rtx = next(line for line in lines if line.startswith("Rituximab") and " 30 " in line)
    # on the row of the interval it stands in for, beside it
    assert "1.000  1.000-1.000  CI of zero width; " + ZERO_WIDTH in rtx
    steroids = next(line for line in lines if line.startswith("Steroids") and " 90 " in line)
    assert steroids.endswith(
        "0.000         none  no CI; 2 of 2 died by day 90: exact 95% lower bound on mortality 16%"
    )
    # an interval that says something has nothing beside it
    cyc = next(line for line in lines if line.startswith("MP+CYC") and " 30 " in line)
    assert cyc.endswith("0.625  0.365-1.000")
    assert "past follow-up" in next(
        line for line in lines if line.startswith("MP+CYC  ") and " 365 " in line
    )
    assert "warning: survival by arm: 4 Greenwood interval(s) say nothing" in err
    assert ZERO_WIDTH in err


def test_json_has_the_exact_bound_beside_the_greenwood_interval(
    series: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = run(capsys, ["survival", str(series), "--json"])
    d = json.loads(out)
    rtx = d["groups"]["Rituximab"]["survival_at"]["30"]
    assert (rtx["survival"], rtx["ci_lower"], rtx["ci_upper"]) == (1.0, 1.0, 1.0)
    assert rtx["interval_problem"] == "zero width"
    assert rtx["exact_note"] == ZERO_WIDTH
    assert (rtx["n_dead"], rtx["n_known"]) == (0, 6.0)
    r = next(
        r
        for r in REFERENCE["rows"]
        if (r["arm"], r["time"], r["conf_level"]) == ("Rituximab", 30, 0.95)
    )
    assert abs(rtx["exact_lower"] - r["exact_lower"]) < 1e-12
    assert rtx["exact_upper"] == r["exact_upper"] == 1
    steroids = d["groups"]["Steroids without CYC"]["survival_at"]["30"]
    assert (steroids["ci_lower"], steroids["ci_upper"]) == (None, None)
    assert steroids["interval_problem"] == "no interval"
    cyc = d["groups"]["MP+CYC"]["survival_at"]["30"]
    assert (cyc["interval_problem"], cyc["exact_note"]) == (None, None)
    # the warning is in the JSON and on stderr, once each
    [note] = [w for w in d["warnings"] if "Greenwood interval" in w]
    assert ZERO_WIDTH in note
    assert err.count("Greenwood interval") == 1
    assert f"warning: {note}\n" in err


def test_no_exact_column_and_no_warning_when_every_interval_says_something(
    series: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would be an error
        assert main(["survival", str(series), "--by", "era"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert "exact binomial bound" not in out.out
    assert out.out.splitlines()[1].split() == ["era", "day", "at", "risk", "survival", "95%", "CI"]


def test_landmark_rows_name_the_time_since_the_landmark(
    series: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # alive and followed at day 200: rituximab patients followed to 200 and 365, the MP+CYC
    # patient followed to 300; nobody dies after; the one censored at the landmark itself is
    # not among those whose status 30 days on is known (1 - 0.025^(1/2) = 0.84)
    argv = ["survival", str(series), "--by", "era", "--landmark-days", "200"]
    out, err = run(capsys, [*argv, "--json"])
    modern = json.loads(out)["groups"]["modern"]
    assert modern["n"] == 3
    assert modern["survival_at"]["30"]["exact_note"] == (
        "0 of 2 died by day 30 after the landmark: exact 95% upper bound on mortality 84%"
    )
    assert "warning: survival by era from the day-200 landmark: 2 Greenwood" in err
    out, _ = run(capsys, argv)
    assert "days since the landmark" in out.splitlines()[1]
    assert "CI of zero width; 0 of 2 died by day 90 after the landmark" in out
