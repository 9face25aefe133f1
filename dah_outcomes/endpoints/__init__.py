"""DAH meaning: endpoint definitions, treatment arms and eras, the grouping vocabulary, and the
analysis frames that the statistics receive."""

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
    INDEX_COVARIATES,
    Endpoint,
    death_frame,
    endpoint_definitions,
    episode_outcomes,
    incidence_frame,
    patient_outcomes,
    recurrence_frame,
    recurrent_episodes_frame,
)
from dah_outcomes.endpoints.grouping import (
    BY_CHOICES,
    GROUPINGS,
    Grouping,
    attach_group,
    check_by,
)
from dah_outcomes.endpoints.timelines import (
    IMMORTAL_TIME_REMEDY,
    TIMINGS,
    check_immortal_time,
    compared_treatments,
    treatment_starts,
    treatment_timeline,
    treatment_timing,
)

__all__ = [
    "BY_CHOICES",
    "DEFAULT_ARMS",
    "DEFAULT_ERAS",
    "ENDPOINTS",
    "GROUPINGS",
    "IMMORTAL_TIME_REMEDY",
    "INDEX_COVARIATES",
    "TIMINGS",
    "Arm",
    "ArmDefinition",
    "Endpoint",
    "EraDefinition",
    "Grouping",
    "assign_arms",
    "assign_eras",
    "attach_group",
    "check_by",
    "check_immortal_time",
    "compared_treatments",
    "death_frame",
    "endpoint_definitions",
    "episode_outcomes",
    "incidence_frame",
    "patient_outcomes",
    "recurrence_frame",
    "recurrent_episodes_frame",
    "treatment_starts",
    "treatment_timeline",
    "treatment_timing",
]
