"""Delta adjustment and tipping points: how far from MAR must missing values be to change a
conclusion (van Buuren, *Flexible Imputation of Missing Data*, 2018, section 9.2; Carpenter
and Kenward, *Multiple Imputation and its Application*, 2013, chapter 10).

Multiple imputation assumes the missing values are missing at random (MAR): given what was
observed, the missing look like the observed. A delta adjustment asks what happens when they
do not: the imputations of one column are shifted by ``delta`` (for a binary flag, ``delta``
is added to the log odds of its imputation model, so ``exp(delta)`` is the odds ratio of the
flag among the missing against the observed with the same covariates; for a number, the
imputed values are shifted by ``delta``), the completed datasets are analysed and pooled by
Rubin's rules, and this is repeated over a grid of deltas. ``delta = 0`` is plain MAR
imputation. The *tipping point* is the delta, nearest to 0 on each side, at which the
conclusion drawn at ``delta = 0`` no longer holds:

- ``criterion="estimate"``: the pooled estimate lies at or above the threshold, or below it
  (an arm's mortality against a cited 12%, a hazard ratio against 1);
- ``criterion="ci"``: the confidence interval lies wholly above the threshold, includes it,
  or lies wholly below it (a difference "significant" under MAR that stops being so).

Every delta is imputed with the same seed (common random numbers), so the estimates move
smoothly with delta and the differences between deltas are due to delta, not to a new draw.
A tipping point is a value of the grid; :attr:`TippingPointResult.interpolated_below` and
``_above`` give the linear interpolation between it and its neighbour towards 0, a finer
figure to quote with the grid it came from. Whether a tipping point is plausible is a judgement
about the data, not a statistic: quote it with what a delta of that size means (the odds ratio
``exp(delta)``) and the range thought plausible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats._checks import check_choice
from dah_outcomes.stats.imputation import impute_chained
from dah_outcomes.stats.pooling import PooledEstimate

__all__ = [
    "TIPPING_CRITERIA",
    "TippingPointResult",
    "check_deltas",
    "delta_sensitivity",
    "summarise_tipping_point",
]

#: What a conclusion is, per criterion (the labels :attr:`TippingPointResult.conclusion` holds).
TIPPING_CRITERIA: dict[str, str] = {
    "estimate": "the pooled estimate lies at or above the threshold ('above') or below it "
    "('below')",
    "ci": "the confidence interval lies wholly above the threshold ('above'), includes it "
    "('includes') or lies wholly below it ('below')",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TippingPointResult(ResultMixin):
    """Pooled estimates over a grid of deltas, and where the MAR conclusion tips.

    Attributes
    ----------
    column : str
        The column whose imputations were shifted.
    term : str
        The pooled quantity (a term of the pooled estimates).
    deltas : ndarray
        The grid, ascending, 0 included.
    estimate, ci_lower, ci_upper : ndarray
        Pooled estimate and confidence interval per delta, on the quantity's own scale (a
        proportion, a hazard ratio: the pooled ``value``).
    fmi : ndarray
        Fraction of missing information per delta.
    conclusion : tuple of str
        The conclusion per delta (labels of :data:`TIPPING_CRITERIA`).
    crosses : ndarray of bool
        Whether the conclusion differs from the one at ``delta = 0``.
    threshold : float
        The figure the conclusion is drawn against.
    criterion : str
        Key of :data:`TIPPING_CRITERIA`.
    reference : str
        The conclusion at ``delta = 0`` (MAR).
    tipping_point_below, tipping_point_above : float or None
        The grid delta nearest to 0 below (above) it at which the conclusion changes; None
        when no delta of the grid on that side changes it.
    interpolated_below, interpolated_above : float or None
        The delta where the quantity that decides the conclusion (the estimate, or the CI
        bound that crossed) meets the threshold, interpolated linearly between the tipping
        point and its neighbour towards 0; None with no tipping point.
    m : int
        Imputations per delta.
    seed : int or None
        Seed of the imputations (the same for every delta); None when not known.
    conf_level : float
        Confidence level of the intervals.
    warnings : tuple of str
        Warnings the analysis gave.
    """

    column: str
    term: str
    deltas: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    ci_lower: np.ndarray = field(repr=False)
    ci_upper: np.ndarray = field(repr=False)
    fmi: np.ndarray = field(repr=False)
    conclusion: tuple[str, ...] = field(repr=False)
    crosses: np.ndarray = field(repr=False)
    threshold: float
    criterion: str
    reference: str
    tipping_point_below: float | None
    tipping_point_above: float | None
    interpolated_below: float | None
    interpolated_above: float | None
    m: int
    seed: int | None
    conf_level: float
    warnings: tuple[str, ...] = ()

    @property
    def tipping_point(self) -> float | None:
        """The tipping point nearest to ``delta = 0`` (either side; the positive one on a
        tie), or None when no delta of the grid changes the conclusion."""
        found = [d for d in (self.tipping_point_above, self.tipping_point_below) if d is not None]
        return min(found, key=abs) if found else None

    @property
    def summary(self) -> str:
        """The finding in one sentence (what a report or notebook quotes)."""
        lo, hi = float(self.deltas[0]), float(self.deltas[-1])
        what = f"{self.term} ({self.criterion} against {self.threshold:g})"
        if self.tipping_point is None:
            return (
                f"No delta in [{lo:g}, {hi:g}] on {self.column} changes the conclusion under "
                f"MAR ({self.reference}) for {what}: it holds over the whole grid."
            )
        parts = []
        for side, grid, fine in (
            ("below", self.tipping_point_below, self.interpolated_below),
            ("above", self.tipping_point_above, self.interpolated_above),
        ):
            if grid is not None:
                k = int(np.flatnonzero(self.deltas == grid)[0])
                parts.append(
                    f"delta = {grid:g} (odds ratio {math.exp(grid):.2g} on a flag; about "
                    f"{fine:.2g} interpolated) makes it '{self.conclusion[k]}'"
                )
            else:
                end = lo if side == "below" else hi
                parts.append(f"no delta {side} 0 (to {end:g}) changes it")
        return f"Under MAR {what} is '{self.reference}'; " + "; ".join(parts) + "."

    def to_frame(self) -> pd.DataFrame:
        """One row per delta: estimate, CI, conclusion, whether it crosses, and the FMI."""
        return pd.DataFrame(
            {
                "delta": self.deltas,
                "estimate": self.estimate,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "conclusion": list(self.conclusion),
                "crosses": self.crosses,
                "fmi": self.fmi,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The grid, the estimates and the tipping points, JSON-safe."""
        out = ResultMixin.to_dict(self)
        out.update(
            deltas=self.deltas.tolist(),
            estimate=self.estimate.tolist(),
            ci_lower=self.ci_lower.tolist(),
            ci_upper=self.ci_upper.tolist(),
            fmi=self.fmi.tolist(),
            conclusion=list(self.conclusion),
            crosses=self.crosses.tolist(),
            tipping_point=self.tipping_point,
            summary=self.summary,
        )
        return out

    def _title(self) -> str:
        return f"Tipping-point analysis of {self.term}: delta on {self.column}, m = {self.m}"


# ------------------------------------------------------------------------------ the grid


def check_deltas(deltas: Any) -> np.ndarray:
    """The grid of deltas, ascending, with 0 added when absent.

    Parameters
    ----------
    deltas : array_like
        Finite numbers, each once.

    Returns
    -------
    ndarray
        The sorted grid, 0 included (the MAR reference every conclusion is judged against).

    Raises
    ------
    ArgumentError
        For an empty grid, a value that is not a finite number, or a value given twice.
    """
    if isinstance(deltas, str | bytes) or np.ndim(deltas) != 1:
        raise ArgumentError(f"deltas must be a 1-d sequence of numbers, got {deltas!r}")
    try:
        grid = np.asarray(deltas, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"deltas must be numbers, got {deltas!r}") from exc
    if not len(grid) or not np.isfinite(grid).all():
        raise ArgumentError(f"deltas must be a non-empty grid of finite numbers, got {deltas!r}")
    if len(np.unique(grid)) != len(grid):
        raise ArgumentError(f"deltas must each be given once, got {grid.tolist()}")
    return np.unique(np.append(grid, 0.0))


def _side(value: float, threshold: float) -> str:
    return "above" if value >= threshold else "below"


def _conclusions(
    estimate: np.ndarray, lower: np.ndarray, upper: np.ndarray, threshold: float, criterion: str
) -> list[str]:
    if criterion == "estimate":
        return [_side(e, threshold) for e in estimate]
    return [
        "above" if lo > threshold else "below" if hi < threshold else "includes"
        for lo, hi in zip(lower, upper, strict=True)
    ]


def _deciding(criterion: str, reference: str, tipped: str) -> str:
    """Which quantity's crossing of the threshold changed the conclusion."""
    if criterion == "estimate":
        return "estimate"
    if reference == "includes":
        return "ci_lower" if tipped == "above" else "ci_upper"
    return "ci_lower" if reference == "above" else "ci_upper"


def _interpolate(d0: float, d1: float, q0: float, q1: float, threshold: float) -> float:
    if q1 == q0 or not (math.isfinite(q0) and math.isfinite(q1)):
        return d1
    return float(d0 + (threshold - q0) * (d1 - d0) / (q1 - q0))


def summarise_tipping_point(
    pooled: Mapping[float, PooledEstimate],
    *,
    threshold: float,
    criterion: str = "estimate",
    term: str | None = None,
    column: str = "",
    seed: int | None = None,
    warnings: Sequence[str] = (),
) -> TippingPointResult:
    """Find where the MAR conclusion tips, from pooled estimates already made per delta.

    Use this when the imputation is done elsewhere (a cohort imputed by the analyses
    layer); :func:`delta_sensitivity` imputes a data frame and calls it.

    Parameters
    ----------
    pooled : mapping of float to PooledEstimate
        The pooled estimate at each delta of the grid; ``0`` (MAR) must be among them.
    threshold : float
        The figure the conclusion is drawn against (a cited mortality, 1 for a ratio).
    criterion : {"estimate", "ci"}, default "estimate"
        What a conclusion is (see :data:`TIPPING_CRITERIA`).
    term : str, optional
        The term of the pooled estimates judged; required when they have several.
    column : str, default ""
        Name of the column whose imputations were shifted (for the result's text).
    seed : int, optional
        Seed of the imputations, recorded on the result.
    warnings : sequence of str, default ()
        Warnings given while imputing, recorded on the result.

    Returns
    -------
    TippingPointResult

    Raises
    ------
    ArgumentError
        For a grid without 0, estimates of different terms or imputations, an unknown or
        ambiguous ``term``, or a threshold that is not a finite number.
    """
    check_choice("criterion", criterion, TIPPING_CRITERIA)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        raise ArgumentError(f"threshold must be a finite number, got {threshold!r}")
    if not math.isfinite(float(threshold)):
        raise ArgumentError(f"threshold must be a finite number, got {threshold!r}")
    threshold = float(threshold)
    if not pooled or not all(isinstance(p, PooledEstimate) for p in pooled.values()):
        raise ArgumentError("pooled must map each delta to a PooledEstimate")
    grid = check_deltas(list(pooled))
    if len(grid) != len(pooled):
        raise ArgumentError("pooled must hold delta 0 (MAR), the reference of the conclusions")
    ests = [pooled[d] for d in sorted(pooled)]
    terms, m = ests[0].terms, ests[0].m
    if any(p.terms != terms or p.m != m for p in ests):
        raise ArgumentError("the pooled estimates must share their terms and imputations")
    if term is None:
        if len(terms) != 1:
            raise ArgumentError(f"name the term to judge: the estimates have {list(terms)}")
        term = terms[0]
    if term not in terms:
        raise ArgumentError(f"term {term!r} is not among the pooled terms {list(terms)}")
    j = terms.index(term)
    est = np.array([float(p.value[j]) for p in ests])
    lower = np.array([float(p.value_ci_lower[j]) for p in ests])
    upper = np.array([float(p.value_ci_upper[j]) for p in ests])
    conclusion = _conclusions(est, lower, upper, threshold, criterion)
    zero = int(np.flatnonzero(grid == 0.0)[0])
    reference = conclusion[zero]
    crosses = np.array([c != reference for c in conclusion])
    series = {"estimate": est, "ci_lower": lower, "ci_upper": upper}
    found: dict[str, tuple[float | None, float | None]] = {}
    for side, order in (("below", range(zero - 1, -1, -1)), ("above", range(zero + 1, len(grid)))):
        found[side] = (None, None)
        previous = zero
        for k in order:  # outward from 0: the first delta that changes the conclusion
            if crosses[k]:
                q = series[_deciding(criterion, reference, conclusion[k])]
                fine = _interpolate(grid[previous], grid[k], q[previous], q[k], threshold)
                found[side] = (float(grid[k]), fine)
                break
            previous = k
    return TippingPointResult(
        column=column,
        term=term,
        deltas=grid,
        estimate=est,
        ci_lower=lower,
        ci_upper=upper,
        fmi=np.array([float(p.fmi[j]) for p in ests]),
        conclusion=tuple(conclusion),
        crosses=crosses,
        threshold=threshold,
        criterion=criterion,
        reference=reference,
        tipping_point_below=found["below"][0],
        tipping_point_above=found["above"][0],
        interpolated_below=found["below"][1],
        interpolated_above=found["above"][1],
        m=m,
        seed=seed,
        conf_level=float(ests[0].conf_level),
        warnings=tuple(warnings),
    )


def delta_sensitivity(
    data: pd.DataFrame,
    *,
    column: str,
    deltas: Sequence[float],
    statistic: Callable[[Sequence[pd.DataFrame]], PooledEstimate],
    threshold: float,
    criterion: str = "estimate",
    term: str | None = None,
    columns: Sequence[str] | None = None,
    predictors: Sequence[str] | None = None,
    m: int = 20,
    iterations: int = 10,
    seed: int = 0,
    methods: Mapping[str, str] | None = None,
) -> TippingPointResult:
    """Impute a data frame with each delta on one column, pool, and find the tipping point.

    Parameters
    ----------
    data : DataFrame
        The data with missing values.
    column : str
        The column whose imputations are shifted (a binary flag: ``delta`` on its log odds;
        a number: on its values). It must be among ``columns``.
    deltas : sequence of float
        The grid; 0 (MAR) is added when absent.
    statistic : callable
        Takes the ``m`` completed datasets of one delta and returns their
        :class:`~dah_outcomes.stats.pooling.PooledEstimate` (e.g. counts pooled by
        :func:`~dah_outcomes.stats.pooling.pool_proportions`, Cox fits by ``pool_cox``).
    threshold : float
        The figure the conclusion is drawn against.
    criterion : {"estimate", "ci"}, default "estimate"
        What a conclusion is (see :data:`TIPPING_CRITERIA`).
    term : str, optional
        The pooled term judged; required when ``statistic`` pools several.
    columns : sequence of str, optional
        Columns to impute (by default ``[column]``), as
        :func:`~dah_outcomes.stats.imputation.impute_chained`'s.
    predictors : sequence of str, optional
        Complete columns used as predictors only (the outcome belongs here: imputing without
        it biases its association with the imputed column towards none).
    m : int, default 20
        Imputations per delta.
    iterations : int, default 10
        Iterations of the chained equations.
    seed : int, default 0
        Seed of the imputations, the same for every delta (common random numbers): the
        same seed gives the same result, and ``delta = 0`` equals ``impute_chained`` with
        this seed.
    methods : mapping of str to str, optional
        Imputation method per column (``impute_chained``'s defaults otherwise).

    Returns
    -------
    TippingPointResult

    Raises
    ------
    ArgumentError
        When ``column`` is not among ``columns``, ``statistic`` does not return a
        PooledEstimate, or as :func:`summarise_tipping_point` and ``impute_chained``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dah_outcomes.stats.pooling import pool_proportions
    >>> rng = np.random.default_rng(3)
    >>> flag = pd.array(np.where(rng.random(300) < 0.2, None, rng.random(300) < 0.4),
    ...                 dtype="boolean")
    >>> data = pd.DataFrame({"flag": flag, "x": rng.normal(size=300)})
    >>> share = lambda sets: pool_proportions([int(d["flag"].sum()) for d in sets], len(data))
    >>> res = delta_sensitivity(data, column="flag", deltas=[-2, 2], statistic=share,
    ...                         threshold=0.5, predictors=["x"], m=5, iterations=3)
    >>> res.deltas.tolist(), res.reference
    ([-2.0, 0.0, 2.0], 'below')
    """
    cols = [column] if columns is None else [str(c) for c in columns]
    if column not in cols:
        raise ArgumentError(f"column {column!r} must be among the columns imputed {cols}")
    if not callable(statistic):
        raise ArgumentError("statistic must be a function of the completed datasets")
    grid = check_deltas(deltas)
    pooled: dict[float, PooledEstimate] = {}
    for d in grid:
        imputed = impute_chained(
            data,
            columns=cols,
            predictors=predictors,
            m=m,
            iterations=iterations,
            seed=seed,
            methods=methods,
            delta={column: float(d)} if d else None,
        )
        result = statistic(list(imputed))
        if not isinstance(result, PooledEstimate):
            raise ArgumentError(
                f"statistic must return a PooledEstimate (pool the completed datasets with "
                f"dah_outcomes.stats.pooling), got {type(result).__name__}"
            )
        pooled[float(d)] = result
    return summarise_tipping_point(
        pooled, threshold=threshold, criterion=criterion, term=term, column=column, seed=seed
    )
