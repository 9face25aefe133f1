"""The missing-data section of the report, beside the flow: per contract column how many
values are missing, which combinations of missing columns occur, and whether the patients
missing a value differ in death or ventilation; and the methods paragraph saying how each
analysis handled the missing values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.report.sections import SUPPRESSED, Section, Table, masked_count
from dah_outcomes.stats.missing_data import (
    MissingnessByOutcome,
    missing_patterns,
    missing_summary,
    missingness_by_outcome,
)

__all__ = ["MAX_PATTERNS", "left_out_phrase", "missing_data_methods", "missing_data_section"]

#: Patterns listed on the page; the rarer ones are summed in one row.
MAX_PATTERNS = 8

_OUTCOME_WORDS = {"died": "death", "ventilated": "mechanical ventilation"}


def _small(n: int, min_cell: int | None) -> bool:
    return bool(min_cell) and 0 < n < (min_cell or 0)


def _summary_table(cohort: Cohort, min_cell: int | None) -> tuple[Table, int]:
    frame = missing_summary(cohort).to_frame()
    if cohort.treatments.empty:
        frame = frame[frame["table"] != "treatments"]
    rows: list[list[Any]] = []
    for r in frame.to_dict("records"):
        n = int(r["n_missing"])
        small = _small(n, min_cell)
        pct = r["pct_missing"]
        rows.append(
            [
                f"{r['table']}.{r['column']}",
                int(r["n_expected"]),
                masked_count(n, min_cell),
                "suppressed" if small else ("–" if not np.isfinite(pct) else f"{pct:.1f}%"),
                r["note"],
            ]
        )
    n_incomplete = int((frame["n_missing"] > 0).sum())
    return (
        Table(
            "Missing values per contract column",
            ["Column", "Expected", "Missing", "% missing", "Note"],
            rows,
            "Expected: the rows in which a value is expected (an amount only where its "
            "treatment or ventilation was given, a death date only for the dead, a cause of "
            "death only where a death is dated); missing: of those. An episode's arm left "
            "empty is derived from its treatment flags, so it is never missing. Column not "
            "recorded: the source had no such column.",
        ),
        n_incomplete,
    )


def _patterns_table(cohort: Cohort, min_cell: int | None) -> Table | None:
    try:
        patterns = missing_patterns(cohort)
    except ArgumentError:  # no column with a missing value: nothing to show
        return None
    frame = patterns.to_frame()
    if len(frame) <= 1:
        return None
    shown = frame.iloc[:MAX_PATTERNS]
    rest = frame.iloc[MAX_PATTERNS:]
    rows: list[list[Any]] = [
        [
            r["missing"] or "none (complete)",
            int(r["n_missing"]),
            masked_count(int(r["count"]), min_cell),
        ]
        for r in shown.to_dict("records")
    ]
    if len(rest):
        rows.append(
            [
                f"{len(rest)} other patterns",
                "–",
                masked_count(int(rest["count"].sum()), min_cell),
            ]
        )
    return Table(
        "Missingness patterns of the DAH patients at their first episode (the combinations "
        "of missing values that occur)",
        ["Missing", "Columns missing", "Patients"],
        rows,
        f"{patterns.n_complete:,} of {patterns.n_rows:,} patients have every value of "
        f"{', '.join(patterns.columns)}; patterns as R's mice::md.pattern, the complete "
        "patients first.",
    )


def _by_outcome_table(by: MissingnessByOutcome, min_cell: int | None) -> Table | None:
    frame = by.to_frame()
    if frame.empty:
        return None
    rows: list[list[Any]] = []
    for r in frame.to_dict("records"):
        counts = (r["events_missing"], r["n_missing"], r["events_observed"], r["n_observed"])
        # a rate of a masked count gives the count back: both rates go with it
        hide = any(_small(int(n), min_cell) for n in counts)
        rr = r["risk_ratio"]
        rows.append(
            [
                r["column"],
                _OUTCOME_WORDS.get(r["outcome"], r["outcome"]),
                "suppressed" if hide else f"{r['events_missing']} / {r['n_missing']}",
                "suppressed" if hide else f"{r['events_observed']} / {r['n_observed']}",
                "–" if not np.isfinite(rr) else f"{rr:.2f}",
                f"{r['p_value']:.2g}",
                "yes" if r["material"] else "no",
            ]
        )
    return Table(
        "Outcome of the patients missing a value against those with it",
        [
            "Column",
            "Outcome",
            "Events / patients missing",
            "Events / patients with a value",
            "Risk ratio",
            "Fisher p",
            "Differs",
        ],
        rows,
        "Risk ratio: the outcome's proportion among the patients missing the value over that "
        "among the patients with it. " + by.criterion,
    )


def _material_sentence(by: MissingnessByOutcome, min_cell: int | None) -> str | None:
    material = by.material
    if material.empty:
        return None
    parts = []
    for r in material.to_dict("records"):
        rr = "inf" if np.isinf(r["risk_ratio"]) else f"{r['risk_ratio']:.2g}"
        outcome = _OUTCOME_WORDS.get(r["outcome"], r["outcome"])
        counts = (r["events_missing"], r["n_missing"], r["events_observed"], r["n_observed"])
        if any(_small(int(n), min_cell) for n in counts):
            parts.append(f"{r['column']} ({outcome}: risk ratio {rr})")
        else:
            parts.append(
                f"{r['column']} ({outcome}: {100 * r['rate_missing']:.1f}% of the "
                f"{r['n_missing']:,} patients missing it against "
                f"{100 * r['rate_observed']:.1f}% of the others, risk ratio {rr})"
            )
    return (
        "The missingness differs materially by outcome for "
        + "; ".join(parts)
        + ". The values are then unlikely to be missing completely at random: an analysis "
        "of the complete cases describes a selected group, and multiple imputation "
        "(report(missing='mi'), --missing mi) is more credible if the missingness depends "
        "on what was recorded; if it depends on the missing values themselves, only a "
        "sensitivity analysis (delta adjustment) can say how far the conclusions move."
    )


def missing_data_section(cohort: Cohort, min_cell: int | None) -> Section:
    """Missing values per contract column, the missingness patterns and the comparison of
    the patients missing a value with the others on death and ventilation.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    min_cell : int or None
        Small-cell threshold (counts below it masked, and rates that would give them back).

    Returns
    -------
    Section
    """
    s = Section("missing", "Missing data")
    table, n_incomplete = _summary_table(cohort, min_cell)
    if not n_incomplete:
        s.paragraphs.append("No contract column has a missing value where one is expected.")
    s.tables.append(table)
    patterns = _patterns_table(cohort, min_cell)
    if patterns is not None:
        s.tables.append(patterns)
    by = missingness_by_outcome(cohort)
    comparison = _by_outcome_table(by, min_cell)
    if comparison is not None:
        s.tables.append(comparison)
    sentence = _material_sentence(by, min_cell)
    if sentence:
        s.warnings.append(sentence)
    elif comparison is not None:
        s.paragraphs.append(
            "The patients missing a value do not differ materially from the others in death "
            "or mechanical ventilation (" + by.criterion.removeprefix("Material: ") + ")"
        )
    return s


def missing_data_methods(missing: str, imputations: int, seed: int, handling: Sequence[str]) -> str:
    """The methods paragraph on missing data: complete case with the patients each analysis
    left out, or multiple imputation with its number of imputations and pooling rules.

    Parameters
    ----------
    missing : {"complete-case", "mi"}
        The handling asked for.
    imputations : int
        Number of imputations (``"mi"``).
    seed : int
        Seed of the imputations.
    handling : sequence of str
        One phrase per analysis saying what it did (e.g. ``"hazard ratios: 1 of 2,221
        patients left out for a missing covariate"``), masked by its writer.

    Returns
    -------
    str
    """
    if missing == "mi":
        text = (
            f"Missing values were handled by multiple imputation by chained equations "
            f"({imputations} imputations, seed {seed}) over the patient and first-episode "
            "variables, with the event indicator and the Nelson-Aalen cumulative hazard in "
            "the imputation models (White and Royston 2009); logistic models for flags, "
            "predictive mean matching for numbers. Each analysis was run on every completed "
            "cohort and pooled by Rubin's rules: proportions on the logit scale, "
            "Kaplan-Meier survival at fixed times on the complementary log-log scale, Cox "
            "coefficients on the log hazard scale, with Barnard-Rubin degrees of freedom."
        )
    else:
        text = (
            "Missing values were handled by complete-case analysis: each analysis left out "
            "the patients missing a value it needed (proportions count the patients with "
            "the item recorded; a missing treatment flag before a matching arm rule gives "
            "the arm 'Unknown')."
        )
    if handling:
        text += " Per adjusted analysis: " + "; ".join(handling) + "."
    return text


def left_out_phrase(what: str, n_dropped: int, n_total: int, min_cell: int | None) -> str:
    """``"<what>: <n> of <total> patients left out for a missing covariate"``, masked.

    Parameters
    ----------
    what : str
        The analysis.
    n_dropped, n_total : int
        Patients left out and patients with the analysis's outcome.
    min_cell : int or None
        Small-cell threshold.

    Returns
    -------
    str
    """
    if not n_dropped:
        return f"{what}: no patient left out"
    shown = SUPPRESSED.format(n=min_cell) if _small(n_dropped, min_cell) else f"{n_dropped:,}"
    return f"{what}: {shown} of {n_total:,} patients left out for a missing covariate"
