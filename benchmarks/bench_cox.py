"""Benchmark: Cox regression (3 covariates, Efron ties) at 1e4 to 1e6 rows, ours beside
lifelines' CoxPHFitter and scikit-survival's CoxPHSurvivalAnalysis (Efron) in the same run,
tied (integer-day) and continuous times; checks the coefficients agree. Ours includes
Harrell's concordance, as R's coxph does; lifelines computes it lazily (not timed).
A library is skipped where its time, predicted linearly from the previous size, exceeds
90 s. R's coxph is timed beside ours, interleaved and repeated, by
``bench_time_varying_cox.py`` (``benchmarks/results/time_varying_cox.md``).

Run: ``python benchmarks/bench_cox.py [--sizes 1e4,1e5,1e6]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes.stats.cox import cox_regression


def data(n: int, tied: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.exponential(365 / np.exp(x @ np.array([0.5, -0.3, 0.2])))
    c = rng.uniform(0, 1500, n)
    time_ = np.minimum(t, c)
    if tied:
        time_ = np.ceil(time_)
    return pd.DataFrame(
        {"time": time_, "event": (t <= c).astype(int), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "cox.md"))
    args = parser.parse_args()
    from lifelines import CoxPHFitter

    try:
        from sksurv.linear_model import CoxPHSurvivalAnalysis
        from sksurv.util import Surv
    except ImportError:
        CoxPHSurvivalAnalysis = None  # the class, or None when not installed

    def fit_sksurv(df: pd.DataFrame) -> np.ndarray:
        y = Surv.from_arrays(df["event"].to_numpy(bool), df["time"].to_numpy())
        model = CoxPHSurvivalAnalysis(ties="efron").fit(df[["a", "b", "c"]].to_numpy(), y)
        return model.coef_

    load_before = os.getloadavg()[0]
    # warm-up: the first fit in a process pays for imports and first-touch memory
    cox_regression(data(2000, True), time="time", event="event", covariates=["a", "b", "c"])
    rows = []
    for tied in (True, False):
        last: dict[str, tuple[int, float]] = {}
        for n in (int(float(s)) for s in args.sizes.split(",")):
            df = data(n, tied)
            start = time.perf_counter()
            ours = cox_regression(df, time="time", event="event", covariates=["a", "b", "c"])
            t_ours = time.perf_counter() - start
            start = time.perf_counter()
            cox_regression(
                df, time="time", event="event", covariates=["a", "b", "c"], concordance=False
            )
            timed = {"fit only": (time.perf_counter() - start, 0.0)}
            for name, fit in (
                ("lifelines", lambda d: CoxPHFitter().fit(d, "time", "event").params_.to_numpy()),
                ("sksurv", fit_sksurv if CoxPHSurvivalAnalysis else None),
            ):
                if fit is None:
                    continue
                prev = last.get(name)
                if prev and prev[1] * n / prev[0] > 90:
                    print(f"skip {name} at {n}: predicted {prev[1] * n / prev[0]:.0f} s")
                    continue
                start = time.perf_counter()
                coef = fit(df)
                timed[name] = (time.perf_counter() - start, float(np.max(np.abs(ours.coef - coef))))
                last[name] = (n, timed[name][0])
            rows.append((tied, n, t_ours, timed))
            print(rows[-1], flush=True)

    def cell(timed: dict, name: str, ours: float) -> str:
        if name not in timed:
            return "– | – | –"
        t, d = timed[name]
        return f"{t:.2f} | {t / ours:.1f}x | {d:.1e}"

    lines = [
        "# Cox regression (3 covariates, Efron ties): ours, lifelines, scikit-survival",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()} (2 cores shared with other jobs; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}, by `benchmarks/bench_cox.py`, same run. "
        "Ours includes Harrell's concordance (as R's coxph); a dash means skipped "
        "(predicted over 90 s).",
        "",
        "| times | rows | ours (s) | ours, no C (s) | lifelines (s) | lifelines / ours "
        "| Δcoef lifelines | sksurv (s) | sksurv / ours | Δcoef sksurv |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tied, n, a, timed in rows:
        lines.append(
            f"| {'integer days' if tied else 'continuous'} | {n:,} | {a:.2f} | "
            f"{timed['fit only'][0]:.2f} | {cell(timed, 'lifelines', a)} | "
            f"{cell(timed, 'sksurv', a)} |"
        )
    lines += [
        "",
        "Our fit agrees with R's coxph to about 1e-9 on lung, veteran and cgd "
        "(tests/stats/test_cox.py); R's timings beside ours are in time_varying_cox.md "
        "(bench_time_varying_cox.py).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
