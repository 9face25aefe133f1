"""Benchmark: importing a large flat CSV vs reading it with pyarrow alone.

A CSV of N rows (one patient per row, first-episode columns for a tenth of them) is generated
in a scratch folder (never committed). Each measurement runs in a fresh process so peak RSS is
its own: pyarrow.csv.read_csv alone (type inference, multithreaded), and
``read_cohort(path, mode="quarantine")`` (read + mapping + validation + Cohort).

Run: ``python benchmarks/bench_import.py [--rows 1000000] [--out benchmarks/results/import.md]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r"""
import json, resource, sys, time
path, what = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if what == "pyarrow":
    from pyarrow import csv
    n = csv.read_csv(path).num_rows
else:
    from dah_outcomes.io.importer import read_cohort
    r = read_cohort(path, mode="quarantine")
    n = r.rows_read
    assert r.rows_read == r.rows_accepted + r.rows_rejected
seconds = time.perf_counter() - t
print(json.dumps({"what": what, "rows": n, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 7000, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(30, 3000, n), unit="D")
    dah = rng.random(n) < 0.1
    onset = start + pd.to_timedelta(rng.integers(0, 29, n), unit="D")
    frame = pd.DataFrame({
        "patient_id": np.char.add("P", np.arange(n).astype(str)),
        "sex": np.where(rng.random(n) < 0.9, "F", "M"),
        "birth_date": (start - pd.to_timedelta(rng.integers(6000, 20000, n), unit="D"))
        .strftime("%Y-%m-%d"),
        "followup_start": start.strftime("%Y-%m-%d"),
        "followup_end": end.strftime("%Y-%m-%d"),
        "site": np.array(list("ABCDE"))[rng.integers(0, 5, n)],
        "onset_date": np.where(dah, onset.strftime("%Y-%m-%d"), ""),
        "nephritis": np.where(dah, np.where(rng.random(n) < 0.5, "true", "false"), ""),
        "mechanical_ventilation": np.where(dah, np.where(rng.random(n) < 0.8, "1", "0"), ""),
        "in_hospital_death": np.where(dah, "false", ""),
    })
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "import.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t = time.perf_counter()
        make_csv(path, args.rows)
        gen = time.perf_counter() - t
        size_mb = path.stat().st_size / 2**20
        res = {}
        for what in ("pyarrow", "import"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), what],
                                 capture_output=True, text=True, check=True)
            res[what] = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = res["import"]["seconds"] / res["pyarrow"]["seconds"]
    lines = [
        "# Import benchmark", "",
        f"{args.rows:,} rows, {size_mb:.0f} MiB CSV (generated in {gen:.1f} s in a scratch "
        f"folder); {platform.python_version()}, {platform.machine()}, one run each in a fresh "
        "process.", "",
        "| reader | seconds | peak RSS (MiB) |", "|---|---|---|",
        f"| pyarrow.csv.read_csv alone | {res['pyarrow']['seconds']:.2f} | "
        f"{res['pyarrow']['peak_mb']:.0f} |",
        f"| read_cohort (read + map + validate + Cohort) | {res['import']['seconds']:.2f} | "
        f"{res['import']['peak_mb']:.0f} |", "",
        f"Ratio read_cohort / pyarrow: **{ratio:.1f}x**.", "",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
