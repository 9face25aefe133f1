"""Statistics that know nothing about DAH: they take counts, or DataFrames with named columns.

This namespace is the layer's API (as statsmodels' ``api`` modules): ``from
dah_outcomes.stats import kaplan_meier`` gives the function. The modules hold the logic; the
underscore modules (``_checks``, the argument layer; ``_cox_engine``, the partial-likelihood
engine) are shared inside the layer only.
"""

from dah_outcomes.stats.balance import BalanceTable, balance_table, standardised_difference
from dah_outcomes.stats.clone_censor import (
    CloneCensorResult,
    clone_censor_weight,
    clone_table,
    pooled_logistic,
)
from dah_outcomes.stats.competing import (
    CumulativeIncidenceResult,
    GrayTestResult,
    cumulative_incidence,
    gray_test,
)
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.firth import FirthCoxResult, firth_cox
from dah_outcomes.stats.imputation import (
    IMPUTATION_METHODS,
    ImputationResult,
    impute_chained,
    nelson_aalen_at_times,
)
from dah_outcomes.stats.logistic import FirthLogisticResult, firth_logistic
from dah_outcomes.stats.logrank import (
    LogRankResult,
    logrank_from_counts,
    logrank_from_km,
    logrank_test,
    pairwise_logrank,
)
from dah_outcomes.stats.meta import (
    MetaProportionResult,
    MetaRegressionResult,
    meta_proportions,
    meta_regression,
    meta_subgroups,
)
from dah_outcomes.stats.nonparametric import (
    KaplanMeierResult,
    kaplan_meier,
    kaplan_meier_from_counts,
)
from dah_outcomes.stats.planning import (
    AccrualForecast,
    events_for_hazard_ratio,
    expected_accrual,
    sample_size_for_half_width,
    sample_size_one_proportion,
)
from dah_outcomes.stats.pooling import (
    POOLING_SCALES,
    PooledEstimate,
    PooledWaldTest,
    barnard_rubin_df,
    pool_cox,
    pool_estimates,
    pool_kaplan_meier,
    pool_proportions,
    pool_scalar,
    pool_survival,
    pool_wald_test,
)
from dah_outcomes.stats.propensity import (
    ESTIMANDS,
    PropensityWeights,
    effective_sample_size,
    propensity_weights,
)
from dah_outcomes.stats.proportional_hazards import (
    ProportionalHazardsTest,
    proportional_hazards_test,
)
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci
from dah_outcomes.stats.recurrent import MeanCumulativeFunction, mean_cumulative_function
from dah_outcomes.stats.standardisation import (
    RISK_METHODS,
    ArmRisks,
    RiskEndpoint,
    standardised_arm_risks,
)
from dah_outcomes.stats.subdistribution import FineGrayResult, fine_gray
from dah_outcomes.stats.weighting import ipw_weights

__all__ = [
    "ESTIMANDS",
    "IMPUTATION_METHODS",
    "POOLING_SCALES",
    "RISK_METHODS",
    "AccrualForecast",
    "ArmRisks",
    "BalanceTable",
    "CloneCensorResult",
    "CoxResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "FirthCoxResult",
    "FirthLogisticResult",
    "GrayTestResult",
    "ImputationResult",
    "KaplanMeierResult",
    "LogRankResult",
    "MeanCumulativeFunction",
    "MetaProportionResult",
    "MetaRegressionResult",
    "PooledEstimate",
    "PooledWaldTest",
    "PropensityWeights",
    "ProportionCI",
    "ProportionalHazardsTest",
    "RateCI",
    "RiskEndpoint",
    "balance_table",
    "barnard_rubin_df",
    "clone_censor_weight",
    "clone_table",
    "cox_regression",
    "cumulative_incidence",
    "effective_sample_size",
    "events_for_hazard_ratio",
    "expected_accrual",
    "fine_gray",
    "firth_cox",
    "firth_logistic",
    "gray_test",
    "impute_chained",
    "ipw_weights",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "logrank_from_counts",
    "logrank_from_km",
    "logrank_test",
    "mean_cumulative_function",
    "meta_proportions",
    "meta_regression",
    "meta_subgroups",
    "nelson_aalen_at_times",
    "pairwise_logrank",
    "pool_cox",
    "pool_estimates",
    "pool_kaplan_meier",
    "pool_proportions",
    "pool_scalar",
    "pool_survival",
    "pool_wald_test",
    "pooled_logistic",
    "propensity_weights",
    "proportion_ci",
    "proportional_hazards_test",
    "rate_ci",
    "sample_size_for_half_width",
    "sample_size_one_proportion",
    "standardised_arm_risks",
    "standardised_difference",
]
