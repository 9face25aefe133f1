"""Propensity scores and weights for several arms: a multinomial logistic model, ATE, ATT and
overlap weights, stabilised and truncated, with each arm's effective sample size.

The propensity model is the multinomial logistic regression that R's ``nnet::multinom`` fits
(the first arm is the reference category), here by Newton-Raphson with case weights, so that
the bootstrap can refit it on resampling counts without copying the data. With two arms it is
ordinary logistic regression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import log_softmax

from dah_outcomes.errors import (
    ArgumentError,
    ConvergenceWarning,
    EstimationError,
    PositivityWarning,
    WarningLog,
    warn,
)
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_choice
from dah_outcomes.stats._cox_engine import design_matrix

__all__ = [
    "ESTIMANDS",
    "MAX_NORMALISED_WEIGHT",
    "MIN_ESS_SHARE",
    "POSITIVITY_BOUNDS",
    "PositivityDiagnostics",
    "PropensityWeights",
    "arm_codes",
    "class_probabilities",
    "effective_sample_size",
    "multinomial_logit",
    "positivity_diagnostics",
    "propensity_positivity",
    "propensity_weights",
    "truncate_weights",
    "weights_from_scores",
]

#: The weights' target populations, in words (quoted in methods texts).
ESTIMANDS = {
    "ATE": "the whole population (weights 1 / P(arm received | covariates))",
    "ATT": "the patients of the reference arm (weights P(reference | covariates) / "
    "P(arm received | covariates); 1 in the reference arm)",
    "overlap": "the population of clinical equipoise (generalised overlap weights of Li and "
    "Li 2019: h(x) / P(arm received | covariates), h = 1 / sum of 1 / P(arm | covariates))",
}


#: A fitted probability (propensity score, or probability of remaining uncensored) outside
#: these bounds is a near-violation of positivity (the patient was practically never, or
#: practically always, given the arm or able to follow the strategy).
POSITIVITY_BOUNDS = (0.01, 0.99)

#: A weight above this many times its group's mean weight is extreme: one patient stands for
#: that many average ones.
MAX_NORMALISED_WEIGHT = 10.0

#: An effective sample size (Kish) below this share of a group's rows is small: the weights
#: discard more than half the information the patients carry.
MIN_ESS_SHARE = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class PositivityDiagnostics(ResultMixin):
    """Positivity (overlap) diagnostics of a weighted estimator, one row per group (arm or
    strategy).

    Attributes
    ----------
    what : str
        The fitted probability examined, in words (e.g. "propensity score").
    groups : tuple of str
        The arms or strategies.
    n : tuple of int
        Rows of each group whose weights are examined.
    n_low, n_high : tuple of int
        Patients whose probability of the group is below ``POSITIVITY_BOUNDS[0]`` and above
        ``POSITIVITY_BOUNDS[1]`` (``n_high`` is 0 where only a low probability matters).
    min_probability, max_probability : tuple of float
        The extreme fitted probabilities of each group.
    max_normalised_weight : tuple of float
        The largest weight of each group over the group's mean weight.
    effective_n : tuple of float
        Kish's effective sample size of each group under its weights.
    message : str or None
        The warning given (None when nothing crossed a threshold).
    """

    what: str
    groups: tuple[str, ...]
    n: tuple[int, ...]
    n_low: tuple[int, ...]
    n_high: tuple[int, ...]
    min_probability: tuple[float, ...]
    max_probability: tuple[float, ...]
    max_normalised_weight: tuple[float, ...]
    effective_n: tuple[float, ...]
    message: str | None

    @property
    def flagged(self) -> bool:
        """Whether any threshold was crossed."""
        return self.message is not None

    def to_frame(self) -> pd.DataFrame:
        """One row per group: the counts, extremes and effective sample size."""
        return pd.DataFrame(
            {
                "group": list(self.groups),
                "n": list(self.n),
                "n_low": list(self.n_low),
                "n_high": list(self.n_high),
                "min_probability": list(self.min_probability),
                "max_probability": list(self.max_probability),
                "max_normalised_weight": list(self.max_normalised_weight),
                "effective_n": list(self.effective_n),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``what``, the thresholds, ``flagged``, ``message`` and ``groups`` (the
        rows of :meth:`to_frame`).

        Returns
        -------
        dict
        """
        return json_safe(
            {
                "what": self.what,
                "bounds": list(POSITIVITY_BOUNDS),
                "max_normalised_weight_allowed": MAX_NORMALISED_WEIGHT,
                "min_ess_share": MIN_ESS_SHARE,
                "flagged": self.flagged,
                "message": self.message,
                "groups": self.to_frame(),
            }
        )

    def _title(self) -> str:
        state = "near-violations found" if self.flagged else "no threshold crossed"
        return f"Positivity diagnostics of the {self.what}: {state}"


def positivity_diagnostics(
    *,
    what: str,
    where: str,
    groups: Sequence[str],
    probabilities: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    check_high: bool = True,
    notes: WarningLog | None = None,
    also: Sequence[str] = (),
) -> PositivityDiagnostics:
    """Check the fitted probabilities and weights of each group against the positivity
    thresholds, and warn once (a single :class:`~dah_outcomes.errors.PositivityWarning`
    listing every group and threshold crossed, with the numbers).

    Parameters
    ----------
    what : str
        The probability examined, in words ("propensity score", "probability of remaining
        uncensored").
    where : str
        The estimator, named at the start of the message.
    groups : sequence of str
        The arms or strategies.
    probabilities : sequence of ndarray
        Per group, each patient's fitted probability of that group (a propensity-score
        column over every patient; the clones' probability of remaining uncensored).
    weights : sequence of ndarray
        Per group, the weights of the rows whose balance or risk they make (the patients of
        the arm; the clones of the strategy).
    check_high : bool, default True
        Also flag probabilities above ``POSITIVITY_BOUNDS[1]`` (a propensity score near 1
        means near 0 for another arm; a probability of remaining uncensored near 1 is no
        concern).
    notes : WarningLog, optional
        Where the warning is issued and recorded; issued directly when omitted.
    also : sequence of str, optional
        Findings of the caller's own (e.g. a strategy nobody like some patients follows),
        put first in the same warning, which they cause on their own.

    Returns
    -------
    PositivityDiagnostics

    Warns
    -----
    PositivityWarning
        When a probability falls outside :data:`POSITIVITY_BOUNDS`, a weight exceeds
        :data:`MAX_NORMALISED_WEIGHT` times its group's mean, or a group's effective sample
        size is below :data:`MIN_ESS_SHARE` of its rows.
    """
    lo_bound, hi_bound = POSITIVITY_BOUNDS
    cols: dict[str, list[Any]] = {k: [] for k in ("n", "lo", "hi", "pmin", "pmax", "wmax", "ess")}
    found: list[str] = []
    for label, p, w in zip(groups, probabilities, weights, strict=True):
        p = np.asarray(p, dtype=float)
        p = p[np.isfinite(p)]
        w = np.asarray(w, dtype=float)
        w = w[np.isfinite(w)]
        n_low = int((p < lo_bound).sum())
        n_high = int((p > hi_bound).sum()) if check_high else 0
        mean = float(w.mean()) if len(w) else math.nan
        wmax = float(w.max() / mean) if len(w) and mean > 0 else math.nan
        ess = effective_sample_size(w)
        for key, value in (
            ("n", len(w)),
            ("lo", n_low),
            ("hi", n_high),
            ("pmin", float(p.min()) if len(p) else math.nan),
            ("pmax", float(p.max()) if len(p) else math.nan),
            ("wmax", wmax),
            ("ess", ess),
        ):
            cols[key].append(value)
        said = []
        if n_low:
            said.append(f"{n_low} with a {what} below {lo_bound:g} (lowest {p.min():.2g})")
        if n_high:
            said.append(f"{n_high} with a {what} above {hi_bound:g} (highest {p.max():.4g})")
        if wmax > MAX_NORMALISED_WEIGHT:
            said.append(f"a weight {wmax:.1f} times the mean (> {MAX_NORMALISED_WEIGHT:g})")
        if len(w) and ess < MIN_ESS_SHARE * len(w):
            said.append(f"effective sample size {ess:.0f} of {len(w)} (< {MIN_ESS_SHARE:.0%})")
        if said:
            found.append(f"'{label}': {', '.join(said)}")
    message = None
    if found or also:
        near = f"near-violations of positivity, {'; '.join(found)}. " if found else ""
        if also and near:  # after the caller's sentences, a sentence of its own
            near = near[0].upper() + near[1:]
        message = (
            f"{where}: {''.join(s + '. ' for s in also)}{near}The weighted "
            "estimates there rest on few patients or on extrapolating a model to patients "
            "who (almost) never followed that arm or strategy: restrict eligibility to "
            "patients who could, use a coarser adjustment set, or truncate the weights "
            "(and say so)"
        )
        if notes is None:
            warn(message, PositivityWarning)
        else:
            notes.warn(message, PositivityWarning)
    return PositivityDiagnostics(
        what=what,
        groups=tuple(groups),
        n=tuple(int(v) for v in cols["n"]),
        n_low=tuple(int(v) for v in cols["lo"]),
        n_high=tuple(int(v) for v in cols["hi"]),
        min_probability=tuple(cols["pmin"]),
        max_probability=tuple(cols["pmax"]),
        max_normalised_weight=tuple(cols["wmax"]),
        effective_n=tuple(cols["ess"]),
        message=message,
    )


def propensity_positivity(
    scores: np.ndarray,
    arm: np.ndarray,
    weights: np.ndarray,
    arms: Sequence[str],
    *,
    where: str,
    notes: WarningLog | None = None,
) -> PositivityDiagnostics:
    """:func:`positivity_diagnostics` of propensity scores: every patient's score of each arm
    against the bounds, each arm's weights (its own patients) against the weight and
    effective-sample-size thresholds.

    Parameters
    ----------
    scores : ndarray, shape (n, n_arms)
        Propensity scores.
    arm : ndarray of int
        Each patient's arm.
    weights : ndarray
        One weight per patient.
    arms : sequence of str
        The arms' names.
    where : str
        The estimator, named in the message.
    notes : WarningLog, optional
        Where the warning is issued and recorded.

    Returns
    -------
    PositivityDiagnostics
    """
    return positivity_diagnostics(
        what="propensity score",
        where=where,
        groups=list(arms),
        probabilities=[scores[:, i] for i in range(len(arms))],
        weights=[weights[arm == i] for i in range(len(arms))],
        notes=notes,
    )


def multinomial_logit(
    x: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    weights: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-12,
) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood multinomial logistic regression (class 0 the reference), with case
    weights, by Newton-Raphson.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Covariates (an intercept is added).
    codes : ndarray of int, shape (n,)
        Class of each row, ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes (2 gives logistic regression).
    weights : ndarray, optional
        Case weights (frequency weights of a bootstrap replicate, or inverse-probability
        weights); rows of weight 0 do not count.
    start : ndarray, shape (p + 1, n_classes - 1), optional
        Starting coefficients (e.g. the full-sample fit, for a bootstrap replicate).
    max_iter : int, default 100
        Newton iterations allowed.
    tol : float, default 1e-12
        Convergence when the deviance changes by less than ``tol * (|deviance| + 0.1)``, as
        R's ``glm`` judges it: under separation the deviance converges while a coefficient
        runs off, so the fitted probabilities are still right (near 0 or 1).

    Returns
    -------
    coef : ndarray, shape (p + 1, n_classes - 1)
        Intercept first; column ``k - 1`` holds the log odds of class ``k`` against class 0.
    converged : bool
        Whether the deviance converged within ``max_iter``.

    Raises
    ------
    EstimationError
        When the design is singular (a covariate constant among the rows used, or two
        collinear).
    """
    n = len(codes)
    f = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    use = f > 0
    xx = np.column_stack([np.ones(int(use.sum())), x[use]])
    c, f = codes[use], f[use]
    p, k = xx.shape[1], n_classes - 1
    onehot = np.zeros((len(c), n_classes))
    onehot[np.arange(len(c)), c] = 1.0
    if np.linalg.matrix_rank(xx) < p:
        raise EstimationError(
            "the logistic model is singular: a covariate is constant among the patients "
            "used, or two covariates are collinear"
        )
    beta = np.zeros((p, k)) if start is None else np.array(start, dtype=float)

    def deviance(b: np.ndarray) -> tuple[float, np.ndarray]:
        logp = log_softmax(np.column_stack([np.zeros(len(c)), xx @ b]), axis=1)
        return float(-2.0 * np.sum(f * logp[np.arange(len(c)), c])), np.exp(logp)

    dev, prob = deviance(beta)
    for _ in range(max_iter):
        grad = xx.T @ (f[:, None] * (onehot[:, 1:] - prob[:, 1:]))
        info = np.empty((k * p, k * p))
        for a in range(k):
            for b in range(a, k):
                w = f * prob[:, a + 1] * (float(a == b) - prob[:, b + 1])
                block = xx.T @ (w[:, None] * xx)
                info[a * p : (a + 1) * p, b * p : (b + 1) * p] = block
                info[b * p : (b + 1) * p, a * p : (a + 1) * p] = block
        try:
            step = np.linalg.solve(info, grad.T.ravel()).reshape(k, p).T
        except np.linalg.LinAlgError:
            # the design has full rank (checked above), so the information matrix turned
            # singular because a class's probabilities went to 0 or 1 (separation): the
            # minimum-norm step leaves the diverging direction alone and the deviance converges
            step = np.linalg.lstsq(info, grad.T.ravel(), rcond=None)[0].reshape(k, p).T
        # step halving keeps the deviance from rising when a first step overshoots
        for _half in range(20):
            new_dev, new_prob = deviance(beta + step)
            if new_dev <= dev + 1e-9 * (abs(dev) + 0.1):
                break
            step = step / 2
        beta = beta + step
        converged = abs(dev - new_dev) < tol * (abs(new_dev) + 0.1)
        dev, prob = new_dev, new_prob
        if converged:
            return beta, True
    return beta, False


def class_probabilities(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Fitted class probabilities, shape (n, n_classes), of :func:`multinomial_logit`'s
    coefficients.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Covariates (without the intercept).
    coef : ndarray, shape (p + 1, n_classes - 1)
        Coefficients, intercept first.

    Returns
    -------
    ndarray
        One row per patient, one column per class; rows sum to 1.
    """
    eta = np.column_stack([np.zeros(len(x)), np.column_stack([np.ones(len(x)), x]) @ coef])
    return np.exp(log_softmax(eta, axis=1))


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size, ``(sum w)^2 / sum w^2``.

    Parameters
    ----------
    weights : ndarray
        Non-negative weights of one arm.

    Returns
    -------
    float
        The number of equally weighted patients carrying the same information (0 when every
        weight is 0).
    """
    w = np.asarray(weights, dtype=float)
    total = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / total) if total > 0 else 0.0


def arm_codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes of arm labels and the arms in order (a categorical's own order, with
    unused levels dropped; else sorted).

    Parameters
    ----------
    values : Series
        Arm label per row, no missing values.

    Returns
    -------
    codes : ndarray of int
        Index of each row's arm in ``arms``.
    arms : tuple of str
        The arms present, in order.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().astype(str))
        arms = tuple(str(a) for a in values.cat.categories if str(a) in present)
    else:
        arms = tuple(sorted({str(v) for v in values}))
    lookup = {a: i for i, a in enumerate(arms)}
    return np.array([lookup[str(v)] for v in values], dtype=int), arms


@dataclass(frozen=True, slots=True, kw_only=True)
class PropensityWeights(ResultMixin):
    """Propensity scores and weights for several arms.

    Attributes
    ----------
    arms : tuple of str
        The arms, in order (the first is the propensity model's reference category).
    estimand : str
        A key of :data:`ESTIMANDS`.
    reference : str or None
        The arm whose patients are the target population (ATT only).
    stabilized : bool
        Whether the weights were stabilised.
    truncation : str
        How the weights were truncated, in words (``"none"`` when they were not).
    arm : ndarray of int
        Each patient's arm (index into ``arms``).
    scores : ndarray, shape (n, n_arms)
        Each patient's probability of each arm given the covariates.
    weights : ndarray
        One weight per patient.
    n_truncated : int
        Weights changed by truncation.
    converged : bool
        Whether the propensity model converged.
    covariates : tuple of str
        The model's terms (categories dummy-coded).
    positivity : PositivityDiagnostics or None
        The scores and weights against the positivity thresholds (None where not checked).
    """

    arms: tuple[str, ...]
    estimand: str
    reference: str | None
    stabilized: bool
    truncation: str
    arm: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    n_truncated: int
    converged: bool
    covariates: tuple[str, ...]
    positivity: PositivityDiagnostics | None = None

    def arm_labels(self) -> np.ndarray:
        """Each patient's arm label.

        Returns
        -------
        ndarray of str
        """
        return np.asarray(self.arms, dtype=object)[self.arm]

    def effective_sizes(self) -> dict[str, float]:
        """Kish's effective sample size of each arm under the weights.

        Returns
        -------
        dict of str to float
        """
        return {
            a: effective_sample_size(self.weights[self.arm == i]) for i, a in enumerate(self.arms)
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: patients, effective sample size, weights and own-arm scores."""
        rows = []
        ess = self.effective_sizes()
        for i, a in enumerate(self.arms):
            w, s = self.weights[self.arm == i], self.scores[self.arm == i, i]
            rows.append(
                {
                    "arm": a,
                    "n": len(w),
                    "effective_n": ess[a],
                    "weight_sum": float(w.sum()),
                    "weight_min": float(w.min()) if len(w) else np.nan,
                    "weight_max": float(w.max()) if len(w) else np.nan,
                    "score_min": float(s.min()) if len(s) else np.nan,
                    "score_max": float(s.max()) if len(s) else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The weights' summary (JSON-safe): estimand, truncation and one entry per arm.

        Returns
        -------
        dict
            ``arms, estimand, reference, stabilized, truncation, n_truncated, converged,
            covariates, per_arm`` (the rows of :meth:`to_frame`), ``positivity``.
        """
        return json_safe(
            {
                "arms": list(self.arms),
                "estimand": self.estimand,
                "reference": self.reference,
                "stabilized": self.stabilized,
                "truncation": self.truncation,
                "n_truncated": self.n_truncated,
                "converged": self.converged,
                "covariates": list(self.covariates),
                "per_arm": self.to_frame(),
                "positivity": None if self.positivity is None else self.positivity.to_dict(),
            }
        )

    def _title(self) -> str:
        return (
            f"{self.estimand} propensity weights over {len(self.arms)} arms "
            f"({'stabilised' if self.stabilized else 'unstabilised'}; truncation: "
            f"{self.truncation})"
        )


def weights_from_scores(
    scores: np.ndarray,
    arm: np.ndarray,
    *,
    estimand: str = "ATE",
    reference: int = 0,
    stabilized: bool = True,
) -> np.ndarray:
    """Weights of each patient from the propensity scores, before any truncation.

    Parameters
    ----------
    scores : ndarray, shape (n, n_arms)
        Probability of each arm given the covariates.
    arm : ndarray of int
        Each patient's arm.
    estimand : {"ATE", "ATT", "overlap"}, default "ATE"
        Target population (see :data:`ESTIMANDS`).
    reference : int, default 0
        The ATT's reference arm.
    stabilized : bool, default True
        ATE: multiply by the arm's share of patients. ATT: multiply the other arms' weights
        by their share over the reference arm's share. Overlap: scale each arm's weights to
        sum to its size. The weighted means are unchanged; the weights average about 1.

    Returns
    -------
    ndarray
        One weight per patient.
    """
    n, k = scores.shape
    own = scores[np.arange(n), arm]
    share = np.bincount(arm, minlength=k) / n
    if estimand == "ATE":
        w = 1.0 / own
        if stabilized:
            w = w * share[arm]
    elif estimand == "ATT":
        w = np.where(arm == reference, 1.0, scores[:, reference] / own)
        if stabilized:
            w = np.where(arm == reference, 1.0, w * share[arm] / share[reference])
    else:
        w = (1.0 / np.sum(1.0 / scores, axis=1)) / own
        if stabilized:
            sums = np.bincount(arm, weights=w, minlength=k)
            w = w * (np.bincount(arm, minlength=k) / sums)[arm]
    return w


def truncate_weights(
    weights: np.ndarray, *, quantile: float | None = None, at: float | None = None
) -> tuple[np.ndarray, int, str]:
    """Truncated weights.

    Parameters
    ----------
    weights : ndarray
        The weights.
    quantile : float, optional
        In (0.5, 1): weights above this quantile of all weights are set to it and weights
        below the ``1 - quantile`` quantile to that (Cole and Hernan's 1st and 99th
        percentiles for 0.99); quantiles as R's default type 7.
    at : float, optional
        A fixed cap: weights above it are set to it.

    Returns
    -------
    weights : ndarray
        The truncated weights (a copy).
    n_truncated : int
        Weights changed.
    truncation : str
        The rule in words.
    """
    if quantile is not None and at is not None:
        raise ArgumentError("give truncate_quantile or truncate_at, not both")
    if quantile is not None:
        if isinstance(quantile, bool) or not 0.5 < float(quantile) < 1:
            raise ArgumentError(f"truncate_quantile must be in (0.5, 1), got {quantile!r}")
        lo, hi = np.quantile(weights, [1 - quantile, quantile])
        out = np.clip(weights, lo, hi)
        text = f"at the {100 * (1 - quantile):g}th and {100 * quantile:g}th percentiles"
    elif at is not None:
        if isinstance(at, bool) or not float(at) > 0:
            raise ArgumentError(f"truncate_at must be a positive weight, got {at!r}")
        out = np.minimum(weights, float(at))
        text = f"at {float(at):g}"
    else:
        return weights.copy(), 0, "none"
    return out, int(np.sum(out != weights)), text


def propensity_weights(
    data: pd.DataFrame,
    *,
    treatment: str,
    confounders: Sequence[str],
    estimand: str = "ATE",
    reference: str | None = None,
    stabilized: bool = True,
    truncate_quantile: float | None = None,
    truncate_at: float | None = None,
) -> PropensityWeights:
    """Propensity scores from a multinomial logistic model and weights for several arms.

    Parameters
    ----------
    data : DataFrame
        One row per patient; no missing values in the columns used.
    treatment : str
        Column of arm labels (a categorical's order is kept, else sorted; the first arm is
        the model's reference category).
    confounders : sequence of str
        Covariates of the propensity model (categories dummy-coded against their first level).
    estimand : {"ATE", "ATT", "overlap"}, default "ATE"
        Target population (see :data:`ESTIMANDS`).
    reference : str, optional
        The arm whose patients are the target population; required with ``"ATT"``.
    stabilized : bool, default True
        Stabilise the weights (see :func:`weights_from_scores`).
    truncate_quantile, truncate_at : float, optional
        Truncate the weights at percentiles or at a fixed value (see
        :func:`truncate_weights`); at most one.

    Returns
    -------
    PropensityWeights

    Raises
    ------
    ArgumentError
        For missing values, fewer than two arms, an unknown estimand or reference arm, or a
        bad truncation.
    EstimationError
        When the propensity model is singular.

    Warns
    -----
    ConvergenceWarning
        When the propensity model did not converge.
    PositivityWarning
        When a score falls outside :data:`POSITIVITY_BOUNDS`, a weight exceeds
        :data:`MAX_NORMALISED_WEIGHT` times its arm's mean, or an arm's effective sample size
        is below :data:`MIN_ESS_SHARE` of its patients (after truncation).
    """
    check_choice("estimand", estimand, ESTIMANDS)
    cols = [treatment, *confounders]
    if data[cols].isna().any().any():
        raise ArgumentError(f"missing values in {cols}: drop or impute them first")
    codes, arms = arm_codes(data[treatment])
    if len(arms) < 2:
        raise ArgumentError(f"propensity weights need at least two arms, got {list(arms)}")
    if estimand == "ATT":
        if reference not in arms:
            raise ArgumentError(f"estimand='ATT' needs reference, one of {list(arms)}")
    elif reference is not None:
        raise ArgumentError("reference goes with estimand='ATT' only")
    x, names = design_matrix(data, confounders)
    coef, converged = multinomial_logit(x, codes, len(arms))
    if not converged:
        warn("propensity_weights: the multinomial model did not converge", ConvergenceWarning)
    scores = class_probabilities(x, coef)
    raw = weights_from_scores(
        scores,
        codes,
        estimand=estimand,
        reference=arms.index(reference) if reference is not None else 0,
        stabilized=stabilized,
    )
    w, n_truncated, truncation = truncate_weights(raw, quantile=truncate_quantile, at=truncate_at)
    positivity = propensity_positivity(scores, codes, w, arms, where="propensity_weights")
    return PropensityWeights(
        arms=arms,
        estimand=estimand,
        reference=reference,
        stabilized=stabilized,
        truncation=truncation,
        arm=codes,
        scores=scores,
        weights=w,
        n_truncated=n_truncated,
        converged=converged,
        covariates=tuple(names),
        positivity=positivity,
    )
