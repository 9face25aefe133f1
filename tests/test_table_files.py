"""Tables as a paper's files: Table 1 written as CSV, Markdown, LaTeX and HTML by suffix, the
same bytes twice, special characters escaped, bad suffixes refused before writing; the
``table-one`` command."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort, table_one, write_table
from dah_outcomes.analyses.table_files import TABLE_FORMATS, table_text
from dah_outcomes.cli.main import main
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=4_000, seed=2)


@pytest.fixture(scope="module")
def t1(cohort: Cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return table_one(cohort, by="era")


@pytest.mark.parametrize("suffix", sorted(TABLE_FORMATS))
def test_each_format_holds_every_cell_and_is_reproducible(t1, tmp_path: Path, suffix) -> None:
    frame = t1.summary_frame()
    first = t1.write(tmp_path / f"a{suffix}").read_bytes()
    assert t1.write(tmp_path / f"b{suffix}").read_bytes() == first
    text = first.decode("utf-8")
    if suffix == ".csv":
        back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(back, frame.astype(str), check_dtype=False)
        return
    assert t1.caption.split(":")[0] in text
    for cell in frame.iloc[:, 1].tolist() + frame["Characteristic"].tolist():
        shown = cell.replace("%", r"\%") if suffix == ".tex" else cell
        assert shown in text, (suffix, cell)


def test_markdown_is_a_pipe_table_with_escaped_pipes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Characteristic": ["a | b", "c"], "x": ["1 (2%)", ""]})
    text = table_text(frame, ".md")
    lines = text.splitlines()
    assert lines[0] == "| Characteristic | x |"
    assert lines[1] == "|---|---:|"
    assert lines[2] == r"| a \| b | 1 (2%) |"
    assert all(line.count("|") - line.count(r"\|") == 3 for line in lines)


def test_latex_escapes_specials_and_uses_booktabs() -> None:
    frame = pd.DataFrame({"Characteristic": ["50% & more_than #1"], "x": ["$5"]})
    text = table_text(frame, ".tex", caption="Table 1 by site_id: A & B (n = 5)")
    assert r"50\% \& more\_than \#1" in text
    assert r"\$5" in text
    assert r"\caption{Table 1 by site\_id: A \& B (n = 5)}" in text
    assert "\\toprule" in text
    assert "\\bottomrule" in text


def test_html_escapes_cells() -> None:
    frame = pd.DataFrame({"Characteristic": ["<b>x</b>"], "x": ["1"]})
    text = table_text(frame, ".html", caption="T <1>")
    assert "&lt;b&gt;x&lt;/b&gt;" in text
    assert "<caption>T &lt;1&gt;</caption>" in text


def test_bad_suffix_is_refused_before_writing(t1, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"\.docx.*use one of \.csv"):
        write_table(t1.summary_frame(), tmp_path / "t.docx")
    assert not list(tmp_path.iterdir())


def test_table_one_command(cohort: Cohort, tmp_path: Path, capsys) -> None:
    from dah_outcomes.io import save_cohort

    save_cohort(cohort, tmp_path / "c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        assert main(["table-one", str(tmp_path / "c"), "--by", "era"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith("**Table 1 by era")
        assert re.search(r"^\| Characteristic \|", printed, re.M)
        out = tmp_path / "t1.tex"
        assert main(["table-one", str(tmp_path / "c"), "--by", "era", "--out", str(out)]) == 0
    assert out.read_text("utf-8").startswith("\\begin{table}")
    assert main(["table-one", str(tmp_path / "c"), "--out", str(tmp_path / "t.xlsx")]) == 1
    assert "use one of" in capsys.readouterr().err
