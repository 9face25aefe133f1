"""Analyses: a validated cohort in, a frozen result out. They wire the DAH endpoints to the
statistics and are what the command line, the report and the notebooks call."""

from dah_outcomes.analyses.arm_risks import StandardisedRisks, standardised_risks
from dah_outcomes.analyses.balance import WeightedTableOne, weighted_table_one
from dah_outcomes.analyses.baseline import TableOne, table_one
from dah_outcomes.analyses.hazard_ratios import (
    COVARIATES,
    DEFAULT_ADJUSTMENT,
    HazardRatios,
    hazard_ratios,
)
from dah_outcomes.analyses.outcome_rates import OutcomeRates, rates
from dah_outcomes.analyses.small_series import (
    SeriesSpread,
    mark_uninformative,
    small_series_spread,
    uninformative_message,
)
from dah_outcomes.analyses.survival import (
    RecurrenceByGroup,
    SurvivalByGroup,
    recurrence_by_group,
    survival_by_group,
)
from dah_outcomes.analyses.target_trial import (
    TargetTrialEmulation,
    TargetTrialProtocol,
    emulate_target_trial,
    target_trial_protocol,
)
from dah_outcomes.analyses.treatment_effects import TreatmentEffect, treatment_effect

__all__ = [
    "COVARIATES",
    "DEFAULT_ADJUSTMENT",
    "HazardRatios",
    "OutcomeRates",
    "RecurrenceByGroup",
    "SeriesSpread",
    "StandardisedRisks",
    "SurvivalByGroup",
    "TableOne",
    "TargetTrialEmulation",
    "TargetTrialProtocol",
    "TreatmentEffect",
    "WeightedTableOne",
    "emulate_target_trial",
    "hazard_ratios",
    "mark_uninformative",
    "rates",
    "recurrence_by_group",
    "small_series_spread",
    "standardised_risks",
    "survival_by_group",
    "table_one",
    "target_trial_protocol",
    "treatment_effect",
    "uninformative_message",
    "weighted_table_one",
]
