"""The one ``by`` vocabulary: the ways DAH patients are grouped, and the labels they get.

Every analysis that compares groups (rates, survival, recurrence, hazard ratios, Table 1, the
report and each command's ``--by``) takes its grouping from :data:`GROUPINGS` and its labels
from :func:`attach_group`, so the choices, the label of a patient, the order of the groups and
the error for a bad ``by`` are the same everywhere.

A patient is grouped by the first (index) DAH episode:

======  ================================================  ========================================
by      where the label comes from                        order of the groups
======  ================================================  ========================================
arm     the arm definition applied to the index episode   the arm definition's order
era     the era definition applied to its onset date      the era definition's order
site    the patients table's ``site`` column              sorted
sex     the patients table's ``sex`` column               sorted
======  ================================================  ========================================

A missing label (a flag unknown before any arm rule matched, no onset date, no site or sex
recorded, or sex recorded as ``"unknown"``) is ``"Unknown"``, always the last group.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    UNKNOWN,
    ArmDefinition,
    EraDefinition,
    arm_order,
)
from dah_outcomes.errors import ArgumentError

__all__ = ["BY_CHOICES", "GROUPINGS", "UNKNOWN", "Grouping", "attach_group", "check_by"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grouping:
    """One way of grouping DAH patients.

    Attributes
    ----------
    name : str
        The ``by`` value (``"arm"``).
    label : str
        The grouping in words (``"treatment arm"``), for headings and methods text.
    patients_column : str or None
        Column of the cohort's patients table the label is read from; None when the label is
        derived from the index episode (it is then a column of
        :func:`~dah_outcomes.endpoints.frames.patient_outcomes`).
    source : str
        Where the label comes from, in words (quoted in the report's methods section).
    order : str
        How the groups are ordered, in words.
    """

    name: str
    label: str
    patients_column: str | None
    source: str
    order: str


#: The ``by`` vocabulary, in the order the choices are listed.
GROUPINGS: Mapping[str, Grouping] = MappingProxyType(
    {
        g.name: g
        for g in (
            Grouping(
                name="arm",
                label="treatment arm",
                patients_column=None,
                source="the ordered arm definition applied to the treatment flags of the "
                "index episode (or the episodes' arm column when it is filled)",
                order="the arm definition's order",
            ),
            Grouping(
                name="era",
                label="era of onset",
                patients_column=None,
                source="the era definition applied to the onset date of the index episode",
                order="the era definition's (chronological) order",
            ),
            Grouping(
                name="site",
                label="site",
                patients_column="site",
                source="the site recorded in the patients table",
                order="sorted",
            ),
            Grouping(
                name="sex",
                label="sex",
                patients_column="sex",
                source="the sex recorded in the patients table",
                order="sorted",
            ),
        )
    }
)

#: The allowed ``by`` values (every command's ``--by`` choices).
BY_CHOICES: tuple[str, ...] = tuple(GROUPINGS)

# Values of a patients-table column that mean "not recorded" (the schema allows sex "unknown").
_NOT_RECORDED = frozenset({"unknown"})


def check_by(by: object) -> str:
    """``by`` if it names a grouping of :data:`GROUPINGS`.

    Parameters
    ----------
    by : str
        The grouping asked for.

    Returns
    -------
    str
        ``by`` itself.

    Raises
    ------
    ArgumentError
        ``by must be one of ['arm', 'era', 'site', 'sex'], got ...`` (with the closest choice
        when there is one).
    """
    if isinstance(by, str) and by in GROUPINGS:
        return by
    close = difflib.get_close_matches(str(by), BY_CHOICES, n=1) if isinstance(by, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ArgumentError(f"by must be one of {list(BY_CHOICES)}, got {by!r}{hint}")


def _order(labels: Iterable[str], by: str, arms: ArmDefinition, eras: EraDefinition) -> list[str]:
    present = set(labels)
    known = present - {UNKNOWN}
    if by == "arm":
        order = arm_order(sorted(known), arms)
    elif by == "era":
        declared = [e for e in eras.labels if e in known]
        order = declared + sorted(known - set(declared))
    else:
        order = sorted(known)
    # "Unknown" last, so that it is never the reference group of a comparison
    return order + ([UNKNOWN] if UNKNOWN in present else [])


def attach_group(
    frame: pd.DataFrame,
    cohort: Cohort,
    by: str,
    *,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
) -> pd.DataFrame:
    """A copy of a per-patient frame with the ``by`` group of each patient as a categorical.

    Parameters
    ----------
    frame : DataFrame
        One row per DAH patient with ``patient_id``, ``arm`` and ``era``: the frame of
        :func:`~dah_outcomes.endpoints.frames.patient_outcomes` (or of ``death_frame`` /
        ``recurrence_frame``, built on it). Not modified.
    cohort : Cohort
        The cohort the frame was built from (site and sex are read from its patients table).
    by : {"arm", "era", "site", "sex"}
        The grouping (see :data:`GROUPINGS`).
    arms, eras : ArmDefinition, EraDefinition
        The definitions the frame was built with; they order the arm and era groups.

    Returns
    -------
    DataFrame
        ``frame`` with column ``by`` (added, or replaced for ``arm`` and ``era``) holding a
        categorical of string labels whose categories are the groups present, in the
        vocabulary's order, ``"Unknown"`` last. Estimators keep a categorical's level order, so
        curves, tables and the reference level of a model follow it.

    Raises
    ------
    ArgumentError
        For an unknown ``by``, or when the column the grouping needs is missing.

    Examples
    --------
    >>> from dah_outcomes import generate_cohort, patient_outcomes
    >>> cohort = generate_cohort(n_sle=5_000, seed=1)
    >>> grouped = attach_group(patient_outcomes(cohort), cohort, "era")
    >>> list(grouped["era"].cat.categories)
    ['historical', 'modern']
    """
    grouping = GROUPINGS[check_by(by)]
    column = grouping.patients_column
    needed = ["patient_id"] if column is not None else ["patient_id", by]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise ArgumentError(
            f"cannot group by {by!r}: the frame has no {absent[0]!r} column; pass a per-patient "
            "frame from patient_outcomes, death_frame or recurrence_frame"
        )
    if column is None:
        labels = frame[by].astype("string").fillna(UNKNOWN)
    else:
        patients = cohort.patients
        if column not in patients.columns:
            others = [g for g in BY_CHOICES if g != by]
            raise ArgumentError(
                f"cannot group by {by!r}: the cohort's patients table has no {column!r} "
                f"column; add it to the cohort, or group by one of {others}"
            )
        values = patients.set_index("patient_id")[column].astype("string")
        values = values.mask(values.str.lower().isin(_NOT_RECORDED))
        labels = pd.Series(
            values.reindex(frame["patient_id"]).to_numpy(), index=frame.index, dtype="string"
        ).fillna(UNKNOWN)
    labels = labels.astype(str)
    categories = _order(labels.unique(), by, arms, eras)
    return frame.assign(**{by: pd.Categorical(labels, categories=categories)})
