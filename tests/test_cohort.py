"""Cohort: typed, canonical, immutable provenance, order-free fingerprint."""

from __future__ import annotations

import dataclasses

import pytest

from dah_outcomes import ArgumentError, Cohort


def test_types_and_design(small_tables) -> None:
    p, e = small_tables
    cohort = Cohort(p, e, provenance={"source": "test"})
    assert cohort.design == "population"  # P4 and P5 never had DAH
    assert str(cohort.patients["followup_end"].dtype) == "datetime64[s]"
    assert str(cohort.episodes["in_hospital_death"].dtype) == "boolean"
    assert (cohort.n_patients, cohort.n_dah_patients, cohort.n_episodes) == (5, 3, 4)
    case_series = Cohort(p[p["patient_id"].isin(["P1", "P2", "P3"])], e)
    assert case_series.design == "case_series"


def test_fingerprint_ignores_row_order_but_not_content(small_tables) -> None:
    p, e = small_tables
    a = Cohort(p, e)
    b = Cohort(p.sample(frac=1, random_state=3), e.iloc[::-1])
    assert a.fingerprint == b.fingerprint
    assert len(a.fingerprint) == 64
    c = Cohort(p, e.assign(nephritis=[False, True, False, True]))
    assert c.fingerprint != a.fingerprint


def test_cohort_is_frozen(small_tables) -> None:
    cohort = Cohort(*small_tables, provenance={"seed": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cohort.design = "case_series"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cohort.provenance["seed"] = 2  # type: ignore[index]


def test_bad_design_and_types(small_tables) -> None:
    p, e = small_tables
    with pytest.raises(ArgumentError, match="design must be one of"):
        Cohort(p, e, design="trial")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="DataFrame"):
        Cohort(p.to_dict(), e)  # type: ignore[arg-type]


def test_describe_and_html(small_tables) -> None:
    cohort = Cohort(*small_tables)
    d = cohort.describe()
    assert d["n_dah_patients"] == 3
    assert d["fingerprint"] == cohort.fingerprint
    assert "<table>" in cohort._repr_html_()


def test_tables_cannot_be_edited_behind_the_fingerprint() -> None:
    import dah_outcomes as dah
    from dah_outcomes.cohort import cohort_fingerprint

    cohort = dah.generate_cohort("seed-article", n_sle=2_000, seed=3)
    before = cohort.fingerprint
    view = cohort.episodes
    view.loc[0, "in_hospital_death"] = not bool(view.loc[0, "in_hospital_death"])
    view["extra"] = 1
    cohort.patients.pop("sex")
    assert "extra" not in cohort.episodes
    assert "sex" in cohort.patients
    assert cohort_fingerprint(cohort.patients, cohort.episodes, cohort.treatments) == before
    with pytest.raises(AttributeError, match="read-only"):
        cohort.patients = view  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        cohort.fingerprint = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", "c", "é", "zz"],  # sorted, every value once
        ["a", "a", "b", "c", "c", "c"],  # sorted, with runs
        ["b", "a", "c"],  # not sorted: pandas' own path
        ["a", None, "b"],  # missing values: pandas' own path
        ["", "", "x"],
        ["a"],
        [],
    ],
)
def test_column_hashes_equal_pandas(values, monkeypatch) -> None:
    import numpy as np
    import pandas as pd

    import dah_outcomes.cohort as cohort_module

    s = pd.Series(values, dtype="string[pyarrow]")
    want = pd.util.hash_pandas_object(s, index=False).to_numpy()
    assert np.array_equal(cohort_module.column_hashes(s), want)
    # hashed a slice of distinct values at a time: the same bytes
    monkeypatch.setattr(cohort_module, "_HASH_SLICE", 2)
    assert np.array_equal(cohort_module.column_hashes(s), want)


def test_design_inferred_without_a_membership_pass(small_tables) -> None:
    p, e = small_tables
    # fewer episodes than patients: a population without looking ids up
    assert Cohort(p, e.iloc[:2]).design == "population"
    # every patient with an episode: a case series
    only = p[p["patient_id"].isin(e["patient_id"])]
    assert Cohort(only, e).design == "case_series"
