"""dah_outcomes: outcomes research for diffuse alveolar hemorrhage (DAH) in SLE.

The public API is re-exported here; the modules hold the logic.
"""

from dah_outcomes._show_versions import show_versions
from dah_outcomes._version import __version__
from dah_outcomes.analyses.arm_risks import StandardisedRisks, standardised_risks
from dah_outcomes.analyses.baseline import TableOne, table_one
from dah_outcomes.analyses.hazard_ratios import DEFAULT_ADJUSTMENT, HazardRatios, hazard_ratios
from dah_outcomes.analyses.imputed_cohorts import ImputedCohorts, impute_cohort
from dah_outcomes.analyses.mnar_sensitivity import arm_mortality_tipping_point
from dah_outcomes.analyses.outcome_rates import OutcomeRates, rates
from dah_outcomes.analyses.survival import (
    RecurrenceByGroup,
    SurvivalByGroup,
    recurrence_by_group,
    survival_by_group,
)
from dah_outcomes.analyses.table_files import write_table
from dah_outcomes.analyses.target_trial import TargetTrialEmulation, emulate_target_trial
from dah_outcomes.analyses.treatment_effects import TreatmentEffect, treatment_effect
from dah_outcomes.cohort import Cohort
from dah_outcomes.endpoints.arms import (
    DEFAULT_ARMS,
    DEFAULT_ERAS,
    Arm,
    ArmDefinition,
    EraDefinition,
    assign_arms,
    assign_eras,
)
from dah_outcomes.endpoints.frames import (
    ENDPOINTS,
    Endpoint,
    death_frame,
    incidence_frame,
    patient_outcomes,
)
from dah_outcomes.endpoints.grouping import BY_CHOICES, GROUPINGS, Grouping, attach_group
from dah_outcomes.errors import (
    ArgumentError,
    CalibrationError,
    CohortFileError,
    ConvergenceWarning,
    DahOutcomesError,
    DahOutcomesWarning,
    DroppedRowsWarning,
    EstimationError,
    ImmortalTimeWarning,
    InformativeExclusionWarning,
    MissingColumnWarning,
    MissingDataWarning,
    MissingDependencyError,
    PositivityWarning,
    ScenarioError,
    SmallSampleWarning,
    UninformativeIntervalWarning,
    ValidationError,
)
from dah_outcomes.io import load_cohort, save_cohort
from dah_outcomes.io.draft import draft_mapping
from dah_outcomes.io.importer import ImportResult, read_cohort, write_import
from dah_outcomes.io.mapping import ImportMapping, apply_mapping, load_mapping
from dah_outcomes.io.readers import RawTable, read_table
from dah_outcomes.plotting import group_colors, plot_cif, plot_forest, plot_km, save_figure
from dah_outcomes.reproduce.audit import AuditResult, audit_claims
from dah_outcomes.reproduce.cited_figures import (
    CITED_FIGURES,
    compare_cited_figures,
)
from dah_outcomes.reproduce.claims import Claim, load_claims, parse_printed
from dah_outcomes.reproduce.consistency import (
    ci_method_matches,
    consistent_numerators,
    consistent_sample_sizes,
)
from dah_outcomes.reproduce.verdicts import ReproductionResult, reproduce
from dah_outcomes.stats.clone_censor import CloneCensorResult, clone_censor_weight
from dah_outcomes.stats.competing import (
    CumulativeIncidenceResult,
    GrayTestResult,
    cumulative_incidence,
    gray_test,
)
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.delta_adjustment import TippingPointResult, delta_sensitivity
from dah_outcomes.stats.firth import FirthCoxResult, firth_cox
from dah_outcomes.stats.imputation import ImputationResult, impute_chained
from dah_outcomes.stats.logrank import LogRankResult, logrank_test, pairwise_logrank
from dah_outcomes.stats.meta import (
    MetaProportionResult,
    meta_proportions,
    meta_regression,
    meta_subgroups,
)
from dah_outcomes.stats.missing_data import (
    MissingnessByOutcome,
    MissingPatterns,
    MissingSummary,
    missing_patterns,
    missing_summary,
    missingness_by_outcome,
)
from dah_outcomes.stats.nonparametric import KaplanMeierResult, kaplan_meier
from dah_outcomes.stats.pooling import PooledEstimate, pool_estimates
from dah_outcomes.stats.propensity import PropensityWeights, propensity_weights
from dah_outcomes.stats.proportional_hazards import (
    ProportionalHazardsTest,
    proportional_hazards_test,
)
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci
from dah_outcomes.stats.recurrent import MeanCumulativeFunction, mean_cumulative_function
from dah_outcomes.stats.subdistribution import FineGrayResult, fine_gray
from dah_outcomes.stats.weighting import ipw_weights
from dah_outcomes.suppression import suppress_small_cells
from dah_outcomes.synthetic.calibration import Calibration, calibrate
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import AmputedCohort, apply_missingness
from dah_outcomes.synthetic.scenario import Scenario, available_scenarios, load_scenario
from dah_outcomes.validation import ValidationReport, validate_tables
from dah_outcomes.vital_status import VitalStatusSummary, summarize_vital_status

__all__ = [
    "BY_CHOICES",
    "CITED_FIGURES",
    "DEFAULT_ADJUSTMENT",
    "DEFAULT_ARMS",
    "DEFAULT_ERAS",
    "ENDPOINTS",
    "GROUPINGS",
    "AmputedCohort",
    "ArgumentError",
    "Arm",
    "ArmDefinition",
    "AuditResult",
    "Calibration",
    "CalibrationError",
    "Claim",
    "CloneCensorResult",
    "Cohort",
    "CohortFileError",
    "ConvergenceWarning",
    "CoxResult",
    "CumulativeIncidenceResult",
    "DahOutcomesError",
    "DahOutcomesWarning",
    "DroppedRowsWarning",
    "Endpoint",
    "EraDefinition",
    "EstimationError",
    "FineGrayResult",
    "FirthCoxResult",
    "GrayTestResult",
    "Grouping",
    "HazardRatios",
    "ImmortalTimeWarning",
    "ImportMapping",
    "ImportResult",
    "ImputationResult",
    "ImputedCohorts",
    "InformativeExclusionWarning",
    "KaplanMeierResult",
    "LogRankResult",
    "MeanCumulativeFunction",
    "MetaProportionResult",
    "MissingColumnWarning",
    "MissingDataWarning",
    "MissingDependencyError",
    "MissingPatterns",
    "MissingSummary",
    "MissingnessByOutcome",
    "OutcomeRates",
    "PooledEstimate",
    "PositivityWarning",
    "PropensityWeights",
    "ProportionCI",
    "ProportionalHazardsTest",
    "RateCI",
    "RawTable",
    "RecurrenceByGroup",
    "ReproductionResult",
    "Scenario",
    "ScenarioError",
    "SmallSampleWarning",
    "StandardisedRisks",
    "SurvivalByGroup",
    "TableOne",
    "TargetTrialEmulation",
    "TippingPointResult",
    "TreatmentEffect",
    "UninformativeIntervalWarning",
    "ValidationError",
    "ValidationReport",
    "VitalStatusSummary",
    "__version__",
    "apply_mapping",
    "apply_missingness",
    "arm_mortality_tipping_point",
    "assign_arms",
    "assign_eras",
    "attach_group",
    "audit_claims",
    "available_scenarios",
    "calibrate",
    "ci_method_matches",
    "clone_censor_weight",
    "compare_cited_figures",
    "consistent_numerators",
    "consistent_sample_sizes",
    "cox_regression",
    "cumulative_incidence",
    "death_frame",
    "delta_sensitivity",
    "draft_mapping",
    "emulate_target_trial",
    "fine_gray",
    "firth_cox",
    "generate_cohort",
    "gray_test",
    "group_colors",
    "hazard_ratios",
    "impute_chained",
    "impute_cohort",
    "incidence_frame",
    "ipw_weights",
    "kaplan_meier",
    "load_claims",
    "load_cohort",
    "load_mapping",
    "load_scenario",
    "logrank_test",
    "mean_cumulative_function",
    "meta_proportions",
    "meta_regression",
    "meta_subgroups",
    "missing_patterns",
    "missing_summary",
    "missingness_by_outcome",
    "pairwise_logrank",
    "parse_printed",
    "patient_outcomes",
    "plot_cif",
    "plot_forest",
    "plot_km",
    "pool_estimates",
    "propensity_weights",
    "proportion_ci",
    "proportional_hazards_test",
    "rate_ci",
    "rates",
    "read_cohort",
    "read_table",
    "recurrence_by_group",
    "reproduce",
    "save_cohort",
    "save_figure",
    "show_versions",
    "standardised_risks",
    "summarize_vital_status",
    "suppress_small_cells",
    "survival_by_group",
    "table_one",
    "treatment_effect",
    "validate_tables",
    "write_import",
    "write_table",
]
