"""The participant-flow diagram (STROBE/RECORD style): one drawing for the import and the report.

The diagram takes plain ``(label, n)`` lists, so that it knows nothing of where the counts
come from: :func:`~dah_outcomes.io.importer.plot_import_flow` passes the rows of an import,
the report the patients of a cohort.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes

from dah_outcomes.plotting._axes import new_axes

__all__ = ["FLOW_REASONS", "flow_reason", "plot_flow"]

#: Every reason code the validation and the import give a rejected row, as a flow diagram
#: (CONSORT, STROBE item 13) states it: what was wrong with the record, in plain words.
FLOW_REASONS: dict[str, str] = {
    # validation (dah_outcomes.validation.RULES)
    "missing_column": "a required column absent",
    "unknown_column": "a column outside the contract",
    "type": "a value of the wrong type (unreadable date or number)",
    "missing_value": "a required value missing",
    "not_allowed": "a value outside the allowed categories",
    "out_of_range": "an implausible value (out of range)",
    "duplicate_id": "duplicate patient record",
    "unknown_patient": "episode of a patient not in the patients table",
    "followup_end_before_start": "follow-up end before follow-up start",
    "death_before_followup_start": "death before follow-up start",
    "followup_after_death": "follow-up continuing after death",
    "diagnosis_before_birth": "SLE diagnosis before birth",
    "discharge_before_onset": "discharge before DAH onset",
    "onset_outside_followup": "DAH onset outside follow-up",
    "death_before_onset": "death before DAH onset",
    "in_hospital_death_without_death_date": "in-hospital death without a death date",
    "death_outside_episode": "in-hospital death dated outside the admission",
    "episode_after_fatal_episode": "episode after a fatal episode",
    "episode_numbering": "episodes not numbered 1, 2, 3...",
    "onset_not_increasing": "episode starting before the previous one",
    "inconsistent_flags": "a dose or count recorded for a treatment not given",
    "unknown_episode": "treatment course of an episode not recorded",
    "start_before_onset": "treatment started before DAH onset",
    "start_after_death": "treatment started after death",
    "start_after_discharge": "treatment started after discharge",
    "end_before_start": "treatment ended before it started",
    "sessions_exceed_days": "more sessions than days in hospital",
    "treatment_flag_false": "treatment course for a treatment flagged as not given",
    "duplicate_course": "duplicate treatment course",
    # vital status (dah_outcomes.vital_status.VITAL_STATUS_RULES)
    "death_date_not_dead": "death date for a patient not recorded as dead",
    "in_hospital_death_not_dead": "in-hospital death of a patient recorded as alive",
    # the import (dah_outcomes.io.EXTRA_RULES and the layouts)
    "ragged_row": "malformed line in the source file",
    "bad_record": "unreadable record in the source file",
    "source_column_missing": "a mapped source column absent from the file",
    "patient_rejected": "the patient's own record was rejected",
    "episode_rejected": "the episode's record was rejected",
    "episodes_rejected": "every DAH episode of the patient was rejected",
    "row_group_rejected": "another record of the same patient was rejected",
    "inconsistent_patient_value": "conflicting patient details across records",
    "no_row_accepted": "no record could be accepted",
    "missing_parameter": "no death record (ADTTE parameter) for the subject",
    "missing_subject": "record without a subject identifier",
    "duplicate_parameter": "duplicate ADTTE record for the subject",
    "invalid_cnsr": "censoring code (CNSR) neither event nor censoring",
    "file_changed": "cohort file changed since it was written",
}


def flow_reason(code: str) -> str:
    """The plain reason a flow diagram shows for a rule code (the code itself, spaced,
    when it is not one of :data:`FLOW_REASONS`).

    Parameters
    ----------
    code : str
        A reason code, e.g. ``"followup_end_before_start"`` (surrounding spaces and a
        ``"reason: "`` prefix, as in an import's flow table, are ignored).

    Returns
    -------
    str
        E.g. ``"follow-up end before follow-up start"``.
    """
    key = str(code).strip().removeprefix("reason: ").strip()
    return FLOW_REASONS.get(key, key.replace("_", " "))


#: A count in the diagram: a number, ``None`` (or NA) when masked, or, for a step, a text
#: describing it (e.g. ``"120 patients, 31 with DAH"``).
Count = int | str | None


def plot_flow(
    steps: Sequence[tuple[str, Count]],
    exclusions: Sequence[tuple[str, int | None]] | None = None,
    ax: Axes | None = None,
    *,
    excluded: tuple[str, int | None] | None = None,
    title: str | None = None,
) -> Axes:
    """A participant-flow diagram: boxes down the middle, exclusions to the side.

    Parameters
    ----------
    steps : list of (label, n)
        The main path, top to bottom. ``n`` is a count (shown as ``n = 1,234``), ``None`` or
        NA for a count masked by small-cell suppression (shown as ``n suppressed``), or a text
        shown as given under the label.
    exclusions : list of (label, n), optional
        Reasons for exclusion with their counts (``None`` or NA: suppressed), listed in a
        side box between the first and second step. A label that is a rule code of the
        validation or the import (a key of :data:`FLOW_REASONS`) is shown as its plain
        reason.
    ax : Axes, optional
        Where to draw; a new Figure of its own by default (no pyplot state is touched).
    excluded : (label, n), optional
        Heading of the side box, e.g. ``("Rows rejected", 12)``, above the reasons.
    title : str, optional
        Axes title.

    Returns
    -------
    Axes

    Notes
    -----
    Counts are masked by the caller (see :func:`~dah_outcomes.suppression.suppress_small_cells`)
    so that the figure shows what the accompanying table shows, cell for cell.
    """
    with mpl.rc_context({"font.size": 9}):
        ax = ax or new_axes(7.0, 1.2 * len(steps) + 0.8)
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#1a1a1a"}
        ys = [0.9 - i * (0.8 / max(len(steps) - 1, 1)) for i in range(len(steps))]
        for (label, n), y in zip(steps, ys, strict=True):
            detail = n if isinstance(n, str) else f"n {_count(n, '= ')}"
            ax.text(0.3, y, f"{label}\n{detail}", ha="center", va="center", bbox=box)
        for y0, y1 in itertools.pairwise(ys):
            ax.annotate(
                "", xy=(0.3, y1 + 0.07), xytext=(0.3, y0 - 0.07), arrowprops={"arrowstyle": "->"}
            )
        lines = [f"{flow_reason(label)}: {_count(n)}" for label, n in exclusions or ()]
        if excluded is not None:
            label, n = excluded
            lines.insert(0, f"{label}\nn {_count(n, '= ')}")
        if lines and len(ys) > 1:
            y = (ys[0] + ys[1]) / 2
            ax.text(0.75, y, "\n".join(lines), ha="center", va="center", bbox=box)
            ax.annotate("", xy=(0.55, y), xytext=(0.3, y), arrowprops={"arrowstyle": "->"})
        if title:
            ax.set_title(title, fontsize=10)
    return ax


def _count(n: int | None, prefix: str = "") -> str:
    """``1,234`` (after ``prefix``), or ``suppressed`` for a masked count."""
    if n is None or pd.isna(n):
        return "suppressed"
    return f"{prefix}{int(n):,}"
