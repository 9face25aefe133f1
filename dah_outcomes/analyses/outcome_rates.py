"""Outcome rates of a cohort: every DAH endpoint with its confidence interval.

Beside the crude proportions, the endpoints a reviewer asks for: recurrence as a cumulative
incidence at stated years with death as a competing event (Aalen-Johansen) and as a rate per
100 person-years; mortality per episode as well as per patient; and an incidence rate that
counts only patients at risk (DAH at the start of follow-up has no person-time and is reported
as such, not as an incident case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts
from dah_outcomes.analyses.missing_handling import (
    complete_case_summary,
    each_imputation,
    imputed_set,
    imputed_summary,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import DEFAULT_ARMS, DEFAULT_ERAS, ArmDefinition, EraDefinition
from dah_outcomes.endpoints.frames import (
    DAYS_PER_YEAR,
    ENDPOINTS,
    endpoint_definitions,
    episode_outcomes,
    frame_notes,
    incidence_frame,
    patient_outcomes,
    recurrence_frame,
    recurrent_episodes_frame,
)
from dah_outcomes.endpoints.grouping import attach_group, check_by
from dah_outcomes.endpoints.timelines import check_immortal_time, compared_treatments
from dah_outcomes.errors import ArgumentError, EstimationError, WarningLog
from dah_outcomes.results import ResultMixin, json_safe
from dah_outcomes.stats.competing import cif_log_log_ci, cumulative_incidence
from dah_outcomes.stats.pooling import pool_estimates, pool_proportions, pool_survival
from dah_outcomes.stats.proportions import (
    PROPORTION_METHODS,
    ProportionCI,
    RateCI,
    proportion_ci,
    rate_ci,
)

__all__ = ["NO_INCIDENCE_IN_A_CASE_SERIES", "RECURRENCE_YEARS", "OutcomeRates", "rates"]

#: Why a case series reports no incidence (in ``definitions["incidence"]`` and the outputs).
NO_INCIDENCE_IN_A_CASE_SERIES = (
    "not reported: the cohort is a case series (DAH patients only), with no population at "
    "risk to count them among, so any 'incidence' from it would be 100% by construction; "
    "incidence needs the SLE patients without DAH as well (a population design)"
)

_ROW_FIELDS = ("events", "total", "estimate", "ci_lower", "ci_upper", "method", "conf_level")

#: Years after the first onset at which the cumulative incidence of recurrence is given.
RECURRENCE_YEARS: tuple[float, ...] = (1, 2, 5)

#: The person-time endpoints in words (the report's methods quote them).
RATE_DEFINITIONS = {
    "incidence_rate": "first DAH episodes per 1,000 person-years at risk, from the start of "
    "follow-up to the first onset or the end of follow-up (exact Poisson CI); patients whose "
    "first DAH was at the start of follow-up (e.g. DAH as the first manifestation of SLE, at "
    "diagnosis) were never at risk: they contribute no person-time and are not counted as "
    "incident cases, but reported separately",
    "recurrence_cumulative_incidence": "cumulative incidence of a first recurrence (the onset "
    "of a second DAH episode) at stated years after the first onset, death before recurrence "
    "a competing event (Aalen-Johansen; Gray's variance, log(-log) CI)",
    "recurrence_rate": "recurrent DAH episodes (every episode after the first) per 100 "
    "person-years of follow-up from the first onset to death or the end of follow-up "
    "(exact Poisson CI)",
}


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
        First DAH per 1,000 person-years at risk (population cohorts only); cases at the
        start of follow-up are not counted (see ``incidence_cases_at_entry``).
    incidence_cases_at_entry : int or None
        Patients whose first DAH was at the start of follow-up (no person-time at risk), left
        out of the incidence rate (population cohorts only).
    recurrence_cif : DataFrame
        The cumulative incidence of a first recurrence, death competing, at
        :data:`RECURRENCE_YEARS`: ``group, years, time, cif, ci_lower, ci_upper, conf_level,
        n, recurrences, deaths_before_recurrence`` (overall and by group).
    recurrence_rates : DataFrame
        Recurrent episodes per 100 person-years from the first onset: ``group, events,
        person_years, estimate, ci_lower, ci_upper, per, method, conf_level``.
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
        times; a :class:`~dah_outcomes.errors.MissingDataWarning` when complete case leaves
        out more than the threshold).
    fingerprint : str
        Fingerprint of the cohort the rates were computed from.
    missing_data : dict
        How missing values were handled (see :mod:`dah_outcomes.analyses.missing_handling`):
        complete-case counts, or the imputations, columns imputed and the fraction of
        missing information of each pooled rate (keyed ``"endpoint, group"``). Under
        multiple imputation ``table`` also has ``m`` and ``fmi`` columns, and ``events`` and
        ``total`` are means over the imputations.
    """

    table: pd.DataFrame = field(repr=False)
    incidence_rate: RateCI | None
    incidence_cases_at_entry: int | None = None
    recurrence_cif: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    recurrence_rates: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    by: str | None
    ci_method: str
    conf_level: float
    definitions: dict[str, str] = field(repr=False)
    warnings: tuple[str, ...] = ()
    fingerprint: str
    missing_data: dict[str, Any] = field(default_factory=dict, repr=False)

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
            events=round(float(r["events"])),
            total=round(float(r["total"])),
            estimate=float(r["estimate"]),
            ci_lower=float(r["ci_lower"]),
            ci_upper=float(r["ci_upper"]),
            method=str(r["method"]),
            conf_level=float(r["conf_level"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"rates": {endpoint: {...}}, "groups": {group: {endpoint: {...}}}, ...}``, with
        the incidence rate (and the cases at entry it leaves out), the cumulative incidence
        of recurrence by year and the recurrence rate per 100 person-years, overall and (under
        ``"groups"`` of each) by group."""

        def block(frame: pd.DataFrame) -> dict[str, Any]:
            return {
                r["endpoint"]: {k: json_safe(r[k]) for k in _ROW_FIELDS}
                for _, r in frame.iterrows()
            }

        def cif(frame: pd.DataFrame) -> dict[str, Any]:
            return {
                f"{r['years']:g}": {
                    k: json_safe(r[k]) for k in ("time", "cif", "ci_lower", "ci_upper")
                }
                for _, r in frame.iterrows()
            }

        def rate(r: pd.Series) -> dict[str, Any]:
            keys = ("events", "person_years", "estimate", "ci_lower", "ci_upper", "per", "method")
            return {k: json_safe(r[k]) for k in keys}

        def split(frame: pd.DataFrame, view: Any) -> dict[str, Any]:
            if frame.empty:
                return {"overall": None}
            overall = frame[frame["group"] == "overall"]
            out = {"overall": view(overall)}
            if self.by is not None:
                parts = frame[frame["group"] != "overall"].groupby("group", sort=False)
                out["groups"] = {g: view(f) for g, f in parts}
            return out

        out: dict[str, Any] = {
            "rates": block(self.table[self.table["group"] == "overall"]),
            "by": self.by,
            "ci_method": self.ci_method,
            "conf_level": self.conf_level,
            "incidence_rate_per_1000_person_years": (
                None if self.incidence_rate is None else self.incidence_rate.to_dict()
            ),
            "incidence_cases_at_entry": self.incidence_cases_at_entry,
            "recurrence_cumulative_incidence": split(self.recurrence_cif, cif),
            "recurrence_rate_per_100_person_years": split(
                self.recurrence_rates, lambda f: rate(f.iloc[0])
            ),
            "definitions": dict(self.definitions),
            "warnings": list(self.warnings),
            "fingerprint": self.fingerprint,
            "missing_data": json_safe(self.missing_data),
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
    nan = float("nan")
    # nobody with a known value: no proportion (proportion_ci refuses a total of 0)
    ci = (
        proportion_ci(int(known.sum()), len(known), ci_method=method, conf_level=level)
        if len(known)
        else None
    )
    return {
        "endpoint": endpoint,
        "group": group,
        "events": 0 if ci is None else ci.events,
        "total": len(known),
        "n_missing": int(len(flags) - len(known)),
        "estimate": nan if ci is None else ci.estimate,
        "ci_lower": nan if ci is None else ci.ci_lower,
        "ci_upper": nan if ci is None else ci.ci_upper,
        "method": method,
        "conf_level": float(level),
        "unit": unit,
    }


def rates(
    cohort: Cohort | ImputedCohorts,
    by: str | None = None,
    *,
    ci_method: str = "wilson",
    conf_level: float = 0.95,
    arms: ArmDefinition = DEFAULT_ARMS,
    arm_column: str | None = None,
    eras: EraDefinition = DEFAULT_ERAS,
    death_within_days: int | None = None,
    missing: str = "complete-case",
    imputations: int = 20,
    seed: int = 0,
) -> OutcomeRates:
    """Rates of every DAH endpoint with confidence intervals.

    Parameters
    ----------
    cohort : Cohort or ImputedCohorts
        A validated cohort, or its completed cohorts from
        :func:`~dah_outcomes.analyses.imputed_cohorts.impute_cohort` (then analysed by
        multiple imputation whatever ``missing`` says).
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
    missing : {"complete-case", "mi"}, default "complete-case"
        Leave out the values missing (each endpoint's denominator counts the patients with
        a value), or impute the first episodes ``imputations`` times and pool each rate by
        Rubin's rules on the logit scale (recurrence: cumulative incidence on the
        log(-log) scale, the rate per person-year on the log scale). A rate that no
        imputation changes is the complete-data one (fmi 0); one that is 0 or 1 in some
        imputation cannot be pooled on the logit scale and is the mean proportion, without
        an interval.
    imputations : int, default 20
        Number of imputations (``missing="mi"``).
    seed : int, default 0
        Seed of the imputations.

    Returns
    -------
    OutcomeRates

    Warns
    -----
    MissingDataWarning
        Complete case, when more than
        :data:`~dah_outcomes.analyses.missing_handling.COMPLETE_CASE_THRESHOLD` of the DAH
        patients miss an endpoint flag (or, by arm, a flag that decides their arm).
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
    imputed = imputed_set(cohort, missing, imputations, seed)
    if imputed is not None:

        def one(c: Cohort) -> OutcomeRates:
            return rates(
                c,
                by,
                ci_method=ci_method,
                conf_level=conf_level,
                arms=arms,
                arm_column=arm_column,
                eras=eras,
                death_within_days=death_within_days,
            )

        return _pooled_rates(imputed, *each_imputation(imputed, one, what="rates"))
    assert isinstance(cohort, Cohort)
    outcomes = patient_outcomes(
        cohort, arms=arms, arm_column=arm_column, eras=eras, death_within_days=death_within_days
    )
    definitions = endpoint_definitions(death_within_days)
    rows: list[dict[str, Any]] = []
    incidence_rate, at_entry = None, None
    if cohort.design == "population":
        inc = incidence_frame(cohort)
        rows.append(_row("incidence", "overall", inc["dah"], ci_method, conf_level, "sle_patients"))
        at_entry = int(inc["at_entry"].sum())
        incidence_rate = rate_ci(
            int((inc["dah"] & ~inc["at_entry"]).sum()),
            float(inc["person_years"].sum()),
            per=1000.0,
            conf_level=conf_level,
        )
    else:
        definitions["incidence"] = NO_INCIDENCE_IN_A_CASE_SERIES
    endpoints = [e for e in ENDPOINTS.values() if e.unit == "dah_patients"]
    episodes = episode_outcomes(cohort, arms=arms, eras=eras)
    for e in endpoints:
        rows.append(_row(e.name, "overall", outcomes[e.column], ci_method, conf_level, e.unit))
    rows.append(_episode_row("overall", episodes["died"], ci_method, conf_level))
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
        # an episode's arm and era are its own (the patient's site and sex)
        own = attach_group(episodes, cohort, by, arms=arms, eras=eras)[by]
        for g in own.cat.categories:
            died = episodes.loc[(own == g).to_numpy(), "died"]
            rows.append(_episode_row(str(g), died, ci_method, conf_level))
    if death_within_days is not None:
        definitions["mortality_per_episode"] += " (in-hospital death, whatever the window)"
    cif, recurrence_rates, dropped = _recurrence(cohort, by, conf_level, arms, eras)
    definitions.update(
        {k: v for k, v in RATE_DEFINITIONS.items() if k != "incidence_rate" or at_entry is not None}
    )
    log = WarningLog()
    summary = complete_case_summary(
        cohort,
        _ENDPOINT_FLAGS,
        what="rates",
        arms=arms if by == "arm" and arm_column is None else None,
        notes=log,
    )
    return OutcomeRates(
        table=_ordered(pd.DataFrame(rows)),
        incidence_rate=incidence_rate,
        incidence_cases_at_entry=at_entry,
        recurrence_cif=cif,
        recurrence_rates=recurrence_rates,
        by=by,
        ci_method=ci_method,
        conf_level=float(conf_level),
        definitions=definitions,
        warnings=(*notes, *dropped, *log.messages),
        fingerprint=cohort.fingerprint,
        missing_data=summary,
    )


# the index-episode flags the DAH-patient endpoints read (patient_outcomes)
_ENDPOINT_FLAGS = ("first_manifestation", "mechanical_ventilation", "plasmapheresis", "nephritis")


def _episode_row(group: str, died: pd.Series, method: str, level: float) -> dict[str, Any]:
    return _row("mortality_per_episode", group, died, method, level, "episodes")


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order overall then each group, endpoints in their declared order."""
    groups = list(dict.fromkeys(table["group"]))
    order = {name: i for i, name in enumerate(ENDPOINTS)}
    key = table["group"].map({g: i for i, g in enumerate(groups)}) * 100 + table["endpoint"].map(
        order
    )
    return table.iloc[key.argsort(kind="stable").to_numpy()].reset_index(drop=True)


def _recurrence(
    cohort: Cohort,
    by: str | None,
    conf_level: float,
    arms: ArmDefinition,
    eras: EraDefinition,
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The cumulative incidence of recurrence at RECURRENCE_YEARS (death competing) and the
    rate of recurrent episodes per 100 person-years, overall and by group; and the frames'
    warnings (the dead of unknown date left out)."""
    frame = recurrence_frame(cohort, arms=arms, eras=eras)
    episodes = recurrent_episodes_frame(cohort, arms=arms, eras=eras)
    dropped = tuple(dict.fromkeys((*frame_notes(frame), *frame_notes(episodes))))
    parts = [("overall", frame, episodes)]
    if by is not None:
        frame = attach_group(frame, cohort, by, arms=arms, eras=eras)
        episodes = attach_group(episodes, cohort, by, arms=arms, eras=eras)
        for g in frame[by].cat.categories:
            parts.append((str(g), frame[frame[by] == g], episodes[episodes[by] == g]))
    days = [y * DAYS_PER_YEAR for y in RECURRENCE_YEARS]
    cifs, rate_rows = [], []
    for group, f, e in parts:
        if f.empty:
            continue
        fit = cumulative_incidence(f, time="time", event="event", n_causes=2)
        at = fit.at(days, cause=1)
        lower, upper = cif_log_log_ci(at["cif"].to_numpy(), at["variance"].to_numpy(), conf_level)
        cifs.append(
            at.assign(
                group=group,
                years=list(RECURRENCE_YEARS),
                ci_lower=lower,
                ci_upper=upper,
                conf_level=conf_level,
                n=len(f),
                recurrences=int((f["event"] == 1).sum()),
                deaths_before_recurrence=int((f["event"] == 2).sum()),
            )
        )
        person_years = float((e["stop"] - e["start"]).sum()) / DAYS_PER_YEAR
        if person_years > 0:
            r = rate_ci(int(e["event"].sum()), person_years, per=100.0, conf_level=conf_level)
            rate_rows.append(
                {
                    "group": group,
                    **{k: getattr(r, k) for k in _RATE_FIELDS},
                    "person_years": r.person_time,
                }
            )
    if not cifs:
        return pd.DataFrame(), pd.DataFrame(), dropped
    cif = pd.concat(cifs, ignore_index=True)[
        [
            "group",
            "years",
            "time",
            "cif",
            "variance",
            "ci_lower",
            "ci_upper",
            "conf_level",
            "n",
            "recurrences",
            "deaths_before_recurrence",
        ]
    ]
    return cif, pd.DataFrame(rate_rows), dropped


_RATE_FIELDS = ("events", "estimate", "ci_lower", "ci_upper", "per", "method", "conf_level")


# ------------------------------------------------------------------ multiple imputation


def _keyed(frames: list[pd.DataFrame], keys: list[str]) -> tuple[list[tuple], list[pd.DataFrame]]:
    """The union of the frames' row keys (first frame's order first), each frame by key."""
    order: dict[tuple, None] = {}
    indexed = []
    for f in frames:
        f = f.set_index(keys, drop=False)
        order.update(dict.fromkeys(f.index))
        indexed.append(f)
    return list(order), indexed


def _same(values: np.ndarray) -> bool:
    return bool(np.all(values == values[0])) if len(values) else True


def _pool_table(tables: list[pd.DataFrame], m: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Each (endpoint, group) proportion pooled over the imputations on the logit scale."""
    keys, indexed = _keyed(tables, ["endpoint", "group"])
    rows, fmi = [], {}
    for key in keys:
        there = [f.loc[[key]].iloc[0] for f in indexed if key in f.index]
        first = there[0].to_dict()
        events = np.array([r["events"] for r in there], dtype=float)
        totals = np.array([r["total"] for r in there], dtype=float)
        row = {**first, "events": events.mean(), "total": totals.mean(), "m": m}
        name = f"{key[0]}, {key[1]}"
        if len(there) < m:
            nan = float("nan")
            row.update(estimate=nan, ci_lower=nan, ci_upper=nan, fmi=nan)
            row["method"] = f"not pooled: no patients in this group in {m - len(there)} imputations"
        elif _same(events) and _same(totals):
            row["fmi"] = 0.0  # no imputation changes it: the complete-data interval stands
        else:
            try:
                pooled = pool_proportions(events, totals, conf_level=first["conf_level"])
                row.update(
                    estimate=float(pooled.value[0]),
                    ci_lower=float(pooled.value_ci_lower[0]),
                    ci_upper=float(pooled.value_ci_upper[0]),
                    fmi=float(pooled.fmi[0]),
                    method="Rubin's rules on the logit scale",
                )
            except EstimationError:
                # 0 or 1 in an imputation has no logit: the mean proportion, with the
                # interval of the mean counts (it leaves out the between-imputation spread)
                ci = proportion_ci(
                    round(events.mean()),
                    max(round(totals.mean()), 1),
                    ci_method=first["method"],
                    conf_level=first["conf_level"],
                )
                row.update(
                    estimate=float((events / totals).mean()),
                    ci_lower=ci.ci_lower,
                    ci_upper=ci.ci_upper,
                    fmi=float("nan"),
                    method=f"{first['method']} interval of the mean counts (not pooled: 0 or "
                    "1 in an imputation)",
                )
        fmi[name] = row["fmi"]
        rows.append(row)
    return _ordered(pd.DataFrame(rows)), fmi


def _pool_cif(frames: list[pd.DataFrame], m: int) -> pd.DataFrame:
    """The cumulative incidence of recurrence at each year, pooled on the log(-log) scale."""
    if any(f.empty for f in frames):
        return frames[0]
    keys, indexed = _keyed(frames, ["group", "years"])
    rows = []
    for key in keys:
        there = [f.loc[[key]].iloc[0] for f in indexed if key in f.index]
        cif = np.array([r["cif"] for r in there], dtype=float)
        var = np.array([r["variance"] for r in there], dtype=float)
        row = {**there[0].to_dict(), "m": m}
        for col in ("n", "recurrences", "deaths_before_recurrence", "time"):
            row[col] = float(np.mean([r[col] for r in there]))
        if len(there) == m and not _same(cif) and ((cif > 0) & (cif < 1)).all():
            # the CIF's log(-log) transform as survival's: var(-log F) = var(F) / F^2
            pooled = pool_survival(cif, np.sqrt(var) / cif, conf_level=row["conf_level"])
            row.update(
                cif=float(pooled.value[0]),
                ci_lower=float(pooled.value_ci_lower[0]),
                ci_upper=float(pooled.value_ci_upper[0]),
                variance=float("nan"),
            )
        elif not _same(cif):
            row.update(cif=float(cif.mean()), ci_lower=float("nan"), ci_upper=float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)[[*frames[0].columns, "m"]]


def _pool_recurrence_rates(frames: list[pd.DataFrame], m: int) -> pd.DataFrame:
    """Recurrent episodes per 100 person-years, pooled on the log scale (var 1 / events)."""
    if any(f.empty for f in frames):
        return frames[0]
    keys, indexed = _keyed(frames, ["group"])
    rows = []
    for key in keys:
        there = [f.loc[[key]].iloc[0] for f in indexed if key in f.index]
        events = np.array([r["events"] for r in there], dtype=float)
        years = np.array([r["person_years"] for r in there], dtype=float)
        row = {**there[0].to_dict(), "events": events.mean(), "person_years": years.mean()}
        if len(there) == m and not (_same(events) and _same(years)) and (events > 0).all():
            log_rate = np.log(events / years * row["per"])
            pooled = pool_estimates(log_rate, 1 / events, scale="log", conf_level=row["conf_level"])
            row.update(
                estimate=float(pooled.value[0]),
                ci_lower=float(pooled.value_ci_lower[0]),
                ci_upper=float(pooled.value_ci_upper[0]),
                method="Rubin's rules on the log scale",
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _pooled_rates(
    imputed: ImputedCohorts, results: list[OutcomeRates], messages: list[str]
) -> OutcomeRates:
    first = results[0]
    table, fmi = _pool_table([r.table for r in results], imputed.m)
    return OutcomeRates(
        table=table,
        incidence_rate=first.incidence_rate,  # from the dah flag and dates: never imputed
        incidence_cases_at_entry=first.incidence_cases_at_entry,
        recurrence_cif=_pool_cif([r.recurrence_cif for r in results], imputed.m),
        recurrence_rates=_pool_recurrence_rates([r.recurrence_rates for r in results], imputed.m),
        by=first.by,
        ci_method=first.ci_method,
        conf_level=first.conf_level,
        definitions=first.definitions,
        warnings=tuple(messages),
        fingerprint=imputed.fingerprint,
        missing_data=imputed_summary(imputed, fmi),
    )
