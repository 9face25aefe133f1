"""Values imported as the source meant them, or rejected, never guessed: missing-value markers,
decimal marks and thousands separators, column names in any script, ADTTE CNSR, partial dates
and times of day, REDCap record ids and JSON keys, trailing delimiters, binary files, mapping
files of the wrong types; and a value-fidelity test comparing every accepted value with the
source as a careful reader reads it."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ADTTE_MAPPING, REDCAP_MAPPING, write_adtte, write_redcap

from dah_outcomes import Cohort, CohortFileError, ValidationError, generate_cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import find_column, load_mapping
from dah_outcomes.io.readers import read_table

# Quarantine imports of rows corrupted at random reject a random handful of patients, and the
# informative-exclusion rule (a risk ratio of 2 counts, whatever the power) then fires by
# chance; that check has tests of its own (test_informative_exclusion.py).
pytestmark = pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning")


@pytest.fixture(scope="module")
def small() -> Cohort:
    c = generate_cohort(n_sle=400, seed=11)
    return Cohort(c.patients, c.episodes, design=c.design)


def flat_frame(c: Cohort) -> pd.DataFrame:
    first = c.episodes[c.episodes["episode_number"] == 1]
    return c.patients.merge(first, on="patient_id", how="left")


def expected_flat(c: Cohort) -> Cohort:
    return Cohort(c.patients, c.episodes[c.episodes["episode_number"] == 1])


def problems_of(path: Path, **kw) -> pd.DataFrame:
    with pytest.raises(ValidationError) as info:
        read_cohort(path, **kw)
    return info.value.problems


# ---------------------------------------------------------------- missing-value markers


def test_an_r_write_csv_export_keeps_every_patient(small: Cohort, tmp_path: Path) -> None:
    """R's write.csv writes NA for every missing value (quoted strings, bare NA)."""
    frame = flat_frame(small)
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False, na_rep="NA", date_format="%Y-%m-%d")
    r = read_cohort(path, mode="quarantine")
    assert r.rows_rejected == 0
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


@pytest.mark.parametrize("marker", ["NA", "N/A", "n/a", "NULL", "#N/A", ".", "-", "NaN", "None"])
def test_default_markers_are_missing(small: Cohort, tmp_path: Path, marker: str) -> None:
    frame = flat_frame(small)
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False, na_rep=marker, date_format="%Y-%m-%d")
    r = read_cohort(path)
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


def test_a_dash_in_a_flag_is_never_false(small: Cohort, tmp_path: Path) -> None:
    frame = flat_frame(small).astype(object)
    dah = frame.index[frame["onset_date"].notna()][:3]
    frame.loc[dah, "nephritis"] = "-"
    path = tmp_path / "dash.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    r = read_cohort(path)
    got = r.cohort.episodes.set_index("patient_id")["nephritis"]
    assert got.loc[frame.loc[dah, "patient_id"]].isna().all()  # missing, not False
    # without markers the dash is no flag word: rejected, not read as False
    p = problems_of(path, mapping={"na_values": []})
    hit = p[(p["column"] == "nephritis") & (p["rule"] == "type")]
    assert hit["value"].tolist() == ["-"] * 3
    assert hit["hint"].str.contains("missing-value marker").all()


def test_own_markers_replace_the_defaults(small: Cohort, tmp_path: Path) -> None:
    frame = flat_frame(small)
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False, na_rep="999", date_format="%Y-%m-%d")
    r = read_cohort(path, mapping={"na_values": ["999"]})
    assert r.cohort.fingerprint == expected_flat(small).fingerprint
    # with 999 declared, NA is a value again: rejected with a hint naming it
    frame.to_csv(path, index=False, na_rep="NA", date_format="%Y-%m-%d")
    p = problems_of(path, mapping={"na_values": ["999"]})
    typed = p[p["rule"] == "type"]
    assert len(typed)
    assert typed["hint"].str.contains("missing-value marker").all()


# ---------------------------------------------------------------- decimal marks


def _one_number(
    tmp_path: Path, values: list[str], column: str = "hemoglobin_drop", decimal: str = "."
) -> Path:
    """The flat source with ``values`` written in ``column`` of the first DAH rows (the other
    numbers written with ``decimal``)."""
    base = generate_cohort(n_sle=300, seed=2)
    c = Cohort(base.patients, base.episodes, design=base.design)
    frame = flat_frame(c)
    frame[column] = frame[column].astype(object)
    dah = frame.index[frame["onset_date"].notna()][: len(values)]
    assert len(dah) == len(values)
    frame.loc[frame["onset_date"].notna(), column] = None
    frame.loc[dah, column] = values
    path = tmp_path / "n.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", sep=";", decimal=decimal)
    return path


def _column(r, column: str = "hemoglobin_drop") -> list[float]:
    e = r.cohort.episodes
    return e.loc[e[column].notna(), column].astype(float).tolist()


def test_decimal_comma_never_deletes_the_point(tmp_path: Path) -> None:
    path = _one_number(tmp_path, ["0,8", "12,5", "3"], decimal=",")
    r = read_cohort(path, mapping={"decimal": ","})
    assert sorted(_column(r)) == [0.8, 3.0, 12.5]
    path = _one_number(tmp_path, ["0,8", "0.8"], decimal=",")
    p = problems_of(path, mapping={"decimal": ","})
    hit = p[p["column"] == "hemoglobin_drop"]
    assert hit["rule"].tolist() == ["type"]  # 0.8 is rejected, never 8.0
    assert hit["value"].iloc[0].startswith("0.8")
    assert "decimal mark" in hit["hint"].iloc[0]


@pytest.mark.parametrize(
    ("mapping", "values", "expected"),
    [
        ({"thousands": ","}, ["1,250", "500", "12,000.5"], [500.0, 1250.0, 12000.5]),
        ({"decimal": ",", "thousands": "."}, ["1.250", "1.000,5", "7,25"], [7.25, 1000.5, 1250]),
        ({"decimal": ",", "thousands": " "}, ["1 250", "2 000,5"], [1250.0, 2000.5]),
    ],
)
def test_declared_thousands_separators(
    tmp_path: Path, mapping: dict, values: list[str], expected: list[float]
) -> None:
    decimal = mapping.get("decimal", ".")
    path = _one_number(tmp_path, values, "methylprednisolone_dose_mg", decimal=decimal)
    r = read_cohort(path, mapping=mapping)
    assert sorted(_column(r, "methylprednisolone_dose_mg")) == sorted(expected)


@pytest.mark.parametrize(
    ("mapping", "value", "hint"),
    [
        ({}, "1,250", "thousands separator"),
        ({}, "12,5", "decimal comma"),
        ({"thousands": ","}, "12,50", "groups of three"),
        ({"decimal": ","}, "1.250,5", "decimal mark"),
    ],
)
def test_undeclared_marks_are_rejected_with_the_reason(
    tmp_path: Path, mapping: dict, value: str, hint: str
) -> None:
    decimal = mapping.get("decimal", ".")
    path = _one_number(tmp_path, [value], "methylprednisolone_dose_mg", decimal=decimal)
    p = problems_of(path, mapping=mapping)
    hit = p[p["column"] == "methylprednisolone_dose_mg"]
    assert hit["rule"].tolist() == ["type"]
    assert hint in hit["hint"].iloc[0]


# ---------------------------------------------------------------- column names


def test_names_in_any_script_keep_their_letters(small: Cohort, tmp_path: Path) -> None:
    from dah_outcomes.io.mapping import normalize_name

    assert normalize_name("Дата смерти ") == "датасмерти"
    assert normalize_name("Ημερομηνία θανάτου") == "ημερομηνιαθανατου"
    assert normalize_name("死亡日期") == "死亡日期"
    assert normalize_name("—") == ""
    frame = flat_frame(small)
    names = {
        "patient_id": "Пациент",
        "death_date": "Дата смерти",
        "mechanical_ventilation": "Ιβμ αερισμός",
        "in_hospital_death": "院内死亡",
    }
    frame = frame.rename(columns=names)
    path = tmp_path / "u.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    # the mapping names differ from the headers by case and spaces only
    mapping = {"columns": {k: " " + v.upper() + " " for k, v in names.items()}}
    r = read_cohort(path, mapping=mapping)
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


def test_an_ambiguous_name_is_an_error_never_a_pick() -> None:
    cols = pd.Index(["sex", "Sex ", "SEX"])
    with pytest.raises(ArgumentError, match="all match"):
        find_column(cols, ("sex",), explicit=False)
    assert find_column(cols, ("Sex ",)) == "Sex "  # named exactly in the mapping
    with pytest.raises(ArgumentError, match="all match"):
        find_column(cols, ("s e x",))
    # names without letters never match each other
    assert find_column(pd.Index(["—", "in_hospital_death"]), ("",), explicit=False) is None


def test_one_trailing_space_maps_the_right_column(small: Cohort, tmp_path: Path) -> None:
    frame = flat_frame(small).rename(columns={"in_hospital_death": "in_hospital_death "})
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    r = read_cohort(path)
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


# ---------------------------------------------------------------- ADTTE CNSR


@pytest.fixture(scope="module")
def adtte(small: Cohort, tmp_path_factory) -> tuple[Path, Cohort]:
    first = small.episodes[small.episodes["episode_number"] == 1]
    p = small.patients[small.patients["patient_id"].isin(first["patient_id"])].copy()
    p["followup_start"] = p["patient_id"].map(first.set_index("patient_id")["onset_date"])
    p["followup_start"] = p["followup_start"].astype("datetime64[s]")
    cs = Cohort(p, first, design="case_series")
    path = tmp_path_factory.mktemp("adtte") / "adtte.csv"
    write_adtte(cs, path)
    return path, cs


@pytest.mark.parametrize("bad", ["", ".", "-1", "0.5", "Y", "1.5"])
def test_cnsr_is_validated(adtte, tmp_path: Path, bad: str) -> None:
    path, _ = adtte
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    died = frame.index[(frame["PARAMCD"] == "OS") & (frame["CNSR"] == "0")][0]
    subject = frame.at[died, "USUBJID"]
    frame.at[died, "CNSR"] = bad
    out = tmp_path / "bad.csv"
    frame.to_csv(out, index=False)
    p = problems_of(out, mapping=ADTTE_MAPPING)
    hit = p[p["rule"] == "invalid_cnsr"]
    assert hit["patient_id"].tolist() == [subject]
    r = read_cohort(out, mapping=ADTTE_MAPPING, mode="quarantine")
    assert subject not in set(r.cohort.patients["patient_id"])  # never imported alive
    assert r.rows_rejected == 3  # the subject's OS, HOSPDIS and TTMV records
    assert r.rows_read == r.rows_accepted + r.rows_rejected


def test_positive_cnsr_codes_are_censoring_reasons(adtte, tmp_path: Path) -> None:
    path, cs = adtte
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    alive = (frame["PARAMCD"] == "OS") & (frame["CNSR"] == "1")
    frame.loc[alive[alive].index[:5], "CNSR"] = "2"
    frame.loc[alive[alive].index[5:8], "CNSR"] = "3.0"
    out = tmp_path / "codes.csv"
    frame.to_csv(out, index=False)
    r = read_cohort(out, mapping=ADTTE_MAPPING)
    pd.testing.assert_frame_equal(r.cohort.patients, cs.patients)


# ---------------------------------------------------------------- partial dates, times


def _dated(tmp_path: Path, c: Cohort, values: dict[int, str], column: str = "birth_date"):
    frame = flat_frame(c).astype(object)
    frame[column] = frame[column].map(lambda v: "" if pd.isna(v) else v.strftime("%Y-%m-%d"))
    for i, v in values.items():
        frame.at[i, column] = v
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path, frame


@pytest.mark.parametrize(
    ("value", "first", "middle"),
    [("1971", "1971-01-01", "1971-07-01"), ("1978-11", "1978-11-01", "1978-11-15")],
)
def test_partial_dates_need_a_policy(
    small: Cohort, tmp_path: Path, value: str, first: str, middle: str
) -> None:
    path, frame = _dated(tmp_path, small, {4: value})
    pid = frame.at[4, "patient_id"]
    p = problems_of(path)
    hit = p[p["column"] == "birth_date"]
    assert hit["rule"].tolist() == ["type"]
    assert "partial date" in hit["hint"].iloc[0]
    for policy, want in (("first", first), ("middle", middle)):
        r = read_cohort(path, mapping={"partial_dates": policy})
        got = r.cohort.patients.set_index("patient_id").at[pid, "birth_date"]
        assert got == pd.Timestamp(want)


def test_times_of_day_are_rejected_unless_declared(small: Cohort, tmp_path: Path) -> None:
    path, frame = _dated(
        tmp_path, small, {4: "1970-03-02 10:30", 5: "1971-04-03T00:00:00", 6: "1972-05-04 23:59:59"}
    )
    p = problems_of(path)
    hit = p[p["column"] == "birth_date"]
    assert sorted(hit["row"]) == [6, 8]  # source lines of frame rows 4 and 6; midnight passes
    assert hit["hint"].str.contains("time of day").all()
    r = read_cohort(path, mapping={"time_of_day": "date"})
    got = r.cohort.patients.set_index("patient_id")["birth_date"]
    assert got[frame.at[4, "patient_id"]] == pd.Timestamp("1970-03-02")
    assert got[frame.at[6, "patient_id"]] == pd.Timestamp("1972-05-04")


def test_typed_timestamps_with_a_time_are_rejected(small: Cohort, tmp_path: Path) -> None:
    frame = flat_frame(small)
    frame["birth_date"] = frame["birth_date"].astype("datetime64[ns]")
    frame.loc[4, "birth_date"] += pd.Timedelta(hours=7)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    p = problems_of(path)
    assert p.loc[p["column"] == "birth_date", "row"].tolist() == [5]
    # timezone-aware midnights are dates where they were recorded
    frame["birth_date"] = frame["birth_date"].dt.normalize().dt.tz_localize("Europe/Madrid")
    frame.to_parquet(path, index=False)
    r = read_cohort(path)
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


def test_a_format_without_a_day_needs_the_policy() -> None:
    with pytest.raises(ArgumentError, match="partial_dates"):
        load_mapping({"columns": {"birth_date": {"source": "b", "format": "%Y-%m"}}})
    load_mapping({"partial_dates": "middle", "date_format": "%m/%Y"})


# ---------------------------------------------------------------- REDCap ids and dictionaries


def test_a_resorted_dictionary_does_not_change_the_record_id(small: Cohort, tmp_path: Path) -> None:
    export, dictionary = write_redcap(small, tmp_path)
    dd = pd.read_csv(dictionary, dtype=str, keep_default_na=False)
    dd.iloc[::-1].to_csv(dictionary, index=False)  # birth_date no longer second, record_id last
    r = read_cohort(export, mapping=REDCAP_MAPPING, dictionary=dictionary)
    assert r.provenance["redcap"]["record_id"] == "record_id"
    assert r.cohort.fingerprint == small.fingerprint


def test_numeric_ids_keep_their_zeros(small: Cohort, tmp_path: Path) -> None:
    export, dictionary = write_redcap(small, tmp_path)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    ids = {pid: f"{i:05d}" for i, pid in enumerate(small.patients["patient_id"], start=1)}
    frame["record_id"] = frame["record_id"].map(ids)
    frame.to_csv(export, index=False)
    r = read_cohort(export, mapping=REDCAP_MAPPING, dictionary=dictionary)
    assert sorted(r.cohort.patients["patient_id"]) == sorted(ids.values())
    assert "00001" in set(r.cohort.episodes["patient_id"]) | set(r.cohort.patients["patient_id"])


def test_a_json_record_with_a_repeated_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"patient_id": "A", "sex": "F"}\n{"patient_id": "B", "sex": "F", "sex": "M"}\n',
        encoding="utf-8",
    )
    raw = read_table(path)
    issues = raw.row_issues
    assert issues["row"].tolist() == [2]
    assert "'sex' appears twice" in issues["hint"].iloc[0]


# ---------------------------------------------------------------- trailing delimiters


@pytest.mark.parametrize("header_too", [False, True])
def test_one_trailing_delimiter_is_accepted(small: Cohort, tmp_path: Path, header_too) -> None:
    text = flat_frame(small).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    lines = text.splitlines()
    lines = [lines[0] + ("," if header_too else "")] + [line + "," for line in lines[1:]]
    path = tmp_path / "trail.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = read_cohort(path)
    assert r.rows_rejected == 0
    assert r.cohort.fingerprint == expected_flat(small).fingerprint


def test_quarantine_refuses_an_import_with_no_row_accepted(small: Cohort, tmp_path: Path) -> None:
    frame = flat_frame(small)
    frame["followup_end"] = "31/12/2020"  # every row: not a date
    path = tmp_path / "none.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    with pytest.raises(ValidationError) as info:
        read_cohort(path, mode="quarantine")
    p = info.value.problems
    assert p["rule"].iloc[0] == "no_row_accepted"
    assert (p["rule"] == "type").sum() == small.n_patients
    assert "YYYY-MM-DD" in p.loc[p["rule"] == "type", "hint"].iloc[0]


# ---------------------------------------------------------------- what a file really is


def _xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"patient_id": ["A"]}).to_excel(buf, index=False)
    return buf.getvalue()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("patients.csv", "patient_id\nA\n")
    return buf.getvalue()


BINARY = {
    "xlsx": (_xlsx_bytes, "Excel workbook"),
    "zip": (_zip_bytes, "ZIP archive"),
    "gzip": (lambda: gzip.compress(b"patient_id\nA\n"), "gzip"),
    "random": (lambda: np.random.default_rng(0).bytes(200_000), "binary data"),
    "utf16": (lambda: "patient_id,sex\nA,F\n".encode("utf-16"), "UTF-16"),
    "utf16-no-bom": (lambda: "patient_id,sex\nA,F\n".encode("utf-16-le"), "UTF-16"),
    "xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old Office"),
}


@pytest.mark.parametrize("kind", list(BINARY))
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_binary_file_fails_fast_naming_what_it_is(tmp_path: Path, kind: str, suffix) -> None:
    make, what = BINARY[kind]
    path = tmp_path / f"data{suffix}"
    path.write_bytes(make())
    with pytest.raises(CohortFileError, match=what):
        read_cohort(path, mode="quarantine")


def test_junk_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    import time

    path = tmp_path / "junk.csv"
    path.write_bytes(np.random.default_rng(1).bytes(30_000_000))
    start = time.perf_counter()
    with pytest.raises(CohortFileError, match="binary data"):
        read_cohort(path, mode="quarantine")
    assert time.perf_counter() - start < 5  # the bytes are hashed at most, never parsed


def test_text_named_as_a_workbook_or_parquet(tmp_path: Path) -> None:
    for suffix, what in ((".xlsx", "not an Excel workbook"), (".parquet", "not a Parquet")):
        path = tmp_path / f"t{suffix}"
        path.write_text("patient_id\nA\n", encoding="utf-8")
        with pytest.raises(CohortFileError, match=what):
            read_cohort(path)


def test_fields_over_128_kb_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    big = "x" * 300_000
    # the quoted line break sends the file to the careful (csv module) reader
    path.write_text(f'patient_id,site\nA,"{big}\nmore"\n', encoding="utf-8")
    raw = read_table(path)
    assert len(raw.frame.at[2, "site"]) == 300_005


# ---------------------------------------------------------------- mapping files


BAD_MAPPINGS = [
    ('columns = "sex"', "columns must be a table"),
    ('redcap = "x"', "redcap must be a table"),
    ('[columns]\nbirth_date = { source = "b", format = 3 }', "format must be a date format"),
    ('[columns]\nbirth_date = { source = "b", format = "%Q" }', "unknown directive"),
    ('date_format = "%d/%m/%Q"', "unknown directive"),
    ("decimal = 5", "decimal must be one of"),
    ('decimal = ";"', "decimal must be one of"),
    ('thousands = "."', "both '.'"),
    ('na_values = "NA"', "na_values must be a list"),
    ("na_values = [1, 2]", "texts only"),
    ('use_value_labels = "yes"', "use_value_labels must be true or false"),
    ("layout = 3", "layout must be one of"),
    ("[columns]\nsex = { source = 3 }", "source must be a column name"),
    ('[columns]\nsex = { source = "g", values = "F" }', "values must be a table"),
    ('[columns]\nhemoglobin_drop = { source = "h", scale = "10" }', "scale must be a number"),
    ('[columns]\ndeath_date = { source = "d", offset_from = "site" }', "offset_from must be"),
    ('[columns]\nsex = { source = "g", value = [1] }', "value must be a constant"),
    ('partial_dates = "guess"', "partial_dates must be one of"),
    ("[columns]\nsex = []", "must be a source column name"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MAPPINGS, ids=[m for _, m in BAD_MAPPINGS])
def test_mapping_values_are_type_checked(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ArgumentError, match=message):
        load_mapping(path)


def test_mapping_file_encodings(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_bytes('layout = "flat"\n'.encode("utf-16"))
    with pytest.raises(ArgumentError, match="UTF-16"):
        load_mapping(path)
    path.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(ArgumentError, match="not UTF-8"):
        load_mapping(path)
    path.write_bytes('\ufeffdescription = "café"\n'.encode())  # a BOM is fine
    assert load_mapping(path).path == str(path)


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ArgumentError, match="aliases"):
        load_mapping(path)


# ---------------------------------------------------------------- value fidelity


def _encode(c: Cohort, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[int, str]]:
    """The flat cohort written as a messy registry would (decimal commas, d/m/Y dates, flag
    words, NA markers), with some values that have no single reading; returns the source and
    the source rows holding those (which must be rejected)."""
    frame = flat_frame(c).astype(object)
    bad: dict[int, str] = {}
    words = {True: ["Sí", "yes", "1", "TRUE"], False: ["No", "0", "false", "n"]}
    for col in ("nephritis", "infection", "severe", "rituximab"):
        frame[col] = frame[col].map(
            lambda v: rng.choice(["NA", "", "N/A"]) if pd.isna(v) else rng.choice(words[v])
        )
    for col in ("hemoglobin_drop", "methylprednisolone_dose_mg"):
        frame[col] = frame[col].map(lambda v: "NA" if pd.isna(v) else f"{v:.6g}".replace(".", ","))
    kinds = flat_frame(c).dtypes
    dates = [n for n, d in kinds.items() if pd.api.types.is_datetime64_any_dtype(d)]
    assert {"birth_date", "sle_diagnosis_date", "discharge_date"} <= set(dates)
    for col in dates:
        frame[col] = frame[col].map(lambda v: "." if pd.isna(v) else v.strftime("%d/%m/%Y"))
    dah = frame.index[frame["onset_date"] != "."]
    for i in rng.choice(dah, size=6, replace=False):
        frame.at[i, "hemoglobin_drop"] = "1.5"  # a point where a comma is declared
        bad[int(i)] = "hemoglobin_drop"
    for i in rng.choice(frame.index.difference(list(bad)), size=6, replace=False):
        frame.at[i, "birth_date"] = frame.at[i, "birth_date"][-4:]  # a year alone
        bad[int(i)] = "birth_date"
    for i in rng.choice(dah.difference(list(bad)), size=4, replace=False):
        frame.at[i, "nephritis"] = "maybe"
        bad[int(i)] = "nephritis"
    return frame, bad


FIDELITY_MAPPING = {"decimal": ",", "date_format": "%d/%m/%Y"}


@pytest.mark.parametrize("seed", [0, 1])
def test_every_accepted_value_is_the_source_value(small: Cohort, tmp_path: Path, seed) -> None:
    rng = np.random.default_rng(seed)
    frame, bad = _encode(small, rng)
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False, sep=";")
    r = read_cohort(path, mapping=FIDELITY_MAPPING, mode="quarantine")
    assert r.rows_read == r.rows_accepted + r.rows_rejected
    rejected = set(r.rejects["row"].dropna().astype(int))
    assert rejected == {i + 2 for i in bad}  # source lines: header is line 1
    truth = expected_flat(small)
    ids = r.cohort.patients["patient_id"]
    want_p = truth.patients[truth.patients["patient_id"].isin(ids)].reset_index(drop=True)
    want_e = truth.episodes[truth.episodes["patient_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(r.cohort.patients, want_p)
    pd.testing.assert_frame_equal(r.cohort.episodes, want_e)


def _workbook(path: Path, rows: dict[str, object], formats: dict[str, str]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    for ref, value in rows.items():
        ws[ref] = value
    for ref, fmt in formats.items():
        ws[ref].number_format = fmt
    wb.save(path)
    return path


def test_excel_ids_keep_the_zeros_their_number_format_shows(tmp_path: Path) -> None:
    # Excel stores 100 and shows "00100" under the format 00000: the registry's id is "00100"
    path = _workbook(
        tmp_path / "ids.xlsx",
        {"A1": "patient_id", "B1": "hb", "A2": 100, "B2": 8, "A3": 20417, "B3": 9.5, "A4": "X9"},
        {"A2": "00000", "A3": "00000", "B2": "00"},
    )
    frame = read_table(path).frame
    assert frame["patient_id"].tolist() == ["00100", "20417", "X9"]
    # a padded number in a numeric column is still the number once typed
    assert frame["hb"].tolist()[:2] == ["08", 9.5]


def test_excel_rows_keep_their_sheet_row_numbers(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "gap.xlsx",
        {"B1": "patient_id", "C1": "sex", "B2": "A", "C2": "F", "B5": "B", "C5": "M"},
        {},
    )
    frame = read_table(path, sheet="data").frame
    # the empty first column is layout; the blank rows 3-4 are not data but keep the numbering
    assert list(frame.columns) == ["patient_id", "sex"]
    assert frame.index.tolist() == [2, 5]
    with pytest.raises(ArgumentError, match="no sheet 'other'"):
        read_table(path, sheet="other")


def test_excel_duplicated_headers_are_refused_as_in_csv(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "dup.xlsx", {"A1": "id", "B1": "id", "A2": 1, "B2": 2}, {})
    with pytest.raises(CohortFileError, match="duplicated column names"):
        read_table(path)
