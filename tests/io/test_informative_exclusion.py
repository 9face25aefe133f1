"""The import compares the patients it rejected with those it accepted and warns when they
differ materially (issue: a real registry export imports on the first try)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import fisher_exact

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.errors import DahOutcomesWarning, InformativeExclusionWarning
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.report import report


@pytest.fixture(scope="module")
def series() -> Cohort:
    c = generate_cohort(n_sle=3000, seed=1)
    dah = c.episodes["patient_id"].unique()
    return Cohort(c.patients[c.patients["patient_id"].isin(dah)], c.episodes, design="case_series")


def _write(folder: Path, patients: pd.DataFrame, episodes: pd.DataFrame) -> Path:
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    episodes.to_csv(folder / "episodes.csv", index=False)
    return folder


def test_the_dead_rejected_for_a_blank_follow_up_are_announced(
    series: Cohort, tmp_path: Path
) -> None:
    # registries leave "last follow-up" blank for the patients who died
    p = series.patients.astype({"followup_end": object})
    dead = p["death_date"].notna()
    p.loc[dead, "followup_end"] = None
    folder = _write(tmp_path / "src", p, series.episodes)
    with pytest.warns(InformativeExclusionWarning, match="rejected patients died") as caught:
        r = read_cohort(folder, mode="quarantine")
    n_dead, n_alive = int(dead.sum()), int((~dead).sum())
    message = str(next(w.message for w in caught if w.category is InformativeExclusionWarning))
    assert f"{n_dead} of {n_dead} rejected patients died, 0 of {n_alive} accepted" in message
    died = {c["characteristic"]: c for c in r.provenance["rejected_vs_accepted"]["comparison"]}[
        "died"
    ]
    expected_p = fisher_exact([[n_dead, 0], [0, n_alive]])[1]
    assert died["p_value"] == pytest.approx(expected_p, rel=1e-12)
    assert died["material"] is True
    assert r.provenance["rejected_vs_accepted"]["warning"] == message


def test_rejected_patients_like_the_accepted_give_no_warning(
    series: Cohort, tmp_path: Path
) -> None:
    # reject a set whose death, ventilation and era proportions match the rest closely
    e1 = series.episodes[series.episodes["episode_number"] == 1].set_index("patient_id")
    died = series.patients.set_index("patient_id")["death_date"].notna()
    frame = pd.DataFrame(
        {"died": died, "vent": e1["mechanical_ventilation"], "hist": e1["onset_date"] < "2000"}
    ).astype(bool)
    picked = (
        frame.groupby(["died", "vent", "hist"], group_keys=False)
        .apply(lambda g: g.iloc[: max(1, round(len(g) * 0.2))] if len(g) >= 5 else g.iloc[:0])
        .index
    )
    p = series.patients.astype({"sex": object})
    p.loc[p["patient_id"].isin(picked), "sex"] = "?"
    folder = _write(tmp_path / "src", p, series.episodes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InformativeExclusionWarning)
        r = read_cohort(folder, mode="quarantine")
    checked = r.provenance["rejected_vs_accepted"]
    assert checked["warning"] is None
    assert {c["characteristic"] for c in checked["comparison"]} == {
        "died",
        "ventilated",
        "historical",
    }
    assert all(not c["material"] for c in checked["comparison"])


def test_a_clean_import_has_no_comparison(series: Cohort, tmp_path: Path) -> None:
    folder = _write(tmp_path / "src", series.patients, series.episodes)
    r = read_cohort(folder, mode="quarantine")
    assert "rejected_vs_accepted" not in r.provenance


def test_the_report_flow_shows_the_warning(series: Cohort, tmp_path: Path) -> None:
    p = series.patients.astype({"followup_end": object})
    p.loc[p["death_date"].notna(), "followup_end"] = None
    folder = _write(tmp_path / "src", p, series.episodes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        cohort = read_cohort(folder, mode="quarantine").cohort
        page = report(cohort, emulate=False)
        masked = report(cohort, min_cell=500, emulate=False)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "import: the rejected patients are not like the accepted ones" in text
    masked_text = " ".join(re.sub(r"<[^>]+>", " ", masked).split())
    assert "differ materially from the accepted ones in died" in masked_text
    assert "rejected patients died" not in masked_text
