"""Benchmark: importing a large flat CSV vs reading it with pyarrow or DuckDB alone.

For each size a CSV (one patient per row, first-episode columns for a tenth of them) is
generated in a scratch folder (never committed). Every measurement runs in a fresh process,
so its peak RSS (``ru_maxrss``) is its own:

* ``pyarrow``: ``pyarrow.csv.read_csv`` (type inference, multithreaded) to an Arrow table;
* ``duckdb``: ``duckdb.read_csv(...).arrow()`` (sniffing, multithreaded) to an Arrow table;
* ``import``: ``read_cohort(path, mode="quarantine")`` (read + mapping + validation + Cohort),
  streamed in chunks (the default for a flat CSV);
* ``import-whole``: the same with ``chunk_rows=0`` (the whole file read at once).

Times are the best of ``--repeat`` runs (one run at 10 million rows).

Run: ``python benchmarks/bench_import.py [--rows 100000 1000000 10000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
path, what = sys.argv[1], sys.argv[2]

def peak_mb():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak over exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

import pyarrow, pandas  # imported before timing: every reader pays the same
if what.startswith("import"):
    from dah_outcomes.io.importer import read_cohort
elif what == "duckdb":
    import duckdb
else:
    from pyarrow import csv
base = peak_mb()
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
c = cpu()
t = time.perf_counter()
if what == "pyarrow":
    n = csv.read_csv(path).num_rows
elif what == "duckdb":
    got = duckdb.read_csv(path).arrow()  # a reader since duckdb 1.4: read it all
    n = (got.read_all() if hasattr(got, "read_all") else got).num_rows
else:
    r = read_cohort(path, mode="quarantine", chunk_rows=0 if what == "import-whole" else None)
    n = r.rows_read
    assert r.rows_read == r.rows_accepted + r.rows_rejected
    assert r.rows_rejected == 0, r.rejects.head()
seconds = time.perf_counter() - t
print(json.dumps({"what": what, "rows": n, "seconds": seconds, "cpu": cpu() - c,
                  "base_mb": base, "peak_mb": peak_mb()}))
"""
READERS = ("pyarrow", "duckdb", "import", "import-whole")
LABELS = {
    "pyarrow": "pyarrow.csv.read_csv alone",
    "duckdb": "duckdb read_csv alone (.arrow())",
    "import": "read_cohort, streamed (default)",
    "import-whole": "read_cohort, whole file (chunk_rows=0)",
}


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    """Write the benchmark CSV (pyarrow's writer: 10 million rows in seconds, not minutes)."""
    import pyarrow as pa
    from pyarrow import csv

    rng = np.random.default_rng(seed)

    def iso(days: np.ndarray) -> np.ndarray:
        return (np.datetime64("2000-01-01", "D") + days).astype(str)

    start = rng.integers(0, 7000, n)
    dah = rng.random(n) < 0.1

    def when_dah(values: np.ndarray) -> np.ndarray:
        return np.where(dah, values, "")

    columns = {
        "patient_id": np.char.add("P", np.arange(n).astype(str)),
        "sex": np.where(rng.random(n) < 0.9, "F", "M"),
        "birth_date": iso(start - rng.integers(6000, 20000, n)),
        "followup_start": iso(start),
        "followup_end": iso(start + rng.integers(30, 3000, n)),
        "site": np.array(list("ABCDE"))[rng.integers(0, 5, n)],
        "onset_date": when_dah(iso(start + rng.integers(0, 29, n))),
        "nephritis": when_dah(np.where(rng.random(n) < 0.5, "true", "false")),
        "mechanical_ventilation": when_dah(np.where(rng.random(n) < 0.8, "1", "0")),
        "in_hospital_death": when_dah(np.full(n, "false")),
    }
    table = pa.table({k: pa.array(v) for k, v in columns.items()})
    csv.write_csv(table, path, write_options=csv.WriteOptions(quoting_style="none"))


def measure(path: Path, what: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), what], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    # the machine may be shared: the load beside each timing says how far to trust it
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=2, help="runs per reader (best kept)")
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=READERS)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "import.md"))
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = Path(tmp) / f"big_{n}.csv"
            t = time.perf_counter()
            make_csv(path, n)
            gen = time.perf_counter() - t
            size_mb = path.stat().st_size / 2**20
            repeat = 1 if n >= 10_000_000 else args.repeat
            for what in args.readers:
                runs = [measure(path, what) for _ in range(repeat)]
                best = min(runs, key=lambda r: r["seconds"])
                assert best["rows"] == n
                rows.append(
                    {
                        "n": n,
                        "size_mb": size_mb,
                        "gen": gen,
                        "what": what,
                        "seconds": best["seconds"],
                        "cpu": best["cpu"],
                        "load": best["load"],
                        "runs": repeat,
                        "peak_mb": max(r["peak_mb"] for r in runs),
                        "base_mb": best["base_mb"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            path.unlink()
    lines = [
        "# Import benchmark",
        "",
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{_cpus()} CPUs. Each cell: a fresh process; seconds (wall clock) are the best of "
        "the runs shown, CPU s its user + system time, load the machine's 1-minute load "
        "average after it; peak RSS is the process's maximum resident set (the interpreter "
        "with pandas and pyarrow imported, before reading, is the 'base').",
        "",
        "| rows | CSV MiB | reader | runs | seconds | CPU s | load | peak RSS MiB | "
        "base RSS MiB | ours / pyarrow | ours / duckdb | peak / duckdb's |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ref = {x["what"]: x for x in rows if x["n"] == r["n"]}
        ratio = ["", "", ""]
        if r["what"].startswith("import"):
            ratio = [
                *(
                    f"{r['seconds'] / ref[k]['seconds']:.1f}x" if k in ref else ""
                    for k in ("pyarrow", "duckdb")
                ),
                f"{r['peak_mb'] / ref['duckdb']['peak_mb']:.1f}x" if "duckdb" in ref else "",
            ]
        lines.append(
            f"| {r['n']:,} | {r['size_mb']:.0f} | {LABELS[r['what']]} | {r['runs']} | "
            f"{r['seconds']:.2f} | {r['cpu']:.2f} | {r['load']:.1f} | {r['peak_mb']:.0f} | "
            f"{r['base_mb']:.0f} | {ratio[0]} | {ratio[1]} | {ratio[2]} |"
        )
    out = Path(args.out)
    # the written reading of the numbers (a "## Reading" section) survives a re-run
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    reading = old[old.index("## Reading") :] if "## Reading" in old else ""
    out.write_text("\n".join(lines) + "\n\n" + reading, encoding="utf-8")
    print("\n".join(lines))


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
