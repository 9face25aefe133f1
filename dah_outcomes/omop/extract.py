"""Running the cohort definition where the OMOP data live, and bringing back only the small
analytic cohort and aggregated denominators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import (
    ArgumentError,
    CohortFileError,
    EstimationError,
    MissingDependencyError,
)
from dah_outcomes.omop.definition import FEATURE_SETS, OmopDefinition, load_definition
from dah_outcomes.omop.sql import concept_set_query, extraction_queries
from dah_outcomes.results import ResultMixin
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci

__all__ = ["ENGINES", "ExtractionResult", "extract_cohort"]

ENGINES = ("duckdb", "spark")
_REQUIRED = (
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "death",
)


class _Engine(Protocol):
    dialect: str

    def tables(self) -> set[str]: ...
    def register(self, name: str, frame: pd.DataFrame) -> None: ...
    def query(self, sql: str) -> pd.DataFrame: ...
    def close(self) -> None: ...


class _DuckDB:
    """DuckDB on a database file, or on a folder of Parquet files (one per table)."""

    dialect = "duckdb"

    def __init__(self, source: Path) -> None:
        import duckdb

        if source.is_dir():
            self.con = duckdb.connect()
            for f in sorted(source.glob("*.parquet")):
                self.con.execute(f"CREATE VIEW {f.stem} AS SELECT * FROM read_parquet('{f}')")
        else:
            self.con = duckdb.connect(str(source), read_only=True)

    def tables(self) -> set[str]:
        return {
            r[0]
            for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        self.con.close()


class _Spark:
    """A Spark session (local mode unless one is active) on a folder of Parquet tables."""

    dialect = "spark"

    def __init__(self, source: Path, session: Any = None) -> None:
        if not source.is_dir():
            raise ArgumentError(
                f"the spark engine reads a folder of Parquet tables; {source} is not a folder"
            )
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise MissingDependencyError(
                'the spark engine needs pyspark: pip install "dah_outcomes[spark]"',
                name="pyspark",
            ) from exc
        self.own = session is None and SparkSession.getActiveSession() is None
        self.spark = (
            session
            or SparkSession.builder.master("local[2]")
            .appName("dah_outcomes")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        self.names: set[str] = set()
        for f in sorted(source.glob("*.parquet")):
            self.spark.read.parquet(str(f)).createOrReplaceTempView(f.stem)
            self.names.add(f.stem)

    def tables(self) -> set[str]:
        return set(self.names)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        from pyspark.sql import types

        kinds = {"int64": types.LongType(), "bool": types.BooleanType()}
        schema = types.StructType(
            [
                types.StructField(c, kinds.get(str(frame[c].dtype), types.StringType()))
                for c in frame.columns
            ]
        )
        rows = [tuple(r) for r in frame.astype(object).itertuples(index=False)]
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
        self.names.add(name)

    def query(self, sql: str) -> pd.DataFrame:
        rows = self.spark.sql(sql).collect()
        return pd.DataFrame([r.asDict() for r in rows])

    def close(self) -> None:
        if self.own:
            self.spark.stop()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractionResult(ResultMixin):
    """The analytic cohort and the population denominators from an OMOP database.

    Attributes
    ----------
    cohort : Cohort
        DAH patients and their episodes (a case series; the population stays in the engine).
    denominators : DataFrame
        By sex: ``sex, sle_patients, dah_patients, person_years`` (person-years from SLE entry
        to first DAH or end of follow-up).
    definition_text : str
        The definition in human terms, with every code list (RECORD 6.1).
    engine : str
        ``duckdb`` or ``spark``.
    """

    cohort: Cohort = field(repr=False)
    denominators: pd.DataFrame = field(repr=False)
    definition_text: str = field(repr=False)
    engine: str

    def to_frame(self) -> pd.DataFrame:
        """The denominators (a copy)."""
        return self.denominators.copy()

    def incidence(self, *, conf_level: float = 0.95) -> tuple[ProportionCI, RateCI]:
        """DAH cumulative incidence among SLE patients, and first DAH per 1,000 person-years."""
        d = self.denominators
        n, k, py = (
            int(d["sle_patients"].sum()),
            int(d["dah_patients"].sum()),
            float(d["person_years"].sum()),
        )
        if n == 0 or py <= 0:
            raise EstimationError("no SLE patients (or no person-time) in the denominators")
        return (
            proportion_ci(k, n, conf_level=conf_level),
            rate_ci(k, py, per=1000.0, conf_level=conf_level),
        )


def _open(source: str | Path, engine: str, session: Any) -> _Engine:
    if engine not in ENGINES:
        raise ArgumentError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    path = Path(source)
    if not path.exists():
        raise CohortFileError(
            f"{path} does not exist: give a DuckDB file or a folder of OMOP Parquet tables"
        )
    return _DuckDB(path) if engine == "duckdb" else _Spark(path, session)


def _to_cohort(
    patients: pd.DataFrame, episodes: pd.DataFrame, d: OmopDefinition, provenance: dict[str, Any]
) -> Cohort:
    pid = patients["person_id"].astype(np.int64)
    ids = pd.Series([f"SLE{i:07d}" for i in pid], dtype="string")
    birth = pd.to_datetime(
        pd.DataFrame(
            {
                "year": patients["year_of_birth"].astype(int),
                "month": patients["month_of_birth"].fillna(1).astype(int),
                "day": patients["day_of_birth"].fillna(1).astype(int),
            }
        )
    )
    sex = np.where(
        patients["gender_concept_id"] == d.female_concept_id,
        "F",
        np.where(patients["gender_concept_id"] == d.male_concept_id, "M", "unknown"),
    )
    p = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": sex,
            "birth_date": birth,
            "sle_diagnosis_date": pd.to_datetime(patients["sle_date"]),
            "followup_start": pd.to_datetime(patients["sle_date"]),
            "followup_end": pd.to_datetime(patients["fu_end"]),
            "death_date": pd.to_datetime(patients["death_date"]),
        }
    )
    id_of = dict(zip(pid, ids, strict=True))
    e = pd.DataFrame(
        {
            "patient_id": pd.Series(
                [id_of[i] for i in episodes["person_id"].astype(np.int64)], dtype="string"
            ),
            "episode_number": episodes["episode_number"].astype(np.int64),
            "onset_date": pd.to_datetime(episodes["onset_date"]),
            "discharge_date": pd.to_datetime(episodes["discharge_date"]),
            "first_manifestation": episodes["first_manifestation"].astype(bool),
            **{c: episodes[c].astype(bool) for c in FEATURE_SETS},
            "plasmapheresis_sessions": episodes["plasmapheresis_sessions"].astype(np.int64),
            "in_hospital_death": episodes["in_hospital_death"].astype(bool),
        }
    )
    return Cohort(p, e, provenance=provenance, design="case_series")


def extract_cohort(
    source: str | Path,
    *,
    engine: str = "duckdb",
    definition: OmopDefinition | str | Path | None = None,
    spark_session: Any = None,
) -> ExtractionResult:
    """Extract the DAH-in-SLE cohort from an OMOP CDM database.

    Parameters
    ----------
    source : path
        A DuckDB file, or a folder of Parquet files named after the OMOP tables.
    engine : {"duckdb", "spark"}
        Where the SQL runs. Spark (local mode unless a session is given or active) reads a
        Parquet folder.
    definition : OmopDefinition or path, optional
        The cohort definition; the shipped ``dah-sle-v1`` by default.
    spark_session : pyspark.sql.SparkSession, optional
        Reuse this session.

    Returns
    -------
    ExtractionResult
    """
    d = definition if isinstance(definition, OmopDefinition) else load_definition(definition)
    eng = _open(source, engine, spark_session)
    try:
        missing = [t for t in _REQUIRED if t not in eng.tables()]
        if missing:
            raise CohortFileError(f"{source} lacks OMOP table(s) {missing}")
        ids, codes, excl = d.seeds()
        eng.register("dah_seed_ids", ids)
        eng.register("dah_seed_codes", codes)
        eng.register("dah_seed_excludes", excl)
        have = eng.tables()
        sets = eng.query(concept_set_query("concept" in have, "concept_ancestor" in have))
        if not (sets["set_name"] == "dah").any():
            raise ArgumentError(
                "the DAH concept set resolved to no concept: the definition "
                "names codes but the database has no matching CONCEPT rows; "
                "add concept_ids to [dah] or load the vocabulary tables"
            )
        eng.register("dah_concept_sets", sets.astype({"concept_id": np.int64}))
        queries = extraction_queries(d, eng.dialect)
        patients = eng.query(queries["patients"])
        episodes = eng.query(queries["episodes"])
        denominators = eng.query(queries["denominators"])
    finally:
        eng.close()
    sex = np.where(
        denominators["gender_concept_id"] == d.female_concept_id,
        "F",
        np.where(denominators["gender_concept_id"] == d.male_concept_id, "M", "unknown"),
    )
    denominators = pd.DataFrame(
        {
            "sex": sex,
            "sle_patients": denominators["sle_patients"].astype(np.int64),
            "dah_patients": denominators["dah_patients"].astype(np.int64),
            "person_years": denominators["person_years"].astype(float),
        }
    )
    provenance = {
        "source": "omop",
        "database": str(source),
        "engine": engine,
        "definition": {
            "name": d.name,
            "version": d.version,
            "sha256": d.digest,
            "source": d.source,
        },
    }
    return ExtractionResult(
        cohort=_to_cohort(patients, episodes, d, provenance),
        denominators=denominators,
        definition_text=d.describe(),
        engine=engine,
    )
