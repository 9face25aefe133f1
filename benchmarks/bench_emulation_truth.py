"""Ground truth of strategies: does clone-censor-weight recover the true risk difference?

Over many generated cohorts, :func:`dah_outcomes.analyses.target_trial.emulate_target_trial`
(default adjustment set: severe, infection, mechanical ventilation, era; stabilised weights;
percentile bootstrap) estimates the risk of death by day 90 under "start the treatment within
G days of DAH onset" and "not within G days", and its 95% interval of the risk difference is
checked against the truth the generator stores (``provenance["truth"]["strategies"]``,
:mod:`dah_outcomes.synthetic.strategies`):

* ``seed-article``, plasmapheresis within 7 days (declared HR 0.8);
* ``seed-article``, cyclophosphamide within 7 days (HR 0.6, 5% of its log HR lost per day of
  delay);
* ``rescue-null``, rituximab within 7 days (no effect: true risk difference exactly 0).

Beside it, the *naive* contrast: Kaplan-Meier risk by day 90 of the patients ever treated
(in the index episode) minus that of the never treated, its bias against the same truth.

The endpoint is death in the index episode's course (follow-up ends the day before a second
DAH episode, :func:`bench_ground_truth.index_episode_cohort`), the process the truth is of.

A large cohort per scenario (``--large-n``, no bootstrap) gives each estimate nearly without
sampling noise, separating bias from chance; it also runs cyclophosphamide within 2 days,
which infected patients (held back to day 3 or later) cannot follow: a positivity violation.

Writes ``benchmarks/results/emulation_truth.md``. Run:
``python benchmarks/bench_emulation_truth.py [--reps 200] [--n-sle 20000] [--bootstrap 100]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from bench_ground_truth import index_episode_cohort, wilson

from dah_outcomes import Cohort, generate_cohort, load_scenario
from dah_outcomes.analyses.adjustment import (
    DEFAULT_ADJUSTMENT,
    adjustment_covariates,
    complete_cases,
)
from dah_outcomes.analyses.target_trial import emulate_target_trial
from dah_outcomes.endpoints.timelines import treatment_starts
from dah_outcomes.errors import EstimationError, PositivityWarning
from dah_outcomes.stats.clone_censor import clone_censor_weight
from dah_outcomes.synthetic.strategies import strategy_truth

#: (scenario, treatment, grace days) estimated in every replicate; horizon 90 days.
TARGETS = (
    ("seed-article", "plasmapheresis", 7),
    ("seed-article", "cyclophosphamide", 7),
    ("rescue-null", "rituximab", 7),
)
LARGE_ONLY = (("seed-article", "cyclophosphamide", 2),)
HORIZON = 90
SEED0 = 20_000
#: The episode features of the default adjustment set (era as modern_era).
ADJUSTED_FEATURES = ("severe", "infection", "mechanical_ventilation", "modern_era")


def km_risk(time_days: np.ndarray, event: np.ndarray, horizon: int) -> float:
    """Kaplan-Meier risk of an event on day ``horizon`` or before (whole days)."""
    surv = 1.0
    for d in range(horizon + 1):
        at_risk = np.count_nonzero(time_days >= d)
        if at_risk == 0:
            break
        surv *= 1.0 - np.count_nonzero((time_days == d) & (event == 1)) / at_risk
    return 1.0 - surv


def naive(cohort: Cohort, treatment: str) -> float:
    """Risk by the horizon of the ever treated minus the never treated (immortal time)."""
    f = treatment_starts(cohort, treatment)
    known = f["timing"].isin(["known", "untreated"]).to_numpy()
    t, e = f["time"].to_numpy(float)[known], f["event"].to_numpy(int)[known]
    ever = f["start_day"].notna().to_numpy()[known]
    return km_risk(t[ever], e[ever], HORIZON) - km_risk(t[~ever], e[~ever], HORIZON)


def stratified_ccw(cohort: Cohort, treatment: str, grace: int) -> tuple[float, float]:
    """CCW run separately in each stratum of the default adjustment set (a censoring model
    saturated in the day within each stratum), the strata's risks averaged by their sizes.

    The default model has a term per day plus the covariates, additive on the logit scale; the
    true hazard of starting on a day given the covariates is not (a treatment used by most
    patients runs out among the untreated at rates that differ by stratum, and infection
    delays cyclophosphamide by 3 days): this separates the censoring model's fit from the
    truth's definition.
    """
    f = treatment_starts(cohort, treatment)
    f = f[f["timing"].isin(["known", "untreated"])]
    f, used, _ = adjustment_covariates(f, cohort, DEFAULT_ADJUSTMENT)
    data, _ = complete_cases(f, ["time", "event"], used, what="stratified CCW")
    data = data.assign(start_day=f.loc[data.index, "start_day"])
    risks = np.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, d in data.groupby(used):
            r = clone_censor_weight(
                d,
                time="time",
                event="event",
                start="start_day",
                grace=grace,
                horizon=HORIZON,
                bootstrap=0,
            ).to_dict()
            got = [x["risk"]["estimate"] for x in r["strategies"]]
            if None in got:  # a stratum in which no clone follows a strategy: undefined
                return math.nan, math.nan
            risks += len(d) / len(data) * np.array(got)
    return float(risks[0]), float(risks[1])


def stratified_study(reps: int, n_sle: int) -> list[dict]:
    """Default (pooled) and stratified CCW, without bootstrap, on ``reps`` larger cohorts."""
    rows = []
    for rep in range(reps):
        cohort = index_episode_cohort(
            generate_cohort("seed-article", n_sle=n_sle, seed=SEED0 + 5000 + rep)
        )
        for sc, treatment, grace in TARGETS:
            if sc != "seed-article":
                continue
            pooled = estimate(cohort, treatment, grace, 0, rep)
            r1, r0 = stratified_ccw(cohort, treatment, grace)
            rows.append(
                {
                    "treatment": treatment,
                    "grace": grace,
                    "pooled": pooled["rd"],
                    "stratified": r1 - r0,
                    "truth": truth_of(cohort, treatment, grace)["risk_difference"],
                    "n": pooled["n"],
                    "rep": rep,
                }
            )
    return rows


def truth_of(cohort: Cohort, treatment: str, grace: int) -> dict:
    return next(
        s
        for s in cohort.provenance["truth"]["strategies"]
        if (s["treatment"], s["grace_days"], s["horizon_days"]) == (treatment, grace, HORIZON)
    )


def estimate(cohort: Cohort, treatment: str, grace: int, bootstrap: int, seed: int) -> dict:
    """CCW risk difference with its interval, and the warnings it gave (counted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = emulate_target_trial(
                cohort,
                treatment=treatment,
                grace_days=grace,
                horizon_days=HORIZON,
                bootstrap=bootstrap,
                seed=seed,
            ).to_dict()
        except EstimationError:
            return {
                "rd": math.nan,
                "lo": math.nan,
                "hi": math.nan,
                "se": math.nan,
                "n_warnings": 0,
                "n": 0,
            }
    rd = r["risk_difference"]
    return {
        "rd": rd["estimate"],
        "lo": rd["ci_lower"] if rd["ci_lower"] is not None else math.nan,
        "hi": rd["ci_upper"] if rd["ci_upper"] is not None else math.nan,
        # the replicates' SD: the normal interval (interval="normal") is rd ± 1.96 se
        "se": rd["se"] if rd.get("se") is not None else math.nan,
        "n_positivity": sum(issubclass(w.category, PositivityWarning) for w in caught),
        "risk_treated": r["strategies"][0]["risk"]["estimate"],
        "risk_untreated": r["strategies"][1]["risk"]["estimate"],
        "n_warnings": len(caught),
        "n": r["n"],
    }


def replicate(
    scenario: str, seed: int, n_sle: int, bootstrap: int, treatments: list[str] | None = None
) -> list[dict]:
    cohort = index_episode_cohort(generate_cohort(scenario, n_sle=n_sle, seed=seed))
    rows = []
    for sc, treatment, grace in TARGETS:
        if sc != scenario or (treatments and treatment not in treatments):
            continue
        truth = truth_of(cohort, treatment, grace)
        est = estimate(cohort, treatment, grace, bootstrap, seed)
        rows.append(
            {
                "scenario": scenario,
                "treatment": treatment,
                "grace": grace,
                "seed": seed,
                **est,
                "naive": naive(cohort, treatment),
                "truth": truth["risk_difference"],
                "truth_treated": truth["risk_treated"],
                "truth_untreated": truth["risk_untreated"],
            }
        )
    return rows


def run(
    reps: int,
    n_sle: int,
    bootstrap: int,
    scenarios: list[str],
    checkpoint: Path,
    treatments: list[str] | None = None,
    seed0: int = SEED0,
) -> None:
    checkpoint.unlink(missing_ok=True)
    for rep in range(reps):
        rows = []
        for scenario in scenarios:
            rows += replicate(scenario, seed0 + rep, n_sle, bootstrap, treatments)
        pd.DataFrame(rows).to_csv(checkpoint, mode="a", header=not checkpoint.exists(), index=False)
        if (rep + 1) % 10 == 0:
            print(f"{rep + 1}/{reps}", flush=True)


def large(n_sle: int, seed: int) -> list[dict]:
    out = []
    for scenario in dict.fromkeys(s for s, _, _ in TARGETS):
        cohort = index_episode_cohort(generate_cohort(scenario, n_sle=n_sle, seed=seed))
        for sc, treatment, grace in (*TARGETS, *LARGE_ONLY):
            if sc != scenario:
                continue
            truth = truth_of(cohort, treatment, grace)
            est = estimate(cohort, treatment, grace, 0, seed)
            r1, r0 = stratified_ccw(cohort, treatment, grace)
            adjusted = strategy_truth(
                load_scenario(scenario),
                treatment,
                grace_days=grace,
                horizon_days=HORIZON,
                adjust_for=ADJUSTED_FEATURES,
            )
            out.append(
                {
                    "scenario": scenario,
                    "treatment": treatment,
                    "grace": grace,
                    **est,
                    "stratified": r1 - r0,
                    "truth_adjusted": adjusted["risk_difference"],
                    "naive": naive(cohort, treatment),
                    "truth": truth["risk_difference"],
                    "truth_treated": truth["risk_treated"],
                    "truth_untreated": truth["risk_untreated"],
                    "no_positivity": truth["share_without_positivity"],
                }
            )
    return out


def _coverage(k: int, n: int) -> str:
    lo, hi = wilson(int(k), int(n))
    se = math.sqrt(k / n * (1 - k / n) / n)
    return f"{k / n:.1%} ± {se:.1%} (Wilson {lo:.1%}-{hi:.1%})"


def render(
    res: pd.DataFrame, meta: dict, big: list[dict], strat: pd.DataFrame | None = None
) -> str:
    if "se" not in res:  # a checkpoint written before the bootstrap SD was recorded
        res = res.assign(se=math.nan)
    z = 1.959964
    res = res.assign(
        covers=(res["lo"] <= res["truth"]) & (res["truth"] <= res["hi"]),
        covers_normal=(res["rd"] - z * res["se"] <= res["truth"])
        & (res["truth"] <= res["rd"] + z * res["se"]),
        failed=res["rd"].isna() | res["lo"].isna(),
        width=res["hi"] - res["lo"],
    )
    lines = [
        "# Ground truth of strategies: clone-censor-weight against the simulated truth",
        "",
        f"{meta['reps']} replicate cohorts per scenario (seeds {int(res['seed'].min())}-"
        f"{int(res['seed'].max())})"
        f" of {meta['n_sle']:,} SLE patients (about {int(res['n'].median()):,} DAH patients "
        f"each), {meta['bootstrap']} bootstrap replicates per interval (95%: percentile, "
        f"and normal from the same replicates), horizon {HORIZON} days; measured "
        f"{meta['date']} UTC by `benchmarks/bench_emulation_truth.py` on {os.cpu_count()} "
        f"cores shared with other jobs in {meta['total_s'] / 60:.1f} min (the longest of the "
        f"processes run side by side; 1-minute load average {meta['load'][0]:.1f} at the "
        f"start, {meta['load'][1]:.1f} at the end).",
        "",
        "| scenario | strategy (within G days vs not) | true RD | mean CCW RD | bias (± MC SE) | "
        "MC SD of RD | mean bootstrap SD | mean percentile half-width / 1.96 | "
        "coverage, percentile (± MC SE) | coverage, normal (± MC SE) | "
        "mean naive RD (bias) | replicates without an interval |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (scenario, treatment, grace), g in res.groupby(
        ["scenario", "treatment", "grace"], sort=False
    ):
        ok = g[~g["failed"]]
        truth = float(g["truth"].iloc[0])
        sd = ok["rd"].std()
        normal = ok[ok["se"].notna()]
        lines.append(
            f"| {scenario} | {treatment}, G = {grace} | {truth:+.4f} | {ok['rd'].mean():+.4f} | "
            f"{ok['rd'].mean() - truth:+.4f} ± {sd / math.sqrt(len(ok)):.4f} | {sd:.4f} | "
            f"{normal['se'].mean():.4f} | {(ok['width'] / 2 / z).mean():.4f} | "
            f"{_coverage(int(ok['covers'].sum()), len(ok))} | "
            + (
                f"{_coverage(int(normal['covers_normal'].sum()), len(normal))} | "
                if len(normal)
                else "not recorded | "
            )
            + f"{g['naive'].mean():+.4f} ({g['naive'].mean() - truth:+.4f}) | "
            f"{int(g['failed'].sum())} |"
        )
    if big:
        lines += [
            "",
            f"### One large cohort per scenario ({meta['large_n']:,} SLE patients, seed "
            f"{meta['large_seed']}, no bootstrap)",
            "",
            "| scenario | strategy | DAH patients | true risk within / not | CCW risk within / "
            "not | true RD | true RD, adjustment-set estimand | CCW RD | stratified CCW RD | "
            "naive RD | no positivity (share) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for b in big:
            lines.append(
                f"| {b['scenario']} | {b['treatment']}, G = {b['grace']} | {b['n']:,} | "
                f"{b['truth_treated']:.4f} / {b['truth_untreated']:.4f} | "
                f"{b.get('risk_treated', math.nan):.4f} / "
                f"{b.get('risk_untreated', math.nan):.4f} | {b['truth']:+.4f} | "
                f"{b['truth_adjusted']:+.4f} | {b['rd']:+.4f} | {b['stratified']:+.4f} | "
                f"{b['naive']:+.4f} | {b['no_positivity']:.3f} |"
            )
    if strat is not None and len(strat):
        n_strat = strat.groupby("treatment").size().max()
        lines += [
            "",
            f"### Default against stratified censoring models ({n_strat} "
            f"seed-article cohorts of {meta.get('stratified_n', 0):,} SLE patients, about "
            f"{int(strat['n'].mean()):,} DAH patients each, no bootstrap)",
            "",
            "| strategy | true RD | mean CCW RD (± MC SE) | bias | mean stratified CCW RD "
            "(± MC SE) | bias |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for (treatment, grace), g in strat.groupby(["treatment", "grace"], sort=False):
            k = math.sqrt(len(g))
            t = float(g["truth"].iloc[0])
            lines.append(
                f"| {treatment}, G = {grace} | {t:+.4f} | {g['pooled'].mean():+.4f} ± "
                f"{g['pooled'].std() / k:.4f} | {g['pooled'].mean() - t:+.4f} | "
                f"{g['stratified'].mean():+.4f} ± {g['stratified'].std() / k:.4f} | "
                f"{g['stratified'].mean() - t:+.4f} |"
            )
    lines += ["", *NOTES]
    return "\n".join(lines) + "\n"


NOTES = [
    "Reading the table:",
    "",
    "- *true RD*: `truth['strategies']` risk_treated - risk_untreated, the risk difference of "
    "death by day 90 between the strategies as the CCW estimand defines them (module "
    "docstring of `dah_outcomes/synthetic/strategies.py`), computed on 400,000 simulated SLE "
    "patients (its own Monte Carlo SE is about 0.0002).",
    "- *coverage*: share of replicates whose 95% interval contains the true RD, ± its "
    "binomial Monte Carlo SE, and the Wilson 95% interval of that share.",
    "- *MC SD of RD*, *mean bootstrap SD*, *mean percentile half-width / 1.96*: the spread of "
    "the estimates over the replicate cohorts beside the SE each cohort's bootstrap gives (the "
    "replicates' SD) and the SE its percentile interval implies; close values mean the "
    "intervals are as wide as they should be. The percentile interval's tail quantiles of B "
    "replicates lie inside their spread by construction (for a normal estimate, 0.977 times "
    "1.96 SD with B = 200, 0.958 with B = 100: 94.3% and 93.6% coverage with a right SD); the "
    "normal interval (`interval='normal'`, estimate ± 1.96 bootstrap SD) does not.",
    "- *coverage, normal*: of estimate ± 1.96 times the bootstrap SD, what "
    "`emulate_target_trial(..., interval='normal')` gives from the same replicates.",
    "- *naive RD*: Kaplan-Meier risk by day 90 of the patients ever given the treatment in "
    "the index episode minus the never given; its bias owes to immortal time (a course is "
    "given only to patients alive on its start day) and confounding by indication.",
    "- The endpoint is death before a second DAH episode, the process the truth is of.",
    "- *true RD, adjustment-set estimand*: the truth with the starters pooled by the default "
    "adjustment set only (`strategy_truth(..., adjust_for=...)`), the estimand of CCW with "
    "a correct censoring model on those covariates; its distance from the true RD is the "
    "part of any bias owed to the prognostic covariates the adjustment set omits.",
    "- *stratified CCW*: the same estimator run within each stratum of the adjustment set "
    "(a censoring model saturated in the day within each stratum), risks averaged by the "
    "strata's sizes. Where it recovers the truth and the default CCW does not, the default's "
    "censoring model (a term per day plus the covariates, additive on the logit scale) is "
    "misspecified: a treatment most patients receive runs out among the untreated at rates "
    "that differ by stratum, and an infection holds cyclophosphamide back to day 3 or later. "
    "It is undefined (nan) where a stratum has no clone following a strategy.",
    "- *cyclophosphamide, G = 2*: infected patients (30%) cannot start by day 2, so no "
    "estimator can identify the strategy from these data (positivity fails); the truth "
    "gives them the course on day 2, and the default CCW extrapolates from a censoring model "
    "that does not know the hazard of starting is 0 for them.",
    "- Cohorts three times larger for plasmapheresis (`--n-sle 60000 --treatments "
    "plasmapheresis`, 100 replicates): `emulation_truth_plasmapheresis_60k.md`; where the "
    "intervals at 1,100 patients are narrow, compare their SD and mean SE there.",
    "- The truth's risk of each arm carries the simulated population's Monte Carlo error "
    "(about 0.002); its risk difference, from common random numbers, about 0.0002.",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n-sle", type=int, default=20_000)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--large-n", type=int, default=400_000)
    ap.add_argument("--large-seed", type=int, default=7)
    ap.add_argument("--scenarios", nargs="*", default=["seed-article", "rescue-null"])
    ap.add_argument("--treatments", nargs="*", help="only these treatments of TARGETS")
    ap.add_argument(
        "--seed0",
        type=int,
        default=SEED0,
        help="seed of the first replicate cohort (another value gives fresh cohorts; with "
        "--bootstrap 0, the estimates' spread over many more of them, quickly)",
    )
    ap.add_argument(
        "--checkpoint",
        nargs="+",
        default=["benchmarks/results/emulation_truth.csv"],
        help="CSV of the replicates (several with --render-only: one per process run)",
    )
    ap.add_argument("--stratified-reps", type=int, default=6)
    ap.add_argument("--stratified-n", type=int, default=1_000_000)
    ap.add_argument("--stratified-csv", default="benchmarks/results/emulation_truth_stratified.csv")
    ap.add_argument("--render-only", action="store_true", help="render the checkpoint CSV")
    ap.add_argument("--out", default="benchmarks/results/emulation_truth.md")
    args = ap.parse_args()
    checkpoints = [Path(c) for c in args.checkpoint]
    checkpoint, run_file = checkpoints[0], checkpoints[0].with_suffix(".json")
    started, load0 = time.time(), os.getloadavg()[0]
    if not args.render_only:
        run(
            args.reps,
            args.n_sle,
            args.bootstrap,
            args.scenarios,
            checkpoint,
            args.treatments,
            args.seed0,
        )
        run_file.write_text(
            json.dumps(
                {
                    "n_sle": args.n_sle,
                    "bootstrap": args.bootstrap,
                    "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                    "total_s": time.time() - started,
                    "load": (load0, os.getloadavg()[0]),
                }
            )
        )
    runs = [json.loads(c.with_suffix(".json").read_text()) for c in checkpoints]
    meta = {
        **runs[0],
        "date": max(r["date"] for r in runs),
        "total_s": max(r["total_s"] for r in runs),
        "load": (max(r["load"][0] for r in runs), max(r["load"][1] for r in runs)),
    }
    large_file = checkpoint.with_name("emulation_truth_large.json")
    if args.large_n:
        big = large(args.large_n, args.large_seed)
        large_file.write_text(
            json.dumps({"n_sle": args.large_n, "seed": args.large_seed, "rows": big})
        )
    elif large_file.exists():  # the large cohorts of an earlier run
        saved = json.loads(large_file.read_text())
        big, args.large_n, args.large_seed = saved["rows"], saved["n_sle"], saved["seed"]
    else:
        big = []
    strat_csv = Path(args.stratified_csv)
    if args.stratified_reps and not args.render_only:
        pd.DataFrame(stratified_study(args.stratified_reps, args.stratified_n)).to_csv(
            strat_csv, index=False
        )
    strat = pd.read_csv(strat_csv) if strat_csv.exists() else None
    meta["stratified_n"] = args.stratified_n
    res = pd.concat([pd.read_csv(c) for c in checkpoints], ignore_index=True)
    meta.update(reps=int(res["seed"].nunique()), large_n=args.large_n, large_seed=args.large_seed)
    Path(args.out).write_text(render(res, meta, big, strat), encoding="utf-8")
    print(json.dumps({k: v for k, v in meta.items() if k != "load"}))


if __name__ == "__main__":
    main()
