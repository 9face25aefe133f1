"""Round trips: a synthetic cohort written to each format and layout, read back through its
mapping, equals the original (same fingerprint: same content, names and dtypes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import ADTTE_MAPPING, REDCAP_MAPPING, plain, write_adtte, write_redcap

from dah_outcomes import Cohort
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.readers import read_table

# Quarantine imports of rows corrupted at random reject a random handful of patients, and the
# informative-exclusion rule (a risk ratio of 2 counts, whatever the power) then fires by
# chance; that check has tests of its own (test_informative_exclusion.py).
pytestmark = pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning")


def assert_accounted(result, n_rows: int) -> None:
    assert result.rows_read == n_rows
    assert result.rows_read == result.rows_accepted + result.rows_rejected


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "csv-bom-semicolon":
        frame.to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    elif fmt == "tsv-latin1":
        frame.to_csv(path, index=False, sep="\t", encoding="latin-1")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "excel":
        plain(frame).to_excel(path, index=False, sheet_name="data")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        import pyreadstat

        writer = {
            "spss": pyreadstat.write_sav,
            "stata": pyreadstat.write_dta,
            "xpt": lambda f, p: pyreadstat.write_xport(f, p, file_format_version=8),
        }[fmt]
        writer(plain(frame), str(path))


SUFFIX = {
    "csv": ".csv",
    "csv-bom-semicolon": ".csv",
    "tsv-latin1": ".tsv",
    "parquet": ".parquet",
    "excel": ".xlsx",
    "jsonl": ".jsonl",
    "spss": ".sav",
    "stata": ".dta",
    "xpt": ".xpt",
}


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_two_tables_round_trip(cohort: Cohort, tmp_path: Path, fmt: str) -> None:
    p_path = tmp_path / f"patients{SUFFIX[fmt]}"
    e_path = tmp_path / f"episodes{SUFFIX[fmt]}"
    _write(cohort.patients, p_path, fmt)
    _write(cohort.episodes, e_path, fmt)
    kwargs = {"sheet": "data"} if fmt == "excel" else {}
    result = read_cohort(tmp_path, **kwargs)
    assert_accounted(result, cohort.n_patients + cohort.n_episodes)
    assert result.rows_rejected == 0
    pd.testing.assert_frame_equal(result.cohort.patients, cohort.patients)
    pd.testing.assert_frame_equal(result.cohort.episodes, cohort.episodes)
    assert result.cohort.fingerprint == cohort.fingerprint


def test_flat_round_trip(cohort: Cohort, tmp_path: Path) -> None:
    """One row per patient with the first episode's columns (patients without DAH too)."""
    first = cohort.episodes[cohort.episodes["episode_number"] == 1]
    flat = cohort.patients.merge(first, on="patient_id", how="left")
    flat.to_csv(tmp_path / "flat.csv", index=False)
    result = read_cohort(tmp_path / "flat.csv")
    assert_accounted(result, cohort.n_patients)
    assert result.cohort.fingerprint == Cohort(cohort.patients, first).fingerprint


def test_episodes_layout_round_trip(cohort: Cohort, tmp_path: Path) -> None:
    """One row per episode, patient columns repeated on every row of the patient."""
    rows = cohort.episodes.merge(cohort.patients, on="patient_id")
    rows.to_csv(tmp_path / "episodes.csv", index=False)
    result = read_cohort(tmp_path / "episodes.csv", mapping={"layout": "episodes"})
    assert_accounted(result, cohort.n_episodes)
    dah = cohort.patients[cohort.patients["patient_id"].isin(cohort.episodes["patient_id"])]
    assert result.cohort.fingerprint == Cohort(dah, cohort.episodes).fingerprint


def test_redcap_round_trip(cohort: Cohort, tmp_path: Path) -> None:
    export, dictionary = write_redcap(cohort, tmp_path)
    result = read_cohort(export, mapping=REDCAP_MAPPING, dictionary=dictionary)
    assert_accounted(result, cohort.n_patients + cohort.n_episodes)
    assert result.rows_rejected == 0
    pd.testing.assert_frame_equal(result.cohort.episodes, cohort.episodes)
    assert result.cohort.fingerprint == cohort.fingerprint


@pytest.mark.parametrize("suffix", [".csv", ".xpt"])
def test_adtte_round_trip(case_series: Cohort, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"adtte{suffix}"
    write_adtte(case_series, path)
    result = read_cohort(path, mapping=ADTTE_MAPPING)
    assert_accounted(result, 3 * case_series.n_patients)  # OS, HOSPDIS and TTMV records
    assert result.rows_rejected == 0
    assert result.provenance["adtte"]["unused_parameters"] == ["TTMV"]
    pd.testing.assert_frame_equal(result.cohort.patients, case_series.patients)
    pd.testing.assert_frame_equal(result.cohort.episodes, case_series.episodes)


def test_reader_keeps_values_as_text_and_rows_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id;value\nA;007\n\nB;"multi\nline"\nC;1,5\n', encoding="utf-8")
    raw = read_table(path)
    assert raw.delimiter == ";"
    assert raw.frame["value"].tolist() == ["007", "multi\nline", "1,5"]
    assert raw.frame.index.tolist() == [2, 4, 6]  # file lines; the blank line 3 holds no row
    before = path.read_bytes()
    read_cohort(path, mode="quarantine") if False else None
    assert path.read_bytes() == before


def test_missing_optional_reader_names_the_extra(monkeypatch, tmp_path: Path) -> None:
    import builtins

    from dah_outcomes import MissingDependencyError

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "pyreadstat":
            raise ImportError("no pyreadstat", name="pyreadstat")
        return real(name, *args, **kwargs)

    (tmp_path / "x.sav").write_bytes(b"not really")
    monkeypatch.setattr(builtins, "__import__", fake)
    # an ImportError of ours (it was an ArgumentError before 0.2.0), keeping the hint
    with pytest.raises(MissingDependencyError, match=r'pip install "dah_outcomes\[formats\]"'):
        read_table(tmp_path / "x.sav")


def test_labelled_redcap_export_equals_raw(cohort: Cohort, tmp_path: Path) -> None:
    """A labelled export (field labels as headers, choice labels as values, Checked /
    Unchecked, Repeat Instrument by its label) imports to the same cohort as the raw one."""
    from dah_outcomes.io.layouts.redcap import parse_choices, read_dictionary

    export, dictionary = write_redcap(cohort, tmp_path)
    raw = pd.read_csv(export, dtype=str, keep_default_na=False)
    dd = read_dictionary(dictionary)
    labelled = raw.copy()
    for rec in dd.itertuples(index=False):
        if rec.field_type in ("radio", "dropdown"):
            codes = parse_choices(rec.choices)
            labelled[rec.field_name] = labelled[rec.field_name].map(lambda v, c=codes: c.get(v, v))
        elif rec.field_type == "yesno":
            labelled[rec.field_name] = (
                labelled[rec.field_name].map({"1": "Yes", "0": "No"}).fillna("")
            )
    headers = {}
    for rec in dd.itertuples(index=False):
        if rec.field_type == "checkbox":
            for code, label in parse_choices(rec.choices).items():
                col = f"{rec.field_name}___{code}"
                labelled[col] = labelled[col].map({"1": "Checked", "0": "Unchecked"}).fillna("")
                headers[col] = f"{rec.field_label} (choice={label})"
        elif rec.field_name in labelled:
            headers[rec.field_name] = rec.field_label
    labelled["redcap_repeat_instrument"] = labelled["redcap_repeat_instrument"].replace(
        {"dah_episode": "DAH Episode"}
    )
    headers |= {
        "redcap_repeat_instrument": "Repeat Instrument",
        "redcap_repeat_instance": "Repeat Instance",
    }
    path = tmp_path / "labelled.csv"
    labelled.rename(columns=headers).to_csv(path, index=False)
    result = read_cohort(path, mapping=REDCAP_MAPPING, dictionary=dictionary)
    assert_accounted(result, cohort.n_patients + cohort.n_episodes)
    assert result.rows_rejected == 0, result.rejects.head()
    assert result.cohort.fingerprint == cohort.fingerprint


FIXTURES = Path(__file__).parent / "fixtures"


def test_sas7bdat_round_trip(cohort: Cohort, tmp_path: Path) -> None:
    """SAS datasets written by ReadStat's own sas7bdat writer (no Python package writes one;
    ``fixtures/make_sas7bdat.py`` made these from the same cohort) import to the cohort."""
    import json
    import shutil

    made = json.loads((FIXTURES / "sas7bdat.json").read_text())
    assert made["fingerprint"] == cohort.fingerprint, (
        "the generator's output changed: rerun tests/io/fixtures/make_sas7bdat.py"
    )
    for name in ("patients", "episodes"):  # read from a copy: sources are never modified
        shutil.copy(FIXTURES / f"{name}.sas7bdat", tmp_path / f"{name}.sas7bdat")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = read_cohort(tmp_path)
    assert_accounted(result, cohort.n_patients + cohort.n_episodes)
    assert result.rows_rejected == 0
    pd.testing.assert_frame_equal(result.cohort.patients, cohort.patients)
    pd.testing.assert_frame_equal(result.cohort.episodes, cohort.episodes)
    assert result.cohort.fingerprint == cohort.fingerprint
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # an independent reader agrees on what the file holds
    direct = pd.read_sas(FIXTURES / "patients.sas7bdat", encoding="utf-8")
    assert len(direct) == cohort.n_patients
    assert direct["patient_id"].tolist() == cohort.patients["patient_id"].tolist()


def test_a_missing_optional_reader_names_the_extra(tmp_path, monkeypatch) -> None:
    import sys

    from dah_outcomes.errors import MissingDependencyError
    from dah_outcomes.io import read_table

    path = tmp_path / "export.xlsx"
    pd.DataFrame({"patient_id": ["A"]}).to_excel(path, index=False)
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "dah_outcomes\[formats\]"'):
        read_table(path)
    with pytest.raises(ImportError):  # and generic callers catch it as the built-in
        read_table(path)
