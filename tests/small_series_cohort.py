"""The 16-patient series of ``tests/reference/survival_exact.json`` as a cohort: three arms
(rituximab 6 patients with no death by day 30, MP+CYC 8, steroids 2 who both die early), each
patient's time from DAH onset to death or censoring as R was given it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dah_outcomes import Cohort

REFERENCE = json.loads((Path(__file__).parent / "reference" / "survival_exact.json").read_text())

#: the arm's treatment flags (methylprednisolone pulses in every arm)
_FLAGS = {
    "Rituximab": {"rituximab": True},
    "MP+CYC": {"cyclophosphamide": True},
    "Steroids without CYC": {},
}
_TREATMENTS = ("cyclophosphamide", "plasmapheresis", "rituximab")


def series_cohort() -> Cohort:
    """The series, every onset on 2010-01-01 (modern era), discharged on day 2."""
    onset = pd.Timestamp("2010-01-01")
    patients, episodes = [], []
    for i, row in enumerate(REFERENCE["data"]):
        pid = f"S{i + 1:02d}"
        end = onset + pd.Timedelta(days=row["time"])
        patients.append(
            {
                "patient_id": pid,
                "sex": "F",
                "birth_date": "1980-01-01",
                "sle_diagnosis_date": "2009-01-01",
                "followup_start": "2009-01-01",
                "followup_end": end.strftime("%Y-%m-%d"),
                "death_date": end.strftime("%Y-%m-%d") if row["event"] else None,
                "site": "A",
            }
        )
        flags = {t: False for t in _TREATMENTS} | _FLAGS[row["arm"]]
        episodes.append(
            {
                "patient_id": pid,
                "episode_number": 1,
                "onset_date": onset.strftime("%Y-%m-%d"),
                "discharge_date": (onset + pd.Timedelta(days=2)).strftime("%Y-%m-%d"),
                "first_manifestation": False,
                "nephritis": True,
                "infection": False,
                "severe": True,
                "mechanical_ventilation": False,
                "methylprednisolone_pulse": True,
                "oral_prednisone": False,
                **flags,
                "in_hospital_death": False,
            }
        )
    return Cohort(pd.DataFrame(patients), pd.DataFrame(episodes))
