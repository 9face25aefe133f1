"""Statistics that know nothing about DAH: they take counts, or DataFrames with named columns.

This namespace is the layer's API (as statsmodels' ``api`` modules): ``from
dah_outcomes.stats import kaplan_meier`` gives the function. The modules hold the logic; the
underscore modules (``_checks``, the argument layer; ``_cox_engine``, the partial-likelihood
engine) are shared inside the layer only.
"""

from dah_outcomes.stats.competing import (
    CumulativeIncidenceResult,
    GrayTestResult,
    cumulative_incidence,
    gray_test,
)
from dah_outcomes.stats.cox import CoxResult, cox_regression
from dah_outcomes.stats.firth import FirthCoxResult, firth_cox
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
from dah_outcomes.stats.proportional_hazards import (
    ProportionalHazardsTest,
    proportional_hazards_test,
)
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci
from dah_outcomes.stats.recurrent import MeanCumulativeFunction, mean_cumulative_function
from dah_outcomes.stats.subdistribution import FineGrayResult, fine_gray
from dah_outcomes.stats.weighting import ipw_weights

__all__ = [
    "AccrualForecast",
    "CoxResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "FirthCoxResult",
    "FirthLogisticResult",
    "GrayTestResult",
    "KaplanMeierResult",
    "LogRankResult",
    "MeanCumulativeFunction",
    "MetaProportionResult",
    "MetaRegressionResult",
    "ProportionCI",
    "ProportionalHazardsTest",
    "RateCI",
    "cox_regression",
    "cumulative_incidence",
    "events_for_hazard_ratio",
    "expected_accrual",
    "fine_gray",
    "firth_cox",
    "firth_logistic",
    "gray_test",
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
    "pairwise_logrank",
    "proportion_ci",
    "proportional_hazards_test",
    "rate_ci",
    "sample_size_for_half_width",
    "sample_size_one_proportion",
]
