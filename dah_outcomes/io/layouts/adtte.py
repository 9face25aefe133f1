"""CDISC ADaM ADTTE datasets (``.xpt``, ``.sas7bdat`` or CSV) to a DAH cohort.

ADTTE holds one record per subject per parameter: ``USUBJID``, ``PARAMCD``, ``AVAL``, ``CNSR``
(**0 = event**; 1, 2, ... = censored for distinct reasons, so an event is ``CNSR == 0``, never
``1 - CNSR``), ``STARTDT`` (the time origin: here the DAH index date) and ``ADT`` (the event or
censoring date). Subject-level variables merged from ADSL (``SEX``, ``TRT01P``/``TRTP``...)
map to patient or episode columns through ``[columns]`` like any other source.

What each parameter gives (options under ``[adtte]``, defaults in brackets):

* ``death_param`` [``"OS"``]: one record per subject. ``STARTDT`` is the first DAH onset and
  the start of follow-up, ``ADT`` the end of follow-up, and ``ADT`` is the death date when
  ``CNSR == 0``.
* ``discharge_param`` [none]: time from onset to discharge alive (``CNSR == 0``); its ``ADT``
  is the discharge date (or the date of death in hospital), and ``CNSR ==
  died_in_hospital_cnsr`` [1] marks a death in hospital.
* ``subject`` [``"USUBJID"``], ``paramcd`` [``"PARAMCD"``], ``cnsr`` [``"CNSR"``],
  ``startdt`` [``"STARTDT"``], ``adt`` [``"ADT"``]: column names.

``CNSR`` is checked on the records it is read from: a blank, ``.``, a negative number, a
fraction or a letter is neither an event nor a censoring, and the subject is rejected
(``invalid_cnsr``), never taken as censored.

Records of other parameters are read and accounted for (accepted with their subject) but not
used; they are listed in provenance. Numeric dates are SAS dates (days since 1960-01-01).

Treatment courses: ADaM has no per-treatment start date in ADTTE itself; ADSL carries the
study treatment's ``TRTSDT``/``TRTEDT``. The convention adopted here is ADSL-style columns
merged onto the death parameter's record, one set per treatment, named in the mapping's
``[treatments]`` tables (e.g. ``[treatments.cyclophosphamide] start_date = "CYCSDT"``,
``end_date = "CYCEDT"``; ``[treatments.rituximab] start_date = "TRTSDT"`` when rituximab is
the study treatment). Their numeric values are SAS dates unless a ``format`` is given. The
courses belong to the index episode (episode 1) and are accepted or rejected with the
subject's records. A companion exposure dataset (ADEX/EX, one record per course) is not read
here: export it as a treatments table and import with the ``two_tables`` layout.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.layouts._base import Assembled, mapping_problems, row_issue_problems
from dah_outcomes.io.layouts.flat import course_notes, course_tables
from dah_outcomes.io.mapping import ImportMapping, apply_mapping, find_column
from dah_outcomes.io.readers import RawTable
from dah_outcomes.io.staging import problem_frame

__all__ = ["assemble_adtte", "sas_dates"]

_DEFAULTS: dict[str, Any] = {
    "subject": "USUBJID",
    "paramcd": "PARAMCD",
    "cnsr": "CNSR",
    "startdt": "STARTDT",
    "adt": "ADT",
    "death_param": "OS",
    "discharge_param": None,
    "died_in_hospital_cnsr": 1,
}
_SAS_EPOCH = pd.Timestamp("1960-01-01")
_RULES = {
    "missing_parameter": "every subject needs a record of the death parameter "
    "([adtte] death_param): add it or correct USUBJID",
    "missing_subject": "every record needs its subject identifier",
    "duplicate_parameter": "a subject has this parameter twice: keep one record",
    "invalid_cnsr": "CNSR must be 0 (the event) or a positive integer (a censoring reason); "
    "a blank, '.', a negative, a fraction or a letter says neither",
}


def sas_dates(s: pd.Series) -> pd.Series:
    """SAS dates (days since 1960-01-01) to ISO text; other values kept for the validator.

    Parameters
    ----------
    s : Series
        Numeric SAS dates, datetimes or text.

    Returns
    -------
    Series
        ISO dates (``YYYY-MM-DD``) where the value is a date, the value as given otherwise.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
    num = pd.to_numeric(s, errors="coerce")
    ok = (num.notna() & (num.abs() < 3e6)).to_numpy(dtype=bool)
    out = s.astype(object).copy()
    if ok.any():
        days = num[ok].to_numpy(dtype=float).round()
        out[ok] = (_SAS_EPOCH + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d").to_numpy()
    return out.map(lambda v: v if not hasattr(v, "strftime") else v.strftime("%Y-%m-%d"))


def _cnsr(s: pd.Series) -> pd.Series:
    """CNSR as numbers; anything that is not 0 or a positive integer is missing (and reported
    by :func:`_cnsr_problems`), so it can mean neither an event nor a censoring."""
    num = pd.to_numeric(s.astype(object).map(_strip), errors="coerce")
    whole = num.notna() & (num >= 0) & (num % 1 == 0)
    return num.where(whole)


def _strip(v: object) -> object:
    return v.strip() if isinstance(v, str) else v


def _cnsr_problems(frame: pd.DataFrame, col: str, subject: pd.Series, label: str) -> pd.DataFrame:
    """Records whose CNSR is not 0 or a positive integer (blank, ``.``, -1, 0.5, ``Y``)."""
    bad = _cnsr(frame[col]).isna().to_numpy(dtype=bool)
    if not bad.any():
        return problem_frame([])
    return problem_frame(
        [
            pd.DataFrame(
                {
                    "file": label,
                    "table": "source",
                    "row": frame.index[bad].to_numpy(dtype=object),
                    "patient_id": subject.loc[frame.index[bad]].to_numpy(dtype=object),
                    "column": col,
                    "value": frame.loc[bad, col].astype(object).to_numpy(),
                    "rule": "invalid_cnsr",
                    "hint": _RULES["invalid_cnsr"],
                }
            )
        ]
    )


def assemble_adtte(raw: RawTable, m: ImportMapping) -> Assembled:
    """Patients and their index DAH episode from an ADTTE dataset (see the module docstring).

    Parameters
    ----------
    raw : RawTable
        The ADTTE dataset.
    m : ImportMapping
        The mapping (options under ``[adtte]``).

    Returns
    -------
    Assembled
    """
    unknown = set(m.adtte) - set(_DEFAULTS)
    if unknown:
        raise ArgumentError(
            f"unknown [adtte] option(s) {sorted(unknown)}; valid options are {sorted(_DEFAULTS)}"
        )
    opt = {**_DEFAULTS, **m.adtte}
    label = str(raw.path)
    frame = raw.frame
    cols = {}
    for key in ("subject", "paramcd", "cnsr", "startdt", "adt"):
        found = find_column(frame.columns, (opt[key],))
        if found is None:
            raise ArgumentError(
                f"the ADTTE dataset has no {opt[key]!r} column (set [adtte] "
                f'{key} = "..."); columns: {list(frame.columns)[:12]}'
            )
        cols[key] = found
    subject = (
        frame[cols["subject"]]
        .astype(object)
        .map(lambda v: str(v).strip() if v is not None and not pd.isna(v) else None)
    )
    param = (
        frame[cols["paramcd"]]
        .astype(object)
        .map(lambda v: str(v).strip() if v is not None and not pd.isna(v) else None)
    )
    groups = pd.Series(None, index=frame.index, dtype=object)
    known = subject.notna().to_numpy()
    groups[known] = "subj:" + subject[known]
    problems = [row_issue_problems(raw)]

    is_death = (param == opt["death_param"]).to_numpy(dtype=bool)
    main = frame.loc[is_death]
    with_death = set(subject[is_death].dropna())
    lacking = known & ~subject.isin(with_death).to_numpy(dtype=bool)
    if lacking.any():
        problems.append(
            problem_frame(
                [
                    pd.DataFrame(
                        {
                            "file": label,
                            "table": "source",
                            "row": frame.index[lacking].to_numpy(dtype=object),
                            "patient_id": subject[lacking].to_numpy(dtype=object),
                            "column": cols["paramcd"],
                            "value": param[lacking].to_numpy(dtype=object),
                            "rule": "missing_parameter",
                            "hint": _RULES["missing_parameter"],
                        }
                    )
                ]
            )
        )

    nobody = ~known & ~is_death  # the death records without a subject fail validation
    if nobody.any():
        problems.append(
            problem_frame(
                [
                    pd.DataFrame(
                        {
                            "file": label,
                            "table": "source",
                            "row": frame.index[nobody].to_numpy(dtype=object),
                            "column": cols["subject"],
                            "value": None,
                            "rule": "missing_subject",
                            "hint": _RULES["missing_subject"],
                        }
                    )
                ]
            )
        )
    with_cnsr = [main]
    if opt["discharge_param"]:
        with_cnsr.append(frame.loc[(param == opt["discharge_param"]).to_numpy(dtype=bool)])
    for records in with_cnsr:  # the parameters whose CNSR is read
        problems.append(_cnsr_problems(records, cols["cnsr"], subject, label))
    derived = pd.DataFrame(index=main.index)
    derived["patient_id"] = subject[is_death].to_numpy(dtype=object)
    start = sas_dates(main[cols["startdt"]])
    end = sas_dates(main[cols["adt"]])
    died = (_cnsr(main[cols["cnsr"]]) == 0).fillna(False).to_numpy(dtype=bool)
    derived["followup_start"] = start
    derived["followup_end"] = end
    derived["death_date"] = end.where(died, None)
    derived["onset_date"] = start
    derived["episode_number"] = 1
    if opt["discharge_param"]:
        dis = frame.loc[(param == opt["discharge_param"]).to_numpy(dtype=bool)]
        dis_subject = subject.loc[dis.index]
        dup = dis_subject.duplicated(keep=False) & dis_subject.notna()
        if dup.any():
            rows = dis.index[dup.to_numpy()]
            problems.append(
                problem_frame(
                    [
                        pd.DataFrame(
                            {
                                "file": label,
                                "table": "source",
                                "row": rows.to_numpy(dtype=object),
                                "patient_id": dis_subject[dup].to_numpy(dtype=object),
                                "column": cols["paramcd"],
                                "value": opt["discharge_param"],
                                "rule": "duplicate_parameter",
                                "hint": _RULES["duplicate_parameter"],
                            }
                        )
                    ]
                )
            )
        first = dis.loc[~dis_subject.duplicated().to_numpy()]
        by_subject = pd.DataFrame(
            {
                "discharge_date": sas_dates(first[cols["adt"]]).to_numpy(dtype=object),
                "in_hospital_death": (
                    _cnsr(first[cols["cnsr"]]) == opt["died_in_hospital_cnsr"]
                ).to_numpy(dtype=object),
            },
            index=subject.loc[first.index].to_numpy(dtype=object),
        )
        joined = by_subject.reindex(derived["patient_id"].to_numpy())
        derived["discharge_date"] = joined["discharge_date"].to_numpy(dtype=object)
        derived["in_hospital_death"] = joined["in_hospital_death"].to_numpy(dtype=object)
    # the mapping wins over derived values; ADSL-style columns are taken from the main record
    keep = [c for c in derived.columns if c not in m.columns]
    source = pd.concat(
        [derived[keep], main.drop(columns=[c for c in main.columns if c in keep])], axis=1
    )
    pt = apply_mapping(source, m, table="patients", value_labels=raw.value_labels)
    et = apply_mapping(source, m, table="episodes", value_labels=raw.value_labels)
    tables = {"patients": pt.frame, "episodes": et.frame}
    courses, used, undated = course_tables(source, m, et.frame, label, tables, date_format="sas")
    problems.append(
        problem_frame(
            [
                *mapping_problems(pt.missing, "patients", label),
                *mapping_problems(et.missing, "episodes", label),
            ]
        )
    )
    problems.append(courses)
    others = sorted(set(param[~is_death].dropna()) - {opt["discharge_param"]})
    notes = {
        "adtte": {
            **opt,
            "columns": cols,
            "unused_parameters": others,
            "records_of_unused_parameters": int(param.isin(others).sum()),
        },
        "unmapped_columns": sorted((set(pt.unmapped) & set(et.unmapped)) - used),
    }
    return Assembled(
        tables,
        {"patients": label, "episodes": label, "treatments": label},
        [raw],
        groups={label: groups},
        problems=problem_frame(problems),
        notes=course_notes(notes, undated),
    )
