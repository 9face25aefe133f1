"""Draft a mapping file for a source table, for the analyst to check and finish.

The draft is the starting point of ``dah-outcomes init-mapping``: source column names are
matched to the contract through :data:`SYNONYMS`, headers such as ``"Cyclophosphamide start
date"``, ``"PLEX start"`` or ``rituximab_start_date`` become ``[treatments]`` tables (a
treatment's name, then a course field), and what cannot be matched (a column, a
flag value outside the built-in words, an ambiguous date format) is written as a ``# TODO``
rather than guessed. The text it returns is what :func:`~dah_outcomes.io.mapping.load_mapping`
reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._vocabulary import (
    CONTRACT,
    COURSE_FIELDS,
    DEFAULT_NA_VALUES,
    FALSE_WORDS,
    LAYOUTS,
    SEX_WORDS,
    TREATMENT_WORDS,
    TRUE_WORDS,
    code_value,
    match_key,
    normalize_name,
    strip_text,
)
from dah_outcomes.schema import TABLES, Column

__all__ = ["SYNONYMS", "course_header", "draft_mapping"]

#: Column-name synonyms used to draft a mapping (normalised before matching).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id",
        "id",
        "patient",
        "record_id",
        "record",
        "subject",
        "usubjid",
        "subjid",
        "study_id",
        "pid",
        "case",
        "case_id",
        "paciente",
        "caso",
        "mrn",
    ),
    "sex": ("sex", "gender", "sexo", "genero"),
    "birth_date": ("birth_date", "dob", "date_of_birth", "birthdate", "fecha_nacimiento", "brthdt"),
    "sle_diagnosis_date": (
        "sle_diagnosis_date",
        "sle_date",
        "date_sle_diagnosis",
        "sle_diagnosis",
        "lupus_diagnosis_date",
        "diagnosis_date",
    ),
    "followup_start": (
        "followup_start",
        "fu_start",
        "entry_date",
        "start_date",
        "cohort_entry",
        "startdt",
    ),
    "followup_end": (
        "followup_end",
        "fu_end",
        "last_followup",
        "last_visit",
        "end_date",
        "date_last_contact",
        "lastfu",
        "last_follow_up",
    ),
    "death_date": ("death_date", "date_of_death", "dod", "dthdt", "fecha_muerte"),
    "site": ("site", "centre", "center", "hospital", "redcap_data_access_group", "siteid"),
    "episode_number": (
        "episode_number",
        "episode",
        "episode_no",
        "redcap_repeat_instance",
        "episodio",
    ),
    "onset_date": (
        "onset_date",
        "dah_date",
        "dah_onset",
        "onset",
        "admission_date",
        "date_dah",
        "fecha_hda",
    ),
    "discharge_date": ("discharge_date", "discharge", "date_discharge", "alta"),
    "first_manifestation": ("first_manifestation", "dah_first_manifestation", "initial"),
    "nephritis": ("nephritis", "lupus_nephritis", "ln", "glomerulonephritis", "nefritis"),
    "infection": ("infection", "infeccion", "concurrent_infection"),
    "severe": ("severe", "severity", "severe_presentation"),
    "hemoglobin_drop": ("hemoglobin_drop", "hb_drop", "haemoglobin_drop", "delta_hb"),
    "bal_confirmed": ("bal_confirmed", "bal", "bronchoalveolar_lavage"),
    "icu_admission": ("icu_admission", "icu", "uci"),
    "mechanical_ventilation": (
        "mechanical_ventilation",
        "mv",
        "ventilation",
        "imv",
        "ventilacion_mecanica",
    ),
    "ventilation_days": ("ventilation_days", "mv_days", "days_ventilated"),
    "ecmo": ("ecmo",),
    "methylprednisolone_pulse": (
        "methylprednisolone_pulse",
        "mp_pulse",
        "ivmp",
        "mp",
        "methylprednisolone",
        "pulse_steroids",
    ),
    "methylprednisolone_dose_mg": ("methylprednisolone_dose_mg", "mp_dose", "ivmp_dose"),
    "oral_prednisone": ("oral_prednisone", "prednisone", "oral_steroids"),
    "cyclophosphamide": ("cyclophosphamide", "cyc", "cyclophosphamide_iv", "ciclofosfamida"),
    "plasmapheresis": ("plasmapheresis", "plex", "plasma_exchange", "tpe", "plasmaferesis"),
    "plasmapheresis_sessions": ("plasmapheresis_sessions", "plex_sessions", "tpe_sessions"),
    "rituximab": ("rituximab", "rtx"),
    "mycophenolate": ("mycophenolate", "mmf", "micofenolato"),
    "hydroxychloroquine": ("hydroxychloroquine", "hcq"),
    "rfviia": ("rfviia", "factor_viia", "rfvii"),
    "in_hospital_death": (
        "in_hospital_death",
        "died_in_hospital",
        "hospital_death",
        "death_in_hospital",
        "inhospital_death",
        "died",
    ),
    "arm": ("arm", "treatment_arm", "trt01p", "trtp", "group"),
}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")


def draft_mapping(raw: Any, *, layout: str | None = None, max_values: int = 30) -> str:
    """Draft a mapping file (TOML text) for a source table, for the analyst to finish.

    Column names are matched to the contract through :data:`SYNONYMS` (ignoring case, spaces,
    punctuation and accents); values of flag and sex columns outside the built-in vocabularies,
    date formats and decimal commas are detected. Everything not matched is marked ``# TODO``.

    Parameters
    ----------
    raw : RawTable or DataFrame
        The source, e.g. from :func:`~dah_outcomes.io.readers.read_table`.
    layout : str, optional
        Layout to write (default ``flat``, or ``redcap`` when REDCap columns are present).
    max_values : int, default 30
        Columns with more distinct values than this get no value map.

    Returns
    -------
    str
        TOML text that :func:`~dah_outcomes.io.mapping.load_mapping` accepts.
    """
    frame = raw.frame if hasattr(raw, "frame") else raw
    if layout is None:
        layout = "redcap" if "redcap_repeat_instrument" in frame.columns else "flat"
    if layout not in LAYOUTS:
        raise ArgumentError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    lines = [
        "# Drafted by dah-outcomes init-mapping: check every line, finish the TODOs.",
        f"# Source: {getattr(raw, 'path', '(frame)')}",
        f'layout = "{layout}"',
    ]
    norm: dict[str, str] = {}
    alike: dict[str, list[str]] = {}
    for c in frame.columns:
        key = normalize_name(c)
        if key:
            alike.setdefault(key, []).append(str(c))
            norm.setdefault(key, str(c))
    taken: set[str] = set()
    body: list[str] = []
    decimal_comma = False
    for name, col in CONTRACT.items():
        if name in _COURSE_ONLY:
            continue  # a wide source's courses are drafted as [treatments] tables below
        src = next(
            (
                norm[k]
                for k in map(normalize_name, SYNONYMS.get(name, (name,)))
                if k in norm and norm[k] not in taken
            ),
            None,
        )
        same = alike.get(normalize_name(src), []) if src is not None else []
        if len(same) > 1:
            body.append(f'# {name} = ""  # TODO: {same} all match: name the one meant')
            continue
        if src is None:
            need = "required" if col.required else "optional"
            body.append(
                f'# {name} = ""  # TODO: no source column found ({need}: {col.description})'
            )
            continue
        taken.add(src)
        opts, notes = _draft_options(frame[src], col, max_values)
        decimal_comma |= opts.pop("_decimal_comma", False)
        spec = _toml_value(src) if not opts else _toml_inline({"source": src, **opts})
        body.append(f"{name} = {spec}" + (f"  # {'; '.join(notes)}" if notes else ""))
    courses = _draft_courses(frame, taken, max_values)
    if decimal_comma:
        lines.append('decimal = ","  # numbers are written with a decimal comma')
    lines += ["", "[columns]", *body, *courses]
    rest = [str(c) for c in frame.columns if str(c) not in taken]
    if rest:
        lines += ["", "# Source columns not mapped (TODO: map or leave out on purpose):"]
        lines += [f"#   {c}" for c in rest]
    return "\n".join(lines) + "\n"


_NA_KEYS = {match_key(v) for v in DEFAULT_NA_VALUES}
_COURSE_ONLY = {c.name for c in TABLES["treatments"]} - {
    c.name for t in ("patients", "episodes") for c in TABLES[t]
}


def course_header(name: object) -> tuple[str, str] | None:
    """``(treatment, course field)`` a wide source's header names, e.g. ``"PLEX start"`` ->
    ``("plasmapheresis", "start_date")``; None for any other header.

    Parameters
    ----------
    name : object
        A column name.

    Returns
    -------
    tuple of str or None
    """
    norm = normalize_name(name)
    for word in sorted(TREATMENT_WORDS, key=len, reverse=True):
        if not norm.startswith(word):
            continue
        rest = norm[len(word) :]
        for field, suffixes in COURSE_FIELDS.items():
            if rest in suffixes:
                return TREATMENT_WORDS[word], field
    return None


def _draft_courses(frame: pd.DataFrame, taken: set[str], max_values: int) -> list[str]:
    """``[treatments.<name>]`` tables for the course headers not mapped to a column already."""
    found: dict[str, dict[str, str]] = {}
    for c in frame.columns:
        hit = course_header(c) if str(c) not in taken else None
        if hit is not None and hit[1] not in found.setdefault(hit[0], {}):
            found[hit[0]][hit[1]] = str(c)
    out: list[str] = []
    course_cols = {c.name: c for c in TABLES["treatments"]}
    for treatment, fields in found.items():
        if not fields:
            continue
        if "start_date" not in fields:
            out += [
                "",
                f"# TODO: {sorted(fields.values())} give {treatment} courses but no start date "
                f"column was found: add [treatments.{treatment}] start_date = ...",
            ]
            continue
        out += ["", f"[treatments.{treatment}]"]
        for field in COURSE_FIELDS:
            if field not in fields:
                continue
            src = fields[field]
            taken.add(src)
            opts, notes = _draft_options(frame[src], course_cols[field], max_values)
            opts.pop("_decimal_comma", None)
            spec = _toml_value(src) if not opts else _toml_inline({"source": src, **opts})
            out.append(f"{field} = {spec}" + (f"  # {'; '.join(notes)}" if notes else ""))
    return out


def _draft_options(s: pd.Series, col: Column, max_values: int) -> tuple[dict[str, Any], list]:
    opts: dict[str, Any] = {}
    notes: list[str] = []
    text = strip_text(s).dropna().map(lambda v: str(code_value(v)))
    distinct = pd.unique(text)
    if col.kind == "date" and len(text):
        fits = [
            f
            for f in _DATE_FORMATS
            if pd.to_datetime(text, format=f, errors="coerce").notna().all()
        ]
        if fits and fits[0] != "%Y-%m-%d":
            opts["format"] = fits[0]
            if len(fits) > 1:
                notes.append(f"TODO: also parses as {fits[1]}: check which is right")
        elif not fits:
            notes.append("TODO: some values are not dates in one format; give format=")
    elif col.kind == "bool" or col.name == "sex":
        vocab = (TRUE_WORDS | FALSE_WORDS) if col.kind == "bool" else set(SEX_WORDS)
        odd = [v for v in distinct if match_key(v) not in vocab | _NA_KEYS]
        if odd and len(distinct) <= max_values:
            opts["values"] = {v: "TODO" for v in odd}
            notes.append("TODO: give the meaning of each listed value")
    elif col.kind in ("int", "float") and len(text):
        if text.str.fullmatch(r"-?\d+,\d+").any():
            opts["_decimal_comma"] = True
        if col.name == "hemoglobin_drop":
            num = pd.to_numeric(text.str.replace(",", "."), errors="coerce")
            if num.median() > 15:
                opts["unit"] = "g/L"
                notes.append("values look like g/L: converted to g/dL")
    return opts, notes


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return _toml_inline(v)
    return json.dumps(str(v), ensure_ascii=False)


def _toml_inline(d: Mapping[str, Any]) -> str:
    return (
        "{ "
        + ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in d.items()
        )
        + " }"
    )
