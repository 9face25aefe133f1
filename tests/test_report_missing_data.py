"""The report's missing data, flow and methods: the missing-data section beside the flow,
CONSORT-style reasons instead of rule codes, the adjustment set actually used and the
missing-data handling stated in the methods, vital status in the flow."""

from __future__ import annotations

import html
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning
from dah_outcomes.plotting.flow import FLOW_REASONS, flow_reason, plot_flow
from dah_outcomes.report import report

PACKAGE = Path(__file__).resolve().parents[1] / "dah_outcomes"


def _rule_codes() -> set[str]:
    """Every reason code the validation and the import can give a row: the rule tables and
    every ``"rule": "..."`` literal in the package (layouts, readers, cohort files)."""
    from dah_outcomes.io.staging import EXTRA_RULES
    from dah_outcomes.validation import RULES
    from dah_outcomes.vital_status import VITAL_STATUS_RULES

    codes = set(RULES) | set(EXTRA_RULES) | set(VITAL_STATUS_RULES)
    for path in PACKAGE.rglob("*.py"):
        codes |= set(re.findall(r"[\"']rule[\"']:\s*[\"'](\w+)[\"']", path.read_text("utf-8")))
    return codes


def test_every_rule_code_has_a_plain_reason() -> None:
    codes = _rule_codes()
    assert len(codes) >= 40  # the scan found the tables and the literals
    missing = sorted(codes - set(FLOW_REASONS))
    assert not missing, f"rule codes without a flow reason in plotting/flow.py: {missing}"
    for code in codes:
        reason = flow_reason(code)
        assert reason != code
        assert "_" not in reason
    assert flow_reason("  reason: followup_end_before_start") == (
        "follow-up end before follow-up start"
    )
    assert flow_reason("something_new") == "something new"


def test_flow_diagram_shows_reasons_not_codes() -> None:
    ax = plot_flow(
        [("Source rows read", 40), ("Rows accepted", 31)],
        [("followup_after_death", 9)],
        excluded=("Rows rejected", 9),
    )
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "follow-up continuing after death: 9" in texts
    assert "followup_after_death" not in texts


# ---------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=12_000, seed=8)


def _report(cohort: Cohort, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return report(cohort, **{"emulate": False, **kwargs})


def _section(page: str, name: str, until: str) -> str:
    return page[page.index(f'id="{name}"') : page.index(f'id="{until}"')]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _blank(cohort: Cohort, column: str, rows: pd.Index) -> Cohort:
    e = cohort.episodes
    e[column] = e[column].astype(object)
    e.loc[rows, column] = None
    return Cohort(cohort.patients, e, design=cohort.design, treatments=cohort.treatments)


def _first_episode(cohort: Cohort, n: int = 1) -> pd.Index:
    e = cohort.episodes
    return e.index[e["episode_number"] == 1][:n]


def test_one_missing_ventilation_value_is_stated_not_silent(cohort: Cohort) -> None:
    """Issue 17's report bug: with one ventilation value missing, the methods and the
    hazard-ratio table say what the model was adjusted for and how many patients it left
    out, and the missing-data section counts the value."""
    from dah_outcomes import hazard_ratios

    one = _blank(cohort, "mechanical_ventilation", _first_episode(cohort))
    page = _report(one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        hr = hazard_ratios(one)
    assert "mechanical_ventilation" in hr.adjusted_for
    assert hr.n_dropped == 1
    methods = _text(_section(page, "methods", "provenance"))
    assert "mechanical ventilation at the first episode" in methods
    assert "1 left out for a missing covariate" in methods
    assert f"hazard ratios: 1 of {hr.n + 1:,} patients left out for a missing covariate" in methods
    assert "complete-case analysis" in methods
    survival = _text(_section(page, "survival", "methods"))
    note = re.search(r"Adjusted for ([^.]*)\.", survival)
    assert note is not None, "the hazard-ratio table states its adjustment"
    assert "mechanical ventilation" in note.group(1)
    assert "1 patient(s) missing a covariate the model used were left out" in survival
    missing = _text(_section(page, "missing", "table1"))
    assert "episodes.mechanical_ventilation" in missing
    row = re.search(r"episodes\.mechanical_ventilation (\d+) (\d+) ([\d.]+)%", missing)
    assert row is not None
    assert row.group(2) == "1"


def test_a_covariate_left_out_is_named_with_its_reason(cohort: Cohort) -> None:
    """Ventilation recorded for one patient only cannot adjust: the methods, the hazard-ratio
    table and the treatment-effect table say it was left out and why, never that the model
    was adjusted for it."""
    from treated_cohorts import ARM_TREATMENTS, with_courses

    e = cohort.episodes
    keep = _first_episode(cohort)
    rows = e.index.difference(keep)
    blank = _blank(cohort, "mechanical_ventilation", rows)
    dated = with_courses(
        Cohort(blank.patients, blank.episodes, design=blank.design),
        {**dict.fromkeys(ARM_TREATMENTS, 0), "plasmapheresis": (1, 10)},
        seed=3,
    )
    page = _report(dated)
    survival = _text(_section(page, "survival", "methods"))
    reason = "mechanical ventilation (the same value for every patient)"
    hr_note = re.search(r"Adjusted for ([^.]*)\.", survival)
    assert hr_note is not None
    assert "mechanical ventilation" not in hr_note.group(1).split("; not adjusted for")[0]
    assert f"not adjusted for {reason}" in hr_note.group(1)
    assert "All adjusted for the declared adjustment set" not in survival
    assert "Every model: Adjusted for severe presentation" in survival
    effects = survival[survival.index("Every model:") :]
    assert reason in effects.split(".")[0] + effects.split(".")[1]
    methods = _text(_section(page, "methods", "provenance"))
    adjusted, _, left_out = methods.partition("Not adjusted for")
    assert "mechanical ventilation at the first episode" not in adjusted
    assert reason in left_out


def test_missing_data_section_beside_the_flow(cohort: Cohort) -> None:
    # cyclophosphamide missing in 40% of the deaths and 10% of the others (issue 17)
    e = cohort.episodes
    first = e[e["episode_number"] == 1]
    rng = np.random.default_rng(5)
    p = np.where(first["in_hospital_death"].to_numpy(dtype=bool), 0.4, 0.1)
    gone = first.index[rng.random(len(first)) < p]
    page = _report(_blank(cohort, "cyclophosphamide", gone))
    order = [page.index(f'id="{s}"') for s in ("flow", "missing", "table1")]
    assert order == sorted(order)
    missing = _text(_section(page, "missing", "table1"))
    assert "Missing values per contract column" in missing
    assert f"episodes.cyclophosphamide {len(e):,} {len(gone):,}" in missing
    assert "Missingness patterns" in missing
    assert "Outcome of the patients missing a value against those with it" in missing
    # the sentence that says the missingness differs, and what to do
    assert "The missingness differs materially by outcome for cyclophosphamide (death:" in missing
    assert "multiple imputation" in missing
    assert "patients.death_date" in missing


def test_missing_section_masks_small_counts(cohort: Cohort) -> None:
    rows = _first_episode(cohort, 3)
    page = _report(_blank(cohort, "infection", rows), min_cell=5)
    missing = _text(_section(page, "missing", "table1"))
    assert re.search(r"episodes\.infection [\d,]+ <5 suppressed", missing)
    assert re.search(r"infection death suppressed suppressed", missing)


def test_report_states_the_missing_data_handling(cohort: Cohort) -> None:
    page = _report(cohort)
    provenance = _text(page[page.index('id="provenance"') :])
    assert "missing data complete-case analysis" in provenance
    with pytest.raises(ArgumentError, match="missing must be one of"):
        report(cohort, missing="drop")
    with pytest.raises(ArgumentError, match="imputations must be a whole number of at least 2"):
        report(cohort, missing="mi", imputations=1)
    with pytest.raises(ArgumentError, match="seed must be a whole number"):
        report(cohort, seed=-1)


@pytest.fixture(scope="module")
def amputed() -> Cohort:
    from dah_outcomes.synthetic.missingness import apply_missingness

    # a third of the treatment flags, ventilation and haemoglobin drop removed at random given
    # severity and era: enough missing for the pooled figures to differ from complete case
    base = generate_cohort("seed-article", n_sle=12_000, seed=8)
    return apply_missingness(base, "mar", fraction=0.3, seed=21).cohort


def test_report_by_multiple_imputation_pools_every_analysis(amputed: Cohort) -> None:
    """``report(missing="mi")``: the outcomes, survival, hazard-ratio and treatment-effect
    tables are those of the analyses pooled over one set of completed cohorts (the same
    numbers as calling them on ``impute_cohort`` with the seed), the methods and provenance
    say so, and the page is the same bytes for the same seed."""
    from dah_outcomes import hazard_ratios, impute_cohort, rates, survival_by_group

    page = _report(amputed, missing="mi", imputations=3, seed=4)
    assert page == _report(amputed, missing="mi", imputations=3, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        imputed = impute_cohort(amputed, m=3, seed=4)
        pooled = rates(imputed, "arm").to_frame()
        hr = hazard_ratios(imputed, by="arm").to_frame()
        at = survival_by_group(imputed, "arm").at_times
        complete = rates(amputed, "arm").to_frame()
    outcomes = _text(_section(page, "outcomes", "survival"))
    vent = pooled[(pooled["endpoint"] == "mechanical_ventilation") & (pooled["group"] == "overall")]
    row = vent.iloc[0]
    # a pooled count is a mean over the imputations, shown with its decimal
    assert (
        f"mechanical ventilation overall {row['events']:,.1f} {int(row['total']):,} "
        f"{100 * row['estimate']:.1f}% {100 * row['ci_lower']:.1f}% to "
        f"{100 * row['ci_upper']:.1f}%"
    ) in outcomes
    cc = complete[(complete["endpoint"] == "mechanical_ventilation")]
    assert f"{100 * cc['estimate'].iloc[0]:.1f}%" != f"{100 * row['estimate']:.1f}%"
    assert "Multiple imputation (3 imputations)" in outcomes
    survival = _text(_section(page, "survival", "methods"))
    first = hr.iloc[0]
    assert f"{first['hazard_ratio']:.2f} ({first['ci_lower']:.2f} to {first['ci_upper']:.2f})" in (
        survival
    )
    day30 = at[(at["time"] == 30)].iloc[0]
    assert f"{day30['group']} 30 " in survival
    assert f"{100 * day30['survival']:.1f}%" in survival
    assert "the curves of the first completed cohort" in survival
    methods = _text(_section(page, "methods", "provenance"))
    assert "multiple imputation by chained equations (3 imputations, seed 4)" in methods
    assert "left out for a missing covariate" not in methods
    assert "the cumulative incidence of recurrence is of the observed data" in methods
    provenance = _text(page[page.index('id="provenance"') :])
    assert "imputations 3" in provenance
    assert "imputation seed 4" in provenance
    assert _report(amputed, missing="mi", imputations=3, seed=5) != page


def test_flow_reasons_and_vital_status_on_the_page(small_tables) -> None:
    p, e = small_tables
    p = p.assign(vital_status=["alive", "dead", "dead", "alive", "alive"])
    e = e.assign(in_hospital_death=e["in_hospital_death"])
    cohort = Cohort(p, e)
    flow = pd.DataFrame(
        {
            "step": [
                "source rows read",
                "rows rejected",
                "  reason: followup_after_death",
                "rows accepted",
                "patients included",
                "patients with DAH",
                "DAH episodes",
            ],
            "n": [12, 2, 2, 10, 5, 3, 4],
        }
    )
    page = _report(cohort, flow=flow, by="site")
    section = _text(_section(page, "flow", "missing"))
    assert "reason: follow-up continuing after death 2" in section
    assert "followup_after_death" not in section
    # the diagram's text alternative
    assert "follow-up continuing after death 2" in html.unescape(page)
    assert "1 patient(s) died on a date that is not recorded" in section
    methods = _text(_section(page, "methods", "provenance"))
    assert "1 patient(s) died on an unrecorded date" in methods
