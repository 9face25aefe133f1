"""Benchmark: OMOP cohort extraction on DuckDB at 1e6, 1e7 and 1e8 clinical rows, and Spark
(local mode) at 1e6 for comparison.

Clinical rows = condition + procedure + drug + visit rows. Each database is a synthetic OMOP
CDM written as Parquet by ``write_omop`` (noise rows scale it up); each extraction runs in a
fresh process so its peak RSS is its own. Writes ``benchmarks/results/omop.md``.

Run: ``python benchmarks/bench_omop.py [--sizes 1e6,1e7,1e8] [--scratch DIR]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

WRITE = r"""
import json, sys, time
from dah_outcomes import generate_cohort
from dah_outcomes.omop.synthesize import OmopNoise, write_omop
n_sle, noise, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
cohort = generate_cohort("seed-article", n_sle=n_sle, seed=1)
counts = write_omop(cohort, out, seed=1, noise=OmopNoise(rows_per_person=noise),
                    chunk_patients=100_000)
clinical = sum(counts[k] for k in ("visit_occurrence", "condition_occurrence",
                                   "procedure_occurrence", "drug_exposure"))
print(json.dumps({"clinical_rows": clinical, "persons": counts["person"],
                  "write_seconds": time.perf_counter() - t, "dah": cohort.n_dah_patients}))
"""

EXTRACT = r"""
import json, resource, sys, time
from dah_outcomes.omop.extract import extract_cohort
t = time.perf_counter()
r = extract_cohort(sys.argv[1], engine=sys.argv[2])
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "dah": r.cohort.n_dah_patients,
                  "episodes": r.cohort.n_episodes,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e6,1e7,1e8")
    parser.add_argument("--spark-size", default="1e6")
    parser.add_argument("--scratch", default=str(Path(__file__).parent / ".scratch" / "omop"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "omop.md"))
    args = parser.parse_args()
    scratch = Path(args.scratch)
    rows = []
    for size in (float(s) for s in args.sizes.split(",")):
        # about 10 clinical rows per person come from the cohort itself; noise makes the rest
        n_sle = max(10_000, int(min(size / 100, 1_000_000)))
        noise = max(0.0, size / n_sle - 3.5)
        folder = scratch / f"cdm_{size:.0e}"
        shutil.rmtree(folder, ignore_errors=True)
        w = run(WRITE, str(n_sle), str(noise), str(folder))
        engines = ["duckdb"] + (
            ["spark"] if f"{size:.0e}" == f"{float(args.spark_size):.0e}" else []
        )
        for engine in engines:
            x = run(EXTRACT, str(folder), engine)
            assert x["dah"] == w["dah"], (x, w)
            rows.append({"size": size, "engine": engine, **w, **x})
            print(rows[-1], flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    lines = [
        "# OMOP extraction benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 cores), Python "
        f"{platform.python_version()}, by `benchmarks/bench_omop.py`. Synthetic OMOP CDM "
        "(Parquet) from `seed-article`; each extraction in a fresh process; the extracted "
        "DAH patients equal the generator's. Spark's peak RSS is the Python driver's only "
        "(the JVM runs in its own process).",
        "",
        "| clinical rows | persons | engine | DAH patients | extract (s) | "
        "µs per 1,000 rows | peak RSS (MB) | write (s) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        per_k = r["seconds"] / r["clinical_rows"] * 1e9  # ns per row = µs per 1,000 rows
        lines.append(
            f"| {r['clinical_rows']:,} | {r['persons']:,} | {r['engine']} | "
            f"{r['dah']:,} | {r['seconds']:.1f} | {per_k:.1f} | {r['peak_mb']:.0f} | "
            f"{r['write_seconds']:.1f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
