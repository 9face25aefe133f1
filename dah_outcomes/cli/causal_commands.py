"""Commands that estimate causal contrasts of treatment strategies: ``emulate`` (a target
trial of starting a treatment within a grace period, by clone-censor-weight)."""

from __future__ import annotations

import argparse
from typing import Any

from dah_outcomes.cli.arguments import number_between, probability, whole_number
from dah_outcomes.cli.output import print_json

__all__ = ["print_positivity", "register"]


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
        interval=args.interval,
        day_interactions=args.day_interactions,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(result.protocol)
    print()
    print(result._title())
    print(result.to_frame().to_string(index=False))
    adjusted = ", ".join(result.adjusted_for) or "nothing"
    print(
        f"\nweights adjusted for {adjusted}; {result.ccw.bootstrap} bootstrap replicates "
        f"({result.ccw.interval} intervals)"
    )
    print(result.ccw.weights.to_string(index=False))
    print_positivity(result.ccw.positivity)
    return 0


def print_positivity(positivity: Any) -> None:
    """The positivity diagnostics of a weighted estimator, as a table and a verdict."""
    from dah_outcomes.stats.propensity import MAX_NORMALISED_WEIGHT, POSITIVITY_BOUNDS

    print(
        f"\npositivity ({positivity.what}; thresholds: below {POSITIVITY_BOUNDS[0]:g} or above "
        f"{POSITIVITY_BOUNDS[1]:g}, a weight over {MAX_NORMALISED_WEIGHT:g} times the mean, "
        "an effective size under half the rows):"
    )
    print(positivity.to_frame().to_string(index=False))
    print(
        f"near-violations: {positivity.message}"
        if positivity.flagged
        else "no near-violation of positivity"
    )


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
        type=whole_number(0),
        metavar="G",
        help="grace period: starting on day G after onset or before follows the first strategy",
    )
    em.add_argument(
        "--horizon-days",
        required=True,
        type=whole_number(1),
        metavar="H",
        help="compare the risks of death by day H after onset (H > G)",
    )
    em.add_argument(
        "--bootstrap",
        type=whole_number(0),
        default=200,
        metavar="B",
        help="bootstrap replicates of patients for the intervals (default 200; 0 for none)",
    )
    em.add_argument(
        "--seed", type=whole_number(0), default=0, help="seed of the bootstrap (default 0)"
    )
    em.add_argument("--conf-level", type=probability, default=0.95)
    em.add_argument(
        "--adjust-for",
        metavar="NAMES",
        help="comma-separated confounders (default: the declared adjustment set; '' for none)",
    )
    em.add_argument(
        "--truncate",
        type=number_between(50, 100, "(a percentile)"),
        metavar="P",
        help="truncate the weights at their P-th and (100-P)-th percentiles (e.g. 99)",
    )
    em.add_argument(
        "--interval",
        choices=("percentile", "normal"),
        default="percentile",
        help="bootstrap intervals: percentile, or normal (estimate ± z times the replicates' "
        "SD, which a few hundred replicates' tail quantiles understate less); default "
        "percentile",
    )
    em.add_argument(
        "--day-interactions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the censoring model a term per day of the grace period and covariate, so "
        "that the hazard of starting may differ by covariate from day to day "
        "(--no-day-interactions: day and covariate terms alone); default on",
    )
    em.add_argument("--json", action="store_true")
    em.set_defaults(func=_cmd_emulate, parser=em)
