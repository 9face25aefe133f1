"""A corpus of messy but realistic inputs, one or more per class of the import-trust issue,
written small into a folder (the large classes are generated, never committed).

Each entry is a named set of files and the command lines a user would run on them. The CLI
test runs every command line of every entry and asserts that none shows a traceback: each
ends with exit 0, or 1 with an ``error:`` line, or 2 with argparse's usage message.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes import Cohort, generate_cohort, save_cohort


@dataclass
class Entry:
    """A messy input: files to write (relative path to bytes) and commands on them.

    ``{d}`` in a command is the entry's folder and ``{out}`` a fresh output folder."""

    name: str
    files: dict[str, bytes]
    commands: list[list[str]] = field(default_factory=list)


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _base() -> tuple[pd.DataFrame, pd.DataFrame, Cohort]:
    cohort = generate_cohort(n_sle=300, seed=5)
    return cohort.patients.head(40).copy(), cohort.episodes.copy(), cohort


def _two_tables(patients: pd.DataFrame, episodes: pd.DataFrame) -> dict[str, bytes]:
    episodes = episodes[episodes["patient_id"].isin(patients["patient_id"])]
    return {
        "src/patients.csv": _csv(patients).encode(),
        "src/episodes.csv": _csv(episodes).encode(),
    }


IMPORT = ["import", "{d}/src", "--out", "{out}"]
QUARANTINE = [*IMPORT, "--quarantine"]


def _text_variants(patients: pd.DataFrame, episodes: pd.DataFrame) -> list[Entry]:
    out = []
    text = _csv(patients)
    variants: dict[str, Callable[[str], str]] = {
        "r-na-markers": lambda t: t.replace(",,", ",NA,"),
        "na-spellings": lambda t: t.replace(",,", ",N/A,", 3).replace(",,", ",NULL,", 3) + "",
        "excel-na": lambda t: t.replace(",,", ",#N/A,"),
        "sas-dot": lambda t: t.replace(",,", ",.,"),
        "trailing-delimiter": lambda t: "\n".join(line + "," for line in t.splitlines()) + "\n",
        "crlf": lambda t: t.replace("\n", "\r\n"),
        "bom": lambda t: "\ufeff" + t,
        "semicolons": lambda t: t.replace(",", ";"),
        "title-line": lambda t: "DAH registry export 2024\n" + t,
        "totals-line": lambda t: t + "Total,40,,,,,,,\n",
        "ragged": lambda t: t.replace("\n", ",extra\n", 5),
        "formula-cells": lambda t: t.replace("site-C", '=HYPERLINK("x")').replace(
            "site-E", "@SUM(A1)"
        ),
        "escape-codes": lambda t: t.replace("SLE0000002", "SLE\x1b[31m0002"),
        "partial-dates": lambda t: t.replace("1981-06-17", "1981").replace("1985-07-11", "1985-07"),
        "time-of-day": lambda t: t.replace("2004-02-02", "2004-02-02 13:45"),
        "day-first-dates": lambda t: t.replace("1981-06-17", "17/06/1981"),
        "cyrillic-headers": lambda t: t.replace("patient_id", "пациент", 1),
        "header-trailing-space": lambda t: t.replace("sex", "sex ", 1),
        "duplicated-header": lambda t: t.replace("site", "sex", 1),
        "header-only": lambda t: t.splitlines()[0] + "\n",
        "empty": lambda t: "",
        "huge-field": lambda t: t.replace("site-C", "x" * 200_000, 1),
        "nul-bytes": lambda t: t.replace("site-C", "site\x00C", 2),
    }
    for name, change in variants.items():
        files = _two_tables(patients, episodes)
        files["src/patients.csv"] = change(text).encode("utf-8")
        out.append(
            Entry(name, files, [IMPORT, QUARANTINE, ["init-mapping", "{d}/src/patients.csv"]])
        )
    flags = _csv(episodes).replace(",False,", ",-,", 10).replace(",True,", ",Sí,", 10)
    files = _two_tables(patients, episodes)
    files["src/episodes.csv"] = flags.encode()
    out.append(Entry("flag-dashes-and-si", files, [IMPORT, QUARANTINE]))
    dec = _csv(episodes).replace("3000.0", "3.000,0").replace(",6.2,", ',"6,2",')
    files = _two_tables(patients, episodes)
    files["src/episodes.csv"] = dec.encode()
    files["mapping.toml"] = b'decimal = ","\nthousands = "."\n'
    out.append(Entry("decimal-comma", files, [[*IMPORT, "--mapping", "{d}/mapping.toml"]]))
    no_pred = _two_tables(patients, episodes.drop(columns=["oral_prednisone"], errors="ignore"))
    out.append(Entry("absent-flag-column", no_pred, [IMPORT]))
    return out


def _binary() -> list[Entry]:
    xlsx = io.BytesIO()
    pd.DataFrame({"patient_id": ["A"]}).to_excel(xlsx, index=False)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("patients.csv", "patient_id\nA\n")
    kinds = {
        "xlsx-renamed": xlsx.getvalue(),
        "zip-renamed": zipped.getvalue(),
        "gzip-renamed": gzip.compress(b"patient_id\nA\n"),
        "random-bytes": np.random.default_rng(0).bytes(300_000),
        "utf16": "patient_id,sex\nA,F\n".encode("utf-16"),
        "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
    }
    return [
        Entry(
            f"binary-{name}",
            {"data.csv": content, "data.jsonl": content},
            [
                ["import", "{d}/data.csv", "--out", "{out}", "--quarantine"],
                ["import", "{d}/data.jsonl", "--out", "{out}"],
                ["init-mapping", "{d}/data.csv"],
            ],
        )
        for name, content in kinds.items()
    ]


def _formats(patients: pd.DataFrame, episodes: pd.DataFrame) -> list[Entry]:
    out = []
    tz = patients.copy()
    for c in ("birth_date", "followup_start", "followup_end"):
        tz[c] = pd.to_datetime(tz[c]).dt.tz_localize("Europe/Madrid")
    buf = io.BytesIO()
    tz.to_parquet(buf)
    files = {"src/patients.parquet": buf.getvalue()}
    ep = io.BytesIO()
    episodes[episodes["patient_id"].isin(patients["patient_id"])].to_parquet(ep)
    files["src/episodes.parquet"] = ep.getvalue()
    out.append(Entry("parquet-tz-aware", files, [IMPORT]))
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["patient_id", "sex", "birth_date"])
    for i in range(5):
        ws.append([100 + i, "F", "1980-01-01"])
        ws.cell(row=i + 2, column=1).number_format = "00000"
    xlsx = io.BytesIO()
    wb.save(xlsx)
    out.append(
        Entry(
            "excel-zero-padded-ids",
            {"ids.xlsx": xlsx.getvalue()},
            [["init-mapping", "{d}/ids.xlsx"], ["import", "{d}/ids.xlsx", "--out", "{out}"]],
        )
    )
    jl = b'{"patient_id": "A", "patient_id": "B", "sex": "F"}\n{"patient_id": "C"\n'
    out.append(
        Entry(
            "jsonl-duplicated-key",
            {"data.jsonl": jl},
            [["import", "{d}/data.jsonl", "--out", "{out}", "--quarantine"]],
        )
    )
    adtte = pd.DataFrame(
        {
            "USUBJID": ["A", "B", "C", "D", "E"],
            "PARAMCD": ["OS"] * 5,
            "AVAL": [10, 20, 30, 40, 50],
            "CNSR": ["", ".", "-1", "0.5", "Y"],
            "STARTDT": ["2010-01-01"] * 5,
        }
    )
    out.append(
        Entry(
            "adtte-bad-cnsr",
            {"adtte.csv": _csv(adtte).encode()},
            [["import", "{d}/adtte.csv", "--out", "{out}", "--quarantine"]],
        )
    )
    return out


BAD_MAPPINGS = {
    "table-as-string.toml": b'columns = "patient_id"\n',
    "format-number.toml": b'[columns.birth_date]\nsource = "birth_date"\nformat = 5\n',
    "format-unknown.toml": b'[columns.birth_date]\nsource = "birth_date"\nformat = "%Q"\n',
    "utf16.toml": 'layout = "two_tables"\n'.encode("utf-16"),
    "anchor-bomb.yaml": b'a: &a ["x","x","x","x"]\nb: &b [*a,*a,*a,*a]\n'
    b"c: &c [*b,*b,*b,*b]\ncolumns: [*c]\n",
    "top-list.yaml": b"- 1\n- 2\n",
    "na-values-number.toml": b"na_values = 5\n",
    "layout-unknown.toml": b'layout = "wide"\n',
    "broken.toml": b"[columns\n",
    "decimal-long.toml": b'decimal = ",,"\n',
    "nested.yaml": b"columns: " + b"[" * 5000 + b"]" * 5000 + b"\n",
}


def _mappings(patients: pd.DataFrame, episodes: pd.DataFrame) -> list[Entry]:
    out = []
    for name, content in BAD_MAPPINGS.items():
        files = _two_tables(patients, episodes)
        files[name] = content
        out.append(Entry(f"mapping-{name}", files, [[*IMPORT, "--mapping", "{d}/" + name]]))
    return out


CLAIMS = 'id = "m"\nstatistic = "mortality"\nvalue = "12%"\n'
BAD_CLAIMS = {
    "single-table.toml": "[claim]\n" + CLAIMS,
    "number-value.toml": '[[claim]]\nid = "m"\nstatistic = "mortality"\nvalue = 12\n',
    "list-statistic.toml": '[[claim]]\nid = "m"\nstatistic = ["x"]\nvalue = "12%"\n',
    "32-digits.toml": '[[claim]]\nid = "m"\nstatistic = "mortality"\n'
    'value = "12345678901234567890123456789012%"\n',
    "scalar.toml": 'claim = "x"\n',
    "list.yaml": "- 1\n- 2\n",
    "utf16.toml": "",
    "fraction.toml": '[[claim]]\nid = "m"\nstatistic = "mortality"\nvalue = "8/14"\n',
}
BAD_EVIDENCE = {
    "letters.csv": "study_id,year,outcome,unit,events,total\na,2001,death,patients,x,y\n",
    "huge.csv": "study_id,year,outcome,unit,events,total\na,2001,death,patients,1e400,5\n",
    "many-digits.csv": "study_id,year,outcome,unit,events,total\n"
    "a,2001,death,patients,99999999999999999999999,5\n",
    "no-columns.csv": "a,b\n1,2\n",
    "events-only.csv": "events,total,year\n1,2,2001\n",
    "empty.csv": "",
}


def _reproduce(cohort_dir: str) -> list[Entry]:
    out = []
    for name, text in BAD_CLAIMS.items():
        content = "[[claim]]\n".encode("utf-16") if name == "utf16.toml" else text.encode()
        out.append(
            Entry(
                f"claims-{name}",
                {name: content},
                [["audit", "{d}/" + name], ["reproduce", "{d}/" + name, "--cohort", cohort_dir]],
            )
        )
    for name, text in BAD_EVIDENCE.items():
        out.append(
            Entry(
                f"evidence-{name}",
                {name: text.encode()},
                [["audit", "cited-figures", "--evidence", "{d}/" + name]],
            )
        )
    return out


def _cohort_folders(cohort: Cohort, root: Path) -> list[Entry]:
    saved = root / "_saved"
    if not saved.exists():
        save_cohort(cohort, saved)
    prov = (saved / "provenance.json").read_bytes()
    tables = {p.name: p.read_bytes() for p in saved.iterdir() if p.is_file()}
    junk = {
        "provenance-list": {**tables, "provenance.json": b"[1, 2, 3]"},
        "provenance-broken": {**tables, "provenance.json": prov[: len(prov) // 2]},
        "provenance-utf16": {**tables, "provenance.json": json.dumps({}).encode("utf-16")},
        "tampered-table": {
            **tables,
            "patients.csv": tables["patients.csv"].replace(b",F,", b",M,", 1),
        },
        "missing-episodes": {k: v for k, v in tables.items() if k != "episodes.csv"},
    }
    commands = [
        ["validate", "{d}"],
        ["rates", "{d}"],
        ["survival", "{d}"],
        ["report", "{d}", "--out", "{out}/report.html"],
    ]
    entries = [Entry(f"cohort-{k}", v, commands) for k, v in junk.items()]
    entries.append(
        Entry(
            "omop-junk-database",
            {"cdm.duckdb": np.random.default_rng(2).bytes(50_000), "cdm/person.parquet": b"junk"},
            [
                ["omop", "extract", "--db", "{d}/cdm.duckdb", "--out", "{out}"],
                ["omop", "extract", "--db", "{d}/cdm", "--out", "{out}"],
            ],
        )
    )
    entries.append(
        Entry(
            "outputs-that-are-not-folders",
            {**tables, "a-file.txt": b"x"},
            [
                ["report", "{d}", "--out", "{d}"],
                ["import", "{d}/patients.csv", "{d}/episodes.csv", "--out", "{d}/a-file.txt"],
                ["import", "{d}/patients.csv", "{d}/episodes.csv", "--out", "{d}"],
                ["report", "{d}", "--min-cell", "0", "--out", "{out}/r.html"],
            ],
        )
    )
    return entries


def build_corpus(root: Path) -> list[Entry]:
    """Every entry of the corpus (the files are written by :func:`write_entry`)."""
    patients, episodes, cohort = _base()
    root.mkdir(parents=True, exist_ok=True)
    saved = root / "_cohort"
    if not saved.exists():
        save_cohort(cohort, saved)
    return [
        *_text_variants(patients, episodes),
        *_binary(),
        *_formats(patients, episodes),
        *_mappings(patients, episodes),
        *_reproduce(str(saved)),
        *_cohort_folders(cohort, root),
    ]


def write_entry(entry: Entry, root: Path) -> Path:
    """Write an entry's files under ``root/<name>`` and return that folder."""
    folder = root / entry.name
    for rel, content in entry.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder
