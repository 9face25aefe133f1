"""The argument layer shared by the command families: one option, one meaning, everywhere.

An option that more than one command takes is defined here once, so its name, choices,
default and help text cannot drift between commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["add_by", "add_missing", "number_between", "probability", "whole_number"]


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum`` (a bad value is a usage error, exit 2).

    Parameters
    ----------
    minimum : int
        The smallest value allowed (0 for a count, 1 for a positive number).

    Returns
    -------
    callable
        Parses the option's text.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def number_between(low: float, high: float, meaning: str) -> Callable[[str], float]:
    """An argparse type: a number strictly between ``low`` and ``high``.

    Parameters
    ----------
    low, high : float
        The open interval allowed.
    meaning : str
        What the number is, shown in the message (e.g. ``"(a percentile)"``).

    Returns
    -------
    callable
        Parses the option's text.
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low < value < high:
            raise argparse.ArgumentTypeError(
                f"must be in ({low:g}, {high:g}) {meaning}, got {value}"
            )
        return value

    return parse


#: An argparse type: a probability or confidence level strictly between 0 and 1.
probability = number_between(0, 1, "(0.95 for 95%)")


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
