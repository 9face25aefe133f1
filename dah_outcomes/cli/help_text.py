"""What the command line says about itself: an example per command, the meaning of the
options every command shares, and the help formatter that shows defaults.

The options many commands take (``--conf-level``, ``--json``, ``--seed``, the cohort folder)
mean one thing everywhere; their words live here once, and a command that declares one
without help of its own gets these (:func:`complete_help`).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import NoReturn

__all__ = [
    "EXAMPLES",
    "SHARED_HELP",
    "CommandParser",
    "HelpFormatter",
    "complete_help",
    "iter_commands",
]

#: one realistic command line per subcommand (a test checks that each parses)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "import": (
        "dah-outcomes import registry.csv --mapping registry.mapping.toml --out cohort/",
        "dah-outcomes import redcap.csv --dictionary dictionary.csv --out cohort/ --strict",
    ),
    "init-mapping": (
        "dah-outcomes init-mapping registry.csv --out registry.mapping.toml",
        "dah-outcomes init-mapping redcap.csv --dictionary dictionary.csv --out redcap.toml",
    ),
    "omop": ("dah-outcomes omop extract --db cdm.duckdb --out cohort/",),
    "omop extract": ("dah-outcomes omop extract --db cdm.duckdb --out cohort/",),
    "omop synthesize": ("dah-outcomes omop synthesize --n-sle 5000 --seed 1 --out cdm.duckdb",),
    "generate": (
        "dah-outcomes generate --scenario seed-article --seed 1 --out cohort/",
        "dah-outcomes generate --missingness mar --missing-fraction 0.3 --out cohort_mar/",
    ),
    "validate": ("dah-outcomes validate cohort/",),
    "scenarios": ("dah-outcomes scenarios",),
    "schema": ("dah-outcomes schema --format markdown",),
    "demo": ("dah-outcomes demo --out output/",),
    "rates": (
        "dah-outcomes rates cohort/ --by arm --ci-method wilson",
        "dah-outcomes rates cohort/ --missing mi --imputations 20 --json",
    ),
    "survival": ("dah-outcomes survival cohort/ --by arm --plot km.png",),
    "treatment-effect": (
        "dah-outcomes treatment-effect cohort/ --treatment cyclophosphamide --method time-varying",
    ),
    "report": (
        "dah-outcomes report cohort/ --out report.html --min-cell 5",
        "dah-outcomes report cohort/ --missing mi --strategy plasmapheresis:7",
    ),
    "table-one": ("dah-outcomes table-one cohort/ --by era --out table1.tex",),
    "emulate": (
        "dah-outcomes emulate cohort/ --treatment cyclophosphamide --grace-days 2 "
        "--horizon-days 90 --bootstrap 200 --seed 1",
    ),
    "reproduce": ("dah-outcomes reproduce claims.toml --cohort cohort/",),
    "audit": ("dah-outcomes audit claims.toml --json",),
    "standardise": ("dah-outcomes standardise cohort/ --method both --bootstrap 200 --seed 1",),
    "balance": ("dah-outcomes balance cohort/ --estimand ATE --love-plot love.png",),
}

#: the meaning of an option wherever it appears, for commands that give no help of their own
SHARED_HELP: dict[str, str] = {
    "path": "the cohort folder (written by 'generate', 'import' or 'omop extract')",
    "paths": "a cohort folder, or its patients and episodes files",
    "source": "the registry export to read (CSV, TSV, Excel, Parquet, SAS, SPSS, Stata)",
    "claims": "the claims file (TOML) naming each cited figure and how it was computed",
    "--json": "print the result as JSON instead of a table",
    "--conf-level": "confidence level of every interval, in (0, 1)",
    "--ci-method": "method of the proportion intervals (wilson, clopper-pearson, ...)",
    "--conf-type": "transform of the Kaplan-Meier intervals: log, log-log or plain",
    "--seed": "seed of every random draw; the same seed gives the same output",
    "--n-sle": "size of the simulated SLE population",
    "--scenario": "a shipped scenario name (see 'dah-outcomes scenarios') or a scenario file",
    "--format": "format of the file written or read",
    "--table-format": "format of the cohort tables written (csv or parquet)",
    "--sheet": "the Excel sheet to read (name or 0-based number)",
    "--layout": "the layout of the source: flat (one row per patient), episodes or two tables",
    "--engine": "the database engine that holds the OMOP tables",
    "--treatment": "the treatment compared (a column of the cohort, e.g. cyclophosphamide)",
    "--method": "the estimator",
    "--out": "where the output is written",
    "--cohort": "the cohort folder the claims are recomputed from",
    "--estimand": "whom the weights stand for: ATE (everyone), ATT (the treated), overlap",
    "omop_command": "what to do with the OMOP database",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with each option's default beside it (unless it has none, is a switch, or the
    text gives it already), and descriptions and examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default is argparse.SUPPRESS
            or isinstance(action, argparse._HelpAction | argparse._VersionAction)
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors suggest the nearest option or command."""

    def error(self, message: str) -> NoReturn:
        hint = _suggestion(self, message)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _all_options(parser: argparse.ArgumentParser) -> list[str]:
    found: list[str] = []
    for action in parser._actions:
        found.extend(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_all_options(sub))
    return sorted(set(found))


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """``"; did you mean --conf-level?"`` for the unknown options named in ``message``."""
    if "unrecognized arguments:" not in message:
        return ""
    words = message.split("unrecognized arguments:", 1)[1].split()
    options = _all_options(parser)
    hints = []
    for word in words:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
            if close:
                hints.append(f"{word} -> {close[0]}")
    return f" (did you mean: {', '.join(hints)}?)" if hints else ""


def iter_commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> list[tuple[str, argparse.ArgumentParser, str | None]]:
    """Every subcommand below ``parser`` as ``(name, its parser, its one-line help)``, the
    nested ones named ``"omop extract"``.

    Parameters
    ----------
    parser : ArgumentParser
        The top-level (or a command's) parser.
    prefix : str, default ""
        Prepended to the names (used in the recursion).

    Returns
    -------
    list of tuple
    """
    out: list[tuple[str, argparse.ArgumentParser, str | None]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                out.append((full, sub, helps.get(name)))
                out.extend(iter_commands(sub, prefix=f"{full} "))
    return out


def complete_help(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand its description (its one-line help, when it has no longer
    one), its examples, the shared help of the common options it leaves without help, and
    the formatter that shows defaults.

    Parameters
    ----------
    parser : ArgumentParser
        The top-level parser, with every command registered.

    Returns
    -------
    None
    """
    for name, sub, summary in iter_commands(parser):
        sub.formatter_class = HelpFormatter
        if not sub.description and summary:
            sub.description = summary[0].upper() + summary[1:] + "."
        if not sub.epilog and name in EXAMPLES:
            sub.epilog = "example:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
        for action in sub._actions:
            key = action.option_strings[-1] if action.option_strings else action.dest
            if not action.help and key in SHARED_HELP:
                action.help = SHARED_HELP[key]
            if not action.option_strings and action.dest in ("path", "paths"):
                action.metavar = action.metavar or ("COHORT" if action.dest == "path" else "PATH")
