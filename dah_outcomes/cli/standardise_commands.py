"""The ``standardise`` command: observed and standardised (g-computation, AIPW) risks of
death by arm, with bootstrap intervals; and ``balance``: the weighted Table 1 by arm, with the
love and overlap plots."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dah_outcomes.cli.arguments import probability, whole_number
from dah_outcomes.cli.causal_commands import print_positivity
from dah_outcomes.cli.output import print_json
from dah_outcomes.errors import ArgumentError

__all__ = ["register"]

_IN_HOSPITAL = "in_hospital"


def _horizons(text: str) -> list[int | str]:
    """``--horizon`` values: days (whole, >= 1) or ``in_hospital``, comma-separated."""
    out: list[int | str] = []
    for part in (p.strip() for p in text.split(",")):
        if part.replace("-", "_") == _IN_HOSPITAL:
            out.append(_IN_HOSPITAL)
            continue
        try:
            days = int(part)
        except ValueError:
            days = 0
        if days < 1:
            raise argparse.ArgumentTypeError(
                f"a horizon is a whole number of days >= 1 or in_hospital, got {part!r}"
            )
        out.append(days)
    return out


def _cell(row: Any, method: str) -> str:
    r, lo, hi = (getattr(row, f"{method}_{k}") for k in ("risk", "ci_lower", "ci_upper"))
    if lo != lo:  # NaN: no bootstrap
        return f"{r:.1%}"
    return f"{r:.1%} ({lo:.1%} to {hi:.1%})"


def _print(result: Any) -> None:
    from dah_outcomes.analyses.arm_risks import STANDARDISATION_METHODS

    methods = ("observed", *STANDARDISATION_METHODS[result.method])
    names = {"observed": "observed", "gcomputation": "g-computation", "aipw": "AIPW"}
    print(result._title())
    frame = result.to_frame()
    for horizon in result.horizons:
        what = "in hospital" if horizon == _IN_HOSPITAL else f"by day {horizon}"
        print(f"\ndeath {what} ({result.conf_level:.0%} bootstrap percentile CI):")
        for row in frame[frame["horizon"] == horizon].itertuples():
            cells = "; ".join(f"{names[m]} {_cell(row, m)}" for m in methods)
            print(f"  {row.arm} (n = {row.n}, {row.n_events} deaths): {cells}")
    ess = ", ".join(f"{a} {n:.0f}" for a, n in result.effective_n.items())
    print(f"\neffective sample size under stabilised ATE weights: {ess}")
    if result.risks.propensity.positivity is not None:
        print_positivity(result.risks.propensity.positivity)
    if result.arms_left_out:
        small = ", ".join(f"{a} (n = {n})" for a, n in result.arms_left_out.items())
        print(f"arms left out for their size: {small}")


def _cmd_standardise(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.adjustment import DEFAULT_ADJUSTMENT
    from dah_outcomes.analyses.arm_risks import DEFAULT_HORIZONS, standardised_risks
    from dah_outcomes.io import load_cohort

    horizons = [h for group in args.horizon for h in group] if args.horizon else DEFAULT_HORIZONS
    adjust = (
        DEFAULT_ADJUSTMENT
        if args.adjust_for is None
        else [n.strip() for n in args.adjust_for.split(",") if n.strip()]
    )
    cohort = load_cohort(args.path)
    result = standardised_risks(
        cohort,
        horizons=horizons,
        method=args.method,
        adjust_for=adjust,
        bootstrap=args.bootstrap,
        seed=args.seed,
        conf_level=args.conf_level,
    )
    if args.json:
        print_json(result.to_dict())
    else:
        _print(result)
    return 0


def _plot_format(path: str) -> str:
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ArgumentError(f"a plot path must end in .png, .svg or .pdf, got {path!r}")
    return fmt


def _save(ax: Any, path: str) -> None:
    from dah_outcomes.io.files import write_atomic
    from dah_outcomes.plotting import save_figure

    fmt = _plot_format(path)
    write_atomic(Path(path), lambda p: save_figure(ax, p, format=fmt, dpi=150))


def _cmd_balance(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.adjustment import DEFAULT_ADJUSTMENT
    from dah_outcomes.analyses.balance import weighted_table_one
    from dah_outcomes.io import load_cohort
    from dah_outcomes.plotting.balance import plot_love, plot_overlap

    adjust = (
        DEFAULT_ADJUSTMENT
        if args.adjust_for is None
        else [n.strip() for n in args.adjust_for.split(",") if n.strip()]
    )
    for path in (args.love_plot, args.overlap_plot):
        if path:
            _plot_format(path)  # refused before the work, not after
    cohort = load_cohort(args.path)
    result = weighted_table_one(
        cohort,
        estimand=args.estimand,
        reference=args.reference,
        adjust_for=adjust,
        truncate_quantile=args.truncate_quantile,
        truncate_at=args.truncate_at,
    )
    if args.love_plot:
        _save(plot_love(result.to_frame(), threshold=result.threshold), args.love_plot)
    if args.overlap_plot:
        _save(plot_overlap(result.weights, arm=args.overlap_arm), args.overlap_plot)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result)
        ess = ", ".join(f"{a} {n:.0f} of {result.counts[a]}" for a, n in result.effective_n.items())
        print(f"\neffective sample size per arm: {ess}")
        if result.weights.positivity is not None:
            print_positivity(result.weights.positivity)
    return 0


def register(sub: Any) -> None:
    """Add this family's subcommands to the top-level parser's subparsers."""
    s = sub.add_parser(
        "standardise",
        help="observed and standardised (g-computation, AIPW) risks of death by arm",
    )
    s.add_argument("path", metavar="COHORT")
    s.add_argument(
        "--horizon",
        type=_horizons,
        action="append",
        help="days from DAH onset and/or in_hospital, comma-separated or repeated "
        "(default: 30,90,in_hospital)",
    )
    s.add_argument("--method", choices=("aipw", "gcomputation", "both"), default="both")
    s.add_argument("--bootstrap", type=whole_number(0), default=200, help="replicates (0: no CIs)")
    s.add_argument("--seed", type=whole_number(0), default=0)
    s.add_argument("--conf-level", type=probability, default=0.95)
    s.add_argument(
        "--adjust-for",
        help="comma-separated adjustment covariates (default: the report's adjustment set)",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_standardise)

    b = sub.add_parser(
        "balance", help="Table 1 by arm before and after propensity weighting, with SMDs"
    )
    b.add_argument("path", metavar="COHORT")
    b.add_argument("--estimand", choices=("ATE", "ATT", "overlap"), default="ATE")
    b.add_argument("--reference", help="the ATT's reference arm")
    b.add_argument("--truncate-quantile", type=float, help="truncate at these percentiles")
    b.add_argument("--truncate-at", type=float, help="truncate the weights at this value")
    b.add_argument(
        "--adjust-for",
        help="comma-separated propensity covariates (default: the report's adjustment set)",
    )
    b.add_argument("--love-plot", metavar="PATH", help="save the love plot (.png/.svg/.pdf)")
    b.add_argument("--overlap-plot", metavar="PATH", help="save the overlap plot")
    b.add_argument("--overlap-arm", help="the arm whose propensity the overlap plot shows")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_cmd_balance)
