"""Treatment courses through every layout that can carry them: a cohort with courses written in
each layout's source format and imported back gives the same treatments table (and the same
flags); a bad course is listed in strict mode and rejected, and accounted for, in quarantine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    ADTTE_MAPPING,
    COURSE_HEADERS,
    REDCAP_MAPPING,
    wide_courses_of,
    wide_mapping,
    with_courses,
    write_adtte,
    write_redcap,
)

from dah_outcomes import Cohort, ValidationError
from dah_outcomes.errors import ArgumentError
from dah_outcomes.io import save_cohort
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import load_mapping

# Quarantine imports of rows corrupted at random reject a random handful of patients, and the
# informative-exclusion rule (a risk ratio of 2 counts, whatever the power) then fires by
# chance; that check has tests of its own (test_informative_exclusion.py).
pytestmark = pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning")

COURSE_KEY = ["patient_id", "episode_number", "treatment", "start_date"]


@pytest.fixture(scope="session")
def first_courses(cohort: Cohort) -> Cohort:
    """First episodes only (what a one-row-per-patient source holds), one course per
    treatment and episode."""
    return with_courses(cohort, seed=3, first_only=True)


@pytest.fixture(scope="session")
def all_courses(cohort: Cohort) -> Cohort:
    """Every episode, one course per treatment and episode (a wide source's limit)."""
    return with_courses(cohort, seed=4)


@pytest.fixture(scope="session")
def repeated_courses(cohort: Cohort) -> Cohort:
    """Every episode, some with two pulse courses (only a long source can hold them)."""
    return with_courses(cohort, seed=5, repeat=True)


def accounted(r, n_rows: int | None = None) -> None:
    assert r.rows_read == r.rows_accepted + r.rows_rejected
    if n_rows is not None:
        assert r.rows_read == n_rows
    c = r.provenance["treatment_courses"]
    assert c["read"] == c["accepted"] + c["rejected"]
    assert c["accepted"] == len(r.cohort.treatments)


def same_cohort(r, expected: Cohort) -> None:
    """Same courses, same flags (and everything else) as the cohort written out."""
    assert len(expected.treatments) > 100  # the test has courses of every kind to carry
    assert set(expected.treatments["treatment"]) == set(COURSE_HEADERS)
    pd.testing.assert_frame_equal(r.cohort.treatments, expected.treatments)
    pd.testing.assert_frame_equal(r.cohort.episodes, expected.episodes)
    pd.testing.assert_frame_equal(r.cohort.patients, expected.patients)


# ---------------------------------------------------------------- flat and episodes layouts


def flat_source(c: Cohort, path: Path) -> Path:
    first = c.episodes[c.episodes["episode_number"] == 1]
    flat = c.patients.merge(wide_courses_of(first, c.treatments, "%d/%m/%Y"), how="left")
    flat.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("chunk_rows", [None, 0, 700], ids=["streamed", "whole", "chunks"])
def test_flat_round_trip(first_courses: Cohort, tmp_path: Path, chunk_rows) -> None:
    path = flat_source(first_courses, tmp_path / "flat.csv")
    r = read_cohort(path, mapping=wide_mapping("%d/%m/%Y"), chunk_rows=chunk_rows)
    accounted(r, first_courses.n_patients)
    assert r.rows_rejected == 0
    same_cohort(r, first_courses)
    flow = r.flow.set_index("step")["n"]
    assert flow["treatment courses accepted"] == len(first_courses.treatments)
    # the course columns are used, not listed as unmapped
    assert not [c for c in r.provenance["unmapped_columns"] if "start date" in c]


def test_episodes_layout_round_trip(all_courses: Cohort, tmp_path: Path) -> None:
    rows = wide_courses_of(all_courses.episodes, all_courses.treatments, "%Y-%m-%d")
    rows = rows.merge(all_courses.patients, on="patient_id")
    rows.to_csv(tmp_path / "episodes.csv", index=False)
    r = read_cohort(tmp_path / "episodes.csv", mapping=wide_mapping("%Y-%m-%d", layout="episodes"))
    accounted(r, all_courses.n_episodes)
    dah = all_courses.patients["patient_id"].isin(all_courses.episodes["patient_id"])
    expected = Cohort(
        all_courses.patients[dah], all_courses.episodes, treatments=all_courses.treatments
    )
    same_cohort(r, expected)


def test_wide_course_without_start_date_is_timing_unknown(
    first_courses: Cohort, tmp_path: Path
) -> None:
    """An end date without a start date gives no course (the flag alone), and is counted."""
    path = flat_source(first_courses, tmp_path / "flat.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    dated = frame.index[frame["Cyclophosphamide start date"] != ""][:3]
    frame.loc[dated, "Cyclophosphamide start date"] = ""
    frame.loc[dated, "Cyclophosphamide end date"] = "2001-01-01"
    frame.to_csv(path, index=False)
    r = read_cohort(path, mapping=wide_mapping("%d/%m/%Y"))
    t = first_courses.treatments
    assert len(r.cohort.treatments) == len(t) - 3
    assert r.provenance["courses_without_start_date"] == {"cyclophosphamide": 3}
    # the flags stay true: the treatment was given, when is unknown
    pd.testing.assert_frame_equal(r.cohort.episodes, first_courses.episodes)


# ---------------------------------------------------------------- two tables (and the folder)


def test_cohort_folder_with_treatments_round_trip(repeated_courses: Cohort, tmp_path: Path) -> None:
    """The cohort folder (save_cohort is the exporter) imports as three tables."""
    save_cohort(repeated_courses, tmp_path / "out")
    assert (tmp_path / "out" / "treatments.csv").exists()
    r = read_cohort(tmp_path / "out")
    n = repeated_courses.n_patients + repeated_courses.n_episodes
    accounted(r, n + len(repeated_courses.treatments))
    assert r.rows_rejected == 0
    assert repeated_courses.treatments.duplicated(
        ["patient_id", "episode_number", "treatment"]
    ).any()
    same_cohort(r, repeated_courses)


def test_three_files_with_mapped_course_columns(repeated_courses: Cohort, tmp_path: Path) -> None:
    """A long treatments table with its own names: drug names as written, dates d/m/Y."""
    c = repeated_courses
    c.patients.to_csv(tmp_path / "p.csv", index=False)
    c.episodes.to_csv(tmp_path / "e.csv", index=False)
    names = {
        "methylprednisolone_pulse": "IV methylprednisolone",
        "cyclophosphamide": "CYC",
        "plasmapheresis": "Plasma exchange",
        "rituximab": "Rituximab",
    }
    t = c.treatments
    long = pd.DataFrame(
        {
            "pid": t["patient_id"],
            "episode_number": t["episode_number"],
            "drug": t["treatment"].map(names),
            "started": t["start_date"].dt.strftime("%d/%m/%Y"),
            "stopped": t["end_date"].dt.strftime("%d/%m/%Y"),
            "n": t["sessions"],
            "total mg": t["dose_mg"],
        }
    )
    long.to_csv(tmp_path / "t.csv", index=False)
    mapping = {
        "columns": {
            "patient_id": "pid",
            "treatment": "drug",
            "start_date": {"source": "started", "format": "%d/%m/%Y"},
            "end_date": {"source": "stopped", "format": "%d/%m/%Y"},
            "sessions": "n",
            "dose_mg": "total mg",
        }
    }
    # pid exists only in the treatments file: the others keep their patient_id
    c.patients.rename(columns={"patient_id": "pid"}).to_csv(tmp_path / "p.csv", index=False)
    c.episodes.rename(columns={"patient_id": "pid"}).to_csv(tmp_path / "e.csv", index=False)
    r = read_cohort([tmp_path / "p.csv", tmp_path / "e.csv", tmp_path / "t.csv"], mapping=mapping)
    accounted(r)
    same_cohort(r, c)


def test_two_tables_wide_courses_on_the_episodes_file(all_courses: Cohort, tmp_path: Path) -> None:
    c = all_courses
    c.patients.to_csv(tmp_path / "patients.csv", index=False)
    wide_courses_of(c.episodes, c.treatments, "%Y-%m-%d").to_csv(
        tmp_path / "episodes.csv", index=False
    )
    r = read_cohort(tmp_path, mapping=wide_mapping("%Y-%m-%d"))
    accounted(r, c.n_patients + c.n_episodes)
    same_cohort(r, c)


# ---------------------------------------------------------------- REDCap


def _dd_rows(dictionary: Path, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    dd = pd.read_csv(dictionary, dtype=str, keep_default_na=False)
    add = pd.DataFrame(rows, columns=dd.columns)
    pd.concat([dd, add], ignore_index=True).to_csv(dictionary, index=False)


REDCAP_FIELDS = {
    "methylprednisolone_pulse": "mp",
    "cyclophosphamide": "cyc",
    "plasmapheresis": "plex",
    "rituximab": "rtx",
}


def redcap_with_date_fields(c: Cohort, folder: Path) -> tuple[Path, Path, str]:
    """Date fields ``cyc_start_date``... on the repeating episode instrument."""
    export, dictionary = write_redcap(c, folder)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    ep = frame["redcap_repeat_instrument"] == "dah_episode"
    key = pd.MultiIndex.from_arrays(
        [frame["record_id"], pd.to_numeric(frame["redcap_repeat_instance"], errors="coerce")]
    )
    mapping = REDCAP_MAPPING
    dd = []
    for t, f in REDCAP_FIELDS.items():
        sub = c.treatments[c.treatments["treatment"] == t]
        sub = sub.set_index(["patient_id", "episode_number"]).reindex(key)
        for name, col, fmt in (
            ("start_date", "start_date", "date_ymd"),
            ("end_date", "end_date", "date_ymd"),
        ):
            values = sub[col].dt.strftime("%Y-%m-%d").fillna("").to_numpy()
            frame[f"{f}_{name}"] = np.where(ep, values, "")
            dd.append((f"{f}_{name}", "dah_episode", "text", f"{t} {name}", "", fmt))
        for name, col in (("sessions", "sessions"), ("dose", "dose_mg")):
            values = sub[col].astype("Float64").map(lambda v: "" if pd.isna(v) else f"{v:g}")
            frame[f"{f}_{name}"] = np.where(ep, values.to_numpy(dtype=object), "")
            dd.append((f"{f}_{name}", "dah_episode", "text", f"{t} {name}", "", "number"))
        mapping += (
            f'\n[treatments.{t}]\nstart_date = "{f}_start_date"\nend_date = "{f}_end_date"\n'
            f'sessions = "{f}_sessions"\ndose_mg = "{f}_dose"\n'
        )
    frame.to_csv(export, index=False)
    _dd_rows(dictionary, dd)
    return export, dictionary, mapping


def test_redcap_date_fields_round_trip(all_courses: Cohort, tmp_path: Path) -> None:
    export, dictionary, mapping = redcap_with_date_fields(all_courses, tmp_path)
    r = read_cohort(export, mapping=mapping, dictionary=dictionary)
    accounted(r, all_courses.n_patients + all_courses.n_episodes)
    assert r.rows_rejected == 0
    same_cohort(r, all_courses)


TREATMENT_CHOICES = {
    "methylprednisolone_pulse": ("1", "IV methylprednisolone"),
    "cyclophosphamide": ("2", "Cyclophosphamide"),
    "plasmapheresis": ("3", "Plasma exchange"),
    "rituximab": ("4", "Rituximab"),
}


def redcap_with_instrument(c: Cohort, folder: Path, instrument: str = "treatments") -> tuple:
    """A repeating treatment instrument: one instance per course, coded treatment choice."""
    export, dictionary = write_redcap(c, folder)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    t = c.treatments.copy()
    t["instance"] = t.groupby("patient_id").cumcount() + 1
    courses = pd.DataFrame(
        {
            "record_id": t["patient_id"],
            "redcap_repeat_instrument": instrument,
            "redcap_repeat_instance": t["instance"].astype(str),
            "episode_number": t["episode_number"].astype(str),
            "tx": t["treatment"].map(lambda v: TREATMENT_CHOICES[v][0]),
            "start_date": t["start_date"].dt.strftime("%Y-%m-%d"),
            "end_date": t["end_date"].dt.strftime("%Y-%m-%d").fillna(""),
            "sessions": t["sessions"]
            .astype("Float64")
            .map(lambda v: "" if pd.isna(v) else f"{v:g}"),
            "dose_mg": t["dose_mg"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        }
    )
    out = pd.concat([frame, courses], ignore_index=True).fillna("")
    # REDCap exports a record's rows together
    out = out.sort_values("record_id", kind="stable")
    out.to_csv(export, index=False)
    choices = " | ".join(f"{code}, {label}" for code, label in TREATMENT_CHOICES.values())
    _dd_rows(
        dictionary,
        [
            ("episode_number", instrument, "text", "Episode", "", "integer"),
            ("tx", instrument, "radio", "Treatment", choices, ""),
            ("start_date", instrument, "text", "Started", "", "date_ymd"),
            ("end_date", instrument, "text", "Ended", "", "date_ymd"),
            ("sessions", instrument, "text", "Sessions", "", "integer"),
            ("dose_mg", instrument, "text", "Total dose (mg)", "", "number"),
        ],
    )
    return export, dictionary


REDCAP_COURSES = REDCAP_MAPPING + 'treatment = "tx"\n'


def test_redcap_repeating_treatment_instrument_round_trip(
    repeated_courses: Cohort, tmp_path: Path
) -> None:
    # the course form's choice is "tx" (the episode form has a checkbox named "treatment":
    # REDCap field names are unique in a project), mapped like any contract column
    c = repeated_courses
    export, dictionary = redcap_with_instrument(c, tmp_path)
    r = read_cohort(export, mapping=REDCAP_COURSES, dictionary=dictionary)
    accounted(r, c.n_patients + c.n_episodes + len(c.treatments))
    assert r.rows_rejected == 0, r.rejects.head()
    assert r.provenance["redcap"]["treatment_instrument"] == "treatments"
    same_cohort(r, c)


# ---------------------------------------------------------------- ADTTE

ADTTE_COURSES = {
    "methylprednisolone_pulse": "IVMP",  # not MP: MPDOSE is the episode's total dose
    "cyclophosphamide": "CYC",
    "plasmapheresis": "TPE",  # not PLEX: PLEXN is the episode's count
    "rituximab": "RTX",
}


def adtte_with_courses(c: Cohort, path: Path) -> str:
    """Per treatment, ADSL-style ``<T>SDT``/``<T>EDT`` (SAS dates) and ``<T>N``/``<T>DOSE``
    on every record of the subject."""
    write_adtte(c, path.with_suffix(".csv"))
    frame = pd.read_csv(path.with_suffix(".csv"))
    mapping = ADTTE_MAPPING
    for t, code in ADTTE_COURSES.items():
        sub = c.treatments[c.treatments["treatment"] == t].set_index("patient_id")
        sub = sub.reindex(frame["USUBJID"])
        for col, name in (("start_date", "SDT"), ("end_date", "EDT")):
            frame[f"{code}{name}"] = (sub[col] - pd.Timestamp("1960-01-01")).dt.days.to_numpy(
                dtype=float
            )
        frame[f"{code}N"] = sub["sessions"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        frame[f"{code}DOSE"] = sub["dose_mg"].to_numpy(dtype=float)
        mapping += (
            f'\n[treatments.{t}]\nstart_date = "{code}SDT"\nend_date = "{code}EDT"\n'
            f'sessions = "{code}N"\ndose_mg = "{code}DOSE"\n'
        )
    if path.suffix == ".xpt":
        import pyreadstat

        pyreadstat.write_xport(frame, str(path), file_format_version=8)
    else:
        frame.to_csv(path, index=False)
    return mapping


@pytest.mark.parametrize("suffix", [".csv", ".xpt"])
def test_adtte_round_trip(case_series: Cohort, tmp_path: Path, suffix: str) -> None:
    c = with_courses(case_series, seed=6)
    mapping = adtte_with_courses(c, tmp_path / f"adtte{suffix}")
    r = read_cohort(tmp_path / f"adtte{suffix}", mapping=mapping)
    accounted(r, 3 * c.n_patients)
    assert r.rows_rejected == 0
    same_cohort(r, c)


# ---------------------------------------------------------------- bad courses, per layout


def _break(c: Cohort, how: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Courses with one bad course of the kind ``how`` (returned: the courses as written,
    the bad course's key, its rule)."""
    t = c.treatments.copy()
    e = c.episodes.set_index(["patient_id", "episode_number"])
    i = t.index[t["treatment"] == "cyclophosphamide"][5]
    onset = e.loc[(t.at[i, "patient_id"], t.at[i, "episode_number"]), "onset_date"]
    if how == "start_before_onset":
        t.at[i, "start_date"] = onset - pd.Timedelta(days=3)
        t.at[i, "end_date"] = pd.NaT
    elif how == "end_before_start":
        t.at[i, "end_date"] = t.at[i, "start_date"] - pd.Timedelta(days=1)
    return t, t.loc[[i], ["patient_id", "episode_number"]], how


def _holder(c: Cohort, t: pd.DataFrame):
    """A cohort-like holder of courses that break a rule (a Cohort would refuse them)."""

    class Holder:
        patients, episodes, treatments = c.patients, c.episodes, t
        n_patients, n_episodes = c.n_patients, c.n_episodes

    return Holder


LAYOUTS = ["flat", "episodes", "folder", "redcap_fields", "redcap_instrument", "adtte"]


def _write_layout(layout: str, c, tmp_path: Path) -> tuple[Path, object, object]:
    """Write ``c`` (anything with patients/episodes/treatments) in ``layout``: source,
    mapping, dictionary."""
    if layout == "flat":
        return flat_source(c, tmp_path / "flat.csv"), wide_mapping("%d/%m/%Y"), None
    if layout == "episodes":
        rows = wide_courses_of(c.episodes, c.treatments, "%Y-%m-%d").merge(c.patients)
        rows.to_csv(tmp_path / "rows.csv", index=False)
        return tmp_path / "rows.csv", wide_mapping("%Y-%m-%d", layout="episodes"), None
    if layout == "folder":
        folder = tmp_path / "folder"
        folder.mkdir()
        c.patients.to_csv(folder / "patients.csv", index=False)
        c.episodes.to_csv(folder / "episodes.csv", index=False)
        c.treatments.to_csv(folder / "treatments.csv", index=False, date_format="%Y-%m-%d")
        return folder, None, None
    if layout == "redcap_fields":
        export, dictionary, mapping = redcap_with_date_fields(c, tmp_path)
        return export, mapping, dictionary
    if layout == "redcap_instrument":
        export, dictionary = redcap_with_instrument(c, tmp_path)
        return export, REDCAP_COURSES, dictionary
    mapping = adtte_with_courses(c, tmp_path / "adtte.csv")
    return tmp_path / "adtte.csv", mapping, None


def _source_of(layout: str, cohort: Cohort, case_series: Cohort) -> Cohort:
    if layout == "flat":
        return with_courses(cohort, seed=3, first_only=True)
    if layout == "adtte":
        return with_courses(case_series, seed=6)
    return with_courses(cohort, seed=4)


@pytest.mark.parametrize("how", ["start_before_onset", "end_before_start"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_bad_course_is_listed_then_rejected_and_accounted_for(
    cohort: Cohort, case_series: Cohort, tmp_path: Path, layout: str, how: str
) -> None:
    good = _source_of(layout, cohort, case_series)
    t, bad_key, rule = _break(good, how)
    source, mapping, dictionary = _write_layout(layout, _holder(good, t), tmp_path)
    with pytest.raises(ValidationError) as info:
        read_cohort(source, mapping=mapping, dictionary=dictionary)
    p = info.value.problems
    hit = p[p["rule"] == rule]
    assert len(hit) == 1, p
    assert hit["table"].iloc[0] == "treatments"
    assert hit["patient_id"].iloc[0] == bad_key["patient_id"].iloc[0]
    assert hit["column"].iloc[0] == ("start_date" if rule == "start_before_onset" else "end_date")
    assert pd.notna(hit["row"].iloc[0])
    assert hit["hint"].iloc[0]

    r = read_cohort(source, mapping=mapping, dictionary=dictionary, mode="quarantine")
    accounted(r)
    assert (r.rejects["rule"] == rule).sum() == 1
    assert r.provenance["treatment_courses"]["rejected"] >= 1
    pid = bad_key["patient_id"].iloc[0]
    kept = r.cohort.treatments
    bad = kept[(kept["patient_id"] == pid) & (kept["treatment"] == "cyclophosphamide")]
    assert bad.empty  # never guessed into a valid course
    if layout in ("folder", "redcap_instrument"):
        # a course on its own row is rejected alone: its patient and episode stay
        assert pid in set(r.cohort.patients["patient_id"])
        assert r.rows_rejected == 1
        expected = t.drop(
            index=t.index[(t["patient_id"] == pid) & (t["treatment"] == "cyclophosphamide")]
        )
        assert len(kept) == len(expected)
    else:
        # a wide source's course lives on its episode's row: the row goes with it
        assert r.rows_rejected >= 1


@pytest.mark.parametrize("layout", ["folder", "redcap_instrument"])
def test_a_rejected_episode_takes_its_courses(
    cohort: Cohort, case_series: Cohort, tmp_path: Path, layout: str
) -> None:
    """Courses on their own rows follow their episode (``episode_rejected``), never become
    courses of an unknown episode."""
    good = _source_of(layout, cohort, case_series)
    e = good.episodes.astype(object).copy()
    t = good.treatments
    # a patient with one episode: rejecting an earlier one would also reject the later ones
    # (numbering), with their courses
    single = e["patient_id"].map(e["patient_id"].value_counts()) == 1
    pid, number = t[t["patient_id"].isin(e.loc[single, "patient_id"])].iloc[0][
        ["patient_id", "episode_number"]
    ]
    row = e.index[(e["patient_id"] == pid) & (e["episode_number"] == number)][0]
    e.at[row, "hemoglobin_drop"] = 99.0  # out of range: the episode is rejected

    class Holder:
        patients, episodes, treatments = good.patients, e, t

    source, mapping, dictionary = _write_layout(layout, Holder, tmp_path)
    r = read_cohort(source, mapping=mapping, dictionary=dictionary, mode="quarantine")
    accounted(r)
    mine = (t["patient_id"] == pid) & (t["episode_number"] == number)
    followed = r.rejects[r.rejects["rule"] == "episode_rejected"]
    assert len(followed) == int(mine.sum()) > 0
    assert "unknown_episode" not in set(r.rejects["rule"])
    assert r.provenance["treatment_courses"]["rejected"] == int(mine.sum())


def test_a_course_for_a_treatment_flagged_false_is_rejected(
    all_courses: Cohort, tmp_path: Path
) -> None:
    c = all_courses
    e = c.episodes.astype(object).copy()
    t = c.treatments
    pid, number = t[t["treatment"] == "rituximab"].iloc[0][["patient_id", "episode_number"]]
    e.loc[(e["patient_id"] == pid) & (e["episode_number"] == number), "rituximab"] = False

    class Holder:
        patients, episodes, treatments = c.patients, e, t

    source, mapping, _ = _write_layout("episodes", Holder, tmp_path)
    with pytest.raises(ValidationError, match="treatment_flag_false"):
        read_cohort(source, mapping=mapping)


def test_an_unknown_treatment_name_is_rejected_not_guessed(
    repeated_courses: Cohort, tmp_path: Path
) -> None:
    c = repeated_courses
    t = c.treatments.astype(object).copy()
    t.loc[t.index[0], "treatment"] = "tocilizumab"

    class Holder:
        patients, episodes, treatments = c.patients, c.episodes, t

    source, _, _ = _write_layout("folder", Holder, tmp_path)
    r = read_cohort(source, mode="quarantine")
    accounted(r)
    hit = r.rejects[r.rejects["rule"] == "not_allowed"]
    assert hit["value"].tolist() == ["tocilizumab"]
    assert len(r.cohort.treatments) == len(t) - 1


# ---------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"treatments": {"tocilizumab": "x"}}, "not a treatment"),
        ({"treatments": {"rituximab": {"end_date": "x"}}}, "give start_date"),
        ({"treatments": {"rituximab": {"start_date": "x", "stop": "y"}}}, "stop"),
        ({"treatments": {"rituximab": 3}}, "start-date column"),
        ({"treatments": ["rituximab"]}, "table of treatments"),
        ({"treatments": {"rituximab": {"start_date": {"source": "x", "unit": "kg"}}}}, "unit"),
    ],
)
def test_treatment_mapping_errors_name_the_key(spec: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        load_mapping(spec)


def test_a_string_names_the_start_date_column() -> None:
    m = load_mapping('[treatments]\nrituximab = "RTX start"\n')
    assert m.treatments["rituximab"]["start_date"].sources == ("RTX start",)


def test_a_course_column_missing_from_the_source_is_an_error(
    first_courses: Cohort, tmp_path: Path
) -> None:
    path = flat_source(first_courses, tmp_path / "flat.csv")
    mapping = wide_mapping("%d/%m/%Y")
    mapping["treatments"]["rituximab"]["end_date"] = "RTX stop"
    with pytest.raises(ValidationError, match="source_column_missing"):
        read_cohort(path, mapping=mapping, mode="quarantine")


def test_offset_days_from_onset(first_courses: Cohort, tmp_path: Path) -> None:
    """A start given as days after the episode's onset."""
    c = first_courses
    first = c.episodes
    flat = c.patients.merge(first, how="left")
    plex = c.treatments[c.treatments["treatment"] == "plasmapheresis"].set_index("patient_id")
    days = (plex["start_date"] - first.set_index("patient_id")["onset_date"]).dt.days
    flat["PLEX day"] = flat["patient_id"].map(days).astype("Int64")
    flat.to_csv(tmp_path / "flat.csv", index=False)
    mapping = {
        "treatments": {
            "plasmapheresis": {"start_date": {"source": "PLEX day", "offset_from": "onset_date"}}
        }
    }
    r = read_cohort(tmp_path / "flat.csv", mapping=mapping)
    got = r.cohort.treatments
    want = c.treatments[c.treatments["treatment"] == "plasmapheresis"]
    pd.testing.assert_frame_equal(
        got[COURSE_KEY].reset_index(drop=True), want[COURSE_KEY].reset_index(drop=True)
    )


# ---------------------------------------------------------------- the draft


def test_draft_finds_course_headers_and_the_draft_imports(
    first_courses: Cohort, tmp_path: Path
) -> None:
    from dah_outcomes.io.draft import course_header, draft_mapping
    from dah_outcomes.io.readers import read_table

    assert course_header("Cyclophosphamide start date") == ("cyclophosphamide", "start_date")
    assert course_header("PLEX start") == ("plasmapheresis", "start_date")
    assert course_header("rituximab_start_date") == ("rituximab", "start_date")
    assert course_header("cyc_end_date") == ("cyclophosphamide", "end_date")
    assert course_header("start_date") is None
    assert course_header("rituximab") is None
    path = flat_source(first_courses, tmp_path / "flat.csv")
    text = draft_mapping(read_table(path))
    m = load_mapping(text)
    assert set(m.treatments) == set(COURSE_HEADERS)
    cyc = m.treatments["cyclophosphamide"]
    assert cyc["start_date"].sources == ("Cyclophosphamide start date",)
    assert cyc["start_date"].format == "%d/%m/%Y"
    assert cyc["end_date"].sources == ("Cyclophosphamide end date",)
    assert "start date" not in text.partition("not mapped")[2]  # none left as unmapped
    r = read_cohort(path, mapping=m)
    pd.testing.assert_frame_equal(r.cohort.treatments, first_courses.treatments)


def test_redcap_course_instrument_needs_its_episode_field(
    repeated_courses: Cohort, tmp_path: Path
) -> None:
    export, dictionary = redcap_with_instrument(repeated_courses, tmp_path)
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame.rename(columns={"episode_number": "ep"}).to_csv(export, index=False)
    with pytest.raises(ValidationError, match="missing_column"):
        read_cohort(export, mapping=REDCAP_COURSES, mode="quarantine")
    # named in the mapping, it is read
    named = REDCAP_COURSES.replace("[redcap]\n", '[redcap]\ntreatment_episode_field = "ep"\n')
    r = read_cohort(export, mapping=named, dictionary=dictionary)
    same_cohort(r, repeated_courses)
