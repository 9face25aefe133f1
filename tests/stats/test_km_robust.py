"""``kaplan_meier(..., id=, robust=)`` against R's ``survfit`` (survival 3.5-3).

Reference: ``tests/reference/make_survival_parity_reference.R`` on seeded recurrent-event rows
(several events per subject, follow-up split at days 50 and 150, gaps off risk), on ``aml``
split at days 10 and 30 (one event per subject), on ``aml`` with non-integer weights, and on
``aml`` with pairs of rows as clusters (no entry).
R's default is matched: robust (grouped infinitesimal jackknife) when some id has more than
one event or the weights are not whole numbers, Greenwood otherwise.

R's ``std.err`` is the SE of S when robust (``logse`` FALSE) and of -log S otherwise; ours is
always of -log S, so the robust one is compared as ``std.err / surv``. R's ``n.censor`` of a
second group is read off the wrong rows (survfitKM hands every group the whole data's
``survflag`` positions), so group ``b`` is compared with R's fit of that group alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats.nonparametric import kaplan_meier

REF = Path(__file__).parents[1] / "reference"
DATA = json.loads((REF / "survival_parity.json").read_text())
REC = pd.read_csv(REF / "recurrent_rows.csv")
SPLIT = pd.read_csv(REF / "aml_split.csv")
AMLW = pd.read_csv(REF / "aml_weighted.csv")
COUNTING = {"time": "stop", "event": "status", "entry": "start", "id": "id"}

CALLS = {
    "id": (REC, {**COUNTING, "group": "g"}),
    "id log-log": (REC, {**COUNTING, "group": "g", "conf_type": "log-log"}),
    "id plain": (REC, {**COUNTING, "group": "g", "conf_type": "plain"}),
    "id overall": (REC, COUNTING),
    "id greenwood": (REC, {**COUNTING, "group": "g", "robust": False}),
    "id weighted": (REC, {**COUNTING, "group": "g", "weights": "w"}),
    "id group b alone": (REC[REC["g"] == "b"], COUNTING),
    "split default": (
        SPLIT,
        {"time": "time", "event": "status", "entry": "start", "group": "x", "id": "id"},
    ),
    "split robust": (
        SPLIT,
        {
            "time": "time",
            "event": "status",
            "entry": "start",
            "group": "x",
            "id": "id",
            "robust": True,
        },
    ),
    "aml robust": (AMLW, {"time": "time", "event": "status", "group": "x", "robust": True}),
    "aml weighted": (AMLW, {"time": "time", "event": "status", "group": "x", "weights": "w"}),
    "aml pairs": (AMLW, {"time": "time", "event": "status", "group": "x", "id": "pair"}),
}


def block(label: str) -> dict:
    return next(b for b in DATA["kaplan_meier"] if b["label"] == label)


def arr(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def close(ours: np.ndarray, theirs: np.ndarray, rtol: float = 1e-10) -> None:
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-13, equal_nan=True)


@pytest.mark.parametrize("label", list(CALLS))
def test_matches_survfit(label: str) -> None:
    data, kwargs = CALLS[label]
    ref = block(label)
    km = kaplan_meier(data, **kwargs)
    frame = km.to_frame()
    assert list(frame["group"]) == ref["group"]
    surv = arr(ref["surv"])
    robust = not ref["logse"]
    assert ("robust" in km.method) == robust
    se_r = arr(ref["std_err"])
    if robust:
        se_r = np.where(surv > 0, se_r / np.where(surv > 0, surv, 1.0), np.nan)
    close(frame["time"].to_numpy(), arr(ref["time"]), rtol=0)
    close(frame["n_risk"].to_numpy(), arr(ref["n_risk"]))
    close(frame["n_event"].to_numpy(), arr(ref["n_event"]))
    close(frame["survival"].to_numpy(), surv)
    close(frame["std_err"].to_numpy(), se_r)
    close(frame["ci_lower"].to_numpy(), arr(ref["lower"]))
    close(frame["ci_upper"].to_numpy(), arr(ref["upper"]))
    first = frame["group"] == frame["group"].iloc[0]  # R's n.censor is right for the first
    close(frame["n_censor"][first].to_numpy(), arr(ref["n_censor"])[first.to_numpy()])


def test_n_censor_of_later_groups_as_each_group_alone() -> None:
    b = kaplan_meier(REC, **COUNTING, group="g").to_frame().query("group == 'b'")
    alone = block("id group b alone")
    close(b["n_censor"].to_numpy(), arr(alone["n_censor"]))
    # a subject's split rows are not censorings: only the last row of each subject is
    assert b["n_censor"].sum() == REC.loc[REC["g"] == "b", "id"].nunique() - (
        REC[REC["g"] == "b"].groupby("id").tail(1)["status"].sum()
    )


def test_robust_differs_from_greenwood_with_repeated_events() -> None:
    # the check has teeth: on recurrent events the two SEs differ by far more than 1e-10
    robust = kaplan_meier(REC, **COUNTING, group="g").to_frame()["std_err"]
    greenwood = kaplan_meier(REC, **COUNTING, group="g", robust=False).to_frame()["std_err"]
    assert np.nanmax(np.abs(robust - greenwood) / greenwood) > 0.1


def test_frames_keep_their_columns() -> None:
    plain = kaplan_meier(REC, time="stop", event="status", entry="start", group="g")
    clustered = kaplan_meier(REC, **COUNTING, group="g")
    assert list(plain.to_frame().columns) == list(clustered.to_frame().columns)
    assert clustered.to_dict()["method"].startswith("Kaplan-Meier (robust")
    assert list(clustered.median().columns) == list(plain.median().columns)


def test_robust_needs_id_with_entry_and_a_bool() -> None:
    with pytest.raises(ArgumentError, match="needs id"):
        kaplan_meier(REC, time="stop", event="status", entry="start", robust=True)
    with pytest.raises(ArgumentError, match="robust must be"):
        kaplan_meier(REC, **COUNTING, robust="yes")  # type: ignore[arg-type]


def test_curve_reaching_zero_has_nan_log_se_as_greenwood() -> None:
    df = pd.DataFrame({"t": [1, 2, 2, 3], "e": [1, 1, 0, 1], "id": [1, 1, 2, 2]})
    km = kaplan_meier(df, time="t", event="e", id="id")
    c = km.curve()
    assert "robust" in km.method
    assert c.survival[-1] == 0
    assert np.isnan(c.std_err[-1])
    assert np.isfinite(c.std_err[:-1]).all()


def test_id_split_follow_up_without_repeated_events_is_greenwood() -> None:
    # R's default: an id that only splits follow-up into intervals changes nothing
    split = kaplan_meier(SPLIT, time="time", event="status", entry="start", group="x", id="id")
    whole = kaplan_meier(AMLW, time="time", event="status", group="x")
    assert split.method == whole.method == "Kaplan-Meier (Greenwood variance)"
    a, b = split.to_frame(), whole.to_frame()
    events = a["n_event"] > 0
    merged = a[events].merge(b, on=["group", "time"], suffixes=("", "_whole"))
    np.testing.assert_allclose(merged["survival"], merged["survival_whole"], rtol=1e-14)
    np.testing.assert_allclose(merged["std_err"], merged["std_err_whole"], rtol=1e-14)


def test_rmst_as_print_survfit_with_id() -> None:
    # survival 3.5's print.survfit(rmean=) gives the same SE with and without robust
    ref = DATA["rmean"]
    for robust in (None, False):
        r = kaplan_meier(REC, **COUNTING, group="g", robust=robust).rmst(ref["horizon"])
        assert list(r["group"]) == ref["group"]
        np.testing.assert_allclose(r["rmst"], ref["rmean"], rtol=1e-12)
        np.testing.assert_allclose(r["se"], ref["se"], rtol=1e-12)
