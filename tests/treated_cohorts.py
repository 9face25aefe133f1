"""Generated cohorts given a treatments table by hand, until the generator draws start days.

``with_courses(cohort, {"plasmapheresis": (1, 10), "rituximab": 0})`` gives every patient
whose index episode has the flag one course of each named treatment, starting on the day
given (or uniformly within the range, capped at the last day the patient was in hospital and
alive, so that the table validates). Treatments not named keep their flags without a course:
timing unknown.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dah_outcomes import Cohort

Days = int | tuple[int, int]


def with_courses(
    cohort: Cohort, days: Mapping[str, Days], *, undated: float = 0.0, seed: int = 0
) -> Cohort:
    """The cohort with one course per named treatment in each index episode flagged with it.

    ``undated`` is the share of flagged patients per treatment left without a course.
    """
    rng = np.random.default_rng(seed)
    e = cohort.episodes
    index = e[e["episode_number"] == 1].reset_index(drop=True)
    death = cohort.patients.set_index("patient_id")["death_date"].reindex(index["patient_id"])
    last = pd.concat(
        [index["discharge_date"], pd.Series(death.to_numpy(), index=index.index)], axis=1
    ).min(axis=1)
    room = (last - index["onset_date"]).dt.days.fillna(0).clip(lower=0).to_numpy()
    rows = []
    for treatment, day in days.items():
        given = index[treatment].astype("boolean").fillna(False).to_numpy(dtype=bool)
        given &= rng.random(len(index)) >= undated
        lo, hi = (day, day) if isinstance(day, int) else day
        start = rng.integers(lo, hi + 1, size=len(index))
        start = np.minimum(start, room).astype(int)
        rows.append(
            pd.DataFrame(
                {
                    "patient_id": index["patient_id"].to_numpy()[given],
                    "episode_number": 1,
                    "treatment": treatment,
                    "start_date": index["onset_date"].to_numpy()[given]
                    + pd.to_timedelta(start[given], unit="D"),
                }
            )
        )
    treatments = pd.concat(rows, ignore_index=True)
    return Cohort(
        cohort.patients,
        cohort.episodes,
        provenance=cohort.provenance,
        design=cohort.design,
        treatments=treatments,
    )


#: The treatments the default arm definition reads.
ARM_TREATMENTS = (
    "methylprednisolone_pulse",
    "oral_prednisone",
    "cyclophosphamide",
    "plasmapheresis",
    "rituximab",
)
