"""Strict vs quarantine, row accounting, outputs, mapping options, CLI, suppression."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import REDCAP_MAPPING, write_redcap

from dah_outcomes import Cohort, DahOutcomesError, ValidationError
from dah_outcomes.cli.import_commands import register
from dah_outcomes.io.cohort_files import sha256_file
from dah_outcomes.io.draft import draft_mapping
from dah_outcomes.io.importer import read_cohort, write_import
from dah_outcomes.io.mapping import apply_mapping, load_mapping
from dah_outcomes.io.readers import read_table
from dah_outcomes.suppression import suppress_small_cells

# Quarantine imports of rows corrupted at random reject a random handful of patients, and the
# informative-exclusion rule (a risk ratio of 2 counts, whatever the power) then fires by
# chance; that check has tests of its own (test_informative_exclusion.py).
pytestmark = pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning")


def accounted(r) -> None:
    assert r.rows_read == r.rows_accepted + r.rows_rejected


@pytest.fixture
def messy(cohort: Cohort, tmp_path: Path) -> Path:
    """The flat source with three bad rows: a bad sex, a bad date, a duplicated id."""
    first = cohort.episodes[cohort.episodes["episode_number"] == 1]
    flat = cohort.patients.merge(first, on="patient_id", how="left").astype(object)
    flat.loc[3, "sex"] = "X"  # line 5
    flat.loc[10, "followup_end"] = "2020-13-45"  # line 12
    flat.loc[20, "patient_id"] = flat.loc[21, "patient_id"]  # lines 22 and 23
    path = tmp_path / "flat.csv"
    flat.to_csv(path, index=False)
    return path


def test_strict_raises_with_every_problem_and_source_rows(messy: Path) -> None:
    with pytest.raises(ValidationError) as info:
        read_cohort(messy)
    p = info.value.problems
    assert {5, 12, 22, 23} <= set(p["row"].dropna())
    assert set(p["file"]) == {str(messy)}
    assert {"not_allowed", "type", "duplicate_id"} <= set(p["rule"])


def test_quarantine_rejects_rows_and_accounts_for_all(
    messy: Path, cohort: Cohort, tmp_path: Path
) -> None:
    before = sha256_file(messy)
    r = read_cohort(messy, mode="quarantine")
    accounted(r)
    assert r.rows_read == cohort.n_patients
    assert r.rows_rejected == 4
    assert set(r.rejects["row"]) == {5, 12, 22, 23}
    flow = r.flow.set_index("step")["n"]
    assert flow["rows rejected"] == 4
    assert flow["patients included"] == r.cohort.n_patients
    out = tmp_path / "out"
    paths = write_import(r, out, min_cell=5)
    meta = json.loads((out / "provenance.json").read_text())
    assert (meta["rows_read"], meta["rows_accepted"], meta["rows_rejected"]) == (
        r.rows_read,
        r.rows_accepted,
        r.rows_rejected,
    )
    assert meta["provenance"]["files"][0]["sha256"] == before
    assert meta["provenance"]["package_version"]
    assert len(pd.read_csv(out / "rejects.csv")) == len(r.rejects)
    assert (out / "flow.png").stat().st_size > 0
    assert "suppressed" in (out / "flow.csv").read_text()  # reason counts below 5
    assert {p.name for p in paths.values()} >= {
        "patients.csv",
        "episodes.csv",
        "rejects.csv",
        "flow.csv",
        "flow.png",
        "provenance.json",
    }
    assert sha256_file(messy) == before  # the source is never modified


def test_rejected_patient_takes_its_episodes(cohort: Cohort, tmp_path: Path) -> None:
    export, dictionary = write_redcap(cohort, tmp_path)
    lines = export.read_text().splitlines()
    header = lines[0].split(",")
    sick = cohort.episodes.groupby("patient_id").size().idxmax()  # a recurring patient
    i = next(k for k, line in enumerate(lines) if line.startswith(f"{sick},,"))
    fields = lines[i].split(",")
    fields[header.index("followup_start")] = "not a date"
    lines[i] = ",".join(fields)
    export.write_text("\n".join(lines) + "\n")
    r = read_cohort(export, mapping=REDCAP_MAPPING, dictionary=dictionary, mode="quarantine")
    accounted(r)
    n_eps = int((cohort.episodes["patient_id"] == sick).sum())
    assert r.rows_rejected == 1 + n_eps
    assert (r.rejects["rule"] == "patient_rejected").sum() == n_eps
    assert sick not in set(r.cohort.episodes["patient_id"])


def test_missing_required_column_raises_in_both_modes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("patient_id,sex\nA,F\n")
    for mode in ("strict", "quarantine"):
        with pytest.raises(ValidationError, match="missing_column"):
            read_cohort(path, mode=mode)


def test_mapping_translates_values_dates_offsets_units(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    path.write_text(
        "ID;Sexo;Ingreso;Alta;Dias hasta muerte;Hb (g/L);VM;Murio\n"
        "1;Mujer;03/02/2010;20/02/2010;;25,0;sí;no\n"
        "2;Hombre;15/06/2012;01/07/2012;10;31,5;No;SI\n",
        encoding="latin-1",
    )
    mapping = """
layout = "flat"
date_format = "%d/%m/%Y"
decimal = ","
[columns]
patient_id = "ID"
sex = "Sexo"
followup_start = "Ingreso"
onset_date = "Ingreso"
discharge_date = "Alta"
followup_end = "Alta"
death_date = { source = "Dias hasta muerte", offset_from = "onset_date" }
hemoglobin_drop = { source = "Hb (g/L)", unit = "g/L" }
mechanical_ventilation = "VM"
in_hospital_death = { source = "Murio", values = { SI = true } }
"""
    raw = read_table(path)
    t = apply_mapping(raw.frame, load_mapping(mapping), table="episodes")
    assert t.frame["hemoglobin_drop"].tolist() == [2.5, 3.15]
    assert t.frame["mechanical_ventilation"].tolist() == [True, False]
    p = apply_mapping(raw.frame, load_mapping(mapping), table="patients").frame
    assert p["sex"].tolist() == ["F", "M"]
    assert p["death_date"].tolist()[1] == "2012-06-25"
    assert p["followup_start"].tolist() == ["2010-02-03", "2012-06-15"]
    with pytest.raises(ValidationError, match="followup_after_death"):
        read_cohort(path, mapping=mapping)  # death before the end of follow-up: reported


def test_bad_mapping_lists_valid_choices() -> None:
    with pytest.raises(DahOutcomesError, match="valid names"):
        load_mapping({"columns": {"patient": "id"}})
    with pytest.raises(DahOutcomesError, match="layout must be one of"):
        load_mapping({"layout": "wide"})


def test_draft_mapping_matches_names_and_marks_todos(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "Patient ID,Gender,DOB,DAH date,PLEX,Died in hospital,colour\n"
        "1,Mujer,03/02/1980,13/02/2010,Yes,no,red\n"
        "2,varon,15/06/1970,28/06/2012,No,yes,blue\n"
    )
    text = draft_mapping(read_table(path))
    m = load_mapping(text)  # the draft is valid TOML and a valid mapping
    assert m.columns["patient_id"].sources == ("Patient ID",)
    assert m.columns["onset_date"].format == "%d/%m/%Y"
    assert m.columns["plasmapheresis"].sources == ("PLEX",)
    assert "varon" in m.columns["sex"].values  # a value outside the vocabulary: to fill in
    assert "TODO" in text
    assert "colour" in text


def test_suppression_cannot_be_undone_from_totals() -> None:
    t = pd.DataFrame(
        {
            "site": list("ABCD"),
            "died": [3, 40, 12, 20],
            "alive": [50, 2, 9, 30],
            "total": [53, 42, 21, 50],
        }
    )
    out = suppress_small_cells(t, ["died", "alive"], 5, total_column="total")
    mask = out[["died", "alive", "total"]].isna().to_numpy()
    assert mask[0, 0]
    assert mask[1, 1]
    assert all(row.sum() != 1 for row in mask)
    assert all(col.sum() != 1 for col in mask.T)
    assert t["died"].tolist() == [3, 40, 12, 20]  # input untouched


def _cli(argv: list[str]) -> int:
    """What cli.main does once register() is wired in."""
    parser = argparse.ArgumentParser(prog="dah-outcomes")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DahOutcomesError:
        return 1


def test_cli_import_and_init_mapping(messy: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    assert _cli(["import", str(messy), "--out", str(out)]) == 1
    assert not out.exists()  # strict: nothing written
    assert _cli(["import", str(messy), "--out", str(out), "--quarantine", "--min-cell", "5"]) == 0
    text = capsys.readouterr().out
    assert "rows read: 2000" in text
    assert "rows rejected: 4" in text
    assert (out / "rejects.csv").exists()
    # streamed in small chunks: the same import, row for row
    out7 = tmp_path / "o7"
    assert (
        _cli(
            [
                "import",
                str(messy),
                "--out",
                str(out7),
                "--quarantine",
                "--min-cell",
                "5",
                "--chunk-rows",
                "7",
            ]
        )
        == 0
    )
    assert "rows read: 2000" in capsys.readouterr().out
    assert (out7 / "rejects.csv").read_bytes() == (out / "rejects.csv").read_bytes()
    mp = tmp_path / "m.toml"
    assert _cli(["init-mapping", str(messy), "--out", str(mp)]) == 0
    assert load_mapping(mp).layout == "flat"
    assert _cli(["init-mapping", str(messy), "--out", str(mp)]) == 1  # no silent overwrite


def _case_series_folder(cohort: Cohort, folder: Path, bad: int) -> tuple[Path, list[str]]:
    """A two-table case series (DAH patients only) with the episode rows of ``bad`` patients
    made invalid (an onset date that is not a date)."""
    e = cohort.episodes.copy()
    ids = list(dict.fromkeys(e["patient_id"]))
    p = cohort.patients[cohort.patients["patient_id"].isin(ids)]
    lost = ids[:bad]
    e = e.astype({"onset_date": object})
    e.loc[e["patient_id"].isin(lost), "onset_date"] = "unknown"
    folder.mkdir()
    p.to_csv(folder / "patients.csv", index=False)
    e.to_csv(folder / "episodes.csv", index=False)
    return folder, lost


def test_a_patient_whose_episodes_are_all_rejected_is_excluded(
    cohort: Cohort, tmp_path: Path
) -> None:
    folder, lost = _case_series_folder(cohort, tmp_path / "series", bad=2)
    r = read_cohort(folder, mode="quarantine")
    accounted(r)
    # never an "SLE patient without DAH": the case series stays a case series
    assert r.cohort.design == "case_series"
    assert not set(lost) & set(r.cohort.patients["patient_id"])
    excluded = r.rejects[r.rejects["rule"] == "episodes_rejected"]
    assert sorted(excluded["patient_id"]) == sorted(lost)
    assert (excluded["table"] == "patients").all()
    flow = r.flow.set_index("step")["n"]
    assert flow["patients excluded"] == len(lost)
    assert flow["patients with DAH"] == flow["patients included"]


def test_a_population_keeps_patients_who_never_had_dah(cohort: Cohort, tmp_path: Path) -> None:
    folder = tmp_path / "population"
    folder.mkdir()
    cohort.patients.to_csv(folder / "patients.csv", index=False)
    cohort.episodes.to_csv(folder / "episodes.csv", index=False)
    r = read_cohort(folder, mode="quarantine")
    assert r.cohort.design == "population"
    assert r.cohort.n_patients == len(cohort.patients)
    assert (r.rejects["rule"] == "episodes_rejected").sum() == 0
