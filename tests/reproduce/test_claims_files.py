"""Claims files and evidence tables are type-checked on load: every mistake one clear error
naming the key or line and the fix, never a traceback (issue: import trust)."""

from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import ArgumentError, CohortFileError, load_claims, parse_printed
from dah_outcomes.reproduce.published import (
    EVIDENCE_COLUMNS,
    check_evidence,
    load_published_series,
    read_evidence,
)

CLAIM = 'id = "m"\nstatistic = "mortality"\nvalue = "12%"\n'

BAD_CLAIMS = {
    # [claim] makes one table, [[claim]] the list of them
    "single-table.toml": ("[claim]\n" + CLAIM, "one table, not a list.*\\[\\[claim\\]\\]"),
    "scalar.toml": ('claim = "mortality 12%"\n', "must be \\[\\[claim\\]\\] tables, got str"),
    "number-value.toml": (
        '[[claim]]\nid = "m"\nstatistic = "mortality"\nvalue = 12\n',
        'value must be text, got int 12; write the figure as printed, in quotes: value = "12%"',
    ),
    "list-statistic.toml": (
        '[[claim]]\nid = "m"\nstatistic = ["mortality"]\nvalue = "12%"\n',
        "statistic must be text, got list",
    ),
    "id-number.toml": (
        '[[claim]]\nid = 3\nstatistic = "mortality"\nvalue = "12%"\n',
        "id must be text, got int 3",
    ),
    "bool-n.toml": ("[[claim]]\n" + CLAIM + "n = true\n", "n must be a positive whole number"),
    "per-text.toml": ("[[claim]]\n" + CLAIM + 'per = "1000"\n', "per must be a positive number"),
    "per-inf.toml": ("[[claim]]\n" + CLAIM + "per = inf\n", "per must be a positive number"),
    "32-digits.toml": (
        '[[claim]]\nid = "m"\nstatistic = "mortality"\n'
        'value = "12345678901234567890123456789012%"\n',
        "32 digits",
    ),
    "32-decimals.toml": (
        '[[claim]]\nid = "m"\nstatistic = "mortality"\n'
        'value = "0.12345678901234567890123456789012%"\n',
        "32 decimals",
    ),
    "over-100.toml": (
        '[[claim]]\nid = "m"\nstatistic = "mortality"\nvalue = "120%"\n',
        "over 100%",
    ),
    "not-a-table.yaml": ("claims:\n  - 12%\n", "claim 1: must be a table of fields"),
    "one-mapping.yaml": ("claims:\n  id: m\n", "one table, not a list.*`- `"),
    "alias-bomb.yaml": (
        'a: &a ["x", "x"]\nb: &b [*a, *a]\nclaims: [*b]\n',
        "YAML aliases",
    ),
    "bad-toml.toml": ("[[claim]\n", "not valid TOML"),
    "bad-yaml.yaml": ("claims: [\n", "not valid YAML"),
}


@pytest.mark.parametrize("name", sorted(BAD_CLAIMS))
def test_a_mistyped_claims_file_is_one_clear_error(tmp_path: Path, name: str) -> None:
    text, message = BAD_CLAIMS[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArgumentError, match=message):
        load_claims(path)


def test_every_problem_of_every_claim_is_listed_together(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    path.write_text(
        '[[claim]]\nid = 1\nstatistic = "mortality"\nvalue = 12\n'
        '[[claim]]\nid = "b"\nstatistic = "nonsense"\nvalue = "5%"\n',
        encoding="utf-8",
    )
    with pytest.raises(ArgumentError, match="3 problem") as info:
        load_claims(path)
    assert "id must be text" in str(info.value)
    assert "value must be text" in str(info.value)
    assert "nonsense" in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[claim]]\n".encode("utf-16"), "UTF-16"),
        (b"[[claim]]\nid = '\xe9'\n", "not UTF-8"),
    ],
)
def test_a_claims_file_in_another_encoding(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "enc.toml"
    path.write_bytes(content)
    with pytest.raises(ArgumentError, match=message):
        load_claims(path)


def test_a_claims_folder_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="is a folder"):
        load_claims(tmp_path)


def test_a_utf8_bom_and_a_good_file_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_bytes(("[[claim]]\n" + CLAIM).encode("utf-8-sig"))
    [claim] = load_claims(path)
    assert (claim.id, claim.statistic, str(claim.printed.value)) == ("m", "mortality", "12")


def test_a_fraction_is_judged_without_running_out_of_precision() -> None:
    # 8/14 is held to 28 decimals, beyond decimal's default 28 significant digits at 57.1
    printed = parse_printed("8/14")
    with localcontext() as ctx:
        ctx.prec = 40
        fifty = Decimal(50).quantize(Decimal(1).scaleb(-28))
    assert printed.printed_as(0.5) == fifty
    assert not printed.rounds_to(0.5)


def _evidence(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    path = tmp_path / "evidence.csv"
    head = header or ",".join(EVIDENCE_COLUMNS)
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_good_evidence_table_is_typed(tmp_path: Path) -> None:
    path = _evidence(tmp_path, ["a2001,2001,death,patients,5,20", "b2010,,death,patients,,"])
    frame = read_evidence(path)
    assert frame["events"].tolist()[0] == 5
    assert pd.isna(frame["events"].tolist()[1])
    assert str(frame["year"].dtype) == "Int64"
    assert frame["population"].tolist() == ["unknown", "unknown"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a,2001,death,patients,x,20", "line 2, events 'x': a count must be a whole number"),
        ("a,2001,death,patients,1e400,20", "events '1e400'"),
        ("a,2001,death,patients,99999999999999999999999,20", "at most 9 digits"),
        ("a,2001,death,patients,-3,20", "events '-3'"),
        ("a,2001,death,patients,5.5,20", "events '5.5'"),
        ("a,2001,death,patients,30,20", "events 30 exceed total 20"),
        ("a,2001,death,patients,0,0", "total '0'"),
        ("a,01,death,patients,1,2", "year '01'"),
        ("a,2001,dying,patients,1,2", "outcome 'dying'"),
        ("a,2001,death,people,1,2", "unit 'people'"),
        (",2001,death,patients,1,2", "study_id blank"),
    ],
)
def test_a_bad_evidence_value_names_line_column_and_fix(
    tmp_path: Path, row: str, message: str
) -> None:
    with pytest.raises(ArgumentError, match=message):
        read_evidence(_evidence(tmp_path, [row]))


def test_every_evidence_problem_is_listed_and_long_lists_are_counted(tmp_path: Path) -> None:
    rows = [f"s{i},2001,death,patients,x,1" for i in range(30)]
    with pytest.raises(ArgumentError, match="30 problem") as info:
        read_evidence(_evidence(tmp_path, rows))
    assert "and 10 more" in str(info.value)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", CohortFileError, "No columns"),
        ("study_id,year\n".encode("utf-16"), CohortFileError, "UTF-16 or binary"),
        (b"PK\x03\x04\x00\x00binary", CohortFileError, "UTF-16 or binary"),
        (b"events,total,year\n1,2,2001\n", ArgumentError, "no column.*study_id, outcome, unit"),
    ],
)
def test_an_unreadable_evidence_file(tmp_path: Path, content: bytes, error, message) -> None:
    path = tmp_path / "evidence.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        read_evidence(path)


def test_the_shipped_extraction_passes_its_own_checks() -> None:
    shipped = load_published_series()
    again = check_evidence(shipped.astype("string"))
    assert again["events"].equals(shipped["events"])
    assert len(shipped) == 100
