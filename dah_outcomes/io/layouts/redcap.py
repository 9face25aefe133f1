"""REDCap record exports (raw or labelled CSV) with their data dictionary. No network.

* Choices ``"1, Yes | 0, No"`` decode coded values to their labels (split on ``|``, then on the
  first comma only: labels may hold commas); ``yesno`` and ``truefalse`` fields decode 1/0.
* Checkbox fields arrive as one column per choice, ``field___code`` (0/1, or
  Checked/Unchecked in a labelled export).
* Repeating instruments (``redcap_repeat_instrument``, ``redcap_repeat_instance``): each
  instance of the episode instrument becomes one episode, numbered by its instance unless the
  mapping names ``episode_number``.
* Longitudinal projects (``redcap_event_name``): a record's non-repeating rows are merged into
  one patient, taking each field's value from the event that has it; two events disagreeing
  on a field is a problem, not a silent choice.

* Treatment courses: date fields on the episode instrument (``cyc_start_date``...) through the
  mapping's ``[treatments]`` tables, as in a flat source; or a repeating treatment instrument,
  one course per instance, whose fields are the treatments table's columns (``treatment``, a
  choice whose labels name the treatments, ``start_date``, ``end_date``, ``sessions``,
  ``dose_mg``; other names through ``[columns]``) and a field giving the episode number the
  course belongs to. A course instance is accepted or rejected on its own; it follows its
  episode when that is rejected.

Mapping options under ``[redcap]``: ``record_id`` (default: the export's first column, which
REDCap always makes the record id; the dictionary's order is not relied on),
``episode_instrument`` (default: the only repeating instrument present other
than the treatment one), ``treatment_instrument`` (default: a repeating instrument named
``treatment``, ``treatments``, ``treatment_course(s)`` or ``course(s)``) and
``treatment_episode_field`` (default: the first of ``episode_number``, ``dah_episode``,
``episode``, ``course_episode`` present).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.layouts._base import Assembled, mapping_problems, row_issue_problems
from dah_outcomes.io.layouts.flat import course_notes, course_tables, flat_tables
from dah_outcomes.io.mapping import ImportMapping, apply_mapping
from dah_outcomes.io.readers import RawTable, read_table
from dah_outcomes.io.staging import EXTRA_RULES, problem_frame

__all__ = [
    "assemble_redcap",
    "decode_choices",
    "label_headers",
    "parse_choices",
    "read_dictionary",
]

_DD_COLUMNS = {
    "variable / field name": "field_name",
    "field_name": "field_name",
    "form name": "form_name",
    "form_name": "form_name",
    "field type": "field_type",
    "field_type": "field_type",
    "field label": "field_label",
    "field_label": "field_label",
    "choices, calculations, or slider labels": "choices",
    "select_choices_or_calculations": "choices",
    "text validation type or show slider number": "validation",
    "text_validation_type_or_show_slider_number": "validation",
}
_REDCAP_KEYS = {
    "record_id",
    "episode_instrument",
    "treatment_instrument",
    "treatment_episode_field",
}
_COURSE_INSTRUMENTS = (
    "treatment",
    "treatments",
    "treatment_course",
    "treatment_courses",
    "course",
    "courses",
)
_COURSE_EPISODE_FIELDS = ("episode_number", "dah_episode", "episode", "course_episode")
_FIXED = {"yesno": {"1": "yes", "0": "no"}, "truefalse": {"1": "true", "0": "false"}}


def parse_choices(text: object) -> dict[str, str]:
    """``"1, Yes | 0, No"`` -> ``{"1": "Yes", "0": "No"}`` (labels may contain commas).

    Parameters
    ----------
    text : str or None
        A dictionary's "Choices, Calculations, OR Slider Labels" cell.

    Returns
    -------
    dict
        Code -> label, in the dictionary's order (empty for a missing cell).
    """
    # pd.isna takes any object (a scalar here, not a str); the stubs only list known types
    if text is None or (not isinstance(text, str) and pd.isna(text)):  # type: ignore[call-overload]
        return {}
    out: dict[str, str] = {}
    for part in str(text).split("|"):
        code, sep, label = part.partition(",")
        if sep:
            out[code.strip()] = label.strip()
    return out


def read_dictionary(path: str | Path | RawTable | pd.DataFrame) -> pd.DataFrame:
    """Read a REDCap data dictionary (CSV export or API metadata names).

    Parameters
    ----------
    path : path, RawTable or DataFrame
        The dictionary file, or the dictionary already read.

    Returns
    -------
    DataFrame
        ``field_name, form_name, field_type, field_label, choices, validation`` in
        dictionary order.

    Raises
    ------
    ArgumentError
        If the field name, form name or field type column is missing.
    """
    if isinstance(path, pd.DataFrame):
        frame = path
    else:
        frame = (path if isinstance(path, RawTable) else read_table(path, format="csv")).frame
    rename = {
        c: _DD_COLUMNS[str(c).strip().lower()]
        for c in frame.columns
        if str(c).strip().lower() in _DD_COLUMNS
    }
    dd = frame.rename(columns=rename)
    need = ["field_name", "form_name", "field_type"]
    missing = [c for c in need if c not in dd.columns]
    if missing:
        raise ArgumentError(
            f"the data dictionary lacks {missing}: export it from REDCap "
            "(Project Setup > Data Dictionary > Download)"
        )
    for c in ("field_label", "choices", "validation"):
        if c not in dd.columns:
            dd[c] = None
    dd = dd[["field_name", "form_name", "field_type", "field_label", "choices", "validation"]]
    dd = dd.astype(object).where(dd.notna(), None)
    dd["field_name"] = dd["field_name"].map(lambda v: str(v).strip())
    dd["field_type"] = dd["field_type"].map(lambda v: str(v).strip().lower() if v else "text")
    return dd.reset_index(drop=True)


#: REDCap's own columns as a labelled export heads them
_LABELLED_SYSTEM = {
    "repeat instrument": "redcap_repeat_instrument",
    "repeat instance": "redcap_repeat_instance",
    "event name": "redcap_event_name",
}


def _instrument_key(value: object) -> object:
    """Instrument names compare as REDCap's unique names: a labelled export prints
    "DAH Episode" where the raw export has "dah_episode"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return re.sub(r"\W+", "_", str(value).strip().lower()).strip("_")


def label_headers(columns: pd.Index, dd: pd.DataFrame) -> dict[str, str]:
    """Labelled exports use field labels as headers: map them back to field names.

    Parameters
    ----------
    columns : Index
        The export's headers.
    dd : DataFrame
        The dictionary, from :func:`read_dictionary`.

    Returns
    -------
    dict
        Header -> field name (``field___code`` for a checkbox choice), for the headers that
        are labels.
    """
    names = set(dd["field_name"])
    out: dict[str, str] = {}
    by_label = {
        str(lab).strip(): f
        for f, lab in zip(dd["field_name"], dd["field_label"], strict=True)
        if lab
    }
    choice_re = re.compile(r"^(?P<label>.*) \(choice=(?P<choice>.*)\)$")
    for c in columns:
        text = str(c).strip()
        if text in names or text.startswith("redcap_"):
            continue
        if text.lower() in _LABELLED_SYSTEM:
            out[str(c)] = _LABELLED_SYSTEM[text.lower()]
            continue
        if text in by_label:
            out[str(c)] = by_label[text]
            continue
        hit = choice_re.match(text)
        if hit and hit["label"].strip() in by_label:
            field = by_label[hit["label"].strip()]
            row = dd.loc[dd["field_name"] == field].iloc[0]
            codes = {lab: code for code, lab in parse_choices(row["choices"]).items()}
            if hit["choice"] in codes:
                out[str(c)] = f"{field}___{codes[hit['choice']]}"
    return out


def decode_choices(frame: pd.DataFrame, dd: pd.DataFrame) -> pd.DataFrame:
    """Coded choices to their labels; values that are not codes (labelled export) kept.

    Parameters
    ----------
    frame : DataFrame
        The export, headed by field names. Not modified.
    dd : DataFrame
        The dictionary, from :func:`read_dictionary`.

    Returns
    -------
    DataFrame
        A copy with radio, dropdown, yes/no and true/false codes replaced by their labels.
    """
    out = frame.copy()
    for rec in dd.itertuples(index=False):
        if rec.field_name not in out.columns:
            continue
        if rec.field_type in ("radio", "dropdown"):
            codes = parse_choices(rec.choices)
        elif rec.field_type in _FIXED:
            codes = _FIXED[str(rec.field_type)]  # a key of _FIXED: a str already
        else:
            continue
        col = out[rec.field_name].astype(object)
        key = col.map(lambda v: str(v).strip() if v is not None and not pd.isna(v) else None)
        mapped = key.map(codes)
        out[rec.field_name] = col.where(mapped.isna(), mapped)
    return out


def assemble_redcap(raw: RawTable, m: ImportMapping, dd: pd.DataFrame | None) -> Assembled:
    """Patients, episodes and treatment courses from a REDCap export (see the module docstring).

    Parameters
    ----------
    raw : RawTable
        The record export.
    m : ImportMapping
        The mapping (options under ``[redcap]``).
    dd : DataFrame or None
        The data dictionary from :func:`read_dictionary`, when given: it decodes choices and
        the headers of a labelled export.

    Returns
    -------
    Assembled
    """
    unknown = set(m.redcap) - _REDCAP_KEYS
    if unknown:
        raise ArgumentError(
            f"unknown [redcap] option(s) {sorted(unknown)}; valid options are "
            f"{sorted(_REDCAP_KEYS)}"
        )
    label = str(raw.path)
    frame = raw.frame
    if dd is not None:
        frame = decode_choices(frame.rename(columns=label_headers(frame.columns, dd)), dd)
    cols = {str(c).lower(): c for c in frame.columns}
    record = m.redcap.get("record_id") or _record_column(frame)
    if record not in frame.columns:
        raise ArgumentError(
            f"the export has no record-id column {record!r}; set [redcap] "
            f"record_id (columns: {list(frame.columns)[:10]})"
        )
    inst_col = cols.get("redcap_repeat_instance")
    event_col = cols.get("redcap_event_name")
    instrument, episode_instr, course_instr = _instruments(
        frame, m, cols.get("redcap_repeat_instrument")
    )
    m = _with_record_default(m, record)
    is_base = instrument.isna().to_numpy()
    is_episode = _is(instrument, episode_instr)
    is_course = _is(instrument, course_instr)
    problems = [row_issue_problems(raw)]
    base = frame.loc[is_base]
    # a record's non-repeating rows (its events) and rows of other instruments stand or fall
    # together; episode rows follow their patient through the patient_id cascade, and course
    # rows their episode
    groups = pd.Series(None, index=frame.index, dtype=object)
    rid = _text(frame[record])
    together = rid.notna().to_numpy() & ~is_episode & ~is_course
    groups[together] = "rec:" + rid[together]
    if event_col is not None and len(base):
        base, conflicts = _merge_events(base, record, label)
        problems.append(conflicts)
    instance = pd.to_numeric(frame[inst_col], errors="coerce") if inst_col is not None else None
    link = _course_link(frame, m, course_instr)
    undated: dict[str, int] = {}
    if episode_instr is None:
        tables, mp, unmapped, undated = flat_tables(base, m, label, raw.value_labels)
        problems.append(mp)
    else:
        rows = frame.loc[is_episode]
        if link is not None and "episode_number" not in m.columns:
            rows = rows.drop(columns=[link])  # the course's field, not the episode's number
        tables, mp, unmapped, undated = _episode_tables(base, rows, m, label, raw, instance)
        problems.append(mp)
    if course_instr is not None:
        cp, used = _course_table(frame.loc[is_course], m, link, label, raw, tables)
        problems.append(cp)
        unmapped = sorted(set(unmapped) - used)
    other = ~is_base & ~is_episode & ~is_course
    notes: dict[str, Any] = {
        "unmapped_columns": unmapped,
        "redcap": {
            "record_id": record,
            "episode_instrument": episode_instr,
            "treatment_instrument": course_instr,
            "longitudinal": event_col is not None,
            "rows_of_other_instruments": int(other.sum()),
            "other_instruments": sorted(set(instrument[other].dropna())),
        },
    }
    return Assembled(
        tables,
        {"patients": label, "episodes": label, "treatments": label},
        [raw],
        groups={label: groups},
        problems=problem_frame(problems),
        notes=course_notes(notes, undated),
    )


def _record_column(frame: pd.DataFrame) -> str:
    """The record id: the first column of every REDCap export, whatever order the data
    dictionary lists its fields in (a re-sorted dictionary must not make birth dates ids)."""
    if len(frame.columns) and not str(frame.columns[0]).startswith("redcap_"):
        return str(frame.columns[0])
    return "record_id"


def _is(instrument: pd.Series, name: object) -> np.ndarray:
    if name is None:
        return np.zeros(len(instrument), dtype=bool)
    return (instrument == name).fillna(False).to_numpy(dtype=bool)


def _instruments(
    frame: pd.DataFrame, m: ImportMapping, instr_col: Any
) -> tuple[pd.Series, object, object]:
    """Each row's repeating instrument, and which one holds episodes and which courses."""
    instrument = (
        _text(frame[instr_col]).map(_instrument_key)
        if instr_col is not None
        else (pd.Series(None, index=frame.index, dtype=object))
    )
    present = sorted(set(instrument.dropna()))
    course_instr = _instrument_key(m.redcap.get("treatment_instrument"))
    if course_instr is None:
        course_instr = next((i for i in _COURSE_INSTRUMENTS if i in present), None)
    episode_instr = _instrument_key(m.redcap.get("episode_instrument"))
    rest = [i for i in present if i != course_instr]
    if episode_instr is None and len(rest) == 1:
        episode_instr = rest[0]
    elif episode_instr is None and len(rest) > 1:
        raise ArgumentError(
            f"several repeating instruments {rest}: name the episode one in "
            'the mapping: [redcap] episode_instrument = "..."'
        )
    if course_instr is not None and course_instr == episode_instr:
        raise ArgumentError(
            f"{course_instr!r} cannot be both the episode and the treatment instrument: "
            "set [redcap] episode_instrument and treatment_instrument"
        )
    return instrument, episode_instr, course_instr


def _course_link(frame: pd.DataFrame, m: ImportMapping, course_instr: object) -> str | None:
    """The course instrument's field naming the episode a course belongs to."""
    if course_instr is None:
        return None
    given = m.redcap.get("treatment_episode_field")
    if given is not None:
        if given not in frame.columns:
            raise ArgumentError(
                f"[redcap] treatment_episode_field {given!r} is not a column of the export"
            )
        return str(given)
    return next((str(c) for c in _COURSE_EPISODE_FIELDS if c in frame.columns), None)


def _episode_tables(
    base: pd.DataFrame,
    rows: pd.DataFrame,
    m: ImportMapping,
    label: str,
    raw: RawTable,
    instance: pd.Series | None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str], dict[str, int]]:
    """Patients from the base rows, episodes (and their dated courses) from the instances."""
    pt = apply_mapping(base, m, table="patients", value_labels=raw.value_labels)
    et = apply_mapping(rows, m, table="episodes", value_labels=raw.value_labels)
    e = et.frame
    if "episode_number" not in e.columns and instance is not None:
        e.insert(
            1 if "patient_id" in e.columns else 0,
            "episode_number",
            instance.loc[e.index].astype("Float64").to_numpy(dtype=object),
        )
    tables = {"patients": pt.frame, "episodes": e}
    courses, used, undated = course_tables(rows, m, e, label, tables)
    mp = problem_frame(
        [
            problem_frame(
                [
                    *mapping_problems(pt.missing, "patients", label),
                    *mapping_problems(et.missing, "episodes", label),
                ]
            ),
            courses,
        ]
    )
    unmapped = sorted((set(pt.unmapped) & set(et.unmapped)) - used)
    return tables, mp, unmapped, undated


def _course_table(
    rows: pd.DataFrame,
    m: ImportMapping,
    link: str | None,
    label: str,
    raw: RawTable,
    tables: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, set[str]]:
    """One course per instance of the treatment instrument (``tables`` gets ``treatments``)."""
    if "treatments" in tables:
        raise ArgumentError(
            "give the courses either as a repeating treatment instrument or as [treatments] "
            "date fields, not both"
        )
    from dataclasses import replace
    from types import MappingProxyType

    from dah_outcomes.io.mapping import ColumnRule

    if link is not None:
        m = replace(
            m,
            columns=MappingProxyType(
                {**m.columns, "episode_number": ColumnRule("episode_number", sources=(link,))}
            ),
        )
    tt = apply_mapping(rows, m, table="treatments", value_labels=raw.value_labels)
    tables["treatments"] = tt.frame
    return problem_frame(mapping_problems(tt.missing, "treatments", label)), set(tt.used.values())


def _with_record_default(m: ImportMapping, record: str) -> ImportMapping:
    """Use the record id as patient_id unless the mapping says otherwise."""
    if "patient_id" in m.columns:
        return m
    from dataclasses import replace
    from types import MappingProxyType

    from dah_outcomes.io.mapping import ColumnRule

    return replace(
        m,
        columns=MappingProxyType(
            {**m.columns, "patient_id": ColumnRule("patient_id", sources=(record,))}
        ),
    )


def _text(s: pd.Series) -> pd.Series:
    t = s.astype(object).map(lambda v: str(v).strip() if v is not None and not pd.isna(v) else None)
    return t.where(t.map(lambda v: v not in (None, "")), None)


def _merge_events(base: pd.DataFrame, record: str, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per record: each field from the event that holds it (first row's index)."""
    rid = _text(base[record])
    # a row without a record id is a record of its own (fillna takes a Series, not an Index)
    own = pd.Series("\x00row" + base.index.astype(str), index=base.index)
    keyed = base.assign(__rid=rid.fillna(own))
    first = keyed.groupby("__rid", sort=False).head(1)
    merged = keyed.groupby("__rid", sort=False).first()  # first non-missing value per field
    merged.index = first.index
    merged = merged[base.columns]
    text = keyed.drop(columns=[c for c in keyed.columns if str(c).startswith("redcap_")])
    problems: list[pd.DataFrame] = []
    for c in text.columns:
        if c in (record, "__rid"):
            continue
        vals = _text(text[c])
        n = vals.groupby(keyed["__rid"].to_numpy()).transform("nunique")
        bad = (n > 1).to_numpy()
        if bad.any():
            problems.append(
                pd.DataFrame(
                    {
                        "file": label,
                        "table": "patients",
                        "row": base.index[bad].to_numpy(dtype=object),
                        "patient_id": rid[bad].to_numpy(dtype=object),
                        "column": str(c),
                        "value": vals[bad].to_numpy(dtype=object),
                        "rule": "inconsistent_patient_value",
                        "hint": EXTRA_RULES["inconsistent_patient_value"],
                    }
                )
            )
    return merged, problem_frame(problems)
