"""How an analysis handles missing values: complete case (counted, warned above a threshold)
or multiple imputation (each completed cohort analysed, then pooled by Rubin's rules).

Every analysis with a ``missing=`` argument (``rates``, ``survival_by_group``,
``hazard_ratios``, ``treatment_effect``) records what it did in its ``missing_data`` field:

- ``"complete-case"`` (the default): the rows whose needed values are missing are counted
  (``n_incomplete`` of ``n_rows`` DAH patients, per column); when they are more than
  :data:`COMPLETE_CASE_THRESHOLD` of the rows (and at least :data:`COMPLETE_CASE_MIN_ROWS`
  patients) a :class:`~dah_outcomes.errors.MissingDataWarning`
  names the columns and counts and ``missing="mi"`` (``--missing mi``). By arm, a patient
  whose arm cannot be decided for a missing flag counts as incomplete (the "Unknown" arm is
  still reported, as without the warning).
- ``"mi"``: the number of imputations, the columns imputed and the fraction of missing
  information of each pooled estimate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts, impute_cohort
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import UNKNOWN, ArmDefinition, assign_arms
from dah_outcomes.errors import ArgumentError, DahOutcomesWarning, MissingDataWarning, WarningLog
from dah_outcomes.stats.pooling import PooledEstimate

__all__ = [
    "COMPLETE_CASE_MIN_ROWS",
    "COMPLETE_CASE_THRESHOLD",
    "MISSING_METHODS",
    "check_missing",
    "complete_case_summary",
    "each_imputation",
    "imputed_set",
    "imputed_summary",
]

#: Above this fraction of the DAH patients with a needed value missing, a complete-case
#: analysis warns (MissingDataWarning) and names multiple imputation: 5% of the rows, the
#: usual rule of thumb below which complete-case bias is negligible in practice (Jakobsen et
#: al., BMC Med Res Methodol 2017) while MI gains little.
COMPLETE_CASE_THRESHOLD = 0.05

#: ...and at least this many of them: in a handful of patients the imputation models cannot
#: be fitted, so there is nothing better to point to; the counts are recorded all the same.
COMPLETE_CASE_MIN_ROWS = 10

#: The ways of handling missing values, in words (quoted in methods texts).
MISSING_METHODS: dict[str, str] = {
    "complete-case": "complete-case analysis (patients missing a needed value left out)",
    "mi": "multiple imputation by chained equations, estimates pooled by Rubin's rules",
}

T = TypeVar("T")


def check_missing(missing: str, imputations: int, seed: int) -> None:
    """Refuse an unknown missing-data method, or a bad number of imputations or seed.

    Parameters
    ----------
    missing : str
        A key of :data:`MISSING_METHODS`.
    imputations : int
        Number of imputations (2 or more: Rubin's rules need a between-imputation variance).
    seed : int
        Seed of the imputations (a whole number >= 0).

    Returns
    -------
    None

    Raises
    ------
    ArgumentError
        For any of these out of range.
    """
    if missing not in MISSING_METHODS:
        raise ArgumentError(f"missing must be one of {list(MISSING_METHODS)}, got {missing!r}")
    if (
        isinstance(imputations, bool)
        or not isinstance(imputations, int | np.integer)
        or imputations < 2
    ):
        raise ArgumentError(
            f"imputations must be a whole number of at least 2 (Rubin's rules need the spread "
            f"between imputations), got {imputations!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ArgumentError(f"seed must be a whole number >= 0, got {seed!r}")


def imputed_set(
    cohort: Cohort | ImputedCohorts, missing: str, imputations: int, seed: int
) -> ImputedCohorts | None:
    """The completed cohorts to analyse: those given, or imputed now for ``missing="mi"``;
    None for a complete-case analysis.

    Parameters
    ----------
    cohort : Cohort or ImputedCohorts
        What the analysis was given (an ImputedCohorts is analysed by MI whatever
        ``missing`` says).
    missing : str
        A key of :data:`MISSING_METHODS`.
    imputations, seed : int
        Imputations and seed of :func:`~dah_outcomes.analyses.imputed_cohorts.impute_cohort`.

    Returns
    -------
    ImputedCohorts or None
    """
    check_missing(missing, imputations, seed)
    if isinstance(cohort, ImputedCohorts):
        return cohort
    if not isinstance(cohort, Cohort):
        raise ArgumentError(
            f"cohort must be a Cohort or ImputedCohorts, got {type(cohort).__name__}"
        )
    if missing == "mi":
        return impute_cohort(cohort, m=int(imputations), seed=int(seed))
    return None


def complete_case_summary(
    cohort: Cohort,
    columns: Sequence[str],
    *,
    what: str,
    arms: ArmDefinition | None = None,
    notes: WarningLog | None = None,
) -> dict[str, Any]:
    """Count the DAH patients missing a value the analysis needs; warn above the threshold.

    Parameters
    ----------
    cohort : Cohort
        The cohort analysed.
    columns : sequence of str
        Index-episode columns the analysis reads (absent ones are skipped).
    what : str
        The analysis, named in the warning.
    arms : ArmDefinition, optional
        When the analysis compares arms: patients whose arm is undecided ("Unknown") for a
        missing flag count as incomplete.
    notes : WarningLog, optional
        Where the warning is recorded (it is issued either way).

    Returns
    -------
    dict
        ``method, n_rows, n_incomplete, fraction_incomplete, threshold, columns`` (missing
        values per column) and ``n_unknown_arm`` (None when arms are not compared).

    Warns
    -----
    MissingDataWarning
        When ``n_incomplete / n_rows`` exceeds :data:`COMPLETE_CASE_THRESHOLD` and
        ``n_incomplete`` is at least :data:`COMPLETE_CASE_MIN_ROWS`.
    """
    e = cohort.episodes
    index = e[e["episode_number"] == 1]
    present = [c for c in dict.fromkeys(columns) if c in index]
    holes = index[present].isna()
    incomplete = holes.any(axis=1).to_numpy().copy()
    n_unknown = None
    if arms is not None:
        flags = [f for f in dict.fromkeys(f for a in arms.arms for f in a.flags) if f in index]
        source = "arm" if "arm" in index and index["arm"].notna().any() else None
        arm = assign_arms(index, arms, column=source).to_numpy()
        undecided = (arm == UNKNOWN) & index[flags].isna().any(axis=1).to_numpy()
        n_unknown = int(undecided.sum())
        incomplete |= undecided
    counts = {c: int(n) for c, n in holes.sum().items() if n}
    n_rows, n_incomplete = len(index), int(incomplete.sum())
    fraction = n_incomplete / n_rows if n_rows else 0.0
    if fraction > COMPLETE_CASE_THRESHOLD and n_incomplete >= COMPLETE_CASE_MIN_ROWS:
        parts = [f"{c} {n:,}" for c, n in counts.items()]
        arm_text = (
            f"; {n_unknown:,} patients' arm is unknown for a missing treatment flag (reported "
            "as the 'Unknown' arm)"
            if n_unknown
            else ""
        )
        message = (
            f"{what}: {n_incomplete:,} of {n_rows:,} DAH patients ({fraction:.1%}, above the "
            f"{COMPLETE_CASE_THRESHOLD:.0%} complete-case threshold) miss a value the analysis "
            f"needs (missing values: {', '.join(parts) or 'none'}{arm_text}); leaving them out "
            "may bias the estimate: use multiple imputation (missing='mi', or --missing mi)"
        )
        (notes or WarningLog()).warn(message, MissingDataWarning)
    return {
        "method": "complete-case",
        "n_rows": n_rows,
        "n_incomplete": n_incomplete,
        "fraction_incomplete": fraction,
        "threshold": COMPLETE_CASE_THRESHOLD,
        "min_rows": COMPLETE_CASE_MIN_ROWS,
        "columns": counts,
        "n_unknown_arm": n_unknown,
    }


def each_imputation(
    imputed: ImputedCohorts, analyse: Callable[[Cohort], T], *, what: str
) -> tuple[list[T], list[str]]:
    """Run an analysis on every completed cohort, gathering its warnings.

    The warnings of the completed cohorts are not issued ``m`` times: each kind
    (class) is issued once, with the first imputation's message and how many imputations
    gave one.

    Parameters
    ----------
    imputed : ImputedCohorts
        The completed cohorts.
    analyse : callable
        The complete-data analysis of one cohort.
    what : str
        The analysis, named in the warnings.

    Returns
    -------
    results : list
        One result per imputation.
    messages : list of str
        The warnings issued.
    """
    results: list[T] = []
    seen: dict[type[Warning], tuple[str, set[int]]] = {}
    for i, cohort in enumerate(imputed.cohorts):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(analyse(cohort))
        for w in caught:
            seen.setdefault(w.category, (str(w.message), set()))[1].add(i)
    log = WarningLog()
    for category, (message, where) in seen.items():
        text = (
            f"{what}, multiple imputation: {message} (in {len(where)} of {imputed.m} imputations)"
        )
        if issubclass(category, DahOutcomesWarning):
            log.warn(text, category)
        else:  # a foreign warning (numerical, from a library) passes on as it came
            log.messages.append(text)
            warnings.warn(text, category, stacklevel=2)
    return results, log.messages


def imputed_summary(
    imputed: ImputedCohorts, fmi: Mapping[str, float] | PooledEstimate | None = None
) -> dict[str, Any]:
    """The ``missing_data`` record of a multiply imputed analysis.

    Parameters
    ----------
    imputed : ImputedCohorts
        The completed cohorts analysed.
    fmi : mapping of str to float, or PooledEstimate, optional
        The fraction of missing information of each pooled estimate (a pooled result gives
        its terms').

    Returns
    -------
    dict
        ``method, imputations, iterations, seed, columns_imputed, n_imputed, fmi``.
    """
    if isinstance(fmi, PooledEstimate):
        fmi = dict(zip(fmi.terms, (float(f) for f in fmi.fmi), strict=True))
    return {
        "method": "mi",
        "description": MISSING_METHODS["mi"],
        "imputations": imputed.m,
        "iterations": imputed.iterations,
        "seed": imputed.seed,
        "columns_imputed": list(imputed.columns),
        "n_imputed": dict(imputed.n_imputed),
        "fmi": {k: (None if pd.isna(v) else float(v)) for k, v in dict(fmi or {}).items()},
    }
