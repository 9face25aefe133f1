"""How the commands print: text with control characters escaped, JSON for ``--json``.

Patient ids, column names and every other value from a source file reach the terminal in
messages and tables. A value holding terminal escape codes (``ESC [ 2 J`` clears the screen,
``ESC ] 8`` makes a link, a carriage return overwrites what was printed) or bidirectional
overrides (``U+202E`` shows text reversed) must not act on the terminal: every line a command
prints goes through :func:`escape_text`, which shows such characters as Python escapes
(``\\x1b``, ``\\u202e``). New lines are kept; a backslash already in the text is left as it is.
JSON output escapes them already (``json.dumps`` writes ``\\u001b``).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TextIO

__all__ = ["echo", "escape_text", "print_json"]

#: C0 controls but the new line, DEL, C1 controls, line/paragraph separators, bidi controls
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: object) -> str:
    """``str(text)`` with characters that act on a terminal shown as escapes.

    Parameters
    ----------
    text : object
        What to print (converted with ``str``).

    Returns
    -------
    str
        The text with control characters (but the new line), bidirectional controls and
        line separators written as ``\\xNN`` or ``\\uNNNN``.
    """
    return _UNSAFE.sub(_escape, str(text))


def echo(text: object = "", *, file: TextIO | None = None, end: str = "\n") -> None:
    """Print ``text`` escaped (see :func:`escape_text`) on stdout, or on ``file``.

    Parameters
    ----------
    text : object, default ""
        What to print.
    file : file object, optional
        Where (stdout by default, looked up at the call so that tests can capture it).
    end : str, default "\\n"
        Written after the text, as is.

    Returns
    -------
    None
    """
    print(escape_text(text), file=file or sys.stdout, end=end)


def print_json(obj: Any) -> None:
    """Print ``obj`` (JSON-safe already) as indented JSON on stdout.

    Parameters
    ----------
    obj : object
        JSON-safe data.

    Returns
    -------
    None
    """
    print(json.dumps(obj, indent=2, sort_keys=False))
