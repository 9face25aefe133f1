"""Commands on reported figures: ``reproduce`` and ``audit``."""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from dah_outcomes.cli.output import echo, print_json

__all__ = ["register"]


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from dah_outcomes.io import load_cohort
    from dah_outcomes.reproduce.claims import load_claims
    from dah_outcomes.reproduce.verdicts import reproduce

    result = reproduce(load_claims(args.claims), load_cohort(args.cohort), ci_method=args.ci_method)
    if args.json:
        print_json(result.to_dict())
    else:
        frame = result.to_frame()
        with pd.option_context("display.width", 160, "display.max_colwidth", 90):
            echo(frame[["claim", "printed", "verdict", "why"]].to_string(index=False))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from dah_outcomes.reproduce.audit import audit_claims
    from dah_outcomes.reproduce.claims import load_claims
    from dah_outcomes.reproduce.published import read_evidence

    evidence = read_evidence(args.evidence) if args.evidence else None
    result = audit_claims(load_claims(args.claims), evidence)
    if args.json:
        print_json(result.to_dict())
    else:
        echo(_audit_text(result))
    return 0


def _audit_text(result: Any) -> str:
    """The audit as text: per claim the verdict under the default choices and whether it is
    robust; the verdicts under every choice; the choices behind each verdict that is not."""
    summary = result.summary().set_index("claim")
    table = result.to_frame()
    table["robustness"] = table["claim"].map(summary["robustness"])
    cols = ["claim", "printed", "k", "pooled", "ci_lower", "ci_upper", "verdict", "robustness"]
    cols = [c for c in cols if c in table]
    from dah_outcomes.reproduce.audit import DEFAULT_CHOICES

    d = DEFAULT_CHOICES
    parts = [
        f"Verdicts under the default choices (mortality: {d['time_frame']}; {d['interval']} "
        f"interval; {d['estimator']}; historical: {d['era_definition']}):"
    ]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        parts.append(table[cols].to_string(index=False))
        parts.append(
            "\nVerdicts under each defensible choice (time frame, interval, estimator, era "
            "definition); robust only when every pooled choice agrees:"
        )
        parts += [
            f"  {claim}: {row.robustness}"
            + (f" ({row.verdicts}, over {row.n_choices} choices)" if row.verdicts else "")
            for claim, row in summary.iterrows()
        ]
        shaky = result.differing_choices()
        for claim, rows in shaky.groupby("claim", sort=False):
            shown = ["time_frame", "interval", "estimator", "era_definition", "k", "pooled"]
            shown += ["ci_lower", "ci_upper", "pi_lower", "pi_upper", "verdict"]
            # an era definition is a choice only for a historical-era figure
            if not rows["era_definition"].astype(bool).any():
                shown.remove("era_definition")
            parts.append(f"\n{claim} ({rows['printed'].iloc[0]}), not robust:")
            parts.append(rows[shown].to_string(index=False))
    return "\n".join(parts)


def register(sub: Any) -> None:
    """Add this family's subcommands to the top-level parser's subparsers.

    Parameters
    ----------
    sub : argparse subparsers action
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    None
    """
    from dah_outcomes.reproduce.claims import SHIPPED_CLAIMS
    from dah_outcomes.stats.proportions import PROPORTION_METHODS

    claims_help = (
        "a TOML or YAML claims file, or the name of one shipped with the package: "
        + ", ".join(sorted(SHIPPED_CLAIMS))
    )
    rc = sub.add_parser(
        "reproduce",
        help="recompute reported figures (a claims file) from a cohort and judge each one",
    )
    rc.add_argument("claims", metavar="CLAIMS", help=claims_help)
    rc.add_argument("--cohort", required=True, metavar="DIR")
    rc.add_argument("--ci-method", choices=sorted(PROPORTION_METHODS), default="wilson")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=_cmd_reproduce)

    au = sub.add_parser("audit", help="set reported figures against the published series")
    au.add_argument("claims", metavar="CLAIMS", help=claims_help)
    au.add_argument("--evidence", help="published series CSV (default: the shipped extraction)")
    au.add_argument("--json", action="store_true")
    au.set_defaults(func=_cmd_audit)
