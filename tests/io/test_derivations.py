"""Fields an import derives because the mapping says so: a blank follow-up end of a patient
who died is the death date, a case series' blank follow-up start the first onset (issue: a
real registry export imports on the first try, with the dead kept)."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import ArgumentError, generate_cohort
from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning, InformativeExclusionWarning
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import load_mapping

DERIVE = '[derive]\nfollowup_end = "death_date"\n'


@pytest.fixture(scope="module")
def flat() -> pd.DataFrame:
    """A one-row-per-patient case series (first episodes), as registries export it: "last
    follow-up" left blank for every patient who died."""
    c = generate_cohort(n_sle=4000, seed=3)
    first = c.episodes[c.episodes["episode_number"] == 1]
    p = c.patients[c.patients["patient_id"].isin(first["patient_id"])]
    out = p.merge(first, on="patient_id").astype(object)
    return out


def _write(frame: pd.DataFrame, path: Path, blank_dead: bool = True) -> Path:
    frame = frame.copy()
    if blank_dead:
        frame.loc[frame["death_date"].notna(), "followup_end"] = None
    frame.to_csv(path, index=False)
    return path


def test_without_the_derivation_the_dead_are_rejected(flat: pd.DataFrame, tmp_path: Path) -> None:
    path = _write(flat, tmp_path / "export.csv")
    with pytest.warns(InformativeExclusionWarning, match="rejected patients died"):
        r = read_cohort(path, mode="quarantine")
    assert r.rows_rejected == int(flat["death_date"].notna().sum())


@pytest.mark.parametrize("chunk_rows", [0, 25])
def test_the_dead_are_kept_with_their_death_date_as_follow_up_end(
    flat: pd.DataFrame, tmp_path: Path, chunk_rows: int
) -> None:
    dead = flat["death_date"].notna()
    given = flat.copy()
    # one dead patient whose follow-up end the source does give keeps it
    keep = given.index[dead.to_numpy()][0]
    path = _write(given, tmp_path / "export.csv")
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    text.loc[keep, "followup_end"] = text.loc[keep, "death_date"]
    text.to_csv(path, index=False)
    r = read_cohort(path, mapping=DERIVE, mode="strict", chunk_rows=chunk_rows)
    assert r.rows_rejected == 0
    p = r.cohort.patients.set_index("patient_id")
    died = p["death_date"].notna()
    assert int(died.sum()) == int(dead.sum())
    assert (p.loc[died, "followup_end"] == p.loc[died, "death_date"]).all()
    alive = flat.loc[~dead.to_numpy()].set_index("patient_id")["followup_end"]
    assert (p.loc[alive.index, "followup_end"] == pd.to_datetime(alive)).all()
    assert r.provenance["derivations"] == {
        "followup_end": {"from": "death_date", "rows": int(dead.sum()) - 1}
    }


def test_a_case_series_follow_up_starts_at_the_first_onset(
    flat: pd.DataFrame, tmp_path: Path
) -> None:
    frame = flat.copy()
    frame["followup_start"] = None
    path = _write(frame, tmp_path / "export.csv", blank_dead=False)
    r = read_cohort(
        path, mapping='design = "case_series"\n[derive]\nfollowup_start = "first_onset"\n'
    )
    c = r.cohort
    assert c.design == "case_series"
    onset = c.episodes.groupby("patient_id")["onset_date"].min()
    start = c.patients.set_index("patient_id")["followup_start"]
    assert (start == onset.reindex(start.index)).all()
    assert r.provenance["derivations"]["followup_start"]["rows"] == len(frame)


def test_a_declared_design_wins_over_the_inference(flat: pd.DataFrame, tmp_path: Path) -> None:
    path = _write(flat, tmp_path / "export.csv", blank_dead=False)
    assert read_cohort(path).cohort.design == "case_series"  # inferred
    assert read_cohort(path, mapping='design = "population"\n').cohort.design == "population"
    argument = read_cohort(path, mapping='design = "population"\n', design="case_series")
    assert argument.cohort.design == "case_series"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[derive]\ndeath_date = "followup_end"\n', "only followup_end, followup_start"),
        ('[derive]\nfollowup_end = "discharge_date"\n', 'derive it from one of "death_date"'),
        ('derive = "followup_end"\n', r"\[derive\] must be a table"),
        ('design = "cohort"\n', "design must be one of"),
    ],
)
def test_a_bad_derivation_is_refused_naming_the_choices(text: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        load_mapping(text)


def test_the_cli_says_what_it_derived(flat: pd.DataFrame, tmp_path: Path) -> None:
    path = _write(flat, tmp_path / "export.csv")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(DERIVE, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("always", DahOutcomesWarning)
        code = main(
            ["import", str(path), "--mapping", str(mapping), "--out", str(tmp_path / "c"),
             "--design", "case_series"]
        )  # fmt: skip
    assert code == 0, err.getvalue()
    n = int(flat["death_date"].notna().sum())
    assert f"derived: followup_end from death_date in {n} row(s)" in out.getvalue()


def test_the_draft_declares_what_the_values_show_and_imports_unedited(
    flat: pd.DataFrame, tmp_path: Path
) -> None:
    from dah_outcomes.io.draft import draft_mapping
    from dah_outcomes.io.readers import read_table

    frame = flat.drop(columns=["followup_start"])
    path = _write(frame, tmp_path / "export.csv")
    draft = draft_mapping(read_table(path))
    n_dead = int(flat["death_date"].notna().sum())
    assert 'design = "case_series"' in draft
    assert f'followup_end = "death_date"  # {n_dead} row(s) with a death date' in draft
    assert 'followup_start = "first_onset"' in draft
    r = read_cohort(path, mapping=draft, mode="strict")
    assert r.rows_rejected == 0
    assert int(r.cohort.patients["death_date"].notna().sum()) == n_dead
    assert r.cohort.design == "case_series"
    # a source with every follow-up recorded gets no derivation
    full = draft_mapping(read_table(_write(flat, tmp_path / "full.csv", blank_dead=False)))
    assert "[derive]" not in full
