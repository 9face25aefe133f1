"""The exact and permutation (conditional) log-rank tests, as R's ``coin::logrank_test``.

Each subject gets the log-rank score of ``coin::logrank_trafo`` (ties by mid-ranks, coin's
default): the weighted Nelson-Aalen cumulative hazard of the pooled sample at the subject's own
time minus its weighted event indicator, ``a_i = sum_{t_j <= t_i} w_j d_j / n_j - delta_i w_i``.
The linear statistic is each group's sum of scores, ``T_g = sum_{i in g} a_i``; under the null
hypothesis every assignment of the group labels to the subjects (group sizes fixed) is equally
likely, which gives ``T`` the permutation expectation ``n_g mean(a)`` and covariance
``sigma^2 n / (n - 1) (diag(n_g) - n_g n_g' / n)`` (``sigma^2`` the population variance of the
scores). The statistic is the quadratic form ``(T - E)' V^- (T - E)`` (the square of coin's
standardised statistic with 2 groups) and its p-value is the share of assignments whose
statistic is at least the observed one (two-sided with 2 groups, as coin's default).

Unlike ``survdiff``'s, this covariance does not change from one assignment to the next, so the
statistic differs from the asymptotic log-rank chi-square in small samples; they agree as the
sample grows.

``exact`` counts every assignment: with 2 groups by meeting in the middle (the sums of every
subset of each half of the subjects, 2^(n/2) each, then pairs of sums counted by a sorted
search), so up to about 44 subjects; with k groups by listing every assignment, up to
:data:`MAX_ASSIGNMENTS`. ``permutation`` draws ``n_resamples`` random assignments.
"""

from __future__ import annotations

import math

import numpy as np

from dah_outcomes.errors import EstimationError

__all__ = [
    "MAX_ASSIGNMENTS",
    "MAX_EXACT_TWO_SAMPLE",
    "exact_pvalue",
    "logrank_scores",
    "permutation_pvalue",
    "quadratic_statistic",
]

MAX_ASSIGNMENTS = 5_000_000
"""The most assignments of k group labels that ``exact`` lists before asking for
``permutation``."""

MAX_EXACT_TWO_SAMPLE = 44
"""The most subjects for an exact 2-group p-value (two halves of 2^22 subset sums)."""

# Assignments whose statistic falls short of the observed one by less than this (relative)
# count as at least as extreme: sums of the same scores in another order differ in their last
# bits, and coin allows the same slack (10 sqrt(eps) on the standardised scale).
_REL_TOL = 1e-7


def logrank_scores(
    time: np.ndarray, event: np.ndarray, rho: float = 0.0, gamma: float = 0.0
) -> np.ndarray:
    """coin's (Fleming-Harrington weighted) log-rank score of each subject.

    Parameters
    ----------
    time, event : ndarray
        Follow-up times and event indicators (1/0), one per subject.
    rho, gamma : float, default 0
        Weights ``S(t-)^rho (1 - S(t-))^gamma`` of the pooled Kaplan-Meier curve (coin's
        ``type = "Fleming-Harrington"``); 0, 0 is the log-rank test.

    Returns
    -------
    ndarray
        ``a_i = sum_{t_j <= t_i} w_j d_j / n_j - delta_i w(t_i)``.
    """
    uniq, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=len(uniq))
    exits = np.bincount(inv, minlength=len(uniq)).astype(float)
    n_risk = np.cumsum(exits[::-1])[::-1]
    s = np.cumprod(1.0 - d / n_risk)
    s_minus = np.concatenate(([1.0], s[:-1]))
    w = s_minus**rho * (1.0 - s_minus) ** gamma if (rho or gamma) else np.ones(len(uniq))
    return np.cumsum(w * d / n_risk)[inv] - event * w[inv]


def _moments(scores: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permutation expectation and covariance of the per-group score sums."""
    n = len(scores)
    sigma2 = float(np.mean((scores - scores.mean()) ** 2))
    expect = sizes * scores.mean()
    cov = sigma2 * n / (n - 1) * (np.diag(sizes) - np.outer(sizes, sizes) / n)
    return expect, cov


def _precision(scores: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expectation and the inverse covariance of the first k - 1 sums (V has rank k - 1)."""
    expect, cov = _moments(scores, sizes)
    if not np.all(np.diag(cov)[:-1] > 0):
        raise EstimationError(
            "every subject has the same log-rank score (no events, or the weights are zero "
            "at every event): there is nothing to test"
        )
    return expect[:-1], np.linalg.inv(cov[:-1, :-1])


def quadratic_statistic(scores: np.ndarray, codes: np.ndarray, k: int) -> float:
    """The observed statistic ``(T - E)' V^- (T - E)``.

    Parameters
    ----------
    scores : ndarray
        Log-rank scores (:func:`logrank_scores`).
    codes : ndarray of int
        Group code 0..k-1 of each subject.
    k : int
        Number of groups (each with at least one subject).

    Returns
    -------
    float
        The square of coin's standardised statistic with 2 groups; coin's ``quadratic``
        statistic with more.
    """
    sizes = np.bincount(codes, minlength=k).astype(float)
    expect, prec = _precision(scores, sizes)
    diff = np.bincount(codes, weights=scores, minlength=k)[:-1] - expect
    return float(diff @ prec @ diff)


def _forms(sums: np.ndarray, expect: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """Quadratic forms of rows of group sums (first k - 1 groups)."""
    diff = sums - expect
    return np.einsum("ij,jk,ik->i", diff, prec, diff)


def _subset_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sum and the size of every subset of ``values`` (2^len of each)."""
    sums, sizes = np.zeros(1), np.zeros(1, dtype=np.int64)
    for x in values:
        sums = np.concatenate((sums, sums + x))
        sizes = np.concatenate((sizes, sizes + 1))
    return sums, sizes


def _count_pairs_beyond(left: np.ndarray, right_sorted: np.ndarray, lo: float, hi: float) -> int:
    """Pairs (l, r) with l + r <= lo or l + r >= hi."""
    below = np.searchsorted(right_sorted, lo - left, side="right")
    above = len(right_sorted) - np.searchsorted(right_sorted, hi - left, side="left")
    return int(below.sum() + above.sum())


def _exact_two(scores: np.ndarray, codes: np.ndarray) -> float:
    """Two-sided exact p-value of the first group's sum, by meeting in the middle."""
    n = len(scores)
    if n > MAX_EXACT_TWO_SAMPLE:
        raise EstimationError(
            f"an exact p-value lists the subsets of {n} subjects, more than "
            f"{MAX_EXACT_TWO_SAMPLE}: use method='permutation'"
        )
    m = int(np.sum(codes == 0))
    observed = float(scores[codes == 0].sum())
    centre = m * float(scores.mean())
    gap = abs(observed - centre)
    slack = _REL_TOL * max(gap, float(np.abs(scores).sum()) / n, 1e-300)
    lo, hi = centre - gap + slack, centre + gap - slack
    half = n // 2
    left_sums, left_sizes = _subset_sums(scores[:half])
    right_sums, right_sizes = _subset_sums(scores[half:])
    count = 0
    for j in range(max(0, m - (n - half)), min(m, half) + 1):
        right = np.sort(right_sums[right_sizes == m - j])
        count += _count_pairs_beyond(left_sums[left_sizes == j], right, lo, hi)
    return min(1.0, count / math.comb(n, m))


def _assignment_sums(scores: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Group sums (all groups but the last) of every assignment of labels of these sizes."""
    from itertools import combinations

    def expand(remaining: np.ndarray, rest: list[int]) -> np.ndarray:
        if len(rest) == 1:  # the last group takes whatever is left
            return np.zeros((1, 0))
        combos = np.array(list(combinations(range(len(remaining)), rest[0])), dtype=np.intp)
        combos = combos.reshape(len(combos), rest[0])
        firsts = scores[remaining[combos]].sum(axis=1)
        if len(rest) == 2:
            return firsts.reshape(-1, 1)
        blocks = []
        for row, total in zip(combos, firsts, strict=True):
            sub = expand(np.delete(remaining, row), rest[1:])
            blocks.append(np.column_stack((np.full(len(sub), total), sub)))
        return np.concatenate(blocks)

    return expand(np.arange(len(scores)), sizes)


def exact_pvalue(scores: np.ndarray, codes: np.ndarray, k: int) -> float:
    """Share of all assignments of the group labels whose statistic is at least the observed.

    Parameters
    ----------
    scores : ndarray
        Log-rank scores (:func:`logrank_scores`).
    codes : ndarray of int
        Group code 0..k-1 of each subject (every group non-empty).
    k : int
        Number of groups.

    Returns
    -------
    float
        The exact p-value (two-sided with 2 groups), as ``coin``'s ``distribution = "exact"``.

    Raises
    ------
    EstimationError
        Too many subjects or assignments to list (use the permutation p-value).
    """
    if k == 2:
        return _exact_two(scores, codes)
    sizes = np.bincount(codes, minlength=k)
    n_assign = math.factorial(len(codes)) // math.prod(math.factorial(int(s)) for s in sizes)
    if n_assign > MAX_ASSIGNMENTS:
        raise EstimationError(
            f"an exact {k}-group p-value lists {n_assign:,} assignments of the labels, more "
            f"than {MAX_ASSIGNMENTS:,}: use method='permutation'"
        )
    # the largest group last: it is the one left over, so the fewest Python-level loops
    order = np.argsort(sizes, kind="stable")
    recode = np.empty(k, dtype=np.intp)
    recode[order] = np.arange(k)
    new_codes = recode[codes]
    new_sizes = sizes[order].astype(float)
    expect, prec = _precision(scores, new_sizes)
    observed = quadratic_statistic(scores, new_codes, k)
    forms = _forms(_assignment_sums(scores, [int(s) for s in new_sizes]), expect, prec)
    return float(np.mean(forms >= observed * (1 - _REL_TOL) - 1e-12))


def permutation_pvalue(
    scores: np.ndarray, codes: np.ndarray, k: int, *, n_resamples: int, seed: int | None
) -> float:
    """Monte Carlo permutation p-value: ``(1 + b) / (1 + B)`` over ``B`` random assignments.

    Parameters
    ----------
    scores : ndarray
        Log-rank scores (:func:`logrank_scores`).
    codes : ndarray of int
        Group code 0..k-1 of each subject.
    k : int
        Number of groups.
    n_resamples : int
        Random assignments ``B``.
    seed : int, optional
        Seed of numpy's default generator (the same seed, the same p-value).

    Returns
    -------
    float
        ``b`` counts the assignments with a statistic at least the observed; adding one to
        both counts (Phipson and Smyth 2010) keeps the p-value valid and never 0, where
        coin's ``approximate()`` reports ``b / B``.
    """
    rng = np.random.default_rng(seed)
    sizes = np.bincount(codes, minlength=k).astype(float)
    expect, prec = _precision(scores, sizes)
    observed = quadratic_statistic(scores, codes, k)
    n = len(codes)
    count = 0
    chunk = max(1, 2_000_000 // max(n, 1))
    done = 0
    while done < n_resamples:
        b = min(chunk, n_resamples - done)
        perm = rng.permuted(np.tile(codes, (b, 1)), axis=1)
        flat = (np.arange(b)[:, None] * k + perm).ravel()
        sums = np.bincount(flat, weights=np.tile(scores, b), minlength=b * k).reshape(b, k)
        forms = _forms(sums[:, :-1], expect, prec)
        count += int(np.sum(forms >= observed * (1 - _REL_TOL) - 1e-12))
        done += b
    return (1 + count) / (1 + n_resamples)
