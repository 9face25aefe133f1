"""The participant-flow section of the report (STROBE item 13, CONSORT-style): where the
patients came from, why records were rejected (in plain reasons, not rule codes), whether
the rejected differ from the accepted, and how many patients died on an unknown date."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.plotting import plot_flow
from dah_outcomes.plotting.flow import flow_reason
from dah_outcomes.report.sections import Figure, Section, Table, masked_count
from dah_outcomes.vital_status import summarize_vital_status

__all__ = ["flow_section", "vital_status_sentence"]

_REASON = "  reason: "


def _import_warning(cohort: Cohort, min_cell: int | None) -> str | None:
    """The import's informative-exclusion check, where the cohort was imported with
    rejections (its counts suppressed below ``min_cell``)."""
    checked = cohort.provenance.get("rejected_vs_accepted")
    if not (isinstance(checked, dict) and checked.get("warning")):
        return None
    counts = [
        r[k]
        for r in checked.get("comparison", [])
        for k in ("rejected_events", "rejected_known", "accepted_events", "accepted_known")
    ]
    if min_cell and any(0 < n < min_cell for n in counts):
        differ = [r["characteristic"] for r in checked["comparison"] if r["material"]]
        return (
            "import: the rejected patients differ materially from the accepted ones in "
            f"{', '.join(differ)} (counts below {min_cell} suppressed); estimates from "
            "the accepted rows alone may be biased"
        )
    return f"import: {checked['warning']}"


def _step_label(step: Any) -> str:
    """A flow-table step as the page shows it: a rule code as its plain reason."""
    text = str(step)
    if text.startswith(_REASON):
        return f"reason: {flow_reason(text)}"
    return text.strip()


def _import_figure(flow: pd.DataFrame, min_cell: int | None) -> Figure:
    """The import's flow diagram: rows read, accepted and the cohort down the middle, the
    rejected rows by reason to the side (as :func:`dah_outcomes.io.plot_import_flow`)."""
    f = flow.set_index(flow["step"].astype(str))["n"]

    def n(key: str) -> int | None:
        value = f.get(key)
        return None if value is None or pd.isna(value) else int(value)

    reasons = [
        (flow_reason(str(s)), None if pd.isna(v) else int(v))
        for s, v in f.items()
        if str(s).startswith(_REASON)
    ]
    steps: list[tuple[str, int | str | None]] = [
        ("Source rows read", n("source rows read")),
        ("Rows accepted", n("rows accepted")),
        (
            "Cohort",
            f"{masked_count(n('patients included') or 0, min_cell)} patients, "
            f"{masked_count(n('patients with DAH') or 0, min_cell)} with DAH\n"
            f"{masked_count(n('DAH episodes') or 0, min_cell)} episodes",
        ),
    ]
    ax = plot_flow(steps, reasons[:8], excluded=("Rows rejected", n("rows rejected")))
    alt = (
        "; ".join(f"{a}: {b}" for a, b in steps[:2])
        + "; rejected: "
        + ("; ".join(f"{r} {'suppressed' if c is None else c}" for r, c in reasons) or "none")
    )
    return Figure.of(
        ax,
        "Participant flow of the import: source rows read, rows rejected by reason, and "
        "the cohort they became.",
        "Import flow diagram: " + alt,
    )


def vital_status_sentence(cohort: Cohort, min_cell: int | None) -> str | None:
    """How many patients died on an unrecorded date and how the analyses handled them, or
    ``None`` when none did.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    min_cell : int or None
        Small-cell threshold for the count.

    Returns
    -------
    str or None
    """
    summary = summarize_vital_status(cohort.patients)
    n = summary.n_dead_date_unknown
    if not n:
        return None
    return (
        f"{masked_count(n, min_cell)} patient(s) died on a date that is not recorded (vital "
        "status dead, no death date): survival and the other time-to-event analyses leave "
        "them out, since they cannot be placed in time (censoring them at the end of "
        "follow-up would count their deaths as survival); in-hospital mortality counts them "
        "where their episode records the death."
    )


def flow_section(cohort: Cohort, flow: pd.DataFrame | None, min_cell: int | None) -> Section:
    """The participant flow: the import's accounting and diagram (when the cohort was
    imported), the cohort's own flow, vital status, and the import's informative-exclusion
    warning.

    Parameters
    ----------
    cohort : Cohort
        The cohort.
    flow : DataFrame or None
        An import's flow table (``step, n``; reasons as ``"  reason: <rule code>"``).
    min_cell : int or None
        Small-cell threshold.

    Returns
    -------
    Section
    """
    s = Section("flow", "Participant flow")
    warning = _import_warning(cohort, min_cell)
    if warning:
        s.warnings.append(warning)
    if flow is not None and {"step", "n"} <= set(flow.columns):
        rows = [
            [_step_label(step), n if pd.notna(n) else f"suppressed (<{min_cell})"]
            for step, n in zip(flow["step"], flow["n"], strict=True)
        ]
        s.tables.append(
            Table(
                "Import accounting (STROBE item 13)",
                ["step", "n"],
                rows,
                "Each rejected row is counted once, under the first reason found for it.",
            )
        )
        s.figures.append(_import_figure(flow, min_cell))
    steps: list[tuple[str, int | str | None]] = [
        ("Patients in the cohort", cohort.n_patients),
        ("Patients with DAH", cohort.n_dah_patients),
        ("First episodes analysed", cohort.n_dah_patients),
    ]
    if cohort.design != "population":
        steps = steps[1:]
    exclusions = (
        [("SLE patients without DAH", cohort.n_patients - cohort.n_dah_patients)]
        if cohort.design == "population"
        else None
    )
    ax = plot_flow(steps, exclusions)
    s.figures.append(
        Figure.of(
            ax,
            "Participant flow from the cohort to the analysed first episodes.",
            "Flow diagram: " + "; ".join(f"{a}: {b}" for a, b in steps),
        )
    )
    s.paragraphs.append(
        f"The cohort holds {cohort.n_patients:,} patients ({cohort.design.replace('_', ' ')}), "
        f"{cohort.n_dah_patients:,} with at least one DAH episode and {cohort.n_episodes:,} "
        "episodes in all. Analyses describe each patient's first (index) episode."
    )
    sentence = vital_status_sentence(cohort, min_cell)
    if sentence:
        s.paragraphs.append(sentence)
    return s
