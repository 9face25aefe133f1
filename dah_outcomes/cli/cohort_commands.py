"""Commands on cohorts as data: ``generate``, ``validate``, ``scenarios``, ``schema``,
``demo``."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from dah_outcomes.cli.output import echo, print_json
from dah_outcomes.cli.progress import progress_bar
from dah_outcomes.errors import ValidationError

__all__ = ["register"]

DEMO_SEED = 2026
DEMO_N_SLE = 200_000


def _cmd_generate(args: argparse.Namespace) -> int:
    from dah_outcomes.io import save_cohort
    from dah_outcomes.io.cohort_files import IfExists, check_output_folder
    from dah_outcomes.synthetic.cohorts import generate_cohort

    if_exists: IfExists = "replace" if args.force else "error"
    check_output_folder(args.out, if_exists=if_exists)  # before the generation, not after
    missing = _missingness_options(args)  # checked before the generation too
    cohort = generate_cohort(
        args.scenario,
        n_sle=args.n_sle,
        seed=args.seed,
        progress=progress_bar("generating"),
        vital_status=args.vital_status,
    )
    if missing is not None:
        return _write_amputed(cohort, missing, args, if_exists)
    stale = _earlier_truth(Path(args.out)) if args.force else None
    paths = save_cohort(cohort, args.out, format=args.format, if_exists=if_exists)
    if stale is not None:  # removed once the new cohort is in place, not before
        shutil.rmtree(stale, ignore_errors=True)
        echo(f"removed {stale}: the complete cohort of the --missingness cohort replaced")
    echo(
        f"wrote {cohort.n_patients} patients, {cohort.n_dah_patients} with DAH, "
        f"{cohort.n_episodes} episodes to {args.out} (fingerprint {cohort.fingerprint[:12]})"
    )
    for p in paths.values():
        echo(f"  {p}")
    return 0


def _earlier_truth(out: Path) -> Path | None:
    """``out/truth`` when it is the truth folder an earlier ``--missingness`` run wrote for the
    cohort in ``out`` (its fingerprint is the one that cohort's provenance records): part of
    the cohort being replaced, where other files in ``out`` are kept."""
    try:
        meta = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
        recorded = meta["provenance"]["missingness"]["truth_fingerprint"]
        truth = json.loads((out / "truth" / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return out / "truth" if truth.get("fingerprint") == recorded else None


def _missingness_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``apply_missingness`` keywords of the --missing* options (None without
    --missingness), checked by a dry run on no data."""
    from dah_outcomes.errors import ArgumentError
    from dah_outcomes.synthetic.missingness import DEFAULT_MISSING_COLUMNS, apply_missingness
    from dah_outcomes.validation import empty_table

    extras = {
        "--missing-columns": args.missing_columns,
        "--missing-fraction": args.missing_fraction,
        "--missing-fraction-deaths": args.missing_fraction_deaths,
        "--missing-seed": args.missing_seed,
        "--missing-death-dates": args.missing_death_dates,
    }
    if args.missingness is None:
        given = [k for k, v in extras.items() if v is not None]
        if given:
            raise ArgumentError(f"{', '.join(given)} need(s) --missingness mcar|mar|mnar")
        return None
    columns = (
        [c.strip() for c in args.missing_columns.split(",") if c.strip()]
        if args.missing_columns
        else list(DEFAULT_MISSING_COLUMNS)
    )
    options: dict[str, Any] = {
        "mechanism": args.missingness,
        "columns": columns,
        "fraction": 0.1 if args.missing_fraction is None else args.missing_fraction,
        "seed": args.seed if args.missing_seed is None else args.missing_seed,
    }
    if args.missing_fraction_deaths is not None:
        options["fraction_outcome"] = args.missing_fraction_deaths
    if args.missing_death_dates is not None:
        options["death_dates"] = args.missing_death_dates
    # the same checks as on the generated cohort, on empty tables: a bad column or fraction
    # is refused before a long generation, not after it
    apply_missingness((empty_table("patients"), empty_table("episodes")), **options)
    return options


def _write_amputed(
    cohort: Any, options: dict[str, Any], args: argparse.Namespace, if_exists: Any
) -> int:
    """The cohort with values removed in --out, the complete one in --out/truth, whole."""
    from dah_outcomes.io import save_cohort
    from dah_outcomes.io.cohort_files import staged_folder
    from dah_outcomes.synthetic.missingness import apply_missingness

    amputed = apply_missingness(cohort, **options)
    with staged_folder(args.out, if_exists=if_exists) as tmp:
        save_cohort(amputed.cohort, tmp, format=args.format)
        save_cohort(amputed.truth, Path(tmp) / "truth", format=args.format)
    removed = ", ".join(f"{c} {n}" for c, n in amputed.n_missing.items())
    if amputed.n_death_dates_removed:
        removed += f"; death dates {amputed.n_death_dates_removed} (the patients kept dead)"
    echo(
        f"wrote {cohort.n_patients} patients, {cohort.n_dah_patients} with DAH, "
        f"{cohort.n_episodes} episodes to {args.out} with values missing "
        f"({amputed.mechanism}: {removed}; fingerprint {amputed.cohort.fingerprint[:12]}), "
        f"and the complete cohort to {Path(args.out) / 'truth'} "
        f"(fingerprint {cohort.fingerprint[:12]})"
    )
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort

    source = args.paths[0] if len(args.paths) == 1 else args.paths
    try:
        cohort = load_cohort(source)
    except ValidationError as err:
        if args.json:
            print_json(err.report.to_dict())
        else:
            echo(err.report.summary(limit=args.limit))
        return 1
    if args.json:
        print_json({"ok": True, **cohort.describe()})
    else:
        echo(f"valid: {cohort!r}")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from dah_outcomes.synthetic.scenario import available_scenarios, load_scenario

    for name in available_scenarios():
        echo(f"{name}: {load_scenario(name).description}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from dah_outcomes.schema import TABLES, frictionless_schema, schema_markdown

    if args.format == "json":
        print_json({t: frictionless_schema(t) for t in TABLES})
    else:
        print(schema_markdown())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from dah_outcomes.cli.demo import run_demo

    return run_demo(
        Path(args.out), n_sle=args.n_sle, seed=args.seed, progress=progress_bar("generating")
    )


def register(sub: Any) -> None:
    """Add this family's subcommands to the top-level parser's subparsers."""

    g = sub.add_parser("generate", help="generate a synthetic cohort from a scenario")
    g.add_argument(
        "--scenario",
        default="seed-article",
        help="shipped scenario name or path of a scenario .toml (default seed-article)",
    )
    g.add_argument("--n-sle", type=int, default=20_000, help="SLE source population size")
    g.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--format", choices=["csv", "parquet"], default="csv")
    g.add_argument(
        "--force",
        action="store_true",
        help="replace the cohort an existing --out folder holds (other files there are kept)",
    )
    g.add_argument(
        "--missingness",
        choices=["mcar", "mar", "mnar"],
        default=None,
        help="remove values from the episodes by this mechanism; the complete cohort is "
        "written to a truth/ folder inside --out (provenance records the removal)",
    )
    g.add_argument(
        "--missing-columns",
        default=None,
        metavar="COLS",
        help="comma-separated episodes columns to remove values from (default "
        "cyclophosphamide,plasmapheresis,rituximab,mechanical_ventilation,hemoglobin_drop)",
    )
    g.add_argument(
        "--missing-fraction",
        type=float,
        default=None,
        help="probability of removal (mcar), overall fraction (mar), or the fraction among "
        "episodes without an in-hospital death (mnar); default 0.1",
    )
    g.add_argument(
        "--missing-fraction-deaths",
        type=float,
        default=None,
        help="mnar: the fraction among in-hospital deaths (default 0.4)",
    )
    g.add_argument(
        "--missing-seed",
        type=int,
        default=None,
        help="seed of the removal (default: --seed)",
    )
    g.add_argument(
        "--missing-death-dates",
        type=float,
        default=None,
        metavar="P",
        help="also blank each death date with probability P, the patients kept dead "
        "(vital_status 'dead' where the column is written): died, date unknown "
        "(default: none)",
    )
    g.add_argument(
        "--vital-status",
        action="store_true",
        help="write the patients' vital_status (alive or dead at the end of follow-up) "
        "beside their death dates (default: not written, derived from the dates)",
    )
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser("validate", help="check a cohort folder (or its two files)")
    v.add_argument("paths", nargs="+", metavar="DIR_OR_FILES")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--limit", type=int, default=50, help="problems to list (default 50)")
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("scenarios", help="list the shipped scenarios")
    s.set_defaults(func=_cmd_scenarios)

    c = sub.add_parser("schema", help="print the cohort column contract")
    c.add_argument("--format", choices=["markdown", "json"], default="markdown")
    c.set_defaults(func=_cmd_schema)

    d = sub.add_parser("demo", help="generate the default cohort and reproduce the cited figures")
    d.add_argument(
        "--out", default="output", help="output folder (replaced whole; default ./output)"
    )
    d.add_argument("--n-sle", type=int, default=DEMO_N_SLE)
    d.add_argument("--seed", type=int, default=DEMO_SEED)
    d.set_defaults(func=_cmd_demo)
