"""Adjusted hazard ratios of death by group: a Cox model of the time from first DAH onset to
death, each group against the first, adjusted for a declared set of covariates.

The adjustment set is declared once (:data:`DEFAULT_ADJUSTMENT`). The result records the
covariates the model actually used and, for every other one asked for, why it was left out,
and the methods text (:meth:`HazardRatios.methods_text`) is written from the result, so a
report can never claim an adjustment the model did not make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.adjustment import (
    COVARIATES,
    DEFAULT_ADJUSTMENT,
    adjustment_covariates,
    check_adjustment,
    complete_cases,
)
from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts
from dah_outcomes.analyses.missing_handling import (
    complete_case_summary,
    each_imputation,
    imputed_set,
    imputed_summary,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import INDEX_COVARIATES, death_frame, frame_notes
from dah_outcomes.endpoints.grouping import GROUPINGS, attach_group, check_by
from dah_outcomes.endpoints.timelines import check_immortal_time, compared_treatments
from dah_outcomes.errors import EstimationError, WarningLog
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats._checks import check_conf_level
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.pooling import PooledEstimate, pool_cox

__all__ = ["COVARIATES", "DEFAULT_ADJUSTMENT", "HazardRatios", "hazard_ratios"]


# A coefficient this large, or a standard error this wide, means the likelihood has no finite
# maximum (the same criterion as the Cox fit's SmallSampleWarning).
_DIVERGING_COEF, _DIVERGING_SE = 15.0, 1e3


@dataclass(frozen=True, slots=True, kw_only=True)
class HazardRatios(ResultMixin):
    """Hazard ratios of death by group from an adjusted Cox model.

    Attributes
    ----------
    by : str
        Grouping (a key of :data:`~dah_outcomes.endpoints.GROUPINGS`).
    groups : tuple of str
        Groups in the model, in the grouping's order; the first is the reference.
    reference : str
        The reference group.
    adjust_for : tuple of str
        The adjustment set asked for.
    adjusted_for : tuple of str
        The covariates the model used (``adjust_for`` less ``not_adjusted``), in order.
    not_adjusted : dict of str to str
        Each covariate asked for but left out of the model, with the reason.
    table : DataFrame
        One row per model term: ``term`` (R's name), ``variable``, ``level``, ``kind``
        (``"group"`` or ``"adjustment"``), ``label``, ``hazard_ratio``, ``ci_lower``,
        ``ci_upper``, ``coef``, ``se``, ``z``, ``p_value``.
    n, n_events : int
        Patients and deaths in the model.
    n_dropped : int
        Patients left out because an adjustment covariate was missing for them.
    conf_level : float
        Level of the intervals.
    ties : str
        Handling of tied death times.
    method : str
        The model in words.
    cox : CoxResult
        The fitted model.
    warnings : tuple of str
        The warnings the analysis gave (an :class:`~dah_outcomes.errors.ImmortalTimeWarning`
        when arms, or a treatment flag among the covariates, are compared while treatments
        started after onset or at unknown times; a
        :class:`~dah_outcomes.errors.SmallSampleWarning` from the Cox fit, e.g. fewer than 10
        deaths per estimated coefficient; a :class:`~dah_outcomes.errors.MissingDataWarning`
        when complete case leaves out more than the threshold).
    fingerprint : str
        The cohort's fingerprint.
    missing_data : dict
        How missing values were handled (see :mod:`dah_outcomes.analyses.missing_handling`).
        Under multiple imputation the table's coefficients are pooled by Rubin's rules
        (``pool_cox``; ``z`` is the pooled t statistic and the p-value is from Student's t
        with the Barnard-Rubin df), with ``fmi`` and ``df`` columns, ``n``, ``n_events`` and
        ``n_dropped`` are rounded means over the imputations and ``cox`` is the first
        completed cohort's fit.
    """

    by: str
    groups: tuple[str, ...]
    reference: str
    adjust_for: tuple[str, ...]
    adjusted_for: tuple[str, ...]
    not_adjusted: dict[str, str]
    table: pd.DataFrame = field(repr=False)
    n: int
    n_events: int
    n_dropped: int
    conf_level: float
    ties: str
    method: str
    cox: CoxResult = field(repr=False)
    warnings: tuple[str, ...] = ()
    fingerprint: str
    missing_data: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The hazard-ratio table (a copy), group terms first."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """The model's settings, counts, adjustment and terms (JSON-safe)."""
        return {
            "endpoint": "death",
            "by": self.by,
            "groups": list(self.groups),
            "reference": self.reference,
            "adjust_for": list(self.adjust_for),
            "adjusted_for": list(self.adjusted_for),
            "not_adjusted": dict(self.not_adjusted),
            "n": self.n,
            "n_events": self.n_events,
            "n_dropped": self.n_dropped,
            "conf_level": self.conf_level,
            "ties": self.ties,
            "method": self.method,
            "terms": json_safe(self.table),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
            "missing_data": json_safe(self.missing_data),
        }

    def methods_text(self) -> str:
        """The model, its reference and the adjustment it used, in one paragraph.

        Returns
        -------
        str
            Written from ``adjusted_for`` and ``not_adjusted``, so it names exactly the
            covariates of the fitted model.
        """
        grouping = GROUPINGS[self.by].label
        text = (
            f"Hazard ratios of death come from a Cox model ({self.ties.capitalize()} ties) of "
            f"the time from the first DAH onset to death, each {grouping} against "
            f"{self.reference}, "
        )
        flags = [COVARIATES[c] for c in self.adjusted_for if c in INDEX_COVARIATES]
        others = [COVARIATES[c] for c in self.adjusted_for if c not in INDEX_COVARIATES]
        if self.adjusted_for:
            parts = [_join(flags) + " at the first episode"] if flags else []
            if others:
                parts.append(("and for " if flags else "") + _join(others))
            text += "adjusted for " + ", ".join(parts)
        else:
            text += "unadjusted"
        text += f"; {self.n:,} patients, {self.n_events:,} deaths"
        if self.missing_data.get("method") == "mi":
            text += (
                f", missing values imputed by chained equations ({self.missing_data['imputations']}"
                " imputations) and the estimates pooled by Rubin's rules"
            )
        elif self.n_dropped:
            text += f", {self.n_dropped:,} left out for a missing covariate"
        text += "."
        if self.not_adjusted:
            text += " Not adjusted for " + _join(
                [f"{COVARIATES[c]} ({why})" for c, why in self.not_adjusted.items()]
            )
            text += "."
        return text

    def _title(self) -> str:
        return (
            f"Hazard ratios of death by {self.by} (Cox, {self.conf_level:.0%} CI; "
            f"reference {self.reference})"
        )


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _terms(data: pd.DataFrame, by: str, used: list[str]) -> pd.DataFrame:
    """Name, variable, level, kind and label of each model term, in the model's order
    (a categorical's levels after its first, as the design matrix codes them)."""
    rows: list[tuple[str, str, str | None, str, str]] = []
    for c in (by, *used):
        kind = "group" if c == by else "adjustment"
        if isinstance(data[c].dtype, pd.CategoricalDtype):
            levels = [str(v) for v in data[c].cat.categories]
            for level in levels[1:]:
                label = f"{level} vs {levels[0]}"
                if kind == "adjustment":
                    label = f"{COVARIATES[c]}: {label}"
                rows.append((f"{c}{level}", c, level, kind, label))
        else:
            rows.append((c, c, None, kind, COVARIATES[c]))
    return pd.DataFrame(rows, columns=["term", "variable", "level", "kind", "label"])


def hazard_ratios(
    cohort: Cohort | ImputedCohorts,
    *,
    by: str = "arm",
    adjust_for: Sequence[str] = DEFAULT_ADJUSTMENT,
    conf_level: float = 0.95,
    arms: ArmDefinition = DEFAULT_ARMS,
    eras: EraDefinition = DEFAULT_ERAS,
    missing: str = "complete-case",
    imputations: int = 20,
    seed: int = 0,
) -> HazardRatios:
    """Hazard ratios of death of each group against the first, from an adjusted Cox model.

    Parameters
    ----------
    cohort : Cohort or ImputedCohorts
        A validated cohort, or its completed cohorts (then analysed by multiple imputation
        whatever ``missing`` says).
    by : {"arm", "era", "site", "sex"}, default "arm"
        Grouping compared (see :data:`~dah_outcomes.endpoints.GROUPINGS`); its first group
        is the reference.
    adjust_for : sequence of str, default DEFAULT_ADJUSTMENT
        Covariates (names of :data:`COVARIATES`). One that is the grouping itself, is not
        recorded, has no value or never varies is left out of the model and listed in
        ``not_adjusted``; patients missing a covariate that is used are left out of the
        model and counted in ``n_dropped``.
    conf_level : float, default 0.95
        Level of the Wald intervals.
    arms, eras : ArmDefinition, EraDefinition
        Arm and era definitions.
    missing : {"complete-case", "mi"}, default "complete-case"
        Leave out the patients missing a covariate (and keep an "Unknown" arm as a group),
        or impute the first episodes ``imputations`` times and pool the Cox models by
        Rubin's rules (:func:`~dah_outcomes.stats.pooling.pool_cox`).
    imputations : int, default 20
        Number of imputations (``missing="mi"``).
    seed : int, default 0
        Seed of the imputations.

    Returns
    -------
    HazardRatios

    Raises
    ------
    ArgumentError
        For an unknown ``by`` or covariate, or a bad ``conf_level``.
    EstimationError
        With fewer than two groups, a group without deaths, or a diverging coefficient: the
        hazard ratio has no finite maximum-likelihood estimate (merge small groups, or use
        the Firth-penalised :func:`~dah_outcomes.firth_cox`).

    Warns
    -----
    DroppedRowsWarning
        When patients are left out for a missing covariate.
    ImmortalTimeWarning
        When arms (or a treatment flag among the covariates used) are compared while a
        treatment that defines them started after DAH onset or at an unknown time (see
        :func:`~dah_outcomes.endpoints.timelines.check_immortal_time`).
    SmallSampleWarning
        When the model has fewer than 10 deaths per estimated coefficient (see
        :func:`~dah_outcomes.stats.cox.cox_regression`).

    Notes
    -----
    Arms are not randomised: sicker patients receive more aggressive treatment, and the
    adjustment removes only the confounding its covariates capture.
    """
    check_by(by)
    asked = check_adjustment(adjust_for)
    conf_level = check_conf_level(conf_level)
    imputed = imputed_set(cohort, missing, imputations, seed)
    if imputed is not None:

        def one(c: Cohort) -> HazardRatios:
            return hazard_ratios(
                c, by=by, adjust_for=asked, conf_level=conf_level, arms=arms, eras=eras
            )

        return _pooled(imputed, *each_imputation(imputed, one, what=f"hazard ratios by {by}"))
    assert isinstance(cohort, Cohort)
    base = death_frame(cohort, arms=arms, eras=eras)
    frame = attach_group(base, cohort, by, arms=arms, eras=eras)
    frame, used, left_out = adjustment_covariates(frame, cohort, asked, by=by, arms=arms, eras=eras)
    notes = frame_notes(base) + check_immortal_time(
        cohort,
        compared_treatments(by, covariates=used, arms=arms),
        comparison=f"hazard ratios by {by}",
    )
    data, n_dropped = complete_cases(frame, ["time", "event", by], used, what="hazard_ratios")
    # a group (or a level of a grouping covariate) may have lost all its patients: only the
    # levels present become terms, or the model would hold an all-zero column
    data = data.assign(
        **{
            c: data[c].cat.remove_unused_categories()
            for c in (by, *used)
            if isinstance(data[c].dtype, pd.CategoricalDtype)
        }
    )
    groups = tuple(str(g) for g in data[by].cat.categories)
    if len(groups) < 2:
        raise EstimationError(
            f"hazard ratios by {by} need at least two groups; the patients analysed are all "
            f"in {list(groups)}"
        )
    deaths = data.groupby(by, observed=True)["event"].sum()
    no_deaths = [str(g) for g, d in deaths.items() if d == 0]
    if no_deaths:
        raise EstimationError(
            f"no deaths in {by} group(s) {no_deaths}: their hazard ratio has no finite "
            "maximum-likelihood estimate; merge the group with another or use the "
            "Firth-penalised dah_outcomes.firth_cox"
        )
    fit = cox_regression(
        data, time="time", event="event", covariates=[by, *used], conf_level=conf_level
    )
    diverging = [
        t
        for t, b, s in zip(fit.terms, fit.coef, fit.naive_se, strict=True)
        if abs(b) > _DIVERGING_COEF or s > _DIVERGING_SE
    ]
    if diverging:
        raise EstimationError(
            f"the Cox likelihood has no finite maximum for {diverging} (e.g. a level without "
            "deaths); leave the covariate out of adjust_for or use dah_outcomes.firth_cox"
        )
    terms = _terms(data, by, used)
    if tuple(terms["term"]) != fit.terms:  # pragma: no cover - the design's coding changed
        raise RuntimeError(f"model terms {fit.terms} differ from {list(terms['term'])}")
    log = WarningLog()
    summary = complete_case_summary(
        cohort,
        used,
        what=f"hazard ratios by {by}",
        arms=arms if by == "arm" else None,
        notes=log,
    )
    ratios = fit.to_frame().drop(columns="term")
    table = pd.concat([terms, ratios.reset_index(drop=True)], axis=1)
    table = table[
        [
            "term",
            "variable",
            "level",
            "kind",
            "label",
            "hazard_ratio",
            "ci_lower",
            "ci_upper",
            "coef",
            "se",
            "z",
            "p_value",
        ]
    ]
    return HazardRatios(
        by=by,
        groups=groups,
        reference=groups[0],
        adjust_for=asked,
        adjusted_for=tuple(used),
        not_adjusted=left_out,
        table=table,
        n=int(fit.n),
        n_events=int(fit.n_events),
        n_dropped=n_dropped,
        conf_level=conf_level,
        ties=fit.ties,
        method=f"Cox proportional hazards ({fit.ties.capitalize()} ties), Wald intervals",
        cox=fit,
        warnings=(*notes, *fit.warnings, *log.messages),
        fingerprint=cohort.fingerprint,
        missing_data=summary,
    )


def pooled_table(
    fits: Sequence[CoxResult], table: pd.DataFrame
) -> tuple[pd.DataFrame, PooledEstimate]:
    """A hazard-ratio table with its numbers replaced by the Cox fits pooled (Rubin's rules).

    Parameters
    ----------
    fits : sequence of CoxResult
        One fit per imputation, the same terms as ``table``'s rows.
    table : DataFrame
        A per-imputation table (``term`` and the labels kept).

    Returns
    -------
    table : DataFrame
        ``hazard_ratio, ci_lower, ci_upper, coef, se, z, p_value`` pooled, with ``df`` and
        ``fmi``.
    pooled : PooledEstimate
        The pooled estimate.
    """
    pooled = pool_cox(fits)
    out = table.copy()
    out["hazard_ratio"] = pooled.value
    out["ci_lower"] = pooled.value_ci_lower
    out["ci_upper"] = pooled.value_ci_upper
    out["coef"] = pooled.estimate
    out["se"] = pooled.std_error
    out["z"] = pooled.estimate / pooled.std_error
    out["p_value"] = pooled.p_value
    out["df"] = pooled.df
    out["fmi"] = pooled.fmi
    return out, pooled


def _pooled(
    imputed: ImputedCohorts, results: list[HazardRatios], messages: list[str]
) -> HazardRatios:
    first = results[0]
    if any(r.cox.terms != first.cox.terms for r in results):
        raise EstimationError(
            f"hazard ratios by {first.by}: the model terms differ between imputations (a "
            "group or level empty in some completed cohort): merge small groups"
        )
    table, pooled = pooled_table([r.cox for r in results], first.table)
    summary = imputed_summary(imputed, pooled)
    return HazardRatios(
        by=first.by,
        groups=first.groups,
        reference=first.reference,
        adjust_for=first.adjust_for,
        adjusted_for=first.adjusted_for,
        not_adjusted=first.not_adjusted,
        table=table,
        n=round(float(np.mean([r.n for r in results]))),
        n_events=round(float(np.mean([r.n_events for r in results]))),
        n_dropped=round(float(np.mean([r.n_dropped for r in results]))),
        conf_level=first.conf_level,
        ties=first.ties,
        method=first.method + f"; pooled over {imputed.m} imputations by Rubin's rules",
        cox=first.cox,
        warnings=tuple(messages),
        fingerprint=imputed.fingerprint,
        missing_data=summary,
    )
