"""Claims: parsing printed figures, claims files, and verdicts at the printed precision."""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pytest

from dah_outcomes import ArgumentError, Cohort
from dah_outcomes.errors import DahOutcomesWarning, ImmortalTimeWarning
from dah_outcomes.reproduce.claims import load_claims, parse_printed
from dah_outcomes.reproduce.recompute import Recomputed
from dah_outcomes.reproduce.verdicts import judge, reproduce

# the shipped claims file, by its path (the name "cited-figures" is tested beside it)
CITED = Path(__file__).parents[2] / "dah_outcomes" / "reproduce" / "data" / "cited_figures.toml"


@pytest.mark.parametrize(
    ("text", "kind", "value", "decimals", "percent"),
    [
        ("12%", "point", "12", 0, True),
        ("~12%", "point", "12", 0, True),
        ("about 12 %", "point", "12", 0, True),
        (">50%", "lower_bound", "50", 0, True),
        ("more than 50%", "lower_bound", "50", 0, True),
        ("<5%", "upper_bound", "5", 0, True),
        ("5-6%", "range", "5", 0, True),
        ("8 (57.1%)", "point", "57.1", 1, True),
        ("85,7%", "point", "85.7", 1, True),
        ("0.42 (0.21-0.80)", "point", "0.42", 2, False),
        ("310", "point", "310", 0, False),
    ],
)
def test_parse_printed(text, kind, value, decimals, percent) -> None:
    p = parse_printed(text)
    assert (p.kind, p.value, p.decimals, p.percent) == (kind, Decimal(value), decimals, percent)


def test_parse_keeps_counts_and_ci() -> None:
    assert parse_printed("8/14 (57.1%)").total == 14
    assert parse_printed("0.42 (0.21-0.80)").ci == (Decimal("0.21"), Decimal("0.80"))
    with pytest.raises(ArgumentError, match="cannot read the printed figure"):
        parse_printed("most patients")


def r(est: float, lo: float, hi: float, k: int | None = None, n: int | None = None):
    return Recomputed(est, lo, hi, "wilson", 0.95, k, n)


@pytest.mark.parametrize(
    ("printed", "recomputed", "verdict"),
    [
        ("12%", r(0.1249, 0.10, 0.15), "reproduced"),  # rounds to 12
        ("12%", r(0.1250, 0.10, 0.15), "consistent"),  # rounds half up to 13
        ("12%", r(0.30, 0.25, 0.35), "not reproduced"),
        ("12.0%", r(0.1249, 0.10, 0.15), "consistent"),  # one decimal: 12.5 != 12.0
        ("5-6%", r(0.0549, 0.05, 0.06), "reproduced"),
        ("5-6%", r(0.0660, 0.058, 0.075), "consistent"),
        ("5-6%", r(0.0450, 0.04, 0.05), "reproduced"),  # 4.5 prints as 5, half up
        ("5-6%", r(0.0650, 0.058, 0.075), "consistent"),  # 6.5 prints as 7, half up
        (">50%", r(0.54, 0.52, 0.56), "reproduced"),
        (">50%", r(0.48, 0.40, 0.56), "consistent"),
        (">50%", r(0.30, 0.25, 0.35), "not reproduced"),
        ("8 (57.1%)", r(8 / 14, 0.33, 0.79, 8, 14), "reproduced"),
        ("8 (57.0%)", r(8 / 14, 0.33, 0.79, 8, 14), "not reproduced"),  # percent misprinted
        ("up to 29%", r(0.25, 0.2, 0.3), "reproduced"),
    ],
)
def test_verdicts_at_printed_precision(printed, recomputed, verdict) -> None:
    assert judge(parse_printed(printed), recomputed)[0] == verdict


def test_cited_claims_file_loads() -> None:
    claims = load_claims(CITED)
    assert [c.id for c in claims][:2] == ["incidence", "first_manifestation"]
    assert load_claims("cited-figures") == claims
    aggressive = next(c for c in claims if c.id == "mortality_aggressive")
    assert (aggressive.by, aggressive.group, aggressive.printed.approximate) == (
        "arm",
        "MP+CYC+PLEX",
        True,
    )


def test_claims_file_problems_listed_together(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[claim]]\nid="a"\nstatistic="vibes"\nvalue="1%"\n'
        '[[claim]]\nid="b"\nstatistic="proportion"\nendpoint="mortality"\n'
        'value="lots"\ncolour=1\n'
    )
    with pytest.raises(ArgumentError) as info:
        load_claims(path)
    msg = str(info.value)
    assert "3 problem(s)" in msg
    assert "vibes" in msg
    assert "lots" in msg
    assert "colour" in msg


def test_unknown_claims_source_names_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="cited-figures"):
        load_claims(tmp_path / "missing.toml")
    with pytest.raises(ArgumentError, match="cited-figures"):
        load_claims("cited_figures")


def test_reproduce_on_counted_cohort(small_tables, tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(
        "claims:\n"
        "  - {id: mort, statistic: mortality, value: '1 (33.3%)'}\n"
        "  - {id: vent, statistic: proportion, endpoint: mechanical_ventilation,"
        " value: '67%'}\n"
        "  - {id: inc, statistic: incidence_proportion, value: '60%'}\n"
        "  - {id: arm, statistic: mortality, value: '100%', population:"
        " 'arm:MP+CYC'}\n"
    )
    # flags without courses: the arm's timing is unknown, and the row says so
    with pytest.warns(ImmortalTimeWarning, match="no start date"):
        result = reproduce(load_claims(path), Cohort(*small_tables)).to_frame()
    result = result.set_index("claim")
    assert "ImmortalTimeWarning" in result.loc["arm", "warnings"]
    assert result.loc["mort", "warnings"] == ""
    assert result["verdict"].to_dict() == {
        "mort": "reproduced",
        "vent": "reproduced",
        "inc": "reproduced",
        "arm": "reproduced",
    }
    assert result.loc["mort", "events"] == 1
    assert result.loc["mort", "total"] == 3


def test_survival_claims_and_cli(tmp_path: Path, capsys) -> None:
    import json

    from dah_outcomes import generate_cohort, save_cohort
    from dah_outcomes.cli import main

    cohort = generate_cohort("seed-article", n_sle=40_000, seed=2)
    save_cohort(cohort, tmp_path / "c")
    path = tmp_path / "claims.toml"
    path.write_text(
        '[[claim]]\nid = "s90"\nstatistic = "survival_at"\ntime_days = 90\nvalue = "80%"\n'
        '[[claim]]\nid = "hr"\nstatistic = "hazard_ratio"\nterm = "plasmapheresis"\n'
        'value = "0.42 (0.21-0.80)"\n'
        '[[claim]]\nid = "median"\nstatistic = "median_survival"\nvalue = "310"\n'
        'by = "era"\ngroup = "historical"\n'
    )
    with warnings.catch_warnings():
        warnings.simplefilter("always", DahOutcomesWarning)  # the CLI prints them
        assert main(["reproduce", str(path), "--cohort", str(tmp_path / "c"), "--json"]) == 0
    rows = {r["claim"]: r for r in json.loads(capsys.readouterr().out)["claims"]}
    assert rows["s90"]["method"].startswith("Kaplan-Meier survival at 90")
    assert rows["hr"]["verdict"] in ("reproduced", "consistent", "not reproduced")
    assert 0 < rows["hr"]["estimate"] < 2
    assert rows["median"]["verdict"] in (
        "reproduced",
        "consistent",
        "not reproduced",
        "not recomputable",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("always", DahOutcomesWarning)
        assert main(["reproduce", str(CITED), "--cohort", str(tmp_path / "c")]) == 0
        by_path = capsys.readouterr().out
        assert "mortality_aggressive" in by_path
        assert main(["reproduce", "cited-figures", "--cohort", str(tmp_path / "c")]) == 0
        assert capsys.readouterr().out == by_path
