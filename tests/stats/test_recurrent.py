"""Mean cumulative function against R (cgd, survfit with id): estimates to 1e-6.
The Lawless-Nadeau SE has no R value in tests/reference; it is checked by its properties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.stats.recurrent import mean_cumulative_function

REF = Path(__file__).parents[1] / "reference"


def test_mcf_matches_survfit_cumhaz() -> None:
    cgd = pd.read_csv(REF / "cgd.csv")
    ref = json.loads((REF / "cgd.json").read_text())["mean_cumulative_function"]
    out = mean_cumulative_function(
        cgd, time="stop", entry="start", event="event", id="id", group="treat"
    ).to_frame()
    for strata in dict.fromkeys(ref["strata"]):
        g = strata.split("=")[1]
        idx = [i for i, s in enumerate(ref["strata"]) if s == strata]
        times = np.array(ref["time"])[idx]
        want = np.array(ref["cumhaz"])[idx]
        mine = out[out["group"] == g].set_index("time")["mcf"]
        np.testing.assert_allclose(mine.reindex(times).to_numpy(), want, rtol=1e-6)


def test_one_event_per_subject_reduces_to_nelson_aalen() -> None:
    lung = pd.read_csv(REF / "lung.csv").reset_index(names="pid")
    out = mean_cumulative_function(lung, time="time", event="event", id="pid").to_frame()
    d, n = out["n_event"].to_numpy(), out["n_risk"].to_numpy()
    np.testing.assert_allclose(out["mcf"], np.cumsum(d / n))
    assert (np.diff(out["se"]) >= -1e-12).all()
    ok = out["mcf"] > 0
    assert (out.loc[ok, "ci_lower"] < out.loc[ok, "mcf"]).all()
