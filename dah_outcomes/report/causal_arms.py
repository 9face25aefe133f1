"""The report's standardised-risk section: the risk of death by arm had the whole cohort
received it (g-computation and AIPW, at days 30 and 90 and in hospital) beside each arm's
observed risk, with the propensity weights' diagnostics (balance before and after weighting,
a love plot, the overlap of the propensity scores, effective sample sizes and the weights'
distribution), under the page's small-cell policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.arm_risks import IN_HOSPITAL, StandardisedRisks, standardised_risks
from dah_outcomes.analyses.balance import SMD_THRESHOLD, WeightedTableOne, weighted_table_one
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import ArmDefinition, EraDefinition
from dah_outcomes.endpoints.timelines import compared_treatments, treatment_timing
from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.plotting import plot_love, plot_overlap
from dah_outcomes.report.sections import SUPPRESSED, Figure, Section, Table, fmt_pct
from dah_outcomes.stats.propensity import (
    MAX_NORMALISED_WEIGHT,
    POSITIVITY_BOUNDS,
    PropensityWeights,
)
from dah_outcomes.suppression import hidden_groups, suppress_small_cells

__all__ = ["arm_risk_section"]

#: A propensity of an arm below which a patient's chance of it is a near-violation of
#: positivity, and a stabilised weight (over its arm's mean) above which it is extreme: the
#: thresholds the propensity diagnostics warn at, so the page and the warning agree.
POSITIVITY_FLOOR = POSITIVITY_BOUNDS[0]
EXTREME_WEIGHT = MAX_NORMALISED_WEIGHT

_METHOD_LABEL = {"observed": "Observed", "gcomputation": "g-computation", "aipw": "AIPW"}


def arm_risk_section(
    cohort: Cohort,
    *,
    bootstrap: int,
    seed: int,
    min_cell: int | None,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
    methods: list[str],
) -> Section:
    """Standardised and observed risks of death by arm, with the weights' diagnostics.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    bootstrap : int
        Bootstrap replicates of the intervals (0 for none).
    seed : int
        Seed of the bootstrap.
    min_cell : int or None
        Small-cell threshold: an arm of fewer patients is not shown (nor the one hidden with
        it), and no count between 1 and ``min_cell - 1`` is shown.
    conf_level : float
        Level of the intervals.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    methods : list of str
        The page's methods paragraphs, extended in place.

    Returns
    -------
    Section
    """
    s = Section("standardised-risks", "Standardised risks of death by arm")
    try:
        std = standardised_risks(
            cohort, arms=arms, eras=eras, bootstrap=bootstrap, seed=seed, conf_level=conf_level
        )
        wt1 = weighted_table_one(cohort, arms=arms, eras=eras)
    except (ArgumentError, EstimationError) as err:
        s.paragraphs.append(f"Standardised risks by arm are not shown: {err}.")
        return s
    s.warnings.extend(std.warnings)
    sizes = {
        str(r["arm"]): int(r["n"]) for r in std.to_frame().drop_duplicates("arm").to_dict("records")
    }
    hidden = hidden_groups(sizes, min_cell)
    s.paragraphs.append(_intro(cohort, std, arms))
    s.tables.append(_risk_table(std, sizes, hidden, min_cell))
    if hidden:
        s.paragraphs.append(
            f"Arms not shown (fewer than {min_cell} patients, or hidden with such an arm so "
            f"that it cannot be recovered by subtraction): {', '.join(hidden)}. They are in "
            "the standardisation (the cohort averaged over), but no risk of theirs is shown."
        )
    s.tables.append(_positivity_table(std.risks.propensity, sizes, hidden, min_cell))
    _balance(s, wt1, std, hidden)
    methods.append(
        "Standardised risks of death by arm were estimated by g-computation (a logistic "
        "outcome model of death by each horizon given the arm and the adjustment set, "
        "averaged over the whole cohort with every patient set to each arm in turn) and by "
        "augmented inverse probability weighting (AIPW, doubly robust: consistent when either "
        "the outcome model or the multinomial propensity model is right), follow-up censored "
        "before a horizon handled by inverse probability of censoring weights within each "
        f"arm; percentile intervals from {std.bootstrap} bootstrap replicates (seed "
        f"{std.seed}). Balance of the stabilised ATE propensity weights was judged by "
        f"standardised mean differences (largest pairwise, threshold {SMD_THRESHOLD:g})."
    )
    return s


def _late_courses(cohort: Cohort, arms: ArmDefinition) -> bool:
    """Whether a treatment that defines the arms started after onset (or at an unknown
    time) in some patient."""
    for treatment in compared_treatments("arm", arms=arms):
        timing = treatment_timing(cohort, treatment)
        known = timing["timing"].eq("known")
        if (known & (timing["start_day"] > 0)).any() or timing["timing"].eq("unknown").any():
            return True
    return False


def _intro(cohort: Cohort, std: StandardisedRisks, arms: ArmDefinition) -> str:
    adjusted = ", ".join(std.adjusted_for) or "nothing"
    timing = (
        "In this cohort some courses of the arms' treatments started days after onset, in "
        "patients still alive then: the treated arms hold the survivors of those days and the "
        "untreated arm the early deaths, a selection on the outcome that no adjustment at "
        "onset undoes. The standardised risks below are therefore not those of the strategy "
        "'give everyone this arm's treatments at onset'; questions of when to start a "
        "treatment are answered by the target trials above."
        if _late_courses(cohort, arms)
        else "Every course of the arms' treatments started on the day of onset, so the arm is "
        "fixed at time zero and each standardised risk is that of the strategy 'give everyone "
        "this arm'."
    )
    intervals = (
        f"Intervals: percentile bootstrap, B = {std.bootstrap} replicates of patients (seed "
        f"{std.seed}), kept small so that the report stays quick."
        if std.bootstrap
        else "No bootstrap was run (B = 0), so no interval is given."
    )
    return (
        "An arm's observed mortality mixes what the arm does with whom it was given to: an arm "
        "given mostly in the modern era, or to less severe patients, looks better than it is. "
        "The standardised risk of an arm is the risk the whole cohort would have had had every "
        f"patient received that arm, given the adjustment set ({adjusted}): by g-computation "
        "(an outcome model) and by AIPW (the outcome model corrected by propensity-weighted "
        "residuals, which stays consistent when either model is right). Comparing the "
        "standardised risks of two arms compares the same population; comparing their "
        f"observed risks does not. {timing} {intervals}"
    )


def _horizon_label(h: Any) -> str:
    return "In hospital" if h == IN_HOSPITAL else f"By day {h}"


def _risk_table(
    std: StandardisedRisks, sizes: dict[str, int], hidden: list[str], min_cell: int | None
) -> Table:
    level = f"{std.conf_level:.0%}"
    frame = std.to_frame()
    shown_methods = ["observed", *([m for m in ("gcomputation", "aipw") if f"{m}_risk" in frame])]
    gone = SUPPRESSED.format(n=min_cell)
    rows: list[list[Any]] = []
    for horizon in std.horizons:
        part = frame[frame["horizon"] == horizon].reset_index(drop=True)
        masked = _masked_deaths(part, hidden, min_cell)
        for i, r in enumerate(part.to_dict("records")):
            arm = str(r["arm"])
            if arm in hidden:
                rows.append(
                    [_horizon_label(horizon), arm, "not shown", "–", *["–"] * len(shown_methods)]
                )
                continue
            cells = []
            for m in shown_methods:
                # an observed risk of a masked count of deaths would give the count back
                if m == "observed" and masked[i]:
                    cells.append("suppressed")
                    continue
                est, lo, hi = r[f"{m}_risk"], r[f"{m}_ci_lower"], r[f"{m}_ci_upper"]
                text = fmt_pct(est)
                if pd.notna(lo) and pd.notna(hi):
                    text += f" ({fmt_pct(lo)} to {fmt_pct(hi)})"
                cells.append(text)
            rows.append(
                [
                    _horizon_label(horizon),
                    arm,
                    f"{sizes[arm]:,}",
                    gone if masked[i] else f"{int(r['n_events']):,}",
                    *cells,
                ]
            )
    return Table(
        "Risk of death by arm: observed, and standardised over the whole cohort",
        [
            "Death",
            "Arm",
            "Patients",
            "Deaths",
            *[f"{_METHOD_LABEL[m]} ({level} CI)" for m in shown_methods],
        ],
        rows,
        f"{std.n:,} patients of a known arm with every covariate; observed: the arm's own "
        "risk (censored follow-up weighted within the arm); g-computation and AIPW: the "
        "risk had every patient of the cohort received the arm. Days from the first DAH "
        "onset; in hospital: death during the first episode's admission.",
    )


def _masked_deaths(part: pd.DataFrame, hidden: list[str], min_cell: int | None) -> list[bool]:
    """Per arm of one horizon, whether its count of deaths is masked: deaths and the
    others with a known outcome partition an arm's patients, and the arms sum to the total,
    so masking is complementary across the arms (a hidden arm counts as masked)."""
    if not min_cell or part.empty:
        return [False] * len(part)
    cells = pd.DataFrame(
        {
            "deaths": part["n_events"].astype(int),
            "others": (part["n_known"] - part["n_events"]).astype(int),
            "known": part["n_known"].astype(int),
        }
    )
    gone = np.repeat(part["arm"].astype(str).isin(hidden).to_numpy()[:, None], 3, axis=1)
    masked = suppress_small_cells(
        cells, ["deaths", "others"], min_cell, total_column="known", hidden=gone
    )
    return masked["deaths"].isna().tolist()


def _positivity_table(
    pw: PropensityWeights, sizes: dict[str, int], hidden: list[str], min_cell: int | None
) -> Table:
    ess = pw.effective_sizes()
    rows: list[list[Any]] = []
    for i, arm in enumerate(pw.arms):
        if arm in hidden:
            rows.append([arm, "not shown", *["–"] * 5])
            continue
        w = pw.weights[pw.arm == i]
        own = pw.scores[pw.arm == i, i]
        low = int((pw.scores[:, i] < POSITIVITY_FLOOR).sum())
        rows.append(
            [
                arm,
                f"{sizes.get(arm, len(w)):,}",
                f"{ess[arm]:,.0f}",
                f"{np.quantile(w, 0.01):.2f} to {np.quantile(w, 0.99):.2f} (largest {w.max():.2f})",
                f"{own.min():.3f}",
                SUPPRESSED.format(n=min_cell) if min_cell and 0 < low < min_cell else f"{low:,}",
            ]
        )
    return Table(
        "Propensity weights by arm: effective sample size, distribution and positivity",
        [
            "Arm",
            "Patients",
            "Effective sample size",
            "Weights: 1st to 99th percentile",
            "Smallest propensity of the arm received",
            f"Patients with a propensity below {POSITIVITY_FLOOR:g} of the arm",
        ],
        rows,
        f"Stabilised ATE weights of the AIPW estimator's multinomial propensity model "
        f"(truncation: {pw.truncation}). A weight above {EXTREME_WEIGHT:g}, or patients with "
        f"(almost) no chance of an arm, are near-violations of positivity: that arm's "
        "standardised risk then extrapolates the outcome model to patients who were "
        "practically never given it. Effective sample size: Kish's, of the arm's weights.",
    )


def _balance(s: Section, wt1: WeightedTableOne, std: StandardisedRisks, hidden: list[str]) -> None:
    t = wt1.to_frame()
    rows = [
        [
            r["label"],
            r["smd_note"] or f"{r['smd_unweighted']:.2f}",
            r["smd_note"] or f"{r['smd_weighted']:.2f}",
            "yes" if r["in_model"] else "no",
        ]
        for _, r in t.iterrows()
    ]
    worst = t.loc[t["smd_note"] == "", "smd_weighted"].abs()
    above = t.loc[worst.index[worst > wt1.threshold], "label"].tolist()
    s.tables.append(
        Table(
            "Balance of the baseline characteristics across arms, before and after weighting",
            ["Characteristic", "SMD unweighted", "SMD weighted", "In the propensity model"],
            rows,
            "Largest absolute pairwise standardised mean difference across the arms, "
            f"unweighted and under stabilised ATE weights (propensity model on "
            f"{', '.join(wt1.adjusted_for) or 'nothing'}); below {wt1.threshold:g} is "
            "conventionally balanced. The treatments that define the arms are marked as such "
            "(every arm is 0% or 100% on them by construction)."
            + (
                f" Still above {wt1.threshold:g} after weighting: {', '.join(above)}"
                + (
                    " (not in the propensity model: the weights do not aim to balance them)."
                    if not t.loc[t["label"].isin(above), "in_model"].any()
                    else "."
                )
                if above
                else ""
            ),
        )
    )
    ax = plot_love(t, threshold=wt1.threshold)
    s.figures.append(
        Figure.of(
            ax,
            "Love plot: each characteristic's largest absolute pairwise SMD across the arms, "
            "unweighted (open) and weighted (filled); the dashed line is the threshold "
            f"{wt1.threshold:g}.",
            "Love plot of standardised mean differences: "
            + "; ".join(
                f"{r['label']} {abs(r['smd_unweighted']):.2f} to {abs(r['smd_weighted']):.2f}"
                for r in t[t["smd_note"] == ""].to_dict("records")
            ),
        )
    )
    pw = std.risks.propensity
    keep = ~np.isin(pw.arm, [i for i, a in enumerate(pw.arms) if a in hidden])
    shown = [a for a in pw.arms if a not in hidden]
    if not shown:
        return
    # a hidden arm's patients are left out of the overlap plot (its legend counts patients)
    visible = replace(pw, arm=pw.arm[keep], scores=pw.scores[keep], weights=pw.weights[keep])
    ax = plot_overlap(visible, arm=shown[0])
    s.figures.append(
        Figure.of(
            ax,
            f"Overlap: the distribution of the propensity of {shown[0]} among the patients of "
            "each arm (the AIPW estimator's propensity model); a region of scores where an "
            "arm has no patients is a violation of positivity.",
            f"Histograms of the propensity of {shown[0]} by arm received",
        )
    )
