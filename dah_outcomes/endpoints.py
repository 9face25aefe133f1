"""DAH endpoints, declared once by name, and the analysis frames they are computed from.

This is where DAH meaning lives: what counts as a death within an episode, a recurrence, an
incident case. The statistics layer (:mod:`dah_outcomes.stats`) receives plain frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dah_outcomes.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    ArmDefinition,
    EraDefinition,
    assign_arms,
    assign_eras,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "death_frame",
    "incidence_frame",
    "patient_outcomes",
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
    unit : {"sle_patients", "dah_patients"}
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


ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (
    Endpoint("incidence", "DAH cumulative incidence", "sle_patients",
             "SLE patients with at least one DAH episode during follow-up, over all SLE "
             "patients of the source population", "dah"),
    Endpoint("first_manifestation", "DAH as first manifestation of SLE", "dah_patients",
             "DAH patients whose first episode was the first manifestation of SLE",
             "first_manifestation"),
    Endpoint("mechanical_ventilation", "Mechanical ventilation", "dah_patients",
             "DAH patients invasively ventilated during their first episode",
             "mechanical_ventilation"),
    Endpoint("plasmapheresis", "Plasmapheresis", "dah_patients",
             "DAH patients given plasma exchange during their first episode", "plasmapheresis"),
    Endpoint("nephritis", "Active lupus nephritis", "dah_patients",
             "DAH patients with active lupus nephritis at their first episode", "nephritis"),
    Endpoint("recurrence", "Recurrence", "dah_patients",
             "DAH patients with a further DAH episode during follow-up (crude proportion; "
             "patients who died in their first episode count as not recurring)", "recurrence"),
    Endpoint("mortality", "Mortality", "dah_patients",
             "DAH patients who died in hospital during their first episode", "died"),
)}


def _window_definition(days: int) -> str:
    return (f"DAH patients who died within {days} days of the onset of their first episode "
            f"(patients alive but followed for fewer than {days} days are excluded)")


def patient_outcomes(cohort: Cohort, *, arms: ArmDefinition = DEFAULT_ARMS,
                     arm_column: str | None = None, eras: EraDefinition = DEFAULT_ERAS,
                     death_within_days: int | None = None) -> pd.DataFrame:
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
            isinstance(death_within_days, bool) or not isinstance(death_within_days, int)
            or death_within_days < 1):
        raise ArgumentError(f"death_within_days must be a positive whole number of days, "
                            f"got {death_within_days!r}")
    e = cohort.episodes
    if arm_column is None and "arm" in e and e["arm"].notna().any():
        arm_column = "arm"
    index = e[e["episode_number"] == 1].set_index("patient_id")
    n_ep = e.groupby("patient_id")["episode_number"].max()
    out = pd.DataFrame(index=index.index)
    out["onset_date"] = index["onset_date"]
    out["arm"] = assign_arms(index, arms, column=arm_column) if (
        arm_column or all(f in index for a in arms.arms for f in a.flags)) else "Unknown"
    out["era"] = assign_eras(index["onset_date"], eras)
    out["n_episodes"] = n_ep.reindex(out.index).astype("Int64")
    for flag in ("first_manifestation", "mechanical_ventilation", "plasmapheresis", "nephritis"):
        out[flag] = index[flag] if flag in index else pd.Series(pd.NA, index=out.index,
                                                               dtype="boolean")
    out["recurrence"] = (out["n_episodes"] > 1).astype("boolean")
    if death_within_days is None:
        out["died"] = index["in_hospital_death"].astype("boolean")
    else:
        p = cohort.patients.set_index("patient_id").reindex(out.index)
        days_to_death = (p["death_date"] - out["onset_date"]).dt.days
        followed = (p["followup_end"] - out["onset_date"]).dt.days
        died = (days_to_death <= death_within_days).fillna(False)
        known = died | (followed >= death_within_days)
        out["died"] = pd.Series(died, dtype="boolean").where(known, pd.NA)
    return out.reset_index()


def incidence_frame(cohort: Cohort) -> pd.DataFrame:
    """One row per patient: first DAH (event) and person-years from follow-up start to it.

    Person-time runs from ``followup_start`` to the first DAH onset, or to ``followup_end``
    for patients without DAH. DAH at follow-up start (first manifestation) contributes an event
    with zero person-time.

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
    return pd.DataFrame({"patient_id": p.index, "dah": dah.to_numpy(),
                         "person_years": np.maximum(years, 0.0)})


def death_frame(cohort: Cohort, *, arms: ArmDefinition = DEFAULT_ARMS,
                arm_column: str | None = None, eras: EraDefinition = DEFAULT_ERAS
                ) -> pd.DataFrame:
    """Time from first DAH onset to death (days), censored at the end of follow-up.

    Returns
    -------
    DataFrame
        ``patient_id, arm, era, time, event`` plus the index episode's clinical flags
        (for adjusted models); ``event`` is 1 for death, 0 for censoring.
    """
    outcomes = patient_outcomes(cohort, arms=arms, arm_column=arm_column, eras=eras)
    p = cohort.patients.set_index("patient_id").reindex(outcomes["patient_id"])
    end = p["death_date"].where(p["death_date"].notna(), p["followup_end"])
    onset = outcomes.set_index("patient_id")["onset_date"]
    frame = outcomes[["patient_id", "arm", "era"]].copy()
    frame["time"] = (end - onset).dt.days.to_numpy(dtype=float)
    frame["event"] = p["death_date"].notna().to_numpy().astype(int)
    index = cohort.episodes[cohort.episodes["episode_number"] == 1].set_index("patient_id")
    for col in ("severe", "infection", "nephritis", "mechanical_ventilation",
                "methylprednisolone_pulse", "cyclophosphamide", "plasmapheresis", "rituximab"):
        if col in index:
            frame[col] = index[col].reindex(outcomes["patient_id"]).to_numpy()
    return frame
