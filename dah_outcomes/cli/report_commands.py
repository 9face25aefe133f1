"""The ``report`` command: the self-contained HTML analysis report of a cohort folder."""

from __future__ import annotations

import argparse
from typing import Any

from dah_outcomes.cli.arguments import add_by

__all__ = ["register"]


def _cmd_report(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort
    from dah_outcomes.report.page import report_from_folder, write_report

    html = report_from_folder(
        load_cohort(args.path),
        args.path,
        by=args.by,
        min_cell=args.min_cell,
        ci_method=args.ci_method,
        landmark_days=args.landmark_days,
    )
    path = write_report(html, args.out)
    print(f"wrote {path}")
    return 0


def register(sub: Any) -> None:
    """Add the ``report`` subcommand to the top-level parser's subparsers."""
    from dah_outcomes.stats.proportions import PROPORTION_METHODS

    rp = sub.add_parser("report", help="write the self-contained HTML analysis report")
    rp.add_argument("path", metavar="DIR")
    rp.add_argument("--out", default="report.html")
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
    rp.set_defaults(func=_cmd_report)
