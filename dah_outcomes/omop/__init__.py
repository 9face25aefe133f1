"""OMOP CDM: a declarative DAH-in-SLE cohort definition, extraction where the data live
(DuckDB by default, Spark for data that outgrow one machine), and a synthetic OMOP writer.

This namespace is the layer's API; the modules hold the logic.
"""

from dah_outcomes.omop.definition import OmopDefinition, load_definition
from dah_outcomes.omop.extract import ExtractionResult, extract_cohort
from dah_outcomes.omop.synthesize import OmopNoise, write_omop

__all__ = [
    "ExtractionResult",
    "OmopDefinition",
    "OmopNoise",
    "extract_cohort",
    "load_definition",
    "write_omop",
]
