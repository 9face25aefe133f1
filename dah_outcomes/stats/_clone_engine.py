"""The engine of clone-censor-weight (:mod:`dah_outcomes.stats.clone_censor`): the expanded
person-time table of both strategies' clones, the pooled logistic censoring models fitted on
its distinct rows, the inverse-probability-of-censoring weights and the weighted Kaplan-Meier
risk curves. Every function works on whole arrays and takes the patients' frequency weights,
so the bootstrap refits on the same table. Shared inside ``stats``, not public.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit
from scipy.stats import norm

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats._checks import warn_dropped
from dah_outcomes.stats._cox_engine import design_matrix

__all__ = [
    "NO_START",
    "START",
    "TABLE_COLUMNS",
    "UNCENSORED_PROBABILITY_FLOOR",
    "CensoringModel",
    "CloneFit",
    "aggregate_rows",
    "censoring_models",
    "check_truncate",
    "check_window",
    "clone_arrays",
    "fit_once",
    "interval_bounds",
    "newton_binomial",
    "patient_arrays",
    "row_weights",
    "time_varying_values",
    "truncate_weights",
    "weighted_risk_curves",
]

#: The strategies' index in the table's ``strategy`` column.
START, NO_START = 0, 1

TABLE_COLUMNS = ("patient", "strategy", "start", "stop", "censored", "event")

# The expanded table


def clone_arrays(
    time: np.ndarray, event: np.ndarray, start: np.ndarray, grace: int, horizon: int
) -> dict[str, np.ndarray]:
    """The expanded table as arrays (see :func:`clone_table` for the rows)."""
    n = len(time)
    exit_day = np.minimum(time, horizon)
    never = np.isnan(start) | (start > time)
    s = np.where(never, np.inf, start)
    # day each clone is censored artificially (inf: never)
    cens = np.empty((2, n))
    cens[START] = np.where(s <= grace, np.inf, grace + 1)
    cens[NO_START] = np.where(s <= grace, s, np.inf)
    parts = []
    for k in (START, NO_START):
        c = cens[k]
        last_daily = np.minimum(np.minimum(exit_day, grace), c).astype(np.int64)
        n_daily = last_daily + 1
        post = (exit_day >= grace + 1) & (c > grace)
        m = n_daily + post
        patient = np.repeat(np.arange(n), m)
        offset = np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)
        is_post = offset >= np.repeat(n_daily, m)
        day = np.where(is_post, grace + 1, offset)
        cp = c[patient]
        censored = day == cp
        stop = np.where(is_post, exit_day[patient], day)
        stop = np.where(censored, day - 1, stop)
        died = (event[patient] == 1) & (time[patient] == stop) & (time[patient] <= horizon)
        parts.append(
            {
                "patient": patient,
                "strategy": np.full(len(patient), k, dtype=np.int8),
                "start": day.astype(np.int64),
                "stop": stop.astype(np.int64),
                "censored": censored,
                "event": died & ~censored,
            }
        )
    return {c: np.concatenate([p[c] for p in parts]) for c in TABLE_COLUMNS}


# Pooled logistic regression on aggregated rows


def aggregate_rows(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of (design, y) and each row's index among them: a pooled logistic model
    on patient-days has few distinct rows when the covariates are categories, and the
    likelihood of the distinct rows, weighted by how often each occurs, is the same."""
    both = np.column_stack([design, y])
    unique, inverse = np.unique(both, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def newton_binomial(
    x: np.ndarray,
    trials: np.ndarray,
    events: np.ndarray,
    max_iter: int,
    tol: float,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, bool, int]:
    """Binomial logistic regression (``x`` holds the intercept) by Newton-Raphson, with R's
    ``glm`` stopping rule (relative change of the deviance below ``tol``) and step halving,
    from ``start`` (a bootstrap replicate starts from the estimate's coefficients, a few
    steps from its own) or zero.

    Under separation the coefficients drift while the fitted probabilities converge (to 0
    or 1 in the separated rows), which is what the censoring weights need, so the deviance,
    not the coefficients, decides convergence, as in R."""
    beta = np.zeros(x.shape[1]) if start is None else np.array(start, dtype=float)

    def deviance(eta: np.ndarray) -> float:
        return float(-2.0 * np.sum(events * log_expit(eta) + (trials - events) * log_expit(-eta)))

    eta = x @ beta
    dev = deviance(eta)
    for it in range(1, max_iter + 1):
        p = expit(eta)
        grad = x.T @ (events - trials * p)
        info = (x * (trials * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        new_eta = x @ (beta + step)
        new_dev = deviance(new_eta)
        halvings = 0
        while not new_dev <= dev + 1e-12 * abs(dev) and halvings < 20:
            step /= 2
            new_eta = x @ (beta + step)
            new_dev = deviance(new_eta)
            halvings += 1
        beta, eta = beta + step, new_eta
        if abs(new_dev - dev) / (abs(new_dev) + 0.1) < tol:
            return beta, True, it
        dev = new_dev
    return beta, False, max_iter


@dataclass(eq=False)
class CensoringModel:
    """One censoring model: its rows of the table, their distinct design rows, the outcome."""

    rows: np.ndarray  # indices into the table
    design: np.ndarray  # distinct rows, intercept first
    inverse: np.ndarray  # table row -> distinct row
    y: np.ndarray  # distinct rows' outcome (censored)
    day: np.ndarray  # distinct rows' day (for the stabilising numerator)

    def fit(
        self, f_rows: np.ndarray, max_iter: int, tol: float, start: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Fitted censoring probability of each of its table rows, the marginal one by day
        (the numerator of stabilised weights), the coefficients and convergence."""
        trials = np.bincount(self.inverse, weights=f_rows, minlength=len(self.design))
        # rows of patients a replicate did not draw add nothing to the likelihood
        drawn = trials > 0
        beta, converged, _ = newton_binomial(
            self.design[drawn], trials[drawn], (trials * self.y)[drawn], max_iter, tol, start
        )
        p = expit(self.design @ beta)[self.inverse]
        # the marginal model has the day alone: its fit is the censored share per day
        days = self.day[self.inverse]
        at = np.bincount(days, weights=f_rows)
        cens = np.bincount(days, weights=f_rows * self.y[self.inverse])
        with np.errstate(invalid="ignore", divide="ignore"):
            marginal = (cens / at)[days]
        return p, np.nan_to_num(marginal), beta, converged


def time_varying_values(
    records: pd.DataFrame, ids: np.ndarray, *, id: str, columns: Sequence[str], grace: int
) -> np.ndarray:
    """The value of each time-varying covariate holding on each day of the grace period.

    ``records`` has one row per patient and day a value was recorded (``id``, ``day`` and
    ``columns``); a value holds from its day until the patient's next record, and every
    patient needs one on day 0. Records of patients not in ``ids`` are not used. Returns an
    array of shape (patients, grace + 1, columns), the patients in the order of ``ids``.
    """
    absent = [c for c in (id, "day", *columns) if c not in records.columns]
    if absent:
        raise ArgumentError(f"columns not in time_varying: {absent}")
    position = pd.Index(ids).get_indexer(records[id])
    day = pd.to_numeric(records["day"]).to_numpy(dtype=float)
    mask = (position >= 0) & ~(day > grace)  # a missing day is kept, to be refused
    used, position, day = records[mask], position[mask], day[mask]
    whole_days(day, "time_varying day", missing_ok=False)
    values = used[list(columns)].astype(float).to_numpy()
    if not np.isfinite(values).all():
        raise ArgumentError(f"time_varying {list(columns)} have missing or infinite values")
    if pd.DataFrame({"p": position, "d": day}).duplicated().any():
        raise ArgumentError("time_varying has two records of a patient on the same day")
    out = np.full((len(ids), grace + 1, len(columns)), np.nan)
    out[position, day.astype(np.int64)] = values
    # carry each value forward to the patient's next record
    recorded = ~np.isnan(out[:, :, 0])
    last = np.maximum.accumulate(np.where(recorded, np.arange(grace + 1), 0), axis=1)
    out = out[np.arange(len(ids))[:, None], last]
    if not recorded[:, 0].all():
        raise ArgumentError(
            f"time_varying: {int((~recorded[:, 0]).sum())} patients have no record on day 0 "
            "(each needs its value at time zero)"
        )
    return out


def censoring_models(
    table: dict[str, np.ndarray],
    x: np.ndarray,
    grace: int,
    tv: np.ndarray | None = None,
    *,
    terms: Sequence[str] = (),
    day_interactions: bool = False,
) -> tuple[dict[int, CensoringModel], dict[int, list[str]]]:
    """The censoring models of both strategies on the table's rows at risk of censoring:
    "no start" clones on each day of the grace period (a term per day, and the covariates);
    "start" clones on day ``grace + 1``, when those still untreated are censored. The
    time-varying covariates ``tv`` (from :func:`time_varying_values`) enter with the value
    holding on the day of the decision: day ``k`` for a "no start" row of day ``k``, the
    last day of the grace period for a "start" row. With ``day_interactions`` the "no
    start" model also has a term per day and baseline covariate (``terms`` names them), so
    that the hazard of starting may differ by covariate from day to day (a treatment some
    patients can only start late, say, after an infection is treated)."""
    models: dict[int, CensoringModel] = {}
    names: dict[int, list[str]] = {}
    strategy, day = table["strategy"], table["start"]
    for k in (START, NO_START):
        if k == NO_START:
            rows = np.flatnonzero((strategy == k) & (day <= grace))
            days = day[rows]
            dummies = (days[:, None] == np.arange(1, grace + 1)[None, :]).astype(float)
            day_names = [f"day{d}" for d in range(1, grace + 1)]
        else:
            rows = np.flatnonzero((strategy == k) & (day == grace + 1))
            days = np.zeros(len(rows), dtype=np.int64)
            dummies, day_names = np.zeros((len(rows), 0)), []
        patient = table["patient"][rows]
        varying = (
            np.zeros((len(rows), 0))
            if tv is None
            else tv[patient, np.minimum(table["start"][rows], grace)]
        )
        if day_interactions and dummies.shape[1] and x.shape[1]:
            # day d x covariate j, in that order (names likewise)
            crossed = (dummies[:, :, None] * x[patient][:, None, :]).reshape(len(rows), -1)
            dummies = np.column_stack([dummies, crossed])
            day_names = [*day_names, *(f"{d}:{t}" for d in day_names for t in terms)]
        xd = np.column_stack([days, dummies, x[patient], varying])
        unique, inverse = aggregate_rows(xd, table["censored"][rows].astype(float))
        models[k] = CensoringModel(
            rows=rows,
            design=np.column_stack([np.ones(len(unique)), unique[:, 1:-1]]),
            inverse=inverse,
            y=unique[:, -1],
            day=unique[:, 0].astype(np.int64),
        )
        names[k] = day_names
    return models, names


# --------------------------------------------------------------------------------------------
# Weights and weighted Kaplan-Meier curves


@dataclass(frozen=True, slots=True)
class CloneFit:
    """One fit of the weights and curves (the estimate, or one bootstrap replicate)."""

    risk: np.ndarray  # (2, horizon + 1)
    weights: np.ndarray  # per table row (NaN on censored rows)
    # per table row: the fitted probability that the clone remains uncensored through the
    # row's day (on an uncensored row, the inverse of the unstabilised weight)
    uncensored: np.ndarray
    coefficients: dict[int, np.ndarray]
    converged: bool
    # per strategy: patients whose fitted probability of following it is about 0 on some day
    # (a covariate pattern in which nobody follows it: positivity fails there)
    n_nonpositive: tuple[int, int]


#: A fitted probability of remaining uncensored below which positivity is taken to fail.
UNCENSORED_PROBABILITY_FLOOR = 1e-6


def row_weights(
    table: dict[str, np.ndarray],
    models: dict[int, CensoringModel],
    f_rows: np.ndarray,
    *,
    stabilized: bool,
    max_iter: int,
    tol: float,
    start: dict[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray], bool, tuple[int, int]]:
    """Inverse-probability-of-censoring weight of each uncensored table row, and the fitted
    probability of having remained uncensored through it."""
    n_rows = len(table["patient"])
    log_w = np.zeros(n_rows)  # log weight factor contributed on each row's day
    log_u = np.zeros(n_rows)  # log probability of remaining uncensored on the row's day
    coefficients, converged = {}, True
    nonpositive = [0, 0]
    for k, model in models.items():
        p, marginal, beta, ok = model.fit(
            f_rows[model.rows], max_iter, tol, None if start is None else start[k]
        )
        coefficients[k], converged = beta, converged and ok
        floor = (p > 1 - UNCENSORED_PROBABILITY_FLOOR) & (f_rows[model.rows] > 0)
        nonpositive[k] = len(np.unique(table["patient"][model.rows][floor]))
        with np.errstate(divide="ignore"):
            factor = -np.log1p(-p) + (np.log1p(-marginal) if stabilized else 0.0)
        log_w[model.rows] = np.where(table["censored"][model.rows], 0.0, factor)
        # on a censored row too: the fitted chance of following the strategy through the day
        # belongs to the patient's covariates, whatever the clone then did; floored so that
        # a probability of 0 (separation) gives a finite log and the differences of
        # cumulative sums below stay defined
        log_u[model.rows] = np.log(np.maximum(1.0 - p, 1e-300))
    # a clone's weight on a row is the product of the factors of its rows so far: a
    # cumulative sum of logs within each clone (rows are in order within a clone)
    clone_start = (
        np.r_[True, np.diff(table["patient"]) != 0] | np.r_[True, np.diff(table["strategy"]) != 0]
    )
    first = np.maximum.accumulate(np.where(clone_start, np.arange(n_rows), 0))

    def within_clone(values: np.ndarray) -> np.ndarray:
        csum = np.cumsum(values)
        return np.exp(csum - np.where(first > 0, csum[first - 1], 0.0))

    weights = np.where(table["censored"], np.nan, within_clone(log_w))
    uncensored = within_clone(log_u)
    return weights, uncensored, coefficients, converged, (nonpositive[0], nonpositive[1])


def truncate_weights(w: np.ndarray, length: np.ndarray, percentile: float) -> np.ndarray:
    """Weights clipped to their ``100 - percentile`` and ``percentile`` percentiles over
    person-days (each row counted for its days, so the cut does not depend on how the table
    groups days into rows)."""
    ok = np.isfinite(w) & (length > 0)
    if not ok.any():
        return w
    order = np.argsort(w[ok], kind="stable")
    sw, sl = w[ok][order], length[ok][order]
    cum = np.cumsum(sl) / sl.sum()
    lo = sw[min(np.searchsorted(cum, (100 - percentile) / 100), len(sw) - 1)]
    hi = sw[min(np.searchsorted(cum, percentile / 100), len(sw) - 1)]
    return np.clip(w, lo, hi)


def weighted_risk_curves(table: dict[str, np.ndarray], w: np.ndarray, horizon: int) -> np.ndarray:
    """Weighted Kaplan-Meier risk by day (0..horizon) for each strategy."""
    risk = np.empty((2, horizon + 1))
    size = horizon + 2
    for k in (START, NO_START):
        m = (table["strategy"] == k) & ~table["censored"]
        wk = w[m]
        start, stop = table["start"][m], table["stop"][m]
        entering = np.bincount(start, weights=wk, minlength=size)
        leaving = np.bincount(stop + 1, weights=wk, minlength=size)
        at_risk = np.cumsum(entering - leaving)[: horizon + 1]
        ev = table["event"][m]
        deaths = np.bincount(stop[ev], weights=wk[ev], minlength=size)[: horizon + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            hazard = np.where(at_risk > 1e-12, deaths / at_risk, np.nan)
        surv = np.cumprod(1 - hazard)
        # once everyone has had the event the curve stays at risk 1, not undefined
        surv = np.where(np.logical_or.accumulate(surv == 0), 0.0, surv)
        risk[k] = 1 - surv
    return risk


def fit_once(
    table: dict[str, np.ndarray],
    models: dict[int, CensoringModel],
    f: np.ndarray,
    *,
    horizon: int,
    stabilized: bool,
    truncate: float | None,
    max_iter: int,
    tol: float,
    start: dict[int, np.ndarray] | None = None,
) -> CloneFit:
    """The weights and risk curves with patients counted ``f`` times (all ones for the
    estimate, multinomial counts for a bootstrap replicate); the censoring models' Newton
    steps start from ``start`` when given."""
    f_rows = f[table["patient"]].astype(float)
    w, uncensored, coefficients, converged, nonpositive = row_weights(
        table, models, f_rows, stabilized=stabilized, max_iter=max_iter, tol=tol, start=start
    )
    if truncate is not None:
        length = (table["stop"] - table["start"] + 1) * f_rows
        w = truncate_weights(w, length, truncate)
    risk = weighted_risk_curves(table, np.nan_to_num(w) * f_rows, horizon)
    return CloneFit(
        risk=risk,
        weights=w,
        uncensored=uncensored,
        coefficients=coefficients,
        converged=converged,
        n_nonpositive=nonpositive,
    )


# --------------------------------------------------------------------------------------------
# Intervals


def interval_bounds(
    values: np.ndarray, estimate: np.ndarray | float, conf_level: float, interval: str
) -> tuple[np.ndarray, np.ndarray]:
    """Interval over the first axis (replicates; failed ones already left out): percentile,
    or normal (estimate ± z SD). The normal interval is offered because the tail quantiles
    of a few hundred replicates are biased inwards (of 200 normal draws, type 7 puts the
    2.5% and 97.5% points 0.977 times 1.96 SD from the mean on average, a 94.3% interval;
    of 100, 0.958 times, 93.6%), while their SD is not (94.9% with 200)."""
    alpha = 1 - conf_level
    shape = values.shape[1:]
    if len(values) < 2:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    if interval == "normal":
        half = float(norm.ppf(1 - alpha / 2)) * np.std(values, axis=0, ddof=1)
        return estimate - half, estimate + half
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi


# --------------------------------------------------------------------------------------------
# Arguments


def check_window(grace: Any, horizon: Any) -> tuple[int, int]:
    if isinstance(grace, bool) or not isinstance(grace, numbers.Integral) or grace < 0:
        raise ArgumentError(f"grace must be a whole number of days >= 0, got {grace!r}")
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon <= grace:
        raise ArgumentError(
            f"horizon must be a whole number of days after the grace period (> {grace}), "
            f"got {horizon!r}"
        )
    return int(grace), int(horizon)


def whole_days(values: np.ndarray, name: str, *, missing_ok: bool) -> None:
    known = values[~np.isnan(values)] if missing_ok else values
    if not missing_ok and np.isnan(values).any():
        raise ArgumentError(f"{name} has missing values")
    if (~np.isfinite(known)).any() or (known < 0).any() or (known != np.floor(known)).any():
        raise ArgumentError(f"{name} must hold whole numbers of days >= 0")


def patient_arrays(
    data: pd.DataFrame, time: str, event: str, start: str, covariates: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Time, event, start day and the covariates' design of the complete rows, their terms'
    names and the mask of the rows kept."""
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"data must be a DataFrame, got {type(data).__name__}")
    if isinstance(covariates, str):
        raise ArgumentError("covariates must be a sequence of column names, not a string")
    absent = [c for c in (time, event, start, *covariates) if c not in data.columns]
    if absent:
        raise ArgumentError(f"columns not in data: {absent}")
    keep = data[[time, event, *covariates]].notna().all(axis=1).to_numpy()
    warn_dropped(int((~keep).sum()), len(data), [time, event, *covariates], what="clone_censor")
    kept = data[keep]
    t = pd.to_numeric(kept[time]).to_numpy(dtype=float)
    e = kept[event].astype(float).to_numpy(dtype=float)
    s = pd.to_numeric(kept[start]).to_numpy(dtype=float)
    whole_days(t, time, missing_ok=False)
    whole_days(s, start, missing_ok=True)
    if not np.isin(e, (0.0, 1.0)).all():
        raise ArgumentError(f"event {event!r} must be 0/1 (or False/True)")
    if len(t) == 0:
        raise ArgumentError("no complete rows to analyse")
    x, names = design_matrix(kept, list(covariates))
    return t.astype(np.int64), e.astype(np.int64), s, x, names, keep


def check_truncate(truncate: Any) -> float | None:
    if truncate is None:
        return None
    if (
        isinstance(truncate, bool)
        or not isinstance(truncate, numbers.Real)
        or not 50 < float(truncate) < 100
    ):
        raise ArgumentError(
            "truncate must be a percentile in (50, 100) (99: weights clipped to their 1st and "
            f"99th percentiles) or None, got {truncate!r}"
        )
    return float(truncate)
