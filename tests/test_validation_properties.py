"""Malformed tables give a valid cohort or one ValidationError, never another exception."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dah_outcomes import Cohort, ValidationError

CELL = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(
        [
            "2001-02-03",
            "2001-13-40",
            " 2005-01-01 ",
            "yes",
            "NO",
            "1",
            "0",
            "F",
            "M",
            "P1",
            "P2",
            "",
        ]
    ),
)


def table(columns: list[str], n: int) -> st.SearchStrategy[pd.DataFrame]:
    return st.lists(st.fixed_dictionaries({c: CELL for c in columns}), min_size=0, max_size=n).map(
        lambda rows: pd.DataFrame(rows, columns=columns)
    )


P_COLS = ["patient_id", "sex", "followup_start", "followup_end", "death_date", "extra"]
E_COLS = [
    "patient_id",
    "episode_number",
    "onset_date",
    "discharge_date",
    "in_hospital_death",
    "mechanical_ventilation",
    "ventilation_days",
    "plasmapheresis",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p=table(P_COLS, 6),
    e=table(E_COLS, 6),
    drop_p=st.sets(st.sampled_from(P_COLS)),
    drop_e=st.sets(st.sampled_from(E_COLS)),
)
def test_garbage_never_escapes_as_another_exception(p, e, drop_p, drop_e) -> None:
    p = p.drop(columns=sorted(drop_p))
    e = e.drop(columns=sorted(drop_e))
    try:
        cohort = Cohort(p, e)
    except ValidationError as err:
        problems = err.problems
        assert len(problems) > 0
        assert set(problems.columns) == {
            "table",
            "row",
            "patient_id",
            "column",
            "value",
            "rule",
            "hint",
        }
        return
    # a valid cohort accounts for every input row
    assert cohort.n_patients == len(p)
    assert cohort.n_episodes == len(e)
