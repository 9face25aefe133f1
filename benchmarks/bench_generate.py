"""Benchmark: generating synthetic cohorts of 1e4 to 1e6 SLE patients.

Each size runs in a fresh process (so peak memory is that size's own), three times after a
warm-up; the table reports the best time, the share spent validating the cohort, and peak RSS.
Calibration is measured once (it is cached per scenario within a process).

Run: ``python benchmarks/bench_generate.py [--out benchmarks/results/generate.md]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from dah_outcomes import generate_cohort, load_scenario
from dah_outcomes.synthetic.calibration import _calibrate, CALIBRATION_N, CALIBRATION_SEED
from dah_outcomes.validation import validate_tables
n = int(sys.argv[1])
sc = load_scenario("seed-article")
t = time.perf_counter(); _calibrate(sc, CALIBRATION_N, CALIBRATION_SEED)
calibration = time.perf_counter() - t
generate_cohort(sc, n_sle=1000, seed=0)  # warm-up (fills the calibration cache)
best = float("inf")
for rep in range(3):
    t = time.perf_counter(); cohort = generate_cohort(sc, n_sle=n, seed=rep)
    best = min(best, time.perf_counter() - t)
t = time.perf_counter(); validate_tables(cohort.patients, cohort.episodes)
validation = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "seconds": best, "validation": validation,
                  "calibration": calibration, "peak_mb": peak_mb,
                  "dah_patients": cohort.n_dah_patients, "episodes": cohort.n_episodes}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "generate.md"))
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = [
        "# Synthetic cohort generation (`seed-article`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, by `benchmarks/bench_generate.py` (best of 3 after a "
        "warm-up; each size in a fresh process).",
        "",
        "| SLE patients | DAH patients | episodes | generate (s) | of which validation (s) "
        "| peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['dah_patients']:,} | {r['episodes']:,} | "
            f"{r['seconds']:.2f} | {r['validation']:.2f} | {r['peak_mb']:.0f} |"
        )
    lines += [
        "",
        f"Calibration (once per scenario, 1,000,000-patient sample): "
        f"{rows[-1]['calibration']:.2f} s.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
