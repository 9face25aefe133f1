"""The ``import`` and ``init-mapping`` subcommands (registered by :mod:`dah_outcomes.cli.main`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dah_outcomes.cli.output import echo
from dah_outcomes.cli.progress import progress_bar
from dah_outcomes.errors import ArgumentError, ValidationError

__all__ = ["problems_path", "register", "write_problems"]


def _sources(args: argparse.Namespace) -> list[str]:
    """Every file the import reads: none may be overwritten by its output."""
    return [*args.source, *(f for f in (args.mapping, args.dictionary) if f)]


def _cmd_import(args: argparse.Namespace) -> int:
    from dah_outcomes.io.cohort_files import IfExists, check_output_folder, staged_folder
    from dah_outcomes.io.importer import Mode, read_cohort, write_import

    if args.min_cell is not None and args.min_cell < 1:
        raise ArgumentError(f"--min-cell must be a positive integer, got {args.min_cell}")
    # refused before the import runs, not after it
    if_exists: IfExists = "replace" if args.force else "error"
    check_output_folder(args.out, if_exists=if_exists, sources=_sources(args))
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
            design=args.design,
            progress=progress_bar("importing"),
            chunk_rows=args.chunk_rows,
        )
    except ValidationError as err:
        echo(err.report.summary(limit=args.limit))
        found = f"the import found {len(err.report.problems):,} problem(s)"
        listed = write_problems(err.report.problems, args)
        echo(
            f"error: {found}, listed above and in full in {listed} (row, column, value, rule, "
            "fix); no cohort written ("
            + (
                "strict mode: fix the problems, or use --quarantine to import the valid rows "
                "and write the others to rejects.csv)"
                if mode == "strict"
                else "no row rejection cures them)"
            ),
            file=sys.stderr,
        )
        return 1
    # the whole folder (cohort, rejects, flow) is written beside and renamed into place
    with staged_folder(args.out, if_exists=if_exists, sources=_sources(args)) as tmp:
        written = write_import(result, tmp, format=args.table_format, min_cell=args.min_cell)
    echo(f"rows read: {result.rows_read}")
    echo(f"rows accepted: {result.rows_accepted}")
    echo(f"rows rejected: {result.rows_rejected}")
    c = result.cohort
    if c is not None:
        echo(
            f"cohort: {c.n_patients} patients, {c.n_dah_patients} with DAH, "
            f"{c.n_episodes} episodes (fingerprint {c.fingerprint[:12]})"
        )
    for name, derived in (result.provenance.get("derivations") or {}).items():
        echo(f"derived: {name} from {derived['from']} in {derived['rows']:,} row(s)")
    wide = result.provenance.get("wide_episodes")
    if wide:
        by = ", ".join(f"episode {n}: {k}" for n, k in wide["by_episode"].items())
        cells = wide["cells"]
        echo(
            f"episodes from wide columns: {wide['episodes_from_wide_columns']:,} ({by}); "
            f"wide cells read {cells['read']:,} = {cells['in_episodes']:,} in episodes + "
            f"{cells['blank']:,} blank + {cells['no_without_episode']:,} 'no' without an episode"
        )
    echo(f"wrote {args.out}:")
    for p in written.values():
        echo(f"  {Path(args.out) / p.name}")
    return 0


def _source_folders(args: argparse.Namespace) -> set[Path]:
    """Folders holding the data read (a source folder itself, or a source file's folder)."""
    out = set()
    for f in [*args.source, *([args.dictionary] if args.dictionary else [])]:
        p = Path(f).resolve()
        out.add(p if p.is_dir() else p.parent)
    return out


def problems_path(args: argparse.Namespace) -> Path:
    """Where a refused import lists its problems: ``--problems``, else ``problems.csv``
    beside the output folder (which a refused import does not create), else, when that is a
    folder of the sources, a new folder under the system's temporary folder; never in a
    folder of the sources, which the import never writes to.

    Parameters
    ----------
    args : Namespace
        The ``import`` arguments (``out``, ``problems``, ``source``, ``dictionary``).

    Returns
    -------
    Path

    Raises
    ------
    ArgumentError
        When ``--problems`` names a source file or a file in a source folder.
    """
    sources = _source_folders(args)
    if args.problems:
        target = Path(args.problems)
        if target.resolve().parent in sources:
            raise ArgumentError(
                f"--problems {target} is in a folder of the sources: give a file elsewhere"
            )
        return target
    beside = Path(args.out).resolve().parent
    if beside not in sources:
        return beside / "problems.csv"
    import tempfile

    return Path(tempfile.mkdtemp(prefix="dah_outcomes_import_")) / "problems.csv"


def write_problems(problems: Any, args: argparse.Namespace) -> Path:
    """Write every problem of a refused import (atomically) where :func:`problems_path` says.

    Parameters
    ----------
    problems : DataFrame
        The problems (``file, table, row, patient_id, column, value, rule, hint``).
    args : Namespace
        The ``import`` arguments.

    Returns
    -------
    Path
        The file written.
    """
    from dah_outcomes.io.files import write_csv

    cols = ["file", "table", "row", "patient_id", "column", "value", "rule", "hint"]
    frame = problems.reindex(columns=cols).rename(columns={"hint": "fix"})
    # the file a user opens in a spreadsheet: formula cells neutralised, written whole or not
    return write_csv(problems_path(args), frame)


def _cmd_init_mapping(args: argparse.Namespace) -> int:
    from dah_outcomes.io.cohort_files import write_atomic
    from dah_outcomes.io.draft import draft_mapping
    from dah_outcomes.io.readers import read_table
    from dah_outcomes.io.table_rows import find_table_rows
    from dah_outcomes.io.unfinished import todo_lines

    # the header may sit below title lines and the data above totals lines: found first
    rows = find_table_rows(args.source, format=args.format, sheet=args.sheet)
    raw = read_table(
        args.source,
        format=args.format,
        sheet=args.sheet,
        header_row=rows.header_row,
        skip_footer=rows.skip_footer,
    )
    text = draft_mapping(raw, layout=args.layout, dictionary=args.dictionary)
    if args.out is None:
        echo(text, end="")
        return 0
    out = Path(args.out)
    if out.is_dir():
        raise ArgumentError(
            f"--out {out} is a folder; give the mapping file to write, e.g. {out / 'mapping.toml'}"
        )
    if out.exists() and not args.force:
        raise ArgumentError(f"{out} exists; pass --force to overwrite it")
    if Path(args.source).resolve() == out.resolve():
        raise ArgumentError(f"--out {out} is the source table; give another file name")
    write_atomic(out, lambda p: p.write_text(text, encoding="utf-8"))
    todo = text.count("TODO")
    left = len(todo_lines(text))
    echo(
        f"wrote {out} ({todo} TODO item(s) to check; {left} line(s) hold a TODO value the "
        "import refuses until it is filled in)"
    )
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
    i.add_argument(
        "--out",
        required=True,
        help="output folder (written whole, then renamed into place; never a source)",
    )
    i.add_argument(
        "--force",
        action="store_true",
        help="replace the cohort an existing --out folder holds (other files there are kept)",
    )
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
        "--design",
        choices=["population", "case_series"],
        help="the study design (default: the mapping's, else a source whose every patient has "
        "a DAH episode is a case series)",
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
        "--problems",
        metavar="FILE",
        help="where a refused import lists every problem (default: problems.csv beside --out; "
        "never in a source folder)",
    )
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
    m.add_argument(
        "--dictionary",
        help="REDCap data dictionary (CSV): its labels and choices name the fields and codes",
    )
    m.add_argument("--force", action="store_true", help="overwrite --out")
    m.set_defaults(func=_cmd_init_mapping)
