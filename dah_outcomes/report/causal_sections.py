"""The report's causal sections: target trials of treatment strategies emulated by
clone-censor-weight (TARGET protocol table, risk curves per strategy, risk difference and
ratio at the horizon, censoring weights), and the standardised risks of death by arm beside
the observed ones (g-computation and AIPW, with the propensity weights' balance, overlap and
effective sample sizes).

They are shown only when the cohort records when treatments started (a treatments table with
dated courses): with ever/never flags alone a strategy "start within G days" cannot be
emulated, and the page says so in one line instead.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.target_trial import TargetTrialEmulation, emulate_target_trial
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.timelines import treatment_names
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, EstimationError, warn
from dah_outcomes.report.causal_arms import arm_risk_section
from dah_outcomes.report.causal_figures import plot_strategy_risks
from dah_outcomes.report.sections import SUPPRESSED, Figure, Section, Table, fmt_pct
from dah_outcomes.stats.clone_censor import EXTREME_CLONE_WEIGHT
from dah_outcomes.suppression import suppress_small_cells

__all__ = [
    "DEFAULT_STRATEGIES",
    "REPORT_BOOTSTRAP",
    "REPORT_HORIZON_DAYS",
    "causal_sections",
    "dated_treatments",
    "scrub_counts",
]

#: The strategies the report emulates unless told others (each when its treatment is dated):
#: cyclophosphamide within 2 days of onset, plasmapheresis within 7 days.
DEFAULT_STRATEGIES: tuple[tuple[str, int], ...] = (("cyclophosphamide", 2), ("plasmapheresis", 7))

#: The report's bootstrap replicates: few, so the page stays quick (the ``emulate`` and
#: ``standardise`` commands give intervals from more).
REPORT_BOOTSTRAP = 50

#: The day at which the report compares the strategies' risks of death.
REPORT_HORIZON_DAYS = 90

NOT_SHOWN = (
    "No target trial is emulated and no standardised risk by arm is shown: the cohort does "
    "not record when treatments started (no dated course in a treatments table), and "
    "ever/never treatment flags cannot emulate a trial of starting a treatment within a "
    "grace period."
)

# counts a warning's text may carry: "12 patients", "(n = 4)", "only 3 events", "arm (7)"
_COUNTS = re.compile(
    r"(?P<pre>\(n = |only |\()?(?P<n>\d[\d,]*)"
    r"(?P<post> (?:patients|events|deaths|clones|started|have)\b|\))?"
)


def dated_treatments(cohort: Cohort) -> list[str]:
    """The treatments with at least one dated course in the cohort, in the contract's order.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.

    Returns
    -------
    list of str
        Empty when the cohort has no treatments table (ever/never flags only).
    """
    given = set(cohort.treatments["treatment"].astype(str))
    return [t for t in treatment_names() if t in given]


def scrub_counts(message: str, min_cell: int | None) -> str:
    """A warning's text with every count of patients, events or deaths between 1 and
    ``min_cell - 1`` written ``<min_cell`` (the page shows no such count anywhere).

    Parameters
    ----------
    message : str
        The warning's text.
    min_cell : int or None
        The small-cell threshold (None: the text is returned as it is).

    Returns
    -------
    str
    """
    if not min_cell:
        return message

    def mask(m: re.Match[str]) -> str:
        pre, post = m.group("pre") or "", m.group("post") or ""
        # a count follows "(n = " or "only ", stands alone in brackets, or comes before a
        # noun; a threshold ("fewer than 10 patients") is not one
        counted = (
            post not in ("", ")") or pre in ("(n = ", "only ") or (pre == "(" and post == ")")
        ) and not m.string[: m.start()].endswith(("than ", "least "))
        n = int(m.group("n").replace(",", ""))
        if counted and 0 < n < min_cell:
            return f"{pre}{SUPPRESSED.format(n=min_cell)}{post}"
        return m.group(0)

    return _COUNTS.sub(mask, message)


def _check_strategies(strategies: Sequence[tuple[str, int]] | None) -> list[tuple[str, int]]:
    if strategies is None:
        return list(DEFAULT_STRATEGIES)
    if isinstance(strategies, str) or not isinstance(strategies, Sequence) or not strategies:
        raise ArgumentError(
            "strategies must be a non-empty sequence of (treatment, grace_days) pairs, e.g. "
            f"[('cyclophosphamide', 2)], got {strategies!r}"
        )
    out = []
    for item in strategies:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ArgumentError(
                f"each strategy is a (treatment, grace_days) pair, got {item!r} in {strategies!r}"
            )
        out.append((item[0], item[1]))
    return out


def _check_min_cell(min_cell: Any) -> int | None:
    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1
    ):
        raise ArgumentError(f"min_cell must be a positive whole number, got {min_cell!r}")
    return min_cell


def causal_sections(
    cohort: Cohort,
    *,
    strategies: Sequence[tuple[str, int]] | None = None,
    horizon_days: int = REPORT_HORIZON_DAYS,
    bootstrap: int = REPORT_BOOTSTRAP,
    seed: int = 0,
    min_cell: int | None = None,
    conf_level: float = 0.95,
    truncate: float | None = None,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    methods: list[str] | None = None,
) -> list[Section]:
    """The report's target-trial and standardised-risk sections.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    strategies : sequence of (str, int), optional
        The (treatment, grace period in days) of each target trial; default
        :data:`DEFAULT_STRATEGIES`, each where its treatment is dated in the cohort.
    horizon_days : int, default REPORT_HORIZON_DAYS
        The day at which the strategies' risks of death are compared.
    bootstrap : int, default REPORT_BOOTSTRAP
        Bootstrap replicates of every interval (patients resampled; 0 for none).
    seed : int, default 0
        Seed of the bootstraps: each trial's and the standardised risks' (the same seed
        gives the same page).
    min_cell : int, optional
        Small-cell threshold: no count between 1 and ``min_cell - 1`` is shown, and no risk
        of a strategy or arm that fewer than ``min_cell`` patients follow.
    conf_level : float, default 0.95
        Level of every interval.
    truncate : float, optional
        Percentile at which the censoring weights are truncated (e.g. 99); default none.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    methods : list of str, optional
        The page's methods paragraphs, extended in place.

    Returns
    -------
    list of Section
        The target-trial section and the standardised-risk section, or one section holding
        the line saying why neither is shown (no dated treatment course).

    Raises
    ------
    ArgumentError
        For a bad strategy, horizon, threshold or option.

    Warns
    -----
    DahOutcomesWarning
        Each warning of the analyses once (they are also shown in their section).
    """
    chosen = _check_strategies(strategies)
    min_cell = _check_min_cell(min_cell)
    names = treatment_names()
    for treatment, _ in chosen:
        if treatment not in names:
            raise ArgumentError(f"treatment must be one of {sorted(names)}, got {treatment!r}")
    dated = dated_treatments(cohort)
    if not dated:
        return [Section("target-trial", "Target trials of treatment strategies", [NOT_SHOWN])]
    said: list[tuple[str, type[Warning]]] = []
    methods = [] if methods is None else methods
    with warnings.catch_warnings(record=True) as caught:
        # every analysis warns; each warning is shown in its section and issued once, below
        warnings.simplefilter("always")
        trials = _trial_sections(
            cohort,
            [(t, g) for t, g in chosen if t in dated],
            [t for t, _ in chosen if t not in dated],
            horizon_days=horizon_days,
            bootstrap=bootstrap,
            seed=seed,
            min_cell=min_cell,
            conf_level=conf_level,
            truncate=truncate,
            arms=arms,
            eras=eras,
            methods=methods,
        )
        said.extend((str(w.message), w.category) for w in caught)
        del caught[:]
        standardised = arm_risk_section(
            cohort,
            bootstrap=bootstrap,
            seed=seed,
            min_cell=min_cell,
            conf_level=conf_level,
            arms=arms,
            eras=eras,
            methods=methods,
        )
        # what the analyses warned without recording it on their results (the weighted
        # Table 1's propensity model) is shown with the standardised risks too
        standardised.warnings.extend(str(w.message) for w in caught)
        said.extend((str(w.message), w.category) for w in caught)
    sections = [*trials, standardised]
    for section in sections:
        section.warnings = list(dict.fromkeys(scrub_counts(w, min_cell) for w in section.warnings))
    for message, category in dict.fromkeys(said):
        if issubclass(category, DahOutcomesWarning):
            warn(message, category)
        else:  # not ours: passed on as it came
            warnings.warn(message, category, stacklevel=2)
    return sections


def _trial_sections(
    cohort: Cohort,
    chosen: list[tuple[str, int]],
    undated: list[str],
    *,
    horizon_days: int,
    bootstrap: int,
    seed: int,
    min_cell: int | None,
    conf_level: float,
    truncate: float | None,
    arms: ArmDefinition,
    eras: EraDefinition,
    methods: list[str],
) -> list[Section]:
    """The overview of the target trials (what is emulated, the results side by side), then
    one section per trial (protocol, risk curves, clones, weights)."""
    s = Section("target-trials", "Target trials of treatment strategies")
    fits: list[TargetTrialEmulation] = []
    for treatment, grace in chosen:
        try:
            fits.append(
                emulate_target_trial(
                    cohort,
                    treatment=treatment,
                    grace_days=grace,
                    horizon_days=horizon_days,
                    bootstrap=bootstrap,
                    seed=seed,
                    conf_level=conf_level,
                    truncate=truncate,
                    arms=arms,
                    eras=eras,
                )
            )
        except EstimationError as err:
            s.paragraphs.append(f"The target trial of {treatment} is not emulated: {err}.")
    s.paragraphs[:0] = _intro(horizon_days, bootstrap, seed, truncate, fits)
    for treatment in undated:
        s.paragraphs.append(
            f"No trial of {treatment} is emulated: the cohort records no dated course of it."
        )
    if not chosen:
        s.paragraphs.append(
            "None of the strategies asked for concerns a treatment whose courses are dated."
        )
    shown = [f for f in fits if not (min_cell and f.n < min_cell)]
    for f in fits:
        if f not in shown:
            s.paragraphs.append(
                f"The target trial of {f.protocol.treatment} is not shown: fewer than "
                f"{min_cell} patients are eligible (small-cell suppression)."
            )
    if shown:
        s.tables.append(_summary_table(shown, min_cell))
    if fits:
        methods.append(_methods_text(fits[0], bootstrap, seed))
    return [s, *(_one_trial(fit, min_cell) for fit in shown)]


def _interval_words(fits: list[TargetTrialEmulation]) -> str:
    """How the trials' bootstrap replicates make their intervals, in words."""
    # the engine gives normal intervals (estimate +- z x the replicates' SD) unless told
    # otherwise; an engine without the choice gives percentile intervals
    kinds = {str(getattr(f.ccw, "interval", "percentile")) for f in fits} or {"percentile"}
    if kinds == {"normal"}:
        return (
            "normal intervals, the estimate plus or minus z times the replicates' standard "
            "deviation (the risk ratio on the log scale),"
        )
    return "percentile intervals" if kinds == {"percentile"} else "bootstrap intervals"


def _intro(
    horizon: int,
    bootstrap: int,
    seed: int,
    truncate: float | None,
    fits: list[TargetTrialEmulation],
) -> list[str]:
    weights = (
        f"truncated at the {100 - truncate:g}th and {truncate:g}th percentiles"
        if truncate is not None
        else "not truncated"
    )
    intervals = (
        f"Intervals are {_interval_words(fits)} from B = {bootstrap} bootstrap replicates "
        f"of patients (both clones of a patient together; seed {seed}); B is kept small so "
        "that the report stays quick, and dah-outcomes emulate --bootstrap gives intervals "
        "from more."
        if bootstrap
        else "No bootstrap was run (B = 0), so no interval is given."
    )
    return [
        "Comparing patients who ever received a treatment with those who never did credits "
        "the treatment with the days its patients had to survive to receive it: a course "
        "started on day 5 can only be given to a patient alive on day 5, so the ever-treated "
        "group is protected from the early deaths by construction (immortal-time bias), and "
        "the sickest are often treated first (confounding by indication). Each question "
        "below is therefore asked of the randomised trial that would answer it, and that "
        "trial is emulated from the dated courses.",
        "Eligible patients enter at the onset of their first DAH episode (time zero) and "
        "every patient is cloned into both strategies, to start the treatment within a grace "
        "period of G days or not to start it within G days; starting on any day up to G "
        "follows the first. A clone is censored on the day its patient's treatment departs "
        "from its strategy (artificial censoring): the first strategy's on day G + 1 if the "
        "treatment has not started, the second's on the day it starts. Because whether and "
        "when a patient departs depends on prognosis, the clones that remain are weighted by "
        "the inverse of their probability of remaining uncensored, from pooled logistic "
        "models of daily censoring given the adjustment set; the weights are stabilised and "
        f"{weights}. The risk of death by day {horizon} under each strategy is a weighted "
        "Kaplan-Meier estimate, and the strategies are contrasted by the risk difference and "
        "ratio (an observational analogue of the per-protocol effect).",
        "The contrast is causal only if the adjustment set holds every common cause of "
        "starting the treatment and dying, and every kind of patient could follow either "
        f"strategy (positivity). {intervals}",
    ]


def _ci(estimate: float, lower: float, upper: float, fmt: str) -> str:
    """An estimate and its interval, as a percent (``fmt="%"``) or by a format spec."""

    def text(x: float) -> str:
        return fmt_pct(x) if fmt == "%" else format(x, fmt)

    if not pd.notna(estimate):
        return "–"
    if not (pd.notna(lower) and pd.notna(upper)):
        return text(estimate)
    return f"{text(estimate)} ({text(lower)} to {text(upper)})"


def _followers(fit: TargetTrialEmulation, k: int) -> int:
    """Patients whose clone under strategy ``k`` is never censored for departing from it."""
    return int(fit.n - fit.ccw.n_censored[k])


def _hidden_strategies(fit: TargetTrialEmulation, min_cell: int | None) -> list[bool]:
    return [bool(min_cell) and _followers(fit, k) < (min_cell or 0) for k in (0, 1)]


def _summary_table(fits: list[TargetTrialEmulation], min_cell: int | None) -> Table:
    level = f"{fits[0].protocol.conf_level:.0%}"
    horizon = fits[0].protocol.horizon_days
    rows: list[list[Any]] = []
    for fit in fits:
        c, p = fit.ccw, fit.protocol
        hidden = _hidden_strategies(fit, min_cell)
        risks = [
            "suppressed"
            if hidden[k]
            else _ci(c.risk[k], c.risk_ci_lower[k], c.risk_ci_upper[k], "%")
            for k in (0, 1)
        ]
        contrast = any(hidden)
        rows.append(
            [
                p.treatment,
                p.grace_days,
                fit.n,
                *risks,
                "suppressed"
                if contrast
                else _ci(c.risk_difference, c.rd_ci_lower, c.rd_ci_upper, "+.3f"),
                "suppressed"
                if contrast
                else _ci(c.risk_ratio, c.rr_ci_lower, c.rr_ci_upper, ".2f"),
            ]
        )
    return Table(
        f"Risk of death by day {horizon} under each strategy, emulated target trials "
        "(clone-censor-weight)",
        [
            "Treatment",
            "Grace period (days)",
            "Patients",
            f"Start within the grace period ({level} CI)",
            f"Not within it ({level} CI)",
            f"Risk difference ({level} CI)",
            f"Risk ratio ({level} CI)",
        ],
        rows,
        "Risk difference and ratio: starting within the grace period against not starting "
        "within it (later or never). Each patient is in both strategies' columns (cloned); "
        + (
            f"a strategy that fewer than {min_cell} patients follow to the end of their "
            "follow-up shows no risk (small-cell suppression)."
            if min_cell
            else "the per-protocol effect is estimated, not the effect of being offered it."
        ),
    )


def _one_trial(fit: TargetTrialEmulation, min_cell: int | None) -> Section:
    p, c = fit.protocol, fit.ccw
    title = f"{p.treatment} within {p.grace_days} days"
    s = Section(
        f"target-trial-{p.treatment}",
        f"Target trial: {title} of DAH onset, death by day {p.horizon_days}",
        warnings=list(fit.warnings),
    )
    s.paragraphs.append(_accounting(fit, min_cell))
    s.tables.append(
        Table(
            f"Protocol of the target trial of {title} of DAH onset and its emulation (TARGET)",
            ["Component", "Target trial", "Emulation in this cohort"],
            [[r["component"], r["specification"], r["emulation"]] for r in p.components()],
        )
    )
    hidden = _hidden_strategies(fit, min_cell)
    shown = [name for k, name in enumerate(c.strategies) if not hidden[k]]
    if shown:
        s.figures.append(_curves_figure(fit, shown))
    else:
        s.paragraphs.append(
            f"No risk curve is drawn: fewer than {min_cell} patients follow either strategy "
            "(small-cell suppression)."
        )
    s.tables.append(_clone_table(fit, min_cell, hidden))
    s.tables.append(_weights_table(fit, hidden))
    return s


def _curves_figure(fit: TargetTrialEmulation, shown: list[str]) -> Figure:
    p, c = fit.protocol, fit.ccw
    title = f"{p.treatment} within {p.grace_days} days"
    curves = c.curves[c.curves["strategy"].isin(shown)]
    ax = plot_strategy_risks(
        curves, strategies=c.strategies, grace_days=p.grace_days, horizon_days=p.horizon_days
    )
    ax.set_title(f"Target trial: {title}", loc="left", fontsize=9)
    at = curves[curves["day"] == p.horizon_days].to_dict("records")
    band = f", {p.conf_level:.0%} pointwise bootstrap band" if p.bootstrap else ""
    missing = " A strategy too few patients follow is not drawn." if len(shown) < 2 else ""
    return Figure.of(
        ax,
        f"Risk of death from DAH onset under each strategy of the target trial of {title} "
        f"(weighted Kaplan-Meier of the clones{band}); the dashed line ends the grace "
        f"period.{missing}",
        f"Risk of death by day under the strategies of {title}: "
        + "; ".join(
            f"{r['strategy']} {fmt_pct(float(r['risk']))} by day {p.horizon_days}" for r in at
        ),
    )


def _clone_table(fit: TargetTrialEmulation, min_cell: int | None, hidden: list[bool]) -> Table:
    c, p = fit.ccw, fit.protocol
    level = f"{p.conf_level:.0%}"
    deaths = c.n_events.astype(int)
    censored = c.n_censored.astype(int)
    masked = np.zeros((2, 2), dtype=bool)  # strategy by (deaths, censored)
    if min_cell:
        # each strategy's clones partition the patients (death by the horizon, censored for
        # departing, neither), so a masked count must not come back from the other two
        for k in (0, 1):
            one = pd.DataFrame(
                {
                    "deaths": [deaths[k]],
                    "censored": [censored[k]],
                    "other": [fit.n - deaths[k] - censored[k]],
                    "n": [fit.n],
                }
            )
            cells = suppress_small_cells(
                one, ["deaths", "censored", "other"], min_cell, total_column="n"
            )
            masked[k] = cells[["deaths", "censored"]].isna().to_numpy()[0]
    gone = SUPPRESSED.format(n=min_cell)
    rows = []
    for k, name in enumerate(c.strategies):
        rows.append(
            [
                name,
                gone if masked[k, 1] else int(censored[k]),
                gone if masked[k, 0] else int(deaths[k]),
                "suppressed"
                if hidden[k]
                else _ci(c.risk[k], c.risk_ci_lower[k], c.risk_ci_upper[k], "%"),
            ]
        )
    return Table(
        f"Clones of the {fit.n:,} patients by strategy, target trial of {p.treatment} within "
        f"{p.grace_days} days",
        [
            "Strategy",
            "Clones censored for departing",
            f"Deaths by day {p.horizon_days} (uncensored clones)",
            f"Risk by day {p.horizon_days} ({level} CI)",
        ],
        rows,
        "Every patient is cloned into both strategies; a clone is censored on the day its "
        "patient's treatment departs from its strategy, and the deaths counted are those "
        "before any such censoring.",
    )


def _weights_table(fit: TargetTrialEmulation, hidden: list[bool]) -> Table:
    c, p = fit.ccw, fit.protocol
    w = c.weights.set_index("strategy")
    rows = []
    for k, name in enumerate(c.strategies):
        r = w.loc[name]
        rows.append(
            [
                name,
                f"{r['mean']:.2f}",
                f"{r['p01']:.2f} to {r['p99']:.2f}",
                f"{r['min']:.2f} to {r['max']:.2f}",
                f"{r['max_untruncated']:.2f}",
                "suppressed" if hidden[k] else f"{r['ess']:,.0f}",
            ]
        )
    truncation = (
        f"truncated at the {100 - p.truncate:g}th and {p.truncate:g}th percentiles"
        if p.truncate is not None
        else "not truncated (the two largest columns agree)"
    )
    return Table(
        f"Censoring weights, target trial of {p.treatment} within {p.grace_days} days",
        [
            "Strategy",
            "Mean (person-days)",
            "1st to 99th percentile",
            "Range",
            "Largest before truncation",
            f"Effective sample size on day {p.grace_days + 1}",
        ],
        rows,
        f"Stabilised inverse-probability-of-censoring weights over the uncensored person-days, "
        f"{truncation}. A mean far from 1 or a weight above {EXTREME_CLONE_WEIGHT:g} points to a "
        "misspecified censoring model or to patients who (almost) never follow a strategy "
        "(a near-violation of positivity); the effective sample size (Kish) of the clones "
        "entering the day after the grace period says how many patients the weighted risk "
        "rests on.",
    )


def _accounting(fit: TargetTrialEmulation, min_cell: int | None) -> str:
    p = fit.protocol
    parts = {
        "n": fit.n,
        "unknown": fit.n_timing_unknown,
        "before": fit.n_started_before_onset,
        "dropped": fit.n_dropped,
    }
    total = sum(parts.values())
    shown = {k: f"{v:,}" for k, v in parts.items()}
    if min_cell:
        one = pd.DataFrame([{**parts, "total": total}])
        cells = suppress_small_cells(one, list(parts), min_cell, total_column="total")
        masked = cells[list(parts)].isna().to_numpy()[0]
        shown = {
            k: SUPPRESSED.format(n=min_cell) if gone else v
            for (k, v), gone in zip(shown.items(), masked, strict=True)
        }
    adjusted = ", ".join(fit.adjusted_for) or "nothing"
    not_used = "; ".join(f"{k} ({why})" for k, why in fit.not_adjusted.items())
    return (
        f"Target trial of {p.treatment} within {p.grace_days} days: {shown['n']} patients "
        f"analysed; left out: {shown['unknown']} treated with no dated course (they cannot be "
        f"placed in time), {shown['before']} who started before onset (not eligible) and "
        f"{shown['dropped']} with a covariate or the treatment not recorded. The censoring "
        f"models adjust for {adjusted}"
        + (f"; not adjusted for: {not_used}" if not_used else "")
        + "."
    )


def _methods_text(fit: TargetTrialEmulation, bootstrap: int, seed: int) -> str:
    p = fit.protocol
    return (
        "Target trials of treatment strategies (starting a treatment within a grace period "
        "of DAH onset, or not) were emulated by clone-censor-weight: each eligible patient "
        "was cloned into both strategies at onset, clones were censored when their treatment "
        "departed from their strategy, and the remaining clones weighted by stabilised "
        "inverse probabilities of remaining uncensored from pooled logistic models on daily "
        "rows of the grace period (day, adjustment-set and day-by-covariate terms); risks of "
        f"death by day {p.horizon_days} by weighted Kaplan-Meier; risk differences and "
        f"ratios with {_interval_words([fit])} from {bootstrap} bootstrap replicates of patients "
        f"(seed {seed}). The protocol of each trial is reported by the TARGET items."
    )
