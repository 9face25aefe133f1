"""Vital status at the end of follow-up, apart from the death date: derivation and rules.

A patients row may record ``vital_status`` (``alive``, ``dead``, ``unknown``) beside
``death_date``, so that "died, date unknown" is a death and not a censoring. This module
says what a cohort's vital status is when the column is absent or blank
(:func:`derive_vital_status`: a date means dead; no date means *unknown*, never silently
alive) and which combinations are errors (:data:`VITAL_STATUS_RULES`, found by
:func:`patient_problems` and :func:`episode_problems`; the validator collects
them with the other problems). The meaning, in words, is
:data:`~dah_outcomes.schema.VITAL_STATUS_ABSENT`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dah_outcomes.results import ResultMixin
from dah_outcomes.schema import VITAL_STATUSES

__all__ = [
    "VITAL_STATUS_RULES",
    "Problem",
    "VitalStatusSummary",
    "dead_date_unknown",
    "derive_vital_status",
    "episode_problems",
    "patient_problems",
    "summarize_vital_status",
]

#: Reason codes of the vital-status rules and the fix each suggests. The validator gives
#: these hints; they join its ``RULES`` once tests/test_validation.py, which checks ``RULES``
#: rule by rule, has a case for each.
VITAL_STATUS_RULES: dict[str, str] = {
    "death_date_not_dead": (
        "a death_date says the patient died: set vital_status to dead, or remove the "
        "death_date if it is wrong"
    ),
    "in_hospital_death_not_dead": (
        "the episode says the patient died in hospital: set the patient's vital_status to "
        "dead (its death_date may stay empty when unknown), or correct in_hospital_death"
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One vital-status rule broken on some rows: where, which column, which rule.

    Attributes
    ----------
    mask : ndarray of bool
        The rows of the checked table that break the rule.
    column : str
        The column the problem is reported on.
    rule : str
        A key of :data:`VITAL_STATUS_RULES`.
    values : Series, optional
        The values to show (the column's own when None).
    """

    mask: np.ndarray
    column: str
    rule: str
    values: pd.Series | None = None


def derive_vital_status(patients: pd.DataFrame) -> pd.Series:
    """Each patient's vital status at ``followup_end``: recorded, else derived from the date.

    Parameters
    ----------
    patients : DataFrame
        Patients rows with ``death_date`` and, optionally, ``vital_status``.

    Returns
    -------
    Series
        ``"alive"``, ``"dead"`` or ``"unknown"`` (string dtype, the frame's index). Where the
        status is not recorded a death date gives ``"dead"`` and no date ``"unknown"``: the
        source did not say the patient was alive, only that no death was recorded (analyses
        censor an unknown status at ``followup_end``, as they did before the column existed).
    """
    died = (
        patients["death_date"].notna().to_numpy()
        if "death_date" in patients
        else np.zeros(len(patients), dtype=bool)
    )
    derived = pd.Series(np.where(died, "dead", "unknown"), index=patients.index, dtype="string")
    if "vital_status" not in patients:
        return derived.rename("vital_status")
    recorded = patients["vital_status"].astype("string")
    return recorded.fillna(derived).rename("vital_status")


def dead_date_unknown(patients: pd.DataFrame) -> np.ndarray:
    """Which patients died on a date that is not recorded (vital status dead, no death_date).

    Parameters
    ----------
    patients : DataFrame
        Patients rows.

    Returns
    -------
    ndarray of bool
        One per row: True where ``vital_status`` is ``"dead"`` and ``death_date`` is empty.
    """
    if "vital_status" not in patients:
        return np.zeros(len(patients), dtype=bool)
    dead = (patients["vital_status"] == "dead").fillna(False).to_numpy(dtype=bool)
    no_date = (
        patients["death_date"].isna().to_numpy()
        if "death_date" in patients
        else np.ones(len(patients), dtype=bool)
    )
    return dead & no_date


def patient_problems(patients: pd.DataFrame) -> list[Problem]:
    """The patients table's vital-status rules, on a typed table.

    A death date with a recorded status other than dead is an error (``unknown`` too: the
    date is evidence of death). Dead without a date is allowed: died, date unknown. Values
    outside :data:`~dah_outcomes.schema.VITAL_STATUSES` are the coercion's ``not_allowed``.

    Parameters
    ----------
    patients : DataFrame
        The typed patients table.

    Returns
    -------
    list of Problem
        The rules broken (an empty mask when none is).
    """
    if not {"vital_status", "death_date"} <= set(patients.columns):
        return []
    status = patients["vital_status"]
    recorded_not_dead = (status.notna() & (status != "dead")).fillna(False).to_numpy(dtype=bool)
    dated = patients["death_date"].notna().to_numpy()
    return [Problem(recorded_not_dead & dated, "vital_status", "death_date_not_dead")]


def episode_problems(
    episodes: pd.DataFrame, patient_status: pd.Series, patient_death: pd.Series
) -> tuple[list[Problem], np.ndarray]:
    """The episodes' rules against their patient's vital status.

    Parameters
    ----------
    episodes : DataFrame
        The typed episodes table (``in_hospital_death``).
    patient_status : Series
        Each episode's patient's recorded ``vital_status`` (missing where not recorded), on
        the episodes' index.
    patient_death : Series
        Each episode's patient's ``death_date``, on the episodes' index.

    Returns
    -------
    problems : list of Problem
        An in-hospital death whose patient is recorded alive or unknown.
    needs_date : ndarray of bool
        The in-hospital deaths that need a death date: those without one whose patient is
        not recorded dead (dead with no date is "died, date unknown"), for the validator's
        ``in_hospital_death_without_death_date``.
    """
    died = episodes["in_hospital_death"].fillna(False).to_numpy(dtype=bool)
    status = patient_status.astype("string")
    recorded = status.notna().to_numpy()
    dead = (status == "dead").fillna(False).to_numpy(dtype=bool)
    not_dead = recorded & ~dead
    needs_date = died & patient_death.isna().to_numpy() & ~recorded
    problem = Problem(died & not_dead, "in_hospital_death", "in_hospital_death_not_dead", status)
    return [problem], needs_date


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalStatusSummary(ResultMixin):
    """How many patients are alive, dead (with and without a date) or unknown, and whether
    the status was recorded or derived from the death date.

    Attributes
    ----------
    counts : dict of str to int
        Patients per vital status (every status of
        :data:`~dah_outcomes.schema.VITAL_STATUSES`, zeros included).
    n_dead_date_unknown : int
        Patients dead with no death date (time-to-event analyses leave them out).
    n_recorded : int
        Patients whose status the source recorded.
    n_derived : int
        Patients whose status was derived from the death date (no column, or a blank).
    note : str
        A sentence for a methods section saying how the status was obtained.
    """

    counts: dict[str, int]
    n_dead_date_unknown: int
    n_recorded: int
    n_derived: int
    note: str

    def to_frame(self) -> pd.DataFrame:
        """One row per vital status: patients and share of all patients."""
        total = max(sum(self.counts.values()), 1)
        return pd.DataFrame(
            {
                "vital_status": list(self.counts),
                "n": list(self.counts.values()),
                "pct": [100 * n / total for n in self.counts.values()],
            }
        )

    def to_dict(self) -> dict:
        """The counts and the note (JSON-safe)."""
        return {
            "counts": dict(self.counts),
            "n_dead_date_unknown": self.n_dead_date_unknown,
            "n_recorded": self.n_recorded,
            "n_derived": self.n_derived,
            "note": self.note,
        }


def summarize_vital_status(patients: pd.DataFrame) -> VitalStatusSummary:
    """Count the vital statuses of a patients table and say how they were obtained.

    Parameters
    ----------
    patients : DataFrame
        A (typed) patients table, e.g. ``cohort.patients``.

    Returns
    -------
    VitalStatusSummary
        Counts per status, the deaths without a date and a methods sentence.
    """
    status = derive_vital_status(patients)
    counts = {s: int((status == s).sum()) for s in VITAL_STATUSES}
    n_recorded = int(patients["vital_status"].notna().sum()) if "vital_status" in patients else 0
    n_derived = len(patients) - n_recorded
    n_unknown_date = int(dead_date_unknown(patients).sum())
    if n_derived == len(patients):
        note = (
            "Vital status was not recorded: patients with a death date were counted as dead, "
            f"the {counts['unknown']} without one as of unknown status, censored at the end of "
            "follow-up (as if alive then)."
        )
    elif n_derived:
        note = (
            f"Vital status was recorded for {n_recorded} of {len(patients)} patients; for the "
            f"other {n_derived} it was derived from the death date (none: unknown, censored at "
            "the end of follow-up)."
        )
    else:
        note = f"Vital status at the end of follow-up was recorded for all {n_recorded} patients."
    if n_unknown_date:
        note += (
            f" {n_unknown_date} patient(s) died on an unrecorded date: time-to-event analyses "
            "leave them out (they cannot be placed in time); in-hospital mortality counts them."
        )
    return VitalStatusSummary(
        counts=counts,
        n_dead_date_unknown=n_unknown_date,
        n_recorded=n_recorded,
        n_derived=n_derived,
        note=note,
    )
