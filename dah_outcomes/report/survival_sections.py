"""The survival sections of the report: Kaplan-Meier by group, recurrence with death
competing, adjusted hazard ratios and, when the cohort records when treatments started, the
effect of each treatment estimated free of immortal-time bias beside the naive estimate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from dah_outcomes.analyses.adjustment import COVARIATES
from dah_outcomes.analyses.hazard_ratios import HazardRatios, hazard_ratios
from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts
from dah_outcomes.analyses.survival import recurrence_by_group, survival_by_group
from dah_outcomes.analyses.treatment_effects import METHODS, TreatmentEffect, treatment_effect
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import ArmDefinition, EraDefinition
from dah_outcomes.errors import EstimationError
from dah_outcomes.plotting import plot_cif, plot_forest, plot_km
from dah_outcomes.plotting.colors import PALETTE, group_colors
from dah_outcomes.report.missing_sections import left_out_phrase
from dah_outcomes.report.sections import (
    SUPPRESSED,
    Figure,
    Section,
    Table,
    fmt_count,
    fmt_pct,
    masked_count,
    p_text,
)
from dah_outcomes.results import format_p_value
from dah_outcomes.schema import TREATMENT_FLAGS
from dah_outcomes.suppression import suppress_small_cells

__all__ = ["REPORT_LANDMARK_DAYS", "adjustment_note", "page_colors", "survival_sections"]

#: The landmark of the report's landmark estimates unless it is given another.
REPORT_LANDMARK_DAYS = 7


def survival_sections(
    cohort: Cohort,
    by: str,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    min_cell: int | None,
    methods: list[str],
    landmark_days: int = REPORT_LANDMARK_DAYS,
    hidden: Sequence[str] = (),
    handling: list[str] | None = None,
    imputed: ImputedCohorts | None = None,
) -> list[Section]:
    """Survival from first DAH onset by group: Kaplan-Meier with at-risk table, survival at 30
    and 90 days and 1 year, medians and the log-rank test; recurrence with death competing;
    adjusted hazard ratios; each dated treatment's effect by time-varying, landmark and naive
    Cox models.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    by : str
        The grouping.
    conf_level : float
        Level of every interval.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    min_cell : int or None
        Small-cell threshold.
    methods : list of str
        The methods paragraphs, extended in place.
    landmark_days : int, default REPORT_LANDMARK_DAYS
        The landmark of the landmark estimates.
    hidden : sequence of str
        Groups too small to show.
    handling : list of str, optional
        Extended in place with one phrase per adjusted analysis saying how many patients
        it left out for a missing covariate (for the methods' missing-data paragraph).
    imputed : ImputedCohorts, optional
        The completed cohorts of a multiple imputation: survival at the stated days, the
        medians, the hazard ratios and the treatment effects are then pooled over them by
        Rubin's rules (the curves drawn are the first completed cohort's, there being no
        pooled step function to draw; the recurrence figure is of the observed data).

    Returns
    -------
    list of Section
    """
    source: Cohort | ImputedCohorts = cohort if imputed is None else imputed
    result = survival_by_group(source, by, conf_level=conf_level, arms=arms, eras=eras)
    s = Section("survival", f"Survival by {by}", warnings=list(result.warnings))
    level = f"{conf_level:.0%}"
    horizon = 5 * 365
    # groups too small to show (see suppression.hidden_groups) are left out of every figure
    # and table here; their patients are in the overall figures elsewhere on the page
    km = replace(result.km, curves=tuple(c for c in result.km.curves if c.group not in hidden))
    # one colour per group on the whole page, dealt over every group (hidden ones too), so a
    # figure that leaves a group out does not shift the others' colours
    colors = group_colors(result.km.groups)
    if km.curves:
        ax = plot_km(
            km,
            at_risk_times=[0, 365, 730, 1095, 1460, 1825],
            min_cell=min_cell,
            palette=colors,
            xlim=(0, horizon),
            pval=result.logrank if result.logrank is not None else False,
        )
        s.figures.append(
            Figure.of(
                ax,
                f"Kaplan-Meier survival from first DAH onset by {by} ({level} pointwise CI, "
                f"{result.km.conf_type} transform); + marks censoring; numbers at risk below "
                "the axis."
                + (
                    ""
                    if imputed is None
                    else " Multiple imputation: the curves of the first completed cohort; the "
                    "tables below pool all of them."
                ),
                f"Kaplan-Meier curves of survival by {by} over five years, with numbers at risk",
            )
        )
    else:
        s.paragraphs.append(
            f"No Kaplan-Meier curve by {by} is drawn: every group has fewer than {min_cell} "
            "patients (small-cell suppression)."
        )
    rows = []
    for _, r in result.at_times.iterrows():
        if r["group"] in hidden:
            continue
        n = r["n_risk"]
        small = bool(min_cell) and 0 < n < (min_cell or 0)
        rows.append(
            [
                r["group"],
                int(r["time"]),
                SUPPRESSED.format(n=min_cell) if small else fmt_count(n),
                fmt_pct(r["survival"]),
                f"{fmt_pct(r['ci_lower'])} to {fmt_pct(r['ci_upper'])}",
            ]
        )
    s.tables.append(
        Table(
            f"Survival at 30 days, 90 days and 1 year by {by}",
            [by.capitalize(), "Day", "At risk", "Survival", f"{level} CI"],
            rows,
        )
    )
    med = result.medians[~result.medians["group"].isin(hidden)].copy()
    med["alive"] = med["n"] - med["n_events"]
    masked = (
        suppress_small_cells(med, ["n_events", "alive"], min_cell, total_column="n").isna()
        if min_cell and len(med)
        else pd.DataFrame(False, index=med.index, columns=["n", "n_events"])
    )
    gone = SUPPRESSED.format(n=min_cell)
    s.tables.append(
        Table(
            "Median survival (days)",
            [by.capitalize(), "Patients", "Deaths", "Median", f"{level} CI"],
            [
                [
                    r["group"],
                    gone if masked.at[i, "n"] else fmt_count(r["n"]),
                    gone if masked.at[i, "n_events"] else fmt_count(r["n_events"]),
                    "not reached" if pd.isna(r["time"]) else f"{r['time']:.0f}",
                    f"{'–' if pd.isna(r['ci_lower']) else f'{r.ci_lower:.0f}'} to "
                    f"{'not reached' if pd.isna(r['ci_upper']) else f'{r.ci_upper:.0f}'}",
                ]
                for i, r in med.iterrows()
            ],
        )
    )
    # the methods follow the page's order: survival, recurrence, hazard ratios, effects
    methods.append(
        "Survival from the first DAH onset (death from any cause, censored at the end of "
        "follow-up) was estimated by Kaplan-Meier with Greenwood variances and "
        f"{result.km.conf_type}-transformed {level} pointwise intervals; medians as R's "
        "quantile.survfit; "
        + (
            "groups compared by the log-rank test"
            if result.logrank is not None
            else "survival at 30 and 90 days and 1 year, and the medians, pooled over the "
            "completed cohorts (complementary log-log scale), with no log-rank test (Rubin's "
            "rules pool estimates, not test statistics)"
            if imputed is not None
            else "no groups to compare"
        )
        + ". Arms were not randomised: differences are confounded by indication (sicker "
        "patients receive more aggressive treatment)."
    )
    _recurrence_figure(
        s, cohort, by, conf_level, arms, eras, horizon, methods, hidden, colors, min_cell
    )
    if imputed is not None and handling is not None:
        handling.append(
            "the cumulative incidence of recurrence is of the observed data (a patient whose "
            "arm a missing flag leaves undecided is in the 'Unknown' group)"
        )
    try:
        hr = hazard_ratios(source, by=by, conf_level=conf_level, arms=arms, eras=eras)
    except EstimationError as err:
        # said on the page rather than silently left out
        s.paragraphs.append(f"Adjusted hazard ratios of death are not shown: {err}.")
    else:
        s.figures.append(_hazard_ratio_figure(hr))
        s.tables.append(_hazard_ratio_table(hr, min_cell))
        methods.append(hr.methods_text())
        s.warnings.extend(w for w in hr.warnings if w not in s.warnings)
        if handling is not None and imputed is None:
            handling.append(
                left_out_phrase("hazard ratios", hr.n_dropped, hr.n + hr.n_dropped, min_cell)
            )
    _treatment_effects(
        s, cohort, conf_level, arms, eras, landmark_days, min_cell, methods, handling, imputed
    )
    if result.logrank is not None:
        lr = result.logrank
        s.paragraphs.append(
            f"Log-rank test across {by}s: chi-square {lr.statistic:.2f} on "
            f"{lr.df} df, p {p_text(lr.p_value)}."
        )
    return [s]


def _recurrence_figure(
    s: Section,
    cohort: Cohort,
    by: str,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    horizon: int,
    methods: list[str],
    hidden: Sequence[str],
    colors: dict[str, str],
    min_cell: int | None = None,
) -> None:
    """The cumulative incidence of a first recurrence by group, death competing, with Gray's
    test; each group in the colour ``colors`` gives it (on the page, its Kaplan-Meier one)."""
    rec = recurrence_by_group(cohort, by, conf_level=conf_level, arms=arms, eras=eras)
    s.warnings.extend(rec.warnings)
    table = rec.cif.table
    if "group" in table and hidden:
        table = table[~table["group"].isin(hidden)]
    if table.empty:
        s.paragraphs.append(
            f"No cumulative incidence of recurrence by {by} is drawn: every group is too small "
            "to show (small-cell suppression)."
        )
        return
    cif = replace(rec.cif, table=table)
    groups = [str(g) for g in table["group"].unique()] if "group" in table else []
    ax = plot_cif(
        cif,
        cause=1,
        ylabel="Cumulative incidence of recurrence",
        palette=page_colors(colors, groups) if groups else None,
        risk_table=True,
        min_cell=min_cell,
        pval=rec.gray,
        xlim=(0, horizon),
        at_risk_times=[0, 365, 730, 1095, 1460, 1825],
    )
    at = cif.at([365, 1825], cause=1)
    s.figures.append(
        Figure.of(
            ax,
            f"Cumulative incidence of a first recurrence by {by}, death before recurrence as a "
            "competing event (Aalen-Johansen).",
            "Cumulative incidence of recurrence by group: "
            + "; ".join(
                f"{g} {c:.0%} at {int(t)} days"
                for g, c, t in zip(at["group"], at["cif"], at["time"], strict=True)
            ),
        )
    )
    if rec.gray is not None:
        g = rec.gray
        s.paragraphs.append(
            f"Gray's test of equal cumulative incidence of recurrence across {by}s: "
            f"chi-square {g.statistic:.2f} on {g.df} df, p {p_text(g.p_value)}."
        )
    methods.append(
        "The cumulative incidence of a first DAH recurrence was estimated by "
        "Aalen-Johansen with death before recurrence as a competing event (not by "
        "1 - Kaplan-Meier, which would overstate it); groups compared by Gray's test."
    )


def page_colors(colors: dict[str, str], groups: Sequence[str]) -> dict[str, str]:
    """``colors`` for the groups it names, and the palette's unused colours, in label order,
    for any it does not (e.g. the observed data's "Unknown" arm beside the completed
    cohorts' curves).

    Parameters
    ----------
    colors : dict of str to str
        The page's colour of each group.
    groups : sequence of str
        The groups of one figure.

    Returns
    -------
    dict of str to str
        A colour for every group of ``groups`` (and of ``colors``).
    """
    out = dict(colors)
    spare = [c for c in PALETTE if c not in out.values()] or list(PALETTE)
    for i, g in enumerate(sorted(set(groups) - set(out))):
        out[g] = spare[i % len(spare)]
    return out


def _hazard_ratio_figure(hr: HazardRatios) -> Figure:
    """Forest plot of the hazard-ratio table exactly as :func:`hazard_ratios` returns it."""
    table = hr.to_frame()
    ax = plot_forest(table, label="label", reference=hr.reference)
    # the reference is the forest's own first row: the title stays short enough to fit
    ax.set_title("Adjusted hazard ratios of death", loc="left")
    return Figure.of(
        ax,
        f"Cox hazard ratios of death with {hr.conf_level:.0%} CIs; arms are not "
        "randomised, so residual confounding by indication remains.",
        "Forest plot of hazard ratios: "
        + "; ".join(
            f"{r.label} {r.hazard_ratio:.2f} ({r.ci_lower:.2f} to {r.ci_upper:.2f})"
            for r in table.itertuples()
        ),
    )


def adjustment_note(adjusted_for: Sequence[str], not_adjusted: dict[str, str]) -> str:
    """The adjustment a model actually made, and what it left out and why, in one sentence.

    Parameters
    ----------
    adjusted_for : sequence of str
        The covariates the model used.
    not_adjusted : dict of str to str
        Each covariate asked for but left out, with the reason.

    Returns
    -------
    str
    """
    text = (
        "Adjusted for " + ", ".join(COVARIATES[c] for c in adjusted_for)
        if adjusted_for
        else "Unadjusted"
    )
    if not_adjusted:
        text += "; not adjusted for " + ", ".join(
            f"{COVARIATES[c]} ({why})" for c, why in not_adjusted.items()
        )
    return text + "."


def _hazard_ratio_table(hr: HazardRatios, min_cell: int | None) -> Table:
    """The hazard ratios as a table, with the adjustment the model made under it."""
    level = f"{hr.conf_level:.0%}"
    rows = [
        [
            r["label"],
            "group" if r["kind"] == "group" else "adjustment",
            f"{r['hazard_ratio']:.2f} ({r['ci_lower']:.2f} to {r['ci_upper']:.2f})",
            format_p_value(r["p_value"]),
        ]
        for r in hr.to_frame().to_dict("records")
    ]
    dropped = (
        f" {masked_count(hr.n_dropped, min_cell)} patient(s) missing a covariate the model "
        "used were left out (complete case)."
        if hr.n_dropped
        else ""
    )
    return Table(
        f"Adjusted hazard ratios of death (Cox; reference: {hr.reference})",
        ["Term", "Kind", f"HR ({level} CI)", "p"],
        rows,
        f"{adjustment_note(hr.adjusted_for, hr.not_adjusted)} "
        f"{masked_count(hr.n, min_cell)} patients, {masked_count(hr.n_events, min_cell)} "
        f"deaths.{dropped}",
    )


def _dated_treatments(cohort: Cohort) -> list[str]:
    """The treatments with at least one dated course, in the contract's order."""
    given = set(cohort.treatments["treatment"].astype(str))
    return [t for t in TREATMENT_FLAGS if t in given]


def _effects_adjustment(fits: Sequence[tuple[str, TreatmentEffect]]) -> str:
    """The adjustment the treatment-effect models made: one sentence when they all made the
    same, else one per distinct adjustment naming its models."""
    by_set: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[str]] = {}
    for name, fit in fits:
        key = (tuple(fit.adjusted_for), tuple(fit.not_adjusted.items()))
        by_set.setdefault(key, []).append(name)
    if len(by_set) == 1:
        [(used, left)] = by_set
        return "Every model: " + adjustment_note(used, dict(left))
    return " ".join(
        f"{'; '.join(names)}: {adjustment_note(used, dict(left))}"
        for (used, left), names in by_set.items()
    )


def _effect_cells(fit: TreatmentEffect | None, min_cell: int | None) -> list[Any]:
    if fit is None:
        return ["not estimable", "–", "–", "–"]
    small = bool(min_cell) and 0 < fit.n_treated < (min_cell or 0)
    return [
        f"{fit.hazard_ratio:.2f} ({fit.ci_lower:.2f} to {fit.ci_upper:.2f})",
        fit.n,
        fit.n_events,
        SUPPRESSED.format(n=min_cell) if small else fit.n_treated,
    ]


def _treatment_effects(
    s: Section,
    cohort: Cohort,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    landmark_days: int,
    min_cell: int | None,
    methods: list[str],
    handling: list[str] | None = None,
    imputed: ImputedCohorts | None = None,
) -> None:
    """Each dated treatment's hazard ratio of death: time-varying, landmark and naive
    (pooled over the completed cohorts when ``imputed`` is given)."""
    treatments = _dated_treatments(cohort)
    if not treatments:
        s.paragraphs.append(
            "The cohort records no treatment start dates, so no treatment effect free of "
            "immortal-time bias can be estimated: every comparison of treatment arms in this "
            "report is of ever- with never-treated patients. Record the courses (treatment, "
            "start date) in the cohort's treatments table."
        )
        return
    level = f"{conf_level:.0%}"
    rows: list[list[Any]] = []
    notes: list[str] = []
    fits: list[tuple[str, TreatmentEffect]] = []
    for treatment in treatments:
        for method in ("time-varying", "landmark", "naive"):
            fit: TreatmentEffect | None = None
            try:
                fit = treatment_effect(
                    cohort if imputed is None else imputed,
                    treatment,
                    method=method,
                    landmark_days=landmark_days if method == "landmark" else None,
                    conf_level=conf_level,
                    arms=arms,
                    eras=eras,
                )
            except EstimationError as err:
                notes.append(f"{treatment}, {method}: not estimable ({err}).")
            # the naive estimate's immortal-time warning is shown at the top of the section
            for w in () if fit is None else fit.warnings:
                if "immortal-time bias" in w:
                    s.warnings.append(w)
                else:
                    notes.append(f"{treatment}, {method}: {w}.")
            label = f"landmark at day {landmark_days}" if method == "landmark" else method
            rows.append([treatment, label, *_effect_cells(fit, min_cell)])
            if fit is not None:
                fits.append((f"{treatment}, {label}", fit))
    s.tables.append(
        Table(
            "Hazard ratio of death for each treatment with recorded start dates, treated vs "
            "untreated: time-varying, landmark and naive (ever vs never) Cox models",
            ["Treatment", "Method", f"HR ({level} CI)", "Patients", "Deaths", "Treated"],
            rows,
            "Time-varying: the treatment switches on at its start day (robust SE by patient). "
            f"Landmark: patients alive at day {landmark_days}, treated by then or not, time "
            f"from day {landmark_days}. Naive: ever vs never treated from onset, which credits "
            "the treatment with the days its patients had to survive to receive it "
            "(immortal-time bias) when it starts after onset. " + _effects_adjustment(fits),
        )
    )
    s.paragraphs.extend(notes)
    if handling is not None:
        for name, fit in fits:
            if fit.n_dropped:
                handling.append(
                    left_out_phrase(
                        f"treatment effect ({name})", fit.n_dropped, fit.n + fit.n_dropped, min_cell
                    )
                )
    methods.append(
        "Treatment effects, for each treatment whose start dates are recorded: "
        + "; ".join(f"{m}: {text}" for m, text in METHODS.items())
        + f". The landmark is day {landmark_days}; time zero is the onset of the first DAH "
        "episode; a death on the day a treatment started counts as on treatment."
    )
