"""Benchmark: target trial emulation by clone-censor-weight with 200 bootstrap replicates.

First the whole analysis, ``emulate_target_trial`` on a generated ``seed-article`` cohort of
about 10,000 DAH patients (the generation is not timed), for cyclophosphamide within 2 days
and plasmapheresis within 7 days, death by day 90 (the requirement: at most 60 s on this
2-core machine). Then the engine, ``clone_censor_weight``, on simulated patients (the
adjustment set's four categorical covariates, or those and a continuous age, which the
distinct-row aggregation of the censoring models cannot collapse), to show how the time grows
with patients, horizon and grace period. Every fit is timed once, and the load average
recorded: the machine is shared.

Run: ``python benchmarks/bench_emulation.py [--n-sle 190000] [--bootstrap 200]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes import generate_cohort
from dah_outcomes.analyses.target_trial import emulate_target_trial
from dah_outcomes.stats.clone_censor import clone_censor_weight, clone_table

COVARIATES = ["severe", "infection", "mechanical_ventilation", "era"]


def patients(n: int, seed: int = 0) -> pd.DataFrame:
    """DAH-like patients: starts by day (logistic in the day and severity), deaths by day
    (severity, ventilation and the era raise the hazard; treatment lowers it), follow-up to
    day 400."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.5
    infection = rng.random(n) < 0.3
    ventilation = rng.random(n) < 0.4
    modern = rng.random(n) < 0.6
    age = rng.normal(35, 12, n)
    start = np.where(rng.random(n) < 0.7, np.floor(rng.exponential(np.where(severe, 2, 5))), np.nan)
    hazard = 0.004 * (1 + severe) * (1 + ventilation) * np.where(modern, 0.6, 1.0)
    death = np.floor(rng.exponential(1 / hazard))
    start = np.where(start <= death, start, np.nan)
    follow = 400
    return pd.DataFrame(
        {
            "time": np.minimum(death, follow),
            "event": (death <= follow).astype(int),
            "start": start,
            "severe": severe.astype(float),
            "infection": infection.astype(float),
            "mechanical_ventilation": ventilation.astype(float),
            "era": pd.Categorical(np.where(modern, "modern", "historical")),
            "age": age,
        }
    )


def time_engine(
    data: pd.DataFrame, *, grace: int, horizon: int, covariates: list[str], bootstrap: int
) -> tuple[float, int]:
    rows = len(clone_table(data, time="time", event="event", start="start", grace=grace,
                           horizon=horizon))  # fmt: skip
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone_censor_weight(
            data, time="time", event="event", start="start", grace=grace, horizon=horizon,
            covariates=covariates, bootstrap=bootstrap, seed=1,
        )  # fmt: skip
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-sle", type=int, default=190_000)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "emulation.md"))
    args = parser.parse_args()
    b = args.bootstrap
    load_before = os.getloadavg()[0]
    cohort = generate_cohort("seed-article", n_sle=args.n_sle, seed=1)
    n_dah = int((cohort.episodes["episode_number"] == 1).sum())
    whole = []
    for treatment, grace in (("cyclophosphamide", 2), ("plasmapheresis", 7)):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = emulate_target_trial(
                cohort, treatment=treatment, grace_days=grace, horizon_days=90, bootstrap=b
            )
        seconds = time.perf_counter() - start
        whole.append((treatment, grace, fit.n, seconds, fit))
        print(treatment, grace, fit.n, f"{seconds:.2f} s", fit._title(), flush=True)

    grid = []
    for n in (2_500, 5_000, 10_000, 20_000, 40_000):
        grid.append(("patients", n, 2, 90, "4 categorical", *time_engine(
            patients(n), grace=2, horizon=90, covariates=COVARIATES, bootstrap=b)))  # fmt: skip
        print(grid[-1], flush=True)
    ten = patients(10_000)
    for horizon in (30, 180, 365):
        grid.append(("horizon", 10_000, 2, horizon, "4 categorical", *time_engine(
            ten, grace=2, horizon=horizon, covariates=COVARIATES, bootstrap=b)))  # fmt: skip
        print(grid[-1], flush=True)
    for grace in (7, 14):
        grid.append(("grace", 10_000, grace, 90, "4 categorical", *time_engine(
            ten, grace=grace, horizon=90, covariates=COVARIATES, bootstrap=b)))  # fmt: skip
        print(grid[-1], flush=True)
    for n in (10_000, 40_000):
        grid.append(("continuous age", n, 2, 90, "4 categorical + age", *time_engine(
            patients(n), grace=2, horizon=90, covariates=[*COVARIATES, "age"],
            bootstrap=b)))  # fmt: skip
        print(grid[-1], flush=True)

    lines = [
        f"# Target trial emulation (clone-censor-weight, {b} bootstrap replicates)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()} (2 cores shared with other jobs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}, by `benchmarks/bench_emulation.py`; each fit "
        "timed once. Requirement (issue 15): 200 replicates on 10,000 DAH patients in at most "
        "60 s.",
        "",
        f"## The analysis on a generated cohort ({n_dah:,} DAH patients, seed-article, "
        f"n_sle {args.n_sle:,})",
        "",
        "`emulate_target_trial(cohort, treatment=..., grace_days=G, horizon_days=90, "
        f"bootstrap={b})`, the default adjustment set; the time includes building the "
        "patient frame from the treatments table.",
        "",
        "| strategy | patients | seconds | risk within G | risk not within G | RD (95% CI) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for treatment, grace, n, seconds, fit in whole:
        c = fit.ccw
        lines.append(
            f"| {treatment} within {grace} days | {n:,} | {seconds:.1f} | {c.risk[0]:.3f} | "
            f"{c.risk[1]:.3f} | {c.risk_difference:+.3f} ({c.rd_ci_lower:+.3f} to "
            f"{c.rd_ci_upper:+.3f}) |"
        )
    lines += [
        "",
        "## The engine: growth with patients, horizon and grace period",
        "",
        "`clone_censor_weight` on simulated patients (follow-up to day 400). Rows: the "
        "expanded clone table (daily rows through the grace period, one row per clone after "
        "it).",
        "",
        "| varied | patients | grace | horizon | covariates | table rows | seconds "
        "| ms per replicate |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for varied, n, grace, horizon, cov, seconds, rows in grid:
        lines.append(
            f"| {varied} | {n:,} | {grace} | {horizon} | {cov} | {rows:,} | {seconds:.2f} | "
            f"{1000 * seconds / (b + 1):.1f} |"
        )
    lines += [
        "",
        "How it grows: the table has at most (grace + 2) rows per clone whatever the horizon "
        "(the days after the grace period are one interval row, where the weights do not "
        "change), so with categorical covariates the time grows linearly with patients and "
        "with the grace period (the rows of the table) and hardly with the horizon (only the "
        "curves' length, horizon + 1 days, grows). The censoring models are fitted on the "
        "distinct rows of their design (a few dozen with categorical covariates), so a "
        "replicate costs a few bincounts over the table. A continuous covariate makes every "
        "censoring-model row distinct, and the dense Newton steps then run on all of them "
        "(about 3 per patient at grace 2); their cost grew faster than the rows here (the "
        "arrays outgrow the caches of a shared machine; one Newton fit on 97,782 such rows "
        "took 0.35 s with OpenBLAS's default threads and 0.10 s with OPENBLAS_NUM_THREADS=1, "
        "its threads competing with the other jobs). Bootstrap replicates start their "
        "Newton steps from the estimate's coefficients. Against R: the censoring models "
        "and risk curves agree with glm and survfit to 5e-15 "
        "(tests/stats/test_clone_censor.py).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
