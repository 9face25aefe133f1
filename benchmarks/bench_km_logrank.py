"""Benchmark: Kaplan-Meier by three arms plus the log-rank test at 1e3 to 1e7 rows, integer-day
and continuous times: ours beside lifelines, scikit-survival (when installed) and a numpy
floor, all in one run, checking that the estimates agree.

- ours: ``kaplan_meier`` + ``logrank_test`` on the rows (two passes over the rows), and
  ``kaplan_meier`` + ``logrank_from_km`` (the test from the fitted curves: one pass);
  arms are a pandas categorical; "text arms" repeats the first with the arm as strings.
- lifelines: ``KaplanMeierFitter`` per arm + ``multivariate_logrank_test``.
- scikit-survival: ``kaplan_meier_estimator`` per arm + ``compare_survival`` (building its
  structured array counted).
- floor: ``np.bincount`` of the integer days; ``np.argsort`` of the continuous times.
- arm floor (integer days): the least numpy that yields what Kaplan-Meier and log-rank by arm
  need, exits and events per (day, arm): one key ``day * 3 + arm`` and two ``bincount``s.

Times are the best of a few repeats (the first touch of fresh memory is slow on this VM and
would otherwise decide the result). A library is skipped at a size where its time, predicted
from the previous size, would exceed 60 s. Peak memory by tracemalloc (numpy and Python
allocations) in one extra run. Writes ``benchmarks/results/km_logrank.md``.

Run: ``python benchmarks/bench_km_logrank.py [--sizes 1e3,1e4,1e5,1e6,1e7]``
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.stats.logrank import logrank_from_km, logrank_test
from dah_outcomes.stats.nonparametric import kaplan_meier, read_grouped

ARMS = ("A", "B", "C")
LIMIT_S = 60.0


def data(n: int, integer: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n)
    t = rng.exponential(np.array([400.0, 600.0, 800.0])[arm])
    c = rng.uniform(0, 2000, n)
    time_ = np.minimum(t, c)
    if integer:
        time_ = np.ceil(time_).astype(np.int64)
    return pd.DataFrame(
        {
            "time": time_,
            "event": (t <= c).astype(np.int8),
            "arm": pd.Categorical.from_codes(arm, ARMS),
        }
    )


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def ours_rows(df: pd.DataFrame):
    return (
        kaplan_meier(df, time="time", event="event", group="arm"),
        logrank_test(df, time="time", event="event", group="arm"),
    )


def ours_curves(df: pd.DataFrame):
    km = kaplan_meier(df, time="time", event="event", group="arm")
    return km, logrank_from_km(km)


def lifelines_run(df: pd.DataFrame):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    fits = {
        g: KaplanMeierFitter().fit(part["time"], part["event"])
        for g, part in df.groupby("arm", observed=True)
    }
    return fits, multivariate_logrank_test(df["time"], df["arm"], df["event"])


def sksurv_run(df: pd.DataFrame):
    from sksurv.compare import compare_survival
    from sksurv.nonparametric import kaplan_meier_estimator

    y = np.empty(len(df), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = df["event"].to_numpy() == 1, df["time"].to_numpy()
    arm = df["arm"].to_numpy()
    curves = {g: kaplan_meier_estimator(y["event"][arm == g], y["time"][arm == g]) for g in ARMS}
    return curves, compare_survival(y, arm)


def floor(df: pd.DataFrame, integer: bool):
    t = df["time"].to_numpy()
    return np.bincount(t) if integer else np.argsort(t)


def arm_floor(df: pd.DataFrame):
    """Exits and events per (day, arm): the counts KM + log-rank by arm are computed from."""
    key = df["time"].to_numpy() * len(ARMS) + df["arm"].cat.codes.to_numpy()
    return np.bincount(key), np.bincount(key, weights=df["event"].to_numpy())


def max_abs_diff(km, curves: dict) -> float:
    """Largest |S_ours - S_theirs| over every arm's distinct times."""
    worst = 0.0
    for g in ARMS:
        c = km.curve(g)
        times, surv = curves[g]
        theirs = pd.Series(surv, index=times).reindex(c.time).to_numpy()
        worst = max(worst, float(np.max(np.abs(c.survival - theirs))))
    return worst


def fmt(value, spec: str = "{:.3f}") -> str:
    return "–" if value is None else spec.format(value)


def _measure_library(
    r: dict, name: str, fn, df: pd.DataFrame, n: int, km, lr, last: dict, prev_n: int | None
) -> None:
    """Time one peer library at one size (skipped where its predicted time is too long)."""
    predicted = last[name] * (n / prev_n) * 1.3 if prev_n else 0.0
    if predicted > LIMIT_S:
        r[f"{name}_skipped"] = predicted
        last[name] = float("inf")
        return
    lib_reps = 1 if n >= 10_000_000 else 2
    r[name], (curves, test) = best_of(lambda df=df, fn=fn: fn(df), lib_reps)
    last[name] = r[name]
    if name == "lifelines":
        curves = {
            g: (
                f.survival_function_.index.to_numpy(),
                f.survival_function_.iloc[:, 0].to_numpy(),
            )
            for g, f in curves.items()
        }
        stat = test.test_statistic
        if n <= 1_000_000:
            r["lifelines_mb"] = peak_mb(lambda df=df: lifelines_run(df))
    else:
        stat = test[0]
    r[f"{name}_ds"] = max_abs_diff(km, curves)
    r[f"{name}_dchi"] = abs(lr.statistic - stat)


def _measure(n: int, integer: bool, last: dict, prev_n: int | None, sksurv_version) -> dict:
    """Every timing of one size and kind of times."""
    df = data(n, integer)
    reps = 3 if n <= 1_000_000 else 2
    r: dict = {"times": "integer days" if integer else "continuous", "n": n}
    r["floor"], _ = best_of(lambda df=df, i=integer: floor(df, i), reps)
    r["arm_floor"] = best_of(lambda df=df: arm_floor(df), reps)[0] if integer else None
    r["ours"], (km, lr) = best_of(lambda df=df: ours_rows(df), reps)
    r["curves"], (_, lr2) = best_of(lambda df=df: ours_curves(df), reps)
    assert abs(lr.statistic - lr2.statistic) <= 1e-9 * max(1.0, lr.statistic)
    text = df.assign(arm=df["arm"].astype(str))
    r["text"], _ = best_of(lambda text=text: ours_rows(text), reps)
    del text
    r["read"], _ = best_of(
        lambda df=df: read_grouped(df, time="time", event="event", group="arm"), reps
    )
    r["ours_mb"] = peak_mb(lambda df=df: ours_rows(df))
    for name, fn in (
        ("lifelines", lifelines_run),
        ("sksurv", sksurv_run if sksurv_version else None),
    ):
        if fn is not None and last[name] != float("inf"):  # not skipped at a smaller size
            _measure_library(r, name, fn, df, n, km, lr, last, prev_n)
    for name in last:
        r.setdefault(f"{name}_skipped", None)
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6,1e7")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "km_logrank.md"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # lifelines' pandas-4 deprecation notices
    try:
        import sksurv

        sksurv_version = sksurv.__version__
    except ImportError:
        sksurv_version = None
    import lifelines

    rows = []
    for integer in (True, False):
        last = {"lifelines": 0.0, "sksurv": 0.0}
        prev_n = None
        for n in (int(float(s)) for s in args.sizes.split(",")):
            rows.append(_measure(n, integer, last, prev_n, sksurv_version))
            prev_n = n

    lines = [
        "# Kaplan-Meier (3 arms) + log-rank: ours, lifelines, scikit-survival, numpy floor",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 shared cores, "
        f"24 GiB), Python {platform.python_version()}, numpy {np.__version__}, pandas "
        f"{pd.__version__}, lifelines {lifelines.__version__}, scikit-survival "
        f"{sksurv_version or 'not installed'}; all in one run of "
        "`benchmarks/bench_km_logrank.py`. Seconds are the best of 2-3 repeats (1 for a "
        "library at 1e7). A dash means not run: a library is skipped where its time, "
        f"predicted from the previous size, exceeds {LIMIT_S:.0f} s (predicted time in the "
        "notes).",
        "",
        "- **floor**: `np.bincount` of the integer days; `np.argsort` of the continuous "
        "times (no validation, no arms, no estimate). **arm floor** (integer days): exits and "
        "events per (day, arm), one key and two `np.bincount`s: the least numpy from which "
        "Kaplan-Meier and log-rank by arm can be computed.",
        "- **ours (rows)**: `kaplan_meier` + `logrank_test`, each reading and validating the "
        "rows. **ours (curves)**: `kaplan_meier` + `logrank_from_km`, the test taken from the "
        "fitted curves. Arms are a categorical column; **text arms** is ours (rows) with the "
        "arm as strings (one factorisation more per call).",
        "",
        "| times | rows | floor (s) | arm floor (s) | ours rows (s) | / floor | / arm floor | "
        "ours curves (s) | / floor | / arm floor | text arms (s) | lifelines (s) | "
        "lifelines / ours rows | scikit-survival (s) | sksurv / ours rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for r in rows:
        af = r["arm_floor"]
        lines.append(
            f"| {r['times']} | {r['n']:,} | {r['floor']:.4f} | {fmt(af, '{:.4f}')} | "
            f"{r['ours']:.4f} | {r['ours'] / r['floor']:.1f}x | "
            f"{fmt(af and r['ours'] / af, '{:.1f}x')} | {r['curves']:.4f} | "
            f"{r['curves'] / r['floor']:.1f}x | {fmt(af and r['curves'] / af, '{:.1f}x')} | "
            f"{r['text']:.4f} | "
            f"{fmt(r.get('lifelines'))} | "
            f"{fmt(r.get('lifelines') and r['lifelines'] / r['ours'], '{:.1f}x')} | "
            f"{fmt(r.get('sksurv'))} | "
            f"{fmt(r.get('sksurv') and r['sksurv'] / r['ours'], '{:.1f}x')} |"
        )
        for name in ("lifelines", "sksurv"):
            if r.get(f"{name}_skipped"):
                notes.append(
                    f"- {name} skipped at {r['times']}, {r['n']:,} rows: predicted "
                    f"{r[f'{name}_skipped']:.0f} s from the previous size."
                )
    lines += [
        "",
        "Agreement (largest |S_ours - S_theirs| over every arm's distinct times; "
        "|chi-square difference|) and peak memory (tracemalloc, MB):",
        "",
        "| times | rows | ΔS lifelines | Δχ² lifelines | ΔS sksurv | Δχ² sksurv | "
        "ours peak MB | lifelines peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['times']} | {r['n']:,} | {fmt(r.get('lifelines_ds'), '{:.1e}')} | "
            f"{fmt(r.get('lifelines_dchi'), '{:.1e}')} | {fmt(r.get('sksurv_ds'), '{:.1e}')} | "
            f"{fmt(r.get('sksurv_dchi'), '{:.1e}')} | {r['ours_mb']:.0f} | "
            f"{fmt(r.get('lifelines_mb'), '{:.0f}')} |"
        )
    lines += ["", "Against the goals (largest size of each kind):", ""]
    for kind, goal in (("integer days", 2.0), ("continuous", 1.5)):
        big = max((r for r in rows if r["times"] == kind), key=lambda r: r["n"])
        versus_arm = (
            ""
            if big["arm_floor"] is None
            else f" ({big['curves'] / big['arm_floor']:.1f}x and "
            f"{big['ours'] / big['arm_floor']:.1f}x the arm floor)"
        )
        lines.append(
            f"- {kind}, {big['n']:,} rows: ours (curves) {big['curves'] / big['floor']:.1f}x "
            f"and ours (rows) {big['ours'] / big['floor']:.1f}x the floor{versus_arm} "
            f"(goal {goal}x); "
            f"reading and validating the three columns once (`read_survival_columns` and the "
            f"arm codes) alone takes {big['read']:.3f} s = {big['read'] / big['floor']:.2g}x "
            "the floor, and ours (rows) does it twice."
        )
    slower = [
        f"{r['times']} {r['n']:,}"
        for r in rows
        if r.get("lifelines") is not None and r["lifelines"] <= r["ours"]
    ]
    lines.append(
        "- faster than lifelines at every size run: "
        + ("yes" if not slower else f"no ({', '.join(slower)})")
        + "."
    )
    if notes:
        lines += ["", *notes]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
