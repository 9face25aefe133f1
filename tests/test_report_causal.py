"""The report's causal sections: on a generated cohort with dated courses, the target trials'
numbers are emulate_target_trial's and the standardised risks standardised_risks' (same
seed); a cohort without dates gets the one-line note instead; small cells are suppressed
(counts, strategies and arms too small to show); the same seed gives the same page; a whole
page with the sections renders self-contained."""

from __future__ import annotations

import html
import re
import warnings
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jinja2 import Environment, select_autoescape

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.analyses.arm_risks import standardised_risks
from dah_outcomes.analyses.target_trial import emulate_target_trial
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning
from dah_outcomes.report.causal_figures import plot_strategy_risks
from dah_outcomes.report.causal_sections import (
    DEFAULT_STRATEGIES,
    NOT_SHOWN,
    causal_sections,
    dated_treatments,
    scrub_counts,
)
from dah_outcomes.report.sections import Section, Table, fmt_pct

B = 20
SEED = 7
HORIZON = 90


def _quiet(**kwargs: Any) -> tuple[list[Section], list[str], list[tuple[str, type]]]:
    """The sections, the methods paragraphs and the warnings issued (ours turned into errors
    by the test settings, so recorded here)."""
    methods: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sections = causal_sections(methods=methods, **kwargs)
    return sections, methods, [(str(w.message), w.category) for w in caught]


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=20_000, seed=3)


@pytest.fixture(scope="module")
def built(cohort: Cohort) -> tuple[list[Section], list[str], list[tuple[str, type]]]:
    return _quiet(cohort=cohort, bootstrap=B, seed=SEED)


def _by_id(sections: list[Section]) -> dict[str, Section]:
    return {s.id: s for s in sections}


def _emulate(cohort: Cohort, treatment: str, grace: int, **kwargs: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return emulate_target_trial(
            cohort,
            treatment=treatment,
            grace_days=grace,
            horizon_days=HORIZON,
            bootstrap=B,
            seed=SEED,
            **kwargs,
        )


def _ci(est: float, lo: float, hi: float, fmt: str) -> str:
    text = (lambda x: fmt_pct(x)) if fmt == "%" else (lambda x: format(x, fmt))
    return f"{text(est)} ({text(lo)} to {text(hi)})"


def _render(sections: list[Section]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(
        (resources.files("dah_outcomes.report") / "templates" / "report.html.j2").read_text("utf-8")
    )
    return template.render(title="causal", subtitle="test", sections=sections)


def _table(section: Section, caption_start: str) -> Table:
    found = [t for t in section.tables if t.caption.startswith(caption_start)]
    assert len(found) == 1, [t.caption for t in section.tables]
    return found[0]


# ------------------------------------------------------------------------------ content


def test_sections_shown_with_dated_courses(built, cohort: Cohort) -> None:
    sections, methods, _ = built
    assert set(dated_treatments(cohort)) >= {t for t, _ in DEFAULT_STRATEGIES}
    assert [s.id for s in sections] == [
        "target-trials",
        "target-trial-cyclophosphamide",
        "target-trial-plasmapheresis",
        "standardised-risks",
    ]
    intro = " ".join(sections[0].paragraphs[:3])
    # what was emulated, the grace period, artificial censoring, weights, immortal time, B, seed
    for words in (
        "immortal-time bias",
        "grace period",
        "artificial censoring",
        "inverse of their probability of remaining uncensored",
        f"B = {B} bootstrap replicates",
        f"seed {SEED}",
        f"day {HORIZON}",
    ):
        assert words in intro
    assert len(methods) == 2
    assert any("clone-censor-weight" in m for m in methods)
    assert any("AIPW" in m for m in methods)


@pytest.mark.parametrize(("treatment", "grace"), DEFAULT_STRATEGIES)
def test_trial_numbers_are_emulate_target_trials(built, cohort, treatment, grace) -> None:
    sections, _, _ = built
    fit = _emulate(cohort, treatment, grace)
    c = fit.ccw
    summary = _table(_by_id(sections)["target-trials"], "Risk of death by day 90")
    row = next(r for r in summary.rows if r[0] == treatment)
    assert row[1:3] == [grace, fit.n]
    assert row[3] == _ci(c.risk[0], c.risk_ci_lower[0], c.risk_ci_upper[0], "%")
    assert row[4] == _ci(c.risk[1], c.risk_ci_lower[1], c.risk_ci_upper[1], "%")
    assert row[5] == _ci(c.risk_difference, c.rd_ci_lower, c.rd_ci_upper, "+.3f")
    assert row[6] == _ci(c.risk_ratio, c.rr_ci_lower, c.rr_ci_upper, ".2f")
    trial = _by_id(sections)[f"target-trial-{treatment}"]
    protocol = _table(trial, "Protocol of the target trial")
    assert protocol.rows == [
        [r["component"], r["specification"], r["emulation"]] for r in fit.protocol.components()
    ]
    clones = _table(trial, "Clones of the")
    assert [r[1] for r in clones.rows] == [int(x) for x in c.n_censored]
    assert [r[2] for r in clones.rows] == [int(x) for x in c.n_events]
    weights = _table(trial, "Censoring weights")
    w = c.weights.set_index("strategy")
    assert [r[5] for r in weights.rows] == [f"{w.loc[s, 'ess']:,.0f}" for s in c.strategies]
    assert [r[4] for r in weights.rows] == [
        f"{w.loc[s, 'max_untruncated']:.2f}" for s in c.strategies
    ]
    # the curves figure, both strategies, the risk at the horizon in its text alternative
    (figure,) = trial.figures
    assert "<svg" in figure.svg
    for k, name in enumerate(c.strategies):
        assert f"{name} {fmt_pct(c.risk[k])} by day {HORIZON}" in figure.alt
    # the emulation's warnings are shown in its section (the positivity failure of
    # cyclophosphamide within 2 days in this scenario among them)
    assert set(fit.warnings) <= set(trial.warnings)
    if treatment == "cyclophosphamide":
        assert any("positivity fails" in m for m in trial.warnings)


def test_standardised_risks_are_standardised_risks(built, cohort: Cohort) -> None:
    sections, _, issued = built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        std = standardised_risks(cohort, bootstrap=B, seed=SEED)
    section = _by_id(sections)["standardised-risks"]
    table = _table(section, "Risk of death by arm")
    assert table.columns[4:] == ["Observed (95% CI)", "g-computation (95% CI)", "AIPW (95% CI)"]
    frame = std.to_frame()
    assert len(table.rows) == len(frame)
    labels = {30: "By day 30", 90: "By day 90", "in_hospital": "In hospital"}
    for r in frame.to_dict("records"):
        row = next(x for x in table.rows if x[0] == labels[r["horizon"]] and x[1] == r["arm"])
        assert row[2] == f"{int(r['n']):,}"
        assert row[3] == f"{int(r['n_events']):,}"
        for cell, m in zip(row[4:], ("observed", "gcomputation", "aipw"), strict=True):
            assert cell == _ci(r[f"{m}_risk"], r[f"{m}_ci_lower"], r[f"{m}_ci_upper"], "%")
    # courses start after onset in the generated cohorts: the section says what the
    # standardised risks are not, and the immortal-time warning is at its top
    assert any("immortal-time bias" in w for w in section.warnings)
    assert "not those of the strategy" in section.paragraphs[0]
    captions = [f.caption for f in section.figures]
    assert any(c.startswith("Love plot") for c in captions)
    assert any(c.startswith("Overlap") for c in captions)
    ess = _table(section, "Propensity weights by arm")
    sizes = std.risks.propensity.effective_sizes()
    assert [r[2] for r in ess.rows] == [f"{sizes[a]:,.0f}" for a in std.risks.propensity.arms]
    balance = _table(section, "Balance of the baseline characteristics")
    assert ["Cyclophosphamide", "defines arm", "defines arm", "no"] in balance.rows
    assert all(str(cell) not in ("inf", "nan") for row in balance.rows for cell in row[1:3])
    # every warning issued once, and each shown in a section
    messages = [m for m, _ in issued]
    assert len(messages) == len(set(messages))
    shown = {w for s in sections for w in s.warnings}
    assert {m for m, c in issued if issubclass(c, DahOutcomesWarning)} <= shown


# ------------------------------------------------------------------ not shown, arguments


def test_note_without_dated_courses(cohort: Cohort) -> None:
    undated = Cohort(cohort.patients, cohort.episodes, provenance=cohort.provenance)
    assert dated_treatments(undated) == []
    sections, methods, issued = _quiet(cohort=undated)
    assert len(sections) == 1
    assert sections[0].paragraphs == [NOT_SHOWN]
    assert not sections[0].tables
    assert not sections[0].figures
    assert "ever/never" in NOT_SHOWN
    assert methods == []
    assert issued == []


def test_undated_strategy_is_named(cohort: Cohort) -> None:
    """A strategy whose treatment has no dated course is named, not emulated."""
    e = cohort.treatments
    only_cyc = Cohort(
        cohort.patients,
        cohort.episodes,
        provenance=cohort.provenance,
        treatments=e[e["treatment"] != "plasmapheresis"],
    )
    sections, _, _ = _quiet(cohort=only_cyc, bootstrap=0, seed=SEED)
    ids = [s.id for s in sections]
    assert "target-trial-cyclophosphamide" in ids
    assert "target-trial-plasmapheresis" not in ids
    assert any(
        "No trial of plasmapheresis is emulated" in p
        for p in _by_id(sections)["target-trials"].paragraphs
    )
    assert "No bootstrap was run (B = 0)" in sections[0].paragraphs[2]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategies": "cyclophosphamide"},
        {"strategies": [("cyclophosphamide",)]},
        {"strategies": [("aspirin", 2)]},
        {"strategies": []},
        {"min_cell": 0},
        {"min_cell": True},
        {"horizon_days": 2},  # not after cyclophosphamide's grace period of 2 days
    ],
)
def test_bad_arguments(cohort: Cohort, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ArgumentError):
        _quiet(cohort=cohort, bootstrap=0, **kwargs)


# --------------------------------------------------------------------------- suppression


_COUNT = re.compile(r"^\d[\d,]*$")


def _counts(sections: list[Section]) -> list[int]:
    """Every whole number shown as a table cell of a count column."""
    out = []
    for s in sections:
        for t in s.tables:
            for j, col in enumerate(t.columns):
                if not re.search(r"Patients|Deaths|Clones|censored|propensity below", col):
                    continue
                for row in t.rows:
                    cell = row[j]
                    if isinstance(cell, int | np.integer) or _COUNT.match(str(cell)):
                        out.append(int(str(cell).replace(",", "")))
    return out


def test_small_cells_suppressed(cohort: Cohort) -> None:
    fit = _emulate(cohort, "cyclophosphamide", 2)
    followers = [fit.n - int(x) for x in fit.ccw.n_censored]
    # a threshold that hides the strategy fewer patients follow, and the smaller arms
    min_cell = min(followers) + 1
    hidden_strategy = fit.ccw.strategies[int(np.argmin(followers))]
    sections, _, _ = _quiet(cohort=cohort, bootstrap=B, seed=SEED, min_cell=min_cell)
    counts = _counts(sections)
    assert counts, "the count columns were not found"
    assert not [n for n in counts if 0 < n < min_cell]
    summary = _table(_by_id(sections)["target-trials"], "Risk of death by day 90")
    row = next(r for r in summary.rows if r[0] == "cyclophosphamide")
    assert "suppressed" in row[3:5]
    assert row[5:] == ["suppressed", "suppressed"]
    trial = _by_id(sections)["target-trial-cyclophosphamide"]
    (figure,) = trial.figures
    (drawn,) = figure.alt.split(": ", 1)[1].split("; ")
    assert not drawn.startswith(f"{hidden_strategy} ")
    assert "not drawn" in figure.caption
    clones = _table(trial, "Clones of the")
    assert next(r for r in clones.rows if r[0] == hidden_strategy)[3] == "suppressed"
    # the arms smaller than the threshold (and the one hidden with them) show no risk
    std = _table(_by_id(sections)["standardised-risks"], "Risk of death by arm")
    hidden = {r[1] for r in std.rows if r[2] == "not shown"}
    assert hidden, "no arm is small enough to be hidden at this threshold"
    assert all(r[3:] == ["–"] * 4 for r in std.rows if r[1] in hidden)
    shown_sizes = [int(r[2].replace(",", "")) for r in std.rows if r[1] not in hidden]
    assert min(shown_sizes) >= min_cell
    # no small count in any warning either
    for s in sections:
        for w in s.warnings:
            for m in re.finditer(r"(\d[\d,]*) (patients|events|deaths)", w):
                n = int(m.group(1).replace(",", ""))
                assert not 0 < n < min_cell, w


def test_too_few_patients_for_a_trial(cohort: Cohort) -> None:
    fit = _emulate(cohort, "plasmapheresis", 7)
    sections, _, _ = _quiet(
        cohort=cohort, strategies=[("plasmapheresis", 7)], bootstrap=0, min_cell=fit.n + 1
    )
    overview = _by_id(sections)["target-trials"]
    assert "target-trial-plasmapheresis" not in _by_id(sections)
    assert any("fewer than" in p and "eligible" in p for p in overview.paragraphs)
    assert not overview.tables


def test_scrub_counts() -> None:
    text = (
        "of 1,234 patients treated with X, 4 started after DAH onset; only 3 events by day "
        "90; Rituximab (n = 6) and Other (2) left out; fewer than 10 patients; within 2 days; "
        "below 0.01"
    )
    assert scrub_counts(text, None) == text
    assert scrub_counts(text, 11) == (
        "of 1,234 patients treated with X, <11 started after DAH onset; only <11 events by "
        "day 90; Rituximab (n = <11) and Other (<11) left out; fewer than 10 patients; within "
        "2 days; below 0.01"
    )


# ------------------------------------------------------------------------ page, determinism


def test_same_seed_same_page(built, cohort: Cohort) -> None:
    page = _render(built[0])
    again = _render(_quiet(cohort=cohort, bootstrap=B, seed=SEED)[0])
    assert page == again
    other = _render(_quiet(cohort=cohort, bootstrap=B, seed=SEED + 1)[0])
    assert other != page
    # the seed changes the intervals only, not the estimates
    assert other.count("<svg") == page.count("<svg")


def test_whole_page(built) -> None:
    page = _render(built[0])
    assert page.count("<svg") == 4  # two trials' curves, the love plot, the overlap plot
    assert not re.search(r"(src|href)=\"https?://", page)
    assert "<script" not in page
    for heading in (
        "Target trials of treatment strategies",
        "Target trial: cyclophosphamide within 2 days of DAH onset, death by day 90",
        "Target trial: plasmapheresis within 7 days of DAH onset, death by day 90",
        "Standardised risks of death by arm",
        "Protocol of the target trial of plasmapheresis within 7 days",
    ):
        assert heading in page


# -------------------------------------------------------------------------------- figure


def test_plot_strategy_risks() -> None:
    curves = pd.DataFrame(
        {
            "strategy": ["a"] * 3 + ["b"] * 3,
            "day": [0, 1, 2] * 2,
            "risk": [0.1, 0.2, 0.3, 0.05, 0.1, 0.15],
            "ci_lower": [np.nan] * 6,
            "ci_upper": [np.nan] * 6,
        }
    )
    ax = plot_strategy_risks(curves, strategies=("a", "b"), grace_days=1, horizon_days=2)
    lines = [line for line in ax.get_lines() if line.get_label() in ("a", "b")]
    assert [line.get_label() for line in lines] == ["a", "b"]
    # the risk by day k is drawn from half-way through day k, from 0 at onset
    _, y = lines[0].get_data()
    assert list(np.asarray(y)[:2]) == [0.0, 0.1]
    assert not ax.collections  # no band without an interval
    one = plot_strategy_risks(
        curves[curves["strategy"] == "b"], strategies=("a", "b"), grace_days=1, horizon_days=2
    )
    (b,) = [line for line in one.get_lines() if line.get_label() == "b"]
    assert b.get_color() == lines[1].get_color()  # a strategy keeps its colour
    with pytest.raises(ArgumentError, match="lack the columns"):
        plot_strategy_risks(
            curves.drop(columns="risk"), strategies=("a", "b"), grace_days=1, horizon_days=2
        )
    with pytest.raises(ArgumentError, match="not in strategies"):
        plot_strategy_risks(curves, strategies=("a",), grace_days=1, horizon_days=2)


# ------------------------------------------------------------------------------ on the page


def test_the_report_page_holds_the_causal_sections(built, cohort: Cohort, tmp_path) -> None:
    """``report()`` places the sections ``causal_sections`` builds (the same numbers for the
    same seed and B) between the survival sections and the methods; ``emulate=False`` leaves
    them out; the CLI's --strategy, --horizon-days, --bootstrap and --no-emulation reach it."""
    from dah_outcomes.cli.main import main
    from dah_outcomes.io import save_cohort
    from dah_outcomes.report import report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        page = report(cohort, bootstrap=B, seed=SEED)
    ids = re.findall(r'<section[^>]*id="([^"]+)"', page)
    assert ids.index("survival") < ids.index("target-trials") < ids.index("methods")
    assert "standardised-risks" in ids
    sections, _, _ = built
    summary = _table(sections[0], "Risk of death")
    row = summary.rows[0]
    assert all(html.escape(str(cell)) in page for cell in row)
    methods = page[page.index('id="methods"') :]
    assert "clone-censor-weight" in methods
    save_cohort(generate_cohort("seed-article", n_sle=8_000, seed=3), tmp_path / "cohort")
    out = tmp_path / "r.html"
    argv = ["report", str(tmp_path / "cohort"), "--out", str(out), "--bootstrap", "0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        assert main([*argv, "--strategy", "plasmapheresis:3", "--horizon-days", "60"]) == 0
        text = out.read_text("utf-8")
        assert "target-trial-plasmapheresis" in text
        assert "target-trial-cyclophosphamide" not in text
        assert "day 60" in text
        assert main([*argv, "--no-emulation"]) == 0
        assert "target-trials" not in out.read_text("utf-8")
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--strategy", "plasmapheresis"])
    assert stop.value.code == 2
