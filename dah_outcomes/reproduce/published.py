"""The published DAH-in-SLE series shipped with the package (see data/published/README.md)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = ["OUTCOMES", "load_published_series", "select_studies"]

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
    for col in ("events", "total", "year"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame


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
