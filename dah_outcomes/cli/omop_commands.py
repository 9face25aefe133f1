"""``dah-outcomes omop extract`` and ``dah-outcomes omop synthesize``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dah_outcomes.cli.progress import progress_bar

__all__ = ["register"]


def _extract(args: argparse.Namespace) -> int:
    from dah_outcomes.io.cohort_files import save_cohort, write_atomic
    from dah_outcomes.omop.extract import extract_cohort

    result = extract_cohort(args.db, engine=args.engine, definition=args.definition)
    out = Path(args.out)
    save_cohort(
        result.cohort, out, extra={"denominators": result.denominators.to_dict(orient="records")}
    )
    denominators = result.denominators
    write_atomic(out / "denominators.csv", lambda p: denominators.to_csv(p, index=False))
    text = result.definition_text + "\n"
    write_atomic(out / "definition.txt", lambda p: p.write_text(text, encoding="utf-8"))
    inc, rate = result.incidence()
    print(result.definition_text)
    print(
        f"\n{result.cohort.n_dah_patients:,} DAH patients, {result.cohort.n_episodes:,} "
        f"episodes ({result.cohort.n_treatments:,} dated treatment courses) among "
        f"{inc.total:,} SLE patients ({args.engine}); written to {out}"
    )
    print(
        f"incidence {inc.estimate:.2%} ({inc.ci_lower:.2%} to {inc.ci_upper:.2%}); "
        f"{rate.estimate:.2f} per 1,000 person-years ({rate.ci_lower:.2f} to {rate.ci_upper:.2f})"
    )
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from dah_outcomes.io.cohort_files import save_cohort
    from dah_outcomes.omop.synthesize import OmopNoise, write_omop
    from dah_outcomes.synthetic.cohorts import generate_cohort

    cohort = generate_cohort(
        args.scenario, n_sle=args.n_sle, seed=args.seed, progress=progress_bar("generating")
    )
    counts = write_omop(
        cohort,
        args.out,
        seed=args.seed,
        noise=OmopNoise(rows_per_person=args.noise_rows),
        to_duckdb=str(args.out).endswith(".duckdb"),
        progress=progress_bar("writing"),
    )
    if args.truth:
        save_cohort(cohort, args.truth)
    summary: dict[str, Any] = {
        "out": str(args.out),
        "rows": counts,
        "fingerprint": cohort.fingerprint,
    }
    print(json.dumps(summary, indent=2))
    return 0


def register(sub: Any) -> None:
    """Add the ``omop`` command group to the CLI's subparsers."""
    omop = sub.add_parser("omop", help="OMOP CDM: extract the cohort, or write a synthetic CDM")
    osub = omop.add_subparsers(dest="omop_command", required=True, metavar="STEP")
    ex = osub.add_parser("extract", help="run the cohort definition on an OMOP database")
    ex.add_argument("--db", required=True, help="DuckDB file or folder of Parquet tables")
    ex.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    ex.add_argument("--definition", help="cohort definition TOML (default: dah-sle-v1)")
    ex.add_argument("--out", required=True, help="output folder for the analytic cohort")
    ex.set_defaults(func=_extract)
    sy = osub.add_parser("synthesize", help="write a scenario as a synthetic OMOP database")
    sy.add_argument("--scenario", default="seed-article")
    sy.add_argument("--n-sle", type=int, default=20_000)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument(
        "--noise-rows",
        type=float,
        default=5.0,
        help="unrelated condition rows per person (Poisson mean)",
    )
    sy.add_argument("--out", required=True, help="folder of Parquet tables, or a .duckdb file")
    sy.add_argument("--truth", help="also write the generating cohort to this folder")
    sy.set_defaults(func=_synthesize)
