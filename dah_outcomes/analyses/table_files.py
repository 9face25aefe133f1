"""Tables written as a paper's files: CSV, Markdown, LaTeX or HTML, by the file's suffix.

A result's ``summary_frame()`` is what a paper prints (Table 1, a hazard-ratio table); here
it becomes a file an author pastes or includes. Files are written atomically and are the same
bytes for the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.files import write_atomic

__all__ = ["TABLE_FORMATS", "table_text", "write_table"]

#: The suffixes a table can be written to, and what each is.
TABLE_FORMATS: dict[str, str] = {
    ".csv": "comma-separated values (UTF-8)",
    ".md": "Markdown (a pipe table)",
    ".tex": "LaTeX (a booktabs tabular in a table float)",
    ".html": "HTML (one table element)",
}


def _cell(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _markdown(frame: pd.DataFrame, caption: str | None) -> str:
    def row(cells: list[str]) -> str:
        # a pipe inside a cell would end it: escaped as Markdown wants
        return "| " + " | ".join(c.replace("|", r"\|").replace("\n", " ") for c in cells) + " |"

    lines = [f"**{caption}**", ""] if caption else []
    lines.append(row([str(c) for c in frame.columns]))
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(frame.columns) - 1)) + "|")
    lines.extend(row([_cell(v) for v in rec]) for rec in frame.itertuples(index=False))
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(frame: pd.DataFrame, caption: str | None) -> str:
    text = frame.astype(object).map(_cell)
    styler = text.style.hide(axis="index").format(escape="latex")
    styler = styler.format_index(escape="latex", axis="columns")
    return styler.to_latex(
        caption=None if caption is None else _latex_escape(caption),
        hrules=True,
        column_format="l" + "r" * (len(frame.columns) - 1),
        position_float="centering",
        environment="table",
    )


def _html(frame: pd.DataFrame, caption: str | None) -> str:
    body = frame.astype(object).map(_cell).to_html(index=False, escape=True, border=0)
    if caption:
        import html

        body = body.replace(">\n", f">\n  <caption>{html.escape(caption)}</caption>\n", 1)
    return body + "\n"


def _csv(frame: pd.DataFrame, caption: str | None) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


_WRITERS: dict[str, Callable[[pd.DataFrame, str | None], str]] = {
    ".csv": _csv,
    ".md": _markdown,
    ".tex": _latex,
    ".html": _html,
}


def table_text(frame: pd.DataFrame, fmt: str, *, caption: str | None = None) -> str:
    """A table's text in one of :data:`TABLE_FORMATS`.

    Parameters
    ----------
    frame : DataFrame
        The table as printed (e.g. a result's ``summary_frame()``); its index is not written.
    fmt : {".csv", ".md", ".tex", ".html"}
        The format, as a file suffix.
    caption : str, optional
        The table's title (not written to CSV).

    Returns
    -------
    str

    Raises
    ------
    ArgumentError
        For another format.
    """
    writer = _WRITERS.get(fmt.lower())
    if writer is None:
        raise ArgumentError(
            f"cannot write a table as {fmt!r}: use one of "
            + ", ".join(f"{k} ({v})" for k, v in TABLE_FORMATS.items())
        )
    return writer(frame, caption)


def write_table(frame: pd.DataFrame, path: str | Path, *, caption: str | None = None) -> Path:
    """Write a table to ``path`` in the format its suffix names, atomically.

    Parameters
    ----------
    frame : DataFrame
        The table as printed.
    path : str or Path
        The file; its suffix is one of :data:`TABLE_FORMATS`.
    caption : str, optional
        The table's title (Markdown, LaTeX, HTML).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ArgumentError
        For a suffix that is not a table format (before anything is written).
    """
    path = Path(path)
    text = table_text(frame, path.suffix, caption=caption)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))
