"""Benchmark: OMOP cohort extraction on DuckDB at 1e6, 1e7 and 1e8 clinical rows, and Spark
(local mode) at 1e6 for comparison.

Clinical rows = condition + procedure + drug + visit rows. Each database is a synthetic OMOP
CDM written as Parquet by ``write_omop`` (noise rows scale it up); each extraction runs in a
fresh process so its peak RSS is its own, ``--repeat`` times (the fastest is reported: the
machine is shared). With ``--before-tree DIR`` (a checkout of an earlier version, e.g.
``git archive <commit> | tar -x -C DIR``) each database is also extracted by that version,
interleaved with the current one so both meet the same load. Writes
``benchmarks/results/omop.md``.

Run: ``python benchmarks/bench_omop.py [--sizes 1e6,1e7,1e8] [--scratch DIR]
[--before-tree DIR] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
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
import dah_outcomes
print(json.dumps({"seconds": seconds, "dah": r.cohort.n_dah_patients,
                  "package": dah_outcomes.__file__,
                  "episodes": r.cohort.n_episodes,
                  "courses": getattr(r.cohort, "n_treatments", 0),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str, tree: str | None = None) -> dict:
    # both versions' Spark drivers get 2 GB (the default 1 GB at times failed to broadcast a
    # join side at 1e6 rows; the current version asks for 2 GB itself)
    env = {"PYSPARK_SUBMIT_ARGS": "--driver-memory 2g pyspark-shell", **os.environ}
    if tree:  # an earlier version of the package, ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join([tree, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,  # "python -c" puts the working directory first on sys.path
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"benchmark step failed:\n{done.stderr[-4000:]}")
    # the last JSON object: DuckDB draws a progress bar on stdout during long queries
    return json.loads("{" + done.stdout.rsplit("{", 1)[-1].strip().splitlines()[0])


def extract(folder: Path, engine: str, repeat: int, tree: str | None = None) -> dict:
    """The fastest of ``repeat`` extractions (each in a fresh process), with the largest peak."""
    runs = [run(EXTRACT, str(folder), engine, tree=tree) for _ in range(repeat)]
    if tree:  # the earlier version really ran
        assert Path(runs[0]["package"]).resolve().is_relative_to(Path(tree).resolve()), runs[0]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_mb": max(r["peak_mb"] for r in runs), "runs": len(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e6,1e7,1e8")
    parser.add_argument("--spark-size", default="1e6")
    parser.add_argument("--scratch", default=str(Path(__file__).parent / ".scratch" / "omop"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "omop.md"))
    parser.add_argument("--repeat", type=int, default=3, help="DuckDB extractions per size")
    parser.add_argument("--spark-repeat", type=int, default=1, help="Spark extractions")
    parser.add_argument("--before-tree", help="also extract with the package found in DIR")
    parser.add_argument("--before-label", default="the earlier version", help="names it")
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
            repeat = args.repeat if engine == "duckdb" else args.spark_repeat
            before = {}
            if args.before_tree:
                before = extract(folder, engine, repeat, args.before_tree)
                assert before["dah"] == w["dah"], (before, w)
            x = extract(folder, engine, repeat)
            assert x["dah"] == w["dah"], (x, w)
            rows.append({"size": size, "engine": engine, **w, **x, "before": before})
            print(rows[-1], flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    lines = [
        "# OMOP extraction benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 cores), Python "
        f"{platform.python_version()}, by `benchmarks/bench_omop.py`. Synthetic OMOP CDM "
        "(Parquet) from `seed-article`; each extraction in a fresh process; the extracted "
        "DAH patients equal the generator's. Spark's peak RSS is the Python driver's only "
        "(the JVM runs in its own process). DuckDB times are the fastest of "
        f"{args.repeat} runs (the machine is shared); Spark's the fastest of "
        f"{args.spark_repeat}, each starting its own local session.",
        "",
        *(
            [
                f"`before` columns: {args.before_label}, extracting the same databases "
                "interleaved with the current version.",
                "",
            ]
            if args.before_tree
            else []
        ),
        "| clinical rows | persons | engine | DAH patients | treatment courses | extract (s) | "
        "µs per 1,000 rows | peak RSS (MB) | write (s) |"
        + (" before: extract (s) | before: peak RSS (MB) |" if args.before_tree else ""),
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|"
        + ("---:|---:|" if args.before_tree else ""),
    ]
    for r in rows:
        per_k = r["seconds"] / r["clinical_rows"] * 1e9  # ns per row = µs per 1,000 rows
        b = r["before"]
        lines.append(
            f"| {r['clinical_rows']:,} | {r['persons']:,} | {r['engine']} | "
            f"{r['dah']:,} | {r['courses']:,} | {r['seconds']:.2f} | {per_k:.1f} | "
            f"{r['peak_mb']:.0f} | {r['write_seconds']:.1f} |"
            + (f" {b['seconds']:.2f} | {b['peak_mb']:.0f} |" if b else "")
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
