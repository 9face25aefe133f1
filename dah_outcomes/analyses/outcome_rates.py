"""Outcome rates of a cohort: every DAH endpoint with its confidence interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import (
    ENDPOINTS,
    endpoint_definitions,
    incidence_frame,
    patient_outcomes,
)
from dah_outcomes.endpoints.grouping import attach_group, check_by
from dah_outcomes.endpoints.timelines import check_immortal_time, compared_treatments
from dah_outcomes.errors import ArgumentError
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats.proportions import (
    PROPORTION_METHODS,
    ProportionCI,
    RateCI,
    proportion_ci,
    rate_ci,
)

__all__ = ["OutcomeRates", "rates"]

_ROW_FIELDS = ("events", "total", "estimate", "ci_lower", "ci_upper", "method", "conf_level")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRates(ResultMixin):
    """Every endpoint as events, total, estimate and CI, overall and by group.

    Attributes
    ----------
    table : DataFrame
        One row per (endpoint, group): ``endpoint, group, events, total, n_missing, estimate,
        ci_lower, ci_upper, method, conf_level, unit``. ``group`` is ``"overall"`` for the whole
        cohort.
    incidence_rate : RateCI or None
        First DAH per 1,000 person-years (population cohorts only).
    by : str or None
        Grouping (a key of :data:`~dah_outcomes.endpoints.GROUPINGS`), None for overall only.
    ci_method : str
        Proportion CI method (a key of ``PROPORTION_METHODS``).
    conf_level : float
        Confidence level.
    definitions : dict of str to str
        Each endpoint's definition in words.
    warnings : tuple of str
        The warnings the analysis gave (an :class:`~dah_outcomes.errors.ImmortalTimeWarning`
        when rates are compared by arm while treatments started after onset or at unknown
        times).
    fingerprint : str
        Fingerprint of the cohort the rates were computed from.
    """

    table: pd.DataFrame = field(repr=False)
    incidence_rate: RateCI | None
    by: str | None
    ci_method: str
    conf_level: float
    definitions: dict[str, str] = field(repr=False)
    warnings: tuple[str, ...] = ()
    fingerprint: str

    def to_frame(self) -> pd.DataFrame:
        """The rates table (a copy)."""
        return self.table.copy()

    def get(self, endpoint: str, group: str = "overall") -> ProportionCI:
        """One endpoint's estimate as a :class:`ProportionCI`."""
        rows = self.table[(self.table["endpoint"] == endpoint) & (self.table["group"] == group)]
        if rows.empty:
            raise ArgumentError(
                f"no rate for endpoint {endpoint!r} in group {group!r}; "
                f"endpoints: {sorted(self.table['endpoint'].unique())}, groups: "
                f"{sorted(self.table['group'].unique())}"
            )
        r = rows.iloc[0]
        return ProportionCI(
            events=int(r["events"]),
            total=int(r["total"]),
            estimate=float(r["estimate"]),
            ci_lower=float(r["ci_lower"]),
            ci_upper=float(r["ci_upper"]),
            method=str(r["method"]),
            conf_level=float(r["conf_level"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"rates": {endpoint: {...}}, "groups": {group: {endpoint: {...}}}, ...}``."""

        def block(frame: pd.DataFrame) -> dict[str, Any]:
            return {
                r["endpoint"]: {k: json_safe(r[k]) for k in _ROW_FIELDS}
                for _, r in frame.iterrows()
            }

        out: dict[str, Any] = {
            "rates": block(self.table[self.table["group"] == "overall"]),
            "by": self.by,
            "ci_method": self.ci_method,
            "conf_level": self.conf_level,
            "incidence_rate_per_1000_person_years": (
                None if self.incidence_rate is None else self.incidence_rate.to_dict()
            ),
            "definitions": dict(self.definitions),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
        }
        if self.by is not None:
            grouped = self.table[self.table["group"] != "overall"]
            out["groups"] = {g: block(f) for g, f in grouped.groupby("group", sort=False)}
        return out

    def _title(self) -> str:
        level = f"{self.conf_level:.0%}"
        return f"Outcome rates ({PROPORTION_METHODS[self.ci_method]}, {level} CI)"


def _row(
    endpoint: str, group: str, flags: pd.Series, method: str, level: float, unit: str
) -> dict[str, Any]:
    known = flags.dropna().astype(bool)
    ci = proportion_ci(int(known.sum()), len(known), ci_method=method, conf_level=level)
    return {
        "endpoint": endpoint,
        "group": group,
        "events": ci.events,
        "total": ci.total,
        "n_missing": int(len(flags) - len(known)),
        "estimate": ci.estimate,
        "ci_lower": ci.ci_lower,
        "ci_upper": ci.ci_upper,
        "method": method,
        "conf_level": ci.conf_level,
        "unit": unit,
    }


def rates(
    cohort: Cohort,
    by: str | None = None,
    *,
    ci_method: str = "wilson",
    conf_level: float = 0.95,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
    death_within_days: int | None = None,
) -> OutcomeRates:
    """Rates of every DAH endpoint with confidence intervals.

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.
    by : {"arm", "era", "site", "sex"}, optional
        Also give the DAH-patient endpoints per group of
        :data:`~dah_outcomes.endpoints.GROUPINGS`, in its order (incidence stays overall: arms
        and eras belong to DAH episodes, not to the source population).
    ci_method : str, default "wilson"
        Proportion CI method, one of ``PROPORTION_METHODS``.
    conf_level : float, default 0.95
        Confidence level.
    arms, arm_column, eras
        Arm and era definitions (see :func:`~dah_outcomes.endpoints.patient_outcomes`).
    death_within_days : int, optional
        Mortality as death within N days of onset instead of in-hospital death.

    Returns
    -------
    OutcomeRates

    Warns
    -----
    ImmortalTimeWarning
        With ``by="arm"``, when a treatment that defines the arms started after DAH onset or
        at an unknown time (see
        :func:`~dah_outcomes.endpoints.timelines.check_immortal_time`).

    Notes
    -----
    Endpoints of DAH patients describe each patient's first episode. A flag missing in the
    source is left out of that endpoint's denominator and counted in ``n_missing``. Incidence
    is given as a proportion of the SLE population and, in ``incidence_rate``, per 1,000
    person-years with an exact Poisson CI; both need a population cohort.
    """
    if by is not None:
        check_by(by)
    if ci_method not in PROPORTION_METHODS:
        raise ArgumentError(
            f"ci_method must be one of {sorted(PROPORTION_METHODS)}, got {ci_method!r}"
        )
    outcomes = patient_outcomes(
        cohort, arms=arms, arm_column=arm_column, eras=eras, death_within_days=death_within_days
    )
    definitions = endpoint_definitions(death_within_days)
    rows: list[dict[str, Any]] = []
    incidence_rate = None
    if cohort.design == "population":
        inc = incidence_frame(cohort)
        rows.append(_row("incidence", "overall", inc["dah"], ci_method, conf_level, "sle_patients"))
        incidence_rate = rate_ci(
            int(inc["dah"].sum()),
            float(inc["person_years"].sum()),
            per=1000.0,
            conf_level=conf_level,
        )
    else:
        definitions.pop("incidence")
    endpoints = [e for e in ENDPOINTS.values() if e.unit == "dah_patients"]
    for e in endpoints:
        rows.append(_row(e.name, "overall", outcomes[e.column], ci_method, conf_level, e.unit))
    notes: tuple[str, ...] = ()
    if by is not None:
        notes = check_immortal_time(
            cohort,
            compared_treatments(by, arms=arms, arm_column=arm_column),
            comparison=f"outcome rates by {by}",
        )
        labels = attach_group(outcomes, cohort, by, arms=arms, eras=eras)[by]
        for g in labels.cat.categories:
            sub = outcomes[(labels == g).to_numpy()]
            for e in endpoints:
                rows.append(_row(e.name, g, sub[e.column], ci_method, conf_level, e.unit))
    table = pd.DataFrame(rows)
    return OutcomeRates(
        table=table,
        incidence_rate=incidence_rate,
        by=by,
        ci_method=ci_method,
        conf_level=float(conf_level),
        definitions=definitions,
        warnings=notes,
        fingerprint=cohort.fingerprint,
    )
