"""Writing a synthetic cohort as an OMOP CDM database, with realistic background noise.

The generator's patients and DAH episodes become ``person``, ``observation_period``,
``visit_occurrence``, ``condition_occurrence``, ``procedure_occurrence``, ``drug_exposure`` and
``death`` rows, plus small ``concept`` and ``concept_ancestor`` tables. Noise makes extraction
earn its keep: people without SLE (some with DAH codes or drug-induced lupus), unrelated codes,
DAH codes repeated within a stay, DAH codes at outpatient visits, and treatment codes just outside
the episode windows. Patients are written in chunks, so memory stays bounded however many
clinical rows are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError

__all__ = ["CONCEPTS", "OmopNoise", "write_omop"]

# Local concept IDs (OMOP reserves > 2,000,000,000 for site-specific concepts) stand in for
# codes without a verified standard concept; the definition finds them through CONCEPT by code.
DAH_LOCAL, BAL_LOCAL, NOISE_BASE = 2_000_000_001, 2_000_000_003, 2_000_000_100

#: concept_id -> (vocabulary_id, concept_code, concept_name, domain_id)
CONCEPTS: dict[int, tuple[str, str, str, str]] = {
    257628: ("SNOMED", "55464009", "Systemic lupus erythematosus", "Condition"),
    4063581: ("SNOMED", "201436003", "Drug-induced systemic lupus erythematosus", "Condition"),
    DAH_LOCAL: ("SNOMED", "78144005", "Pulmonary hemorrhage (local concept)", "Condition"),
    4285717: ("SNOMED", "68815009", "SLE glomerulonephritis syndrome", "Condition"),
    4230167: ("SNOMED", "40617009", "Artificial respiration", "Procedure"),
    4049372: ("SNOMED", "20720000", "Plasmapheresis", "Procedure"),
    4052536: ("SNOMED", "233573008", "Extracorporeal membrane oxygenation", "Procedure"),
    BAL_LOCAL: ("SNOMED", "397397002", "Bronchoscopy and BAL (local concept)", "Procedure"),
    1506270: ("RxNorm", "6902", "methylprednisolone", "Drug"),
    1551099: ("RxNorm", "8640", "prednisone", "Drug"),
    1310317: ("RxNorm", "3002", "cyclophosphamide", "Drug"),
    1314273: ("RxNorm", "121191", "rituximab", "Drug"),
    19003999: ("RxNorm", "68149", "mycophenolate mofetil", "Drug"),
    1777087: ("RxNorm", "5521", "hydroxychloroquine", "Drug"),
    9201: ("Visit", "IP", "Inpatient Visit", "Visit"),
    9202: ("Visit", "OP", "Outpatient Visit", "Visit"),
    8532: ("Gender", "F", "FEMALE", "Gender"),
    8507: ("Gender", "M", "MALE", "Gender"),
    **{
        NOISE_BASE + i: ("SNOMED", f"noise-{i}", f"Unrelated condition {i}", "Condition")
        for i in range(20)
    },
}
_PROCEDURES = {"mechanical_ventilation": 4230167, "ecmo": 4052536, "bal_confirmed": BAL_LOCAL}
_DRUGS = {
    "methylprednisolone_pulse": 1506270,
    "oral_prednisone": 1551099,
    "cyclophosphamide": 1310317,
    "rituximab": 1314273,
    "mycophenolate": 19003999,
    "hydroxychloroquine": 1777087,
}
TABLES = (
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "death",
)


@dataclass(frozen=True, slots=True)
class OmopNoise:
    """How much background noise to write.

    Attributes
    ----------
    non_sle_fraction : float
        People without SLE, as a fraction of the SLE patients.
    rows_per_person : float
        Unrelated condition rows per person (Poisson mean); 100 gives ~100 million clinical
        rows for a million people.
    repeat_codes : bool
        Repeat DAH codes on later days of a stay, and SLE codes after diagnosis.
    near_misses : bool
        Treatment codes a day outside episode windows, DAH codes at outpatient visits and in
        people without SLE, drug-induced lupus codes.
    """

    non_sle_fraction: float = 0.2
    rows_per_person: float = 5.0
    repeat_codes: bool = True
    near_misses: bool = True


def _day(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)


def _date(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), type=pa.date32())


def person_ids(patient_ids: pd.Series) -> np.ndarray:
    """OMOP person_id of generated patients ("SLE0000123" -> 123)."""
    return patient_ids.str.slice(3).astype(np.int64).to_numpy()


def _chunks(cohort: Cohort, size: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    p, e = cohort.patients, cohort.episodes
    pid = person_ids(p["patient_id"])
    eid = person_ids(e["patient_id"])
    for start in range(0, len(p), size):
        lo, hi = pid[start], pid[min(start + size, len(p)) - 1]
        mask = (eid >= lo) & (eid <= hi)
        yield p.iloc[start : start + size], e[mask]


def _table_rows(
    p: pd.DataFrame,
    e: pd.DataFrame,
    noise: OmopNoise,
    first_noise_id: int,
    rng: np.random.Generator,
) -> dict[str, Mapping[str, np.ndarray | None]]:
    pid = person_ids(p["patient_id"])
    dx, end = _day(p["sle_diagnosis_date"]), _day(p["followup_end"])
    birth = p["birth_date"].dt
    n_noise = rng.binomial(len(p), noise.non_sle_fraction) if noise.non_sle_fraction else 0
    noise_ids = first_noise_id + np.arange(n_noise)
    noise_start = rng.integers(dx.min(), dx.max() + 1, n_noise) if n_noise else np.zeros(0, int)
    noise_end = noise_start + rng.integers(30, 20 * 365, n_noise)
    all_ids = np.concatenate([pid, noise_ids])
    female = np.concatenate([(p["sex"] == "F").to_numpy(), rng.random(n_noise) < 0.5])
    person = {
        "person_id": all_ids,
        "gender_concept_id": np.where(female, 8532, 8507),
        "year_of_birth": np.concatenate([birth.year.to_numpy(), rng.integers(1930, 2005, n_noise)]),
        "month_of_birth": np.concatenate([birth.month.to_numpy(), rng.integers(1, 13, n_noise)]),
        "day_of_birth": np.concatenate([birth.day.to_numpy(), rng.integers(1, 29, n_noise)]),
        "race_concept_id": np.zeros(len(all_ids), dtype=np.int64),
        "ethnicity_concept_id": np.zeros(len(all_ids), dtype=np.int64),
    }
    prior = rng.integers(0, 366, len(p))
    obs = {
        "person_id": all_ids,
        "observation_period_start_date": np.concatenate([dx - prior, noise_start]),
        "observation_period_end_date": np.concatenate([end, noise_end]),
        "period_type_concept_id": np.full(len(all_ids), 32817),
    }
    cond: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(pid, dx, np.full(len(p), 257628))]
    visits: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    procs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    drugs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # every person's unrelated codes, inside their observation
    starts, ends = obs["observation_period_start_date"], obs["observation_period_end_date"]
    k = rng.poisson(noise.rows_per_person, len(all_ids))
    who = np.repeat(np.arange(len(all_ids)), k)
    when = starts[who] + (rng.random(len(who)) * (ends[who] - starts[who] + 1)).astype(np.int64)
    cond.append((all_ids[who], when, NOISE_BASE + rng.integers(0, 20, len(who))))
    if noise.repeat_codes:
        again = rng.random(len(p)) < 0.7
        span = np.maximum(end - dx, 0)
        cond.append(
            (
                pid[again],
                dx[again] + (rng.random(again.sum()) * (span[again] + 1)).astype(np.int64),
                np.full(again.sum(), 257628),
            )
        )
    # episodes: an inpatient stay each, DAH coded at onset, features within the stay
    epid = person_ids(e["patient_id"])
    onset, disch = _day(e["onset_date"]), _day(e["discharge_date"])
    stay = disch - onset
    visits.append((epid, onset, disch, np.full(len(e), 9201)))
    cond.append((epid, onset, np.full(len(e), DAH_LOCAL)))
    if noise.repeat_codes:
        rep = rng.random(len(e)) < 0.5
        cond.append(
            (
                epid[rep],
                onset[rep] + (rng.random(rep.sum()) * (stay[rep] + 1)).astype(np.int64),
                np.full(rep.sum(), DAH_LOCAL),
            )
        )
    neph = e["nephritis"].fillna(False).to_numpy(dtype=bool)
    cond.append((epid[neph], onset[neph], np.full(neph.sum(), 4285717)))

    def within(mask: np.ndarray) -> np.ndarray:
        return onset[mask] + (rng.random(mask.sum()) * (stay[mask] + 1)).astype(np.int64)

    for col, concept in _PROCEDURES.items():
        m = e[col].fillna(False).to_numpy(dtype=bool)
        procs.append((epid[m], within(m), np.full(m.sum(), concept)))
    sessions = e["plasmapheresis_sessions"].fillna(0).to_numpy(dtype=np.int64)
    sessions = np.where(
        e["plasmapheresis"].fillna(False).to_numpy(dtype=bool), np.maximum(sessions, 1), 0
    )
    sessions = np.minimum(sessions, stay + 1)  # one session a day at most
    rows = np.repeat(np.arange(len(e)), sessions)
    offsets = (
        np.concatenate(
            [
                rng.permutation(int(s) + 1)[:n] if n else np.zeros(0, int)
                for s, n in zip(stay, sessions, strict=True)
            ]
        )
        if len(rows)
        else (np.zeros(0, dtype=np.int64))
    )
    procs.append((epid[rows], onset[rows] + offsets, np.full(len(rows), 4049372)))
    for col, concept in _DRUGS.items():
        m = e[col].fillna(False).to_numpy(dtype=bool)
        drugs.append((epid[m], within(m), np.full(m.sum(), concept)))
    if noise.near_misses and len(e):
        # treatment codes a day outside the window must not count
        miss = ~e["plasmapheresis"].fillna(False).to_numpy(dtype=bool) & (rng.random(len(e)) < 0.2)
        procs.append((epid[miss], disch[miss] + 1, np.full(miss.sum(), 4049372)))
        miss = ~e["rituximab"].fillna(False).to_numpy(dtype=bool) & (rng.random(len(e)) < 0.2)
        drugs.append((epid[miss], onset[miss] - 1, np.full(miss.sum(), 1314273)))
    if noise.near_misses:
        # DAH codes at outpatient visits of SLE patients without DAH (not inpatient: no episode)
        no_dah = ~np.isin(pid, epid) & (rng.random(len(p)) < 0.01) & (end > dx)
        day = dx[no_dah] + (rng.random(no_dah.sum()) * (end[no_dah] - dx[no_dah])).astype(int)
        visits.append((pid[no_dah], day, day, np.full(no_dah.sum(), 9202)))
        cond.append((pid[no_dah], day, np.full(no_dah.sum(), DAH_LOCAL)))
        # people without SLE: inpatient DAH stays and drug-induced lupus
        if n_noise:
            sick = rng.random(n_noise) < 0.05
            day = noise_start[sick] + 10
            visits.append((noise_ids[sick], day, day + 5, np.full(sick.sum(), 9201)))
            cond.append((noise_ids[sick], day, np.full(sick.sum(), DAH_LOCAL)))
            cond.append((noise_ids[sick], day, np.full(sick.sum(), 4063581)))
    death = p["death_date"].notna().to_numpy()

    def cat(parts: list, i: int) -> np.ndarray:
        return np.concatenate([x[i] for x in parts]) if parts else np.zeros(0, dtype=np.int64)

    return {
        "person": person,
        "observation_period": obs,
        "visit_occurrence": {
            "person_id": cat(visits, 0),
            "visit_start_date": cat(visits, 1),
            "visit_end_date": cat(visits, 2),
            "visit_concept_id": cat(visits, 3),
            "visit_type_concept_id": None,
        },
        "condition_occurrence": {
            "person_id": cat(cond, 0),
            "condition_start_date": cat(cond, 1),
            "condition_concept_id": cat(cond, 2),
            "condition_type_concept_id": None,
        },
        "procedure_occurrence": {
            "person_id": cat(procs, 0),
            "procedure_date": cat(procs, 1),
            "procedure_concept_id": cat(procs, 2),
            "procedure_type_concept_id": None,
        },
        "drug_exposure": {
            "person_id": cat(drugs, 0),
            "drug_exposure_start_date": cat(drugs, 1),
            "drug_concept_id": cat(drugs, 2),
            "drug_exposure_end_date": cat(drugs, 1),
            "drug_type_concept_id": None,
        },
        "death": {
            "person_id": pid[death],
            "death_date": _day(p["death_date"][death]),
            "death_type_concept_id": None,
        },
    }


def _arrow(table: str, cols: Mapping[str, np.ndarray | None], id_start: int) -> pa.Table:
    n = len(next(iter(v for v in cols.values() if v is not None)))
    arrays, names = [], []
    key = {
        "visit_occurrence": "visit_occurrence_id",
        "condition_occurrence": "condition_occurrence_id",
        "procedure_occurrence": "procedure_occurrence_id",
        "drug_exposure": "drug_exposure_id",
        "observation_period": "observation_period_id",
    }.get(table)
    if key:
        names.append(key)
        arrays.append(pa.array(id_start + np.arange(n, dtype=np.int64)))
    for name, values in cols.items():
        names.append(name)
        if values is None:
            arrays.append(pa.array(np.full(n, 32817, dtype=np.int64)))  # "EHR" type concept
        elif name.endswith("_date"):
            arrays.append(_date(values))
        else:
            arrays.append(pa.array(np.asarray(values, dtype=np.int64)))
    return pa.table(arrays, names=names)


def write_omop(
    cohort: Cohort,
    out: str | Path,
    *,
    noise: OmopNoise | None = None,
    seed: int = 0,
    chunk_patients: int = 200_000,
    to_duckdb: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, int]:
    """Write ``cohort`` (a generated population cohort) as an OMOP CDM database.

    Parameters
    ----------
    cohort : Cohort
        A synthetic population cohort (patient ids ``SLE0000001``...).
    out : path
        A folder of Parquet files (one per table), or with ``to_duckdb`` a DuckDB file.
    noise : OmopNoise, optional
        Background noise (defaults as :class:`OmopNoise`).
    seed : int
        Seed of the noise and of dates within stays.
    chunk_patients : int
        Patients per chunk (bounds memory).
    to_duckdb : bool
        Write a DuckDB database file instead of Parquet.

    Returns
    -------
    dict of str to int
        Rows written per table.
    """
    if cohort.design != "population":
        raise ArgumentError(
            "write_omop needs a population cohort (all SLE patients), as generate_cohort returns"
        )
    noise = noise or OmopNoise()
    rng = np.random.default_rng(seed)
    out = Path(out)
    folder = out.with_suffix(".parquet.d") if to_duckdb else out
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    counts = dict.fromkeys(TABLES, 0)
    next_noise = int(person_ids(cohort.patients["patient_id"]).max()) + 1
    n_chunks = -(-cohort.n_patients // chunk_patients)
    try:
        for i, (p, e) in enumerate(_chunks(cohort, chunk_patients)):
            rows = _table_rows(p, e, noise, next_noise, rng)
            next_noise += len(rows["person"]["person_id"]) - len(p)  # type: ignore[arg-type]
            for table in TABLES:
                arrow = _arrow(table, rows[table], counts[table] + 1)
                if table not in writers:
                    writers[table] = pq.ParquetWriter(folder / f"{table}.parquet", arrow.schema)
                writers[table].write_table(arrow)
                counts[table] += arrow.num_rows
            if progress:
                progress("writing OMOP tables", (i + 1) / n_chunks)
    finally:
        for w in writers.values():
            w.close()
    concept = pd.DataFrame(
        [(cid, *v) for cid, v in CONCEPTS.items()],
        columns=["concept_id", "vocabulary_id", "concept_code", "concept_name", "domain_id"],
    )
    pq.write_table(pa.Table.from_pandas(concept, preserve_index=False), folder / "concept.parquet")
    ancestor = pd.DataFrame(
        {
            "ancestor_concept_id": concept["concept_id"],
            "descendant_concept_id": concept["concept_id"],
        }
    )
    pq.write_table(
        pa.Table.from_pandas(ancestor, preserve_index=False), folder / "concept_ancestor.parquet"
    )
    counts["concept"] = len(concept)
    if to_duckdb:
        import shutil

        import duckdb

        if out.exists():
            out.unlink()
        con = duckdb.connect(str(out))
        try:
            for f in sorted(folder.glob("*.parquet")):
                con.execute(f"CREATE TABLE {f.stem} AS SELECT * FROM read_parquet('{f}')")
        finally:
            con.close()
        shutil.rmtree(folder)
    return counts
