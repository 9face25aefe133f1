"""dah_outcomes: outcomes research for diffuse alveolar hemorrhage (DAH) in SLE.

The public API is re-exported here; the modules hold the logic.
"""

from dah_outcomes.errors import (
    ArgumentError,
    CalibrationError,
    CohortFileError,
    DahOutcomesError,
    DahOutcomesWarning,
    EstimationError,
    ScenarioError,
    SmallSampleWarning,
    ValidationError,
)
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CalibrationError",
    "CohortFileError",
    "DahOutcomesError",
    "DahOutcomesWarning",
    "EstimationError",
    "ProportionCI",
    "RateCI",
    "ScenarioError",
    "SmallSampleWarning",
    "ValidationError",
    "__version__",
    "proportion_ci",
    "rate_ci",
]
