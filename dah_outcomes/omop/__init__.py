"""OMOP CDM: a declarative DAH-in-SLE cohort definition, extraction where the data live
(DuckDB by default, Spark for data that outgrow one machine), and a synthetic OMOP writer."""
