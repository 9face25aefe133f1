"""The one adjustment-set definition for adjusted models of death from first DAH onset.

Every adjusted analysis (hazard ratios by group, treatment effects) takes its covariates from
here: the names an adjustment may use (:data:`COVARIATES`), the default set
(:data:`DEFAULT_ADJUSTMENT`), how each is coded, why one asked for is left out, and how
patients missing a used covariate are counted and announced. So a methods text can quote
exactly what a model used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import INDEX_COVARIATES
from dah_outcomes.endpoints.grouping import GROUPINGS, attach_group
from dah_outcomes.errors import ArgumentError, DroppedRowsWarning, warn

__all__ = [
    "COVARIATES",
    "DEFAULT_ADJUSTMENT",
    "adjustment_covariates",
    "check_adjustment",
    "complete_cases",
]

#: Every covariate an adjustment set may name: the index-episode flags and the groupings of
#: :data:`~dah_outcomes.endpoints.GROUPINGS` (dummy-coded against their first group).
COVARIATES: Mapping[str, str] = MappingProxyType(
    {**INDEX_COVARIATES, **{name: g.label for name, g in GROUPINGS.items()}}
)

#: The adjustment set of the hazard ratios of death (the report's, unless told otherwise):
#: the markers of severity that drive both the choice of treatment and death, and the era,
#: in which treatment and survival both changed.
DEFAULT_ADJUSTMENT: tuple[str, ...] = ("severe", "infection", "mechanical_ventilation", "era")

# Why a covariate asked for is not in the model (the values of HazardRatios.not_adjusted).
_IS_GROUPING = "it is the grouping compared"
_ABSENT = "not recorded in this cohort"
_ALL_MISSING = "no value recorded"
_CONSTANT = "the same value for every patient"


def check_adjustment(adjust_for: Sequence[str]) -> tuple[str, ...]:
    """The adjustment set asked for, checked: known covariate names, each once.

    Parameters
    ----------
    adjust_for : sequence of str
        Names of :data:`COVARIATES`.

    Returns
    -------
    tuple of str
        The names in order, without repeats.

    Raises
    ------
    ArgumentError
        For a string instead of a sequence, or an unknown name.
    """
    if isinstance(adjust_for, str) or not isinstance(adjust_for, Sequence):
        raise ArgumentError(
            "adjust_for must be a sequence of covariate names (e.g. ('severe', 'era')), got "
            f"{adjust_for!r}"
        )
    unknown = [c for c in adjust_for if c not in COVARIATES]
    if unknown:
        raise ArgumentError(f"adjust_for may name {list(COVARIATES)}; unknown: {unknown}")
    return tuple(dict.fromkeys(adjust_for))


def adjustment_covariates(
    frame: pd.DataFrame,
    cohort: Cohort,
    asked: tuple[str, ...],
    *,
    by: str | None = None,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Code each covariate asked for in a per-patient frame, and say why any cannot be used.

    Parameters
    ----------
    frame : DataFrame
        One row per patient, from :func:`~dah_outcomes.endpoints.frames.death_frame` (or a
        frame built on it).
    cohort : Cohort
        The cohort the frame was built from.
    asked : tuple of str
        The adjustment set (from :func:`check_adjustment`).
    by : str, optional
        The grouping compared, if any (it cannot adjust for itself).
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.

    Returns
    -------
    frame : DataFrame
        A copy with each usable covariate coded for the model (flags as 0/1 floats with
        NaN where missing, groupings as categoricals).
    used : list of str
        The covariates the model can use, in order.
    left_out : dict of str to str
        Each other covariate asked for, with the reason.
    """
    used: list[str] = []
    left_out: dict[str, str] = {}
    for c in asked:
        if c == by:
            left_out[c] = _IS_GROUPING
            continue
        if c in GROUPINGS:
            column = GROUPINGS[c].patients_column
            if column is not None and column not in cohort.patients.columns:
                left_out[c] = _ABSENT
                continue
            frame = attach_group(frame, cohort, c, arms=arms, eras=eras)
            # a grouping's "Unknown" is a level of its own, not a missing value
            values = frame[c]
        elif c not in frame.columns:
            left_out[c] = _ABSENT
            continue
        else:
            # a validated flag: boolean, or object holding True/False/NA where some are missing
            values = pd.Series(
                frame[c].astype("boolean").astype("Float64").to_numpy(float, na_value=np.nan),
                index=frame.index,
            )
            frame = frame.assign(**{c: values})
        known = values.dropna()
        if known.empty:
            left_out[c] = _ALL_MISSING
        elif known.nunique() < 2:
            left_out[c] = _CONSTANT
        else:
            used.append(c)
    return frame, used, left_out


def complete_cases(
    frame: pd.DataFrame, required: Sequence[str], covariates: Sequence[str], *, what: str
) -> tuple[pd.DataFrame, int]:
    """The rows with every column used, counting and announcing the others.

    Parameters
    ----------
    frame : DataFrame
        The analysis frame.
    required : sequence of str
        Columns every row has (time, event, the compared variable).
    covariates : sequence of str
        The adjustment covariates used.
    what : str
        The analysis, named in the warning.

    Returns
    -------
    data : DataFrame
        The complete rows of ``required`` and ``covariates``.
    n_dropped : int
        Rows left out.

    Warns
    -----
    DroppedRowsWarning
        When rows are left out.
    """
    columns = [*required, *covariates]
    complete = frame[columns].notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    if n_dropped:
        warn(
            f"{what}: {n_dropped} of {len(frame)} patients left out for a missing value "
            f"in one of {list(covariates)} (counted in n_dropped); fill the values, or leave "
            "the covariate out of adjust_for",
            DroppedRowsWarning,
        )
    return frame.loc[complete, columns], n_dropped
