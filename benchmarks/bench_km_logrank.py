"""Benchmark: Kaplan-Meier by three arms plus the log-rank test, ours beside lifelines and
scikit-survival (when installed) and a numpy floor, at 1e3 to 1e7 rows, integer-day and
continuous times, in the same run. Estimates are checked identical to lifelines'.

Floor: integer times, one ``np.bincount`` of (arm, time) pairs for events and exits; continuous
times, one ``np.argsort``. Writes ``benchmarks/results/km_logrank.md``.

Run: ``python benchmarks/bench_km_logrank.py [--sizes 1e3,1e4,1e5,1e6,1e7]``
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.stats.kaplan_meier import kaplan_meier
from dah_outcomes.stats.logrank import logrank_test

LIFELINES_MAX = 1_000_000  # lifelines takes minutes beyond this on 2 cores


def data(n: int, integer: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n)
    t = rng.exponential(np.array([400.0, 600.0, 800.0])[arm])
    c = rng.uniform(0, 2000, n)
    time_ = np.minimum(t, c)
    if integer:
        time_ = np.ceil(time_)
    return pd.DataFrame({"time": time_, "event": (t <= c).astype(int),
                         "arm": np.array(["A", "B", "C"])[arm]})


def timed(fn) -> tuple[float, float, object]:
    tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, out


def ours(df: pd.DataFrame):
    km = kaplan_meier(df, time="time", event="event", group="arm")
    return km, logrank_test(df, time="time", event="event", group="arm")


def lifelines_run(df: pd.DataFrame):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    fits = {g: KaplanMeierFitter().fit(part["time"], part["event"])
            for g, part in df.groupby("arm")}
    return fits, multivariate_logrank_test(df["time"], df["arm"], df["event"])


def sksurv_run(df: pd.DataFrame):
    from sksurv.compare import compare_survival
    from sksurv.nonparametric import kaplan_meier_estimator

    y = np.array(list(zip(df["event"].astype(bool), df["time"], strict=True)),
                 dtype=[("e", bool), ("t", float)])
    curves = {g: kaplan_meier_estimator(y["e"][df["arm"] == g], y["t"][df["arm"] == g])
              for g in ("A", "B", "C")}
    return curves, compare_survival(y, df["arm"].to_numpy())


def floor(df: pd.DataFrame, integer: bool):
    t = df["time"].to_numpy()
    if integer:
        g = (df["arm"].to_numpy() == "B") + 2 * (df["arm"].to_numpy() == "C")
        key = t.astype(np.int64) * 3 + g
        return np.bincount(key, weights=df["event"].to_numpy()), np.bincount(key)
    return np.argsort(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6,1e7")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "km_logrank.md"))
    args = parser.parse_args()
    try:
        import sksurv  # noqa: F401
        have_sksurv = True
    except ImportError:
        have_sksurv = False
    rows = []
    for integer in (True, False):
        for n in (int(float(s)) for s in args.sizes.split(",")):
            df = data(n, integer)
            f_s, _, _ = timed(lambda df=df, integer=integer: floor(df, integer))
            o_s, o_mem, (km, lr) = timed(lambda df=df: ours(df))
            row = {"times": "integer days" if integer else "continuous", "n": n,
                   "floor_s": f_s, "ours_s": o_s, "ours_mb": o_mem}
            if n <= LIFELINES_MAX:
                l_s, l_mem, (fits, llr) = timed(lambda df=df: lifelines_run(df))
                diff = max(float(np.max(np.abs(
                    km.curve(g).survival
                    - fits[g].survival_function_.iloc[1:, 0].reindex(km.curve(g).time)
                    .to_numpy()))) for g in ("A", "B", "C"))
                row |= {"lifelines_s": l_s, "lifelines_mb": l_mem, "max_abs_diff": diff,
                        "chisq_diff": abs(lr.statistic - llr.test_statistic)}
            if have_sksurv and n <= LIFELINES_MAX:
                s_s, _, _ = timed(lambda df=df: sksurv_run(df))
                row["sksurv_s"] = s_s
            rows.append(row)
            print(row, flush=True)
    lines = ["# Kaplan-Meier (3 arms) + log-rank: ours, lifelines, scikit-survival, numpy floor",
             "", f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 cores), "
             f"Python {platform.python_version()}, by `benchmarks/bench_km_logrank.py`, all in "
             "one run. Peak memory by tracemalloc (Python allocations). "
             + ("" if have_sksurv else "scikit-survival was not installed in this run. ")
             + f"lifelines is skipped above {LIFELINES_MAX:,} rows.", "",
             "| times | rows | floor (s) | ours (s) | ours / floor | lifelines (s) | "
             "lifelines / ours | scikit-survival (s) | max abs ΔS vs lifelines | "
             "Δ chi-square | ours peak MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        def f(key, fmt="{:.3f}", r=r):
            return fmt.format(r[key]) if key in r else "–"
        ratio_l = f"{r['lifelines_s'] / r['ours_s']:.1f}x" if "lifelines_s" in r else "–"
        lines.append(f"| {r['times']} | {r['n']:,} | {f('floor_s')} | {f('ours_s')} | "
                     f"{r['ours_s'] / r['floor_s']:.1f}x | {f('lifelines_s')} | {ratio_l} | "
                     f"{f('sksurv_s')} | {f('max_abs_diff', '{:.1e}')} | "
                     f"{f('chisq_diff', '{:.1e}')} | {f('ours_mb', '{:.0f}')} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
