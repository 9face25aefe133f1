"""Commands that analyse a cohort: ``rates``, ``survival``, ``treatment-effect`` and
``report``."""

from __future__ import annotations

import argparse
from typing import Any

from dah_outcomes.cli.arguments import add_by, add_missing
from dah_outcomes.cli.figure_files import add_dpi
from dah_outcomes.cli.output import print_json
from dah_outcomes.errors import ArgumentError

__all__ = ["register"]


def _cmd_rates(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.outcome_rates import rates
    from dah_outcomes.io import load_cohort

    cohort = load_cohort(args.path)
    result = rates(
        cohort,
        args.by,
        ci_method=args.ci_method,
        conf_level=args.conf_level,
        death_within_days=args.death_within_days,
        **_missing_options(args),
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print(result)
        _print_person_time_endpoints(result)
        _print_missing(result.missing_data)
    return 0


def _missing_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``missing=``, ``imputations=`` and ``seed=`` keywords of an analysis."""
    return {"missing": args.missing, "imputations": args.imputations, "seed": args.seed}


def _print_missing(record: dict[str, Any]) -> None:
    """Say how missing values were handled: under imputation, or when complete case left
    out more than its threshold (otherwise the text output is as it always was)."""
    above = record.get("fraction_incomplete", 0) > record.get("threshold", 1) and record.get(
        "n_incomplete", 0
    ) >= record.get("min_rows", 0)
    if record.get("method") == "mi" or above:
        print(_missing_text(record))


def _missing_text(record: dict[str, Any]) -> str:
    """One line on how missing values were handled (the result's ``missing_data``)."""
    if record.get("method") == "mi":
        columns = ", ".join(f"{c} ({n:,})" for c, n in record["n_imputed"].items())
        fmi = [v for v in record["fmi"].values() if v is not None]
        largest = f"; largest fraction of missing information {max(fmi):.2f}" if fmi else ""
        return (
            f"\nmissing data: multiple imputation by chained equations, "
            f"{record['imputations']} imputations (seed {record['seed']}), pooled by Rubin's "
            f"rules; imputed {columns}{largest}"
        )
    n, k = record.get("n_rows", 0), record.get("n_incomplete", 0)
    unknown = record.get("n_unknown_arm")
    arm = f", {unknown:,} with an unknown arm" if unknown else ""
    share = f" ({k / n:.1%})" if n else ""
    return (
        f"\nmissing data: complete case; {k:,} of {n:,} DAH patients{share} miss a value "
        f"the analysis needs{arm} (threshold {record.get('threshold', 0):.0%}; --missing mi "
        "imputes them)"
    )


def _print_person_time_endpoints(result: Any) -> None:
    """The incidence rate (and the cases it leaves out), the cumulative incidence of
    recurrence by year and the recurrence rate, overall and by group."""
    level = f"{result.conf_level:.0%}"
    if result.incidence_rate is not None:
        r = result.incidence_rate
        print(
            f"\nincidence per 1,000 person-years at risk: {r.estimate:.3f} "
            f"({r.ci_lower:.3f} to {r.ci_upper:.3f}, exact Poisson {level} CI), "
            f"{r.events:,} first episodes over {r.person_time:,.0f} person-years; "
            f"{result.incidence_cases_at_entry:,} patients with DAH at the start of follow-up "
            "(no person-time at risk) are not counted as incident cases"
        )
    elif "incidence" in result.definitions:
        print(f"\nincidence: {result.definitions['incidence']}")
    if not result.recurrence_cif.empty:
        print(f"\nrecurrence, cumulative incidence with death competing ({level} CI):")
        for group, part in result.recurrence_cif.groupby("group", sort=False):
            cells = "; ".join(
                f"{row.years:g} y {row.cif:.1%} ({row.ci_lower:.1%} to {row.ci_upper:.1%})"
                for row in part.itertuples()
            )
            print(f"  {group}: {cells}")
    if not result.recurrence_rates.empty:
        print(f"\nrecurrent episodes per 100 person-years ({level} exact Poisson CI):")
        for row in result.recurrence_rates.itertuples():
            print(
                f"  {row.group}: {row.estimate:.2f} ({row.ci_lower:.2f} to {row.ci_upper:.2f}), "
                f"{row.events:,} over {row.person_years:,.0f} person-years"
            )


def _names(text: str) -> list[str]:
    """A comma-separated list of names ("" for none)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _cmd_treatment_effect(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.adjustment import DEFAULT_ADJUSTMENT
    from dah_outcomes.analyses.treatment_effects import treatment_effect
    from dah_outcomes.io import load_cohort

    cohort = load_cohort(args.path)
    result = treatment_effect(
        cohort,
        args.treatment,
        method=args.method,
        landmark_days=args.landmark_days,
        conf_level=args.conf_level,
        adjust_for=DEFAULT_ADJUSTMENT if args.adjust_for is None else _names(args.adjust_for),
        **_missing_options(args),
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print(result._title())
        adjusted = ", ".join(result.adjusted_for) or "nothing"
        print(f"  adjusted for {adjusted}; {result.n_treated} of {result.n} patients treated")
        _print_missing(result.missing_data)
    return 0


def _plot_format(path: str) -> str:
    """The format of the ``--plot`` file, checked before any analysis runs."""
    from dah_outcomes.cli.figure_files import plot_format

    return plot_format(path)


def _recurrence(cohort: Any, args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.survival import recurrence_by_group

    result = recurrence_by_group(cohort, args.by)
    if args.plot:
        from dah_outcomes.cli.figure_files import write_figure
        from dah_outcomes.plotting import plot_cif

        ax = plot_cif(
            result.cif,
            cause=1,
            ylabel="Cumulative incidence of recurrence",
            pval=result.gray,
            risk_table=True,
        )
        write_figure(ax, args.plot, dpi=args.dpi)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result)
        if result.gray is not None:
            g = result.gray
            print(f"\nGray's test: chi-square {g.statistic:.3f} on {g.df} df, p = {g.p_value:.3g}")
        if result.fine_gray is not None:
            print("\nFine-Gray subdistribution hazard ratios of recurrence:")
            for r in result.fine_gray.to_frame().itertuples():
                print(
                    f"  {r.term}: {r.subdistribution_hr:.2f} ({r.ci_lower:.2f} to "
                    f"{r.ci_upper:.2f}), p = {r.p_value:.3g}"
                )
    return 0


_PROBLEM_TEXT = {
    "zero width": "CI of zero width",
    "no interval": "no CI",
    "covers 0 to 1": "CI covers 0 to 1",
}


def _survival_text(result: Any) -> str:
    """Survival at the stated days as a plain table: per group and day, the number at risk,
    survival and its Greenwood interval; beside an interval that says nothing (zero width,
    none, 0 to 1), the exact binomial bound on mortality in words."""
    import pandas as pd

    at = result.at_times
    km = result.km
    level = f"{km.conf_level:.0%}"
    since = "days since onset" if result.landmark_days is None else "days since the landmark"
    header = [result.by, "day", "at risk", "survival", f"{level} CI"]
    rows = []
    for r in at.itertuples(index=False):
        estimated = not pd.isna(r.survival)
        none = pd.isna(r.ci_lower) or pd.isna(r.ci_upper)
        cells = [
            str(r.group),
            f"{r.time:g}",
            f"{r.n_risk:.0f}",
            f"{r.survival:.3f}" if estimated else "past follow-up",
            ("none" if none else f"{r.ci_lower:.3f}-{r.ci_upper:.3f}") if estimated else "",
        ]
        # the exact bound sits on the row of the interval it stands in for
        if r.interval_problem:
            cells.append(f"{_PROBLEM_TEXT[r.interval_problem]}; {r.exact_note}")
        rows.append(cells)
    if any(len(c) > len(header) for c in rows):
        header.append("exact binomial bound (where the CI says nothing)")
    widths = [max(len(c[i]) for c in [header, *rows] if i < len(c)) for i in range(len(header))]
    # names and words flush left, numbers flush right
    right = {1, 2, 3, 4}
    lines = [
        "  ".join(
            (cell.rjust(w) if i in right else cell.ljust(w))
            for i, (cell, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()
        for cells in [header, *rows]
    ]
    title = (
        f"Survival by {result.by} (Kaplan-Meier, {level} Greenwood CI, {km.conf_type} "
        f"transform; {since})"
    )
    return "\n".join([title, *lines])


def _cmd_survival(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.survival import survival_by_group
    from dah_outcomes.io import load_cohort

    if args.endpoint == "recurrence" and args.landmark_days is not None:
        raise ArgumentError("--landmark-days goes with --endpoint death")
    if args.endpoint == "recurrence" and args.missing == "mi":
        raise ArgumentError(
            "--missing mi goes with --endpoint death (the recurrence analysis has no pooling "
            "yet); rates --missing mi pools the cumulative incidence of recurrence by year"
        )
    if args.plot:
        _plot_format(args.plot)  # a wrong suffix fails before the analysis runs
    cohort = load_cohort(args.path)
    if args.endpoint == "recurrence":
        return _recurrence(cohort, args)
    result = survival_by_group(
        cohort,
        args.by,
        endpoint=args.endpoint,
        conf_type=args.conf_type,
        landmark_days=args.landmark_days,
        **_missing_options(args),
    )
    if args.plot:
        from dah_outcomes.cli.figure_files import write_figure
        from dah_outcomes.plotting import plot_km

        # under imputation the curves are the first completed cohort's, so the pooled test
        # would not be theirs: no p-value is printed on them
        test = result.logrank if args.missing != "mi" else None
        write_figure(plot_km(result.km, pval=test or False), args.plot, dpi=args.dpi)
    if args.json:
        print_json(result.to_dict())
    else:
        if result.landmark_days is not None:
            d = result.landmark_days
            arms = f", arms by the treatment received by day {d}" if args.by == "arm" else ""
            print(
                f"Landmark analysis at day {d}: patients alive at day {d}{arms}; days since "
                "the landmark"
            )
        print(_survival_text(result))
        print()
        print(result.medians.to_string(index=False))
        if result.logrank is not None:
            lr = result.logrank
            print(
                f"\n{lr.method}: chi-square {lr.statistic:.3f} on {lr.df} df, p = {lr.p_value:.3g}"
            )
        if args.endpoint == "death":
            _print_missing(result.missing_data)
    return 0


def register(sub: Any) -> None:
    """Add this family's subcommands to the top-level parser's subparsers."""
    from dah_outcomes.stats.proportions import PROPORTION_METHODS

    r = sub.add_parser("rates", help="outcome rates with confidence intervals")
    r.add_argument("path", metavar="DIR")
    add_by(r, None)
    r.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    r.add_argument("--conf-level", type=float, default=0.95)
    r.add_argument(
        "--death-within-days",
        type=int,
        help="mortality as death within N days of onset (default: in-hospital)",
    )
    add_missing(r)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_cmd_rates)

    sv = sub.add_parser("survival", help="Kaplan-Meier survival by group, with log-rank")
    sv.add_argument("path", metavar="PATH")
    add_by(sv, "arm")
    sv.add_argument(
        "--endpoint",
        choices=["death", "recurrence"],
        default="death",
        help="death (Kaplan-Meier) or recurrence with death competing "
        "(Aalen-Johansen, Gray's test)",
    )
    sv.add_argument("--conf-type", choices=["log", "log-log", "plain"], default="log")
    sv.add_argument(
        "--landmark-days",
        type=int,
        metavar="D",
        help="landmark analysis: Kaplan-Meier among the patients alive at day D, arms by the "
        "treatment received by day D, time from day D",
    )
    sv.add_argument(
        "--plot",
        metavar="FILE",
        help="write the figure (Kaplan-Meier with log-rank p, or the cumulative incidence "
        "with Gray's p, each with its risk table) in the format of FILE's suffix: .png, "
        ".svg, .pdf, .tif/.tiff or .eps, the same bytes every time; with --missing mi, the "
        "first completed cohort's curves; default: no figure",
    )
    add_dpi(sv)
    add_missing(sv)
    sv.add_argument("--json", action="store_true")
    sv.set_defaults(func=_cmd_survival)

    from dah_outcomes.analyses.treatment_effects import METHODS
    from dah_outcomes.endpoints.timelines import treatment_names

    te = sub.add_parser(
        "treatment-effect",
        help="hazard ratio of death for a treatment: naive, landmark or time-varying",
    )
    te.add_argument("path", metavar="COHORT")
    te.add_argument("--treatment", required=True, choices=treatment_names())
    te.add_argument("--method", choices=list(METHODS), default="time-varying")
    te.add_argument("--landmark-days", type=int, help="landmark day (with --method landmark)")
    te.add_argument(
        "--adjust-for",
        metavar="NAMES",
        help="comma-separated covariates (default: the declared adjustment set; '' for none)",
    )
    te.add_argument("--conf-level", type=float, default=0.95)
    add_missing(te)
    te.add_argument("--json", action="store_true")
    te.set_defaults(func=_cmd_treatment_effect)
