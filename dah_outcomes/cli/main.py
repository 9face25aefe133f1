"""The ``dah-outcomes`` command line: the top-level parser and the error boundary.

Each command family registers its subcommands from its own module; here every error of ours,
and every operating-system error (a file that cannot be read or written), becomes one message
on stderr, with its path, and exit code 1, never a traceback. Messages are printed with
control characters escaped (:func:`~dah_outcomes.cli.output.escape_text`): they quote values
from the user's files.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from dah_outcomes.cli import (
    analysis_commands,
    causal_commands,
    cohort_commands,
    import_commands,
    omop_commands,
    report_commands,
    reproduce_commands,
    standardise_commands,
)
from dah_outcomes.cli.help_text import CommandParser, HelpFormatter, complete_help
from dah_outcomes.cli.output import echo, escape_text
from dah_outcomes.errors import DahOutcomesError, DahOutcomesWarning

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command family registered."""
    from dah_outcomes._version import __version__

    parser = CommandParser(
        prog="dah-outcomes",
        description="Outcomes research for diffuse alveolar hemorrhage (DAH) in SLE.",
        epilog="Run 'dah-outcomes COMMAND --help' for a command's options and an example.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=CommandParser, title="commands"
    )
    for family in (
        import_commands,
        omop_commands,
        cohort_commands,
        analysis_commands,
        report_commands,
        causal_commands,
        reproduce_commands,
        standardise_commands,
    ):
        family.register(sub)
    complete_help(parser)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Our warnings as one plain line on stderr (no file name or line: the user ran a command,
    not a script); others as Python shows them."""
    if issubclass(category, DahOutcomesWarning):
        echo(f"warning: {message}", file=sys.stderr)
    else:
        text = warnings.formatwarning(message, category, filename, lineno, line)
        sys.stderr.write(escape_text(text))


class _EscapedStream:
    """stdout for a command: every text written is escaped (new lines kept), so that no
    command, whatever it prints (a table of sites, a result's repr), passes a value's
    terminal codes through. Escaping is idempotent: text escaped already is unchanged."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(escape_text(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding... as the stream's
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        0 on success, 1 for an error of ours (printed on stderr), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `dah-outcomes`: what it can do, not an error
        parser.print_help()
        return 0
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(_EscapedStream(sys.stdout)),
            # numpy's floating-point notes (a 0/0 in an empty arm) are not for the user of a
            # command: the results say what could not be estimated
            np.errstate(all="ignore"),
        ):
            warnings.showwarning = _show_warning
            return int(args.func(args))
    except DahOutcomesError as err:
        echo(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # one a command did not turn into ours: still the path, no traceback
        from dah_outcomes.io.files import file_error

        echo(f"error: {file_error('cannot use', err.filename, err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
