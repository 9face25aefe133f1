"""The vocabulary a mapping and its draft share: contract columns, layouts and source words.

:mod:`~dah_outcomes.io.mapping` translates values with these words and
:mod:`~dah_outcomes.io.draft` proposes a mapping from the values they do not cover; both must
read a source value the same way (spaces stripped, case folded, ``1.0`` as ``1``), so the
words and the helpers that normalise a value live here, below both.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.schema import TABLES, Column

__all__ = [
    "CONTRACT",
    "COURSE_FIELDS",
    "DEFAULT_NA_VALUES",
    "FALSE_WORDS",
    "LAYOUTS",
    "SEX_WORDS",
    "TREATMENT_WORDS",
    "TRUE_WORDS",
    "VITAL_STATUS_WORDS",
    "code_value",
    "match_key",
    "normalize_name",
    "strip_text",
]

#: Source layouts a mapping may name (``layout = "..."``).
LAYOUTS = ("flat", "episodes", "two_tables", "redcap", "adtte")

#: Text read as a missing value unless the mapping gives its own ``na_values`` (matched after
#: stripping, ignoring case); an empty field is always missing. ``-`` is here, not among the
#: false words: a dash in a flag column means "not recorded" as often as "no".
DEFAULT_NA_VALUES = (
    "NA",
    "N/A",
    "NULL",
    "#N/A",
    "#NULL!",
    "NaN",
    "None",
    "nil",
    ".",
    "-",
    "--",
)

#: Boolean words accepted in any source (matched after stripping and lower-casing).
TRUE_WORDS = frozenset(
    {
        "true",
        "t",
        "yes",
        "y",
        "1",
        "1.0",
        "si",
        "sí",
        "s",
        "oui",
        "ja",
        "sim",
        "checked",
        "x",
        "+",
        "positive",
        "present",
    }
)
FALSE_WORDS = frozenset(
    {
        "false",
        "f",
        "no",
        "n",
        "0",
        "0.0",
        "non",
        "nein",
        "não",
        "nao",
        "unchecked",
        "negative",
        "absent",
    }
)
SEX_WORDS: dict[str, str] = {
    "f": "F",
    "female": "F",
    "woman": "F",
    "women": "F",
    "femme": "F",
    "mujer": "F",
    "femenino": "F",
    "feminino": "F",
    "weiblich": "F",
    "w": "F",
    "m": "M",
    "male": "M",
    "man": "M",
    "men": "M",
    "homme": "M",
    "hombre": "M",
    "masculino": "M",
    "männlich": "M",
    "h": "M",
    "unknown": "unknown",
    "u": "unknown",
    "other": "unknown",
    "not recorded": "unknown",
    "varon": "M",
    "varón": "M",
    "hembra": "F",
    "fem": "F",
    "masc": "M",
    "frau": "F",
    "mann": "M",
    "mulher": "F",
    "homem": "M",
    "desconocido": "unknown",
    "inconnu": "unknown",
    "unbekannt": "unknown",
    "desconhecido": "unknown",
}


#: Vital status words (matched after stripping and case folding) -> the contract's statuses.
#: No 0/1 or yes/no codes: whether 1 means dead or alive is the source's choice, so codes are
#: read only when the mapping's values say (``vital_status = { source = "...", values =
#: { 0 = "alive", 1 = "dead" } }``).
VITAL_STATUS_WORDS: dict[str, str] = {
    **{
        w: "alive"
        for w in (
            "alive",
            "living",
            "vivo",
            "viva",
            "vivant",
            "vivante",
            "en vie",
            "lebend",
            "am leben",
        )
    },
    **{
        w: "dead"
        for w in (
            "dead",
            "deceased",
            "died",
            "death",
            "fallecido",
            "fallecida",
            "muerto",
            "muerta",
            "morto",
            "morta",
            "falecido",
            "falecida",
            "décédé",
            "décédée",
            "decede",
            "decedee",
            "mort",
            "morte",
            "verstorben",
            "tot",
        )
    },
    **{
        w: "unknown"
        for w in (
            "unknown",
            "not known",
            "lost to follow-up",
            "lost to follow up",
            "desconocido",
            "desconocida",
            "desconhecido",
            "inconnu",
            "inconnue",
            "unbekannt",
        )
    },
}

#: Names a source gives each treatment (a header prefix, a REDCap choice label), normalised
#: as :func:`normalize_name` does, mapped to the episodes table's treatment flag.
TREATMENT_WORDS: dict[str, str] = {
    **{
        w: "methylprednisolone_pulse"
        for w in (
            "methylprednisolonepulse",
            "methylprednisolone",
            "ivmethylprednisolone",
            "ivmp",
            "mp",
            "mppulse",
            "pulsesteroids",
            "metilprednisolona",
        )
    },
    **{w: "oral_prednisone" for w in ("oralprednisone", "prednisone", "oralsteroids")},
    **{
        w: "cyclophosphamide"
        for w in ("cyclophosphamide", "cyc", "cyclophosphamideiv", "ciclofosfamida", "cytoxan")
    },
    **{
        w: "plasmapheresis"
        for w in ("plasmapheresis", "plex", "plasmaexchange", "tpe", "plasmaferesis")
    },
    **{w: "rituximab" for w in ("rituximab", "rtx")},
    **{
        w: "mycophenolate" for w in ("mycophenolate", "mmf", "micofenolato", "mycophenolatemofetil")
    },
    **{w: "hydroxychloroquine" for w in ("hydroxychloroquine", "hcq")},
    **{w: "rfviia" for w in ("rfviia", "factorviia", "rfvii")},
}

#: What a wide source may give of one course, by contract column of the treatments table:
#: header suffixes (normalised) that name it (``"CYC start date"``, ``"plex_sessions"``).
COURSE_FIELDS: dict[str, tuple[str, ...]] = {
    "start_date": ("startdate", "startdt", "sdt", "start", "started", "datestart", "begin"),
    "end_date": ("enddate", "enddt", "edt", "end", "stopdate", "stop", "ended", "dateend"),
    "sessions": ("sessions", "nsessions", "numberofsessions"),
    "dose_mg": ("dosemg", "totaldosemg", "totaldose", "dose"),
}


def normalize_name(name: object) -> str:
    """Case folded, accents, spaces and punctuation removed, letters of any script kept:
    ``" Fecha de Nacimiento "`` -> ``"fechadenacimiento"``, ``"Дата смерти"`` ->
    ``"датасмерти"``.

    Parameters
    ----------
    name : object
        A column name.

    Returns
    -------
    str
        Letters and digits only (empty when the name has none).
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _contract() -> dict[str, Column]:
    # a column in both tables (patient_id) is described once, by its first table
    out: dict[str, Column] = {}
    for cols in TABLES.values():
        for c in cols:
            out.setdefault(c.name, c)
    return out


CONTRACT = _contract()


def match_key(value: object) -> str:
    """The form in which source values are matched to value maps: stripped and case-folded.

    Parameters
    ----------
    value : object
        A source value or a value-map key.

    Returns
    -------
    str
    """
    return str(value).strip().casefold()


def code_value(v: Any) -> Any:
    """A whole float as an int, anything else unchanged.

    Codes read from SPSS/Stata are floats: ``1.0`` and ``1`` must name the same label.

    Parameters
    ----------
    v : object
        A source value.

    Returns
    -------
    object
    """
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    return v


def strip_text(raw: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed; typed values untouched; empty text -> missing.

    Parameters
    ----------
    raw : Series
        A source column.

    Returns
    -------
    Series
        Same index; text columns keep their dtype.
    """
    if isinstance(raw.dtype, pd.StringDtype):  # vectorised path for text sources
        text = raw.str.strip()
        return text.mask(text == "")
    if pd.api.types.is_string_dtype(raw) or raw.dtype == object:
        text = raw.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
        return text.where(text.map(lambda v: not (isinstance(v, str) and v == "")), None)
    return raw
