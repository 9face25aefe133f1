"""Synthetic sources for the import tests: one cohort written in every layout and format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort

FLAGS = [
    "first_manifestation",
    "nephritis",
    "infection",
    "severe",
    "bal_confirmed",
    "icu_admission",
    "mechanical_ventilation",
    "ecmo",
    "oral_prednisone",
    "mycophenolate",
    "hydroxychloroquine",
    "rfviia",
]
#: REDCap checkbox "treatment": code -> contract flag
TREATMENTS = {
    "1": "methylprednisolone_pulse",
    "2": "cyclophosphamide",
    "3": "plasmapheresis",
    "4": "rituximab",
}


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    # the two-table cohort the layouts below carry; treatment courses have their own
    # round-trip tests
    return two_tables(generate_cohort(n_sle=2000, seed=1))


def two_tables(cohort: Cohort) -> Cohort:
    """``cohort`` without its treatments table (patients and episodes only)."""
    return Cohort(
        cohort.patients, cohort.episodes, provenance=cohort.provenance, design=cohort.design
    )


@pytest.fixture(scope="session")
def case_series(cohort: Cohort) -> Cohort:
    """DAH patients only, first episode only, follow-up starting at DAH onset (ADTTE-shaped)."""
    first = cohort.episodes[cohort.episodes["episode_number"] == 1]
    p = cohort.patients[cohort.patients["patient_id"].isin(first["patient_id"])].copy()
    onset = first.set_index("patient_id")["onset_date"]
    p["followup_start"] = p["patient_id"].map(onset).astype("datetime64[s]")
    return Cohort(p, first, design="case_series")


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable extension dtypes to numpy/object ones that every writer accepts."""
    out = pd.DataFrame(index=frame.index)
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) in ("Int64", "Float64"):
            out[c] = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("datetime64[ns]")
        else:
            out[c] = s.astype(object).where(s.notna(), None)
    return out


def write_redcap(cohort: Cohort, folder: Path) -> tuple[Path, Path]:
    """A raw REDCap export (patients form + repeating dah_episode form) and its dictionary."""
    dd = [
        ("record_id", "demographics", "text", "Record ID", "", ""),
        ("sex", "demographics", "radio", "Sex", "1, Female | 2, Male | 9, Unknown", ""),
        ("birth_date", "demographics", "text", "Date of birth", "", "date_ymd"),
        ("sle_diagnosis_date", "demographics", "text", "SLE diagnosis", "", "date_ymd"),
        ("followup_start", "demographics", "text", "Follow-up start", "", "date_ymd"),
        ("followup_end", "demographics", "text", "Last follow-up", "", "date_ymd"),
        ("death_date", "demographics", "text", "Date of death", "", "date_ymd"),
        ("cause_of_death", "demographics", "text", "Cause of death", "", ""),
        (
            "site",
            "demographics",
            "dropdown",
            "Centre",
            " | ".join(f"{i}, site-{c}" for i, c in enumerate("ABCDE", start=1)),
            "",
        ),
        ("onset_date", "dah_episode", "text", "DAH onset", "", "date_ymd"),
        ("discharge_date", "dah_episode", "text", "Discharge", "", "date_ymd"),
        *[(f, "dah_episode", "yesno", f.replace("_", " "), "", "") for f in FLAGS],
        ("hemoglobin_drop", "dah_episode", "text", "Hb drop (g/L)", "", "number"),
        ("ventilation_days", "dah_episode", "text", "Days on MV", "", "integer"),
        ("methylprednisolone_dose_mg", "dah_episode", "text", "MP dose", "", "number"),
        ("plasmapheresis_sessions", "dah_episode", "text", "PLEX sessions", "", "integer"),
        (
            "treatment",
            "dah_episode",
            "checkbox",
            "Treatments, for this episode",
            "1, IV methylprednisolone | 2, Cyclophosphamide | 3, Plasma exchange | 4, Rituximab",
            "",
        ),
        ("in_hospital_death", "dah_episode", "yesno", "Died in hospital", "", ""),
    ]
    dd_frame = pd.DataFrame(
        dd,
        columns=[
            "Variable / Field Name",
            "Form Name",
            "Field Type",
            "Field Label",
            "Choices, Calculations, OR Slider Labels",
            "Text Validation Type OR Show Slider Number",
        ],
    )
    sex_code = {"F": "1", "M": "2", "unknown": "9"}
    site_code = {f"site-{c}": str(i) for i, c in enumerate("ABCDE", start=1)}
    p = cohort.patients
    rows = []
    for rec in p.itertuples(index=False):
        rows.append(
            {
                "record_id": rec.patient_id,
                "redcap_repeat_instrument": "",
                "redcap_repeat_instance": "",
                "sex": sex_code[rec.sex],
                "birth_date": _d(rec.birth_date),
                "sle_diagnosis_date": _d(rec.sle_diagnosis_date),
                "followup_start": _d(rec.followup_start),
                "followup_end": _d(rec.followup_end),
                "death_date": _d(rec.death_date),
                "cause_of_death": "" if pd.isna(rec.cause_of_death) else rec.cause_of_death,
                "site": site_code[rec.site],
            }
        )
    for rec in cohort.episodes.to_dict("records"):
        row = {
            "record_id": rec["patient_id"],
            "redcap_repeat_instrument": "dah_episode",
            "redcap_repeat_instance": str(rec["episode_number"]),
            "onset_date": _d(rec["onset_date"]),
            "discharge_date": _d(rec["discharge_date"]),
            "hemoglobin_drop": _n(rec["hemoglobin_drop"], 10),
            "ventilation_days": _n(rec["ventilation_days"]),
            "methylprednisolone_dose_mg": _n(rec["methylprednisolone_dose_mg"]),
            "plasmapheresis_sessions": _n(rec["plasmapheresis_sessions"]),
            "in_hospital_death": _b(rec["in_hospital_death"]),
        }
        row.update({f: _b(rec[f]) for f in FLAGS})
        row.update({f"treatment___{code}": _b(rec[f]) for code, f in TREATMENTS.items()})
        rows.append(row)
    records = pd.DataFrame(rows)
    export, dictionary = folder / "export.csv", folder / "dictionary.csv"
    records.to_csv(export, index=False)
    dd_frame.to_csv(dictionary, index=False)
    return export, dictionary


REDCAP_MAPPING = """
layout = "redcap"
[redcap]
episode_instrument = "dah_episode"
[columns]
hemoglobin_drop = { source = "hemoglobin_drop", unit = "g/L" }
methylprednisolone_pulse = "treatment___1"
cyclophosphamide = "treatment___2"
plasmapheresis = "treatment___3"
rituximab = "treatment___4"
"""


def write_adtte(cs: Cohort, path: Path) -> None:
    """An ADTTE dataset: OS and HOSPDIS parameters, ADSL-style subject columns, SAS dates."""
    p = cs.patients.set_index("patient_id")
    e = cs.episodes.set_index("patient_id").loc[p.index]

    def sas(s: pd.Series) -> np.ndarray:
        return ((s - pd.Timestamp("1960-01-01")).dt.days).to_numpy(dtype=float)

    subj = {
        "SEX": p["sex"].to_numpy(dtype=object),
        "BRTHDT": sas(p["birth_date"]),
        "SLEDT": sas(p["sle_diagnosis_date"]),
        "SITEID": p["site"].to_numpy(dtype=object),
        "DTHCAUS": p["cause_of_death"]
        .astype(object)
        .where(p["cause_of_death"].notna(), "")
        .to_numpy(dtype=object),
        **{f.upper(): e[f].astype(float).to_numpy() for f in [*FLAGS, *TREATMENTS.values()]},
        "HBDROP": e["hemoglobin_drop"].astype(float).to_numpy(),
        "MVDAYS": e["ventilation_days"].astype(float).to_numpy(),
        "MPDOSE": e["methylprednisolone_dose_mg"].astype(float).to_numpy(),
        "PLEXN": e["plasmapheresis_sessions"].astype(float).to_numpy(),
    }
    start = sas(e["onset_date"])
    died = p["death_date"].notna().to_numpy()
    os_ = pd.DataFrame(
        {
            "STUDYID": "DAH01",
            "USUBJID": p.index.to_numpy(dtype=object),
            "PARAMCD": "OS",
            "PARAM": "Time to death (days)",
            "STARTDT": start,
            "ADT": sas(p["followup_end"]),
            "CNSR": np.where(died, 0, 1),
            **subj,
        }
    )
    os_["AVAL"] = os_["ADT"] - os_["STARTDT"]
    dis = os_.copy()
    dis["PARAMCD"], dis["PARAM"] = "HOSPDIS", "Time to discharge alive (days)"
    dis["ADT"] = sas(e["discharge_date"])
    dis["CNSR"] = np.where(e["in_hospital_death"].to_numpy(dtype=bool), 1, 0)
    dis["AVAL"] = dis["ADT"] - dis["STARTDT"]
    mv = os_.copy()  # a parameter the importer does not use: read and accounted for
    mv["PARAMCD"], mv["PARAM"], mv["CNSR"] = "TTMV", "Time to ventilation", 1
    out = pd.concat([os_, dis, mv], ignore_index=True).sort_values(
        ["USUBJID", "PARAMCD"], kind="stable"
    )
    if path.suffix == ".xpt":
        import pyreadstat

        pyreadstat.write_xport(out, str(path), file_format_version=8)
    else:
        out.to_csv(path, index=False)


ADTTE_MAPPING = """
layout = "adtte"
[adtte]
discharge_param = "HOSPDIS"
[columns]
birth_date = { source = "BRTHDT", format = "sas" }
sle_diagnosis_date = { source = "SLEDT", format = "sas" }
site = "SITEID"
cause_of_death = "DTHCAUS"
hemoglobin_drop = "HBDROP"
ventilation_days = "MVDAYS"
methylprednisolone_dose_mg = "MPDOSE"
plasmapheresis_sessions = "PLEXN"
"""


def _d(v: object) -> str:
    return "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def _n(v: object, scale: float = 1) -> str:
    return "" if pd.isna(v) else f"{float(v) * scale:g}"


def _b(v: object) -> str:
    return "" if pd.isna(v) else ("1" if v else "0")


#: Treatments whose courses the import tests date, and how a wide source heads their columns.
COURSE_HEADERS = {
    "methylprednisolone_pulse": "MP",
    "cyclophosphamide": "Cyclophosphamide",
    "plasmapheresis": "PLEX",
    "rituximab": "rituximab",
}


def with_courses(
    cohort: Cohort, seed: int = 0, *, repeat: bool = False, first_only: bool = False
) -> Cohort:
    """``cohort`` with hand-made courses: most true flags of the four dated treatments get a
    course inside the admission (some an end date, plasma exchange its sessions, pulses and
    cyclophosphamide a dose); with ``repeat`` some episodes get a second pulse course."""
    rng = np.random.default_rng(seed)
    e = cohort.episodes
    if first_only:
        e = e[e["episode_number"] == 1]
    death = cohort.patients.set_index("patient_id")["death_date"]
    rows = []
    for rec in e.to_dict("records"):
        onset = rec["onset_date"]
        ends = [x for x in (rec["discharge_date"], death[rec["patient_id"]]) if not pd.isna(x)]
        limit = int((min(ends) - onset).days) if ends else 20
        for t in COURSE_HEADERS:
            if rec[t] is not True or rng.random() < 0.3:
                continue
            n = 2 if repeat and t == "methylprednisolone_pulse" and limit >= 2 else 1
            for d in sorted(rng.choice(limit + 1, size=n, replace=False)):
                start = onset + pd.Timedelta(days=int(d))
                left = limit - int(d)
                end = start + pd.Timedelta(days=int(rng.integers(0, left + 1)))
                dosed = t in ("cyclophosphamide", "methylprednisolone_pulse")
                rows.append(
                    {
                        "patient_id": rec["patient_id"],
                        "episode_number": rec["episode_number"],
                        "treatment": t,
                        "start_date": start,
                        "end_date": end if rng.random() < 0.6 else pd.NaT,
                        "dose_mg": float(rng.choice([500.0, 750.5, 1000.0]))
                        if dosed and rng.random() < 0.7
                        else np.nan,
                        "sessions": int(rng.integers(1, left + 2))
                        if t == "plasmapheresis" and rng.random() < 0.8
                        else None,
                    }
                )
    patients = cohort.patients
    if first_only and cohort.design == "case_series":
        patients = patients[patients["patient_id"].isin(e["patient_id"])]
    return Cohort(patients, e, treatments=pd.DataFrame(rows), design=cohort.design)


def wide_courses_of(rows: pd.DataFrame, courses: pd.DataFrame, date_format: str) -> pd.DataFrame:
    """``rows`` (one per episode: patient_id, episode_number) with each treatment's course as
    columns ``"<head> start date"``, ``end date``, ``sessions``, ``dose`` (one course per
    treatment and episode)."""
    out = rows.copy()
    key = pd.MultiIndex.from_frame(out[["patient_id", "episode_number"]])
    for t, head in COURSE_HEADERS.items():
        sub = courses[courses["treatment"] == t].set_index(["patient_id", "episode_number"])
        assert sub.index.is_unique, "a wide source holds one course per treatment and episode"
        sub = sub.reindex(key)
        out[f"{head} start date"] = sub["start_date"].dt.strftime(date_format).to_numpy()
        out[f"{head} end date"] = sub["end_date"].dt.strftime("%Y-%m-%d").to_numpy()
        out[f"{head} sessions"] = sub["sessions"].astype("Int64").to_numpy()
        out[f"{head} dose"] = sub["dose_mg"].to_numpy()
    return out


def wide_mapping(date_format: str, **top: object) -> dict:
    """The ``[treatments]`` mapping of :func:`wide_courses_of`'s columns."""
    return {
        **top,
        "treatments": {
            t: {
                "start_date": {"source": f"{h} start date", "format": date_format},
                "end_date": f"{h} end date",
                "sessions": f"{h} sessions",
                "dose_mg": f"{h} dose",
            }
            for t, h in COURSE_HEADERS.items()
        },
    }
