"""The OMOP cohort definition: concept sets and episode rules, read from a versioned file.

The definition is data, not code: a TOML file (the shipped one is
``dah_outcomes/omop/definitions/dah-sle-v1.toml``) that a user can edit or replace. Concept sets
are lists of concept IDs (expanded to descendants through ``CONCEPT_ANCESTOR`` when that table is
present) and of (vocabulary, code) pairs resolved through ``CONCEPT``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = ["FEATURE_SETS", "ConceptSet", "OmopDefinition", "load_definition"]

#: Episode features found by concept sets, and the OMOP table each is looked for in.
FEATURE_SETS: dict[str, str] = {
    "mechanical_ventilation": "procedure",
    "plasmapheresis": "procedure",
    "ecmo": "procedure",
    "bal_confirmed": "procedure",
    "nephritis": "condition",
    "methylprednisolone_pulse": "drug",
    "oral_prednisone": "drug",
    "cyclophosphamide": "drug",
    "rituximab": "drug",
    "mycophenolate": "drug",
    "hydroxychloroquine": "drug",
}


@dataclass(frozen=True, slots=True)
class ConceptSet:
    """Concept IDs and (vocabulary, code) pairs of one set; descendants optional."""

    name: str
    concept_ids: tuple[int, ...] = ()
    codes: tuple[tuple[str, str], ...] = ()
    exclude_concept_ids: tuple[int, ...] = ()
    descendants: bool = True

    def describe(self) -> str:
        """The set in words (RECORD item 6.1: the code list used)."""
        parts = []
        if self.concept_ids:
            parts.append("concept IDs " + ", ".join(map(str, self.concept_ids)))
        if self.codes:
            parts.append("codes " + ", ".join(f"{v} {c}" for v, c in self.codes))
        text = " and ".join(parts) or "(empty)"
        if self.descendants:
            text += ", with descendants"
        if self.exclude_concept_ids:
            text += "; excluding " + ", ".join(map(str, self.exclude_concept_ids))
        return f"{self.name}: {text}"


@dataclass(frozen=True, slots=True)
class OmopDefinition:
    """A parsed cohort definition."""

    name: str
    version: int
    description: str
    sle: ConceptSet
    dah: ConceptSet
    visit_concept_ids: tuple[int, ...]
    gap_days: int
    features: dict[str, ConceptSet]
    female_concept_id: int
    male_concept_id: int
    source: str = field(repr=False)
    digest: str = field(repr=False)

    def concept_sets(self) -> list[ConceptSet]:
        """Every set, the cohort-entry sets first."""
        return [self.sle, self.dah, *self.features.values()]

    def seeds(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(set_name, concept_id) seeds, (set_name, vocabulary_id, concept_code) seeds and
        (set_name, concept_id) exclusions, as small frames to register in the engine."""
        ids, codes, excl = [], [], []
        for cs in self.concept_sets():
            ids += [(cs.name, int(c), cs.descendants) for c in cs.concept_ids]
            codes += [(cs.name, v, c, cs.descendants) for v, c in cs.codes]
            excl += [(cs.name, int(c)) for c in cs.exclude_concept_ids]
        ids += [("visit", int(c), False) for c in self.visit_concept_ids]
        return (
            pd.DataFrame(ids, columns=["set_name", "concept_id", "descendants"]),
            pd.DataFrame(
                codes, columns=["set_name", "vocabulary_id", "concept_code", "descendants"]
            ),
            pd.DataFrame(excl, columns=["set_name", "concept_id"]),
        )

    def describe(self) -> str:
        """The definition in human terms, with every code list (RECORD 6.1)."""
        lines = [
            f"Cohort definition {self.name} v{self.version} ({self.digest[:12]})",
            self.description,
            f"SLE entry: first condition in {self.sle.describe()}.",
            f"DAH episode: a condition in {self.dah.describe()}, dated during a visit with "
            f"concept {', '.join(map(str, self.visit_concept_ids))}, on or after the "
            f"SLE entry stay; stays starting less than {self.gap_days} days after the "
            "previous one ended belong to the same episode.",
            "Episode features (any record dated from onset to discharge):",
        ]
        lines += [f"  - {cs.describe()} [{FEATURE_SETS[n]}]" for n, cs in self.features.items()]
        lines.append("Death: the death table; in-hospital if dated from onset to discharge.")
        return "\n".join(lines)


def _ids(value: Any, where: str, problems: list[str]) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        problems.append(f"{where} must be a list of integer concept IDs, got {value!r}")
        return ()
    return tuple(value)


def _codes(value: Any, where: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    ok = isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 for v in value)
    if not ok:
        problems.append(f"{where} must be a list of [vocabulary_id, concept_code] pairs")
        return ()
    return tuple((str(v), str(c)) for v, c in value)


def load_definition(path: str | Path | None = None) -> OmopDefinition:
    """Load a cohort definition (the shipped ``dah-sle-v1`` when ``path`` is None).

    Raises
    ------
    ArgumentError
        Listing every problem in the file.
    """
    if path is None:
        ref = resources.files("dah_outcomes.omop") / "definitions" / "dah-sle-v1.toml"
        text, source = ref.read_text(encoding="utf-8"), "builtin:dah-sle-v1"
    else:
        p = Path(path)
        if not p.exists():
            raise ArgumentError(f"definition file {p} does not exist")
        text, source = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ArgumentError(f"definition {source} is not valid TOML: {exc}") from exc
    problems: list[str] = []

    def cset(
        name: str, table: dict[str, Any], key_ids: str = "concept_ids", key_codes: str = "codes"
    ) -> ConceptSet:
        return ConceptSet(
            name=name,
            concept_ids=_ids(table.get(key_ids), f"[{name}]", problems),
            codes=_codes(table.get(key_codes), f"[{name}] codes", problems),
            exclude_concept_ids=_ids(
                table.get("exclude_concept_ids"), f"[{name}] exclude_concept_ids", problems
            ),
            descendants=bool(table.get("descendants", True)),
        )

    sle = cset("sle", raw.get("sle", {}))
    dah = cset("dah", raw.get("dah", {}))
    if not (sle.concept_ids or sle.codes):
        problems.append("[sle] needs concept_ids or codes")
    if not (dah.concept_ids or dah.codes):
        problems.append("[dah] needs concept_ids or codes")
    episode = raw.get("episode", {})
    gap = episode.get("gap_days", 30)
    if not isinstance(gap, int) or gap < 0:
        problems.append(f"[episode] gap_days must be a whole number >= 0, got {gap!r}")
    features: dict[str, ConceptSet] = {}
    procs, drugs = raw.get("procedures", {}), raw.get("drugs", {})
    for name, kind in FEATURE_SETS.items():
        if kind == "procedure":
            features[name] = ConceptSet(
                name,
                _ids(procs.get(name), f"[procedures] {name}", problems),
                _codes(
                    procs.get(name.replace("_confirmed", "") + "_codes"),
                    f"[procedures] {name} codes",
                    problems,
                ),
            )
        elif kind == "drug":
            features[name] = ConceptSet(name, _ids(drugs.get(name), f"[drugs] {name}", problems))
        else:
            features[name] = cset(name, raw.get(name, {}))
    gender = raw.get("gender", {})
    if problems:
        raise ArgumentError(
            f"definition {source} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return OmopDefinition(
        name=str(raw.get("name", "unnamed")),
        version=int(raw.get("version", 1)),
        description=str(raw.get("description", "")),
        sle=sle,
        dah=dah,
        visit_concept_ids=_ids(
            episode.get("visit_concept_ids", [9201, 262]), "[episode]", problems
        ),
        gap_days=int(gap),
        features=features,
        female_concept_id=int(gender.get("female", 8532)),
        male_concept_id=int(gender.get("male", 8507)),
        source=source,
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )
