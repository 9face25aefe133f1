"""Random-effects meta-analysis of proportions, matching R's metafor (``escalc`` + ``rma``).

Transforms: logit (``PLO``; 0.5 added to every cell of a study with a zero cell, as metafor
does) and Freeman-Tukey double arcsine (``PFT``; back-transformed with the harmonic mean of the
sample sizes, as ``transf.ipft.hm``). Between-study variance by DerSimonian-Laird or REML;
CI and prediction interval as ``predict.rma``; meta-regression on moderators (REML).

Inference on the pooled estimate follows metafor's ``test``: ``"z"`` (normal, metafor's
default), ``"t"`` (t with k - p df), ``"knha"`` (Hartung-Knapp-Sidik-Jonkman: the variance
scaled by the weighted residual sum of squares over k - p, t with k - p df) and ``"adhoc"``
(the same with the scale factor kept at least 1). With few studies, as in DAH, the z test is
too narrow: Hartung-Knapp is the recommended choice. The prediction interval follows
``predict(pi.type=)``: ``"default"`` (normal under the z test, t with k - p df otherwise),
``"simple"`` (normal, tau alone: the mean's uncertainty left out), ``"t"`` (t with k - p df) or
``"riley"`` (t with k - p - 1 df, k - 2 for a pooled proportion: Higgins, Thompson and
Spiegelhalter 2009; Riley et al. 2011).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from scipy.special import expit

from dah_outcomes.errors import ArgumentError, EstimationError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice, check_conf_level, warn_not_converged

__all__ = [
    "MetaProportionResult",
    "MetaRegressionResult",
    "meta_proportions",
    "meta_regression",
    "meta_subgroups",
    "transform_proportions",
]

TRANSFORMS = ("logit", "freeman-tukey")
METHODS = ("DL", "REML", "GLMM")
TESTS = ("z", "t", "knha", "adhoc")
PI_METHODS = ("default", "simple", "t", "riley")
_GH_NODES = 7  # lme4's nAGQ, as metafor's rma.glmm calls it


def transform_proportions(
    events: np.ndarray, totals: np.ndarray, transform: str
) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes ``yi`` and sampling variances ``vi`` (metafor's escalc PLO / PFT)."""
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    if transform == "logit":
        add = np.where((x == 0) | (x == n), 0.5, 0.0)
        return np.log((x + add) / (n - x + add)), 1 / (x + add) + 1 / (n - x + add)
    yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
    return yi, 1 / (4 * n + 2)


def _pft(p: float, n: float) -> float:
    x = p * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def _ipft(y: float, n: float) -> float:
    """metafor's transf.ipft: the inverse Freeman-Tukey transform at sample size ``n``."""
    if y > _pft(1.0, n):
        return 1.0
    if y < _pft(0.0, n):
        return 0.0
    s = np.sin(2 * y)
    inner = 1 - (s + (s - 1 / s) / n) ** 2
    return float(0.5 * (1 - np.sign(np.cos(2 * y)) * np.sqrt(max(inner, 0.0))))


def _reml_tau2(
    y: np.ndarray, v: np.ndarray, x: np.ndarray, *, threshold: float = 1e-5, max_iter: int = 100
) -> float:
    """REML between-study variance by metafor's Fisher scoring, step for step: start at the
    Hedges (HE) estimate, step (y'PPy - tr P) / tr PP, halve steps that would go below 0, stop
    when the change is below ``threshold`` (metafor's default 1e-5), so results agree with
    metafor to well within 1e-6 rather than differing by where each stops."""
    k, p = x.shape
    hat = x @ np.linalg.solve(x.T @ x, x.T)
    p_he = np.eye(k) - hat
    tau2 = max(0.0, float((y @ p_he @ y - np.trace(p_he * v)) / (k - p)))
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        wx = x * w[:, None]
        pm = np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)
        pp = pm @ pm
        adj = float((y @ pp @ y - np.trace(pm)) / np.trace(pp))
        while tau2 + adj < 0:
            adj /= 2
        old, tau2 = tau2, tau2 + adj
        if abs(old - tau2) <= threshold:
            return tau2
    raise EstimationError("the REML Fisher scoring did not converge")


def _dl_tau2(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (q - (len(y) - 1)) / c), q


def _scale_and_df(
    y: np.ndarray, w: np.ndarray, design: np.ndarray, test: str
) -> tuple[float, float | None]:
    """The variance scale factor and the t test's df (None: the z test) under ``test``.

    Hartung-Knapp scales the variance of the estimates by the weighted residual sum of squares
    over k - p (metafor ``s2w``), without truncation for ``"knha"`` and at least 1 for
    ``"adhoc"``; both then use t with k - p df, as does ``"t"`` without scaling.
    """
    k, p = design.shape
    if test == "z":
        return 1.0, None
    if test == "t":
        return 1.0, float(k - p)
    beta = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * y))
    rss = float(np.sum(w * (y - design @ beta) ** 2))
    s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
    if test == "adhoc":
        s2w = max(s2w, 1.0)
    return s2w, float(k - p)


def _critical(conf_level: float, df: float | None) -> float:
    q = 0.5 + conf_level / 2
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, max(df, 1.0)))


def _glmm_loglik(mu: float, tau: float, x: np.ndarray, n: np.ndarray) -> float:
    """Marginal log-likelihood of the random-intercept logistic model by adaptive
    Gauss-Hermite quadrature (7 nodes, centred on each study's conditional mode)."""
    nodes, weights = np.polynomial.hermite.hermgauss(_GH_NODES)
    b = np.zeros_like(x)
    for _ in range(100):
        p = expit(mu + b)
        step = (x - n * p - b / tau**2) / (n * p * (1 - p) + 1 / tau**2)
        b = b + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = expit(mu + b)
    scale = 1 / np.sqrt(n * p * (1 - p) + 1 / tau**2)
    at = b[:, None] + np.sqrt(2) * scale[:, None] * nodes[None, :]
    h = x[:, None] * (mu + at) - n[:, None] * np.logaddexp(0, mu + at) - at**2 / (2 * tau**2)
    li = (
        special.logsumexp(h + nodes[None, :] ** 2, b=weights[None, :], axis=1)
        + np.log(np.sqrt(2) * scale)
        - 0.5 * np.log(2 * np.pi * tau**2)
    )
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return float(np.sum(li + const))


def _glmm(x: np.ndarray, n: np.ndarray, start_tau2: float) -> tuple[float, float, float, bool]:
    """ML estimates (mu, tau2), the SE of mu from the inverse Hessian of the marginal
    deviance in (mu, tau), as lme4's vcov for nAGQ > 1 (which metafor reports), and whether
    the optimiser converged."""

    def nll(par: np.ndarray) -> float:
        return -_glmm_loglik(par[0], float(np.exp(par[1])), x, n)

    y0 = np.log((x + 0.5) / (n - x + 0.5))
    start = np.array([float(np.mean(y0)), 0.5 * np.log(max(start_tau2, 0.05))])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000}
    )
    mu, tau = float(res.x[0]), float(np.exp(res.x[1]))

    def f(m: float, t: float) -> float:
        return -_glmm_loglik(m, t, x, n)

    h = 1e-4
    point = np.array([mu, tau])
    hess = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (
                f(*(point + ei + ej))
                - f(*(point + ei - ej))
                - f(*(point - ei + ej))
                + f(*(point - ei - ej))
            ) / (4 * h * h)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the GLMM Hessian is singular at the estimate (e.g. every study has 0 events or "
            "every study all events): use method='REML' or 'DL' with a continuity-corrected "
            "transform instead"
        ) from exc
    if not cov[0, 0] > 0:
        raise EstimationError("the GLMM Hessian is not positive definite at the estimate")
    return mu, tau**2, float(np.sqrt(cov[0, 0])), bool(res.success)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaProportionResult(ResultMixin):
    """A pooled proportion from a random-effects model.

    Attributes
    ----------
    pooled, ci_lower, ci_upper, pi_lower, pi_upper : float
        Back-transformed pooled proportion, its CI and the prediction interval.
    mu, mu_se : float
        Pooled estimate and SE on the transformed scale.
    tau2, i2, q, q_p : float
        Between-study variance, I² (percent), Cochran's Q and its p-value.
    k : int
        Number of studies.
    transform, method : str
    test, pi_method : str
        Test of the pooled estimate and type of prediction interval (see the module); ``df``
        is the t distribution's degrees of freedom for the CI (None under the z test).
    conf_level : float
    studies : DataFrame
        Per study: label, events, total, proportion, yi, vi, weight (percent).
    converged : bool
        Whether the GLMM optimiser converged (always True for the closed-form DL and for
        REML, which raises if its scoring does not converge).
    """

    pooled: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    mu: float
    mu_se: float
    tau2: float
    i2: float
    q: float
    q_p: float
    k: int
    transform: str
    method: str
    conf_level: float
    studies: pd.DataFrame = field(repr=False)
    converged: bool = True
    test: str = "z"
    pi_method: str = "default"
    df: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """Studies, then the pooled row."""
        pooled = pd.DataFrame(
            [
                {
                    "label": "pooled (random effects)",
                    "proportion": self.pooled,
                    "ci_lower": self.ci_lower,
                    "ci_upper": self.ci_upper,
                    "weight": 100.0,
                }
            ]
        )
        return pd.concat([self.studies, pooled], ignore_index=True)

    def to_dict(self) -> dict:
        from dah_outcomes.results import json_safe

        return {
            k: json_safe(getattr(self, k))
            for k in (
                "pooled",
                "ci_lower",
                "ci_upper",
                "pi_lower",
                "pi_upper",
                "mu",
                "mu_se",
                "tau2",
                "i2",
                "q",
                "q_p",
                "k",
                "transform",
                "method",
                "test",
                "pi_method",
                "df",
                "conf_level",
                "converged",
            )
        } | {"studies": json_safe(self.studies)}


def _check(events, totals, transform, method, labels):
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    if x.shape != n.shape or x.ndim != 1 or len(x) < 2:
        raise ArgumentError(
            "events and totals must be equal-length sequences of at least 2 studies"
        )
    if np.any(np.isnan(x)) or np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ArgumentError("each study needs 0 <= events <= total and total > 0")
    check_choice("transform", transform, TRANSFORMS)
    check_choice("method", method, METHODS)
    labels = list(labels) if labels is not None else [f"study {i + 1}" for i in range(len(x))]
    return x, n, labels


def meta_proportions(
    events: Sequence[int],
    totals: Sequence[int],
    *,
    transform: str = "logit",
    method: str = "REML",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
    test: str = "z",
    pi_method: str = "default",
) -> MetaProportionResult:
    """Random-effects pooling of proportions (metafor ``rma`` on ``escalc`` PLO or PFT).

    Parameters
    ----------
    events, totals : sequence of int
        Per study: patients with the outcome and patients.
    transform : {"logit", "freeman-tukey"}
    method : {"DL", "REML", "GLMM"}
        Between-study variance estimator; ``GLMM`` fits the random-effects logistic model by
        maximum likelihood (7-node adaptive Gauss-Hermite quadrature, as metafor's
        ``rma.glmm`` through lme4), logit only.
    conf_level : float, default 0.95
        Level of the confidence and prediction intervals, in (0, 1).
    labels : sequence of str, optional
        Study names.
    test : {"z", "t", "knha", "adhoc"}, default "z"
        Test and CI of the pooled estimate, as metafor's ``test`` (``"knha"``:
        Hartung-Knapp-Sidik-Jonkman; not for GLMM).
    pi_method : {"default", "simple", "t", "riley"}, default "default"
        Prediction interval, as metafor's ``predict(pi.type=)`` (``"riley"``: t with k - 2
        df).

    Returns
    -------
    MetaProportionResult

    Examples
    --------
    >>> r = meta_proportions([4, 8, 2], [7, 14, 7], method="DL")
    >>> round(r.pooled, 3), r.k
    (0.506, 3)
    """
    conf_level = check_conf_level(conf_level)
    x, n, labels = _check(events, totals, transform, method, labels)
    check_choice("test", test, TESTS)
    check_choice("pi_method", pi_method, PI_METHODS)
    if method == "GLMM" and transform != "logit":
        raise ArgumentError(
            "method='GLMM' is the random-effects logistic model: use transform='logit'"
        )
    if method == "GLMM" and test != "z":
        raise ArgumentError(
            "test='knha' (or 't') rescales an inverse-variance fit: use method='DL' or 'REML' "
            "with it, or test='z' with method='GLMM'"
        )
    y, v = transform_proportions(x, n, transform)
    tau2_dl, q = _dl_tau2(y, v)
    converged = True
    if method == "GLMM":
        mu, tau2, se, converged = _glmm(x, n, tau2_dl)
        if not converged:
            warn_not_converged("random-effects logistic (GLMM)", 20000)
        w = 1 / (v + tau2)  # weights shown per study: inverse-variance with the GLMM tau2
    else:
        tau2 = tau2_dl if method == "DL" else _reml_tau2(y, v, np.ones((len(y), 1)))
        w = 1 / (v + tau2)
        mu = float(np.sum(w * y) / np.sum(w))
        se = float(np.sqrt(1 / np.sum(w)))
    k = len(y)
    scale, df = _scale_and_df(y, w, np.ones((k, 1)), test)
    se = float(np.sqrt(scale) * se)
    z = _critical(conf_level, df)
    wf = 1 / v
    s2 = (k - 1) * np.sum(wf) / (np.sum(wf) ** 2 - np.sum(wf**2))
    i2 = float(100 * tau2 / (tau2 + s2))
    # "simple" leaves out the uncertainty of the mean (metafor sets vpred to 0)
    v_mean = 0.0 if pi_method == "simple" else se**2
    pi_half = _critical(conf_level, _pi_df(pi_method, df, k)) * np.sqrt(v_mean + tau2)
    if transform == "logit":

        def back(t: float) -> float:
            return float(expit(t))
    else:
        n_hm = 1 / np.mean(1 / n)

        def back(t: float) -> float:
            return _ipft(t, n_hm)

    studies = pd.DataFrame(
        {
            "label": labels,
            "events": x.astype(int),
            "total": n.astype(int),
            "proportion": x / n,
            "yi": y,
            "vi": v,
            "weight": 100 * w / np.sum(w),
        }
    )
    return MetaProportionResult(
        pooled=back(mu),
        ci_lower=back(mu - z * se),
        ci_upper=back(mu + z * se),
        pi_lower=back(mu - pi_half),
        pi_upper=back(mu + pi_half),
        mu=mu,
        mu_se=se,
        tau2=float(tau2),
        i2=i2,
        q=q,
        q_p=float(stats.chi2.sf(q, k - 1)),
        k=k,
        transform=transform,
        method=method,
        conf_level=conf_level,
        studies=studies,
        converged=converged,
        test=test,
        pi_method=pi_method,
        df=df,
    )


def _pi_df(pi_method: str, df: float | None, k: int) -> float | None:
    """The prediction interval's t df (None: normal), as metafor's ``predict(pi.type=)``."""
    if pi_method == "simple" or (pi_method == "default" and df is None):
        return None
    if pi_method == "riley":
        return float(k - 2)  # k - p - 1: the mean and tau2 estimated
    return float(k - 1)


def meta_subgroups(
    events: Sequence[int],
    totals: Sequence[int],
    groups: Sequence[str],
    *,
    transform: str = "logit",
    method: str = "REML",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> tuple[dict[str, MetaProportionResult], dict[str, float]]:
    """Pool each subgroup separately and test whether the pooled estimates differ.

    Parameters
    ----------
    events, totals : sequence of int
        Per study: patients with the outcome and patients.
    groups : sequence of str
        Per study: its subgroup.
    transform, method, conf_level, labels
        As for :func:`meta_proportions`.

    Returns
    -------
    results : dict of str to MetaProportionResult
        One pooled result per subgroup (subgroups of fewer than 2 studies are left out).
    test : dict
        ``q_between``, ``df`` and ``p_value`` of the Wald test of equal subgroup means
        (transformed scale, each subgroup with its own tau², as metafor's subgroup analyses).
    """
    conf_level = check_conf_level(conf_level)
    g = np.asarray(groups, dtype=object)
    x, n = np.asarray(events), np.asarray(totals)
    names = np.asarray(labels, dtype=object) if labels is not None else None
    results = {}
    for level in sorted({str(v) for v in g}):
        m = np.array([str(v) == level for v in g])
        if m.sum() >= 2:
            results[level] = meta_proportions(
                x[m],
                n[m],
                transform=transform,
                method=method,
                conf_level=conf_level,
                labels=None if names is None else list(names[m]),
            )
    mus = np.array([r.mu for r in results.values()])
    w = np.array([1 / r.mu_se**2 for r in results.values()])
    q = (
        float(np.sum(w * (mus - np.sum(w * mus) / np.sum(w)) ** 2))
        if len(mus) > 1
        else (float("nan"))
    )
    df = len(mus) - 1
    return results, {
        "q_between": q,
        "df": df,
        "p_value": float(stats.chi2.sf(q, df)) if df > 0 else float("nan"),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaRegressionResult(ResultMixin):
    """A mixed-effects meta-regression (REML).

    Attributes
    ----------
    terms : tuple of str
        ``("intercept", <moderator>)``.
    coef, se, p_value : ndarray
        Coefficients on the transformed scale, their SEs and p-values (z tests, or t tests
        with k - 2 df under ``test="knha"``/``"t"``).
    ci_lower, ci_upper : ndarray
        Confidence limits of the coefficients.
    tau2 : float
        Residual between-study variance.
    qm, qm_p : float
        Omnibus test of the moderator and its p-value (chi-square, or F with 1 and k - 2 df
        under the t-based tests, as metafor).
    k : int
        Number of studies.
    transform, test : str
    conf_level : float
    """

    terms: tuple[str, ...]
    coef: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    p_value: np.ndarray = field(repr=False)
    tau2: float
    qm: float
    qm_p: float
    k: int
    transform: str
    ci_lower: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    ci_upper: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    test: str = "z"
    conf_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coefficient, SE, CI and p-value."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": self.coef,
                "se": self.se,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
            }
        )


def meta_regression(
    events: Sequence[int],
    totals: Sequence[int],
    moderator: Sequence[float],
    *,
    transform: str = "logit",
    name: str = "moderator",
    test: str = "z",
    conf_level: float = 0.95,
) -> MetaRegressionResult:
    """Meta-regression of transformed proportions on one numeric moderator.

    REML, as metafor ``rma(yi, vi, mods = ~ moderator, method = "REML", test = test)``.

    Parameters
    ----------
    events, totals : sequence of int
        Per study: patients with the outcome and patients.
    moderator : sequence of float
        Per study: the moderator's value.
    transform : {"logit", "freeman-tukey"}, default "logit"
        Scale of the regression.
    name : str, default "moderator"
        Name of the moderator's term.
    test : {"z", "t", "knha", "adhoc"}, default "z"
        Tests and CIs of the coefficients, as metafor's ``test`` (``"knha"``:
        Hartung-Knapp-Sidik-Jonkman).
    conf_level : float, default 0.95
        Level of the coefficients' confidence intervals, in (0, 1).

    Returns
    -------
    MetaRegressionResult
    """
    conf_level = check_conf_level(conf_level)
    check_choice("test", test, TESTS)
    x, n, _ = _check(events, totals, transform, "REML", None)
    mod = np.asarray(moderator, dtype=float)
    if mod.shape != x.shape or np.any(np.isnan(mod)):
        raise ArgumentError("the moderator needs one non-missing value per study")
    y, v = transform_proportions(x, n, transform)
    design = np.column_stack([np.ones(len(y)), mod])
    tau2 = _reml_tau2(y, v, design)
    w = 1 / (v + tau2)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    b = cov @ design.T @ (w * y)
    scale, df = _scale_and_df(y, w, design, test)
    cov = scale * cov
    se = np.sqrt(np.diag(cov))
    crit = _critical(conf_level, df)
    qm = float(b[1] ** 2 / cov[1, 1])
    if df is None:
        p = 2 * stats.norm.sf(np.abs(b / se))
        qm_p = float(stats.chi2.sf(qm, 1))
    else:
        p = 2 * stats.t.sf(np.abs(b / se), df)
        qm_p = float(stats.f.sf(qm, 1, df))  # one moderator: F = QM / 1
    return MetaRegressionResult(
        terms=("intercept", name),
        coef=b,
        se=se,
        p_value=p,
        tau2=float(tau2),
        qm=qm,
        qm_p=qm_p,
        k=len(y),
        transform=transform,
        ci_lower=b - crit * se,
        ci_upper=b + crit * se,
        test=test,
        conf_level=conf_level,
    )
