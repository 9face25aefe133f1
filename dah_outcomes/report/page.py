"""The analysis report: one self-contained HTML page (tables, figures as inline SVG, methods,
provenance), built from what was actually run. Every value is escaped by the template."""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.baseline import table_one
from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts, impute_cohort
from dah_outcomes.analyses.missing_handling import MISSING_METHODS, check_missing
from dah_outcomes.analyses.outcome_rates import rates
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.grouping import GROUPINGS, check_by
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, warn
from dah_outcomes.plotting import save_figure
from dah_outcomes.report.causal_sections import (
    REPORT_BOOTSTRAP,
    REPORT_HORIZON_DAYS,
    causal_sections,
)
from dah_outcomes.report.cited_sections import cited_figures_section
from dah_outcomes.report.flow_sections import flow_section
from dah_outcomes.report.missing_sections import missing_data_methods, missing_data_section
from dah_outcomes.report.sections import (
    SUPPRESSED,
    Figure,
    Section,
    Table,
    fmt_count,
    fmt_pct,
    masked_count,
)
from dah_outcomes.report.survival_sections import REPORT_LANDMARK_DAYS, survival_sections
from dah_outcomes.reproduce.verdicts import ReproductionResult
from dah_outcomes.stats.proportions import PROPORTION_METHODS
from dah_outcomes.suppression import hidden_groups, suppress_small_cells
from dah_outcomes.vital_status import summarize_vital_status

__all__ = [
    "FIGURE_FILE_DPI",
    "report",
    "report_from_folder",
    "write_figure_files",
    "write_report",
]


def _table_one_section(
    cohort: Cohort, by: str, arms: ArmDefinition, eras: EraDefinition, min_cell: int | None
) -> tuple[Section, list[str]]:
    t1 = table_one(cohort, by, arms=arms, eras=eras)
    frame = t1.to_frame()
    groups = list(t1.counts)
    hidden = hidden_groups(t1.counts, min_cell)
    if min_cell:
        frame = _suppress_table_one(frame, t1.cell_counts, groups, hidden, min_cell)
    overall_n = sum(t1.counts.values())
    cols = [
        "Characteristic",
        "Statistic",
        f"Overall (n = {masked_count(overall_n, min_cell)})",
        *[
            f"{g} (n {'not shown' if g in hidden else '= ' + masked_count(n, min_cell)})"
            for g, n in t1.counts.items()
        ],
        "Missing",
        "SMD",
    ]
    rows = [
        [
            r["label"],
            r["statistic"],
            r["overall"],
            *[r[g] for g in groups],
            r["missing"],
            r.get("smd_note") or ("–" if not np.isfinite(r["smd"]) else f"{r['smd']:.2f}"),
        ]
        for _, r in frame.iterrows()
    ]
    note = (
        "n (%) for flags (percent of patients with the item recorded); median [IQR] for "
        "measurements. Missing: per group. SMD: standardised mean difference (mean of "
        "pairwise SMDs for more than two groups, as R's tableone)."
    )
    if hidden:
        note += (
            f" Groups not shown separately (fewer than {min_cell} patients, or hidden with "
            f"such a group so that it cannot be recovered by subtraction): {', '.join(hidden)}; "
            "their patients are in the overall column."
        )
    s = Section("table1", f"Table 1. Baseline characteristics by {by}")
    s.tables.append(
        Table(f"Characteristics of DAH patients at their first episode, by {by}", cols, rows, note)
    )
    return s, hidden


def _suppress_table_one(
    frame: pd.DataFrame, cells: pd.DataFrame, groups: list[str], hidden: list[str], min_cell: int
) -> pd.DataFrame:
    """Table 1 under one small-cell policy: a hidden group's column shows nothing; a flag's
    count is masked when it, or the count without the flag (recorded minus it), is below
    ``min_cell``, with complementary masking across the groups (the overall count is their
    total) so that no masked count comes back by subtraction; small missing counts too.
    ``cells`` is the table's ``cell_counts`` (the numbers behind the formatted cells)."""
    out = frame.copy()
    mask_text = SUPPRESSED.format(n=min_cell)
    by_variable = {v: c.set_index("group") for v, c in cells.groupby("variable", sort=False)}
    for i, r in frame.iterrows():
        c = by_variable[r["variable"]]
        missing = c["missing"].astype(int)
        for g in hidden:
            out.at[i, g] = "not shown"
        out.at[i, "missing"] = " / ".join(
            "–" if g in hidden else masked_count(int(missing[g]), min_cell) for g in groups
        )
        if r["kind"] != "flag":
            continue
        yes = c["events"].astype(int)
        no = c["known"] - yes
        # one column per group (the overall as the row total): yes and no partition a
        # group's recorded patients, and the overall column sums the groups
        table = pd.DataFrame([yes[groups].to_list(), no[groups].to_list()], columns=groups)
        table["overall"] = [int(yes["overall"]), int(no["overall"])]
        flags = np.array([[g in hidden for g in groups] + [False]] * 2)
        masked = suppress_small_cells(table, groups, min_cell, total_column="overall", hidden=flags)
        for g in [*groups, "overall"]:
            if g not in hidden and masked[g].isna().any():
                out.at[i, g] = mask_text
    return out


def _recurrence_masks(
    firsts: pd.DataFrame, min_cell: int | None, hidden: list[str]
) -> pd.DataFrame:
    """Which counts of the recurrence table are masked, per group: each patient recurred,
    died first or neither, so the three partition a group, and the overall row sums the
    groups."""
    counts = pd.DataFrame(
        {
            "recurrences": firsts["recurrences"].astype(int),
            "deaths": firsts["deaths_before_recurrence"].astype(int),
        },
        index=firsts.index,
    )
    counts["neither"] = firsts["n"].astype(int) - counts["recurrences"] - counts["deaths"]
    counts["n"] = firsts["n"].astype(int)
    none = pd.DataFrame(False, index=counts.index, columns=counts.columns)
    if not min_cell:
        return none
    groups = counts.index != "overall"
    cells = counts[groups] if groups.sum() >= 2 else counts
    gone = np.repeat(cells.index.isin(hidden)[:, None], 4, axis=1)
    masked = suppress_small_cells(
        cells, ["recurrences", "deaths", "neither"], min_cell, total_column="n", hidden=gone
    ).isna()
    none.loc[masked.index, masked.columns] = masked[masked.columns]
    return none


def _outcomes_section(
    cohort: Cohort,
    by: str,
    ci_method: str,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    min_cell: int | None,
    hidden: list[str],
    imputed: ImputedCohorts | None = None,
) -> tuple[Section, Any]:
    result = rates(
        cohort if imputed is None else imputed,
        by,
        ci_method=ci_method,
        conf_level=conf_level,
        arms=arms,
        eras=eras,
    )
    frame = result.to_frame()
    frame["non_events"] = frame["total"] - frame["events"]
    frame["events_shown"] = frame["events"].astype("Float64")
    frame["total_shown"] = frame["total"].astype("Float64")
    if min_cell:
        # Per endpoint, the groups' counts add up to the overall row, so masking is
        # complementary across the groups of one endpoint (the overall row is their total).
        # A hidden group's row is masked whole and counts as masked.
        for _, part in frame.groupby("endpoint", sort=False):
            groups = part[part["group"] != "overall"]
            cells = groups if len(groups) >= 2 else part
            gone = np.repeat(cells["group"].isin(hidden).to_numpy()[:, None], 3, axis=1)
            masked = suppress_small_cells(
                cells, ["events", "non_events"], min_cell, total_column="total", hidden=gone
            )
            small = masked["events"].isna() | masked["non_events"].isna()
            frame.loc[cells.index[small.to_numpy()], "events_shown"] = pd.NA
            frame.loc[cells.index[masked["total"].isna().to_numpy()], "total_shown"] = pd.NA
    level = f"{conf_level:.0%}"
    rows: list[list[Any]] = []
    # records, not itertuples: the stubs type a tuple's fields as any scalar, records as Any
    for rec in frame.to_dict("records"):
        suppressed = pd.isna(rec["events_shown"])
        rows.append(
            [
                rec["endpoint"].replace("_", " "),
                rec["group"],
                SUPPRESSED.format(n=min_cell) if suppressed else fmt_count(rec["events"]),
                SUPPRESSED.format(n=min_cell)
                if pd.isna(rec["total_shown"])
                else fmt_count(rec["total"]),
                "suppressed" if suppressed else fmt_pct(rec["estimate"]),
                "suppressed"
                if suppressed
                else f"{fmt_pct(rec['ci_lower'])} to {fmt_pct(rec['ci_upper'])}",
            ]
        )
    s = Section("outcomes", f"Outcomes by {by}", warnings=list(result.warnings))
    s.tables.append(
        Table(
            f"Endpoints of the first DAH episode, overall and by {by}",
            ["Endpoint", "Group", "Events", "Total", "Estimate", f"{level} CI"],
            rows,
            f"CI: {PROPORTION_METHODS[ci_method]}, {level} level. "
            + ("Incidence is among all SLE patients; " if cohort.design == "population" else "")
            + "mortality per episode among all DAH episodes (each in its own arm and era); "
            "other endpoints among DAH patients, at their first episode."
            + (
                ""
                if imputed is None
                else f" Multiple imputation ({imputed.m} imputations): events are the mean "
                "over the completed cohorts, estimates and intervals pooled by Rubin's rules "
                "on the logit scale."
            ),
        )
    )
    if result.incidence_rate is None and "incidence" in result.definitions:
        s.paragraphs.append(f"Incidence of DAH: {result.definitions['incidence']}.")
    if result.incidence_rate is not None:
        r = result.incidence_rate
        s.paragraphs.append(
            f"Incidence of a first DAH episode: {r.estimate:.2f} per 1,000 person-years at "
            f"risk ({level} CI {r.ci_lower:.2f} to {r.ci_upper:.2f}, exact Poisson), "
            f"{r.events:,} episodes over {r.person_time:,.0f} person-years. "
            f"{masked_count(result.incidence_cases_at_entry or 0, min_cell)} patients whose first "
            "DAH was at the start of follow-up (DAH at the diagnosis of SLE) had no "
            "person-time at risk and are not counted as incident cases."
        )
    s.tables.append(_recurrence_table(result, by, min_cell, hidden))
    return s, result


def _recurrence_table(result: Any, by: str, min_cell: int | None, hidden: list[str]) -> Table:
    """The cumulative incidence of recurrence by year (death competing) beside the rate of
    recurrent episodes per 100 person-years, overall and by group."""
    level = f"{result.conf_level:.0%}"
    years = [f"{y:g}" for y in dict.fromkeys(result.recurrence_cif["years"])]
    rate = result.recurrence_rates.set_index("group")
    firsts = result.recurrence_cif.groupby("group", sort=False).first()
    masked = _recurrence_masks(firsts, min_cell, hidden)
    gone = SUPPRESSED.format(n=min_cell)
    rows: list[list[Any]] = []
    for group, part in result.recurrence_cif.groupby("group", sort=False):
        first = part.iloc[0]
        if group in hidden:
            rows.append([group, "not shown", *["–"] * (len(years) + 3)])
            continue
        # a curve or rate of a masked count would give the count back
        small = masked.at[group, "recurrences"]
        cells = [
            "suppressed"
            if small
            else f"{fmt_pct(r.cif)} ({fmt_pct(r.ci_lower)} to {fmt_pct(r.ci_upper)})"
            for r in part.itertuples()
        ]
        if small:
            cells.append("suppressed")
        elif group in rate.index:
            x = rate.loc[group]
            cells.append(f"{x['estimate']:.2f} ({x['ci_lower']:.2f} to {x['ci_upper']:.2f})")
        else:
            cells.append("–")
        rows.append(
            [
                group,
                gone if masked.at[group, "n"] else int(first["n"]),
                gone if small else int(first["recurrences"]),
                gone if masked.at[group, "deaths"] else int(first["deaths_before_recurrence"]),
                *cells,
            ]
        )
    return Table(
        f"Recurrence: cumulative incidence with death competing, and rate, overall and by {by}",
        [
            "Group",
            "Patients",
            "Recurrences",
            "Deaths first",
            *[f"{y} y ({level} CI)" for y in years],
            "Per 100 person-years",
        ],
        rows,
        "Cumulative incidence of a first recurrence, death before recurrence competing "
        f"(Aalen-Johansen, {level} log(-log) CI from Gray's variance); recurrent episodes "
        "(every episode after the first) per 100 person-years of follow-up from the first "
        "onset (exact Poisson CI). The crude proportion recurring is in the table above.",
    )


def _methods_section(
    cohort: Cohort,
    by: str,
    ci_method: str,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    definitions: dict[str, str],
    extra_methods: list[str],
) -> Section:
    import scipy

    from dah_outcomes._version import __version__

    s = Section("methods", "Methods")
    arm_text = "; ".join(arms.describe())
    s.paragraphs.append(
        "Each DAH patient is described by the first (index) episode. Endpoints: "
        + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in definitions.items())
        + "."
    )
    s.paragraphs.append(
        f"Treatment arms were derived from the index episode's treatment flags by an ordered "
        f"definition (the first matching rule assigns the arm; a missing flag before a match "
        f"gives 'Unknown'): {arm_text}. Eras by onset date: before {eras.boundaries[0]} "
        f"'{eras.labels[0]}', from it '{eras.labels[1]}'."
    )
    grouping = GROUPINGS[by]
    s.paragraphs.append(
        f"Proportions are given with {PROPORTION_METHODS[ci_method]}s at the "
        f"{conf_level:.0%} level; the incidence rate with an exact Poisson interval. "
        f"Groups compared: {grouping.label}, from {grouping.source} (ordered by "
        f"{grouping.order}; a missing value is 'Unknown')."
    )
    s.paragraphs.extend(extra_methods)
    s.paragraphs.append(
        f"Software: dah_outcomes {__version__}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, scipy {scipy.__version__}."
    )
    return s


def _provenance_section(cohort: Cohort, min_cell: int | None, extra: dict[str, Any]) -> Section:
    from dah_outcomes._version import __version__

    prov = dict(cohort.provenance)
    items: list[tuple[str, str]] = [
        ("cohort fingerprint (sha256)", cohort.fingerprint),
        ("package version", __version__),
        ("design", str(cohort.design)),
    ]
    scenario = prov.get("scenario")
    if isinstance(scenario, dict):
        items += [
            ("scenario", str(scenario.get("name"))),
            ("scenario sha256", str(scenario.get("sha256"))),
        ]
    if "seed" in prov:
        items.append(("seed", str(prov["seed"])))
    for key, value in extra.items():
        items.append((key, str(value)))
    loaded = prov.get("loaded_from")
    if isinstance(loaded, dict):
        for name, digest in loaded.get("sha256", {}).items():
            items.append((f"source {name} sha256", str(digest)))
    items.append(
        ("small-cell suppression", f"counts below {min_cell} masked" if min_cell else "none")
    )
    s = Section("provenance", "Provenance")
    s.definitions = items
    s.paragraphs.append(
        "Reporting items this report fills: STROBE 4 (study design), 6 (participants), "
        "7 (variables: endpoint definitions), 12 (statistical methods), 13 (participant flow), "
        "14 (descriptive data: Table 1), 16 (main results with CIs); RECORD 6.1 and 7.1 "
        "(code lists and definitions: the arm and endpoint definitions above) and 12.1-12.3 "
        "(data access and linkage: provenance and fingerprints)."
    )
    return s


def report(
    cohort: Cohort,
    *,
    by: str = "arm",
    ci_method: str = "wilson",
    conf_level: float = 0.95,
    min_cell: int | None = None,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    flow: pd.DataFrame | None = None,
    title: str | None = None,
    extra_provenance: dict[str, Any] | None = None,
    landmark_days: int = REPORT_LANDMARK_DAYS,
    missing: str = "complete-case",
    imputations: int = 20,
    seed: int = 0,
    emulate: bool = True,
    strategies: Sequence[tuple[str, int]] | None = None,
    horizon_days: int = REPORT_HORIZON_DAYS,
    bootstrap: int = REPORT_BOOTSTRAP,
    figures_dir: str | Path | None = None,
    cited_figures: ReproductionResult | None = None,
) -> str:
    """The analysis report as one self-contained HTML page.

    Parameters
    ----------
    cohort : Cohort
        The cohort to report on.
    by : {"arm", "era", "site", "sex"}, default "arm"
        Grouping for Table 1, outcomes, survival, recurrence and hazard ratios (see
        :data:`~dah_outcomes.endpoints.GROUPINGS`).
    ci_method, conf_level
        Proportion CI method and level.
    min_cell : int, optional
        Mask counts below this (with complementary masking) throughout.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions (quoted in the methods section).
    flow : DataFrame, optional
        An import's participant-flow table (``step, n``), shown in the flow section.
    title : str, optional
        Page title.
    extra_provenance : dict, optional
        More provenance lines (e.g. the mapping file).
    landmark_days : int, default 7
        The landmark of the treatment effects' landmark estimates (shown when the cohort
        records treatment start dates, beside the time-varying and naive estimates).
    missing : {"complete-case", "mi"}, default "complete-case"
        How the analyses handle missing values: leave out the patients missing a value each
        needs (counted per analysis in the methods), or multiple imputation by chained
        equations with the estimates pooled by Rubin's rules. Stated in the methods and the
        provenance; the missing-data section (per column, patterns, by outcome) is shown
        either way.
    imputations : int, default 20
        Number of imputations (``missing="mi"``; 2 or more).
    seed : int, default 0
        Seed of the imputations (``missing="mi"``) and of the causal sections' bootstraps:
        the same seed gives the same page.
    emulate : bool, default True
        Show the causal sections (see
        :func:`~dah_outcomes.report.causal_sections.causal_sections`): target trials of
        treatment strategies by clone-censor-weight and the standardised risks of death by
        arm. They need dated treatment courses; without them the page says so in one line.
        They analyse the observed data (complete case) under either ``missing``.
    strategies : sequence of (str, int), optional
        The (treatment, grace period in days) of each target trial; default
        :data:`~dah_outcomes.report.causal_sections.DEFAULT_STRATEGIES`.
    horizon_days : int, default 90
        The day at which the strategies' risks of death are compared.
    bootstrap : int, default 50
        Bootstrap replicates of the causal sections' intervals (0 for none).
    cited_figures : ReproductionResult, optional
        The cited figures recomputed from this cohort
        (:func:`~dah_outcomes.reproduce.cited_figures.compare_cited_figures`), shown after
        the outcomes with their verdicts (the demo's report shows them).
    figures_dir : str or Path, optional
        Also write every figure of the page there, as ``figure-NN.png`` (300 dpi) and
        ``figure-NN.svg``, NN its number on the page (figures are numbered either way).

    Returns
    -------
    str
        The HTML page (no network requests: styles inline, figures inline SVG).
    """
    from jinja2 import Environment, select_autoescape

    check_by(by)
    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1
    ):
        raise ArgumentError(f"min_cell must be a positive whole number, got {min_cell!r}")
    check_missing(missing, imputations, seed)
    if not isinstance(emulate, bool):
        raise ArgumentError(f"emulate must be True or False, got {emulate!r}")
    # one set of completed cohorts for every analysis on the page, so the pooled tables all
    # rest on the same imputations (and the page is the same bytes for the same seed)
    imputed = impute_cohort(cohort, m=imputations, seed=seed) if missing == "mi" else None
    table1, hidden = _table_one_section(cohort, by, arms, eras, min_cell)
    sections = [
        flow_section(cohort, flow, min_cell),
        missing_data_section(cohort, min_cell),
        table1,
    ]
    extra_methods: list[str] = []
    handling: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        # each analysis warns; the page shows every warning in its section and the report
        # issues each once, below, rather than once per analysis that found it
        warnings.simplefilter("always")
        outcomes, result = _outcomes_section(
            cohort, by, ci_method, conf_level, arms, eras, min_cell, hidden, imputed
        )
        sections.append(outcomes)
        if cited_figures is not None:
            sections.append(cited_figures_section(cited_figures, min_cell))
        sections.extend(
            survival_sections(
                cohort,
                by,
                conf_level,
                arms,
                eras,
                min_cell,
                extra_methods,
                landmark_days,
                hidden,
                handling,
                imputed,
            )
        )
        if emulate:
            sections.extend(
                causal_sections(
                    cohort,
                    strategies=strategies,
                    horizon_days=horizon_days,
                    bootstrap=bootstrap,
                    seed=seed,
                    min_cell=min_cell,
                    conf_level=conf_level,
                    arms=arms,
                    eras=eras,
                    methods=extra_methods,
                )
            )
            if imputed is not None:
                handling.append(
                    "the target trials and standardised risks are of the observed data "
                    "(complete case)"
                )
    extra_methods.append(missing_data_methods(missing, imputations, seed, handling))
    vital = summarize_vital_status(cohort.patients)
    extra_methods.append(vital.note)
    for message, category in dict.fromkeys((str(w.message), w.category) for w in caught):
        if issubclass(category, DahOutcomesWarning):
            warn(message, category)
        else:
            warnings.warn(message, category, stacklevel=2)
    sections.append(
        _methods_section(
            cohort, by, ci_method, conf_level, arms, eras, dict(result.definitions), extra_methods
        )
    )
    handled = {"missing data": MISSING_METHODS[missing]}
    if missing == "mi":
        handled |= {"imputations": str(imputations), "imputation seed": str(seed)}
    figures = [f for section in sections for f in section.figures]
    for number, figure in enumerate(figures, start=1):
        figure.number = number
    if figures_dir is not None:
        written = write_figure_files(figures, figures_dir)
        # not the folder: the page is the same bytes wherever it and its figures are written
        handled["figure files"] = (
            f"figure-01 to figure-{len(figures):02d}, PNG at {FIGURE_FILE_DPI} dpi and SVG "
            f"({len(written)} files)"
        )
    sections.append(_provenance_section(cohort, min_cell, {**handled, **(extra_provenance or {})}))
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(
        (resources.files("dah_outcomes.report") / "templates" / "report.html.j2").read_text("utf-8")
    )
    return template.render(
        title=title or "Diffuse alveolar haemorrhage in SLE: outcomes report",
        subtitle=(
            f"{cohort.n_dah_patients:,} DAH patients, {cohort.n_episodes:,} episodes; "
            f"cohort {cohort.fingerprint[:12]}"
        ),
        sections=sections,
    )


#: Resolution of the report's PNG figure files (journals ask for 300 dpi or more).
FIGURE_FILE_DPI = 300


def write_figure_files(figures: Sequence[Figure], folder: str | Path) -> list[Path]:
    """Write each numbered figure as ``figure-NN.png`` (:data:`FIGURE_FILE_DPI`) and
    ``figure-NN.svg`` into ``folder``, each file atomically (the same figure, the same bytes).

    Parameters
    ----------
    figures : sequence of Figure
        The page's figures, numbered.
    folder : str or Path
        Where to write them (created if needed).

    Returns
    -------
    list of Path
        The files written, in order.
    """
    from dah_outcomes.io.files import write_atomic

    def saver(axes: Any, fmt: str, dpi: float) -> Callable[[Path], None]:
        return lambda tmp: save_figure(axes, tmp, format=fmt, dpi=dpi)

    folder = Path(folder)
    out: list[Path] = []
    for figure in figures:
        if figure.axes is None:  # pragma: no cover - every page figure keeps its drawing
            continue
        for fmt, dpi in (("png", FIGURE_FILE_DPI), ("svg", 72.0)):
            path = folder / f"figure-{figure.number:02d}.{fmt}"
            out.append(write_atomic(path, saver(figure.axes, fmt, dpi)))
    return out


def report_from_folder(cohort: Cohort, folder: str | Path, **kwargs: Any) -> str:
    """:func:`report` for a cohort folder, with the import accounting the folder holds.

    Parameters
    ----------
    cohort : Cohort
        The cohort loaded from ``folder``.
    folder : str or Path
        The cohort folder; its ``flow.csv`` and the row counts and mapping file of its
        ``provenance.json`` (written by ``dah-outcomes import``) are added when present.
    **kwargs
        Passed on to :func:`report`.

    Returns
    -------
    str
        The HTML page.
    """
    import json

    folder = Path(folder)
    flow = None
    extra: dict[str, Any] = {}
    if (folder / "flow.csv").exists():
        flow = pd.read_csv(folder / "flow.csv", na_values=["suppressed"])
    if (folder / "provenance.json").exists():
        meta = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
        for key in ("rows_read", "rows_accepted", "rows_rejected"):
            if key in meta:
                extra[key.replace("_", " ")] = meta[key]
        mapping = meta.get("provenance", {}).get("mapping_file")
        if mapping:
            extra["mapping"] = mapping
    return report(cohort, flow=flow, extra_provenance=extra, **kwargs)


def write_report(html: str, path: str | Path) -> Path:
    """Write the page atomically (a temporary sibling, then renamed).

    Parameters
    ----------
    html : str
        The page, from :func:`report`.
    path : str or Path
        Where to write it.

    Returns
    -------
    Path
        The written file.
    """
    from dah_outcomes.io.cohort_files import write_atomic

    return write_atomic(Path(path), lambda p: p.write_text(html, encoding="utf-8"))
