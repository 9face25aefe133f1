"""When each treatment started, relative to DAH onset, and treatment timelines in
counting-process form.

Time zero is the onset of each patient's first DAH episode. A course that starts on day ``s``
after onset (``s = start_date - onset_date`` in days) switches the treatment on at ``s``; a
death or censoring on day ``d`` happens at ``d + 0.5``, within the day. So a patient treated
on the day they died counts as treated that day, and a patient who died on day 0 before any
course began never is. Only courses of the first (index) episode count: later episodes are
follow-up, not the treatment of the episode analysed.

Timing of a treatment, per patient:

``known``
    the index episode's flag is true (or absent) and the treatments table has a course;
``unknown``
    the flag is true but no course says when: the patient was treated at some unknown time;
``untreated``
    the flag is false and there is no course;
``missing``
    the flag is missing and there is no course.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    UNKNOWN,
    ArmDefinition,
    EraDefinition,
    assign_arms,
)
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.endpoints.memo import cached_by_content
from dah_outcomes.errors import ArgumentError, ImmortalTimeWarning, MissingColumnWarning, warn
from dah_outcomes.schema import TABLES, TREATMENT_FLAGS

__all__ = [
    "EVENT_OFFSET",
    "IMMORTAL_TIME_REMEDY",
    "TIMINGS",
    "check_absent_flags",
    "check_immortal_time",
    "compared_treatments",
    "landmark_frame",
    "treatment_names",
    "treatment_starts",
    "treatment_timeline",
    "treatment_timing",
]

#: Deaths and censorings happen this far into their day (treatment switches on at its start).
EVENT_OFFSET = 0.5

#: The timing states of a treatment for one patient (see the module's docstring).
TIMINGS = ("known", "unknown", "untreated", "missing")


def treatment_names() -> tuple[str, ...]:
    """The treatments a course can record (the allowed values of the table's ``treatment``).

    Returns
    -------
    tuple of str
    """
    column = next(c for c in TABLES["treatments"] if c.name == "treatment")
    assert column.allowed is not None  # the contract declares them
    return column.allowed


def _check_treatment(treatment: object) -> str:
    names = treatment_names()
    if treatment not in names:
        raise ArgumentError(f"treatment must be one of {sorted(names)}, got {treatment!r}")
    return str(treatment)


@cached_by_content
def treatment_timing(cohort: Cohort, treatment: str) -> pd.DataFrame:
    """When ``treatment`` started in each DAH patient's index episode, and its timing state.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    treatment : str
        One of :func:`treatment_names`.

    Returns
    -------
    DataFrame
        One row per DAH patient, in the order of the index episodes: ``patient_id``,
        ``start_day`` (days from onset to the first course; NaN without one) and ``timing``
        (one of :data:`TIMINGS`).
    """
    treatment = _check_treatment(treatment)
    index = cohort.episodes[cohort.episodes["episode_number"] == 1]
    ids = index["patient_id"].to_numpy()
    courses = cohort.treatments
    courses = courses[(courses["treatment"] == treatment) & (courses["episode_number"] == 1)]
    first = courses.groupby("patient_id")["start_date"].min().reindex(ids)
    start_day = (
        pd.Series(first.to_numpy(), index=index.index) - index["onset_date"]
    ).dt.days.astype(float)
    if treatment in index:
        flag = index[treatment].astype("boolean")
    else:
        flag = pd.Series(pd.NA, index=index.index, dtype="boolean")
    has_course = start_day.notna().to_numpy()
    flag_true = flag.fillna(False).to_numpy(dtype=bool)
    flag_false = (~flag.fillna(True)).to_numpy(dtype=bool)
    timing = np.select(
        [has_course, flag_true, flag_false],
        ["known", "unknown", "untreated"],
        default="missing",
    )
    return pd.DataFrame({"patient_id": ids, "start_day": start_day.to_numpy(), "timing": timing})


def treatment_starts(
    cohort: Cohort,
    treatment: str,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """Per DAH patient: the death frame plus when ``treatment`` started in the index episode.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    treatment : str
        One of :func:`treatment_names`.
    arms, arm_column, eras
        Arm and era definitions (see :func:`~dah_outcomes.endpoints.frames.patient_outcomes`).

    Returns
    -------
    DataFrame
        The columns of :func:`~dah_outcomes.endpoints.frames.death_frame` (``time`` in days
        from onset, ``event`` 1 for death) and ``start_day`` (days from onset to the first
        course; NaN without one) and ``timing`` (one of :data:`TIMINGS`).
    """
    timing = treatment_timing(cohort, treatment).set_index("patient_id")
    frame = death_frame(cohort, arms=arms, arm_column=arm_column, eras=eras)
    ids = frame["patient_id"].to_numpy()
    return frame.assign(
        start_day=timing["start_day"].reindex(ids).to_numpy(),
        timing=timing["timing"].reindex(ids).to_numpy(),
    )


#: What to do instead of comparing ever- with never-treated patients (quoted by the warning).
IMMORTAL_TIME_REMEDY = (
    'use treatment_effect(cohort, TREATMENT, method="time-varying") or method="landmark" '
    "(dah-outcomes treatment-effect COHORT --treatment TREATMENT --method "
    "time-varying|landmark), or compare arms among the patients alive at day D by the "
    'treatment received by then: survival_by_group(cohort, "arm", landmark_days=D) '
    "(dah-outcomes survival COHORT --landmark-days D)"
)


def compared_treatments(
    by: str | None = None,
    *,
    covariates: Iterable[str] = (),
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
) -> tuple[str, ...]:
    """The treatments whose ever/never flags define the groups (or terms) of a comparison.

    Parameters
    ----------
    by : str, optional
        The grouping compared: ``"arm"`` reads the arm definition's flags (every treatment
        flag when the arm comes from a column); other groupings read none.
    covariates : iterable of str
        Model terms (an adjustment set); those that are treatment flags count.
    arms : ArmDefinition, default DEFAULT_ARMS
        The arm definition.
    arm_column : str, optional
        The episodes column the arm is taken from, if any.

    Returns
    -------
    tuple of str
        Treatment names, in the contract's order, each once (empty when none is compared).
    """
    names: set[str] = set()
    if by == "arm":
        names |= set(TREATMENT_FLAGS) if arm_column else {f for a in arms.arms for f in a.flags}
    names |= set(covariates) & set(TREATMENT_FLAGS)
    return tuple(t for t in TREATMENT_FLAGS if t in names)


def check_immortal_time(
    cohort: Cohort, treatments: Iterable[str], *, comparison: str
) -> tuple[str, ...]:
    """Warn when ever-treated patients are compared while a treatment started late or when.

    The one check of every comparison of ever- with never-treated groups (by arm, by a
    treatment flag as a model term, the naive treatment effect). A treatment counts when a
    patient treated with it (index episode) has a course starting after DAH onset (day > 0),
    or has the flag with no course (timing unknown). Courses on the day of onset are time
    zero and are fine.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    treatments : iterable of str
        The treatments compared (see :func:`compared_treatments`).
    comparison : str
        The analysis, named at the start of the message (``"survival by arm"``).

    Returns
    -------
    tuple of str
        The message issued (one), or empty when no treatment compared starts late or at an
        unknown time.

    Warns
    -----
    ImmortalTimeWarning
        When a treatment compared started after onset or at an unknown time.
    MissingColumnWarning
        When the episodes table has no column for a treatment compared (see
        :func:`check_absent_flags`, whose message is returned first).
    """
    notes = check_absent_flags(cohort, treatments, comparison=comparison)
    parts = []
    for treatment in treatments:
        timing = treatment_timing(cohort, treatment)
        known = timing["timing"].eq("known")
        unknown = int(timing["timing"].eq("unknown").sum())
        late = int((known & (timing["start_day"] > 0)).sum())
        if not (late or unknown):
            continue
        treated = int(known.sum()) + unknown
        said = [f"{late:,} started after DAH onset"] if late else []
        said += [f"{unknown:,} have no start date"] if unknown else []
        parts.append(f"of {treated:,} patients treated with {treatment}, " + " and ".join(said))
    if not parts:
        return notes
    message = (
        f"{comparison}: " + "; ".join(parts) + ". Comparing ever- with never-treated patients "
        "credits a treatment with the time its patients survived before it began "
        f"(immortal-time bias): {IMMORTAL_TIME_REMEDY}"
    )
    warn(message, ImmortalTimeWarning)
    return (*notes, message)


def check_absent_flags(
    cohort: Cohort, treatments: Iterable[str], *, comparison: str
) -> tuple[str, ...]:
    """Warn when a treatment flag a comparison reads has no column in the episodes table.

    An absent column is unknown for every episode, never "not given" (see
    :func:`~dah_outcomes.endpoints.arms.assign_arms`): each arm rule is decided without it
    where it can be, and gives ``"Unknown"`` where it cannot.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    treatments : iterable of str
        The treatments compared (see :func:`compared_treatments`).
    comparison : str
        The analysis, named at the start of the message.

    Returns
    -------
    tuple of str
        The message issued (one), or empty when every flag compared has a column.

    Warns
    -----
    MissingColumnWarning
        When a flag compared has no column.
    """
    columns = cohort.episodes.columns
    absent = [t for t in treatments if t not in columns]
    if not absent:
        return ()
    message = (
        f"{comparison}: the episodes table has no {', '.join(absent)} column; "
        f"{'it is' if len(absent) == 1 else 'they are'} treated as unknown for every patient, "
        "so arm rules that need "
        f"{'it' if len(absent) == 1 else 'them'} give 'Unknown' (rules that do not still "
        "decide). Map the column in the import to decide them."
    )
    warn(message, MissingColumnWarning)
    return (message,)


def treatment_timeline(
    starts: pd.DataFrame,
) -> pd.DataFrame:
    """(start, stop] rows per patient with the treatment switching on at its start day.

    Parameters
    ----------
    starts : DataFrame
        From :func:`treatment_starts`; patients whose timing is ``unknown`` or ``missing``
        cannot be placed in time and must be left out by the caller first.

    Returns
    -------
    DataFrame
        One row per patient interval: the columns of ``starts`` (one patient's values on
        each of its rows) and ``start``, ``stop`` (days since onset), ``treated`` (0 before
        the first course, 1 from it) and ``event`` (1 only on the interval ending in death).

    Raises
    ------
    ArgumentError
        If a patient's timing is ``unknown`` or ``missing``.
    """
    unplaced = ~starts["timing"].isin(["known", "untreated"])
    if unplaced.any():
        raise ArgumentError(
            f"{int(unplaced.sum())} patients have no start date for a treatment they had (or "
            "no record of it): leave them out (timing 'unknown' or 'missing') first"
        )
    stop = starts["time"].to_numpy(dtype=float) + EVENT_OFFSET
    s = starts["start_day"].to_numpy(dtype=float)
    known = starts["timing"].eq("known").to_numpy()
    # split where the course starts after time zero and before the end of follow-up
    split = known & (s > 0) & (s < stop)
    treated_from_zero = known & (s <= 0)
    before = starts.assign(
        start=0.0,
        stop=np.where(split, s, stop),
        treated=treated_from_zero.astype(int),
        event=np.where(split, 0, starts["event"].to_numpy()),
    )
    after = starts[split].assign(
        start=s[split],
        stop=stop[split],
        treated=1,
        event=starts["event"].to_numpy()[split],
    )
    rows = pd.concat([before, after], ignore_index=True)
    return rows.sort_values(["patient_id", "start"], kind="stable").reset_index(drop=True)


def landmark_frame(
    cohort: Cohort,
    days: int,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """The death frame of a landmark analysis: patients alive at day ``days``, with the arm of
    the treatment they had received by then and their time counted from the landmark.

    A patient is at risk at the landmark when their death or end of follow-up falls on day
    ``days`` or later (a death on day ``d`` happens within the day, at ``d + 0.5``). A
    treatment counts as received by the landmark when its first course started on or before
    day ``days``; a course that starts later does not count (that is the point of a landmark),
    and a flag with no course (timing unknown) leaves the treatment unknown at the landmark,
    so that the arm rules decide it with a missing flag.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    days : int
        The landmark, in days since the onset of the first DAH episode.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.

    Returns
    -------
    DataFrame
        The columns of :func:`~dah_outcomes.endpoints.frames.death_frame` for the patients at
        risk at the landmark, with ``arm`` the arm by the landmark, ``time`` the days from
        the landmark to death or censoring, and ``timing_unknown`` (True when the arm could not
        be decided because a treatment the arm definition reads has no start date).

    Raises
    ------
    ArgumentError
        For a landmark that is not a whole number of days >= 0.
    """
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 0:
        raise ArgumentError(f"landmark_days must be a whole number of days >= 0, got {days!r}")
    frame = death_frame(cohort, arms=arms, eras=eras)
    ids = frame["patient_id"].to_numpy()
    received = pd.DataFrame(index=frame.index)
    undated = np.zeros(len(frame), dtype=bool)
    for treatment in compared_treatments("arm", arms=arms):
        timing = treatment_timing(cohort, treatment).set_index("patient_id").reindex(ids)
        state = timing["timing"].to_numpy()
        by_then = (state == "known") & (timing["start_day"].to_numpy() <= days)
        flag = pd.array(by_then, dtype="boolean")
        flag[np.isin(state, ["unknown", "missing"]) | pd.isna(state)] = pd.NA
        received[treatment] = flag
        undated |= state == "unknown"
    arm = assign_arms(received, arms).to_numpy()
    at_risk = frame["time"].to_numpy() >= days
    out = frame.assign(
        arm=arm,
        time=frame["time"] - days,
        timing_unknown=(arm == UNKNOWN) & undated,
    )
    return out[at_risk].reset_index(drop=True)
