"""The main job: generate the default cohort, reproduce the cited figures, write the outputs."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

from matplotlib.axes import Axes

from dah_outcomes.analyses.outcome_rates import OutcomeRates, rates
from dah_outcomes.cli.output import echo
from dah_outcomes.cohort import Cohort
from dah_outcomes.io.cohort_files import (
    check_output_folder,
    save_cohort,
    staged_folder,
    write_atomic,
    write_csv,
)
from dah_outcomes.plotting import plot_cited_figures
from dah_outcomes.plotting._axes import save_figure
from dah_outcomes.report.page import report, write_report
from dah_outcomes.reproduce.cited_figures import compare_cited_figures
from dah_outcomes.reproduce.verdicts import VERDICTS, ReproductionResult
from dah_outcomes.synthetic.cohorts import generate_cohort

__all__ = ["run_demo"]


def run_demo(
    out: Path,
    *,
    n_sle: int = 200_000,
    seed: int = 2026,
    scenario: str = "seed-article",
    progress: Callable[[str, float], None] | None = None,
) -> int:
    """Generate ``scenario``, reproduce the cited figures from it and write tables and figures.

    The folder is written whole beside ``out`` and renamed into place (a previous run's
    outputs are replaced; other files there are kept). Writes under ``out``: ``cohort/``
    (tables and provenance), ``cited_figures.csv`` (the verdict table of ``dah-outcomes
    reproduce cited-figures``), ``rates_overall.csv``, ``rates_by_arm.csv``,
    ``rates_by_era.csv``, ``rates.json``, ``cited_figures.png``/``.svg`` and the HTML report
    ``report.html``, the same bytes for the same arguments. Prints each cited figure beside
    its estimate, with its verdict.

    Parameters
    ----------
    out : Path
        Output folder (created if needed).
    n_sle : int, default 200_000
        SLE patients to generate.
    seed : int, default 2026
        Random seed of the generator.
    scenario : str, default "seed-article"
        A shipped scenario name or a scenario file.
    progress : callable, optional
        Called as ``progress(stage, fraction)`` while the cohort is generated.

    Returns
    -------
    int
        0 (the demo reports verdicts against the cited figures; it does not fail on them).
    """
    check_output_folder(out, if_exists="replace")  # refused before the work, not after it
    cohort = generate_cohort(scenario, n_sle=n_sle, seed=seed, progress=progress)
    comparison = compare_cited_figures(cohort)
    results = {by or "overall": rates(cohort, by) for by in (None, "arm", "era")}
    # the whole output folder is written beside and renamed into place: a run stopped midway
    # leaves the previous outputs whole, never some of each run
    with staged_folder(out, if_exists="replace") as tmp:
        _write_outputs(tmp, cohort, comparison, results, scenario=scenario, seed=seed)
    shown = comparison.to_frame()[
        [
            "claim",
            "population",
            "printed",
            "events",
            "total",
            "estimate",
            "ci_lower",
            "ci_upper",
            "verdict",
        ]
    ]
    for col in ("estimate", "ci_lower", "ci_upper"):
        shown[col] = (shown[col] * 100).map("{:.1f}%".format)
    echo(
        f"Scenario {scenario}: {cohort.n_patients:,} SLE patients, "
        f"{cohort.n_dah_patients:,} with DAH, {cohort.n_episodes:,} episodes (seed {seed})"
    )
    echo(shown.to_string(index=False))
    counts = ", ".join(f"{n} {v}" for v, n in comparison.verdict_counts.items() if n)
    echo(f"\nCited figures against the cohort: {counts}. Outputs in {out}/")
    for verdict, meaning in VERDICTS.items():
        echo(f"  {verdict}: {meaning}")
    return 0


def _save(ax: Axes, path: Path, *, format: str) -> None:
    save_figure(ax, path, format=format, dpi=150)


def _write_outputs(
    out: Path,
    cohort: Cohort,
    comparison: ReproductionResult,
    results: dict[str, OutcomeRates],
    *,
    scenario: str,
    seed: int,
) -> None:
    """Every output of the demo into ``out``; the same inputs give the same bytes."""
    save_cohort(cohort, out / "cohort")
    tables = {"cited_figures": comparison.to_frame()}
    for key, result in results.items():
        tables[f"rates_{key}" if key == "overall" else f"rates_by_{key}"] = result.to_frame()
    for name, frame in tables.items():
        write_csv(out / f"{name}.csv", frame)
    payload = {key: r.to_dict() for key, r in results.items()}
    payload["cited_figures"] = comparison.to_dict()
    text = json.dumps(payload, indent=2) + "\n"
    write_atomic(out / "rates.json", lambda p: p.write_text(text, encoding="utf-8"))
    ax = plot_cited_figures(comparison)
    for ext in ("png", "svg"):
        write_atomic(out / f"cited_figures.{ext}", functools.partial(_save, ax, format=ext))
    write_report(
        report(
            cohort,
            title=f"DAH in SLE: synthetic cohort '{scenario}' (seed {seed})",
            cited_figures=comparison,
            seed=seed,
            figures_dir=out / "report_figures",
        ),
        out / "report.html",
    )
