"""The ``report`` command: the self-contained HTML analysis report of a cohort folder."""

from __future__ import annotations

import argparse
from typing import Any

from dah_outcomes.cli.arguments import add_by, add_missing, whole_number

__all__ = ["register"]


def _strategy(text: str) -> tuple[str, int]:
    """``TREATMENT:DAYS`` (e.g. ``cyclophosphamide:2``) as a (treatment, grace days) pair."""
    from dah_outcomes.endpoints.timelines import treatment_names

    name, sep, days = text.partition(":")
    names = treatment_names()
    if not sep or name not in names or not days.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected TREATMENT:DAYS with TREATMENT one of {', '.join(sorted(names))} and "
            f"DAYS a whole number of days (e.g. cyclophosphamide:2), got {text!r}"
        )
    return name, int(days)


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dah_outcomes.io import load_cohort
    from dah_outcomes.report.page import report_from_folder, write_report

    out = Path(args.out)
    figures = None
    if not args.no_figure_files:
        figures = Path(args.figures_dir or out.with_name(f"{out.stem}_figures"))

    html = report_from_folder(
        load_cohort(args.path),
        args.path,
        by=args.by,
        min_cell=args.min_cell,
        ci_method=args.ci_method,
        landmark_days=args.landmark_days,
        missing=args.missing,
        imputations=args.imputations,
        seed=args.seed,
        emulate=not args.no_emulation,
        strategies=args.strategy,
        horizon_days=args.horizon_days,
        bootstrap=args.bootstrap,
        figures_dir=figures,
    )
    path = write_report(html, out)
    print(f"wrote {path}" + ("" if figures is None else f" and its figures in {figures}/"))
    return 0


def _cmd_table_one(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.baseline import table_one
    from dah_outcomes.analyses.table_files import table_text
    from dah_outcomes.io import load_cohort

    result = table_one(load_cohort(args.path), by=args.by)
    if args.out is None:
        print(table_text(result.summary_frame(), ".md", caption=result.caption), end="")
        return 0
    print(f"wrote {result.write(args.out)}")
    return 0


def register(sub: Any) -> None:
    """Add the ``report`` and ``table-one`` subcommands to the top-level parser's
    subparsers."""
    from dah_outcomes.report.causal_sections import REPORT_BOOTSTRAP, REPORT_HORIZON_DAYS
    from dah_outcomes.stats.proportions import PROPORTION_METHODS

    rp = sub.add_parser("report", help="write the self-contained HTML analysis report")
    rp.add_argument("path", metavar="DIR")
    rp.add_argument("--out", default="report.html", help="the page (default report.html)")
    rp.add_argument(
        "--figures-dir",
        metavar="DIR",
        help="where the page's figures are also written, numbered, as PNG (300 dpi) and SVG "
        "(default: OUT's name with _figures, beside it)",
    )
    rp.add_argument(
        "--no-figure-files",
        action="store_true",
        help="write the page only (its figures stay inline)",
    )
    add_by(rp, "arm")
    rp.add_argument("--min-cell", type=int, help="mask counts below N (small-cell suppression)")
    rp.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    rp.add_argument(
        "--landmark-days",
        type=int,
        metavar="D",
        default=7,
        help="landmark of the treatment effects' landmark estimates (when the cohort records "
        "treatment start dates); default 7",
    )
    add_missing(rp)
    rp.add_argument(
        "--no-emulation",
        action="store_true",
        help="leave out the causal sections (target trials of treatment strategies and "
        "standardised risks by arm), which are shown by default when treatment start dates "
        "are recorded",
    )
    rp.add_argument(
        "--strategy",
        action="append",
        type=_strategy,
        metavar="TREATMENT:DAYS",
        help="a target trial of starting TREATMENT within DAYS of onset vs not; repeat for "
        "more (default cyclophosphamide:2 and plasmapheresis:7)",
    )
    rp.add_argument(
        "--horizon-days",
        type=whole_number(1),
        default=REPORT_HORIZON_DAYS,
        metavar="D",
        help=f"day at which the strategies' risks of death are compared (default "
        f"{REPORT_HORIZON_DAYS})",
    )
    rp.add_argument(
        "--bootstrap",
        type=whole_number(0),
        default=REPORT_BOOTSTRAP,
        metavar="B",
        help=f"bootstrap replicates of the causal intervals, 0 for none (default "
        f"{REPORT_BOOTSTRAP}); --seed seeds them",
    )
    rp.set_defaults(func=_cmd_report)

    from dah_outcomes.analyses.table_files import TABLE_FORMATS

    t1 = sub.add_parser("table-one", help="Table 1 (baseline characteristics) as a paper's file")
    t1.add_argument("path", metavar="DIR", help="the cohort folder")
    add_by(t1, "arm")
    t1.add_argument(
        "--out",
        metavar="FILE",
        help="write the table to FILE, its format by suffix: "
        + ", ".join(f"{k} ({v})" for k, v in TABLE_FORMATS.items())
        + "; default: print it as Markdown",
    )
    t1.set_defaults(func=_cmd_table_one)
