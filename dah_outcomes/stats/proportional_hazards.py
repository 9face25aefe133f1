"""The proportional-hazards test on scaled Schoenfeld residuals, as R's ``cox.zph``.

Grambsch and Therneau (1994): if the effect of a covariate changes with time, adding the
interaction ``x * g(t)`` to the Cox model improves it. The test is the score test for that
interaction at the fitted ``beta`` (and interaction 0), one test per term plus a global one;
``g`` is a transform of time, by default R's ``km`` (one minus the left-continuous
Kaplan-Meier of all rows), which keeps a few late deaths from dominating.

The arithmetic follows survival 3.5's ``cox.zph`` and its C routine ``zph1``: the score of
the ``beta`` part is set to zero, Efron ties split each tied-death set into ``d`` slots, and
the scaled residuals are ``V^-1 r + beta`` with ``V`` the information divided by the number
of deaths. Tests compare it with R's printed ``cox.zph`` on the lung data and with a score
test computed independently, on data split at every death time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice
from dah_outcomes.stats._cox_engine import design_matrix, efron_terms, prepare_stratum, risk_sums
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.inputs import read_survival_columns
from dah_outcomes.stats.risk_sets import risk_table

__all__ = ["TRANSFORMS", "ProportionalHazardsTest", "proportional_hazards_test"]

TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProportionalHazardsTest(ResultMixin):
    """Score tests of proportional hazards, per term and global (R's ``cox.zph``).

    Attributes
    ----------
    terms : tuple of str
        Model terms (a categorical covariate is one term with several columns), or the
        design's columns when tested with ``terms=False``.
    chisq, df, p_value : ndarray
        Per term, then the global test last.
    transform : str
        The time transform ``g``.
    time, transformed_time : ndarray
        Each death's time and ``g(time)``, in time order within strata.
    scaled_residuals : ndarray of shape (n_deaths, n_terms)
        Scaled Schoenfeld residuals plus beta: a smooth of a column against
        ``transformed_time`` estimates that term's ``beta(t)``.
    fit : CoxResult
        The Cox model tested.
    alpha : float
        Level at which :meth:`advice` calls a test significant.
    method : str
    """

    terms: tuple[str, ...]
    chisq: np.ndarray = field(repr=False)
    df: np.ndarray = field(repr=False)
    p_value: np.ndarray = field(repr=False)
    transform: str
    time: np.ndarray = field(repr=False)
    transformed_time: np.ndarray = field(repr=False)
    scaled_residuals: np.ndarray = field(repr=False)
    fit: CoxResult = field(repr=False)
    alpha: float = 0.05
    method: str = "score test of x * g(t) on scaled Schoenfeld residuals (Grambsch-Therneau)"

    def to_frame(self) -> pd.DataFrame:
        """One row per term and a last ``GLOBAL`` row: chi-square, df, p."""
        return pd.DataFrame(
            {
                "term": [*self.terms, "GLOBAL"],
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
            }
        )

    def residual_frame(self) -> pd.DataFrame:
        """Scaled Schoenfeld residuals: one row per death, one column per term."""
        out = pd.DataFrame(self.scaled_residuals, columns=list(self.terms))
        out.insert(0, "transformed_time", self.transformed_time)
        out.insert(0, "time", self.time)
        return out

    def advice(self) -> list[str]:
        """Plain-language reading of each test, for a report or a notebook."""
        lines = []
        for term, p in zip(self.terms, self.p_value[:-1], strict=True):
            if p < self.alpha:
                lines.append(
                    f"{term}: its effect appears to change over time (p = {p:.3g}). A single "
                    "hazard ratio averages over follow-up; look at the residual plot, and "
                    f"consider stratifying on {term} (if it is a confounder, not the "
                    "exposure), splitting follow-up into periods with one hazard ratio each, "
                    "or reporting restricted mean survival time instead."
                )
            else:
                lines.append(f"{term}: no evidence against proportional hazards (p = {p:.3g}).")
        p_global = self.p_value[-1]
        verdict = (
            "the model as a whole departs from proportional hazards"
            if p_global < self.alpha
            else "no evidence against proportional hazards for the model as a whole"
        )
        lines.append(
            f"Global test: {verdict} (p = {p_global:.3g}). With few deaths the test "
            "has little power: a large p is not proof that hazards are proportional."
        )
        return lines

    def to_dict(self) -> dict:
        """Tests, advice, transform and method (JSON-safe)."""
        return {
            "method": self.method,
            "transform": self.transform,
            "tests": json_safe(self.to_frame()),
            "advice": self.advice(),
            "n_deaths": len(self.time),
        }


def _design_by_term(
    rows: pd.DataFrame, covariates: Sequence[str]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The design matrix and, per covariate, the indices of its columns (a categorical has
    several), built one covariate at a time so the grouping comes for free."""
    blocks = [design_matrix(rows, [c])[0] for c in covariates]
    ends = np.cumsum([b.shape[1] for b in blocks])
    cols = [np.arange(end - b.shape[1], end) for b, end in zip(blocks, ends, strict=True)]
    return np.hstack(blocks), cols


def _transform_times(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, transform: str
) -> np.ndarray:
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        if np.any(time <= 0):
            raise ArgumentError("transform='log' needs every time > 0; use 'km' or 'rank'")
        return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)  # average ranks, as R's rank()
    # km: 1 - S(t-) of all rows pooled, unweighted and unstratified, as cox.zph does
    rt = risk_table(time, event, entry=entry)
    d, n = rt.n_event_any, rt.n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0))
    before = np.searchsorted(rt.time, time, side="left")  # KM times strictly before t
    return 1.0 - np.concatenate(([1.0], surv))[before]


def proportional_hazards_test(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | None = None,
    weights: str | None = None,
    ties: str = "efron",
    transform: str = "km",
    alpha: float = 0.05,
    terms: bool = True,
) -> ProportionalHazardsTest:
    """Test the proportional-hazards assumption of a Cox model (R's ``cox.zph``).

    Fits :func:`~dah_outcomes.stats.cox.cox_regression` with the same arguments, then
    computes the Grambsch-Therneau score test for each term (a categorical covariate is one
    term with ``k - 1`` degrees of freedom) and globally.

    Parameters
    ----------
    data : DataFrame
        One row per subject, or per ``(entry, time]`` interval.
    time, event, covariates, entry, strata, weights, ties
        As for :func:`~dah_outcomes.stats.cox.cox_regression`.
    transform : {"km", "rank", "identity", "log"}, default "km"
        Transform of time against which the residuals are tested (R's default ``km``).
    alpha : float, default 0.05
        Level used by :meth:`ProportionalHazardsTest.advice`.
    terms : bool, default True
        One test per covariate (R's default), a categorical covariate being one term with
        ``k - 1`` degrees of freedom; False tests each column of the design on its own
        (R's ``cox.zph(fit, terms = FALSE)``), named as the Cox fit's terms
        (``celltypesmallcell``), each with 1 degree of freedom.

    Returns
    -------
    ProportionalHazardsTest

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> x = rng.integers(0, 2, 300)
    >>> df = pd.DataFrame({"t": rng.exponential(1 / np.exp(0.7 * x)), "e": 1, "x": x})
    >>> zph = proportional_hazards_test(df, time="t", event="e", covariates=["x"])
    >>> zph.to_frame().columns.tolist()
    ['term', 'chisq', 'df', 'p_value']
    """
    check_choice("transform", transform, TRANSFORMS)
    if not isinstance(terms, bool | np.bool_):
        raise ArgumentError(f"terms must be True or False, got {terms!r}")
    fit = cox_regression(
        data,
        time=time,
        event=event,
        covariates=covariates,
        entry=entry,
        strata=strata,
        weights=weights,
        ties=ties,
    )
    s = read_survival_columns(
        data,
        time=time,
        event=event,
        entry=entry,
        weights=weights,
        strata=strata,
        extra=list(covariates),
        announce=False,  # the Cox fit above, on the same rows, has announced them
    )
    x, cols = _design_by_term(data.loc[s.kept], covariates)
    names = list(covariates)
    if not terms:  # each column its own test, as cox.zph(terms = FALSE)
        cols = [np.array([j]) for j in range(x.shape[1])]
        names = list(fit.terms)
    x = x - x.mean(axis=0)  # centring changes nothing but rounding, as in zph1
    n, p = x.shape
    w = np.ones(n) if s.weights is None else s.weights
    ttimes = _transform_times(s.time, s.event, s.entry, transform)
    g_all = ttimes - ttimes[s.event == 1].mean()
    beta = fit.coef
    sl = s.strata if s.strata is not None else np.zeros(n, dtype=object)

    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    death_time, death_g, schoen, stratum_of = [], [], [], []
    used = []
    for k, g in enumerate(pd.unique(sl)):
        m = sl == g
        st = prepare_stratum(
            x[m], s.time[m], None if s.entry is None else s.entry[m], s.event[m], w[m]
        )
        ev = st.event == 1
        # a covariate constant within the stratum plays no part there (R's `used`)
        varies = (x[m] != x[m][:1]).any(axis=0) if m.any() else np.zeros(p, bool)
        used.append(np.where(varies, ev.sum(), 0))
        if not len(st.times):
            continue
        eta = st.x @ beta
        r, wbar, slot_t, frac, denom, num1 = efron_terms(st, eta, ties, p)
        xbar = num1 / denom[:, None]
        rx = r[:, None, None] * st.x[:, :, None] * st.x[:, None, :]
        s2 = risk_sums(st, rx)
        e2 = np.zeros((len(st.times), p, p))
        np.add.at(e2, st.tidx, rx[st.ev_rows])
        wv = wbar[slot_t]
        v = (s2[slot_t] - frac[:, None, None] * e2[slot_t]) / denom[:, None, None] - xbar[
            :, :, None
        ] * xbar[:, None, :]
        # g(t) of each distinct death time (equal for all rows ending then)
        g_time = np.empty(len(st.times))
        g_time[st.tidx] = g_all[m][st.ev_rows]
        gs = g_time[slot_t]
        ew = st.w[st.ev_rows]
        xe = st.x[st.ev_rows]
        u[:p] += (ew[:, None] * xe).sum(axis=0) - (wv[:, None] * xbar).sum(axis=0)
        u[p:] += ((ew * g_time[st.tidx])[:, None] * xe).sum(axis=0) - (
            (wv * gs)[:, None] * xbar
        ).sum(axis=0)
        imat[:p, :p] += np.einsum("s,sij->ij", wv, v)
        imat[:p, p:] += np.einsum("s,sij->ij", wv * gs, v)
        imat[p:, p:] += np.einsum("s,sij->ij", wv * gs * gs, v)
        # Schoenfeld residual: x minus the mean over the tied set's slots of the risk means
        mean_of_means = (
            np.stack(
                [
                    np.bincount(slot_t, weights=xbar[:, j], minlength=len(st.times))
                    for j in range(p)
                ],
                axis=1,
            )
            / st.d[:, None]
        )
        order = np.lexsort((st.ev_rows, st.tidx))  # deaths in time order
        rows_ev = st.ev_rows[order]
        schoen.append(st.x[rows_ev] - mean_of_means[st.tidx[order]])
        death_time.append(st.stop[rows_ev])
        death_g.append(ttimes[m][rows_ev])
        stratum_of.append(np.full(len(rows_ev), k))
    imat[p:, :p] = imat[:p, p:].T
    if not death_time:
        raise EstimationError("no events: the proportional-hazards test needs deaths")

    u_test = np.concatenate((np.zeros(p), u[p:]))  # R sets the beta part of the score to 0
    chisq, dfs = [], []
    for jj in cols:
        kk = np.concatenate((np.arange(p), p + jj))
        uk = u_test[kk]
        chisq.append(float(uk @ _solve(imat[np.ix_(kk, kk)], uk)))
        dfs.append(len(jj))
    chisq.append(float(u_test @ _solve(imat, u_test)))
    dfs.append(p)
    chisq_a, df_a = np.array(chisq), np.array(dfs, dtype=float)

    scaled = _scaled_residuals(
        np.concatenate(schoen), np.concatenate(stratum_of), np.array(used), imat[:p, :p], cols, beta
    )
    return ProportionalHazardsTest(
        terms=tuple(names),
        chisq=chisq_a,
        df=df_a,
        p_value=stats.chi2.sf(chisq_a, df_a),
        transform=transform,
        time=np.concatenate(death_time),
        transformed_time=np.concatenate(death_g),
        scaled_residuals=scaled,
        fit=fit,
        alpha=float(alpha),
    )


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the information matrix of the proportional-hazards test is "
            "singular: a covariate is constant or collinear"
        ) from exc


def _scaled_residuals(
    schoen: np.ndarray,
    stratum: np.ndarray,
    used: np.ndarray,
    info: np.ndarray,
    cols: list[np.ndarray],
    beta: np.ndarray,
) -> np.ndarray:
    """``V^-1 r + beta`` per death, V the information per death (R's ``vmean``); a term of
    several columns is collapsed to its linear predictor, whose coefficient is 1."""
    for c in cols:  # a factor's columns share their deaths (R's fix for unused levels)
        if len(c) > 1:
            used[:, c] = used[:, c].max(axis=1, keepdims=True)
    wtmat = sum(np.minimum.outer(u, u) for u in used)
    vmean = info / np.where(wtmat == 0, 1, wtmat)
    p, nterm = len(beta), len(cols)
    collapse = np.zeros((p, nterm))
    for i, c in enumerate(cols):
        collapse[c, i] = 1.0 if len(c) == 1 else beta[c]
    r = schoen @ collapse
    vmean = collapse.T @ vmean @ collapse
    used_t = used[:, [c[0] for c in cols]]
    out = np.full_like(r, np.nan)
    for k in range(len(used_t)):
        keep = np.flatnonzero(used_t[k] > 0)
        rows = stratum == k
        if len(keep) and rows.any():
            out[np.ix_(rows, keep)] = np.linalg.solve(
                vmean[np.ix_(keep, keep)], r[np.ix_(rows, keep)].T
            ).T
    shift = np.array([beta[c[0]] if len(c) == 1 else 1.0 for c in cols])
    return out + shift
