"""DAH endpoints, declared once by name, and the analysis frames they are computed from.

This is where DAH meaning lives: what counts as a death within an episode, a recurrence, an
incident case. The statistics layer (:mod:`dah_outcomes.stats`) receives plain frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    ArmDefinition,
    EraDefinition,
    assign_arms,
    assign_eras,
)
from dah_outcomes.endpoints.memo import cached_by_content
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning, warn
from dah_outcomes.vital_status import dead_date_unknown

__all__ = [
    "DEATH_DATE_UNKNOWN",
    "ENDPOINTS",
    "INDEX_COVARIATES",
    "Endpoint",
    "death_frame",
    "endpoint_definitions",
    "episode_outcomes",
    "frame_notes",
    "incidence_frame",
    "patient_outcomes",
    "recurrence_frame",
    "recurrent_episodes_frame",
]

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A named endpoint and its definition.

    Attributes
    ----------
    name : str
        Key used in results and JSON (e.g. ``"mortality"``).
    label : str
        Short human label.
    unit : {"sle_patients", "dah_patients", "episodes"}
        What the denominator counts.
    definition : str
        The definition in words, quoted in reports' methods sections.
    column : str
        Column of :func:`patient_outcomes` (or :func:`incidence_frame`) holding the event.
    """

    name: str
    label: str
    unit: str
    definition: str
    column: str


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            "incidence",
            "DAH cumulative incidence",
            "sle_patients",
            "SLE patients with at least one DAH episode during follow-up, over all SLE "
            "patients of the source population",
            "dah",
        ),
        Endpoint(
            "first_manifestation",
            "DAH as first manifestation of SLE",
            "dah_patients",
            "DAH patients whose first episode was the first manifestation of SLE",
            "first_manifestation",
        ),
        Endpoint(
            "mechanical_ventilation",
            "Mechanical ventilation",
            "dah_patients",
            "DAH patients invasively ventilated during their first episode",
            "mechanical_ventilation",
        ),
        Endpoint(
            "plasmapheresis",
            "Plasmapheresis",
            "dah_patients",
            "DAH patients given plasma exchange during their first episode",
            "plasmapheresis",
        ),
        Endpoint(
            "nephritis",
            "Active lupus nephritis",
            "dah_patients",
            "DAH patients with active lupus nephritis at their first episode",
            "nephritis",
        ),
        Endpoint(
            "recurrence",
            "Recurrence",
            "dah_patients",
            "DAH patients with a further DAH episode during follow-up (crude proportion; "
            "patients who died in their first episode count as not recurring)",
            "recurrence",
        ),
        Endpoint(
            "mortality",
            "Mortality",
            "dah_patients",
            "DAH patients who died in hospital during their first episode",
            "died",
        ),
        Endpoint(
            "mortality_per_episode",
            "Mortality per episode",
            "episodes",
            "DAH episodes (first and recurrent) that ended in death in hospital, over all "
            "episodes; grouped by the episode's own arm and era",
            "died",
        ),
    )
}


def endpoint_definitions(death_within_days: int | None = None) -> dict[str, str]:
    """Each endpoint's definition in words, as the analyses used it.

    Parameters
    ----------
    death_within_days : int, optional
        Mortality defined as death within this many days of onset (as in
        :func:`patient_outcomes`) instead of in-hospital death.

    Returns
    -------
    dict of str to str
        Endpoint name to definition, in the order of :data:`ENDPOINTS`.
    """
    definitions = {name: e.definition for name, e in ENDPOINTS.items()}
    if death_within_days is not None:
        days = death_within_days
        definitions["mortality"] = (
            f"DAH patients who died within {days} days of the onset of their first episode "
            f"(patients alive but followed for fewer than {days} days are excluded)"
        )
    return definitions


def patient_outcomes(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
    death_within_days: int | None = None,
) -> pd.DataFrame:
    """One row per DAH patient, describing the first (index) episode and its outcomes.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms : ArmDefinition, default DEFAULT_ARMS
        Ordered arm rules applied to the index episode's treatment flags.
    arm_column : str, optional
        Take the arm from this episode column instead (e.g. ``"arm"`` from a registry).
    eras : EraDefinition, default DEFAULT_ERAS
        Era of the index episode's onset date.
    death_within_days : int, optional
        Define ``died`` as death within this many days of onset instead of in-hospital death.

    Returns
    -------
    DataFrame
        Columns ``patient_id, onset_date, arm, era, n_episodes, first_manifestation,
        mechanical_ventilation, plasmapheresis, nephritis, recurrence, died`` (flags are
        nullable booleans: missing where the source did not record them).
    """
    if death_within_days is not None and (
        isinstance(death_within_days, bool)
        or not isinstance(death_within_days, int)
        or death_within_days < 1
    ):
        raise ArgumentError(
            f"death_within_days must be a positive whole number of days, got {death_within_days!r}"
        )
    e = cohort.episodes
    if arm_column is None and "arm" in e and e["arm"].notna().any():
        arm_column = "arm"
    index = e[e["episode_number"] == 1].set_index("patient_id")
    n_ep = e.groupby("patient_id")["episode_number"].max()
    out = pd.DataFrame(index=index.index)
    out["onset_date"] = index["onset_date"]
    out["arm"] = assign_arms(index, arms, column=arm_column)
    out["era"] = assign_eras(index["onset_date"], eras)
    out["n_episodes"] = n_ep.reindex(out.index).astype("Int64")
    for flag in ("first_manifestation", "mechanical_ventilation", "plasmapheresis", "nephritis"):
        out[flag] = (
            index[flag] if flag in index else pd.Series(pd.NA, index=out.index, dtype="boolean")
        )
    out["recurrence"] = (out["n_episodes"] > 1).astype("boolean")
    if death_within_days is None:
        out["died"] = index["in_hospital_death"].astype("boolean")
    else:
        p = cohort.patients.set_index("patient_id").reindex(out.index)
        days_to_death = (p["death_date"] - out["onset_date"]).dt.days
        followed = (p["followup_end"] - out["onset_date"]).dt.days
        undated = dead_date_unknown(p)
        in_window = _fatal_stay_within(index, death_within_days)
        died = (days_to_death <= death_within_days).fillna(False) | (undated & in_window)
        known = died | ((followed >= death_within_days) & ~undated)
        out["died"] = pd.Series(died, dtype="boolean").where(known, pd.NA)
    return out.reset_index()


def _fatal_stay_within(index: pd.DataFrame, days: int) -> np.ndarray:
    """Index episodes ending in an in-hospital death with discharge within ``days`` of onset.

    For a patient dead on an unrecorded date this is the only way to know the death fell
    within the window; otherwise whether it did is unknown (not "survived" for having been
    followed long enough).
    """
    if "discharge_date" not in index:
        return np.zeros(len(index), dtype=bool)
    stay = (index["discharge_date"] - index["onset_date"]).dt.days
    fatal = index["in_hospital_death"].fillna(False).to_numpy(dtype=bool)
    return fatal & (stay <= days).fillna(False).to_numpy(dtype=bool)


def incidence_frame(cohort: Cohort) -> pd.DataFrame:
    """One row per patient: first DAH (event) and person-years from follow-up start to it.

    Person-time runs from ``followup_start`` to the first DAH onset, or to ``followup_end``
    for patients without DAH. A patient whose first DAH is at (or before) the start of
    follow-up (DAH as the first manifestation of SLE, when follow-up starts at diagnosis) was
    never at risk of a first DAH: ``at_entry`` is true, with zero person-time, and an
    incidence rate does not count them as incident cases.

    Parameters
    ----------
    cohort : Cohort
        A population cohort (every SLE patient of the source population).

    Returns
    -------
    DataFrame
        ``patient_id, dah, at_entry, person_years``.

    Raises
    ------
    ArgumentError
        If the cohort is a case series (no source population, so no incidence).
    """
    if cohort.design != "population":
        raise ArgumentError(
            "incidence needs a source population (design='population'): this cohort is a "
            "case series of DAH patients only; add the SLE patients without DAH"
        )
    p = cohort.patients.set_index("patient_id")
    first = cohort.episodes[cohort.episodes["episode_number"] == 1].set_index("patient_id")
    onset = first["onset_date"].reindex(p.index)
    dah = onset.notna()
    stop = onset.where(dah, p["followup_end"])
    years = (stop - p["followup_start"]).dt.days.to_numpy(dtype=float) / DAYS_PER_YEAR
    at_entry = dah.to_numpy() & (years <= 0)
    return pd.DataFrame(
        {
            "patient_id": p.index,
            "dah": dah.to_numpy(),
            "at_entry": at_entry,
            "person_years": np.maximum(years, 0.0),
        }
    )


def episode_outcomes(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """One row per DAH episode (first and recurrent) with its own arm, era and outcome.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms, eras : ArmDefinition, EraDefinition
        Arm rules applied to each episode's own treatment flags (or its ``arm`` column when
        filled), eras to its own onset date.

    Returns
    -------
    DataFrame
        ``patient_id, episode_number, onset_date, arm, era, died`` (``died``: in-hospital
        death, a nullable boolean).
    """
    e = cohort.episodes
    arm_column = "arm" if "arm" in e and e["arm"].notna().any() else None
    return pd.DataFrame(
        {
            "patient_id": e["patient_id"].to_numpy(),
            "episode_number": e["episode_number"].to_numpy(),
            "onset_date": e["onset_date"].to_numpy(),
            "arm": assign_arms(e, arms, column=arm_column).to_numpy(),
            "era": assign_eras(e["onset_date"], eras).to_numpy(),
            "died": e["in_hospital_death"].astype("boolean").to_numpy(),
        }
    )


#: Flags of the index episode that the time-to-event frames carry (for adjusted models), with
#: the words methods sections use for them.
INDEX_COVARIATES: Mapping[str, str] = MappingProxyType(
    {
        "severe": "severe presentation",
        "infection": "concurrent infection",
        "nephritis": "active lupus nephritis",
        "mechanical_ventilation": "mechanical ventilation",
        "methylprednisolone_pulse": "IV methylprednisolone pulses",
        "cyclophosphamide": "cyclophosphamide",
        "plasmapheresis": "plasmapheresis",
        "rituximab": "rituximab",
    }
)


@cached_by_content
def _index_frame(
    cohort: Cohort, arms: ArmDefinition, arm_column: str | None, eras: EraDefinition
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per DAH patient: id, arm, era, onset and index-episode covariates; and the patients."""
    outcomes = patient_outcomes(cohort, arms=arms, arm_column=arm_column, eras=eras)
    frame = outcomes[["patient_id", "arm", "era", "onset_date"]].copy()
    index = cohort.episodes[cohort.episodes["episode_number"] == 1].set_index("patient_id")
    for col in INDEX_COVARIATES:
        if col in index:
            frame[col] = index[col].reindex(frame["patient_id"]).to_numpy()
    p = cohort.patients.set_index("patient_id").reindex(frame["patient_id"])
    p.index = frame.index
    return frame, p


#: Why a patient who died on an unrecorded date is left out of a time-to-event frame.
DEATH_DATE_UNKNOWN = (
    "died on a date that is not recorded (vital_status dead, no death_date): they cannot be "
    "placed in time, so they are left out rather than censored at the end of follow-up "
    "(which would count their deaths as survival); in-hospital mortality still counts them. "
    "Record their death dates to include them"
)


def _placed_in_time(frame: pd.DataFrame, p: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` without the patients dead on an unknown date, warned and recorded.

    The message goes out as a DroppedRowsWarning and stays in ``frame.attrs["warnings"]``
    (with the count in ``attrs["n_death_date_unknown"]``) for the analysis to put on its
    result.
    """
    undated = dead_date_unknown(p)
    n = int(undated.sum())
    if n:
        message = f"{what}: {n} DAH patient(s) {DEATH_DATE_UNKNOWN}."
        warn(message, DroppedRowsWarning)
        frame = frame.loc[~undated].reset_index(drop=True)
        frame.attrs["warnings"] = (message,)
    frame.attrs["n_death_date_unknown"] = n
    return frame


def frame_notes(frame: pd.DataFrame) -> tuple[str, ...]:
    """The warnings a time-to-event frame was built with (e.g. the dead of unknown date left
    out), for the analysis to record on its result beside its own.

    Parameters
    ----------
    frame : DataFrame
        A frame of :func:`death_frame`, :func:`recurrence_frame` or
        :func:`recurrent_episodes_frame` (or one derived from it that kept its ``attrs``).

    Returns
    -------
    tuple of str
    """
    return tuple(frame.attrs.get("warnings", ()))


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return (later - earlier).dt.days.to_numpy(dtype=float)


def _end_of_followup(p: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each patient's last observed day (death or end of follow-up) and whether they died."""
    died = p["death_date"].notna()
    return p["death_date"].where(died, p["followup_end"]), died


def death_frame(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """Time from first DAH onset to death (days), censored at the end of follow-up.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms, arm_column, eras
        Arm and era definitions (see :func:`patient_outcomes`).

    Returns
    -------
    DataFrame
        ``patient_id, arm, era, onset_date``, the index episode's clinical and treatment
        flags (for adjusted models), ``time`` (days) and ``event`` (1 death, 0 censored:
        alive or of unknown vital status at the end of follow-up). Patients dead on an
        unrecorded date are left out (see :data:`DEATH_DATE_UNKNOWN`); ``attrs`` records
        how many (``"n_death_date_unknown"``) and the warning (``"warnings"``).

    Warns
    -----
    DroppedRowsWarning
        When patients died on an unrecorded date (vital status dead, no death date).
    """
    frame, p = _index_frame(cohort, arms, arm_column, eras)
    end, died = _end_of_followup(p)
    frame["time"] = _days(end, frame["onset_date"])
    frame["event"] = died.to_numpy().astype(int)
    return _placed_in_time(frame, p, "time to death")


def recurrence_frame(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """Time from first DAH onset to the first recurrence, with death as a competing event.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms, arm_column, eras
        Arm and era definitions (see :func:`patient_outcomes`).

    Returns
    -------
    DataFrame
        As :func:`death_frame`, with ``event`` 1 = recurrence (onset of the second episode),
        2 = death before any recurrence, 0 = censored at the end of follow-up. Patients dead
        on an unrecorded date are left out, recurrence or not (keeping only those who
        recurred would select on the outcome).

    Warns
    -----
    DroppedRowsWarning
        When patients died on an unrecorded date (vital status dead, no death date).
    """
    frame, p = _index_frame(cohort, arms, arm_column, eras)
    second = cohort.episodes[cohort.episodes["episode_number"] == 2].set_index("patient_id")
    rec = second["onset_date"].reindex(frame["patient_id"])
    rec.index = frame.index
    end, died = _end_of_followup(p)
    has_rec = rec.notna()
    frame["time"] = _days(rec.where(has_rec, end), frame["onset_date"])
    frame["event"] = np.where(has_rec, 1, np.where(died, 2, 0))
    return _placed_in_time(frame, p, "time to recurrence")


def recurrent_episodes_frame(
    cohort: Cohort,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """DAH recurrences in counting-process form, from each patient's first onset.

    One row per interval ``(start, stop]`` in days since the first onset: each interval ends
    at the onset of the next episode (``event`` 1) or at the end of follow-up or death
    (``event`` 0). Arm, era and covariates are the index episode's.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    arms, arm_column, eras
        Arm and era definitions (see :func:`patient_outcomes`).

    Returns
    -------
    DataFrame
        ``patient_id, arm, era, ..., start, stop, event``. Patients dead on an unrecorded
        date are left out (the end of their time at risk is unknown).

    Warns
    -----
    DroppedRowsWarning
        When patients died on an unrecorded date (vital status dead, no death date).
    """
    frame, p = _index_frame(cohort, arms, arm_column, eras)
    frame = _placed_in_time(frame, p, "recurrent episodes")
    p = p.loc[~dead_date_unknown(p)].reset_index(drop=True)
    end, _ = _end_of_followup(p)
    end_days = pd.Series(_days(end, frame["onset_date"]), index=frame["patient_id"])
    first = frame.set_index("patient_id")["onset_date"]
    e = cohort.episodes[["patient_id", "episode_number", "onset_date"]]
    e = e[e["patient_id"].isin(first.index)]
    later = e[e["episode_number"] > 1]
    stops = pd.DataFrame(
        {
            "patient_id": later["patient_id"].to_numpy(),
            "stop": _days(
                later["onset_date"].reset_index(drop=True),
                first.reindex(later["patient_id"]).reset_index(drop=True),
            ),
            "event": 1,
        }
    )
    last = pd.DataFrame({"patient_id": end_days.index, "stop": end_days.to_numpy(), "event": 0})
    rows = pd.concat([stops, last], ignore_index=True).sort_values(
        ["patient_id", "stop", "event"], ascending=[True, True, False], kind="stable"
    )
    rows["start"] = rows.groupby("patient_id")["stop"].shift(fill_value=0.0)
    # an empty final interval (follow-up ended on a recurrence's onset day) adds nothing
    rows = rows[(rows["stop"] > rows["start"]) | (rows["event"] == 1)]
    out = rows.merge(frame.drop(columns="onset_date"), on="patient_id", how="left")
    cols = [c for c in frame.columns if c != "onset_date"] + ["start", "stop", "event"]
    result = out[cols].reset_index(drop=True)
    result.attrs = dict(frame.attrs)  # the merge does not carry them
    return result
