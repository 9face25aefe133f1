"""The weighted Table 1: baseline characteristics by arm before and after propensity
weighting, with standardised mean differences, for judging whether the weights balance the
arms (and a love plot and an overlap plot, drawn by :mod:`dah_outcomes.plotting.balance`).

The propensity model of the arm uses the one adjustment set
(:mod:`dah_outcomes.analyses.adjustment`); balance is shown for every Table 1 variable, so
that the variables the model left out can be judged too. The treatment flags that define the
arms are shown as such (``defines arm``): every arm is 0% or 100% on them by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.adjustment import (
    DEFAULT_ADJUSTMENT,
    adjustment_covariates,
    check_adjustment,
    complete_cases,
)
from dah_outcomes.analyses.baseline import DEFAULT_VARIABLES, DEFINES_ARM, baseline_frame
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning, warn
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats.balance import BalanceTable, balance_table
from dah_outcomes.stats.propensity import PropensityWeights, propensity_weights

__all__ = ["WeightedTableOne", "weighted_table_one"]

#: The conventional threshold of an acceptable absolute SMD (drawn on the love plot).
SMD_THRESHOLD = 0.1

#: Table 1 rows that are an adjustment covariate under another name.
_MODEL_NAME = {"historical_era": "era", "female": "sex"}


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightedTableOne(ResultMixin):
    """Baseline characteristics by arm, unweighted and weighted, with SMDs.

    Attributes
    ----------
    table : DataFrame
        One row per variable: ``variable, label, kind``, per arm the unweighted and weighted
        mean (a proportion for flags) as ``<arm>`` and ``<arm> (weighted)``, ``smd_unweighted``
        and ``smd_weighted`` (largest absolute pairwise SMD, as ``cobalt`` summarises more
        than two arms; NaN for arm-defining flags), ``smd_note`` (``"defines arm"`` or empty)
        and ``in_model`` (whether the propensity model used the variable).
    weights : PropensityWeights
        The weights (scores and arm of each patient analysed, for the overlap plot).
    balance : BalanceTable
        The pairwise SMDs.
    counts : dict of str to int
        Patients per arm.
    effective_n : dict of str to float
        Kish's effective sample size per arm.
    adjusted_for : tuple of str
        The propensity model's covariates.
    not_adjusted : dict of str to str
        Covariates asked for but not used, with the reason.
    n_dropped : int
        Patients left out (unknown arm or a missing model covariate).
    threshold : float
        The SMD threshold judged against.
    fingerprint : str
        The cohort's fingerprint.
    """

    table: pd.DataFrame = field(repr=False)
    weights: PropensityWeights = field(repr=False)
    balance: BalanceTable = field(repr=False)
    counts: dict[str, int]
    effective_n: dict[str, float]
    adjusted_for: tuple[str, ...]
    not_adjusted: dict[str, str]
    n_dropped: int
    threshold: float = SMD_THRESHOLD
    fingerprint: str = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The table and the weights' summary (JSON-safe).

        Returns
        -------
        dict
            ``table, counts, effective_n, weights, adjusted_for, not_adjusted, n_dropped,
            threshold, fingerprint``.
        """
        return json_safe(
            {
                "table": self.table,
                "counts": self.counts,
                "effective_n": self.effective_n,
                "weights": self.weights,
                "adjusted_for": list(self.adjusted_for),
                "not_adjusted": dict(self.not_adjusted),
                "n_dropped": self.n_dropped,
                "threshold": self.threshold,
                "fingerprint": self.fingerprint,
            }
        )

    def _title(self) -> str:
        return (
            f"Table 1 by arm, {self.weights.estimand}-weighted "
            f"(weights on {', '.join(self.adjusted_for) or 'nothing'})"
        )


def _model_frame(
    cohort: Cohort, asked: tuple[str, ...], arms: ArmDefinition, eras: EraDefinition
) -> tuple[pd.DataFrame, list[str], dict[str, str], int]:
    """Patients of a known arm with every model covariate, indexed by id."""
    frame, used, left_out = adjustment_covariates(
        death_frame(cohort, arms=arms, eras=eras), cohort, asked, by="arm", arms=arms, eras=eras
    )
    known = frame[frame["arm"] != "Unknown"]
    data, n_dropped = complete_cases(
        known.assign(id=known["patient_id"]), ["id", "arm"], used, what="weighted_table_one"
    )
    n_unknown = len(frame) - len(known)
    if n_unknown:
        warn(
            f"weighted_table_one: {n_unknown} patients whose arm cannot be decided are left out",
            DroppedRowsWarning,
        )
    order = [a for a in arms.names if a in set(data["arm"])]
    data = data.assign(arm=pd.Categorical(data["arm"], order)).set_index("id")
    return data, used, left_out, n_dropped + n_unknown


def _row(
    col: str, label: str, kind: str, values: pd.Series, arm: pd.Series, w: np.ndarray
) -> dict[str, Any]:
    row: dict[str, Any] = {"variable": col, "label": label, "kind": kind}
    known = values.notna().to_numpy()
    v = values.to_numpy(dtype=float, na_value=np.nan)
    for a in arm.cat.categories:
        m = (arm == a).to_numpy() & known
        row[str(a)] = float(v[m].mean()) if m.any() else np.nan
        row[f"{a} (weighted)"] = float(np.average(v[m], weights=w[m])) if m.any() else np.nan
    return row


def weighted_table_one(
    cohort: Cohort,
    *,
    estimand: str = "ATE",
    reference: str | None = None,
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    stabilized: bool = True,
    truncate_quantile: float | None = None,
    truncate_at: float | None = None,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    variables: tuple[tuple[str, str, str], ...] = DEFAULT_VARIABLES,
) -> WeightedTableOne:
    """Table 1 by arm before and after propensity weighting, with SMDs.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    estimand : {"ATE", "ATT", "overlap"}, default "ATE"
        Target population of the weights (see :data:`~dah_outcomes.stats.propensity.ESTIMANDS`).
    reference : str, optional
        The ATT's reference arm.
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        Covariates of the propensity model.
    stabilized : bool, default True
        Stabilise the weights.
    truncate_quantile, truncate_at : float, optional
        Truncate the weights (see :func:`~dah_outcomes.stats.propensity.truncate_weights`).
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    variables : tuple of (column, label, kind)
        The Table 1 rows (see :func:`~dah_outcomes.analyses.baseline.table_one`).

    Returns
    -------
    WeightedTableOne

    Raises
    ------
    ArgumentError
        For an unknown covariate or estimand, or fewer than two arms.

    Warns
    -----
    DroppedRowsWarning
        When patients are left out (unknown arm, missing model covariate).
    PositivityWarning
        When the propensity scores or weights cross a positivity threshold (recorded as
        ``weights.positivity``; see
        :func:`~dah_outcomes.stats.propensity.positivity_diagnostics`).
    """
    asked = check_adjustment(adjust_for)
    data, used, left_out, n_dropped = _model_frame(cohort, asked, arms, eras)
    if data["arm"].nunique() < 2:
        raise ArgumentError("the weighted Table 1 needs patients in at least two arms")
    pw = propensity_weights(
        data,
        treatment="arm",
        confounders=used,
        estimand=estimand,
        reference=reference,
        stabilized=stabilized,
        truncate_quantile=truncate_quantile,
        truncate_at=truncate_at,
    )
    base = baseline_frame(cohort, "arm", arms=arms, eras=eras).reindex(data.index)
    present = [(c, lab, k) for c, lab, k in variables if c in base and base[c].notna().any()]
    columns = {c: base[c].astype("Float64") for c, _, _ in present}
    frame = pd.DataFrame(columns, index=data.index).assign(arm=data["arm"])
    bal = balance_table(frame, treatment="arm", covariates=list(columns), weights=pw.weights)
    summary = bal.to_frame().set_index("term")
    unweighted = summary["max_smd_unweighted"].to_dict()
    weighted = summary["max_smd_weighted"].to_dict()
    defining = {f for a in arms.arms for f in a.flags}
    rows = []
    for col, label, kind in present:
        row = _row(col, label, kind, frame[col], frame["arm"], pw.weights)
        note = DEFINES_ARM if col in defining else ""
        row["smd_unweighted"] = np.nan if note else float(unweighted[col])
        row["smd_weighted"] = np.nan if note else float(weighted[col])
        row["smd_note"] = note
        row["in_model"] = _MODEL_NAME.get(col, col) in used
        rows.append(row)
    return WeightedTableOne(
        table=pd.DataFrame(rows),
        weights=pw,
        balance=bal,
        counts={a: int((data["arm"] == a).sum()) for a in pw.arms},
        effective_n=pw.effective_sizes(),
        adjusted_for=tuple(used),
        not_adjusted=left_out,
        n_dropped=n_dropped,
        fingerprint=cohort.fingerprint,
    )
