"""``fine_gray(..., cengroup=)`` against ``cmprsk::crr(cengroup=)`` (cmprsk 2.2-11).

Reference: ``tests/reference/make_survival_parity_reference.R`` on seeded data (160 subjects,
two covariates, three centres censoring on their own patterns; the "early" centre's follow-up
ends before the other centres' last failures, so crr's G = 0 past a group's last time is
used). crr stops at ``gtol = 1e-9``, so coefficients are compared to 1e-8 relative; SEs and
the log pseudo-likelihood to 1e-9.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import EstimationError
from dah_outcomes.stats.subdistribution import FineGrayResult, fine_gray

REF = Path(__file__).parents[1] / "reference"
DATA = json.loads((REF / "survival_parity.json").read_text())
FG = pd.read_csv(REF / "fine_gray_cengroup.csv").assign(one="a")  # a single group
CALLS = {
    "cengroup": {"cengroup": "centre"},
    "no cengroup": {},
    "cengroup x2 cause 2": {"cengroup": "x2", "cause": 2},
}


def fit(**kwargs: object) -> FineGrayResult:
    return fine_gray(FG, time="time", event="status", covariates=["x1", "x2"], **kwargs)


@pytest.mark.parametrize("label", list(CALLS))
def test_matches_crr(label: str) -> None:
    ref = next(b for b in DATA["fine_gray"] if b["label"] == label)
    assert ref["converged"]
    r = fit(**CALLS[label])
    np.testing.assert_allclose(r.coef, ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(r.se, ref["se"], rtol=1e-9)
    assert r.loglik[1] == pytest.approx(ref["loglik"], rel=1e-9)


def test_the_data_exercise_a_group_ending_early() -> None:
    early_end = FG.loc[FG["centre"] == "early", "time"].max()
    later = FG[(FG["centre"] != "early") & (FG["status"] == 1) & (FG["time"] > early_end)]
    assert len(later) > 5
    assert ((FG["centre"] == "early") & (FG["status"] == 2)).any()


def test_censoring_groups_change_the_fit() -> None:
    # the check has teeth: grouping G moves the SEs well past the 1e-9 tolerance
    a, b = fit(cengroup="centre"), fit()
    assert np.abs(a.se / b.se - 1).max() > 1e-3
    assert np.abs(a.coef - b.coef).max() > 1e-3


def test_method_names_the_groups() -> None:
    assert fit(cengroup="centre").to_dict()["method"].endswith("within groups of 'centre')")
    assert fit().method == "Fine-Gray subdistribution hazards (cmprsk::crr conventions)"


def test_one_censoring_group_is_no_group() -> None:
    a, b = fit(cengroup="one"), fit()
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-13)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-13)


def test_missing_cengroup_drops_the_row() -> None:
    from dah_outcomes.errors import DroppedRowsWarning

    df = FG.astype({"one": object})
    df.loc[3, "one"] = None
    with pytest.warns(DroppedRowsWarning):
        r = fine_gray(df, time="time", event="status", covariates=["x1", "x2"], cengroup="one")
    assert r.n == len(FG) - 1


def test_collinear_covariate_is_named() -> None:
    df = FG.assign(x3=2 * FG["x1"] - FG["x2"])
    with pytest.raises(EstimationError, match=r"\['x3'\] a linear combination"):
        fine_gray(df, time="time", event="status", covariates=["x1", "x2", "x3"])


def test_no_numpy_warning_on_the_reference_fits() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for kwargs in CALLS.values():
            fit(**kwargs)
