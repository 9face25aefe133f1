"""Running the cohort definition where the OMOP data live, and bringing back only the small
analytic cohort and aggregated denominators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from dah_outcomes.omop.sql import (
    CDM_TABLES,
    VOCABULARY_TABLES,
    concept_set_query,
    extraction_queries,
    staging_queries,
)
from dah_outcomes.results import ResultMixin
from dah_outcomes.schema import TREATMENT_FLAGS
from dah_outcomes.stats.proportions import ProportionCI, RateCI, proportion_ci, rate_ci

__all__ = ["ENGINES", "ExtractionResult", "extract_cohort"]

ENGINES = ("duckdb", "spark")
#: Features that are treatments: each found in an episode window becomes a course.
_COURSES = tuple(n for n in FEATURE_SETS if n in TREATMENT_FLAGS)
_SESSIONS = {"plasmapheresis": "plasmapheresis_sessions"}  # counted as distinct days
#: Episode columns filled from a feature's row: (column, the row's field)
_EPISODE_VALUES = {
    "plasmapheresis": ("plasmapheresis_sessions", "days"),
    "methylprednisolone_pulse": ("methylprednisolone_dose_mg", "dose_mg"),
}


class _Engine(Protocol):
    dialect: str

    def tables(self) -> set[str]: ...
    def columns(self) -> dict[str, set[str]]: ...
    def register(self, name: str, frame: pd.DataFrame) -> None: ...
    def materialize(self, name: str, sql: str) -> None: ...
    def query(self, sql: str) -> pd.DataFrame: ...
    def close(self) -> None: ...


class _DuckDB:
    """DuckDB on a database file, or on a folder of Parquet files (one per table)."""

    dialect = "duckdb"

    def __init__(self, source: Path) -> None:
        import duckdb

        if source.is_dir():
            self.con = duckdb.connect()
            try:
                for f in sorted(source.glob("*.parquet")):
                    self.con.execute(f"CREATE VIEW {f.stem} AS SELECT * FROM read_parquet('{f}')")
            except duckdb.Error:
                self.con.close()
                raise
        else:
            self.con = duckdb.connect(str(source), read_only=True)

    def tables(self) -> set[str]:
        return {
            r[0]
            for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }

    def columns(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        sql = "SELECT table_name, column_name FROM information_schema.columns"
        for table, column in self.con.execute(sql).fetchall():
            found.setdefault(table.lower(), set()).add(column.lower())
        return found

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def materialize(self, name: str, sql: str) -> None:
        # a temporary table: allowed on a read-only database, gone when the connection closes
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

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
            # the default 1 GB driver at times failed to broadcast a join side at 1e6 rows
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        self.names: dict[str, set[str]] = {}
        self.cached: list[Any] = []
        try:
            for f in sorted(source.glob("*.parquet")):
                try:
                    frame = self.spark.read.parquet(str(f))
                except _engine_errors("spark") as exc:
                    raise CohortFileError(
                        f"{source} could not be read as an OMOP CDM database by spark: "
                        f"{f.name} is not a readable Parquet table ({_reason(exc)})"
                    ) from exc
                frame.createOrReplaceTempView(f.stem)
                self.names[f.stem] = {c.lower() for c in frame.columns}
        except BaseException:
            self.close()
            raise

    def tables(self) -> set[str]:
        return set(self.names)

    def columns(self) -> dict[str, set[str]]:
        return {k: set(v) for k, v in self.names.items()}

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
        self.names[name] = set(frame.columns)

    def materialize(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).cache()
        frame.createOrReplaceTempView(name)
        self.names[name] = set(frame.columns)
        self.cached.append(frame)

    def query(self, sql: str) -> pd.DataFrame:
        result = self.spark.sql(sql)
        rows = result.collect()
        # an empty result keeps its columns, as DuckDB's does
        return pd.DataFrame([r.asDict() for r in rows], columns=result.columns)

    def close(self) -> None:
        if self.own:
            self.spark.stop()
        else:  # a caller's session: leave it without our views and cached tables
            for frame in self.cached:
                frame.unpersist()
            for name in self.names:
                self.spark.catalog.dropTempView(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractionResult(ResultMixin):
    """The analytic cohort and the population denominators from an OMOP database.

    Attributes
    ----------
    cohort : Cohort
        DAH patients, their episodes and the episodes' dated treatment courses (a case
        series; the population stays in the engine).
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


def _engine_errors(engine: str) -> tuple[type[BaseException], ...]:
    """The exceptions an engine raises on data it cannot read (its own classes)."""
    if engine == "duckdb":
        import duckdb

        return (duckdb.Error,)
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover - no pyspark: _Spark says so first
        return ()
    return (PySparkException, Py4JError)


def _reason(exc: BaseException) -> str:
    """The first line of an engine error: for a Java one, of the Java exception (py4j's own
    message only names the call that failed)."""
    java = getattr(exc, "java_exception", None)
    text = str(java if java is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _reading(path: Path, engine: str) -> Iterator[None]:
    """Turn the engine's own errors on unreadable data into ours, naming the database."""
    try:
        yield
    except _engine_errors(engine) as exc:
        raise CohortFileError(
            f"{path} could not be read as an OMOP CDM database by {engine}: {_reason(exc)}"
        ) from exc


def _open(path: Path, engine: str, session: Any) -> _Engine:
    if engine not in ENGINES:
        raise ArgumentError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if not path.exists():
        raise CohortFileError(
            f"{path} does not exist: give a DuckDB file or a folder of OMOP Parquet tables"
        )
    return _DuckDB(path) if engine == "duckdb" else _Spark(path, session)


def _check_cdm(path: Path, columns: dict[str, set[str]]) -> None:
    """Every CDM table the extraction reads, and every column it needs, or one error that
    lists all that is missing."""
    missing = [t for t in CDM_TABLES if t not in columns]
    problems = []
    if missing:
        problems.append(f"table(s) {', '.join(missing)}")
    for table, needed in {**CDM_TABLES, **VOCABULARY_TABLES}.items():
        lacking = [c for c in needed if table in columns and c not in columns[table]]
        if lacking:
            problems.append(f"column(s) {', '.join(lacking)} of table {table}")
    if problems:
        found = ", ".join(sorted(columns)) or "no table"
        raise CohortFileError(
            f"{path} is not a usable OMOP CDM database: it lacks "
            + "; ".join(problems)
            + f" (found: {found})"
        )


def _patients(patients: pd.DataFrame, d: OmopDefinition) -> pd.DataFrame:
    pid = patients["person_id"].astype(np.int64)
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
    return pd.DataFrame(
        {
            "patient_id": pd.Series([f"SLE{i:07d}" for i in pid], dtype="string"),
            "sex": sex,
            "birth_date": birth,
            "sle_diagnosis_date": pd.to_datetime(patients["sle_date"]),
            "followup_start": pd.to_datetime(patients["sle_date"]),
            "followup_end": pd.to_datetime(patients["fu_end"]),
            "death_date": pd.to_datetime(patients["death_date"]),
            "vital_status": _vital_status(patients["death_date"]),
        }
    )


def _vital_status(death_date: pd.Series) -> np.ndarray:
    """Dead with a ``death`` row, alive at the end of observation without one.

    OMOP records no "alive": the CDM's convention is that the absence of a record within an
    observation period means the event did not happen, so a person without a death row was
    alive when their observation ended (``followup_end``). A death the source knew of but
    could not date has no ``death`` row (its date is required) and is read as alive: the
    limitation of the CDM, not of this extraction.
    """
    return np.where(death_date.notna().to_numpy(), "dead", "alive")


def _episodes_and_courses(
    rows: pd.DataFrame, id_of: Callable[[pd.Series], pd.Series]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the episode-by-feature rows into the episodes (flags: the feature has a row) and
    the treatment courses (the same rows), so the two cannot disagree."""
    person = rows["person_id"].to_numpy(dtype=np.int64)
    number = rows["episode_number"].to_numpy(dtype=np.int64)
    # one integer per episode (episode numbers stay far below 2**20)
    episode = (person << 20) | number
    first = ~pd.Index(episode).duplicated()
    base = rows[first].reset_index(drop=True)
    at = pd.Index(episode[first]).get_indexer(episode)  # each row's episode
    feature = pd.to_numeric(rows["feature"]).fillna(-1).to_numpy(dtype=np.int64)
    some = feature >= 0
    has = np.zeros((len(base), len(FEATURE_SETS)), dtype=bool)
    has[at[some], feature[some]] = True
    e = pd.DataFrame(
        {
            "patient_id": id_of(base["person_id"]),
            "episode_number": base["episode_number"].astype(np.int64),
            "onset_date": pd.to_datetime(base["onset_date"]),
            "discharge_date": pd.to_datetime(base["discharge_date"]),
            "first_manifestation": base["first_manifestation"].astype(bool),
            **{c: has[:, i] for i, c in enumerate(FEATURE_SETS)},
            "in_hospital_death": base["in_hospital_death"].astype(bool),
        }
    )
    names = list(FEATURE_SETS)
    for name, (col, source) in _EPISODE_VALUES.items():
        mine = feature == names.index(name)
        values = np.full(len(base), np.nan)
        values[at[mine]] = pd.to_numeric(rows.loc[mine, source]).astype(float).to_numpy()
        e[col] = np.nan_to_num(values, nan=0).astype(np.int64) if name in _SESSIONS else values
    is_course = np.isin(feature, [names.index(n) for n in _COURSES])
    t = rows[is_course].reset_index(drop=True)
    treatment = pd.Series(np.array(names, dtype=object)[feature[is_course]], dtype="string")
    courses = pd.DataFrame(
        {
            "patient_id": id_of(t["person_id"]),
            "episode_number": t["episode_number"].astype(np.int64),
            "treatment": treatment,
            "start_date": pd.to_datetime(t["start_date"]),
            "end_date": pd.to_datetime(t["end_date"]),
            "dose_mg": pd.to_numeric(t["dose_mg"]).astype("Float64"),
            "sessions": pd.to_numeric(t["days"])
            .astype("Int64")
            .where(treatment.isin(list(_SESSIONS))),
        }
    )
    return e, courses


def _to_cohort(
    patients: pd.DataFrame, rows: pd.DataFrame, d: OmopDefinition, provenance: dict[str, Any]
) -> Cohort:
    p = _patients(patients, d)
    id_of = dict(zip(patients["person_id"].astype(np.int64), p["patient_id"], strict=True))

    def ids(person: pd.Series) -> pd.Series:
        return pd.Series(person.map(id_of).to_numpy(), dtype="string")

    e, t = _episodes_and_courses(rows, ids)
    # the extracted cohort meets the rules every import meets, the courses' included
    return Cohort(p, e, provenance=provenance, design="case_series", treatments=t)


def _run(eng: _Engine, path: Path, d: OmopDefinition) -> dict[str, pd.DataFrame]:
    columns = eng.columns()
    _check_cdm(path, columns)
    ids, codes, excl = d.seeds()
    eng.register("dah_seed_ids", ids)
    eng.register("dah_seed_codes", codes)
    eng.register("dah_seed_excludes", excl)
    sets = eng.query(concept_set_query("concept" in columns, "concept_ancestor" in columns))
    if not (sets["set_name"] == "dah").any():
        raise ArgumentError(
            "the DAH concept set resolved to no concept: the definition "
            "names codes but the database has no matching CONCEPT rows; "
            "add concept_ids to [dah] or load the vocabulary tables"
        )
    eng.register("dah_concept_sets", sets.astype({"concept_id": np.int64}))
    for name, sql in staging_queries(d, eng.dialect).items():
        eng.materialize(name, sql)
    queries = extraction_queries(d, eng.dialect, columns)
    return {name: eng.query(sql) for name, sql in queries.items()}


def extract_cohort(
    source: str | Path,
    *,
    engine: str = "duckdb",
    definition: OmopDefinition | str | Path | None = None,
    spark_session: Any = None,
) -> ExtractionResult:
    """Extract the DAH-in-SLE cohort from an OMOP CDM database.

    Each episode's treatments become courses (the cohort's ``treatments`` table): per
    treatment, the first ``drug_exposure_start_date`` or ``procedure_date`` in the episode's
    window (onset to discharge), the last end date (``drug_exposure_end_date`` or
    ``procedure_end_date`` where present, else the last start), the distinct days as
    plasmapheresis sessions, and the total dose in mg where ``quantity`` and
    ``drug_strength`` give it. The episode flags come from the same rows.

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

    Raises
    ------
    CohortFileError
        When ``source`` is missing or unreadable, or lacks a CDM table or column the
        extraction reads (naming the path and every one missing).
    ValidationError
        When the extracted tables break a rule of the cohort contract.
    """
    d = definition if isinstance(definition, OmopDefinition) else load_definition(definition)
    path = Path(source)
    with _reading(path, engine):
        eng = _open(path, engine, spark_session)
        try:
            got = _run(eng, path, d)
        finally:
            eng.close()
    denominators = got["denominators"]
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
        cohort=_to_cohort(got["patients"], got["episodes"], d, provenance),
        denominators=denominators,
        definition_text=d.describe(),
        engine=engine,
    )
