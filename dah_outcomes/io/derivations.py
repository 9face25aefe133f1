"""Fields an import derives, as the mapping declares (``[derive]``), never by guessing.

Registries leave some contract fields blank because another field says it all: "last
follow-up" is left empty for the patients who died (their follow-up ended at death), and a
case series has no "start of follow-up" apart from each patient's first DAH onset. A mapping
declares such a derivation once::

    [derive]
    followup_end = "death_date"       # blank follow-up end of a patient who died
    followup_start = "first_onset"    # or "sle_diagnosis_date"
    episode_number = "one_row_per_patient"
    in_hospital_death = "death_date"  # an episode's blank in-hospital death, from the dates

Each fills only blank values (a value the source gives is never replaced), from a value the
same source gives for the patient, and is counted: the import records the counts in
provenance (``derivations``) and prints them in its summary. ``episode_number`` is 1 for the
episode on each row of a one-row-per-patient file (``[episodes.<n>]`` columns give episode
*n*); the import counts it whether the mapping declares it or not, since such a file has no
other numbering. ``in_hospital_death`` says what the dates say and no more: true when the
patient's death date falls between the episode's onset and its discharge, false when the
patient has no death date, died after the discharge or after a later episode began; a death
after the onset of an episode without a discharge date stays blank (and is rejected).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = [
    "DERIVATIONS",
    "EPISODE_DERIVATIONS",
    "check_derivations",
    "derive_episode_fields",
    "derive_fields",
]

#: Field -> the sources it may be derived from, and what each means.
DERIVATIONS: Mapping[str, Mapping[str, str]] = {
    "followup_end": {
        "death_date": "the death date, when the patient died and the follow-up end is blank",
    },
    "followup_start": {
        "first_onset": "the patient's first DAH onset (a case series followed from onset)",
        "sle_diagnosis_date": "the SLE diagnosis date",
    },
    "episode_number": {
        "one_row_per_patient": "1 for the episode on each patient's row ([episodes.<n>] "
        "columns give episode n)",
    },
    "in_hospital_death": {
        "death_date": "from the dates: the death date between the episode's onset and "
        "discharge (true), no death or a death after discharge or after a later onset (false)",
    },
}
#: Derived fields of the episodes table (the others are the patients').
EPISODE_DERIVATIONS = frozenset({"episode_number", "in_hospital_death"})


def check_derivations(spec: Any) -> dict[str, str]:
    """The ``[derive]`` table of a mapping, checked.

    Parameters
    ----------
    spec : object
        What the mapping holds under ``derive`` (None when absent).

    Returns
    -------
    dict of str to str
        Field -> source.

    Raises
    ------
    ArgumentError
        For a field or source that cannot be derived, naming the choices.
    """
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ArgumentError(
            f'[derive] must be a table such as followup_end = "death_date", got {spec!r}'
        )
    out = {}
    for field_name, source in spec.items():
        if field_name not in DERIVATIONS:
            raise ArgumentError(
                f"[derive] {field_name}: only {', '.join(DERIVATIONS)} can be derived"
            )
        choices = DERIVATIONS[field_name]
        if not isinstance(source, str) or source not in choices:
            raise ArgumentError(
                f"[derive] {field_name} = {source!r}: derive it from one of "
                + "; ".join(f'"{k}" ({v})' for k, v in choices.items())
            )
        out[str(field_name)] = source
    return out


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("string").str.strip().eq("").fillna(False)


def derive_fields(
    patients: pd.DataFrame,
    episodes: pd.DataFrame,
    spec: Mapping[str, str],
    counts: dict[str, int],
) -> pd.DataFrame:
    """Fill the patients' blank derived fields; add what was filled to ``counts``.

    Parameters
    ----------
    patients, episodes : DataFrame
        One chunk of contract rows as translated by the mapping (dates as ISO text). Not
        modified.
    spec : mapping
        From :func:`check_derivations`.
    counts : dict
        Field -> rows derived so far; updated in place.

    Returns
    -------
    DataFrame
        The patients rows, with the derived values filled in.
    """
    if not spec or not len(patients):
        return patients
    out = patients.copy()
    for field_name, source in spec.items():
        if field_name in EPISODE_DERIVATIONS:
            continue  # the episodes' own (derive_episode_fields, the layout's numbering)
        target = out[field_name] if field_name in out else pd.Series(pd.NA, index=out.index)
        if source == "first_onset":
            if not {"patient_id", "onset_date"} <= set(episodes.columns):
                continue
            onsets = episodes.loc[~_blank(episodes["onset_date"]), ["patient_id", "onset_date"]]
            # ISO dates sort as text; the earliest is the first onset
            first = (
                onsets.astype({"onset_date": "string"}).groupby("patient_id")["onset_date"].min()
            )
            given = out["patient_id"].map(first) if "patient_id" in out else None
        else:
            given = out.get(source)
        if given is None:
            continue
        fill = (_blank(target) & ~_blank(given)).to_numpy(dtype=bool)
        if fill.any():
            out[field_name] = _filled(target, fill, given.to_numpy(dtype=object))
        _count(counts, field_name, fill)
    return out


def _filled(target: pd.Series, fill: np.ndarray, values: np.ndarray) -> pd.Series:
    """``target`` with the rows ``fill`` set from ``values`` (what each derivation does)."""
    return target.astype(object).where(~fill, values)


def _count(counts: dict[str, int], field_name: str, fill: np.ndarray) -> None:
    """Add the rows a derivation filled to ``counts`` (the import's provenance)."""
    counts[field_name] = counts.get(field_name, 0) + int(fill.sum())


def _iso(values: pd.Series) -> pd.Series:
    """Translated dates (ISO text, or a value validation will reject) as timestamps."""
    return pd.to_datetime(values.astype("string"), format="ISO8601", errors="coerce")


def derive_episode_fields(
    patients: pd.DataFrame,
    episodes: pd.DataFrame,
    spec: Mapping[str, str],
    counts: dict[str, int],
) -> pd.DataFrame:
    """Fill the episodes' blank ``in_hospital_death`` from the dates, when declared.

    Parameters
    ----------
    patients, episodes : DataFrame
        Contract rows as translated by the mapping (dates as ISO text). Not modified.
    spec : mapping
        From :func:`check_derivations`.
    counts : dict
        Field -> rows derived so far; updated in place.

    Returns
    -------
    DataFrame
        The episodes rows, with the derived values filled in.
    """
    if spec.get("in_hospital_death") != "death_date" or not len(episodes):
        return episodes
    if not {"patient_id", "onset_date"} <= set(episodes.columns):
        return episodes
    target = (
        episodes["in_hospital_death"]
        if "in_hospital_death" in episodes
        else pd.Series(None, index=episodes.index, dtype=object)
    )
    blank = _blank(target).to_numpy(dtype=bool)
    ids = episodes["patient_id"]
    deaths = (
        patients.dropna(subset=["patient_id"])
        .drop_duplicates("patient_id")
        .set_index("patient_id")["death_date"]
        if {"patient_id", "death_date"} <= set(patients.columns)
        else pd.Series(dtype=object)
    )
    death = _iso(ids.map(deaths)).to_numpy()
    onset = _iso(episodes["onset_date"]).to_numpy()
    discharge = (
        _iso(episodes["discharge_date"]).to_numpy()
        if "discharge_date" in episodes
        else np.full(len(episodes), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    # the patient's next onset after this one: a death after it is no death in this episode
    order = pd.DataFrame({"id": ids.to_numpy(), "onset": onset}).sort_values(
        ["id", "onset"], kind="stable"
    )
    nxt = order.groupby("id", sort=False)["onset"].shift(-1).reindex(range(len(order))).to_numpy()
    known = ~np.isnat(onset) & ids.notna().to_numpy()
    no_death = np.isnat(death)
    within = ~no_death & (death >= onset) & ~np.isnat(discharge) & (death <= discharge)
    after = ~no_death & ((death > discharge) | (death >= nxt))
    value = np.full(len(episodes), None, dtype=object)
    value[no_death | after] = False
    value[within] = True
    fill = blank & known & (within | no_death | after)
    out = episodes.copy()
    out["in_hospital_death"] = _filled(target, fill, value)
    _count(counts, "in_hospital_death", fill)
    return out
