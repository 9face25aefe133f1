"""Commands that estimate causal contrasts of treatment strategies: ``emulate`` (a target
trial of starting a treatment within a grace period, by clone-censor-weight)."""

from __future__ import annotations

import argparse
from typing import Any

from dah_outcomes.cli.output import print_json

__all__ = ["register"]


def _whole_number(minimum: int) -> Any:
    """An argparse type: a whole number >= ``minimum`` (a bad value is a usage error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _number_between(low: float, high: float, meaning: str) -> Any:
    """An argparse type: a number strictly between ``low`` and ``high`` (``meaning`` says
    what it is in the message, e.g. "(0.95 for 95%)")."""

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


def _names(text: str) -> list[str]:
    """A comma-separated list of names ("" for none)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _cmd_emulate(args: argparse.Namespace) -> int:
    if args.horizon_days <= args.grace_days:
        args.parser.error(
            f"--horizon-days ({args.horizon_days}) must be after the grace period "
            f"(--grace-days {args.grace_days})"
        )
    from dah_outcomes.analyses.adjustment import DEFAULT_ADJUSTMENT
    from dah_outcomes.analyses.target_trial import emulate_target_trial
    from dah_outcomes.io import load_cohort

    cohort = load_cohort(args.path)
    result = emulate_target_trial(
        cohort,
        treatment=args.treatment,
        grace_days=args.grace_days,
        horizon_days=args.horizon_days,
        bootstrap=args.bootstrap,
        seed=args.seed,
        conf_level=args.conf_level,
        adjust_for=DEFAULT_ADJUSTMENT if args.adjust_for is None else _names(args.adjust_for),
        truncate=args.truncate,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(result.protocol)
    print()
    print(result._title())
    print(result.to_frame().to_string(index=False))
    adjusted = ", ".join(result.adjusted_for) or "nothing"
    print(f"\nweights adjusted for {adjusted}; {result.ccw.bootstrap} bootstrap replicates")
    print(result.ccw.weights.to_string(index=False))
    return 0


def register(sub: Any) -> None:
    """Add this family's subcommands to the top-level parser's subparsers."""
    from dah_outcomes.endpoints.timelines import treatment_names

    em = sub.add_parser(
        "emulate",
        help="target trial emulation: risk of death under 'start TREATMENT within G days' vs "
        "not, by clone-censor-weight",
    )
    em.add_argument("path", metavar="COHORT")
    em.add_argument("--treatment", required=True, choices=treatment_names())
    em.add_argument(
        "--grace-days",
        required=True,
        type=_whole_number(0),
        metavar="G",
        help="grace period: starting on day G after onset or before follows the first strategy",
    )
    em.add_argument(
        "--horizon-days",
        required=True,
        type=_whole_number(1),
        metavar="H",
        help="compare the risks of death by day H after onset (H > G)",
    )
    em.add_argument(
        "--bootstrap",
        type=_whole_number(0),
        default=200,
        metavar="B",
        help="bootstrap replicates of patients for the intervals (default 200; 0 for none)",
    )
    em.add_argument(
        "--seed", type=_whole_number(0), default=0, help="seed of the bootstrap (default 0)"
    )
    em.add_argument("--conf-level", type=_number_between(0, 1, "(0.95 for 95%)"), default=0.95)
    em.add_argument(
        "--adjust-for",
        metavar="NAMES",
        help="comma-separated confounders (default: the declared adjustment set; '' for none)",
    )
    em.add_argument(
        "--truncate",
        type=_number_between(50, 100, "(a percentile)"),
        metavar="P",
        help="truncate the weights at their P-th and (100-P)-th percentiles (e.g. 99)",
    )
    em.add_argument("--json", action="store_true")
    em.set_defaults(func=_cmd_emulate, parser=em)
