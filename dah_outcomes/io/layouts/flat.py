"""Flat layouts: one row per patient, one row per episode, or a patients and an episodes table.

* ``flat``: one row per patient; the columns of the patient's first DAH episode sit on the
  same row, and a row with no episode value is a patient without DAH.
* ``episodes``: one row per episode, the patient columns repeated on each of its rows.
* ``two_tables``: a patients file and an episodes file (or a folder holding both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dah_outcomes.io.layouts._base import Assembled, mapping_problems, row_issue_problems
from dah_outcomes.io.mapping import ImportMapping, apply_mapping
from dah_outcomes.io.readers import RawTable
from dah_outcomes.io.staging import EXTRA_RULES, problem_frame

__all__ = ["assemble_episodes", "assemble_flat", "assemble_two_tables", "flat_tables"]


def flat_tables(
    frame: pd.DataFrame,
    m: ImportMapping,
    label: str,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    default_episode_number: pd.Series | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    """Patients and first episodes from one row per patient.

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
    """
    pt = apply_mapping(frame, m, table="patients", value_labels=value_labels)
    et = apply_mapping(frame, m, table="episodes", value_labels=value_labels)
    e = et.frame
    constants = {n for n, r in m.columns.items() if r.constant is not None}
    content = [
        c for c in e.columns if c not in ("patient_id", "episode_number") and c not in constants
    ]
    # a row holds an episode when any episode column has a value; the others are patients
    # without DAH (a source population)
    has = e[content].notna().any(axis=1) if content else pd.Series(False, index=e.index)
    e = e.loc[has.to_numpy(dtype=bool)].copy()
    if "episode_number" not in e.columns:
        number = (
            1
            if default_episode_number is None
            else default_episode_number.reindex(e.index).to_numpy(dtype=object)
        )
        e.insert(1 if "patient_id" in e.columns else 0, "episode_number", number)
    problems = problem_frame(
        [
            *mapping_problems(pt.missing, "patients", label),
            *mapping_problems(et.missing, "episodes", label),
        ]
    )
    unmapped = sorted(set(pt.unmapped) & set(et.unmapped))
    return {"patients": pt.frame, "episodes": e}, problems, unmapped


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
    tables, problems, unmapped = flat_tables(raw.frame, m, label, raw.value_labels)
    return Assembled(
        tables,
        {"patients": label, "episodes": label},
        [raw],
        problems=problem_frame([row_issue_problems(raw), problems]),
        notes={"unmapped_columns": unmapped},
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
    problems = [
        row_issue_problems(raw),
        problem_frame(
            [
                *mapping_problems(pt.missing, "patients", label),
                *mapping_problems(et.missing, "episodes", label),
            ]
        ),
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
        {"patients": p, "episodes": et.frame},
        {"patients": label, "episodes": label},
        [raw],
        groups={label: groups},
        problems=problem_frame(problems),
        notes={"unmapped_columns": sorted(set(pt.unmapped) & set(et.unmapped))},
    )


def assemble_two_tables(p_raw: RawTable, e_raw: RawTable, m: ImportMapping) -> Assembled:
    """A patients table and an episodes table, each from its own file.

    Parameters
    ----------
    p_raw, e_raw : RawTable
        The patients and the episodes source tables.
    m : ImportMapping
        The mapping (its columns name either file's columns).

    Returns
    -------
    Assembled
    """
    pl, el = str(p_raw.path), str(e_raw.path)
    pt = apply_mapping(p_raw.frame, m, table="patients", value_labels=p_raw.value_labels)
    et = apply_mapping(e_raw.frame, m, table="episodes", value_labels=e_raw.value_labels)
    problems = problem_frame(
        [
            row_issue_problems(p_raw),
            row_issue_problems(e_raw),
            problem_frame(
                [
                    *mapping_problems(pt.missing, "patients", pl),
                    *mapping_problems(et.missing, "episodes", el),
                ]
            ),
        ]
    )
    return Assembled(
        {"patients": pt.frame, "episodes": et.frame},
        {"patients": pl, "episodes": el},
        [p_raw, e_raw],
        problems=problems,
        notes={"unmapped_columns": {"patients": list(pt.unmapped), "episodes": list(et.unmapped)}},
    )
