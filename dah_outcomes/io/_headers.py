"""Header words: what registries call each contract column, and how well a header matches.

:func:`~dah_outcomes.io.draft.draft_mapping` matches a source's headers to the contract by
meaning, not only spelling: the synonyms of :mod:`~dah_outcomes.io._synonyms` (English, Spanish,
French, German, Portuguese, and the abbreviations registries use: MV, PLEX, TPE, CYC, RTX, MMF,
HCQ, MP, IVMP) are compared word by word, with filler words (``date``, ``fecha``, ``de``...)
set aside, and each match gets a score the draft shows as its confidence. A later episode's
header ("Second DAH episode date") is recognised by its ordinal (:func:`repeat_episode`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from dah_outcomes.io._synonyms import SYNONYMS, VITAL_WORDS

__all__ = [
    "EPISODE_WORDS",
    "FILLER_WORDS",
    "ORDINAL_NUMBERS",
    "ORDINAL_WORDS",
    "SYNONYMS",
    "VITAL_WORDS",
    "header_score",
    "header_words",
    "is_repeat_header",
    "repeat_episode",
]


# ---------------------------------------------------------------- header words

#: Words a header may add to a contract name without changing its meaning (``"Fecha de
#: alta"`` is ``alta``; ``"DAH onset date"`` is ``dah onset``).
FILLER_WORDS = frozenset(
    {
        "date",
        "dt",
        "fecha",
        "datum",
        "data",
        "of",
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "do",
        "da",
        "dos",
        "das",
        "du",
        "des",
        "d",
        "l",
        "le",
        "der",
        "die",
        "the",
        "a",
        "an",
        "at",
        "y",
        "n",
        "yn",
        "sn",
        "s",
        "jn",
        "on",
        "flag",
        "si",
        "no",
        "ja",
        "nein",
        "oui",
        "non",
        "sim",
        "nao",
        "code",
        "coded",
        "dd",
        "mm",
        "yyyy",
        "aaaa",
        "jj",
        "tt",
        "mmm",
        "fech",
        "f",
    }
)
#: Words that make a header a later episode's column (section "repeat episodes").
ORDINAL_WORDS = frozenset(
    {
        "second",
        "2nd",
        "third",
        "3rd",
        "fourth",
        "4th",
        "segundo",
        "segunda",
        "tercer",
        "tercero",
        "tercera",
        "deuxieme",
        "2e",
        "troisieme",
        "zweite",
        "zweiter",
        "zweites",
        "dritte",
        "dritter",
        "terceiro",
        "terceira",
        "2",
        "3",
        "4",
        "5",
        "ii",
        "iii",
        "drittes",
        "fifth",
        "5th",
        "cuarto",
        "cuarta",
        "quatrieme",
        "vierte",
        "vierter",
        "viertes",
        "quarto",
        "quarta",
        *(_RECURRENCE := ("recurrence", "recurrencia", "recidive", "rezidiv", "recidiva")),
        "recaida",
        "relapse",
        "recurrent",
    }
)
#: The episode number each ordinal word stands for (a recurrence is the second episode
#: unless the header numbers it).
ORDINAL_NUMBERS: dict[str, int] = {
    **dict.fromkeys(
        ("second", "2nd", "segundo", "segunda", "deuxieme", "zweite", "zweiter", "zweites"), 2
    ),
    "ii": 2,
    **dict.fromkeys(
        (
            "third",
            "3rd",
            "tercer",
            "tercero",
            "tercera",
            "troisieme",
            "dritte",
            "dritter",
            "drittes",
            "terceiro",
            "terceira",
            "iii",
        ),
        3,
    ),
    **dict.fromkeys(
        ("fourth", "4th", "cuarto", "cuarta", "quatrieme", "vierte", "vierter", "viertes"), 4
    ),
    **dict.fromkeys(("quarto", "quarta"), 4),
    **dict.fromkeys(("fifth", "5th"), 5),
}
#: Words naming an episode (set aside with the ordinal: "Second DAH episode date" is the
#: second episode's "DAH date").
EPISODE_WORDS = frozenset(
    {"episode", "episodes", "episodio", "episodios", "episod", "ep", "epi", "no", "n", "nr"}
)
#: Content words too generic to carry a match alone.
_GENERIC = frozenset({"id", "days", "number", "dias", "jours", "tage", "dose", "mg", "n"})


def header_words(name: object) -> tuple[str, ...]:
    """A header's words: accents and case removed, split at punctuation, spaces and
    camelCase (``"FechaDeAlta"``, ``"fecha_de_alta"`` and ``"Fecha de alta"`` alike).

    Parameters
    ----------
    name : object
        A column name or a synonym.

    Returns
    -------
    tuple of str
    """
    return _words(str(name))


@functools.lru_cache(maxsize=4096)
def _words(name: str) -> tuple[str, ...]:
    # every header is compared with every synonym: each is split once
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).casefold()
    return tuple(w for w in re.split(r"[^\w]+|_", text) if w)


def _content(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in words if w not in FILLER_WORDS)


def is_repeat_header(name: object) -> bool:
    """Whether a header names a later episode (``"Second DAH episode date"``,
    ``"onset_date_2"``, ``"Fecha 2ª HAD"``): drafted by the repeat-episode rules, not here.

    Parameters
    ----------
    name : object
        A column name.

    Returns
    -------
    bool
    """
    # a REDCap checkbox column ends in its choice code (tx___3): not an ordinal
    words = header_words(str(name).partition("___")[0])
    return any(w in ORDINAL_WORDS or re.fullmatch(r"[2-9](a|o|nd|rd|th|e)?", w) for w in words)


def repeat_episode(name: object) -> tuple[int, str] | None:
    """``(episode number, the header without its ordinal)`` of a later episode's column:
    ``"Second DAH episode date"`` -> ``(2, "DAH date")``, ``"onset_date_2"`` ->
    ``(2, "onset date")``, ``"Fecha 2º episodio HAD"`` -> ``(2, "Fecha HAD")``; None for
    a header that numbers no later episode.

    Parameters
    ----------
    name : object
        A column name.

    Returns
    -------
    tuple of (int, str) or None
    """
    if not is_repeat_header(name):
        return None
    number = None
    recurrence = False
    rest: list[str] = []
    for w in header_words(name):
        digit = re.fullmatch(r"([2-9])(a|o|nd|rd|th|e)?", w)
        if digit or w in ORDINAL_NUMBERS:
            found = int(digit.group(1)) if digit else ORDINAL_NUMBERS[w]
            if number is not None and found != number:
                return None  # two numbers ("2nd episode, day 3"): not a header to guess at
            number = found
        elif w in _RECURRENCE or w in ("recaida", "relapse", "recurrent"):
            recurrence = True
        elif w not in EPISODE_WORDS:
            rest.append(w)
    if number is None and recurrence:
        number = 2
    return None if number is None else (number, " ".join(rest))


def header_score(name: object, synonym: str) -> int:
    """How well a header matches one synonym: 3 the same words, 2 the same content words
    (filler such as ``date``/``fecha``/``de`` aside), 1 the synonym's content words all in the
    header, 0 no match.

    Parameters
    ----------
    name : object
        A source header.
    synonym : str
        One of :data:`SYNONYMS`.

    Returns
    -------
    int
    """
    words, syn = header_words(name), header_words(synonym)
    if "".join(words) == "".join(syn):
        return 3
    have, want = _content(words), _content(syn)
    if not want or not have:
        return 0
    if have == want:
        return 2
    if set(want) <= set(have) and (
        len(want) > 1 or (len(want[0]) >= 3 and want[0] not in _GENERIC)
    ):
        return 1
    return 0
