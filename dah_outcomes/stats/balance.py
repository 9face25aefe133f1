"""Covariate balance between arms: standardised mean differences before and after weighting.

The standardised mean difference of arms ``a`` and ``b`` is the (weighted) difference in means
over the pooled standard deviation of the *unweighted* arms, ``sqrt((s_a^2 + s_b^2) / 2)``, as
R's ``cobalt`` computes it by default (and ``tableone`` without weights): the denominator stays
the same before and after weighting, so a change in the SMD is a change in the means. A binary
covariate's variance is ``p (1 - p)``, a continuous one's the sample variance (``n - 1``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._cox_engine import design_matrix
from dah_outcomes.stats.propensity import arm_codes

__all__ = ["BalanceTable", "balance_table", "standardised_difference"]


def standardised_difference(
    a: np.ndarray,
    b: np.ndarray,
    *,
    binary: bool,
    weights_a: np.ndarray | None = None,
    weights_b: np.ndarray | None = None,
) -> float:
    """Standardised mean difference of ``a`` minus ``b`` (signed).

    Parameters
    ----------
    a, b : ndarray
        The covariate's values in the two arms.
    binary : bool
        Whether the covariate is 0/1 (variance ``p (1 - p)``) or continuous (sample
        variance).
    weights_a, weights_b : ndarray, optional
        Weights of the means (unweighted when omitted); the denominator is always the
        unweighted arms' pooled SD.

    Returns
    -------
    float
        NaN for an empty arm (or a one-patient arm of a continuous covariate); infinite when
        the covariate is constant within both arms but differs between them.
    """
    if len(a) == 0 or len(b) == 0 or (not binary and (len(a) < 2 or len(b) < 2)):
        return float("nan")
    if binary:
        pa, pb = a.mean(), b.mean()
        var_a, var_b = pa * (1 - pa), pb * (1 - pb)
    else:
        var_a, var_b = a.var(ddof=1), b.var(ddof=1)
    diff = float(np.average(a, weights=weights_a) - np.average(b, weights=weights_b))
    denom = float(np.sqrt((var_a + var_b) / 2))
    if denom == 0:
        return 0.0 if abs(diff) < 1e-12 else float(np.sign(diff) * np.inf)
    return diff / denom


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceTable(ResultMixin):
    """Standardised mean differences between arms, before and after weighting.

    Attributes
    ----------
    pairs : DataFrame
        One row per covariate term and pair of arms: ``term, binary, arm, comparator,
        mean_arm, mean_comparator`` (weighted), ``smd_unweighted, smd_weighted`` (signed,
        arm minus comparator).
    arms : tuple of str
        The arms, in order.
    weighted : bool
        Whether weights were given (otherwise the weighted columns repeat the unweighted).
    """

    pairs: pd.DataFrame = field(repr=False)
    arms: tuple[str, ...]
    weighted: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per term: the largest absolute SMD over the pairs of arms, before and after
        weighting (as ``cobalt`` summarises more than two arms)."""
        p = self.pairs.assign(
            abs_unweighted=self.pairs["smd_unweighted"].abs(),
            abs_weighted=self.pairs["smd_weighted"].abs(),
        )
        g = p.groupby("term", sort=False)
        return pd.DataFrame(
            {
                "term": list(g.groups),
                "binary": g["binary"].first().to_numpy(),
                "max_smd_unweighted": g["abs_unweighted"].max().to_numpy(),
                "max_smd_weighted": g["abs_weighted"].max().to_numpy(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary and the pairs (JSON-safe).

        Returns
        -------
        dict
            ``arms, weighted, terms`` (rows of :meth:`to_frame`), ``pairs``.
        """
        return json_safe(
            {
                "arms": list(self.arms),
                "weighted": self.weighted,
                "terms": self.to_frame(),
                "pairs": self.pairs,
            }
        )

    def _title(self) -> str:
        return (
            f"Balance over {len(self.arms)} arms ({'weighted' if self.weighted else 'unweighted'})"
        )


def balance_table(
    data: pd.DataFrame,
    *,
    treatment: str,
    covariates: Sequence[str],
    weights: np.ndarray | None = None,
) -> BalanceTable:
    """Standardised mean differences of each covariate between every pair of arms.

    Parameters
    ----------
    data : DataFrame
        One row per patient. A covariate's missing values leave that patient out of that
        covariate's rows only.
    treatment : str
        Column of arm labels (a categorical's order kept, else sorted).
    covariates : sequence of str
        Numbers, flags or categories (dummy-coded against the first level); a term whose
        values are all 0 or 1 is binary.
    weights : ndarray, optional
        One weight per row (e.g. :attr:`PropensityWeights.weights`).

    Returns
    -------
    BalanceTable

    Raises
    ------
    ArgumentError
        For missing arm labels, fewer than two arms or weights of the wrong length.
    """
    if data[treatment].isna().any():
        raise ArgumentError(f"missing values in {treatment!r}: drop them first")
    codes, arms = arm_codes(data[treatment])
    if len(arms) < 2:
        raise ArgumentError(f"balance needs at least two arms, got {list(arms)}")
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(data):
        raise ArgumentError(f"weights has {len(w)} values for {len(data)} rows")
    rows = []
    for c in covariates:
        known = data[c].notna().to_numpy()
        x, names = design_matrix(data.loc[known, [c]], [c])
        arm, wk = codes[known], w[known]
        for j, term in enumerate(names):
            v = x[:, j]
            binary = bool(np.isin(v, (0.0, 1.0)).all())
            for i, k in itertools.combinations(range(len(arms)), 2):
                a, b = arm == i, arm == k
                rows.append(
                    {
                        "term": term,
                        "binary": binary,
                        "arm": arms[i],
                        "comparator": arms[k],
                        "mean_arm": float(np.average(v[a], weights=wk[a])) if a.any() else np.nan,
                        "mean_comparator": (
                            float(np.average(v[b], weights=wk[b])) if b.any() else np.nan
                        ),
                        "smd_unweighted": standardised_difference(v[a], v[b], binary=binary),
                        "smd_weighted": standardised_difference(
                            v[a], v[b], binary=binary, weights_a=wk[a], weights_b=wk[b]
                        ),
                    }
                )
    return BalanceTable(pairs=pd.DataFrame(rows), arms=arms, weighted=weights is not None)
