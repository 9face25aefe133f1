"""The report's section on the cited figures: each figure quoted for DAH in SLE beside its
recomputation from the cohort (events, total, estimate with CI) and the verdict of the one
rule in :mod:`~dah_outcomes.reproduce.verdicts`, as a table and a dot-and-whisker figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dah_outcomes.plotting.cited_figures import plot_cited_figures
from dah_outcomes.report.sections import SUPPRESSED, Figure, Section, Table, fmt_count, fmt_pct
from dah_outcomes.reproduce.verdicts import VERDICTS, ReproductionResult

__all__ = ["cited_figures_section"]


def _recomputed(rec: Mapping[Any, Any], min_cell: int | None) -> list[str]:
    """Events / total, estimate and CI of one claim ("–" where it was not recomputable)."""
    events, total = rec["events"], rec["total"]
    if pd.isna(rec["estimate"]) or pd.isna(events) or pd.isna(total):
        return ["–", "–", "–"]
    # a count too small to show is masked, as every count on the page
    small = bool(min_cell) and 0 < float(events) < (min_cell or 0)
    shown = SUPPRESSED.format(n=min_cell) if small else fmt_count(events)
    return [
        f"{shown} / {fmt_count(total)}",
        fmt_pct(rec["estimate"]),
        f"{fmt_pct(rec['ci_lower'])} to {fmt_pct(rec['ci_upper'])}",
    ]


def cited_figures_section(comparison: ReproductionResult, min_cell: int | None = None) -> Section:
    """The cited figures against the cohort: table, figure and the verdicts' meanings.

    Parameters
    ----------
    comparison : ReproductionResult
        From :func:`~dah_outcomes.reproduce.cited_figures.compare_cited_figures` (or
        :func:`~dah_outcomes.reproduce.verdicts.reproduce` with any claims).
    min_cell : int, optional
        Small-cell threshold: an event count below it is shown as ``<min_cell``.

    Returns
    -------
    Section
    """
    frame = comparison.to_frame()
    s = Section("cited-figures", "The cited figures against this cohort")
    counts = ", ".join(f"{n} {v}" for v, n in comparison.verdict_counts.items() if n)
    s.paragraphs.append(
        f"Each figure quoted for DAH in SLE, recomputed from this cohort with its confidence "
        f"interval and judged by one rule: {counts}."
    )
    level = f"{comparison.conf_level:.0%}"
    rows = [
        [
            str(rec["claim"]).replace("_", " "),
            str(rec["printed"]),
            *_recomputed(rec, min_cell),
            str(rec["verdict"]),
            str(rec["why"]),
        ]
        for rec in frame.to_dict("records")
    ]
    s.tables.append(
        Table(
            "Cited figures: printed and recomputed",
            ["Figure", "Printed", "Events / total", "Recomputed", f"{level} CI", "Verdict", "Why"],
            rows,
            "Proportions with the interval of the claims' method; a figure printed as a range "
            "is reproduced when the recomputed value lies in it.",
        )
    )
    ax = plot_cited_figures(comparison)
    s.figures.append(
        Figure.of(
            ax,
            "Each cited figure (orange; a triangle for a bound such as >50%) beside its "
            "recomputation from the cohort (blue) with its "
            "confidence interval; the verdict on the right.",
            "Cited figures against the cohort: "
            + "; ".join(
                f"{str(r['claim']).replace('_', ' ')} {r['verdict']}"
                for r in frame.to_dict("records")
            ),
        )
    )
    s.definitions.extend(VERDICTS.items())
    return s
