"""Later DAH episodes in wide columns import on the first try (issue 13, items 2 and 3).

A one-row-per-patient registry export adds a block of columns per later episode ("Second
DAH episode date", "Fecha 2º episodio HAD", ``onset_date_2``). Each export below is written
from one known truth (patients, each with one to three episodes, who died in which episode
and when); ``init-mapping`` drafts the ``[episodes.<n>]`` tables, the import with the draft
unedited must give the truth's episodes (numbers, dates, flags, deaths) and its recurrence,
and every wide cell must be accounted for. Also: the episode number as a counted derivation,
and ``problems.csv`` when strict mode refuses.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.cli.main import main
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, ValidationError
from dah_outcomes.io._headers import repeat_episode
from dah_outcomes.io.draft import draft_mapping
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import load_mapping
from dah_outcomes.io.readers import read_table
from dah_outcomes.io.table_rows import find_table_rows
from dah_outcomes.io.unfinished import todo_lines

N = 30


def _truth(seed: int, p2: float, p3: float, *, small_days: bool = False):
    """Patients with one to three episodes; a death ends the last episode or comes after.

    ``small_days``: every later episode's date falls on a day 1-12, so that those columns'
    own values read day first and month first alike.
    """
    rng = np.random.default_rng(seed)
    day0 = pd.Timestamp("2001-01-01")
    rows, patients = [], []
    for i in range(N):
        pid = f"P{i + 1:03d}"
        n = 1 + int(rng.random() < p2) + int(rng.random() < p3)
        onset = day0 + pd.Timedelta(days=int(rng.integers(0, 3000)))
        if i == 0:
            onset = pd.Timestamp("2003-05-18")  # a day after the 12th: the order is shown
        eps = []
        for k in range(1, n + 1):
            if k > 1:
                onset = eps[-1]["discharge"] + pd.Timedelta(days=int(rng.integers(90, 900)))
                if small_days and onset.day > 12:
                    onset -= pd.Timedelta(days=onset.day - int(rng.integers(1, 13)))
            discharge = onset + pd.Timedelta(days=int(rng.integers(5, 40)))
            if k > 1 and small_days and discharge.day > 12:
                discharge -= pd.Timedelta(days=discharge.day - int(rng.integers(1, 13)))
                discharge = max(discharge, onset + pd.Timedelta(days=1))
                if discharge.day > 12:
                    discharge = onset + pd.Timedelta(days=1)
            if i == 0 and k == 1:
                discharge = pd.Timestamp("2003-06-20")
            eps.append({"onset": onset, "discharge": discharge, "mv": bool(rng.random() < 0.5)})
        fate = rng.random()
        last = eps[-1]["discharge"]
        died_in = fate < 0.3  # died in hospital, in the last episode
        died_after = 0.3 <= fate < 0.4
        death = last if died_in else last + pd.Timedelta(days=200) if died_after else pd.NaT
        if died_in and small_days and death.day > 12:
            death = eps[-1]["discharge"]
        for k, e in enumerate(eps, start=1):
            rows.append(
                {
                    "id": pid,
                    "number": k,
                    **e,
                    "died": bool(died_in and k == n),
                }
            )
        follow = pd.NaT if pd.notna(death) else last + pd.Timedelta(days=int(rng.integers(50, 900)))
        patients.append(
            {
                "id": pid,
                "female": bool(rng.random() < 0.85),
                "death": death,
                "last": follow,  # blank for the dead, as registries leave it
                "n": n,
            }
        )
    return pd.DataFrame(patients), pd.DataFrame(rows)


@pytest.fixture(scope="module")
def truth():
    return _truth(21, 0.45, 0.4)


def _fmt(s: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(s).dt.strftime(fmt).where(s.notna(), "")


def wide_export(
    patients: pd.DataFrame,
    episodes: pd.DataFrame,
    headers: dict[str, str],
    blocks: dict[int, dict[str, str]],
    *,
    date: str,
    yes_no: tuple[str, str],
    sexes: tuple[str, str],
) -> pd.DataFrame:
    """One row per patient: episode 1's columns, then a block of columns per later episode
    (left blank where the patient had no such episode)."""
    yes, no = yes_no
    out = pd.DataFrame({headers["id"]: patients["id"]})
    out[headers["sex"]] = patients["female"].map({True: sexes[0], False: sexes[1]})
    by = {k: episodes[episodes["number"] == k].set_index("id") for k in (1, 2, 3)}
    for k, cols in [(1, headers), *blocks.items()]:
        e = by[k].reindex(patients["id"])
        for field, header in cols.items():
            if field in ("onset", "discharge"):
                out[header] = _fmt(e[field], date).to_numpy()
            elif field in ("mv", "died"):
                out[header] = e[field].map({True: yes, False: no}).fillna("").to_numpy()
        if k == 1:
            out[headers["death"]] = _fmt(patients["death"], date).to_numpy()
            out[headers["last"]] = _fmt(patients["last"], date).to_numpy()
    return out


def same_as_truth(r, patients: pd.DataFrame, episodes: pd.DataFrame, *, died: bool = True):
    """The cohort's episodes (number, dates, flags), deaths and recurrence are the truth's."""
    c = r.cohort
    assert c.n_patients == len(patients)
    assert c.n_episodes == len(episodes)
    got = c.episodes.sort_values(["patient_id", "episode_number"]).reset_index(drop=True)
    want = episodes.sort_values(["id", "number"]).reset_index(drop=True)
    assert got["patient_id"].tolist() == want["id"].tolist()
    assert got["episode_number"].tolist() == want["number"].tolist()
    for g, w in (("onset_date", "onset"), ("discharge_date", "discharge")):
        assert pd.to_datetime(got[g]).tolist() == pd.to_datetime(want[w]).tolist(), g
    assert got["mechanical_ventilation"].astype(bool).tolist() == want["mv"].tolist()
    if died:
        assert got["in_hospital_death"].astype(bool).tolist() == want["died"].tolist()
    p = c.patients.set_index("patient_id").loc[patients["id"]]
    assert pd.to_datetime(p["death_date"]).isna().tolist() == patients["death"].isna().tolist()
    assert int(p["death_date"].notna().sum()) == int(patients["death"].notna().sum())
    # recurrence: patients with a second episode, as the source has them
    recurrent = c.episodes.groupby("patient_id")["episode_number"].max() >= 2
    assert int(recurrent.sum()) == int((patients["n"] >= 2).sum())
    wide = r.provenance["wide_episodes"]
    assert wide["episodes_from_wide_columns"] == int((episodes["number"] > 1).sum())
    cells = wide["cells"]
    assert cells["read"] == cells["in_episodes"] + cells["blank"] + cells["no_without_episode"]
    assert r.provenance["derivations"]["episode_number"] == {
        "from": "one_row_per_patient",
        "rows": len(patients),
        "wide_columns": int((episodes["number"] > 1).sum()),
    }


def first_try(path: Path, tmp_path: Path):
    """init-mapping, then import with the draft exactly as written (API)."""
    rows = find_table_rows(path)
    raw = read_table(path, header_row=rows.header_row, skip_footer=rows.skip_footer)
    text = draft_mapping(raw)
    assert todo_lines(text) == [], text
    mp = tmp_path / f"{path.stem}.toml"
    mp.write_text(text, encoding="utf-8")
    return read_cohort(path, mapping=mp), text


ENGLISH = {
    "id": "Patient ID",
    "sex": "Sex",
    "onset": "DAH onset date",
    "discharge": "Discharge date",
    "died": "Died in hospital",
    "mv": "MV",
    "death": "Date of death",
    "last": "Last follow-up",
}
ENGLISH_BLOCKS = {
    2: {
        "onset": "Second DAH episode date",
        "discharge": "Second discharge date",
        "died": "Died in hospital (2nd episode)",
        "mv": "MV 2nd episode",
    },
    3: {
        "onset": "Third DAH episode date",
        "discharge": "Discharge date 3",
        "died": "Died in hospital 3",
        "mv": "MV 3",
    },
}


def test_english_wide_second_and_third_episodes(truth, tmp_path: Path) -> None:
    patients, episodes = truth
    assert 0 < (patients["n"] == 3).sum() < (patients["n"] >= 2).sum() < N
    frame = wide_export(
        patients, episodes, ENGLISH, ENGLISH_BLOCKS, date="%Y-%m-%d", yes_no=("Yes", "No"),
        sexes=("Female", "Male"),
    )  # fmt: skip
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    r, text = first_try(path, tmp_path)
    assert "[episodes.2]" in text
    assert "[episodes.3]" in text
    assert 'onset_date = "Second DAH episode date"' in text
    assert 'discharge_date = "Discharge date 3"' in text
    assert 'episode_number = "one_row_per_patient"' in text
    assert "a later episode's column" not in text  # every one of them mapped
    assert r.rows_read == N
    assert r.rows_rejected == 0
    same_as_truth(r, patients, episodes)


def test_spanish_latin1_day_first_wide_columns_blank_for_most_rows(tmp_path: Path) -> None:
    """Semicolons, Latin-1, a title and totals lines; a second episode for few patients,
    whose dates (all on days 1-12) read both ways: read day first as episode 1's; no
    outcome column for episode 2, so its in-hospital death comes from the dates."""
    patients, episodes = _truth(5, 0.2, 0.0, small_days=True)
    assert (patients["n"] == 2).sum() < N / 3  # most rows leave the second episode blank
    headers = {
        "id": "Paciente",
        "sex": "Sexo",
        "onset": "Fecha de inicio HAD",
        "discharge": "Fecha de alta",
        "died": "Muerte hospitalaria",
        "mv": "Ventilación mecánica",
        "death": "Fecha de muerte",
        "last": "Último seguimiento",
    }
    blocks = {
        2: {
            "onset": "Fecha 2º episodio HAD",
            "discharge": "Fecha de alta 2º episodio",
            "mv": "Ventilación mecánica 2ª HAD",
        }
    }
    frame = wide_export(
        patients, episodes, headers, blocks, date="%d/%m/%Y", yes_no=("Sí", "No"),
        sexes=("Mujer", "Hombre"),
    )  # fmt: skip
    second = frame["Fecha 2º episodio HAD"].replace("", np.nan).dropna()
    assert len(second)
    assert (second.str.slice(0, 2).astype(int) <= 12).all()
    pad = ";" * (frame.shape[1] - 1)
    text = (
        f"Registro HAD-LES{pad}\n" + frame.to_csv(index=False, sep=";") + f"Totales;{N}{pad[1:]}\n"
    )
    path = tmp_path / "hda.csv"
    path.write_bytes(text.encode("latin-1"))
    r, draft = first_try(path, tmp_path)
    assert "[episodes.2]" in draft
    onset2 = next(x for x in draft.splitlines() if "Fecha 2º episodio HAD" in x)
    assert '"format" = "%d/%m/%Y"' in onset2
    assert "as episode 1's 'Fecha de inicio HAD'" in onset2
    assert 'in_hospital_death = "death_date"' in draft
    assert r.rows_rejected == 0
    same_as_truth(r, patients, episodes)
    derived = r.provenance["derivations"]["in_hospital_death"]
    assert derived["rows"] == int((episodes["number"] == 2).sum())


def test_snake_case_export_through_the_cli(truth, tmp_path: Path, capsys) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    patients, episodes = truth
    headers = {
        "id": "patient_id",
        "sex": "sex",
        "onset": "onset_date",
        "discharge": "discharge_date",
        "died": "in_hospital_death",
        "mv": "mechanical_ventilation",
        "death": "death_date",
        "last": "followup_end",
    }
    blocks = {
        k: {f: f"{h}_{k}" for f, h in headers.items() if f in ("onset", "discharge", "died", "mv")}
        for k in (2, 3)
    }
    frame = wide_export(
        patients, episodes, headers, blocks, date="%d.%m.%Y", yes_no=("1", "0"),
        sexes=("F", "M"),
    )  # fmt: skip
    src = tmp_path / "src"
    src.mkdir()
    path = src / "registry.csv"
    frame.to_csv(path, index=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    mp = tmp_path / "m.toml"
    assert main(["init-mapping", str(path), "--out", str(mp)]) == 0
    assert "0 line(s) hold a TODO value" in capsys.readouterr().out
    assert "onset_date_2" in mp.read_text(encoding="utf-8")
    out = tmp_path / "cohort"
    assert main(["import", str(path), "--mapping", str(mp), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    n_wide = int((episodes["number"] > 1).sum())
    assert f"derived: episode_number from one_row_per_patient in {N} row(s)" in printed
    assert f"episodes from wide columns: {n_wide} (episode 2: " in printed
    assert f"cohort: {N} patients, {N} with DAH, {len(episodes)} episodes" in printed
    got = pd.read_csv(out / "episodes.csv")
    assert sorted(zip(got["patient_id"], got["episode_number"], strict=True)) == sorted(
        zip(episodes["id"], episodes["number"], strict=True)
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


# ---------------------------------------------------------------- the pieces


def test_later_episode_headers_by_meaning() -> None:
    cases = {
        "Second DAH episode date": (2, "dah date"),
        "DAH 2 onset": (2, "dah onset"),
        "onset_date_2": (2, "onset date"),
        "Fecha 2º episodio HAD": (2, "fecha had"),
        "third episode": (3, ""),
        "Date de début 2e épisode": (2, "date de debut"),
        "Zweite DAH-Beginn": (2, "dah beginn"),
        "Data de início da HAD 2": (2, "data de inicio da had"),
        "Recurrence date": (2, "date"),
    }
    for header, want in cases.items():
        assert repeat_episode(header) == want, header
    for header in ("DAH onset date", "tx___3", "IV methylprednisolone", "MV"):
        assert repeat_episode(header) is None, header
    frame = pd.DataFrame(
        {
            "ID": ["1", "2"],
            "DAH onset date": ["2010-01-02", "2010-02-03"],
            "Date de début 2e épisode": ["2011-05-20", ""],
            "third episode": ["2012-07-30", ""],
            "Zweite Beatmung": ["Ja", ""],
        }
    )
    text = draft_mapping(frame)
    assert 'onset_date = "Date de début 2e épisode"' in text.partition("[episodes.2]")[2]
    assert 'mechanical_ventilation = { "source" = "Zweite Beatmung"' in text
    assert 'onset_date = "third episode"' in text.partition("[episodes.3]")[2]


def _mini(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "mini.csv"
    head = "id,onset,discharge,died,death,last,mv,onset2,discharge2,died2,mv2\n"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    return path


MINI = """
[columns]
patient_id = "id"
onset_date = "onset"
discharge_date = "discharge"
in_hospital_death = { source = "died", values = { Y = true, N = false } }
death_date = "death"
followup_end = "last"
mechanical_ventilation = { source = "mv", values = { Y = true, N = false } }
[derive]
followup_start = "first_onset"
followup_end = "death_date"
[episodes.2]
onset_date = "onset2"
discharge_date = "discharge2"
in_hospital_death = { source = "died2", values = { Y = true, N = false } }
"""


def test_a_column_the_block_does_not_name_stays_missing(tmp_path: Path) -> None:
    path = _mini(
        tmp_path,
        [
            "A,2010-01-02,2010-01-20,N,,2015-01-01,Y,2011-03-04,2011-03-20,N,Y",
            "B,2010-02-02,2010-02-20,N,,2015-01-01,Y,,,N,N",
            "C,2010-03-02,2010-03-20,Y,2010-03-20,,N,,,,",
        ],
    )
    r = read_cohort(path, mapping=MINI)
    e = r.cohort.episodes.set_index(["patient_id", "episode_number"])
    assert list(e.index) == [("A", 1), ("A", 2), ("B", 1), ("C", 1)]
    # mv2 is not in [episodes.2]: episode 2's ventilation is missing, not episode 1's "Y"
    assert e.loc[("A", 1), "mechanical_ventilation"]
    assert pd.isna(e.loc[("A", 2), "mechanical_ventilation"])
    assert "mv2" in r.provenance["unmapped_columns"]
    assert "onset2" not in r.provenance["unmapped_columns"]
    # B's "N" in died2 without an episode 2: a 'no', counted, no episode
    assert r.provenance["wide_episodes"]["cells"] == {
        "read": 9,
        "in_episodes": 3,
        "blank": 5,
        "no_without_episode": 1,
    }


def test_a_later_episode_without_its_onset_is_rejected_with_its_row(tmp_path: Path) -> None:
    path = _mini(
        tmp_path,
        [
            "A,2010-01-02,2010-01-20,N,,2015-01-01,Y,2011-03-04,2011-03-20,N,Y",
            "B,2010-02-02,2010-02-20,N,,2015-01-01,Y,,2011-05-01,N,N",
            "C,2010-03-02,2010-03-20,N,,2015-01-01,N,2011-13-40,,N,",
        ],
    )
    with pytest.raises(ValidationError) as info:
        read_cohort(path, mapping=MINI)
    problems = info.value.report.problems
    assert sorted(problems["row"].tolist()) == [3, 4]
    assert set(problems["column"]) == {"onset_date"}
    with pytest.warns(DahOutcomesWarning):
        r = read_cohort(path, mapping=MINI, mode="quarantine")
    assert r.rows_read == 3
    assert r.rows_rejected == 2
    assert r.cohort.patients["patient_id"].tolist() == ["A"]


def test_in_hospital_death_derived_from_the_dates() -> None:
    from dah_outcomes.io.derivations import derive_episode_fields

    patients = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "death_date": ["2011-03-10", None, "2013-01-01", "2011-04-01"],
        }
    )
    episodes = pd.DataFrame(
        {
            "patient_id": ["A", "A", "B", "C", "D"],
            "episode_number": [1, 2, 1, 1, 1],
            "onset_date": ["2010-01-02", "2011-03-04", "2010-01-01", "2010-01-01", "2011-03-20"],
            "discharge_date": ["2010-01-20", "2011-03-20", "2010-01-09", "2010-01-09", None],
            "in_hospital_death": [None, None, None, None, None],
        }
    )
    counts: dict[str, int] = {}
    out = derive_episode_fields(patients, episodes, {"in_hospital_death": "death_date"}, counts)
    # A died within episode 2, not 1; B never died; C died after discharge; D's death after
    # an onset with no discharge date cannot be placed: left blank
    assert out["in_hospital_death"].tolist() == [False, True, False, False, None]
    assert counts == {"in_hospital_death": 4}
    assert episodes["in_hospital_death"].isna().all()  # not modified


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[episodes.1]\nonset_date = "x"\n', "number, 2 or more"),
        ('[episodes.second]\nonset_date = "x"\n', "number, 2 or more"),
        ('[episodes.2]\ndischarge_date = "x"\n', "at least that episode's onset_date"),
        ('[episodes.2]\nonset_date = "x"\ndeath_date = "y"\n', "not an episode's own"),
        ('[episodes.2]\nonset_date = { source = "x", format = "%Q" }\n', "unknown directive"),
    ],
)
def test_a_bad_episodes_table_is_refused_naming_the_fix(text: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        load_mapping(text)


def test_wide_episodes_are_a_flat_files(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("patient_id,episode_number,onset_date,x\nA,1,2010-01-01,\n", encoding="utf-8")
    mapping = 'layout = "episodes"\n[episodes.2]\nonset_date = "x"\n'
    with pytest.raises(ArgumentError, match="one-row-per-patient file"):
        read_cohort(path, mapping=mapping)


def test_vital_status_drafted_with_its_words() -> None:
    for header, values, want in [
        ("Vital status", ["alive", "dead"], {"alive": "alive", "dead": "dead"}),
        ("Estado vital", ["Vivo", "Fallecido", "Desconocido"], None),
        ("Statut vital", ["vivante", "décédée"], {"vivante": "alive", "décédée": "dead"}),
        ("Vitalstatus", ["lebend", "verstorben"], {"lebend": "alive", "verstorben": "dead"}),
        ("Alive/dead", ["Alive", "Dead"], {"Alive": "alive", "Dead": "dead"}),
    ]:
        text = draft_mapping(pd.DataFrame({"Patient ID": ["1"] * len(values), header: values}))
        line = next(x for x in text.splitlines() if x.startswith("vital_status"))
        assert f'"source" = "{header}"' in line
        m = load_mapping(text.replace("\n# ", "\n#"))
        got = dict(m.columns["vital_status"].values or {})
        if want is None:
            want = {"Vivo": "alive", "Fallecido": "dead", "Desconocido": "unknown"}
        assert got == {k.casefold(): v for k, v in want.items()}


# ---------------------------------------------------------------- problems.csv


def test_a_refused_import_writes_problems_csv_beside_the_output(tmp_path: Path, capsys) -> None:
    warnings.simplefilter("always", DahOutcomesWarning)
    src = tmp_path / "data"
    src.mkdir()
    path = _mini(
        src,
        [
            "A,2010-01-02,2010-01-20,N,,2015-01-01,Y,2011-03-04,2011-03-20,N,Y",
            "B,2010-02-02,2010-02-20,maybe,,2015-01-01,Y,,,N,N",
        ],
    )
    mp = tmp_path / "m.toml"
    mp.write_text(MINI, encoding="utf-8")
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    out = tmp_path / "results" / "cohort"
    out.parent.mkdir()
    assert main(["import", str(path), "--mapping", str(mp), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    listed = out.parent / "problems.csv"
    assert f"in full in {listed}" in err
    assert not out.exists()
    problems = pd.read_csv(listed)
    assert list(problems.columns) == [
        "file", "table", "row", "patient_id", "column", "value", "rule", "fix",
    ]  # fmt: skip
    assert problems[["row", "column", "value"]].values.tolist() == [
        [3, "in_hospital_death", "maybe"]
    ]
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before  # sources untouched
    # the output beside the source: the list goes elsewhere, never into the source folder
    out2 = src / "cohort"
    assert main(["import", str(path), "--mapping", str(mp), "--out", str(out2)]) == 1
    err = capsys.readouterr().err
    named = Path(err.partition("in full in ")[2].partition(" (row")[0])
    assert named.exists()
    assert named.parent != src
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    # or where --problems says
    chosen = tmp_path / "mine.csv"
    argv = ["import", str(path), "--mapping", str(mp), "--out", str(out2)]
    assert main([*argv, "--problems", str(chosen)]) == 1
    assert f"in full in {chosen}" in capsys.readouterr().err
    assert len(pd.read_csv(chosen)) == 1
    assert main([*argv, "--problems", str(src / "p.csv")]) == 1
    assert "in a folder of the sources" in capsys.readouterr().err
