"""Writing a synthetic cohort as an OMOP CDM database, with realistic background noise.

The generator's patients and DAH episodes become ``person``, ``observation_period``,
``visit_occurrence``, ``condition_occurrence``, ``procedure_occurrence``, ``drug_exposure`` and
``death`` rows, plus small ``concept``, ``concept_ancestor`` and ``drug_strength`` tables. A
cohort's treatment courses, when it has them, are written as dated exposures and procedures
(start, end, dose, one procedure per session); treatments flagged without a course are dated
at random within their stay, as are the other features. Noise makes extraction
earn its keep: people without SLE (some with DAH codes or drug-induced lupus), unrelated codes,
DAH codes repeated within a stay, DAH codes at outpatient visits, and treatment codes just outside
the episode windows. Patients are written in chunks, so memory stays bounded however many
clinical rows are written.

A patient dead on an unrecorded date (``vital_status`` dead, no ``death_date``) gets no
``death`` row, since the CDM requires its date: read back, they are alive at the end of
observation, as OMOP's convention implies.
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
from dah_outcomes.errors import ArgumentError, CohortFileError
from dah_outcomes.omop.sql import CDM_TABLES
from dah_outcomes.schema import TREATMENT_COLUMNS

__all__ = ["CONCEPTS", "OmopNoise", "write_omop"]

# Local concept IDs (OMOP reserves > 2,000,000,000 for site-specific concepts) stand in for
# codes without a verified standard concept; the definition finds them through CONCEPT by code.
DAH_LOCAL, BAL_LOCAL, NOISE_BASE = 2_000_000_001, 2_000_000_003, 2_000_000_100

#: ingredient -> a local clinical drug of it: (concept_id, name, mg per unit, mL per unit).
#: Without a volume the strength is an amount ("per tablet"); with one it is a quantified
#: liquid, numerator mg in denominator mL, as OMOP's DRUG_STRENGTH records them; either way
#: the exposure's quantity counts units.
DOSED: dict[int, tuple[int, str, float, float | None]] = {
    1506270: (2_000_000_201, "methylprednisolone 125 MG Injection", 125.0, None),
    1551099: (2_000_000_202, "prednisone 5 MG Oral Tablet", 5.0, None),
    1310317: (2_000_000_203, "cyclophosphamide 500 MG Injection", 500.0, None),
    1314273: (2_000_000_204, "rituximab 100 MG in 10 ML Injection", 100.0, 10.0),
    19003999: (2_000_000_205, "mycophenolate mofetil 500 MG Oral Tablet", 500.0, None),
    1777087: (2_000_000_206, "hydroxychloroquine 200 MG Oral Tablet", 200.0, None),
}

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
    # local clinical drugs: the ingredients in a form with a strength, so doses round-trip
    **{d[0]: ("Local", f"local-{d[0]}", d[1], "Drug") for d in DOSED.values()},
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
#: Flag columns whose dose an episode records (written as the flag-only course's dose).
_EPISODE_DOSE = {"methylprednisolone_pulse": "methylprednisolone_dose_mg"}
#: The clinical tables written per chunk: the ones the extraction reads.
TABLES = tuple(CDM_TABLES)


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


def _all_columns(t: pd.DataFrame) -> pd.DataFrame:
    """The courses with every contract column, the optional ones it lacks empty."""
    out = t.copy()
    for col in TREATMENT_COLUMNS:
        if col.name not in out:
            out[col.name] = pd.Series(pd.NA, index=out.index, dtype=col.pandas_dtype)
    return out


def _chunks(cohort: Cohort, size: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    p, e, t = cohort.patients, cohort.episodes, _all_columns(cohort.treatments)
    pid = person_ids(p["patient_id"])
    eid = person_ids(e["patient_id"])
    tid = person_ids(t["patient_id"])
    for start in range(0, len(p), size):
        lo, hi = pid[start], pid[min(start + size, len(p)) - 1]
        yield (
            p.iloc[start : start + size],
            e[(eid >= lo) & (eid <= hi)].reset_index(drop=True),
            t[(tid >= lo) & (tid <= hi)].reset_index(drop=True),
        )


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _rows(
    person: np.ndarray,
    day: np.ndarray,
    concept: int | np.ndarray,
    end: np.ndarray | None = None,
    quantity: np.ndarray | None = None,
) -> _Rows:
    """Procedure or drug rows: person, day, concept, end day (the day itself by default) and
    quantity (none by default)."""
    n = len(person)
    return (
        person,
        day,
        np.broadcast_to(np.asarray(concept, dtype=np.int64), (n,)),
        day if end is None else end,
        np.full(n, np.nan) if quantity is None else quantity,
    )


def _positions(e: pd.DataFrame, courses: pd.DataFrame) -> np.ndarray:
    """The position in ``e`` of each course's episode."""
    key = ["patient_id", "episode_number"]
    where = pd.MultiIndex.from_frame(e[key].astype(object))
    return where.get_indexer(pd.MultiIndex.from_frame(courses[key].astype(object)))


def _given(e: pd.DataFrame, t: pd.DataFrame, treatment: str) -> np.ndarray:
    """Episodes (positions in ``e``) where ``treatment`` is flagged or has a course."""
    flagged = e[treatment].fillna(False).to_numpy(dtype=bool)
    at = _positions(e, t[t["treatment"] == treatment])
    return flagged | (np.bincount(at[at >= 0], minlength=len(e)) > 0)


def _drug_rows(
    person: np.ndarray, day: np.ndarray, end: np.ndarray, dose: np.ndarray, ingredient: int
) -> _Rows:
    """Exposures to an ingredient; those with a dose name its local clinical drug, whose
    strength turns the dose into a quantity."""
    concept, _, mg, _ = DOSED[ingredient]
    dosed = ~np.isnan(dose)
    return _rows(person, day, np.where(dosed, concept, ingredient), end, dose / mg)


def _session_rows(courses: pd.DataFrame, limit: np.ndarray, rng: np.random.Generator) -> _Rows:
    """One procedure per session of each course: the first on its start day, the others on
    distinct later days up to its end date (or, when they do not fit or it has none, up to
    ``limit``, the earlier of discharge and death); the last one ends on the course's end."""
    person = person_ids(courses["patient_id"])
    start = _day(courses["start_date"])
    has_end = courses["end_date"].notna().to_numpy()
    end = _day(courses["end_date"].fillna(courses["start_date"]))
    n = courses["sessions"].fillna(1).to_numpy(dtype=np.int64)
    who, days, ends = [], [], []
    for i in range(len(courses)):
        fits = has_end[i] and n[i] - 1 <= end[i] - start[i]
        last = end[i] if fits else max(limit[i], start[i])
        k = int(min(n[i], last - start[i] + 1))
        d = np.concatenate([[start[i]], start[i] + 1 + rng.permutation(last - start[i])[: k - 1]])
        stop = d.copy()
        if has_end[i]:
            stop[np.argmax(d)] = max(end[i], d.max())
        who.append(np.full(k, person[i]))
        days.append(d)
        ends.append(stop)
    if not who:
        return _rows(np.zeros(0, np.int64), np.zeros(0, np.int64), 4049372)
    return _rows(np.concatenate(who), np.concatenate(days), 4049372, np.concatenate(ends))


def _features(
    e: pd.DataFrame, t: pd.DataFrame, death_day: np.ndarray, rng: np.random.Generator
) -> tuple[list[_Rows], list[_Rows]]:
    """Procedure and drug rows of the episodes' features: each treatment course as dated,
    each feature flagged without a course on a random day of its stay."""
    epid = person_ids(e["patient_id"])
    onset, disch = _day(e["onset_date"]), _day(e["discharge_date"])
    stay = disch - onset

    def flag(col: str) -> np.ndarray:
        return e[col].fillna(False).to_numpy(dtype=bool)

    def within(mask: np.ndarray) -> np.ndarray:
        return onset[mask] + (rng.random(mask.sum()) * (stay[mask] + 1)).astype(np.int64)

    def course_rows(col: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The courses of ``col``, and the episodes flagged for it without one."""
        c = t[t["treatment"] == col]
        at = _positions(e, c)
        return c, flag(col) & ~(np.bincount(at[at >= 0], minlength=len(e)) > 0)

    procs = [_rows(epid[flag(col)], within(flag(col)), c) for col, c in _PROCEDURES.items()]
    courses, only = course_rows("plasmapheresis")
    sessions = e["plasmapheresis_sessions"].fillna(0).to_numpy(dtype=np.int64)
    sessions = np.where(only, np.maximum(sessions, 1), 0)
    sessions = np.minimum(sessions, stay + 1)  # one session a day at most
    rows = np.repeat(np.arange(len(e)), sessions)
    offsets = [rng.permutation(int(s) + 1)[:n] for s, n in zip(stay, sessions, strict=True) if n]
    offsets_all = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
    procs.append(_rows(epid[rows], onset[rows] + offsets_all, 4049372))
    at = _positions(e, courses)
    known_death = ~np.isnan(death_day)
    limit = np.where(known_death, np.minimum(disch, np.nan_to_num(death_day)), disch)
    procs.append(_session_rows(courses, limit[at].astype(np.int64), rng))
    drugs = []
    for col, concept in _DRUGS.items():
        courses, only = course_rows(col)
        dose = np.full(len(e), np.nan)
        if col in _EPISODE_DOSE:
            dose = e[_EPISODE_DOSE[col]].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        day = within(only)
        drugs.append(_drug_rows(epid[only], day, day, dose[only], concept))
        start = _day(courses["start_date"])
        end = _day(courses["end_date"].fillna(courses["start_date"]))
        c_dose = courses["dose_mg"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        drugs.append(_drug_rows(person_ids(courses["patient_id"]), start, end, c_dose, concept))
    return procs, drugs


def _table_rows(
    p: pd.DataFrame,
    e: pd.DataFrame,
    t: pd.DataFrame,
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

    died = p.set_index("patient_id")["death_date"].reindex(e["patient_id"])
    death_day = np.where(died.notna(), _day(died.fillna(pd.Timestamp(0))), np.nan)
    procs, drugs = _features(e, t, death_day, rng)
    if noise.near_misses and len(e):
        # treatment codes a day outside the window must not count
        miss = ~_given(e, t, "plasmapheresis") & (rng.random(len(e)) < 0.2)
        procs.append(_rows(epid[miss], disch[miss] + 1, 4049372))
        miss = ~_given(e, t, "rituximab") & (rng.random(len(e)) < 0.2)
        drugs.append(_rows(epid[miss], onset[miss] - 1, 1314273))
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
            "procedure_end_date": cat(procs, 3),
            "procedure_concept_id": cat(procs, 2),
            "procedure_type_concept_id": None,
        },
        "drug_exposure": {
            "person_id": cat(drugs, 0),
            "drug_exposure_start_date": cat(drugs, 1),
            "drug_concept_id": cat(drugs, 2),
            "drug_exposure_end_date": cat(drugs, 3),
            "quantity": cat(drugs, 4),
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
        elif name == "quantity":
            arrays.append(pa.array(np.asarray(values, dtype=float), from_pandas=True))
        else:
            arrays.append(pa.array(np.asarray(values, dtype=np.int64)))
    return pa.table(arrays, names=names)


def _folder(out: Path, to_duckdb: bool) -> Path:
    """The folder the Parquet tables go to (beside a DuckDB file, until it is built)."""
    if out.is_dir() if to_duckdb else out.exists() and not out.is_dir():
        kind = "a folder" if to_duckdb else "a file"
        raise CohortFileError(f"{out} is {kind}: give a new path to write the OMOP database")
    folder = out.with_suffix(".parquet.d") if to_duckdb else out
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CohortFileError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    return folder


def _to_duckdb(folder: Path, out: Path) -> None:
    """Load the Parquet tables into a new DuckDB file ``out`` and remove the folder."""
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


def _vocabulary(concept: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``concept``, ``concept_ancestor`` (each concept its own ancestor; each ingredient the
    ancestor of its clinical drug) and ``drug_strength`` (the clinical drugs' strengths)."""
    ingredient = np.array(list(DOSED), dtype=np.int64)
    drug = np.array([d[0] for d in DOSED.values()], dtype=np.int64)
    ancestor = pd.DataFrame(
        {
            "ancestor_concept_id": np.concatenate([concept["concept_id"], ingredient]),
            "descendant_concept_id": np.concatenate([concept["concept_id"], drug]),
        }
    )
    mg = pd.Series([d[2] for d in DOSED.values()], dtype="Float64")
    ml = pd.Series([d[3] for d in DOSED.values()], dtype="Float64")
    liquid = ml.notna()
    strength = pd.DataFrame(
        {
            "drug_concept_id": drug,
            "ingredient_concept_id": ingredient,
            "amount_value": mg.where(~liquid),
            "amount_unit_concept_id": pd.Series(8576, index=ml.index, dtype="Int64").where(~liquid),
            "numerator_value": mg.where(liquid),
            "numerator_unit_concept_id": pd.Series(8576, index=ml.index, dtype="Int64").where(
                liquid
            ),
            "denominator_value": ml,
            "denominator_unit_concept_id": pd.Series(8587, index=ml.index, dtype="Int64").where(
                liquid
            ),
        }
    )  # 8576 milligram, 8587 millilitre
    return {"concept": concept, "concept_ancestor": ancestor, "drug_strength": strength}


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
    folder = _folder(out, to_duckdb)
    writers: dict[str, pq.ParquetWriter] = {}
    counts = dict.fromkeys(TABLES, 0)
    next_noise = int(person_ids(cohort.patients["patient_id"]).max()) + 1
    n_chunks = -(-cohort.n_patients // chunk_patients)
    try:
        for i, (p, e, t) in enumerate(_chunks(cohort, chunk_patients)):
            rows = _table_rows(p, e, t, noise, next_noise, rng)
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
    for name, frame in _vocabulary(concept).items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet")
        counts[name] = len(frame)
    if to_duckdb:
        _to_duckdb(folder, out)
    return counts
