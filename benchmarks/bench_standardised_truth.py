"""Ground truth of the standardised arm risks: do the AIPW (and g-computation) risks of
:func:`dah_outcomes.analyses.arm_risks.standardised_risks` cover the generator's
``truth["standardized_risks"]``?

The truth is the risk of death by days 30 and 90 and in hospital had every patient received
an arm's treatments, each course planned on the patient's own start day and given if alive
and in hospital then (:mod:`dah_outcomes.synthetic.strategies`). The estimators compare arms
defined by the treatments received, adjusted for the one adjustment set (severe, infection,
ventilation, era). Two scenarios:

* ``immediate``: ``seed-article`` with every course starting on the day of onset
  (``first_day = 0``, no delays). The arm a patient receives is then fixed at time zero, and
  the standardised risk of the arm is the truth's estimand: this measures the estimators'
  bias and interval coverage.
* ``seed-article`` as shipped: courses start days after onset (cyclophosphamide from day 0 +
  Poisson(2), three more days with an infection; plasmapheresis 0 + Poisson(1.5); rituximab
  from day 2 + Poisson(4)), only in patients still alive. Arms defined by the treatments a
  patient ends up receiving then select survivors into the treated arms (a patient dying on
  day 1 can only be in "Steroids without CYC"): immortal time, which no adjustment for
  baseline covariates removes. The rows measure that bias; the strategy estimand needs
  clone-censor-weighting (:mod:`dah_outcomes.analyses.target_trial`).

Coverage is of the 95% bootstrap percentile interval (patients resampled), with its Monte
Carlo standard error ``sqrt(p (1 - p) / reps)``; bias is the mean estimate minus the truth,
with the SE of that mean.

Writes ``benchmarks/results/standardised_truth.md``. Run:
``python benchmarks/bench_standardised_truth.py [--reps 100] [--reps-seed-article 30]
[--n-sle 20000] [--bootstrap 200]``
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes import generate_cohort
from dah_outcomes.analyses.arm_risks import standardised_risks
from dah_outcomes.errors import DahOutcomesWarning

OUT = Path(__file__).parent / "results" / "standardised_truth.md"
ESTIMATORS = ("aipw", "gcomputation", "observed")


def immediate_scenario(folder: Path) -> Path:
    """``seed-article`` with every course on the day of onset, as a TOML file in ``folder``."""
    text = (
        resources.files("dah_outcomes.synthetic") / "scenarios" / "seed-article.toml"
    ).read_text(encoding="utf-8")
    text = re.sub(r"first_day = \d+", "first_day = 0", text)
    text = re.sub(r"mean_delay_days = [\d.]+", "mean_delay_days = 0", text)
    text = re.sub(r"infection_delay_days = \d+", "infection_delay_days = 0", text)
    path = folder / "immediate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def replicate(scenario: str | Path, n_sle: int, seed: int, bootstrap: int) -> pd.DataFrame:
    """One cohort's estimates beside the truth: one row per arm, horizon and estimator."""
    cohort = generate_cohort(scenario, n_sle=n_sle, seed=seed)
    truth = {
        (r["arm"], r["horizon_days"]): r["risk"]
        for r in cohort.provenance["truth"]["standardized_risks"]
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        result = standardised_risks(cohort, bootstrap=bootstrap, seed=seed, method="both")
    t = result.table
    t = t.assign(
        truth=[truth.get((a, h), np.nan) for a, h in zip(t["arm"], t["horizon"], strict=True)]
    )
    return t[t["truth"].notna()].assign(rep=seed, n_boot_failed=result.n_boot_failed)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (arm, horizon, method), g in rows.groupby(["arm", "horizon", "method"], sort=False):
        reps = len(g)
        covered = ((g["ci_lower"] <= g["truth"]) & (g["truth"] <= g["ci_upper"])).mean()
        err = g["risk"] - g["truth"]
        out.append(
            {
                "arm": arm,
                "horizon": horizon,
                "method": method,
                "truth": g["truth"].iloc[0],
                "mean_estimate": g["risk"].mean(),
                "bias": err.mean(),
                "bias_se": err.std(ddof=1) / math.sqrt(reps),
                "coverage": covered,
                "coverage_se": math.sqrt(covered * (1 - covered) / reps),
                "mean_n": g["n"].mean(),
                "reps": reps,
            }
        )
    return pd.DataFrame(out)


def table(summary: pd.DataFrame) -> str:
    head = (
        "| arm | horizon | truth | AIPW mean (bias ± SE) | AIPW coverage ± MC SE | "
        "g-comp bias ± SE | g-comp coverage | observed bias ± SE | mean n |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    s = summary.set_index(["arm", "horizon", "method"])
    for arm, horizon in dict.fromkeys(zip(summary["arm"], summary["horizon"], strict=True)):
        a, g, o = (s.loc[(arm, horizon, m)] for m in ESTIMATORS)
        lines.append(
            f"| {arm} | {horizon} | {a['truth']:.3f} | {a['mean_estimate']:.3f} "
            f"({a['bias']:+.3f} ± {a['bias_se']:.3f}) | {100 * a['coverage']:.0f}% ± "
            f"{100 * a['coverage_se']:.0f} | {g['bias']:+.3f} ± {g['bias_se']:.3f} | "
            f"{100 * g['coverage']:.0f}% | {o['bias']:+.3f} ± {o['bias_se']:.3f} | "
            f"{a['mean_n']:.0f} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="replicates of 'immediate'")
    parser.add_argument("--reps-seed-article", type=int, default=30)
    parser.add_argument("--n-sle", type=int, default=20_000)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    sections = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            ("immediate", immediate_scenario(Path(tmp)), args.reps),
            ("seed-article", "seed-article", args.reps_seed_article),
        ]
        for name, scenario, reps in runs:
            t0 = time.perf_counter()
            rows = pd.concat(
                [replicate(scenario, args.n_sle, seed, args.bootstrap) for seed in range(reps)]
            )
            seconds = time.perf_counter() - t0
            failed = int(rows.drop_duplicates("rep")["n_boot_failed"].sum())
            sections.append(
                f"## {name}: {reps} cohorts of {args.n_sle:,} SLE patients\n\n"
                f"{table(summarise(rows))}\n"
                f"{seconds:.0f} s ({seconds / reps:.1f} s per cohort, generation included); "
                f"{failed} of {reps * args.bootstrap} bootstrap replicates failed.\n"
            )
            print(sections[-1], flush=True)
    load = os.getloadavg()[0]
    text = (
        "# Standardised arm risks against the generator's truth\n\n"
        "`python benchmarks/bench_standardised_truth.py "
        f"--reps {args.reps} --reps-seed-article {args.reps_seed_article} "
        f"--n-sle {args.n_sle} --bootstrap {args.bootstrap}` "
        f"({time.perf_counter() - started:.0f} s, load average {load:.1f}). Estimators: "
        "`standardised_risks(cohort, method='both')`, default adjustment set; 95% bootstrap "
        "percentile intervals. See the module docstring for the two scenarios: in "
        "`immediate` an arm is fixed at onset and the truth is the estimand; in "
        "`seed-article` courses start after onset and arms defined by the treatments "
        "received carry immortal-time bias.\n\n" + "\n".join(sections)
    )
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
