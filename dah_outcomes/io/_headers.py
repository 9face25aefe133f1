"""Header words: what registries call each contract column, and how well a header matches.

:func:`~dah_outcomes.io.draft.draft_mapping` matches a source's headers to the contract by
meaning, not only spelling: the synonyms below (English, Spanish, French, German, Portuguese,
and the abbreviations registries use: MV, PLEX, TPE, CYC, RTX, MMF, HCQ, MP, IVMP) are
compared word by word, with filler words (``date``, ``fecha``, ``de``...) set aside, and each
match gets a score the draft shows as its confidence.
"""

from __future__ import annotations

import functools
import re
import unicodedata

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

#: What registries call each contract column, in English, Spanish, French, German and
#: Portuguese, with the usual abbreviations; compared as :func:`header_words` (accents, case
#: and punctuation ignored). A header matching none of these exactly may still match by its
#: content words (:func:`header_score`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": (
        "patient_id",
        "id",
        "patient",
        "record_id",
        "record",
        "subject",
        "usubjid",
        "subjid",
        "study_id",
        "pid",
        "case",
        "case_id",
        "paciente",
        "caso",
        "mrn",
        "patient number",
        "patient no",
        "id paciente",
        "numero paciente",
        "nhc",
        "historia clinica",
        "identifiant",
        "identifiant patient",
        "numero patient",
        "patienten id",
        "patientennummer",
        "fallnummer",
        "id do paciente",
        "prontuario",
    ),
    "sex": ("sex", "gender", "sexo", "genero", "sexe", "genre", "geschlecht"),
    "birth_date": (
        "birth_date",
        "dob",
        "date_of_birth",
        "birthdate",
        "fecha_nacimiento",
        "brthdt",
        "fecha de nacimiento",
        "nacimiento",
        "date de naissance",
        "naissance",
        "geburtsdatum",
        "geburtstag",
        "data de nascimento",
        "nascimento",
    ),
    "sle_diagnosis_date": (
        "sle_diagnosis_date",
        "sle_date",
        "date_sle_diagnosis",
        "sle_diagnosis",
        "lupus_diagnosis_date",
        "diagnosis_date",
        "date of sle diagnosis",
        "lupus diagnosis",
        "diagnostico les",
        "diagnostico de les",
        "diagnostico lupus",
        "diagnostic lupus",
        "diagnostic du lupus",
        "diagnostic les",
        "diagnostic du les",
        "sle diagnose",
        "diagnose sle",
        "diagnose lupus",
        "sle diagnosedatum",
        "diagnostico do les",
    ),
    "followup_start": (
        "followup_start",
        "fu_start",
        "entry_date",
        "start_date",
        "cohort_entry",
        "startdt",
        "follow up start",
        "start of follow up",
        "date of entry",
        "inclusion date",
        "inclusion",
        "inicio seguimiento",
        "inicio del seguimiento",
        "fecha de inclusion",
        "debut du suivi",
        "date d inclusion",
        "einschluss",
        "einschlussdatum",
        "beginn nachbeobachtung",
        "inicio do seguimento",
        "data de inclusao",
        "inclusao",
    ),
    "followup_end": (
        "followup_end",
        "fu_end",
        "last_followup",
        "last_visit",
        "end_date",
        "date_last_contact",
        "lastfu",
        "last_follow_up",
        "last contact",
        "end of follow up",
        "date of last follow up",
        "ultimo seguimiento",
        "ultimo control",
        "ultima visita",
        "fin del seguimiento",
        "fin seguimiento",
        "derniere visite",
        "dernieres nouvelles",
        "fin du suivi",
        "dernier suivi",
        "letzte nachuntersuchung",
        "letzter kontakt",
        "letzte visite",
        "ende nachbeobachtung",
        "ultimo seguimento",
        "ultima consulta",
        "fim do seguimento",
    ),
    "death_date": (
        "death_date",
        "date_of_death",
        "dod",
        "dthdt",
        "fecha_muerte",
        "fecha de muerte",
        "fecha fallecimiento",
        "fecha de fallecimiento",
        "fecha defuncion",
        "fecha exitus",
        "date de deces",
        "date du deces",
        "todesdatum",
        "sterbedatum",
        "data do obito",
        "data de obito",
        "data de falecimento",
        "data obito",
    ),
    "vital_status": (
        "vital_status",
        "vital status",
        "status at last follow up",
        "alive dead",
        "alive or dead",
        "dead or alive",
        "estado vital",
        "situacion vital",
        "estado al ultimo seguimiento",
        "statut vital",
        "statut aux dernieres nouvelles",
        "vitalstatus",
        "lebensstatus",
        "situacao vital",
        "status vital",
    ),
    "cause_of_death": (
        "cause_of_death",
        "death cause",
        "causa de muerte",
        "causa muerte",
        "causa exitus",
        "cause du deces",
        "cause de deces",
        "todesursache",
        "causa do obito",
        "causa obito",
    ),
    "site": (
        "site",
        "centre",
        "center",
        "hospital",
        "redcap_data_access_group",
        "siteid",
        "centro",
        "hopital",
        "zentrum",
        "klinik",
        "krankenhaus",
        "centro participante",
    ),
    "episode_number": (
        "episode_number",
        "episode",
        "episode_no",
        "redcap_repeat_instance",
        "episodio",
        "numero episodio",
        "episode n",
        "episodennummer",
        "numero do episodio",
    ),
    "onset_date": (
        "onset_date",
        "dah_date",
        "dah_onset",
        "onset",
        "admission_date",
        "date_dah",
        "fecha_hda",
        "dah onset date",
        "date of dah onset",
        "date of dah",
        "dah diagnosis",
        "had",
        "inicio had",
        "inicio de la had",
        "inicio hda",
        "fecha de inicio",
        "inicio",
        "had les",
        "hemorragia alveolar",
        "ingreso",
        "hia",
        "debut hia",
        "date de debut",
        "debut",
        "hemorragie intra alveolaire",
        "admission",
        "dah beginn",
        "beginn",
        "dah datum",
        "aufnahme",
        "aufnahmedatum",
        "alveolare hamorrhagie",
        "inicio da had",
        "admissao",
        "data de admissao",
        "hemorragia alveolar difusa",
    ),
    "discharge_date": (
        "discharge_date",
        "discharge",
        "date_discharge",
        "alta",
        "fecha de alta",
        "alta hospitalaria",
        "sortie",
        "date de sortie",
        "entlassung",
        "entlassungsdatum",
        "alta hospitalar",
        "data de alta",
    ),
    "first_manifestation": (
        "first_manifestation",
        "dah_first_manifestation",
        "initial",
        "dah as first manifestation",
        "primera manifestacion",
        "manifestacion inicial",
        "manifestation initiale",
        "inaugurale",
        "erstmanifestation",
        "primeira manifestacao",
    ),
    "nephritis": (
        "nephritis",
        "lupus_nephritis",
        "ln",
        "glomerulonephritis",
        "nefritis",
        "nefritis lupica",
        "nephrite",
        "nephrite lupique",
        "lupusnephritis",
        "nefrite",
        "nefrite lupica",
    ),
    "infection": (
        "infection",
        "infeccion",
        "concurrent_infection",
        "infeccion concomitante",
        "infektion",
        "infeccao",
    ),
    "severe": ("severe", "severity", "severe_presentation", "grave", "gravedad", "schwer"),
    "hemoglobin_drop": (
        "hemoglobin_drop",
        "hb_drop",
        "haemoglobin_drop",
        "delta_hb",
        "caida hb",
        "caida de hemoglobina",
        "descenso hb",
        "descenso de hemoglobina",
        "chute hb",
        "chute d hemoglobine",
        "hb abfall",
        "hamoglobinabfall",
        "queda hb",
        "queda de hemoglobina",
    ),
    "bal_confirmed": (
        "bal_confirmed",
        "bal",
        "bronchoalveolar_lavage",
        "lba",
        "lavado broncoalveolar",
        "lavage broncho alveolaire",
        "bronchoalveolare lavage",
    ),
    "icu_admission": (
        "icu_admission",
        "icu",
        "uci",
        "ingreso uci",
        "ingreso en uci",
        "uti",
        "reanimation",
        "soins intensifs",
        "intensivstation",
        "admissao uti",
        "intensive care",
    ),
    "mechanical_ventilation": (
        "mechanical_ventilation",
        "mv",
        "ventilation",
        "imv",
        "ventilacion_mecanica",
        "vm",
        "ventilacion",
        "intubacion",
        "intubation",
        "ventilation mecanique",
        "beatmung",
        "mechanische beatmung",
        "invasive beatmung",
        "ventilacao mecanica",
        "ventilacao",
        "mechanically ventilated",
    ),
    "ventilation_days": (
        "ventilation_days",
        "mv_days",
        "days_ventilated",
        "dias vm",
        "dias de ventilacion",
        "jours de ventilation",
        "beatmungstage",
        "dias de ventilacao",
    ),
    "ecmo": ("ecmo",),
    "methylprednisolone_pulse": (
        "methylprednisolone_pulse",
        "mp_pulse",
        "ivmp",
        "mp",
        "methylprednisolone",
        "pulse_steroids",
        "iv methylprednisolone",
        "metilprednisolona",
        "bolus mp",
        "pulsos mp",
        "pulsos de metilprednisolona",
        "bolus de methylprednisolone",
        "methylprednisolon",
        "methylprednisolonpuls",
        "pulsoterapia",
        "solumedrol",
    ),
    "methylprednisolone_dose_mg": (
        "methylprednisolone_dose_mg",
        "mp_dose",
        "ivmp_dose",
        "dosis mp",
        "dose mp",
        "dosis metilprednisolona",
        "methylprednisolone dose",
    ),
    "oral_prednisone": (
        "oral_prednisone",
        "prednisone",
        "oral_steroids",
        "prednisona",
        "prednisona oral",
        "prednisone orale",
        "prednisolon",
    ),
    "cyclophosphamide": (
        "cyclophosphamide",
        "cyc",
        "cyclophosphamide_iv",
        "ciclofosfamida",
        "cytoxan",
        "cyclophosphamid",
        "endoxan",
    ),
    "plasmapheresis": (
        "plasmapheresis",
        "plex",
        "plasma_exchange",
        "tpe",
        "plasmaferesis",
        "recambio plasmatico",
        "echanges plasmatiques",
        "echange plasmatique",
        "plasmapherese",
        "plasmaaustausch",
        "plasmaferese",
        "therapeutic plasma exchange",
    ),
    "plasmapheresis_sessions": (
        "plasmapheresis_sessions",
        "plex_sessions",
        "tpe_sessions",
        "sesiones plex",
        "sesiones de plasmaferesis",
        "seances d echanges plasmatiques",
    ),
    "rituximab": ("rituximab", "rtx", "rituximabe", "mabthera"),
    "mycophenolate": (
        "mycophenolate",
        "mmf",
        "micofenolato",
        "mycophenolat",
        "mycophenolate mofetil",
        "micofenolato de mofetilo",
        "cellcept",
    ),
    "hydroxychloroquine": (
        "hydroxychloroquine",
        "hcq",
        "hidroxicloroquina",
        "hydroxychloroquin",
        "plaquenil",
    ),
    "rfviia": ("rfviia", "factor_viia", "rfvii", "novoseven", "factor vii"),
    "in_hospital_death": (
        "in_hospital_death",
        "died_in_hospital",
        "hospital_death",
        "death_in_hospital",
        "inhospital_death",
        "died",
        "in hospital mortality",
        "hospital mortality",
        "died during admission",
        "muerte hospitalaria",
        "muerte intrahospitalaria",
        "fallecimiento hospitalario",
        "exitus",
        "exitus hospitalario",
        "fallecio",
        "fallecido",
        "muerte",
        "deces hospitalier",
        "deces a l hopital",
        "deces",
        "decede",
        "im krankenhaus verstorben",
        "krankenhausmortalitat",
        "verstorben",
        "tod",
        "obito hospitalar",
        "obito",
        "morte hospitalar",
        "faleceu",
        "mortality",
    ),
    "arm": ("arm", "treatment_arm", "trt01p", "trtp", "group", "brazo", "grupo", "gruppe"),
}

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
#: What registries write for a vital status (``vital_status``), in the five languages.
VITAL_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("alive", "living", "vivo", "viva", "vivant", "vivante", "lebend", "am leben"), "alive"
    ),
    **dict.fromkeys(
        (
            "dead",
            "died",
            "deceased",
            "death",
            "muerto",
            "muerta",
            "fallecido",
            "fallecida",
            "exitus",
            "decede",
            "decedee",
            "deces",
            "verstorben",
            "tot",
            "falecido",
            "falecida",
            "obito",
            "morto",
            "morta",
        ),
        "dead",
    ),
    **dict.fromkeys(
        (
            "unknown",
            "lost",
            "lost to follow up",
            "desconocido",
            "perdido",
            "inconnu",
            "perdu de vue",
            "unbekannt",
            "desconhecido",
            "perdido de seguimento",
        ),
        "unknown",
    ),
}

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
