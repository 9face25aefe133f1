"""The ``dah-outcomes`` command line.

User errors print one clear message on stderr and exit with code 1, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dah_outcomes.cli.import_commands import register as register_import_commands
from dah_outcomes.cli.omop_commands import register as register_omop_commands
from dah_outcomes.cli.progress import progress_bar
from dah_outcomes.errors import ArgumentError, DahOutcomesError, ValidationError

__all__ = ["main"]

DEMO_SEED = 2026
DEMO_N_SLE = 200_000


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def _cmd_generate(args: argparse.Namespace) -> int:
    from dah_outcomes.io import save_cohort
    from dah_outcomes.synthetic.cohorts import generate_cohort

    cohort = generate_cohort(
        args.scenario, n_sle=args.n_sle, seed=args.seed, progress=progress_bar("generating")
    )
    paths = save_cohort(cohort, args.out, format=args.format)
    print(
        f"wrote {cohort.n_patients} patients, {cohort.n_dah_patients} with DAH, "
        f"{cohort.n_episodes} episodes to {args.out} (fingerprint {cohort.fingerprint[:12]})"
    )
    for p in paths.values():
        print(f"  {p}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort

    source = args.paths[0] if len(args.paths) == 1 else args.paths
    try:
        cohort = load_cohort(source)
    except ValidationError as err:
        if args.json:
            _print_json(err.report.to_dict())
        else:
            print(err.report.summary(limit=args.limit))
        return 1
    if args.json:
        _print_json({"ok": True, **cohort.describe()})
    else:
        print(f"valid: {cohort!r}")
    return 0


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
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(result)
        if result.incidence_rate is not None:
            r = result.incidence_rate
            print(
                f"\nincidence per 1,000 person-years: {r.estimate:.3f} "
                f"({r.ci_lower:.3f} to {r.ci_upper:.3f}, exact Poisson {r.conf_level:.0%} CI)"
            )
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from dah_outcomes.synthetic.scenario import available_scenarios, load_scenario

    for name in available_scenarios():
        print(f"{name}: {load_scenario(name).description}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from dah_outcomes.schema import frictionless_schema, schema_markdown

    if args.format == "json":
        _print_json({t: frictionless_schema(t) for t in ("patients", "episodes")})
    else:
        print(schema_markdown())
    return 0


def _plot_format(path: str) -> str:
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise ArgumentError(f"--plot must end in .png, .svg or .pdf, got {path!r}")
    return fmt


def _recurrence(cohort: Any, args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.survival import recurrence_by_group

    result = recurrence_by_group(cohort, args.by)
    if args.plot:
        from dah_outcomes.io.cohort_files import write_atomic
        from dah_outcomes.plotting import plot_cif

        fmt = _plot_format(args.plot)
        ax = plot_cif(result.cif, cause=1, ylabel="Cumulative incidence of recurrence")
        write_atomic(Path(args.plot), lambda p: ax.figure.savefig(p, format=fmt, dpi=150))
    if args.json:
        _print_json(result.to_dict())
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


def _cmd_survival(args: argparse.Namespace) -> int:
    from dah_outcomes.analyses.survival import survival_by_group
    from dah_outcomes.io import load_cohort

    cohort = load_cohort(args.path)
    if args.endpoint == "recurrence":
        return _recurrence(cohort, args)
    result = survival_by_group(cohort, args.by, endpoint=args.endpoint, conf_type=args.conf_type)
    if args.plot:
        from dah_outcomes.io.cohort_files import write_atomic
        from dah_outcomes.plotting import plot_km

        ax = plot_km(result.km)
        fmt = _plot_format(args.plot)
        write_atomic(Path(args.plot), lambda p: ax.figure.savefig(p, format=fmt, dpi=150))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(result)
        print(result.medians.to_string(index=False))
        if result.logrank is not None:
            lr = result.logrank
            print(
                f"\n{lr.method}: chi-square {lr.statistic:.3f} on {lr.df} df, p = {lr.p_value:.3g}"
            )
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort
    from dah_outcomes.reproduce.claims import load_claims
    from dah_outcomes.reproduce.verdicts import reproduce

    result = reproduce(load_claims(args.claims), load_cohort(args.cohort), ci_method=args.ci_method)
    if args.json:
        _print_json(result.to_dict())
    else:
        frame = result.to_frame()
        with pd.option_context("display.width", 160, "display.max_colwidth", 90):
            print(frame[["claim", "printed", "verdict", "why"]].to_string(index=False))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from dah_outcomes.reproduce.audit import audit_claims
    from dah_outcomes.reproduce.claims import load_claims

    evidence = None
    if args.evidence:
        evidence = pd.read_csv(args.evidence, dtype=str, keep_default_na=False, na_values=[""])
        for col in ("events", "total", "year"):
            evidence[col] = pd.to_numeric(evidence[col], errors="coerce").astype("Int64")
    result = audit_claims(load_claims(args.claims), evidence)
    if args.json:
        _print_json(result.to_dict())
    else:
        cols = ["claim", "printed", "k", "pooled", "ci_lower", "ci_upper", "verdict"]
        with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
            print(result.to_frame()[cols].to_string(index=False))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort
    from dah_outcomes.report.page import report_from_folder, write_report

    html = report_from_folder(
        load_cohort(args.path),
        args.path,
        by=args.by,
        min_cell=args.min_cell,
        ci_method=args.ci_method,
    )
    path = write_report(html, args.out)
    print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from dah_outcomes.cli.demo import run_demo

    return run_demo(
        Path(args.out), n_sle=args.n_sle, seed=args.seed, progress=progress_bar("generating")
    )


def _parser() -> argparse.ArgumentParser:
    from dah_outcomes._version import __version__
    from dah_outcomes.analyses.outcome_rates import BY_CHOICES
    from dah_outcomes.stats.proportions import PROPORTION_METHODS

    parser = argparse.ArgumentParser(
        prog="dah-outcomes",
        description="Outcomes research for diffuse alveolar hemorrhage (DAH) in SLE.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_import_commands(sub)
    register_omop_commands(sub)

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
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser("validate", help="check a cohort folder (or its two files)")
    v.add_argument("paths", nargs="+", metavar="DIR_OR_FILES")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--limit", type=int, default=50, help="problems to list (default 50)")
    v.set_defaults(func=_cmd_validate)

    r = sub.add_parser("rates", help="outcome rates with confidence intervals")
    r.add_argument("path", metavar="DIR")
    r.add_argument("--by", choices=BY_CHOICES)
    r.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    r.add_argument("--conf-level", type=float, default=0.95)
    r.add_argument(
        "--death-within-days",
        type=int,
        help="mortality as death within N days of onset (default: in-hospital)",
    )
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_cmd_rates)

    sv = sub.add_parser("survival", help="Kaplan-Meier survival by arm or era, with log-rank")
    sv.add_argument("path", metavar="PATH")
    sv.add_argument("--by", choices=["arm", "era"], default="arm")
    sv.add_argument(
        "--endpoint",
        choices=["death", "recurrence"],
        default="death",
        help="death (Kaplan-Meier) or recurrence with death competing "
        "(Aalen-Johansen, Gray's test)",
    )
    sv.add_argument("--conf-type", choices=["log", "log-log", "plain"], default="log")
    sv.add_argument("--plot", help="write the Kaplan-Meier figure (.png, .svg or .pdf)")
    sv.add_argument("--json", action="store_true")
    sv.set_defaults(func=_cmd_survival)

    rc = sub.add_parser(
        "reproduce",
        help="recompute reported figures (a claims file) from a cohort and judge each one",
    )
    rc.add_argument("claims", metavar="CLAIMS")
    rc.add_argument("--cohort", required=True, metavar="DIR")
    rc.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=_cmd_reproduce)

    au = sub.add_parser("audit", help="set reported figures against the published series")
    au.add_argument("claims", metavar="CLAIMS")
    au.add_argument("--evidence", help="published series CSV (default: the shipped extraction)")
    au.add_argument("--json", action="store_true")
    au.set_defaults(func=_cmd_audit)

    rp = sub.add_parser("report", help="write the self-contained HTML analysis report")
    rp.add_argument("path", metavar="DIR")
    rp.add_argument("--out", default="report.html")
    rp.add_argument("--by", choices=["arm", "era", "site"], default="arm")
    rp.add_argument("--min-cell", type=int, help="mask counts below N (small-cell suppression)")
    rp.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    rp.set_defaults(func=_cmd_report)

    s = sub.add_parser("scenarios", help="list the shipped scenarios")
    s.set_defaults(func=_cmd_scenarios)

    c = sub.add_parser("schema", help="print the cohort column contract")
    c.add_argument("--format", choices=["markdown", "json"], default="markdown")
    c.set_defaults(func=_cmd_schema)

    d = sub.add_parser("demo", help="generate the default cohort and reproduce the cited figures")
    d.add_argument("--out", default="output")
    d.add_argument("--n-sle", type=int, default=DEMO_N_SLE)
    d.add_argument("--seed", type=int, default=DEMO_SEED)
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except DahOutcomesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
