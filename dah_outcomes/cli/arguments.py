"""The argument layer shared by the command families: one option, one meaning, everywhere.

An option that more than one command takes is defined here once, so its name, choices,
default and help text cannot drift between commands.
"""

from __future__ import annotations

import argparse

__all__ = ["add_by", "add_missing"]


def add_by(parser: argparse.ArgumentParser, default: str | None) -> None:
    """The one ``--by`` option: the same choices (the grouping vocabulary) for every command."""
    from dah_outcomes.endpoints.grouping import BY_CHOICES, GROUPINGS

    words = ", ".join(
        g.name if g.label == g.name else f"{g.name} ({g.label})" for g in GROUPINGS.values()
    )
    parser.add_argument(
        "--by",
        choices=BY_CHOICES,
        default=default,
        help=f"group DAH patients by {words}"
        + (f"; default {default}" if default else "; default: overall only"),
    )


def add_missing(parser: argparse.ArgumentParser) -> None:
    """The ``--missing``, ``--imputations`` and ``--seed`` options of an analysis."""
    parser.add_argument(
        "--missing",
        choices=["complete-case", "mi"],
        default="complete-case",
        help="complete-case: leave out the patients missing a value the analysis needs "
        "(warns above 5%% of them); mi: multiple imputation by chained equations of the "
        "first episodes, estimates pooled by Rubin's rules; default complete-case",
    )
    parser.add_argument(
        "--imputations",
        type=int,
        default=20,
        metavar="M",
        help="number of imputations with --missing mi (default 20)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the imputations (default 0)")
