"""Flat layouts: one row per patient, one row per episode, or a patients and an episodes table.

* ``flat``: one row per patient; the columns of the patient's first DAH episode sit on the
  same row, and a row with no episode value is a patient without DAH.
* ``episodes``: one row per episode, the patient columns repeated on each of its rows.
* ``two_tables``: a patients file and an episodes file (or a folder holding both).

In each, the ``[treatments]`` columns of a row holding an episode give that episode's dated
treatment courses (see :func:`~dah_outcomes.io.mapping.wide_courses`): a course is read from
the source row of its episode and is accepted or rejected with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.layouts._base import Assembled, mapping_problems, row_issue_problems
from dah_outcomes.io.mapping import Courses, ImportMapping, apply_mapping, wide_courses
from dah_outcomes.io.readers import RawTable
from dah_outcomes.io.staging import EXTRA_RULES, problem_frame

__all__ = [
    "assemble_episodes",
    "assemble_flat",
    "assemble_two_tables",
    "course_notes",
    "course_tables",
    "flat_tables",
]


def course_tables(
    frame: pd.DataFrame,
    m: ImportMapping,
    keys: pd.DataFrame,
    label: str,
    tables: dict[str, pd.DataFrame],
    *,
    date_format: str | None = None,
) -> tuple[pd.DataFrame, set[str], dict[str, int]]:
    """Add the ``[treatments]`` courses of ``frame`` to ``tables`` (when the mapping has any).

    Parameters
    ----------
    frame : DataFrame
        Source rows.
    m : ImportMapping
        The mapping.
    keys : DataFrame
        ``patient_id`` and ``episode_number`` of each row's episode (index as ``frame``).
    label : str
        Label of the source file.
    tables : dict
        The contract tables; ``treatments`` is set in place.
    date_format : str, optional
        Default format of course dates (``"sas"`` for ADTTE).

    Returns
    -------
    problems : DataFrame
        Mapping problems (course columns the source lacks).
    used : set of str
        Source columns read for the courses.
    undated : dict
        Treatment -> rows giving course fields but no start date.
    """
    if not m.treatments:
        return problem_frame([]), set(), {}
    c: Courses = wide_courses(frame, m, keys, date_format=date_format)
    tables["treatments"] = c.frame
    return (
        problem_frame(mapping_problems(c.missing, "treatments", label)),
        set(c.used),
        dict(c.undated),
    )


def flat_tables(
    frame: pd.DataFrame,
    m: ImportMapping,
    label: str,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    default_episode_number: pd.Series | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str], dict[str, int]]:
    """Patients and first episodes (and their dated courses) from one row per patient.

    Shared by the flat layout, the streamed import (chunk by chunk) and REDCap projects
    without a repeating episode instrument.

    Parameters
    ----------
    frame : DataFrame
        Source rows, indexed by source row number.
    m : ImportMapping
        The mapping.
    label : str
        Label (path) of the source file, for the problems.
    value_labels : mapping, optional
        Column -> {code: label} from the reader.
    default_episode_number : Series, optional
        Episode numbers (index source row) used when the mapping gives none; 1 by default.

    Returns
    -------
    tables : dict
        ``patients`` and ``episodes`` (rows without any episode value hold no episode).
    problems : DataFrame
        Mapping problems (source columns the mapping names that the frame lacks).
    unmapped : list of str
        Source columns used by neither table.
    undated : dict
        Treatment -> rows giving course fields without a start date (no course).
    """
    pt = apply_mapping(frame, m, table="patients", value_labels=value_labels)
    # the patient_id of a row is translated once for both tables
    et = apply_mapping(frame, m, table="episodes", value_labels=value_labels, shared=pt)
    e = et.frame
    constants = {n for n, r in m.columns.items() if r.constant is not None}
    content = [
        c for c in e.columns if c not in ("patient_id", "episode_number") and c not in constants
    ]
    # a row holds an episode when any episode column has a value; the others are patients
    # without DAH (a source population)
    has = e[content].notna().any(axis=1) if content else pd.Series(False, index=e.index)
    if "episode_number" not in e.columns:
        number = (
            1
            if default_episode_number is None
            else default_episode_number.reindex(e.index).to_numpy(dtype=object)
        )
        e = e.copy()
        e.insert(1 if "patient_id" in e.columns else 0, "episode_number", number)
    # a course on a row without an episode keeps its patient and episode number, so that it
    # is reported (unknown_episode) rather than lost
    keys = e
    e = e.loc[has.to_numpy(dtype=bool)].copy()
    tables = {"patients": pt.frame, "episodes": e}
    courses, used, undated = course_tables(frame, m, keys, label, tables)
    problems = problem_frame(
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
    return tables, problems, unmapped, undated


def assemble_flat(raw: RawTable, m: ImportMapping) -> Assembled:
    """One row per patient, carrying the first episode's columns when the patient had one.

    Parameters
    ----------
    raw : RawTable
        The source table.
    m : ImportMapping
        The mapping.

    Returns
    -------
    Assembled
    """
    label = str(raw.path)
    tables, problems, unmapped, undated = flat_tables(raw.frame, m, label, raw.value_labels)
    return Assembled(
        tables,
        {"patients": label, "episodes": label, "treatments": label},
        [raw],
        problems=problem_frame([row_issue_problems(raw), problems]),
        notes=course_notes({"unmapped_columns": unmapped}, undated),
    )


def assemble_episodes(raw: RawTable, m: ImportMapping) -> Assembled:
    """One row per episode; patient columns repeated on each of the patient's rows.

    A patient's rows are accepted or rejected together, and a patient column that differs
    between them is a problem (``inconsistent_patient_value``), not a silent choice.

    Parameters
    ----------
    raw : RawTable
        The source table.
    m : ImportMapping
        The mapping.

    Returns
    -------
    Assembled
    """
    label = str(raw.path)
    pt = apply_mapping(raw.frame, m, table="patients", value_labels=raw.value_labels)
    et = apply_mapping(raw.frame, m, table="episodes", value_labels=raw.value_labels)
    p = pt.frame
    tables = {"episodes": et.frame}
    courses, used, undated = course_tables(raw.frame, m, et.frame, label, tables)
    problems = [
        row_issue_problems(raw),
        problem_frame(
            [
                *mapping_problems(pt.missing, "patients", label),
                *mapping_problems(et.missing, "episodes", label),
            ]
        ),
        courses,
    ]
    groups = pd.Series(raw.frame.index.astype(str), index=raw.frame.index)
    if "patient_id" in p.columns and len(p):
        pid = p["patient_id"]
        known = pid.notna().to_numpy()
        groups[known] = "id:" + pid[known].astype(str)
        cols = [c for c in p.columns if c != "patient_id"]
        if cols:
            sub = p.loc[known]
            as_text = sub[cols].astype("string").fillna("\x00")
            n_distinct = as_text.groupby(sub["patient_id"].to_numpy()).transform("nunique")
            bad = n_distinct > 1
            for c in cols:
                rows = bad.index[bad[c].to_numpy()]
                if len(rows):
                    problems.append(
                        problem_frame(
                            [
                                pd.DataFrame(
                                    {
                                        "file": label,
                                        "table": "patients",
                                        "row": rows.to_numpy(dtype=object),
                                        "patient_id": sub.loc[rows, "patient_id"].to_numpy(
                                            dtype=object
                                        ),
                                        "column": c,
                                        "value": p.loc[rows, c].astype(object).to_numpy(),
                                        "rule": "inconsistent_patient_value",
                                        "hint": EXTRA_RULES["inconsistent_patient_value"],
                                    }
                                )
                            ]
                        )
                    )
        first = ~pid.duplicated() | ~known
        p = p.loc[first.to_numpy(dtype=bool)]
    return Assembled(
        {"patients": p, **tables},
        {"patients": label, "episodes": label, "treatments": label},
        [raw],
        groups={label: groups},
        problems=problem_frame(problems),
        notes=course_notes(
            {"unmapped_columns": sorted((set(pt.unmapped) & set(et.unmapped)) - used)}, undated
        ),
    )


def assemble_two_tables(
    p_raw: RawTable, e_raw: RawTable, m: ImportMapping, t_raw: RawTable | None = None
) -> Assembled:
    """A patients table and an episodes table (and a treatments table), each in its own file.

    Parameters
    ----------
    p_raw, e_raw : RawTable
        The patients and the episodes source tables.
    m : ImportMapping
        The mapping (its columns name any file's columns).
    t_raw : RawTable, optional
        A treatments table: one row per course (the cohort folder's ``treatments`` file).

    Returns
    -------
    Assembled
    """
    pl, el = str(p_raw.path), str(e_raw.path)
    pt = apply_mapping(p_raw.frame, m, table="patients", value_labels=p_raw.value_labels)
    et = apply_mapping(e_raw.frame, m, table="episodes", value_labels=e_raw.value_labels)
    tables = {"patients": pt.frame, "episodes": et.frame}
    table_file = {"patients": pl, "episodes": el, "treatments": el}
    courses, used, undated = course_tables(e_raw.frame, m, et.frame, el, tables)
    files = [p_raw, e_raw]
    problems = [
        row_issue_problems(p_raw),
        row_issue_problems(e_raw),
        problem_frame(
            [
                *mapping_problems(pt.missing, "patients", pl),
                *mapping_problems(et.missing, "episodes", el),
            ]
        ),
        courses,
    ]
    unmapped = {
        "patients": list(pt.unmapped),
        "episodes": [c for c in et.unmapped if c not in used],
    }
    if t_raw is not None:
        if m.treatments:
            raise ArgumentError(
                "give the courses either as a treatments table or as [treatments] columns "
                "of the episodes table, not both"
            )
        tl = str(t_raw.path)
        tt = apply_mapping(t_raw.frame, m, table="treatments", value_labels=t_raw.value_labels)
        tables["treatments"], table_file["treatments"] = tt.frame, tl
        files.append(t_raw)
        problems += [
            row_issue_problems(t_raw),
            problem_frame(mapping_problems(tt.missing, "treatments", tl)),
        ]
        unmapped["treatments"] = list(tt.unmapped)
    return Assembled(
        tables,
        table_file,
        files,
        problems=problem_frame(problems),
        notes=course_notes({"unmapped_columns": unmapped}, undated),
    )


def course_notes(notes: dict[str, Any], undated: Mapping[str, int]) -> dict[str, Any]:
    """Provenance notes with the rows whose course fields had no start date (if any).

    Parameters
    ----------
    notes : dict
        The layout's notes.
    undated : mapping
        Treatment -> rows giving an end date, sessions or dose without a start date.

    Returns
    -------
    dict
        ``notes`` with ``courses_without_start_date`` when ``undated`` is not empty.
    """
    if undated:
        notes["courses_without_start_date"] = dict(undated)
    return notes
