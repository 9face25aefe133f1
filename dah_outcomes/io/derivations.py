"""Fields an import derives, as the mapping declares (``[derive]``), never by guessing.

Registries leave some contract fields blank because another field says it all: "last
follow-up" is left empty for the patients who died (their follow-up ended at death), and a
case series has no "start of follow-up" apart from each patient's first DAH onset. A mapping
declares such a derivation once::

    [derive]
    followup_end = "death_date"       # blank follow-up end of a patient who died
    followup_start = "first_onset"    # or "sle_diagnosis_date"

Each fills only blank values (a value the source gives is never replaced), from a value the
same source gives for the patient, and is counted: the import records the counts in
provenance (``derivations``) and prints them in its summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = ["DERIVATIONS", "check_derivations", "derive_fields"]

#: Field -> the sources it may be derived from, and what each means.
DERIVATIONS: Mapping[str, Mapping[str, str]] = {
    "followup_end": {
        "death_date": "the death date, when the patient died and the follow-up end is blank",
    },
    "followup_start": {
        "first_onset": "the patient's first DAH onset (a case series followed from onset)",
        "sle_diagnosis_date": "the SLE diagnosis date",
    },
}


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
        fill = _blank(target) & ~_blank(given)
        if fill.any():
            target = target.astype(object).where(~fill, given.astype(object))
            out[field_name] = target
        counts[field_name] = counts.get(field_name, 0) + int(fill.sum())
    return out
