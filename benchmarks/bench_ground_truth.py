"""Ground truth: do the treatment-effect estimators recover the hazard ratios a scenario declares?

Over many simulated cohorts of two scenarios, the hazard ratio of death for one treatment is
estimated by :func:`dah_outcomes.treatment_effect` three ways (default adjustment set: severe,
infection, ventilation, era) and its 95% CI checked against the truth in provenance
(``truth["treatment_effects"]``):

* ``rescue-null``, rituximab: a rescue therapy of no effect (declared HR 1.0) started from
  day 2 in survivors still in hospital: the immortal-time case;
* ``seed-article``, plasmapheresis (declared HR 0.8): the treatment the cited figures are
  about (57% of index episodes, the MP+CYC+PLEX reference arm). Its courses start within days
  (day 0 + Poisson(1.5)), so a day-7 landmark classifies nearly every course, and with most
  patients treated its CI is narrow enough for coverage to test bias. Rituximab in
  ``seed-article`` (10%, from day 2 + Poisson(4)) is the secondary row.

Estimators:

* ``naive``: ever vs never treated from onset (ImmortalTimeWarning, counted);
* ``landmark``: among patients alive at day 7, treated by day 7 vs not, time from day 7;
* ``time-varying``: the treatment switching on at its start day (robust SE by patient);
* ``full model``: time-varying Cox on every covariate of the data-generating death model
  (all six treatments switching on at their start days, severity, infection, ventilation,
  age, site, the calendar trend), fitted with :func:`dah_outcomes.stats.cox_regression`: the
  model in which the declared HRs are the coefficients. It replaces the earlier "adjusted"
  and IPW rows, which were Cox models on ever-treated flags: with courses starting after
  onset those carry immortal time themselves (the naive row is that adjusted model now).

The endpoint is death in the index episode's disease course: follow-up ends the day before a
second DAH episode begins. A recurrent episode brings its own, newly drawn death risk that the
index treatments do not act on, so the declared HR is the HR of the index-episode death
process; on all-cause death from first onset, about a fifth of deaths (those after a
recurrence) dilute every effect towards 1. The ``time-varying, all-cause death`` row
measures that dilution.

A large cohort per scenario (``--large-n``) gives each estimator's value nearly without
sampling noise, separating bias (non-collapsibility of the omitted prognostic covariates:
age, site, the other treatments) from chance.

Writes ``benchmarks/results/ground_truth.md``. Run:
``python benchmarks/bench_ground_truth.py [--reps 200] [--n-sle 50000] [--large-n 1000000]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dah_outcomes import Cohort, generate_cohort, treatment_effect
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import EstimationError, ImmortalTimeWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.synthetic.scenario import AGE_CENTRE, TREATMENTS

#: (scenario, treatment) pairs estimated, the primary ones first.
TARGETS = (
    ("rescue-null", "rituximab"),
    ("seed-article", "plasmapheresis"),
    ("seed-article", "rituximab"),
)
LANDMARK_DAYS = 7
SEED0 = 10_000
#: The data-generating death model's covariates (treatments switch on at their start days).
FULL_MODEL = (
    "severe",
    "infection",
    "mechanical_ventilation",
    "age_per_decade",
    "historical_weight",
    "site",
    *TREATMENTS,
)
ESTIMATORS = (
    "naive",
    f"landmark (day {LANDMARK_DAYS})",
    "time-varying",
    "full model",
    "time-varying, all-cause death",
)
Estimate = tuple[float, float, float, int]  # HR, CI lower, CI upper, ImmortalTimeWarnings


def index_episode_cohort(cohort: Cohort) -> Cohort:
    """The cohort with follow-up ending the day before each patient's second DAH episode.

    Deaths after that day are dropped (the patient is censored), recurrent episodes and their
    courses removed: what is left is death in the index episode's disease course, the process
    on which the declared hazard ratios act.
    """
    ep = cohort.episodes
    second = ep[ep["episode_number"] == 2].set_index("patient_id")["onset_date"]
    p = cohort.patients.copy()
    end = (second - pd.Timedelta(days=1)).reindex(p["patient_id"]).to_numpy()
    cut = ~pd.isna(end)
    new_end = np.where(cut, end, p["followup_end"].to_numpy())
    later = cut & (p["death_date"].to_numpy() > new_end)
    p["followup_end"] = new_end
    p.loc[later, "death_date"] = pd.NaT
    p.loc[later, "cause_of_death"] = pd.NA
    tr = cohort.treatments
    return Cohort(
        p,
        ep[ep["episode_number"] == 1],
        provenance=cohort.provenance,
        design=cohort.design,
        treatments=tr[tr["episode_number"] == 1],
    )


def _start_days(cohort: Cohort, frame: pd.DataFrame) -> np.ndarray:
    """Days from onset to each index-episode course, per patient and treatment (inf: none)."""
    courses = cohort.treatments
    courses = courses[courses["episode_number"] == 1]
    position = pd.Series(np.arange(len(frame)), index=frame["patient_id"].to_numpy())
    onset = frame["onset_date"].to_numpy()
    starts = np.full((len(frame), len(TREATMENTS)), np.inf)
    for k, name in enumerate(TREATMENTS):
        first = courses[courses["treatment"] == name].groupby("patient_id")["start_date"].min()
        rows = position.reindex(first.index).to_numpy()
        starts[rows, k] = (first.to_numpy() - onset[rows]).astype("timedelta64[D]").astype(float)
    return starts


def full_model_frame(cohort: Cohort) -> pd.DataFrame:
    """(start, stop] rows with every treatment switching on at its start day and the
    baseline covariates of the data-generating death model (deaths at day + 0.5)."""
    f = death_frame(cohort)
    sc = cohort.provenance["scenario"]
    pats = cohort.patients.set_index("patient_id").reindex(f["patient_id"])
    onset = f["onset_date"]
    age = (onset - pats["birth_date"].to_numpy()).dt.days.to_numpy() / 365.25
    boundary = pd.Timestamp(sc["population"]["era_boundary"])
    width = sc["death"]["calendar_trend_years"] * 365.25
    f = f.assign(
        age_per_decade=(age - AGE_CENTRE) / 10,
        historical_weight=np.clip(0.5 + (boundary - onset).dt.days.to_numpy() / width, 0, 1),
        site=pd.Categorical(pats["site"].to_numpy()),
        **{c: f[c].astype(float) for c in ("severe", "infection", "mechanical_ventilation")},
    )
    stop = f["time"].to_numpy(float) + 0.5
    starts = _start_days(cohort, f)
    # every patient's intervals begin at 0 and at each course start inside (0, stop)
    inside = (starts > 0) & (starts < stop[:, None])
    rows, cols = np.nonzero(inside)
    cuts = pd.DataFrame(
        {
            "p": np.concatenate([np.arange(len(f)), rows]),
            "b": np.concatenate([np.zeros(len(f)), starts[rows, cols]]),
        }
    ).drop_duplicates()
    cuts = cuts.sort_values(["p", "b"], kind="stable")
    p, b = cuts["p"].to_numpy(), cuts["b"].to_numpy()
    last = np.r_[p[1:] != p[:-1], True]
    out = f.iloc[p].reset_index(drop=True)
    out["start"] = b
    out["stop"] = np.where(last, stop[p], np.r_[b[1:], 0.0])
    out["event"] = np.where(last, f["event"].to_numpy()[p], 0)
    for k, name in enumerate(TREATMENTS):
        out[name] = (starts[p, k] <= b).astype(float)
    return out


def _guarded(run: Callable[[], Estimate]) -> Estimate:
    """An estimate, or NaNs when the replicate cannot give one (counted as failed)."""
    try:
        return run()
    except EstimationError:
        return math.nan, math.nan, math.nan, 0


def _library(cohort: Cohort, treatment: str, method: str) -> Estimate:
    kw = {"landmark_days": LANDMARK_DAYS} if method == "landmark" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = treatment_effect(cohort, treatment, method=method, **kw)
    n_immortal = sum(issubclass(w.category, ImmortalTimeWarning) for w in caught)
    return r.hazard_ratio, r.ci_lower, r.ci_upper, n_immortal


def _full(frame: pd.DataFrame, treatment: str) -> Estimate:
    fit = cox_regression(
        frame,
        time="stop",
        event="event",
        entry="start",
        id="patient_id",
        covariates=list(FULL_MODEL),
        concordance=False,
    )
    row = fit.to_frame().set_index("term").loc[treatment]
    return float(row["hazard_ratio"]), float(row["ci_lower"]), float(row["ci_upper"]), 0


def estimates(scenario: str, seed: int, n_sle: int) -> tuple[dict[tuple[str, str], Estimate], dict]:
    """Every estimator for every target treatment of ``scenario`` on one cohort."""
    cohort = generate_cohort(scenario, n_sle=n_sle, seed=seed)
    index = index_episode_cohort(cohort)
    full = full_model_frame(index)
    out: dict[tuple[str, str], Estimate] = {}
    for sc, treatment in TARGETS:
        if sc != scenario:
            continue
        runs: dict[str, Callable[[], Estimate]] = {
            "naive": lambda t=treatment: _library(index, t, "naive"),
            ESTIMATORS[1]: lambda t=treatment: _library(index, t, "landmark"),
            "time-varying": lambda t=treatment: _library(index, t, "time-varying"),
            "full model": lambda t=treatment: _full(full, t),
            ESTIMATORS[4]: lambda t=treatment: _library(cohort, t, "time-varying"),
        }
        for name, run in runs.items():
            out[(treatment, name)] = _guarded(run)
    return out, cohort.provenance["truth"]["treatment_effects"]


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson 95% interval of a proportion k/n (the coverage's Monte Carlo uncertainty)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def summarise(res: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, treatment and estimator: geometric and arithmetic mean HR, coverage of
    the declared and of the marginal HR, empirical SD of log HR beside the mean SE implied by
    the CI, ImmortalTimeWarnings, and replicates that gave no estimate (left out)."""
    res = res.assign(
        failed=res["hr"].isna(),
        log_hr=np.log(res["hr"]),
        se=(np.log(res["hi"]) - np.log(res["lo"])) / (2 * 1.959964),
        covers=(res["lo"] <= res["declared"]) & (res["declared"] <= res["hi"]),
        covers_marginal=(res["lo"] <= res["marginal"]) & (res["marginal"] <= res["hi"]),
    )
    keys = ["scenario", "treatment", "estimator"]
    failed = res.groupby(keys, sort=False)["failed"].sum()
    summary = (
        res[~res["failed"]]
        .groupby(keys, sort=False)
        .agg(
            reps=("hr", "size"),
            declared=("declared", "first"),
            marginal=("marginal", "first"),
            geo_mean=("log_hr", lambda s: float(np.exp(s.mean()))),
            mean=("hr", "mean"),
            sd_log=("log_hr", "std"),
            mean_se=("se", "mean"),
            covered=("covers", "sum"),
            covered_marginal=("covers_marginal", "sum"),
            immortal=("immortal", "sum"),
        )
    )
    return summary.assign(failed=failed.reindex(summary.index).to_numpy()).reset_index()


def _coverage(k: int, n: int) -> str:
    lo, hi = wilson(int(k), int(n))
    return f"{k / n:.1%} ({lo:.1%}-{hi:.1%})"


def coverage_lines(summary: pd.DataFrame) -> list[str]:
    lines = [
        "| scenario | treatment | estimator | declared HR | geometric mean HR | mean HR | "
        "coverage of declared (95% MC interval) | coverage of marginal | SD log HR / mean SE "
        "| ImmortalTimeWarnings |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in summary.iterrows():
        lines.append(
            f"| {r['scenario']} | {r['treatment']} | {r['estimator']} | {r['declared']:.2f} | "
            f"{r['geo_mean']:.3f} | {r['mean']:.3f} | {_coverage(r['covered'], r['reps'])} | "
            f"{r['covered_marginal'] / r['reps']:.1%} (marginal {r['marginal']:.3f}) | "
            f"{r['sd_log']:.3f} / {r['mean_se']:.3f} | {int(r['immortal'])} of {r['reps']}"
            + (f"; {int(r['failed'])} replicates gave no estimate" if r["failed"] else "")
            + " |"
        )
    return lines


def large_rows(n_sle: int, seed: int, scenarios: list[str]) -> list[str]:
    """One large cohort per scenario: each estimator nearly without sampling noise."""
    rows = []
    for scenario in scenarios:
        est, truth = estimates(scenario, seed, n_sle)
        for (treatment, name), (hr, lo, hi, _) in est.items():
            rows.append(
                f"| {scenario} | {treatment} | {name} | "
                f"{truth[treatment]['hazard_ratio']:.2f} | {hr:.3f} ({lo:.3f}-{hi:.3f}) |"
            )
    return rows


def large_lines(n_sle: int, seed: int, rows: list[str]) -> list[str]:
    if not rows:
        return []
    return [
        f"### One large cohort per scenario ({n_sle:,} SLE patients, seed {seed})",
        "",
        "Each estimator's value almost without sampling noise: its distance from the declared HR "
        "is bias, not chance.",
        "",
        "| scenario | treatment | estimator | declared HR | HR (95% CI) |",
        "|---|---|---|---:|---:|",
        *rows,
    ]


def run_replicates(
    reps: int, n_sle: int, scenarios: list[str], checkpoint: str | None = None
) -> pd.DataFrame:
    """Every replicate's estimates; with ``checkpoint``, each replicate's rows are appended to
    that CSV as soon as they exist (a run stopped early can still be rendered)."""
    rows: list[dict] = []
    if checkpoint:
        Path(checkpoint).unlink(missing_ok=True)
    for scenario in scenarios:
        for rep in range(reps):
            done = len(rows)
            est, truth = estimates(scenario, SEED0 + rep, n_sle)
            for (treatment, name), (hr, lo, hi, immortal) in est.items():
                rows.append(
                    {
                        "scenario": scenario,
                        "treatment": treatment,
                        "estimator": name,
                        "rep": rep,
                        "hr": hr,
                        "lo": lo,
                        "hi": hi,
                        "immortal": immortal,
                        "declared": truth[treatment]["hazard_ratio"],
                        "marginal": truth[treatment]["marginal_hazard_ratio"],
                    }
                )
            if checkpoint:
                pd.DataFrame(rows[done:]).to_csv(
                    checkpoint, mode="a", header=not Path(checkpoint).exists(), index=False
                )
            if (rep + 1) % 25 == 0:
                print(f"{scenario}: {rep + 1}/{reps}", flush=True)
    return pd.DataFrame(rows)


NOTES = [
    "Reading the table:",
    "",
    "- *declared HR*: `truth['treatment_effects'][t]['hazard_ratio']`, the conditional "
    "hazard ratio the scenario declares, acting from the day the course starts. *marginal*: "
    "`marginal_hazard_ratio`, from simulated potential outcomes; none of these estimators "
    "targets it (the library's are adjusted, so conditional), its coverage is shown for "
    "reference only.",
    "- *coverage*: the share of replicates whose 95% CI contains the declared HR, with the "
    "Wilson 95% interval of that share (200 replicates: a correct 95% interval covers "
    "93-97% about 86% of the time).",
    "- *SD log HR / mean SE*: the spread of the estimates across replicates beside the average "
    "standard error their CIs imply; close values mean the CI's width is right, so a coverage "
    "miss comes from bias.",
    "- *ImmortalTimeWarnings*: replicates in which the estimator issued one (captured with "
    "`warnings.catch_warnings` and counted): the naive one must, the others must not.",
    "- The naive, landmark and time-varying rows are `treatment_effect(cohort, t, method=...)` "
    "with the default adjustment set (severe, infection, mechanical ventilation, era); they "
    "omit prognostic covariates the generator uses (age, site, the other treatments, the "
    "calendar trend within era), so by non-collapsibility their estimand lies slightly "
    "towards 1 from the declared HR (the large cohort of `--large-n` measures it). The "
    "*full model* includes them.",
    "- Endpoint: death before a second DAH episode (follow-up ends the day before it), "
    "except *time-varying, all-cause death*, which is the same estimator on all deaths from "
    "first onset: deaths in recurrent episodes, whose risk the index treatments do not touch, "
    "pull it towards 1.",
    "",
]


def _timing(runs: list[dict]) -> str:
    """When and how long the run took (one process, or one per scenario side by side)."""
    parts = []
    for r in runs:
        if r.get("unfinished"):
            parts.append(
                f"{', '.join(r['scenarios'])}: stopped unfinished after {r['total_s'] / 60:.1f} min"
            )
            continue
        parts.append(
            f"{', '.join(r['scenarios'])}: {r['total_s'] / 60:.1f} min "
            f"({r['replicate_s'] / 60:.1f} min for the replicates, {r['cpu_s'] / 60:.1f} min "
            f"of CPU; 1-minute load average {r['load'][0]:.1f} at the start, "
            f"{r['load'][1]:.1f} at the end)"
        )
    how = "in one process" if len(runs) == 1 else f"as {len(runs)} processes side by side"
    return (
        f"measured {max(r['date'] for r in runs)} UTC by `benchmarks/bench_ground_truth.py` "
        f"{how} on {runs[0]['cores']} cores shared with other jobs: " + "; ".join(parts)
    )


def _unfinished_run(csv: Path, started: str, n_sle: int) -> dict:
    """The run of a checkpoint whose process was stopped before it wrote its JSON."""
    res = pd.read_csv(csv)
    begun = pd.Timestamp(started, tz="UTC")
    ended = pd.Timestamp(csv.stat().st_mtime, unit="s", tz="UTC")
    return {
        "scenarios": list(dict.fromkeys(res["scenario"])),
        "n_sle": n_sle,
        "large_n": 0,
        "date": ended.strftime("%Y-%m-%d %H:%M"),
        "total_s": (ended - begun).total_seconds(),
        "unfinished": True,
        "cores": os.cpu_count(),
    }


def render(res: pd.DataFrame, runs: list[dict], large: list[str]) -> str:
    """The results page from the replicates, the runs' settings and timings, and the large
    cohorts' rows."""
    run = runs[0]
    reps = res.groupby("scenario", sort=False)["rep"].nunique()
    cohorts = " and ".join(
        f"{k} `{sc}` cohorts (seeds {SEED0}-{SEED0 + k - 1})" for sc, k in reps.items()
    )
    lines = [
        "# Ground truth recovered: hazard ratios of death for treatments started after onset",
        "",
        f"{cohorts} of {run['n_sle']:,} SLE patients each, {_timing(runs)}. Landmark at day "
        f"{LANDMARK_DAYS}; 95% Wald intervals; time-varying and full-model SEs robust by "
        "patient.",
        "",
        *coverage_lines(summarise(res)),
        "",
        *NOTES,
        *large_lines(run["large_n"], 1, large),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--n-sle", type=int, default=20_000)
    parser.add_argument("--large-n", type=int, default=1_000_000, help="0 to skip")
    all_scenarios = list(dict.fromkeys(s for s, _ in TARGETS))
    parser.add_argument("--scenarios", default=",".join(all_scenarios))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "ground_truth.md"))
    parser.add_argument("--raw", help="also write the replicates (CSV) and the run (JSON) here")
    parser.add_argument(
        "--from-raw", nargs="+", help="render the page from --raw runs instead of running"
    )
    parser.add_argument(
        "--started", help="with --from-raw, when a run stopped before its end began (UTC)"
    )
    args = parser.parse_args()
    if args.from_raw:
        res = pd.concat([pd.read_csv(f"{r}.csv") for r in args.from_raw], ignore_index=True)
        saved = [
            json.loads(Path(f"{r}.json").read_text())
            if Path(f"{r}.json").exists()
            else {"run": _unfinished_run(Path(f"{r}.csv"), args.started, args.n_sle), "large": []}
            for r in args.from_raw
        ]
        runs = [x["run"] for x in saved]
        large = [row for x in saved for row in x["large"]]
    else:
        scenarios = [s for s in all_scenarios if s in args.scenarios.split(",")]
        start, cpu = time.perf_counter(), time.process_time()
        load_before = os.getloadavg()[0]
        res = run_replicates(
            args.reps, args.n_sle, scenarios, f"{args.raw}.csv" if args.raw else None
        )
        replicate_s = time.perf_counter() - start
        large = large_rows(args.large_n, 1, scenarios) if args.large_n else []
        runs = [
            {
                "scenarios": scenarios,
                "reps": args.reps,
                "n_sle": args.n_sle,
                "large_n": args.large_n,
                "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                "total_s": time.perf_counter() - start,
                "replicate_s": replicate_s,
                "cpu_s": time.process_time() - cpu,
                "load": [load_before, os.getloadavg()[0]],
                "cores": os.cpu_count(),
            }
        ]
        if args.raw:
            Path(f"{args.raw}.json").write_text(json.dumps({"run": runs[0], "large": large}))
    page = render(res, runs, large)
    Path(args.out).write_text(page)
    print(page)


if __name__ == "__main__":
    main()
