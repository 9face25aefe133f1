"""ImmortalTimeWarning, both ways: it fires wherever ever-treated groups are compared while a
treatment that defines them started after DAH onset or at an unknown time, and is silent when
every such start is on day 0, when the groups are not defined by treatment, and when nobody
was treated."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from treated_cohorts import ARM_TREATMENTS, with_courses

import dah_outcomes as dah
from dah_outcomes.cli import main
from dah_outcomes.endpoints.timelines import (
    IMMORTAL_TIME_REMEDY,
    check_immortal_time,
    compared_treatments,
    treatment_timing,
)
from dah_outcomes.errors import ImmortalTimeWarning
from dah_outcomes.io import save_cohort
from dah_outcomes.report import report
from dah_outcomes.schema import TREATMENT_FLAGS


@pytest.fixture(scope="module")
def generated() -> dah.Cohort:
    """Treatment flags, no courses: every treated patient's timing is unknown."""
    cohort = dah.generate_cohort("seed-article", n_sle=20_000, seed=3)
    return dah.Cohort(cohort.patients, cohort.episodes, design=cohort.design)


@pytest.fixture(scope="module")
def as_generated() -> dah.Cohort:
    """The generator's own courses: immunosuppression on days 0-2, rescue later."""
    return dah.generate_cohort("rescue-null", n_sle=20_000, seed=3)


@pytest.fixture(scope="module")
def at_onset(generated: dah.Cohort) -> dah.Cohort:
    """Every course of every arm treatment on the day of onset."""
    return with_courses(generated, dict.fromkeys(ARM_TREATMENTS, 0))


@pytest.fixture(scope="module")
def late(generated: dah.Cohort) -> dah.Cohort:
    """As ``at_onset``, but plasmapheresis started 1 to 10 days after onset."""
    return with_courses(generated, {**dict.fromkeys(ARM_TREATMENTS, 0), "plasmapheresis": (1, 10)})


@pytest.fixture(scope="module")
def untreated(generated: dah.Cohort) -> dah.Cohort:
    e = generated.episodes
    flags = [c for c in TREATMENT_FLAGS if c in e]
    none = e.assign(**dict.fromkeys(flags, False))
    # counts and doses go with their flags
    none = none.assign(methylprednisolone_dose_mg=np.nan, plasmapheresis_sessions=np.nan).astype(
        {"plasmapheresis_sessions": "Int64"}
    )
    return dah.Cohort(generated.patients, none, design=generated.design)


# every comparison of ever-treated groups: (name, call) returning a result with .warnings
ARM_COMPARISONS: list[tuple[str, Callable[[dah.Cohort], Any]]] = [
    ("survival by arm", lambda c: dah.survival_by_group(c, "arm")),
    ("recurrence by arm", lambda c: dah.recurrence_by_group(c, "arm")),
    ("outcome rates by arm", lambda c: dah.rates(c, by="arm")),
    ("hazard ratios by arm", lambda c: dah.hazard_ratios(c, by="arm")),
    (
        "hazard ratios by era",
        lambda c: dah.hazard_ratios(c, by="era", adjust_for=["severe", "plasmapheresis"]),
    ),
]
NOT_BY_TREATMENT: list[tuple[str, Callable[[dah.Cohort], Any]]] = [
    *[(f"survival by {b}", lambda c, b=b: dah.survival_by_group(c, b)) for b in ("era", "sex")],
    ("recurrence by era", lambda c: dah.recurrence_by_group(c, "era")),
    *[(f"rates by {by}", lambda c, by=by: dah.rates(c, by=by)) for by in ("era", "site", "sex")],
    ("rates overall", lambda c: dah.rates(c)),
    ("hazard ratios by era", lambda c: dah.hazard_ratios(c, by="era")),
    ("hazard ratios by sex", lambda c: dah.hazard_ratios(c, by="sex")),
]


def _silently(call: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind
        result = call()
    assert result.warnings == ()
    return result


@pytest.mark.parametrize(("name", "call"), ARM_COMPARISONS, ids=[n for n, _ in ARM_COMPARISONS])
@pytest.mark.parametrize("cohort", ["generated", "late", "as_generated"])
def test_fires_with_late_or_unknown_starts(name, call, cohort, request) -> None:
    cohort = request.getfixturevalue(cohort)
    with pytest.warns(ImmortalTimeWarning, match="immortal-time bias") as record:
        result = call(cohort)
    messages = [str(w.message) for w in record if w.category is ImmortalTimeWarning]
    assert list(result.warnings) == messages
    assert len(messages) == 1
    assert messages[0].startswith(f"{name}: of ")
    assert IMMORTAL_TIME_REMEDY in messages[0]
    assert result.to_dict()["warnings"] == messages


@pytest.mark.parametrize(("name", "call"), ARM_COMPARISONS, ids=[n for n, _ in ARM_COMPARISONS])
def test_silent_when_every_start_is_at_onset(name, call, at_onset) -> None:
    _silently(lambda: call(at_onset))


@pytest.mark.parametrize(("name", "call"), ARM_COMPARISONS, ids=[n for n, _ in ARM_COMPARISONS])
def test_silent_when_nobody_was_treated(name, call, untreated) -> None:
    if name == "hazard ratios by arm":
        # one arm only ("Other"): nothing to compare, and no warning on the way to saying so
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(dah.EstimationError, match="at least two groups"):
                call(untreated)
    else:
        _silently(lambda: call(untreated))


@pytest.mark.parametrize(("name", "call"), NOT_BY_TREATMENT, ids=[n for n, _ in NOT_BY_TREATMENT])
def test_silent_when_groups_are_not_defined_by_treatment(name, call, generated, late) -> None:
    for cohort in (generated, late):
        _silently(lambda cohort=cohort: call(cohort))


def test_message_counts_the_late_and_the_undated(generated: dah.Cohort) -> None:
    cohort = with_courses(
        generated,
        {**dict.fromkeys(ARM_TREATMENTS, 0), "plasmapheresis": (0, 6)},
        undated=0.2,
        seed=4,
    )
    parts = []
    for t in ARM_TREATMENTS:
        timing = treatment_timing(cohort, t)
        known = timing["timing"] == "known"
        late = int((known & (timing["start_day"] > 0)).sum())
        unknown = int((timing["timing"] == "unknown").sum())
        assert unknown > 0
        treated = int(known.sum()) + unknown
        said = ([f"{late:,} started after DAH onset"] if late else []) + [
            f"{unknown:,} have no start date"
        ]
        parts.append(f"of {treated:,} patients treated with {t}, " + " and ".join(said))
    with pytest.warns(ImmortalTimeWarning) as record:
        got = check_immortal_time(cohort, ARM_TREATMENTS, comparison="x")
    assert got == (str(record[0].message),)
    assert got[0].startswith("x: " + "; ".join(parts) + ". ")
    assert "plasmapheresis, " in got[0]
    assert re.search(r"plasmapheresis, [\d,]+ started after DAH onset and", got[0])
    # only the treatments asked about count
    _silently_check = check_immortal_time(
        with_courses(generated, dict.fromkeys(ARM_TREATMENTS, 0)), ARM_TREATMENTS, comparison="x"
    )
    assert _silently_check == ()


def test_compared_treatments() -> None:
    arm = compared_treatments("arm")
    assert set(arm) == {f for a in dah.DEFAULT_ARMS.arms for f in a.flags} == set(ARM_TREATMENTS)
    assert compared_treatments("era") == ()
    assert compared_treatments("era", covariates=["severe", "rituximab", "era"]) == ("rituximab",)
    assert compared_treatments("arm", arm_column="arm") == TREATMENT_FLAGS
    only_rtx = dah.ArmDefinition(arms=(dah.Arm("RTX", all_of=("rituximab",)),))
    assert compared_treatments("arm", arms=only_rtx) == ("rituximab",)


def test_arms_read_only_their_own_treatments(generated: dah.Cohort) -> None:
    # rituximab late, but an arm definition that does not read it: no warning
    cohort = with_courses(generated, {**dict.fromkeys(ARM_TREATMENTS, 0), "rituximab": (3, 9)})
    no_rtx = dah.ArmDefinition(
        arms=(dah.Arm("CYC", all_of=("cyclophosphamide",)),), otherwise="no CYC"
    )
    _silently(lambda: dah.survival_by_group(cohort, "arm", arms=no_rtx))
    with pytest.warns(ImmortalTimeWarning, match="treated with rituximab"):
        dah.survival_by_group(cohort, "arm")


def test_cli_prints_and_lists_the_warning(late: dah.Cohort, tmp_path: Path, capsys) -> None:
    save_cohort(late, tmp_path / "c")
    commands = [
        ["rates", str(tmp_path / "c")],
        ["survival", str(tmp_path / "c")],
        ["survival", str(tmp_path / "c"), "--endpoint", "recurrence"],
    ]
    for command in commands:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ImmortalTimeWarning)
            args = [*command, "--by", "arm"]
            assert main([*args, "--json"]) == 0
            out = capsys.readouterr()
            d = json.loads(out.out)
            assert len(d["warnings"]) == 1, command
            assert "immortal-time bias" in d["warnings"][0]
            assert out.err == f"warning: {d['warnings'][0]}\n"
            assert main(args) == 0
            assert capsys.readouterr().err.startswith("warning: ")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert main([*command, "--by", "era", "--json"]) == 0
        out = capsys.readouterr()
        assert json.loads(out.out)["warnings"] == []
        assert out.err == ""


def test_report_shows_the_warning(late: dah.Cohort, at_onset: dah.Cohort) -> None:
    with pytest.warns(ImmortalTimeWarning) as record:
        page = report(late, emulate=False)
    issued = [str(w.message) for w in record]
    assert len(issued) == len(set(issued))  # each once, not once per analysis
    box = r'<p class="warning" role="note"><strong>Warning:</strong> ([^<]*)</p>'
    boxes = re.findall(box, page)
    shown = [html.unescape(b) for b in boxes]
    assert set(shown) == set(issued)
    assert any(s.startswith("survival by arm: ") for s in shown)
    assert any(s.startswith("outcome rates by arm: ") for s in shown)
    # by era, only the naive treatment effects' own warnings (the groups are not treatments)
    with pytest.warns(ImmortalTimeWarning) as record:
        page = report(late, by="era", emulate=False)
    shown = [html.unescape(b) for b in re.findall(box, page)]
    assert shown
    assert {str(w.message) for w in record} == set(shown)
    assert all(s.startswith("naive hazard ratio of plasmapheresis: ") for s in shown)
    # none with every course at onset
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImmortalTimeWarning)
        page = report(at_onset, by="arm", emulate=False)
    assert 'class="warning"' not in page
