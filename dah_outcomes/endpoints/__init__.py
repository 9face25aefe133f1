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
    Endpoint,
    death_frame,
    incidence_frame,
    patient_outcomes,
    recurrence_frame,
    recurrent_episodes_frame,
)

__all__ = [
    "DEFAULT_ARMS",
    "DEFAULT_ERAS",
    "ENDPOINTS",
    "Arm",
    "ArmDefinition",
    "Endpoint",
    "EraDefinition",
    "assign_arms",
    "assign_eras",
    "death_frame",
    "incidence_frame",
    "patient_outcomes",
    "recurrence_frame",
    "recurrent_episodes_frame",
]
