"""The missingness layer of the generator: MCAR, MAR (severity and era) and MNAR (in-hospital
death) removal at the declared rates, the truth kept whole, dated courses removed with their
flag, provenance, seeds, what cannot be missing, and ``generate --missingness``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.cli.main import main
from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.io import load_cohort
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import (
    AMPUTABLE_COLUMNS,
    MAR_ODDS_RATIOS,
    apply_missingness,
)


@pytest.fixture(scope="module")
def generated() -> Cohort:
    return generate_cohort("seed-article", n_sle=3000, seed=3)


@pytest.fixture(scope="module")
def large() -> Cohort:
    """20,000 one-episode patients: enough to check the removal rates to about 1%."""
    rng = np.random.default_rng(0)
    n = 20_000
    ids = [f"P{i:05d}" for i in range(n)]
    onset = pd.to_datetime("1990-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), unit="D")
    died = rng.random(n) < 0.3
    discharge = onset + pd.to_timedelta(rng.integers(1, 40, n), unit="D")
    end = discharge + pd.to_timedelta(np.where(died, 0, 400), unit="D")
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "followup_start": onset - pd.Timedelta(days=30),
            "followup_end": end,
            "death_date": pd.Series(end).where(died),
        }
    )
    episodes = pd.DataFrame(
        {
            "patient_id": ids,
            "episode_number": 1,
            "onset_date": onset,
            "discharge_date": discharge,
            "severe": rng.random(n) < 0.4,
            "cyclophosphamide": rng.random(n) < 0.5,
            "hemoglobin_drop": rng.gamma(3.0, 1.0, n).clip(0, 15).round(1),
            "in_hospital_death": died,
        }
    )
    return Cohort(patients, episodes)


def missing_share(cohort: Cohort, column: str, rows: np.ndarray | None = None) -> float:
    col = cohort.episodes[column].isna().to_numpy()
    return float(col.mean() if rows is None else col[rows].mean())


def test_mcar_removes_the_declared_fraction(large: Cohort) -> None:
    amputed = apply_missingness(
        large, "mcar", columns=["cyclophosphamide", "hemoglobin_drop"], fraction=0.2, seed=1
    )
    for column in ("cyclophosphamide", "hemoglobin_drop"):
        assert missing_share(amputed.cohort, column) == pytest.approx(0.2, abs=0.01)
        assert amputed.n_missing[column] == amputed.cohort.episodes[column].isna().sum()
    died = large.episodes["in_hospital_death"].to_numpy(dtype=bool)
    # unrelated to the outcome
    assert missing_share(amputed.cohort, "cyclophosphamide", died) == pytest.approx(0.2, abs=0.02)
    assert missing_share(amputed.cohort, "cyclophosphamide", ~died) == pytest.approx(0.2, abs=0.02)


def test_mar_depends_on_severity_and_era(large: Cohort) -> None:
    amputed = apply_missingness(large, "mar", columns=["cyclophosphamide"], fraction=0.25, seed=2)
    e = large.episodes
    assert missing_share(amputed.cohort, "cyclophosphamide") == pytest.approx(0.25, abs=0.01)
    historical = (e["onset_date"] < "2000-01-01").to_numpy()
    severe = e["severe"].to_numpy(dtype=bool)

    def odds(rows: np.ndarray) -> float:
        p = missing_share(amputed.cohort, "cyclophosphamide", rows)
        return p / (1 - p)

    era_or = odds(historical & ~severe) / odds(~historical & ~severe)
    severe_or = odds(severe & ~historical) / odds(~severe & ~historical)
    assert era_or == pytest.approx(MAR_ODDS_RATIOS["historical_era"], rel=0.15)
    assert severe_or == pytest.approx(MAR_ODDS_RATIOS["severe"], rel=0.15)
    record = amputed.cohort.provenance["missingness"]
    assert record["mar_odds_ratios"] == {"historical_era": 3.0, "severe": 0.5}


def test_mnar_depends_on_in_hospital_death(large: Cohort) -> None:
    amputed = apply_missingness(large, "mnar", columns=["cyclophosphamide"], seed=3)
    died = large.episodes["in_hospital_death"].to_numpy(dtype=bool)
    assert missing_share(amputed.cohort, "cyclophosphamide", died) == pytest.approx(0.4, abs=0.015)
    assert missing_share(amputed.cohort, "cyclophosphamide", ~died) == pytest.approx(0.1, abs=0.01)
    other = apply_missingness(
        large, "mnar", columns=["cyclophosphamide"], fraction=0.05, fraction_outcome=0.6, seed=3
    )
    assert missing_share(other.cohort, "cyclophosphamide", died) == pytest.approx(0.6, abs=0.015)
    assert missing_share(other.cohort, "cyclophosphamide", ~died) == pytest.approx(0.05, abs=0.01)


def test_truth_kept_and_only_the_declared_values_removed(generated: Cohort) -> None:
    fingerprint = generated.fingerprint
    amputed = apply_missingness(generated, "mnar", columns=["cyclophosphamide"], seed=4)
    assert amputed.truth is generated
    assert generated.fingerprint == fingerprint
    assert amputed.cohort.fingerprint != fingerprint
    pd.testing.assert_frame_equal(amputed.cohort.patients, generated.patients)
    before, after = generated.episodes, amputed.cohort.episodes
    pd.testing.assert_frame_equal(
        after.drop(columns="cyclophosphamide"), before.drop(columns="cyclophosphamide")
    )
    gone = after["cyclophosphamide"].isna() & before["cyclophosphamide"].notna()
    assert gone.sum() == amputed.n_missing["cyclophosphamide"] > 0
    kept = ~after["cyclophosphamide"].isna()
    pd.testing.assert_series_equal(
        after["cyclophosphamide"][kept], before["cyclophosphamide"][kept]
    )


def test_courses_of_a_removed_flag_go_with_it(generated: Cohort) -> None:
    amputed = apply_missingness(generated, "mcar", columns=["cyclophosphamide"], fraction=0.5)
    e = amputed.cohort.episodes
    blank = e.loc[e["cyclophosphamide"].isna(), ["patient_id", "episode_number"]]
    t, t0 = amputed.cohort.treatments, generated.treatments
    cyc = t.merge(blank, on=["patient_id", "episode_number"])
    assert not (cyc["treatment"] == "cyclophosphamide").any()
    assert len(t0) - len(t) == amputed.n_courses_removed > 0
    removed = t0.merge(blank, on=["patient_id", "episode_number"])
    assert (removed["treatment"] == "cyclophosphamide").sum() == amputed.n_courses_removed
    # other treatments' courses of those episodes stay
    assert (cyc["treatment"] != "cyclophosphamide").sum() == (
        removed["treatment"] != "cyclophosphamide"
    ).sum()


def test_provenance_records_the_removal(generated: Cohort) -> None:
    amputed = apply_missingness(
        generated, "mar", columns=["hemoglobin_drop", "rituximab"], fraction=0.3, seed=9
    )
    record = amputed.cohort.provenance["missingness"]
    assert record["mechanism"] == "mar"
    assert record["columns"] == ["hemoglobin_drop", "rituximab"]
    assert record["fraction"] == 0.3
    assert record["seed"] == 9
    assert record["truth_fingerprint"] == generated.fingerprint
    assert record["n_missing"] == dict(amputed.n_missing)
    assert amputed.cohort.provenance["scenario"] == generated.provenance["scenario"]
    json.dumps(amputed.to_dict())
    frame = amputed.to_frame()
    assert list(frame["column"]) == ["hemoglobin_drop", "rituximab"]
    assert (frame["n_episodes"] == generated.n_episodes).all()


def test_same_seed_same_holes(generated: Cohort) -> None:
    a = apply_missingness(generated, "mcar", seed=5)
    b = apply_missingness(generated, "mcar", seed=5)
    c = apply_missingness(generated, "mcar", seed=6)
    assert a.cohort.fingerprint == b.cohort.fingerprint
    assert a.cohort.fingerprint != c.cohort.fingerprint


def test_tables_accepted(generated: Cohort) -> None:
    amputed = apply_missingness(
        (generated.patients, generated.episodes, generated.treatments), "mcar", seed=1
    )
    assert amputed.truth.fingerprint == generated.fingerprint


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": ["in_hospital_death"]}, "not nullable in the schema"),
        ({"columns": ["death_date"]}, "no vital status apart from the date"),
        ({"columns": ["onset_date"]}, "not a nullable flag or measurement"),
        ({"columns": "cyclophosphamide"}, "non-empty list"),
        ({"columns": ["rituximab", "rituximab"]}, "named twice"),
        ({"mechanism": "mar", "columns": ["severe"]}, "observed severity"),
        ({"mechanism": "random"}, "mechanism must be one of"),
        ({"fraction": 1.0}, r"fraction must be a probability in \[0, 1\)"),
        ({"fraction_outcome": 0.3}, "'mnar' mechanism only"),
        ({"mechanism": "mnar", "fraction_outcome": -0.1}, "fraction_outcome"),
        ({"seed": -2}, "seed"),
    ],
)
def test_bad_arguments(generated: Cohort, kwargs: dict, match: str) -> None:
    with pytest.raises(ArgumentError, match=match):
        apply_missingness(generated, **kwargs)


def test_bad_input() -> None:
    with pytest.raises(ArgumentError, match="Cohort or a"):
        apply_missingness("cohort", "mcar")  # type: ignore[arg-type]


def test_every_amputable_column_is_nullable_in_the_cohort(generated: Cohort) -> None:
    amputed = apply_missingness(generated, "mcar", columns=list(AMPUTABLE_COLUMNS), fraction=0.3)
    assert all(amputed.n_missing[c] > 0 for c in AMPUTABLE_COLUMNS)


def test_generate_writes_the_amputed_cohort_and_the_truth(
    tmp_path: Path, generated: Cohort, capsys
) -> None:
    out = tmp_path / "cohort"
    args = ["generate", "--n-sle", "3000", "--seed", "3", "--out", str(out)]
    args += ["--missingness", "mnar", "--missing-columns", "cyclophosphamide,hemoglobin_drop"]
    assert main(args) == 0
    assert "truth" in capsys.readouterr().out
    amputed, truth = load_cohort(out), load_cohort(out / "truth")
    assert truth.fingerprint == generated.fingerprint  # the same cohort generate writes
    record = amputed.provenance["missingness"]
    assert record["mechanism"] == "mnar"
    assert record["columns"] == ["cyclophosphamide", "hemoglobin_drop"]
    assert record["fraction"] == 0.1
    assert record["fraction_outcome"] == 0.4
    assert record["seed"] == 3
    assert record["truth_fingerprint"] == truth.fingerprint
    expected = apply_missingness(
        generated, "mnar", columns=["cyclophosphamide", "hemoglobin_drop"], seed=3
    )
    assert amputed.fingerprint == expected.cohort.fingerprint
    assert "missingness" not in truth.provenance


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--missing-fraction", "0.2"], "need.* --missingness"),
        (["--missingness", "mar", "--missing-columns", "severe"], "observed severity"),
        (["--missingness", "mcar", "--missing-columns", "death_date"], "no vital status"),
        (["--missingness", "mcar", "--missing-fraction", "1.5"], "fraction"),
        (["--missing-death-dates", "0.3"], "need.* --missingness"),
        (["--missingness", "mcar", "--missing-death-dates", "2"], "death_dates"),
    ],
)
def test_generate_refuses_bad_missingness_options(
    tmp_path: Path, capsys, extra: list[str], match: str
) -> None:
    out = tmp_path / "never"
    assert main(["generate", "--n-sle", "100", "--out", str(out), *extra]) != 0
    assert re.search(match, capsys.readouterr().err)
    assert not out.exists()


def test_outcome_dependent_flags_biased_in_complete_cases_recovered_by_mi(large: Cohort) -> None:
    # the example: the cyclophosphamide flag missing in 40% of in-hospital deaths and
    # 10% of the others. Complete cases understate the treated arm's mortality; chained
    # equations with the outcome in the imputation model recover it (the removal depends on
    # the outcome only, so it is at random given the outcome)
    from dah_outcomes.stats.imputation import impute_chained
    from dah_outcomes.stats.pooling import pool_proportions

    amputed = apply_missingness(large, "mnar", columns=["cyclophosphamide"], seed=7)
    truth = large.episodes
    treated = truth["cyclophosphamide"].to_numpy(dtype=bool)
    true_mortality = truth["in_hospital_death"].to_numpy(dtype=bool)[treated].mean()
    e = amputed.cohort.episodes
    seen = e["cyclophosphamide"].fillna(False).to_numpy(dtype=bool)
    complete_case = e["in_hospital_death"].to_numpy(dtype=bool)[seen].mean()
    assert true_mortality - complete_case > 0.05
    data = e[["cyclophosphamide", "severe", "hemoglobin_drop", "in_hospital_death"]]
    imp = impute_chained(
        data, columns=["cyclophosphamide"], predictors=["severe", "in_hospital_death"], seed=1
    )
    deaths = [int((d["cyclophosphamide"] & d["in_hospital_death"]).sum()) for d in imp]
    totals = [int(d["cyclophosphamide"].sum()) for d in imp]
    pooled = pool_proportions(deaths, totals)
    assert pooled.value_ci_lower[0] < true_mortality < pooled.value_ci_upper[0]
    assert abs(pooled.value[0] - true_mortality) < 0.015
    assert pooled.fmi[0] > 0


def test_generate_force_replaces_the_truth_folder_with_its_cohort(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    base = ["generate", "--n-sle", "400", "--seed", "2", "--out", str(out)]
    assert main([*base, "--missingness", "mcar"]) == 0
    assert (out / "truth" / "provenance.json").exists()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main([*base, "--force"]) == 0
    assert not (out / "truth").exists()  # the earlier run's truth went with its cohort
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert "missingness" not in load_cohort(out).provenance
    # a truth/ folder that is not the recorded truth is someone's files: kept
    assert main([*base, "--force", "--missingness", "mar"]) == 0
    (out / "truth" / "provenance.json").write_text('{"fingerprint": "other"}', encoding="utf-8")
    assert main([*base, "--force"]) == 0
    assert (out / "truth").exists()


def test_a_source_given_arm_is_blanked_with_a_removed_treatment_flag(generated: Cohort) -> None:
    episodes = generated.episodes.assign(arm="as recorded")
    cohort = Cohort(generated.patients, episodes, treatments=generated.treatments)
    amputed = apply_missingness(cohort, "mcar", columns=["rituximab", "hemoglobin_drop"], seed=1)
    e = amputed.cohort.episodes
    blank = e["rituximab"].isna().to_numpy()
    assert e["arm"].isna().to_numpy().tolist() == blank.tolist()
    assert amputed.to_dict()["n_arms_removed"] == blank.sum() > 0


def test_generate_blanks_death_dates_and_writes_vital_status(tmp_path: Path, capsys) -> None:
    """``--missing-death-dates P --vital-status``: deaths whose date is blanked stay dead in
    ``vital_status``; the truth keeps every date; the count is printed."""
    out = tmp_path / "cohort"
    argv = ["generate", "--n-sle", "3000", "--seed", "4", "--out", str(out), "--vital-status"]
    opts = ["--missingness", "mcar", "--missing-columns", "hemoglobin_drop"]
    assert main([*argv, *opts, "--missing-death-dates", "0.5"]) == 0
    printed = capsys.readouterr().out
    amputed, truth = load_cohort(out), load_cohort(out / "truth")
    p, t = amputed.patients, truth.patients
    blanked = t["death_date"].notna() & p["death_date"].isna()
    assert blanked.sum() > 0
    assert f"death dates {int(blanked.sum())} (the patients kept dead)" in printed
    assert (p.loc[blanked, "vital_status"] == "dead").all()
    assert (t["vital_status"] == "dead").sum() == t["death_date"].notna().sum()
    assert amputed.provenance["missingness"]["death_dates"]["n_removed"] == int(blanked.sum())
