"""The ``import`` and ``init-mapping`` subcommands (registered by :mod:`dah_outcomes.cli.main`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dah_outcomes.cli.progress import progress_bar
from dah_outcomes.errors import ArgumentError, ValidationError

__all__ = ["register"]


def _cmd_import(args: argparse.Namespace) -> int:
    from dah_outcomes.io.importer import Mode, read_cohort, write_import

    if args.min_cell is not None and args.min_cell < 1:
        raise ArgumentError(f"--min-cell must be a positive integer, got {args.min_cell}")
    source = args.source[0] if len(args.source) == 1 else args.source
    mode: Mode = "quarantine" if args.quarantine else "strict"
    try:
        result = read_cohort(
            source,
            mapping=args.mapping,
            dictionary=args.dictionary,
            format=args.format,
            sheet=args.sheet,
            mode=mode,
            progress=progress_bar("importing"),
            chunk_rows=args.chunk_rows,
        )
    except ValidationError as err:
        print(err.report.summary(limit=args.limit))
        print(
            "nothing written (strict mode: fix the problems, or use --quarantine to import "
            "the valid rows and write the others to rejects.csv)"
            if mode == "strict"
            else "nothing written",
            file=sys.stderr,
        )
        return 1
    paths = write_import(result, args.out, format=args.table_format, min_cell=args.min_cell)
    print(f"rows read: {result.rows_read}")
    print(f"rows accepted: {result.rows_accepted}")
    print(f"rows rejected: {result.rows_rejected}")
    c = result.cohort
    if c is not None:
        print(
            f"cohort: {c.n_patients} patients, {c.n_dah_patients} with DAH, "
            f"{c.n_episodes} episodes (fingerprint {c.fingerprint[:12]})"
        )
    for p in paths.values():
        print(f"  {p}")
    return 0


def _cmd_init_mapping(args: argparse.Namespace) -> int:
    from dah_outcomes.io.cohort_files import write_atomic
    from dah_outcomes.io.draft import draft_mapping
    from dah_outcomes.io.readers import read_table

    raw = read_table(args.source, format=args.format, sheet=args.sheet)
    text = draft_mapping(raw, layout=args.layout)
    if args.out is None:
        print(text, end="")
        return 0
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ArgumentError(f"{out} exists; pass --force to overwrite it")
    write_atomic(out, lambda p: p.write_text(text, encoding="utf-8"))
    todo = text.count("TODO")
    print(f"wrote {out} ({todo} TODO item(s) to check)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import`` and ``init-mapping`` to the ``dah-outcomes`` subcommands."""
    from dah_outcomes.io.mapping import LAYOUTS
    from dah_outcomes.io.readers import FORMATS

    i = subparsers.add_parser(
        "import", help="import a registry cohort (CSV, Excel, SAS, SPSS, Stata, REDCap, ADTTE)"
    )
    i.add_argument(
        "source",
        nargs="+",
        metavar="SOURCE",
        help="a table file, a folder with patients/episodes tables, or those two files",
    )
    i.add_argument("--mapping", help="mapping file (.toml or .yaml); see init-mapping")
    i.add_argument("--dictionary", help="REDCap data dictionary (CSV)")
    i.add_argument("--format", choices=sorted(FORMATS), help="source format (default: suffix)")
    i.add_argument("--sheet", help="Excel sheet name")
    i.add_argument("--out", required=True, help="output folder")
    mode = i.add_mutually_exclusive_group()
    mode.add_argument(
        "--strict", action="store_true", help="any problem: exit 1, nothing written (default)"
    )
    mode.add_argument(
        "--quarantine",
        action="store_true",
        help="import valid rows; write the rejected ones to rejects.csv",
    )
    i.add_argument(
        "--min-cell",
        type=int,
        default=None,
        help="mask counts below N in exported aggregate tables",
    )
    i.add_argument("--table-format", choices=["csv", "parquet"], default="csv")
    i.add_argument("--limit", type=int, default=50, help="problems to list (default 50)")
    i.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        metavar="N",
        help="rows per chunk when a flat CSV/TSV is streamed (default 1,000,000; "
        "0 reads the whole file at once)",
    )
    i.set_defaults(func=_cmd_import)

    m = subparsers.add_parser("init-mapping", help="draft a mapping file for a source table")
    m.add_argument("source", metavar="SOURCE")
    m.add_argument("--out", help="mapping file to write (default: print)")
    m.add_argument("--format", choices=sorted(FORMATS))
    m.add_argument("--sheet")
    m.add_argument("--layout", choices=list(LAYOUTS))
    m.add_argument("--force", action="store_true", help="overwrite --out")
    m.set_defaults(func=_cmd_init_mapping)
