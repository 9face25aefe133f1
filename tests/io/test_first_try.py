"""A registry export imports on the first try: ``init-mapping``, then ``import`` with the
draft unedited (issue 13, section 1).

Each export below is written from one known truth (patients, their DAH episode, who died
and when) the way a registry writes it: English, Spanish in Latin-1 with semicolons and
day-first dates, a title line and a totals line, German, French and Portuguese headers, a
REDCap export with its dictionary. The imported cohort's deaths, episodes and dates must be
the truth's.
"""

from __future__ import annotations

import datetime
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.cli.main import main
from dah_outcomes.errors import ArgumentError, CohortFileError, DahOutcomesWarning
from dah_outcomes.io._dates import infer_date_format
from dah_outcomes.io._headers import header_score, header_words, is_repeat_header
from dah_outcomes.io.draft import draft_mapping, match_headers
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import load_mapping
from dah_outcomes.io.readers import read_table
from dah_outcomes.io.table_rows import find_table_rows
from dah_outcomes.io.unfinished import todo_lines

N = 24


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    """One DAH episode per patient; a third died in hospital (follow-up ends at death)."""
    rng = np.random.default_rng(13)
    day = pd.Timestamp("2000-01-01")

    def dates(low: int, high: int) -> pd.Series:
        return pd.Series(day + pd.to_timedelta(rng.integers(low, high, N), unit="D"))

    birth = dates(-12000, -4000)
    sle = birth + pd.to_timedelta(rng.integers(5000, 9000, N), unit="D")
    onset = sle + pd.to_timedelta(rng.integers(30, 3000, N), unit="D")
    discharge = onset + pd.to_timedelta(rng.integers(5, 40, N), unit="D")
    last = discharge + pd.to_timedelta(rng.integers(100, 2000, N), unit="D")
    # a day after the 12th at least once in every date column: the values show the order
    for s in (birth, sle, onset, discharge, last):
        s.iloc[0] += pd.Timedelta(days=max(0, 13 - s.iloc[0].day))
    died = np.zeros(N, dtype=bool)
    died[rng.choice(np.arange(1, N), 8, replace=False)] = True
    return pd.DataFrame(
        {
            "id": [f"P{i:03d}" for i in range(1, N + 1)],
            "female": rng.random(N) < 0.85,
            "birth": birth,
            "sle": sle,
            "onset": onset,
            "discharge": discharge,
            "died": died,
            "death": discharge.where(pd.Series(died)),
            "last": discharge.where(pd.Series(died), last),
            "mv": rng.random(N) < 0.5,
            "plex": rng.random(N) < 0.3,
        }
    )


def _fmt(s: pd.Series, fmt: str) -> pd.Series:
    return s.dt.strftime(fmt).where(s.notna(), "")


def _words(s: pd.Series, yes: str, no: str) -> pd.Series:
    return s.map({True: yes, False: no})


def export(
    t: pd.DataFrame, headers: list[str], *, date: str, yes_no: tuple[str, str], sexes: tuple
) -> pd.DataFrame:
    """The truth written with a registry's headers, date format and words."""
    cols = [
        t["id"],
        t["female"].map({True: sexes[0], False: sexes[1]}),
        _fmt(t["birth"], date),
        _fmt(t["sle"], date),
        _fmt(t["sle"], date),  # follow-up starts at the SLE diagnosis
        _fmt(t["onset"], date),
        _fmt(t["discharge"], date),
        _words(t["died"], *yes_no),
        _fmt(t["death"], date),
        _fmt(t["last"], date),
        _words(t["mv"], *yes_no),
        _words(t["plex"], *yes_no),
    ]
    return pd.DataFrame(dict(zip(headers, cols, strict=True)))


ENGLISH = [
    "Patient ID",
    "Sex",
    "Date of birth",
    "SLE diagnosis date",
    "Follow-up start",
    "DAH onset date",
    "Discharge date",
    "Died in hospital",
    "Date of death",
    "Last follow-up",
    "MV",
    "PLEX",
]
SPANISH = [
    "Paciente",
    "Sexo",
    "Fecha de nacimiento",
    "Fecha diagnóstico LES",
    "Fecha de inclusión",
    "Fecha de inicio HAD",
    "Fecha de alta",
    "Muerte hospitalaria",
    "Fecha de muerte",
    "Último seguimiento",
    "Ventilación mecánica",
    "Recambio plasmático",
]
GERMAN = [
    "Patienten-ID",
    "Geschlecht",
    "Geburtsdatum",
    "SLE-Diagnose",
    "Einschlussdatum",
    "DAH-Beginn",
    "Entlassungsdatum",
    "Im Krankenhaus verstorben",
    "Todesdatum",
    "Letzter Kontakt",
    "Beatmung",
    "Plasmapherese",
]
FRENCH = [
    "Identifiant patient",
    "Sexe",
    "Date de naissance",
    "Date diagnostic lupus",
    "Date d'inclusion",
    "Date de début HIA",
    "Date de sortie",
    "Décès hospitalier",
    "Date de décès",
    "Dernières nouvelles",
    "Ventilation mécanique",
    "Échanges plasmatiques",
]
PORTUGUESE = [
    "ID do paciente",
    "Sexo",
    "Data de nascimento",
    "Data do diagnóstico de LES",
    "Data de inclusão",
    "Data de início da HAD",
    "Data de alta",
    "Óbito hospitalar",
    "Data do óbito",
    "Último seguimento",
    "Ventilação mecânica",
    "Plasmaférese",
]


def same_as_truth(cohort, t: pd.DataFrame) -> None:
    """Deaths, episodes and dates of the imported cohort are the source's."""
    p = cohort.patients.set_index("patient_id").loc[t["id"]]
    e = cohort.episodes.set_index("patient_id").loc[t["id"]]
    assert cohort.n_patients == N
    assert cohort.n_episodes == N
    assert (e["episode_number"] == 1).all()
    np.testing.assert_array_equal(e["in_hospital_death"].to_numpy(dtype=bool), t["died"])
    assert int(e["in_hospital_death"].sum()) == int(t["died"].sum())
    for got, want in (
        (p["birth_date"], t["birth"]),
        (p["sle_diagnosis_date"], t["sle"]),
        (p["followup_start"], t["sle"]),
        (p["followup_end"], t["last"]),
        (p["death_date"], t["death"]),
        (e["onset_date"], t["onset"]),
        (e["discharge_date"], t["discharge"]),
    ):
        pd.testing.assert_series_equal(
            pd.Series(pd.to_datetime(got).to_numpy().astype("datetime64[ns]")),
            pd.Series(want.to_numpy().astype("datetime64[ns]")),
            check_names=False,
        )
    np.testing.assert_array_equal(e["mechanical_ventilation"].to_numpy(dtype=bool), t["mv"])
    np.testing.assert_array_equal(e["plasmapheresis"].to_numpy(dtype=bool), t["plex"])
    np.testing.assert_array_equal(
        p["sex"].to_numpy(dtype=object), t["female"].map({True: "F", False: "M"})
    )


def first_try(path: Path, tmp_path: Path, **draft_kw):
    """init-mapping, then import with the draft exactly as written."""
    rows = find_table_rows(path)  # as init-mapping does
    raw = read_table(path, header_row=rows.header_row, skip_footer=rows.skip_footer)
    text = draft_mapping(raw, **draft_kw)
    mp = tmp_path / f"{path.stem}.toml"
    mp.write_text(text, encoding="utf-8")
    assert todo_lines(text) == [], text
    return read_cohort(path, mapping=mp, dictionary=draft_kw.get("dictionary")), text


# ---------------------------------------------------------------- the family of exports


def test_english_export_imports_on_the_first_try(truth: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "english.csv"
    export(truth, ENGLISH, date="%Y-%m-%d", yes_no=("Yes", "No"), sexes=("Female", "Male")).to_csv(
        path, index=False
    )
    r, text = first_try(path, tmp_path)
    assert r.rows_rejected == 0
    assert r.rows_accepted == N
    same_as_truth(r.cohort, truth)
    assert 'onset_date = "DAH onset date"  # confidence high' in text
    assert 'mechanical_ventilation = { "source" = "MV"' in text


def test_spanish_latin1_semicolons_day_first_with_title_and_totals(
    truth: pd.DataFrame, tmp_path: Path
) -> None:
    frame = export(truth, SPANISH, date="%d/%m/%Y", yes_no=("Sí", "No"), sexes=("Mujer", "Hombre"))
    body = frame.to_csv(index=False, sep=";")
    pad = ";" * (len(SPANISH) - 1)
    totals = f"Totales;{N};;;;;;{int(truth['died'].sum())};;;;\n"
    text = f"Registro de HAD-LES 2024{pad}\n{pad}\n{body}{totals}Nota: datos ficticios{pad}\n"
    path = tmp_path / "hda.csv"
    path.write_bytes(text.encode("latin-1"))
    assert read_table(path, header_row=3, skip_footer=2).encoding == "latin-1"
    r, draft = first_try(path, tmp_path)
    assert "header_row = 3" in draft
    assert "skip_footer = 2" in draft
    assert '"format" = "%d/%m/%Y"' in draft
    assert r.rows_read == N
    assert r.rows_rejected == 0
    same_as_truth(r.cohort, truth)
    # read whole (chunk_rows=0), the keys give the same cohort or a refusal, never a misreading
    refused = None
    try:
        whole = read_cohort(path, mapping=tmp_path / "hda.toml", chunk_rows=0)
    except (ArgumentError, CohortFileError) as err:
        refused = str(err)
    if refused is None:
        same_as_truth(whole.cohort, truth)
    else:
        assert "header_row" in refused


@pytest.mark.parametrize(
    ("headers", "date", "yes_no", "sexes", "sep"),
    [
        (GERMAN, "%d.%m.%Y", ("Ja", "Nein"), ("weiblich", "männlich"), ";"),
        (FRENCH, "%d/%m/%Y", ("Oui", "Non"), ("Femme", "Homme"), ";"),
        (PORTUGUESE, "%d/%m/%Y", ("Sim", "Não"), ("Feminino", "Masculino"), ","),
    ],
    ids=["german", "french", "portuguese"],
)
def test_german_french_portuguese_headers(
    truth: pd.DataFrame, tmp_path: Path, headers, date, yes_no, sexes, sep
) -> None:
    path = tmp_path / "export.csv"
    export(truth, headers, date=date, yes_no=yes_no, sexes=sexes).to_csv(path, index=False, sep=sep)
    r, _ = first_try(path, tmp_path)
    assert r.rows_rejected == 0
    same_as_truth(r.cohort, truth)


def test_title_and_totals_lines_month_first(truth: pd.DataFrame, tmp_path: Path) -> None:
    frame = export(truth, ENGLISH, date="%m/%d/%Y", yes_no=("Y", "N"), sexes=("F", "M"))
    totals = f"Total,{N},,,,,,{int(truth['died'].sum())},,,,\n"
    text = (
        "DAH registry export, generated 2024-05-01\n"
        + frame.to_csv(index=False)
        + totals
        + "Note: synthetic data\n"
    )
    path = tmp_path / "titled.csv"
    path.write_text(text, encoding="utf-8")
    rows = find_table_rows(path)
    assert (rows.header_row, rows.skip_footer) == (2, 2)
    assert rows.titles == ("DAH registry export  generated 2024-05-01",) or rows.titles[
        0
    ].startswith("DAH registry export")
    r, draft = first_try(path, tmp_path)
    assert '"format" = "%m/%d/%Y"' in draft
    assert r.rows_read == N
    same_as_truth(r.cohort, truth)


def _redcap(t: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """A raw REDCap export (field names, codes) and its data dictionary (labels, choices)."""
    iso = "%Y-%m-%d"
    records = pd.DataFrame(
        {
            "record_id": t["id"],
            "dem_sex": t["female"].map({True: "1", False: "2"}),
            "dem_dob": _fmt(t["birth"], iso),
            "sle_dx": _fmt(t["sle"], iso),
            "fu_start": _fmt(t["sle"], iso),
            "dah_d1": _fmt(t["onset"], iso),
            "dis_d1": _fmt(t["discharge"], iso),
            "died_h": t["died"].map({True: "1", False: "0"}),
            "dth": _fmt(t["death"], iso),
            "fu_last": _fmt(t["last"], iso),
            "vent": t["mv"].map({True: "1", False: "0"}),
            "tx___1": "0",
            "tx___2": "0",
            "tx___3": t["plex"].map({True: "1", False: "0"}),
        }
    )
    dd = pd.DataFrame(
        [
            ("record_id", "dem", "text", "Record ID", "", ""),
            ("dem_sex", "dem", "radio", "Sex", "1, Female | 2, Male", ""),
            ("dem_dob", "dem", "text", "Date of birth", "", "date_ymd"),
            ("sle_dx", "dem", "text", "SLE diagnosis date", "", "date_ymd"),
            ("fu_start", "dem", "text", "Start of follow-up", "", "date_ymd"),
            ("dah_d1", "dah", "text", "DAH onset date", "", "date_ymd"),
            ("dis_d1", "dah", "text", "Discharge date", "", "date_ymd"),
            ("died_h", "dah", "yesno", "Died in hospital", "", ""),
            ("dth", "dem", "text", "Date of death", "", "date_ymd"),
            ("fu_last", "dem", "text", "Last follow-up", "", "date_ymd"),
            ("vent", "dah", "yesno", "Mechanical ventilation", "", ""),
            (
                "tx",
                "dah",
                "checkbox",
                "Treatments given",
                "1, Rituximab | 2, Cyclophosphamide | 3, Plasma exchange",
                "",
            ),
        ],
        columns=[
            "Variable / Field Name",
            "Form Name",
            "Field Type",
            "Field Label",
            "Choices, Calculations, OR Slider Labels",
            "Text Validation Type OR Show Slider Number",
        ],
    )
    export_path, dd_path = folder / "redcap.csv", folder / "redcap_dictionary.csv"
    records.to_csv(export_path, index=False)
    dd.to_csv(dd_path, index=False)
    return export_path, dd_path


def test_redcap_export_with_its_dictionary(truth: pd.DataFrame, tmp_path: Path) -> None:
    export_path, dd_path = _redcap(truth, tmp_path)
    r, text = first_try(export_path, tmp_path, dictionary=dd_path)
    assert 'layout = "redcap"' in text
    assert 'plasmapheresis = { "source" = "tx___3"' in text  # its choice label names it
    assert 'rituximab = { "source" = "tx___1"' in text
    assert 'onset_date = "dah_d1"' in text  # from the field label
    same_as_truth(r.cohort, truth)
    # without the dictionary the field names alone say less: a low confidence, or nothing
    bare = draft_mapping(read_table(export_path))
    assert 'onset_date = "dah_d1"  # confidence low' in bare
    assert "tx___3" in bare.partition("not mapped")[2]


def test_an_ambiguous_date_column_stops_the_import_once(
    truth: pd.DataFrame, tmp_path: Path
) -> None:
    t = truth.copy()
    # every discharge on a day 1-12: day-first and month-first both read every value
    t["discharge"] = t["discharge"].map(
        lambda d: d if d.day <= 12 else d + pd.offsets.MonthBegin(1)
    )
    t["death"] = t["discharge"].where(t["died"])
    t["last"] = t["discharge"].where(t["died"], t["last"] + pd.Timedelta(days=40))
    frame = export(t, ENGLISH, date="%d/%m/%Y", yes_no=("Yes", "No"), sexes=("Female", "Male"))
    path = tmp_path / "ambiguous.csv"
    frame.to_csv(path, index=False)
    text = draft_mapping(read_table(path))
    todo = todo_lines(text)
    # the discharge dates, and the death dates (the discharge of those who died)
    assert len(todo) == 2
    assert all(x.startswith("mapping:") for x in todo)
    assert "Date of death" in todo[0]
    assert "Discharge date" in todo[1]
    assert all("%d/%m/%Y or %m/%d/%Y" in x for x in todo)
    assert all("this file's other dates are day first" in x for x in todo)
    mp = tmp_path / "m.toml"
    mp.write_text(text, encoding="utf-8")
    with pytest.raises(ArgumentError) as info:
        read_cohort(path, mapping=mp)
    message = str(info.value)
    assert message.count("TODO") >= 1
    assert f"{mp}:" in message
    assert "2 TODO line(s)" in message
    # the analyst fills the line in, as they would: the import then runs
    mp.write_text(text.replace('"TODO: %d/%m/%Y or %m/%d/%Y"', '"%d/%m/%Y"'), encoding="utf-8")
    r = read_cohort(path, mapping=mp)
    same_as_truth(r.cohort, t)


# ---------------------------------------------------------------- the pieces


def test_headers_match_by_meaning_with_a_confidence() -> None:
    kinds = {
        "DAH onset date": "date",
        "Fecha de alta": "date",
        "VM": "bool",
        "Muerte (S/N)": "bool",
    }
    texts = {h: [h] for h in kinds}
    m = match_headers(texts, kinds)
    assert m["onset_date"].sources == ("DAH onset date",)
    assert m["onset_date"].confidence == "high"
    assert m["discharge_date"].confidence == "high"
    assert m["mechanical_ventilation"].sources == ("VM",)
    assert m["in_hospital_death"].sources == ("Muerte (S/N)",)
    assert m["in_hospital_death"].confidence == "medium"
    # a flag column is never a date column, whatever its header
    assert "death_date" not in m
    assert header_words("FechaDeAlta") == ("fecha", "de", "alta")
    assert header_score("Fecha de inicio HAD", "inicio had") == 2
    assert header_score("Días VM totales", "vm") == 0  # "totales" is not filler
    assert header_score("PLEX given", "plex") == 1
    for abbr, name in [
        ("TPE", "plasmapheresis"),
        ("CYC", "cyclophosphamide"),
        ("RTX", "rituximab"),
        ("MMF", "mycophenolate"),
        ("HCQ", "hydroxychloroquine"),
        ("IVMP", "methylprednisolone_pulse"),
        ("MP", "methylprednisolone_pulse"),
        ("Beatmung", "mechanical_ventilation"),
    ]:
        assert match_headers({abbr: [abbr]}, {abbr: "bool"})[name].confidence == "high"
    assert is_repeat_header("Second DAH episode date")
    assert is_repeat_header("onset_date_2")
    assert not is_repeat_header("DAH onset date")


def test_an_ambiguous_header_is_a_todo_naming_the_candidates(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text(
        "Patient ID,DAH date,Date of DAH,Died\nA,2010-01-02,2010-01-02,No\n", encoding="utf-8"
    )
    text = draft_mapping(read_table(path))
    line = next(x for x in todo_lines(text) if "onset_date" in x)
    assert "'DAH date' or 'Date of DAH'" in line
    with pytest.raises(ArgumentError, match="onset_date"):
        load_mapping(text)
    # one header two columns match equally well (here through two names it goes by)
    tie = match_headers({"X": ["X", "VM", "Fecha de alta"]})
    assert tie["discharge_date"].rivals == ("mechanical_ventilation",)
    assert tie["mechanical_ventilation"].rivals == ("discharge_date",)


def test_value_maps_from_the_values_present(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        "Patient ID,Sexo,ICU,BAL,Nephritis,Infection,Severe,Died in hospital\n"
        "1,Mujer,1,checked,Oui,Ja,Y,Sí\n"
        "2,Hombre,0,unchecked,Non,Nein,N,No\n"
        "3,varón,9,checked,Oui,Ja,Y,No\n",
        encoding="utf-8",
    )
    text = draft_mapping(read_table(path))
    m_text = text.replace('"9" = "TODO"', '"9" = false')
    m = load_mapping(m_text)
    assert dict(m.columns["sex"].values) == {"mujer": "F", "hombre": "M", "varón": "M"}
    assert dict(m.columns["icu_admission"].values) == {"1": True, "0": False, "9": False}
    assert dict(m.columns["bal_confirmed"].values) == {"checked": True, "unchecked": False}
    assert dict(m.columns["nephritis"].values) == {"oui": True, "non": False}
    assert dict(m.columns["infection"].values) == {"ja": True, "nein": False}
    assert dict(m.columns["severe"].values) == {"y": True, "n": False}
    line = next(x for x in text.splitlines() if x.startswith("icu_admission"))
    assert "TODO: give ['9'] true or false" in line  # the allowed targets beside the TODO
    assert todo_lines(text) == [f"mapping:{text.splitlines().index(line) + 1}: {line}"]


def test_date_formats_inferred_from_the_values() -> None:
    def guess(*values: str):
        return infer_date_format(pd.Series(values))

    assert guess("18/12/2008", "03/01/2010").format == "%d/%m/%Y"
    assert guess("12/18/2008", "01/03/2010").format == "%m/%d/%Y"
    assert guess("18.12.2008").format == "%d.%m.%Y"
    assert guess("18-12-08").format == "%d-%m-%y"
    iso = guess("2008-12-18", "2010-01-03")
    assert iso.order == "iso"
    assert iso.format is None
    assert guess("2008/12/18").format == "%Y/%m/%d"
    amb = guess("03/04/2010", "11/12/2011")
    assert amb.order == "ambiguous"
    assert amb.readings == ("%d/%m/%Y", "%m/%d/%Y")
    assert guess("18/12/2008", "12/18/2008").order == "mixed"
    bad = guess("18/12/2008", "31/02/2010", "unknown")
    assert bad.format == "%d/%m/%Y"
    assert bad.n_bad == 2


def test_header_row_and_footer_found_in_csv_and_excel(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(
        "My registry\n\nid,sex,onset_date\nA,F,2010-01-01\nB,M,2011-01-01\n"
        "Totals,2,\n* one patient withdrew\n",
        encoding="utf-8",
    )
    rows = find_table_rows(csv)
    assert (rows.header_row, rows.skip_footer) == (3, 2)
    assert rows.footers == ("Totals 2", "* one patient withdrew")
    raw = read_table(csv, header_row=3, skip_footer=2)
    assert list(raw.frame.columns) == ["id", "sex", "onset_date"]
    assert raw.frame.index.tolist() == [4, 5]  # file lines, as ever
    assert raw.row_issues.empty
    plain = tmp_path / "p.csv"
    plain.write_text("id,sex\nA,F\nB,M\n", encoding="utf-8")
    assert (find_table_rows(plain).header_row, find_table_rows(plain).skip_footer) == (1, 0)
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Registro HAD"])
    ws.append([])
    ws.append(["Paciente", "Sexo", "Fecha HAD", "Fecha de alta"])
    ws.append(["1", "Mujer", "18/12/2008", datetime.datetime(2008, 12, 28)])
    ws.append(["2", "Hombre", "03/01/2010", datetime.datetime(2010, 1, 13)])
    ws.append(["Total", 2])
    xlsx = tmp_path / "t.xlsx"
    wb.save(xlsx)
    rows = find_table_rows(xlsx)
    assert (rows.header_row, rows.skip_footer) == (3, 1)
    raw = read_table(xlsx, header_row=3, skip_footer=1)
    assert list(raw.frame.columns) == ["Paciente", "Sexo", "Fecha HAD", "Fecha de alta"]
    assert raw.frame.index.tolist() == [4, 5]
    text = draft_mapping(read_table(xlsx, header_row=3, skip_footer=1))
    # the sheet typed the discharge dates itself: no format to infer, nothing to flag
    alta = next(x for x in text.splitlines() if x.startswith("discharge_date"))
    assert alta.startswith('discharge_date = "Fecha de alta"  # confidence high')
    assert "format" not in alta
    assert '"format" = "%d/%m/%Y"' in next(
        x for x in text.splitlines() if x.startswith("onset_date")
    )
    assert "header_row = 3" in text
    assert "skip_footer = 1" in text


def test_a_todo_anywhere_stops_load_with_one_message(tmp_path: Path) -> None:
    mp = tmp_path / "m.toml"
    mp.write_text(
        '# TODO in a comment is a note\nlayout = "flat"\n[columns]\n'
        'sex = { source = "Sexo", values = { "9" = "TODO" } }\n'
        'onset_date = { source = "F", format = "TODO: %d/%m/%Y or %m/%d/%Y" }  # TODO\n'
        'site = "Centre #1"  # TODO: the hash inside quotes starts no comment\n',
        encoding="utf-8",
    )
    with pytest.raises(ArgumentError) as info:
        load_mapping(mp)
    msg = str(info.value)
    assert "2 TODO line(s)" in msg
    assert f"{mp}:4: sex" in msg
    assert f"{mp}:5: onset_date" in msg
    assert ":1:" not in msg
    assert ":6:" not in msg
    with pytest.raises(ArgumentError, match="header_row must be a whole number"):
        load_mapping('header_row = "3"\n')


# ---------------------------------------------------------------- the CLI


def test_cli_init_mapping_then_import_spanish_and_redcap(
    truth: pd.DataFrame, tmp_path: Path, capsys
) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    frame = export(truth, SPANISH, date="%d/%m/%Y", yes_no=("Sí", "No"), sexes=("Mujer", "Hombre"))
    pad = ";" * (len(SPANISH) - 1)
    src = tmp_path / "hda.csv"
    src.write_bytes(
        (
            f"Registro HAD{pad}\n" + frame.to_csv(index=False, sep=";") + f"Totales;{N}{pad[1:]}\n"
        ).encode("latin-1")
    )
    mp = tmp_path / "hda.toml"
    assert main(["init-mapping", str(src), "--out", str(mp)]) == 0
    out = capsys.readouterr().out
    assert "0 line(s) hold a TODO value" in out
    assert main(["import", str(src), "--mapping", str(mp), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert f"rows accepted: {N}" in out
    assert "rows rejected: 0" in out
    export_path, dd_path = _redcap(truth, tmp_path)
    rmp = tmp_path / "redcap.toml"
    argv = ["init-mapping", str(export_path), "--dictionary", str(dd_path), "--out", str(rmp)]
    assert main(argv) == 0
    capsys.readouterr()
    argv = ["import", str(export_path), "--mapping", str(rmp), "--dictionary", str(dd_path)]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    assert f"rows accepted: {N}" in capsys.readouterr().out


def test_cli_refuses_an_unfinished_draft_in_one_line(
    truth: pd.DataFrame, tmp_path: Path, capsys
) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    src = tmp_path / "s.csv"
    src.write_text("Patient ID,Sexo,DAH onset date\nA,X,2010-01-02\n", encoding="utf-8")
    mp = tmp_path / "m.toml"
    assert main(["init-mapping", str(src), "--out", str(mp)]) == 0
    capsys.readouterr()
    assert main(["import", str(src), "--mapping", str(mp), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the mapping still holds 1 TODO line(s)")
    assert f"{mp}:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()
    # a titled file imported without its mapping: the message points at init-mapping
    titled = tmp_path / "t.csv"
    titled.write_text("Registro,,\nid,sex,x\nA,F,1\n", encoding="utf-8")
    assert main(["import", str(titled), "--out", str(tmp_path / "o2")]) == 1
    err = capsys.readouterr().err
    assert "init-mapping" in err
    assert "Traceback" not in err


def test_a_ragged_row_below_a_title_keeps_its_file_line(
    truth: pd.DataFrame, tmp_path: Path
) -> None:
    frame = export(truth, ENGLISH, date="%Y-%m-%d", yes_no=("Yes", "No"), sexes=("F", "M"))
    lines = frame.to_csv(index=False).splitlines()
    lines[5] += ",extra"  # the record on file line 7 (title, header, then data from line 3)
    path = tmp_path / "ragged.csv"
    path.write_text("DAH registry\n" + "\n".join(lines) + "\nTotal,24\n", encoding="utf-8")
    rows = find_table_rows(path)
    assert (rows.header_row, rows.skip_footer) == (2, 1)
    raw = read_table(path, header_row=2, skip_footer=1)
    assert raw.row_issues["row"].tolist() == [7]
    assert raw.frame.index[0] == 3
    assert raw.frame.index[-1] == N + 2
    text = draft_mapping(raw)
    mp = tmp_path / "m.toml"
    mp.write_text(text, encoding="utf-8")
    r = read_cohort(path, mapping=mp, mode="quarantine")
    assert r.rows_read == N
    assert r.rows_rejected == 1
    assert r.rejects["row"].tolist() == [7]
    assert truth["id"].iloc[4] not in set(r.cohort.patients["patient_id"])
