"""An unfinished mapping: the ``TODO`` lines a draft leaves for the analyst.

:func:`~dah_outcomes.io.draft.draft_mapping` writes what it cannot decide as a ``TODO`` in a
value (an ambiguous header, a date format that reads both ways, a flag value outside the
vocabulary); :func:`~dah_outcomes.io.mapping.load_mapping` stops on those once, naming every
such line, instead of letting the import fail row by row.
"""

from __future__ import annotations

from pathlib import Path

from dah_outcomes.errors import ArgumentError

__all__ = ["refuse_todos", "todo_lines"]


def refuse_todos(text: str, path: Path | None) -> None:
    """An unfinished draft stops the import once, naming every TODO line (not per row).

    A ``TODO`` in a comment is a note (a column left out, a source column not mapped); one in
    a value (``values = { "9" = "TODO" }``, ``format = "TODO: ..."``) is a decision the
    analyst has still to make.

    Parameters
    ----------
    text : str
        The mapping's TOML or YAML text.
    path : Path or None
        Its file (named in the message).

    Raises
    ------
    ArgumentError
        One message listing every ``file:line: text`` holding a TODO.
    """
    todo = todo_lines(text, str(path) if path else "mapping")
    if todo:
        raise ArgumentError(
            f"the mapping still holds {len(todo)} TODO line(s) to finish before importing "
            "(give each value, or delete the line to leave the column out):\n  " + "\n  ".join(todo)
        )


def todo_lines(text: str, where: str = "mapping") -> list[str]:
    """The lines of a mapping's text that hold a ``TODO`` outside a comment.

    Parameters
    ----------
    text : str
        TOML or YAML text.
    where : str, default "mapping"
        The file name to show.

    Returns
    -------
    list of str
        ``"file:line: text"`` for each.
    """
    return [
        f"{where}:{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), start=1)
        if "TODO" in _uncommented(line)
    ]


def _uncommented(line: str) -> str:
    """A TOML/YAML line without its comment (a ``#`` outside quotes starts one)."""
    quote = ""
    escaped = False
    for i, ch in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line
