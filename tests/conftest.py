"""Shared fixtures: a small hand-made cohort whose every rate is known by counting."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def small_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five SLE patients, three with DAH (one recurring, one dying in hospital)."""
    patients = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P5"],
            "sex": ["F", "F", "M", "F", "F"],
            "birth_date": ["1980-01-01"] * 5,
            "sle_diagnosis_date": [
                "2005-01-01",
                "2006-01-01",
                "1995-01-01",
                "2010-01-01",
                "2010-01-01",
            ],
            "followup_start": [
                "2005-01-01",
                "2006-01-01",
                "1995-01-01",
                "2010-01-01",
                "2010-01-01",
            ],
            "followup_end": ["2015-01-01", "2008-03-10", "2005-01-01", "2020-01-01", "2012-01-01"],
            "death_date": [None, "2008-03-10", None, None, None],
            "site": ["A", "A", "B", "B", "A"],
        }
    )
    flags = {
        "first_manifestation": [True, False, False, False],
        "nephritis": [True, True, False, True],
        "infection": [False, True, False, False],
        "severe": [False, True, True, False],
        "mechanical_ventilation": [True, True, False, True],
        "methylprednisolone_pulse": [True, True, True, True],
        "oral_prednisone": [True, False, True, True],
        "cyclophosphamide": [True, True, False, True],
        "plasmapheresis": [True, False, False, True],
        "rituximab": [False, False, False, False],
    }
    episodes = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P1"],
            "episode_number": [1, 1, 1, 2],
            "onset_date": ["2005-01-01", "2008-03-01", "1996-06-01", "2009-05-01"],
            "discharge_date": ["2005-01-20", "2008-03-10", "1996-06-20", "2009-05-15"],
            **flags,
            "in_hospital_death": [False, True, False, False],
        }
    )
    return patients, episodes
