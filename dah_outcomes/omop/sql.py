"""The extraction, written once as SQL with the few dialect differences isolated.

DuckDB and Spark SQL share CTEs, window functions and CASE; they differ in date arithmetic,
which :class:`Dialect` supplies. Every query reads the OMOP tables and a registered table
``dah_concept_sets(set_name, concept_id)`` built by :func:`concept_set_query`.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from dah_outcomes.omop.definition import FEATURE_SETS, OmopDefinition

__all__ = [
    "CDM_TABLES",
    "DIALECTS",
    "OPTIONAL_COLUMNS",
    "STAGED",
    "VOCABULARY_TABLES",
    "Dialect",
    "concept_set_query",
    "extraction_queries",
    "staging_queries",
]

#: The OMOP CDM tables the extraction reads, with the columns it needs in each (written once:
#: the extraction checks a database against it and the synthetic writer writes these tables).
CDM_TABLES: dict[str, tuple[str, ...]] = {
    "person": (
        "person_id",
        "gender_concept_id",
        "year_of_birth",
        "month_of_birth",
        "day_of_birth",
    ),
    "observation_period": (
        "person_id",
        "observation_period_start_date",
        "observation_period_end_date",
    ),
    "visit_occurrence": (
        "person_id",
        "visit_occurrence_id",
        "visit_concept_id",
        "visit_start_date",
        "visit_end_date",
    ),
    "condition_occurrence": ("person_id", "condition_concept_id", "condition_start_date"),
    "procedure_occurrence": ("person_id", "procedure_concept_id", "procedure_date"),
    "drug_exposure": ("person_id", "drug_concept_id", "drug_exposure_start_date"),
    "death": ("person_id", "death_date"),
}

#: Vocabulary tables used when present, with the columns they then need: codes resolve
#: through ``concept``, descendants through ``concept_ancestor``, doses through
#: ``drug_strength``.
VOCABULARY_TABLES: dict[str, tuple[str, ...]] = {
    "concept": ("concept_id", "vocabulary_id", "concept_code"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "drug_strength": (
        "drug_concept_id",
        "ingredient_concept_id",
        "amount_value",
        "amount_unit_concept_id",
        "numerator_value",
        "numerator_unit_concept_id",
    ),
}

#: Columns read when present (the end dates and quantities of courses; ``procedure_end_date``
#: is new in CDM v5.4).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "drug_exposure": ("drug_exposure_end_date", "quantity"),
    "procedure_occurrence": ("procedure_end_date",),
}

# UCUM units of DRUG_STRENGTH amounts, as milligrams per unit
_MG_PER_UNIT = {8576: 1.0, 8504: 1000.0}  # milligram, gram


@dataclass(frozen=True, slots=True)
class Dialect:
    """Date arithmetic of one SQL engine."""

    name: str
    days_between: str  # format with a=earlier, b=later -> integer days b - a
    add_days: str  # format with d=date, n=integer

    def diff(self, a: str, b: str) -> str:
        return self.days_between.format(a=a, b=b)

    def add(self, d: str, n: int | str) -> str:
        return self.add_days.format(d=d, n=n)


DIALECTS = {
    "duckdb": Dialect(
        "duckdb", "date_diff('day', {a}, {b})", "CAST({d} + INTERVAL ({n}) DAY AS DATE)"
    ),
    "spark": Dialect("spark", "datediff({b}, {a})", "date_add({d}, {n})"),
}


def concept_set_query(has_concept: bool, has_ancestor: bool) -> str:
    """Resolve the registered seeds into ``(set_name, concept_id)``.

    Seeds are ``dah_seed_ids(set_name, concept_id, descendants)``,
    ``dah_seed_codes(set_name, vocabulary_id, concept_code, descendants)`` and
    ``dah_seed_excludes(set_name, concept_id)``; codes resolve through ``concept`` and
    descendants through ``concept_ancestor`` when those tables exist.
    """
    seeds = ["SELECT set_name, concept_id, descendants FROM dah_seed_ids"]
    if has_concept:
        seeds.append(
            "SELECT s.set_name, c.concept_id, s.descendants FROM dah_seed_codes s "
            "JOIN concept c ON c.vocabulary_id = s.vocabulary_id "
            "AND c.concept_code = s.concept_code"
        )
    expanded = ["SELECT set_name, concept_id FROM seeds"]
    excluded = ["SELECT set_name, concept_id FROM dah_seed_excludes"]
    if has_ancestor:
        expanded.append(
            "SELECT s.set_name, a.descendant_concept_id AS concept_id FROM seeds s "
            "JOIN concept_ancestor a ON a.ancestor_concept_id = s.concept_id "
            "WHERE s.descendants"
        )
        excluded.append(
            "SELECT x.set_name, a.descendant_concept_id AS concept_id "
            "FROM dah_seed_excludes x JOIN concept_ancestor a "
            "ON a.ancestor_concept_id = x.concept_id"
        )
    return (
        f"WITH seeds AS ({' UNION ALL '.join(seeds)}), "
        f"expanded AS ({' UNION '.join(expanded)}), "
        f"excluded AS ({' UNION '.join(excluded)}) "
        "SELECT DISTINCT e.set_name, e.concept_id FROM expanded e "
        "LEFT JOIN excluded x ON x.set_name = e.set_name AND x.concept_id = e.concept_id "
        "WHERE x.concept_id IS NULL"
    )


#: The intermediate tables every query reads, built once by :func:`staging_queries`.
STAGED = ("dah_pop", "dah_episodes")


def _population() -> str:
    """CTEs of the SLE population (``pop``: entry, death, end of follow-up)."""
    return """
sle AS (
  SELECT co.person_id, MIN(co.condition_start_date) AS sle_date
  FROM condition_occurrence co JOIN cs ON cs.set_name = 'sle'
   AND co.condition_concept_id = cs.concept_id
  GROUP BY co.person_id),
obs AS (
  SELECT person_id, MIN(observation_period_start_date) AS obs_start,
         MAX(observation_period_end_date) AS obs_end
  FROM observation_period GROUP BY person_id),
dth AS (SELECT person_id, MIN(death_date) AS death_date FROM death GROUP BY person_id),
pop AS (
  SELECT s.person_id, s.sle_date, dth.death_date,
         CASE WHEN dth.death_date IS NOT NULL AND dth.death_date < o.obs_end
              THEN dth.death_date ELSE o.obs_end END AS fu_end
  FROM sle s JOIN obs o ON o.person_id = s.person_id
  LEFT JOIN dth ON dth.person_id = s.person_id
  WHERE s.sle_date <= o.obs_end)"""


def _episodes(definition: OmopDefinition, d: Dialect) -> str:
    """CTEs of the DAH episodes (``episodes``), from the stays of ``pop``."""
    return f"""
stays AS (
  SELECT DISTINCT v.person_id, v.visit_occurrence_id, v.visit_start_date, v.visit_end_date
  FROM condition_occurrence co
  JOIN cs ON cs.set_name = 'dah' AND co.condition_concept_id = cs.concept_id
  JOIN visit_occurrence v ON v.person_id = co.person_id
   AND co.condition_start_date >= v.visit_start_date
   AND co.condition_start_date <= v.visit_end_date
  JOIN cs vc ON vc.set_name = 'visit' AND v.visit_concept_id = vc.concept_id
  JOIN pop p ON p.person_id = co.person_id
  WHERE v.visit_end_date >= p.sle_date AND co.condition_start_date <= p.fu_end),
ordered AS (
  SELECT person_id, visit_start_date, visit_end_date,
         MAX(visit_end_date) OVER (PARTITION BY person_id
           ORDER BY visit_start_date, visit_end_date
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
  FROM stays),
flagged AS (
  SELECT person_id, visit_start_date, visit_end_date,
         CASE WHEN prev_end IS NULL
                OR visit_start_date >= {d.add("prev_end", definition.gap_days)}
              THEN 1 ELSE 0 END AS new_episode
  FROM ordered),
numbered AS (
  SELECT person_id, visit_start_date, visit_end_date,
         -- a running SUM is a 128-bit integer in DuckDB, slow to group by: cast it down
         CAST(SUM(new_episode) OVER (PARTITION BY person_id
           ORDER BY visit_start_date, visit_end_date
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS episode_number
  FROM flagged),
episodes AS (
  SELECT person_id, episode_number, MIN(visit_start_date) AS onset_date,
         MAX(visit_end_date) AS discharge_date
  FROM numbered GROUP BY person_id, episode_number)"""


_CS = "\ncs AS (SELECT set_name, concept_id FROM dah_concept_sets)"


def staging_queries(definition: OmopDefinition, dialect: str) -> dict[str, str]:
    """SQL of the intermediate tables (:data:`STAGED`), in the order to build them: the SLE
    population ``dah_pop`` and its DAH episodes ``dah_episodes``. Built once, they spare each
    query of :func:`extraction_queries` recomputing them from the clinical tables.

    Parameters
    ----------
    definition : OmopDefinition
        The cohort definition.
    dialect : {"duckdb", "spark"}
        The SQL engine.

    Returns
    -------
    dict of str to str
        Table name to the query that builds it.
    """
    d = DIALECTS[dialect]
    return {
        "dah_pop": f"WITH {_CS},{_population()}\nSELECT * FROM pop",
        "dah_episodes": (
            f"WITH {_CS},\npop AS (SELECT * FROM dah_pop),{_episodes(definition, d)}\n"
            "SELECT * FROM episodes"
        ),
    }


def _common() -> str:
    """CTEs shared by the queries: concept sets, the staged population and episodes."""
    return f"{_CS},\npop AS (SELECT * FROM dah_pop),\nepisodes AS (SELECT * FROM dah_episodes)"


def _strength_cte(drugs: list[str]) -> str:
    """Milligrams per unit of each drug concept, for the ingredient of each drug set."""
    in_list = ", ".join(f"'{n}'" for n in drugs)
    mg = " ".join(
        f"WHEN ds.{kind}_unit_concept_id = {unit} THEN CAST(ds.{kind}_value AS DOUBLE) * {f}"
        for kind in ("amount", "numerator")
        for unit, f in _MG_PER_UNIT.items()
    )
    return f"""
strength AS (
  SELECT ds.drug_concept_id, cs.set_name, SUM(CASE {mg} END) AS mg
  FROM drug_strength ds JOIN cs ON cs.concept_id = ds.ingredient_concept_id
   AND cs.set_name IN ({in_list})
  GROUP BY ds.drug_concept_id, cs.set_name),"""


def _feature_rows(columns: Mapping[str, Set[str]]) -> tuple[str, str]:
    """The ``strength`` CTE (or nothing) and the rows of every feature inside an episode
    window: ``person_id, episode_number, set_name, day, end_day, dose`` (dose in mg)."""
    procs = [n for n, k in FEATURE_SETS.items() if k == "procedure"]
    drugs = [n for n, k in FEATURE_SETS.items() if k == "drug"]
    conds = [n for n, k in FEATURE_SETS.items() if k == "condition"]
    drug_cols, proc_cols = columns.get("drug_exposure", set()), columns.get("procedure_occurrence")

    def end(start: str, stop: str | None) -> str:
        # a row ending before it starts (an ETL slip) still started: its course ends no earlier
        return f"GREATEST(COALESCE(t.{stop}, t.{start}), t.{start})" if stop else f"t.{start}"

    def hits(table: str, date: str, concept: str, names: list[str], tail: str = "") -> str:
        in_list = ", ".join(f"'{n}'" for n in names)
        return (
            f"SELECT e.person_id, e.episode_number, cs.set_name, t.{date} AS day, {tail} "
            f"FROM episodes e JOIN {table} t ON t.person_id = e.person_id "
            f"AND t.{date} >= e.onset_date AND t.{date} <= e.discharge_date "
            f"JOIN cs ON cs.concept_id = t.{concept} AND cs.set_name IN ({in_list})"
        )

    no_dose = "CAST(NULL AS DOUBLE) AS dose"
    proc_end = "procedure_end_date" if "procedure_end_date" in (proc_cols or set()) else None
    drug_end = "drug_exposure_end_date" if "drug_exposure_end_date" in drug_cols else None
    dosed = "quantity" in drug_cols and "drug_strength" in columns
    drug_tail = f"{end('drug_exposure_start_date', drug_end)} AS end_day, " + (
        "CAST(t.quantity AS DOUBLE) * s.mg AS dose" if dosed else no_dose
    )
    drug_rows = hits(
        "drug_exposure", "drug_exposure_start_date", "drug_concept_id", drugs, drug_tail
    )
    if dosed:
        drug_rows += (
            " LEFT JOIN strength s ON s.drug_concept_id = t.drug_concept_id"
            " AND s.set_name = cs.set_name"
        )
    rows = " UNION ALL ".join(
        [
            hits(
                "procedure_occurrence",
                "procedure_date",
                "procedure_concept_id",
                procs,
                f"{end('procedure_date', proc_end)} AS end_day, {no_dose}",
            ),
            drug_rows,
            hits(
                "condition_occurrence",
                "condition_start_date",
                "condition_concept_id",
                conds,
                f"t.condition_start_date AS end_day, {no_dose}",
            ),
        ]
    )
    return (_strength_cte(drugs) if dosed else ""), rows


def extraction_queries(
    definition: OmopDefinition, dialect: str, columns: Mapping[str, Set[str]] | None = None
) -> dict[str, str]:
    """SQL for ``patients`` (DAH patients), ``episodes`` and ``denominators``, reading the
    tables of :func:`staging_queries`.

    ``episodes`` gives one row per episode and feature found in its window (one row with an
    empty ``feature`` for an episode without any; ``feature`` is the position in
    :data:`~dah_outcomes.omop.definition.FEATURE_SETS`): the feature's first ``start_date``, last
    ``end_date``, distinct ``days`` and total ``dose_mg`` (when every row of it has a dose),
    so the episode flags and the treatment courses come from the same rows.
    ``denominators`` aggregates the whole SLE population by sex: patients, person-years from
    SLE entry to the first DAH onset or the end of follow-up, and patients with DAH. Only
    these small results leave the engine.

    Parameters
    ----------
    definition : OmopDefinition
        The cohort definition.
    dialect : {"duckdb", "spark"}
        The SQL engine.
    columns : mapping of str to set of str, optional
        The database's tables and their columns: optional columns (:data:`OPTIONAL_COLUMNS`)
        and ``drug_strength`` are read only when present. None reads none of them.

    Returns
    -------
    dict of str to str
        The three queries by name.
    """
    d = DIALECTS[dialect]
    common = _common()
    strength, feature_rows = _feature_rows(columns or {})
    # the feature as its position in FEATURE_SETS: integers come back faster than strings
    whens = " ".join(f"WHEN '{n}' THEN {i}" for i, n in enumerate(FEATURE_SETS))
    feature = f"CASE f.set_name {whens} END"
    episodes_sql = f"""WITH {common},{strength}
hits AS ({feature_rows}),
per_day AS (
  SELECT person_id, episode_number, set_name, day, MAX(end_day) AS end_day,
         SUM(dose) AS dose, COUNT(dose) AS n_dosed, COUNT(*) AS n
  FROM hits GROUP BY person_id, episode_number, set_name, day),
features AS (
  -- distinct days counted as the rows of per_day: cheaper than COUNT(DISTINCT day)
  SELECT person_id, episode_number, set_name, MIN(day) AS start_date,
         MAX(end_day) AS end_date, COUNT(*) AS days,
         CASE WHEN SUM(n_dosed) = SUM(n) THEN SUM(dose) END AS dose_mg
  FROM per_day GROUP BY person_id, episode_number, set_name)
SELECT e.person_id, e.episode_number, e.onset_date, e.discharge_date,
  CASE WHEN e.episode_number = 1 AND e.onset_date <= p.sle_date THEN 1 ELSE 0 END
    AS first_manifestation,
  CASE WHEN p.death_date IS NOT NULL AND p.death_date >= e.onset_date
        AND p.death_date <= e.discharge_date THEN 1 ELSE 0 END AS in_hospital_death,
  {feature} AS feature, f.start_date, f.end_date, f.days, f.dose_mg
FROM episodes e JOIN pop p ON p.person_id = e.person_id
LEFT JOIN features f ON f.person_id = e.person_id AND f.episode_number = e.episode_number
ORDER BY e.person_id, e.episode_number, feature"""
    patients_sql = f"""WITH {common}
SELECT p.person_id, pe.gender_concept_id, pe.year_of_birth, pe.month_of_birth,
       pe.day_of_birth, p.sle_date, p.fu_end, p.death_date
FROM pop p JOIN person pe ON pe.person_id = p.person_id
WHERE p.person_id IN (SELECT person_id FROM episodes)
ORDER BY p.person_id"""
    denominators_sql = f"""WITH {common},
first_dah AS (SELECT person_id, MIN(onset_date) AS onset FROM episodes GROUP BY person_id)
SELECT pe.gender_concept_id, COUNT(*) AS sle_patients,
       SUM(CASE WHEN f.onset IS NOT NULL THEN 1 ELSE 0 END) AS dah_patients,
       SUM(CAST({
        d.diff("p.sle_date", "CASE WHEN f.onset IS NOT NULL THEN f.onset ELSE p.fu_end END")
    }
                AS DOUBLE)) / 365.25 AS person_years
FROM pop p JOIN person pe ON pe.person_id = p.person_id
LEFT JOIN first_dah f ON f.person_id = p.person_id
GROUP BY pe.gender_concept_id ORDER BY pe.gender_concept_id"""
    return {"patients": patients_sql, "episodes": episodes_sql, "denominators": denominators_sql}
