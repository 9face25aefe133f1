"""The published DAH-in-SLE series shipped with the package (see data/published/README.md)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pandas as pd

from dah_outcomes.errors import ArgumentError, CohortFileError

__all__ = [
    "EVIDENCE_COLUMNS",
    "OUTCOMES",
    "UNITS",
    "check_evidence",
    "load_published_series",
    "read_evidence",
    "select_studies",
]

OUTCOMES = (
    "death",
    "mechanical_ventilation",
    "plasmapheresis",
    "cyclophosphamide",
    "rituximab",
    "recurrence",
    "nephritis",
    "first_manifestation",
    "dah_incidence",
)

#: What a series' denominator counts.
UNITS = ("patients", "episodes")

#: Columns an evidence table must have; the others the audit reads are optional, blank
#: meaning "not recorded" (``population`` then counts as ``unknown``).
EVIDENCE_COLUMNS = ("study_id", "year", "outcome", "unit", "events", "total")
_OPTIONAL = ("population", "death_timeframe", "overlap_group", "study_period", "note")
_WHOLE = re.compile(r"^\d{1,9}$")
#: Problems listed in one error (the rest are counted).
_SHOWN = 20


def load_published_series() -> pd.DataFrame:
    """The published DAH-in-SLE series shipped with the package, one row per reported count.

    Returns
    -------
    DataFrame
        The extraction (see ``data/published/README.md``): ``events``/``total`` nullable
        integers, ``year`` Int64, every other column as text.
    """
    ref = resources.files("dah_outcomes.reproduce") / "data" / "dah_sle_series.csv"
    with resources.as_file(ref) as path:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return check_evidence(frame, "the shipped extraction")


def read_evidence(path: str | Path) -> pd.DataFrame:
    """Read an evidence table (published series, one row per reported count) from a CSV file.

    Parameters
    ----------
    path : str or Path
        A UTF-8 CSV file with the columns of :data:`EVIDENCE_COLUMNS` (and optionally
        ``population``, ``death_timeframe``, ``overlap_group``, ``study_period``, ``note``),
        as in the shipped extraction.

    Returns
    -------
    DataFrame
        As :func:`check_evidence` returns it.

    Raises
    ------
    CohortFileError
        When the file cannot be read as CSV text.
    ArgumentError
        Listing every bad value (see :func:`check_evidence`).
    """
    where = f"the evidence table {path}"
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CohortFileError(f"cannot read {where}: {exc.strerror or exc}") from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        raise CohortFileError(
            f"{where} is not UTF-8 CSV text (UTF-16 or binary): save it as CSV UTF-8"
        )
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except (ValueError, pd.errors.EmptyDataError) as exc:  # parser and decoding errors
        raise CohortFileError(
            f"cannot read {where}: {exc}; give a UTF-8 CSV file with columns "
            f"{', '.join(EVIDENCE_COLUMNS)} (see the shipped extraction)"
        ) from exc
    return check_evidence(frame, where)


def check_evidence(frame: pd.DataFrame, where: str = "the evidence table") -> pd.DataFrame:
    """Check an evidence table and type its counts, listing every problem at once.

    Parameters
    ----------
    frame : DataFrame
        Text columns, as read from CSV (one row per reported count). Not modified.
    where : str
        How to name the table in messages.

    Returns
    -------
    DataFrame
        A copy with ``events``, ``total`` and ``year`` as nullable integers and the optional
        columns added (blank) where absent.

    Raises
    ------
    ArgumentError
        When a required column is absent, or for values that are not what the column holds:
        counts that are not whole numbers (blank is allowed: not reported), more events than
        the total, a total of 0, a year that is not four digits (blank: unknown), an outcome
        or unit outside :data:`OUTCOMES` / :data:`UNITS`. Each problem names the row (the
        CSV line), column, value, rule and fix.
    """
    missing = [c for c in EVIDENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise ArgumentError(
            f"{where} has no column(s) {', '.join(missing)} (it has "
            f"{', '.join(map(str, frame.columns))}); it needs {', '.join(EVIDENCE_COLUMNS)}"
        )
    text = frame.astype("string").apply(lambda c: c.str.strip())
    problems = _evidence_problems(text)
    if problems:
        shown = problems[:_SHOWN]
        more = len(problems) - len(shown)
        raise ArgumentError(
            f"{where} has {len(problems)} problem(s):\n  - "
            + "\n  - ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    out = frame.copy()
    for col in ("events", "total", "year"):
        out[col] = pd.array([int(v) if pd.notna(v) else pd.NA for v in text[col]], dtype="Int64")
    for col in _OPTIONAL:
        if col not in out:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["population"] = out["population"].fillna("unknown")
    return out


def _evidence_problems(text: pd.DataFrame) -> list[str]:
    problems = []
    for i, r in enumerate(text.to_dict("records"), start=2):  # line 1 is the header
        where = f"line {i}"
        for col in ("events", "total"):
            v = r[col]
            if pd.notna(v) and not _WHOLE.match(v):
                problems.append(
                    f"{where}, {col} {v!r}: a count must be a whole number of at most 9 "
                    "digits (blank when not reported); write the count as printed"
                )
        e, t = r["events"], r["total"]
        if all(pd.notna(x) and _WHOLE.match(x) for x in (e, t)) and int(e) > int(t):
            problems.append(f"{where}: events {e} exceed total {t}; check the extraction")
        if pd.notna(t) and _WHOLE.match(t) and int(t) == 0:
            problems.append(f"{where}, total '0': a series has at least one patient")
        y = r["year"]
        if pd.notna(y) and not re.fullmatch(r"(19|20)\d\d", y):
            problems.append(
                f"{where}, year {y!r}: the year of publication, four digits (1900-2099), "
                "or blank when unknown"
            )
        if r["outcome"] not in OUTCOMES:
            problems.append(f"{where}, outcome {r['outcome']!r}: one of {', '.join(OUTCOMES)}")
        if r["unit"] not in UNITS:
            problems.append(f"{where}, unit {r['unit']!r}: one of {', '.join(UNITS)}")
        if pd.isna(r["study_id"]):
            problems.append(f"{where}, study_id blank: name the study (e.g. smith2010)")
    return problems


def select_studies(
    frame: pd.DataFrame,
    outcome: str,
    *,
    unit: str = "patients",
    populations: tuple[str, ...] = ("adult", "unknown", "mixed"),
    one_per_overlap: bool = True,
    exclude_admission_denominators: bool = True,
    death_timeframes: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The rows that may be pooled for ``outcome``, with the selection made explicit.

    Keeps rows with both counts, the given unit and populations (paediatric series apart by
    default), drops subgroup-only rows (``li2023_bacterial``) and, for incidence, rows whose
    denominator is hospital admissions; keeps one study per overlap group (the largest).
    ``death_timeframes`` restricts death rows to the given time frames (e.g.
    ``("in_hospital", "initial_episode")``); all time frames by default.

    Parameters
    ----------
    frame : DataFrame
        From :func:`load_published_series`.
    outcome : str
        One of :data:`OUTCOMES`.
    unit : str, default "patients"
        What the denominator counts.
    populations : tuple of str
        Populations kept.
    one_per_overlap : bool, default True
        Keep only the largest study of each group of overlapping series.
    exclude_admission_denominators : bool, default True
        Drop incidence rows whose denominator is hospital admissions.
    death_timeframes : tuple of str, optional
        Time frames of death rows kept.

    Returns
    -------
    DataFrame
        The selected rows.
    """
    if outcome not in OUTCOMES:
        raise ArgumentError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    d = frame[
        (frame["outcome"] == outcome)
        & frame["events"].notna()
        & frame["total"].notna()
        & (frame["unit"] == unit)
        & frame["population"].isin(populations)
        & (frame["study_id"] != "li2023_bacterial")
    ]
    if death_timeframes is not None and outcome == "death":
        d = d[d["death_timeframe"].isin(death_timeframes)]
    if exclude_admission_denominators:
        d = d[~d["note"].fillna("").str.startswith("denominator = admissions")]
    if one_per_overlap:
        grouped = d[d["overlap_group"].notna()]
        keep = grouped.sort_values("total", ascending=False).drop_duplicates("overlap_group")
        d = pd.concat([d[d["overlap_group"].isna()], keep])
    return d.sort_values(["year", "study_id"]).reset_index(drop=True)
