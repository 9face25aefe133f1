"""The column contract of a cohort, written once.

Three tables make a cohort: ``patients`` (one row per patient), ``episodes`` (one row per DAH
episode) and ``treatments`` (one row per treatment course within an episode; may be empty).
Each column is declared here with its kind, whether it is required, its allowed values or range
and its meaning. The validator (:mod:`dah_outcomes.validation`), the documentation table
(:func:`schema_markdown`) and the Frictionless Table Schema for non-Python readers
(:func:`frictionless_schema`) are all generated from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CAUSES_OF_DEATH",
    "EPISODE_COLUMNS",
    "PATIENT_COLUMNS",
    "TABLES",
    "TIMING_UNKNOWN",
    "TREATMENT_COLUMNS",
    "TREATMENT_FLAGS",
    "VITAL_STATUSES",
    "VITAL_STATUS_ABSENT",
    "Column",
    "frictionless_schema",
    "schema_markdown",
]

Kind = Literal["string", "date", "bool", "int", "float", "category"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the contract.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"string", "date", "bool", "int", "float", "category"}
        Logical type; the pandas dtype follows from it (see :attr:`pandas_dtype`).
    description : str
        What the column means, in words a registry analyst would use.
    required : bool
        Whether the column must be present (values may still be missing unless ``nullable``
        is False).
    nullable : bool
        Whether missing values are allowed.
    allowed : tuple of str, optional
        Allowed values of a ``category`` column.
    minimum, maximum : float, optional
        Inclusive range of a numeric column.
    treatment : bool
        Whether the column is a treatment flag of the episodes table; those flags are the
        treatments a row of the ``treatments`` table may name (:data:`TREATMENT_FLAGS`).
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    treatment: bool = False

    @property
    def pandas_dtype(self) -> str:
        """The pandas dtype a valid column is stored as (nullable extension types)."""
        return {
            "string": "string",
            "date": "datetime64[s]",
            "bool": "boolean",
            "int": "Int64",
            "float": "Float64",
            "category": "string",
        }[self.kind]


def _flag(name: str, description: str, required: bool = False) -> Column:
    return Column(name, "bool", description, required=required)


def _treatment(name: str, description: str) -> Column:
    """A treatment flag: ever given during the episode (its courses may be in ``treatments``)."""
    return Column(name, "bool", description, treatment=True)


#: The causes of death a patients row may record.
CAUSES_OF_DEATH = ("dah", "infection", "other", "unknown")

#: The vital statuses a patients row may record at followup_end.
VITAL_STATUSES = ("alive", "dead", "unknown")

#: What a cohort without a (filled) ``vital_status`` means, for the documentation and reports.
VITAL_STATUS_ABSENT = (
    "`vital_status` is the patient's status at `followup_end` (alive, dead or unknown), "
    "recorded apart from `death_date` so that a death whose date is not known (died, date "
    "unknown) is still a death. When the column is absent, or a value is blank, it is derived "
    "from the date: a death date means dead; no death date means *unknown*, not alive, since "
    "the source did not say. Analyses treat an unknown status as before: censored at "
    "`followup_end`, as if alive then. A patient dead with no death date cannot be placed in "
    "time: time-to-event analyses leave them out (and say how many); in-hospital mortality "
    "still counts them when the episode's `in_hospital_death` says so."
)

PATIENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "patient_id",
        "string",
        "Unique patient identifier (pseudonymised).",
        required=True,
        nullable=False,
    ),
    Column("sex", "category", "Sex recorded at birth.", allowed=("F", "M", "unknown")),
    Column("birth_date", "date", "Date of birth (or a date carrying the year of birth)."),
    Column("sle_diagnosis_date", "date", "Date SLE was diagnosed (classification criteria met)."),
    Column(
        "followup_start",
        "date",
        "Start of observation (for a source population: entry into the SLE cohort).",
        required=True,
        nullable=False,
    ),
    Column(
        "followup_end",
        "date",
        "End of observation: death, loss to follow-up or the study's closing date (for a "
        "death on an unrecorded date, the last date the patient was known alive).",
        required=True,
        nullable=False,
    ),
    Column(
        "death_date",
        "date",
        "Date of death; empty if alive at followup_end, or if the patient died on a date not "
        "recorded (then vital_status is dead).",
    ),
    Column(
        "vital_status",
        "category",
        "Vital status at followup_end: alive, dead (with or without a death_date) or unknown "
        "(lost to follow-up, not recorded). Optional: when absent or empty it is derived from "
        "death_date (a date: dead; none: unknown).",
        allowed=VITAL_STATUSES,
    ),
    Column(
        "cause_of_death",
        "category",
        "Recorded cause of death: DAH (respiratory failure or bleeding), infection, other; "
        "unknown when not recorded; empty for patients alive.",
        allowed=CAUSES_OF_DEATH,
    ),
    Column("site", "string", "Centre or stratum the patient was recruited from."),
)

EPISODE_COLUMNS: tuple[Column, ...] = (
    Column(
        "patient_id",
        "string",
        "Patient the episode belongs to (a patients.patient_id).",
        required=True,
        nullable=False,
    ),
    Column(
        "episode_number",
        "int",
        "1 for the first DAH episode, 2 for the next, and so on.",
        required=True,
        nullable=False,
        minimum=1,
    ),
    Column(
        "onset_date",
        "date",
        "Date the DAH episode began (admission or diagnosis).",
        required=True,
        nullable=False,
    ),
    Column(
        "discharge_date",
        "date",
        "Date of hospital discharge, or of death in hospital; empty if unknown.",
    ),
    _flag("first_manifestation", "DAH was the first manifestation of SLE (SLE diagnosed at it)."),
    _flag("nephritis", "Active lupus nephritis (glomerulonephritis) at the episode."),
    _flag("infection", "Concurrent infection documented at the episode."),
    _flag("severe", "Severe presentation: PaO2/FiO2 < 200 or haemodynamic instability."),
    Column(
        "hemoglobin_drop", "float", "Fall in haemoglobin at onset, g/dL.", minimum=0, maximum=15
    ),
    _flag("bal_confirmed", "DAH confirmed by bronchoalveolar lavage (haemorrhagic return)."),
    _flag("icu_admission", "Admitted to intensive care during the episode."),
    _flag("mechanical_ventilation", "Invasive mechanical ventilation during the episode."),
    Column(
        "ventilation_days",
        "int",
        "Days of invasive mechanical ventilation.",
        minimum=0,
        maximum=365,
    ),
    _flag("ecmo", "Extracorporeal membrane oxygenation during the episode."),
    _treatment("methylprednisolone_pulse", "Intravenous methylprednisolone pulses."),
    Column(
        "methylprednisolone_dose_mg",
        "float",
        "Total IV methylprednisolone, mg.",
        minimum=0,
        maximum=20000,
    ),
    _treatment(
        "oral_prednisone", "Oral prednisone (or equivalent) without IV pulses counted here."
    ),
    _treatment("cyclophosphamide", "Cyclophosphamide (IV or oral) for the episode."),
    _treatment("plasmapheresis", "Therapeutic plasma exchange (plasmapheresis)."),
    Column(
        "plasmapheresis_sessions",
        "int",
        "Number of plasma-exchange sessions.",
        minimum=0,
        maximum=60,
    ),
    _treatment("rituximab", "Rituximab for the episode."),
    _treatment("mycophenolate", "Mycophenolate mofetil or mycophenolic acid."),
    _treatment("hydroxychloroquine", "Hydroxychloroquine at the episode."),
    _treatment("rfviia", "Recombinant activated factor VII (rFVIIa)."),
    Column(
        "in_hospital_death",
        "bool",
        "Died before discharge from this episode's admission.",
        required=True,
        nullable=False,
    ),
    Column(
        "arm",
        "string",
        "Treatment arm given by the source; when absent the arm is derived from the "
        "treatment flags by the declared arm definition.",
    ),
)

#: The episodes table's treatment flags, in contract order: the treatments a course may name.
TREATMENT_FLAGS: tuple[str, ...] = tuple(c.name for c in EPISODE_COLUMNS if c.treatment)

#: What a treatment flag without a course means (for the documentation and the analyses).
TIMING_UNKNOWN = (
    "A treatment flag of an episode says the treatment was given at some time during the "
    "episode. When the start of a course is known, the `treatments` table holds one row per "
    "course (treatment, start date, optional end date, dose or sessions). A flag that is true "
    "on the episode with no course row for that treatment is *timing unknown*: the treatment "
    "was given, but when is not recorded, so time-varying and landmark analyses cannot place "
    "it and say so. The flags and the table must agree: a course for a treatment whose flag "
    "is false on its episode is a validation problem (a missing flag is not). A course "
    "without a start date is not a row: it is the flag alone, timing unknown."
)

TREATMENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "patient_id",
        "string",
        "Patient the course belongs to (a patients.patient_id).",
        required=True,
        nullable=False,
    ),
    Column(
        "episode_number",
        "int",
        "Episode the course belongs to (with patient_id, an episodes row).",
        required=True,
        nullable=False,
        minimum=1,
    ),
    Column(
        "treatment",
        "category",
        "Treatment given: one of the episodes table's treatment flags.",
        required=True,
        nullable=False,
        allowed=TREATMENT_FLAGS,
    ),
    Column(
        "start_date",
        "date",
        "Date the course started, within the episode's admission.",
        required=True,
        nullable=False,
    ),
    Column("end_date", "date", "Date the course ended; empty if unknown or ongoing."),
    Column("dose_mg", "float", "Total dose of the course, mg.", minimum=0),
    Column(
        "sessions", "int", "Number of sessions (e.g. plasma exchanges) in the course.", minimum=1
    ),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "patients": PATIENT_COLUMNS,
    "episodes": EPISODE_COLUMNS,
    "treatments": TREATMENT_COLUMNS,
}


def schema_markdown() -> str:
    """The column contract as a Markdown table per table (used for the documentation)."""
    lines: list[str] = []
    for table, columns in TABLES.items():
        lines += [
            f"### {table}",
            "",
            "| column | type | required | allowed | meaning |",
            "|---|---|---|---|---|",
        ]
        for c in columns:
            allowed = ", ".join(c.allowed) if c.allowed else _range_text(c)
            req = "yes" if c.required else "no"
            if c.required and not c.nullable:
                req = "yes, no missing"
            lines.append(f"| `{c.name}` | {c.kind} | {req} | {allowed} | {c.description} |")
        lines.append("")
        if table == "patients":
            lines += [VITAL_STATUS_ABSENT, ""]
        if table == "treatments":
            lines += [TIMING_UNKNOWN, ""]
    return "\n".join(lines)


def _range_text(c: Column) -> str:
    if c.minimum is None and c.maximum is None:
        return ""
    if c.maximum is None:
        return f">= {c.minimum:g}"
    if c.minimum is None:
        return f"<= {c.maximum:g}"
    return f"{c.minimum:g} to {c.maximum:g}"


def frictionless_schema(table: str) -> dict[str, Any]:
    """A Frictionless Table Schema (as a dict) for one table of the contract.

    Parameters
    ----------
    table : {"patients", "episodes", "treatments"}
        The table.

    Returns
    -------
    dict
        The Table Schema: fields with types and constraints, primary and foreign keys.
    """
    kinds = {
        "string": "string",
        "date": "date",
        "bool": "boolean",
        "int": "integer",
        "float": "number",
        "category": "string",
    }
    fields = []
    for c in TABLES[table]:
        constraints: dict[str, Any] = {}
        if c.required and not c.nullable:
            constraints["required"] = True
        if c.allowed:
            constraints["enum"] = list(c.allowed)
        if c.minimum is not None:
            constraints["minimum"] = c.minimum
        if c.maximum is not None:
            constraints["maximum"] = c.maximum
        field: dict[str, Any] = {
            "name": c.name,
            "type": kinds[c.kind],
            "description": c.description,
        }
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    schema: dict[str, Any] = {"fields": fields}
    if table == "patients":
        schema["primaryKey"] = ["patient_id"]
    elif table == "episodes":
        schema["primaryKey"] = ["patient_id", "episode_number"]
        schema["foreignKeys"] = [
            {
                "fields": ["patient_id"],
                "reference": {"resource": "patients", "fields": ["patient_id"]},
            }
        ]
    else:
        schema["primaryKey"] = ["patient_id", "episode_number", "treatment", "start_date"]
        schema["foreignKeys"] = [
            {
                "fields": ["patient_id", "episode_number"],
                "reference": {"resource": "episodes", "fields": ["patient_id", "episode_number"]},
            }
        ]
    return schema
