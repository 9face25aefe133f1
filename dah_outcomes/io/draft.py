"""Draft a mapping file for a source table, for the analyst to check and finish.

The draft is the starting point of ``dah-outcomes init-mapping``: source column names are
matched to the contract through :data:`SYNONYMS`, headers such as ``"Cyclophosphamide start
date"``, ``"PLEX start"`` or ``rituximab_start_date`` become ``[treatments]`` tables (a
treatment's name, then a course field), and what cannot be matched (a column, a
flag value outside the built-in words, an ambiguous date format) is written as a ``# TODO``
rather than guessed. The text it returns is what :func:`~dah_outcomes.io.mapping.load_mapping`
reads.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io._dates import infer_date_format
from dah_outcomes.io._headers import (
    FILLER_WORDS,
    SYNONYMS,
    VITAL_WORDS,
    header_score,
    header_words,
    is_repeat_header,
    repeat_episode,
)
from dah_outcomes.io._vocabulary import (
    CONTRACT,
    COURSE_FIELDS,
    DEFAULT_NA_VALUES,
    FALSE_WORDS,
    LAYOUTS,
    SEX_WORDS,
    TREATMENT_WORDS,
    TRUE_WORDS,
    code_value,
    match_key,
    normalize_name,
    strip_text,
)
from dah_outcomes.io.column_rules import REPEAT_FIELDS
from dah_outcomes.io.layouts.redcap import (
    decode_choices,
    label_headers,
    parse_choices,
    read_dictionary,
)
from dah_outcomes.io.readers import read_table
from dah_outcomes.io.table_rows import TableRows, find_table_rows
from dah_outcomes.schema import TABLES, Column

__all__ = ["SYNONYMS", "HeaderMatch", "course_header", "draft_mapping", "match_headers"]

_CONFIDENCE = {4: "exact", 3: "high", 2: "medium", 1: "low"}


def draft_mapping(
    raw: Any,
    *,
    layout: str | None = None,
    max_values: int = 30,
    dictionary: str | Path | pd.DataFrame | None = None,
) -> str:
    """Draft a mapping file (TOML text) for a source table, for the analyst to finish.

    Headers are matched to the contract by meaning (:data:`SYNONYMS` in five languages and
    the usual abbreviations, word by word, each match with its confidence written beside
    it); value maps are drafted from the values present, date formats inferred from the
    values, and title lines above the header and totals lines below the data found
    (``header_row``, ``skip_footer``). What cannot be decided (an ambiguous header, a date
    format that reads both ways, a value outside the vocabularies) is a ``TODO`` in a value,
    which :func:`~dah_outcomes.io.mapping.load_mapping` refuses until it is filled in; notes
    (a column not found, a source column not mapped) are ``TODO`` comments.

    Parameters
    ----------
    raw : RawTable or DataFrame
        The source, e.g. from :func:`~dah_outcomes.io.readers.read_table`. A CSV, TSV or
        Excel table read from its first line is read again below its title lines when it
        has some.
    layout : str, optional
        Layout to write (default ``flat``, or ``redcap`` when REDCap columns or a
        dictionary are present).
    max_values : int, default 30
        Columns with more distinct values than this get no value map.
    dictionary : path or DataFrame, optional
        A REDCap data dictionary: its field labels and choice labels are matched too, and
        coded values are drafted as the labels the import decodes them to.

    Returns
    -------
    str
        TOML text that :func:`~dah_outcomes.io.mapping.load_mapping` accepts once its
        ``TODO`` values are filled in.
    """
    raw, rows = _below_titles(raw)
    frame = raw.frame if hasattr(raw, "frame") else raw
    texts = {str(c): [str(c)] for c in frame.columns}
    if dictionary is not None:
        dd = read_dictionary(dictionary)
        frame = decode_choices(frame.rename(columns=label_headers(frame.columns, dd)), dd)
        texts = _dictionary_texts(frame.columns, dd)
    if layout is None:
        redcap = "redcap_repeat_instrument" in frame.columns or dictionary is not None
        layout = "redcap" if redcap else "flat"
    if layout not in LAYOUTS:
        raise ArgumentError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")
    lines = [
        "# Drafted by dah-outcomes init-mapping: check every line, finish the TODOs.",
        f"# Source: {getattr(raw, 'path', '(frame)')}",
        f'layout = "{layout}"',
        *_rows_lines(rows),
    ]
    kinds = {str(c): _value_kind(frame[c]) for c in frame.columns}
    matches = match_headers(texts, kinds)
    dayfirst = _file_order(frame, matches)
    taken: set[str] = set()
    body: list[str] = []
    decimal_comma = False
    flat = layout == "flat"
    # a wide source's courses are drafted as [treatments] tables below; the episode number
    # of a one-row-per-patient file is derived, in [derive]
    skip = _COURSE_ONLY | (
        {"episode_number"} if flat and "episode_number" not in matches else set()
    )
    for name, col in CONTRACT.items():
        if name in skip:
            continue
        found = matches.get(name)
        if found is None:
            need = "required" if col.required else "optional"
            body.append(
                f'# {name} = ""  # TODO: no source column found ({need}: {col.description})'
            )
            continue
        if len(found.sources) > 1 or found.rivals:
            body.append(_ambiguous_line(name, found))
            continue
        src = found.sources[0]
        taken.add(src)
        opts, notes = _draft_options(frame[src], col, max_values, dayfirst)
        decimal_comma |= opts.pop("_decimal_comma", False)
        spec = _toml_value(src) if not opts else _toml_inline({"source": src, **opts})
        body.append(f"{name} = {spec}  # {'; '.join([found.note, *notes])}")
    courses = _draft_courses(frame, taken, max_values)
    if decimal_comma:
        lines.append('decimal = ","  # numbers are written with a decimal comma')
    design, derive = _draft_design(frame, matches)
    repeats = _draft_repeats(frame, kinds, matches, taken, max_values, dayfirst) if flat else []
    derive += _episode_derivations(matches, repeats) if flat else []
    lines += design
    lines += ["", "[columns]", *body, *courses]
    if derive:
        lines += ["", "[derive]", *derive]
    lines += repeats
    rest = [str(c) for c in frame.columns if str(c) not in taken]
    if rest:
        lines += ["", "# Source columns not mapped (TODO: map or leave out on purpose):"]
        lines += [
            f"#   {c}" + ("  (a later episode's column)" if is_repeat_header(c) else "")
            for c in rest
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """The source column(s) a contract column matched, and how well.

    Attributes
    ----------
    sources : tuple of str
        One source column, or the candidates when the match is ambiguous.
    score : int
        4 the contract column's own name, 3 the same words as a synonym, 2 the same content
        words, 1 the synonym's words in the header (see
        :func:`~dah_outcomes.io._headers.header_score`).
    synonym : str
        The synonym matched (by the first source).
    rivals : tuple of str
        Other contract columns the one source matches as well (an ambiguous header).
    """

    sources: tuple[str, ...]
    score: int
    synonym: str
    rivals: tuple[str, ...] = ()

    @property
    def confidence(self) -> str:
        """``exact``, ``high``, ``medium`` or ``low``."""
        return _CONFIDENCE[self.score]

    @property
    def note(self) -> str:
        """The comment the draft writes beside the line."""
        return f"confidence {self.confidence}: matched {self.synonym!r}"


def match_headers(
    texts: Mapping[str, list[str]],
    kinds: Mapping[str, str] | None = None,
    *,
    later: bool = False,
) -> dict[str, HeaderMatch]:
    """Match source headers to contract columns by meaning.

    Each header (and, from a REDCap dictionary, its field or choice label) is scored against
    every contract column's synonyms; a header goes to the column it matches best, a
    column to the header that matches it best. A tie (two columns for one header, two
    headers for one column) is returned with all its candidates, for the draft to write as
    a TODO. Headers of a later episode (``"Second DAH episode date"``) and course headers
    (``"PLEX start"``) are left to their own rules.

    Parameters
    ----------
    texts : mapping
        Source column -> the texts that name it (its header first).
    kinds : mapping, optional
        Source column -> ``date``, ``bool``, ``number``, ``text`` or ``empty`` (what its
        values look like): a column is matched only to contract columns of a fitting kind.
    later : bool, default False
        The headers are a later episode's, their texts without the ordinal: match them
        (by default such headers are left to the repeat-episode rules).

    Returns
    -------
    dict
        Contract column -> :class:`HeaderMatch` (columns without a match are absent).
    """
    kinds = kinds or {}
    best: dict[str, dict[str, tuple[int, str]]] = {}  # header -> contract -> (score, synonym)
    for header, names in texts.items():
        if (is_repeat_header(header) and not later) or (
            course_header(header) and not _exact(names)
        ):
            continue
        scores = _scores(names, kinds.get(header, "empty"))
        if scores:
            top = max(v[0] for v in scores.values())
            best[header] = {c: v for c, v in scores.items() if v[0] == top}
    out: dict[str, HeaderMatch] = {}
    for name in CONTRACT:
        hits = [(best[h][name], h) for h in best if name in best[h]]
        if not hits:
            continue
        top = max(score for (score, _), _ in hits)
        heads = tuple(h for (score, _), h in hits if score == top)
        synonym = next(syn for (score, syn), _ in hits if score == top)
        out[name] = HeaderMatch(heads, top, synonym)
    return _settle(out, best)


def _settle(
    out: dict[str, HeaderMatch], best: Mapping[str, Mapping[str, tuple[int, str]]]
) -> dict[str, HeaderMatch]:
    """A header two columns tie on goes to neither, unless one of them has a better header
    of its own; a column left with two headers keeps both as candidates."""
    owner: dict[str, list[str]] = {}
    for name, m in out.items():
        for h in m.sources:
            owner.setdefault(h, []).append(name)
    for h, names in owner.items():
        if len(names) < 2:
            continue
        keep = [n for n in names if out[n].sources == (h,)]
        for n in names:
            if out[n].sources != (h,):
                out[n] = replace(out[n], sources=tuple(s for s in out[n].sources if s != h))
        if len(keep) > 1:
            for n in keep:  # one header, several meanings: the analyst says which
                out[n] = replace(out[n], rivals=tuple(o for o in keep if o != n))
    return {n: m for n, m in out.items() if m.sources}


def _exact(names: list[str]) -> bool:
    return any(header_score(t, s) == 3 for t in names for syns in SYNONYMS.values() for s in syns)


def _scores(names: list[str], kind: str) -> dict[str, tuple[int, str]]:
    scores: dict[str, tuple[int, str]] = {}
    for name, col in CONTRACT.items():
        if name in _COURSE_ONLY or not _fits(col, kind):
            continue
        for syn in (*SYNONYMS.get(name, ()), name):
            score = max(header_score(t, syn) for t in names)
            # the contract's own name beats a synonym another column also matches
            score += score == 3 and syn == name
            if score and score > scores.get(name, (0, ""))[0]:
                scores[name] = (score, syn)
    return scores


def _fits(col: Column, kind: str) -> bool:
    """Whether values of this kind can be this contract column."""
    if kind == "empty":
        return True
    if col.kind == "date":
        return kind == "date"
    if col.kind == "bool":
        return kind == "bool"
    if col.kind in ("int", "float"):
        return kind in ("number", "bool")
    return kind != "date"


_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?$")


def _value_kind(s: pd.Series) -> str:
    """What a column's values look like: date, bool, number, text, or empty."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    values = strip_text(s).dropna()
    if not len(values):
        return "empty"
    sample = values.iloc[:500].map(lambda v: str(code_value(v)))
    keys = {match_key(v) for v in sample} - _NA_KEYS
    if not keys:
        return "empty"
    if all(isinstance(v, datetime.date) for v in values.iloc[:500]):
        return "date"
    words = TRUE_WORDS | FALSE_WORDS
    # a flag column may hold a code of its own (9 = unknown): most rows still say yes or no
    if keys <= words or (len(keys) <= 6 and sample.map(match_key).isin(words).mean() >= 0.5):
        return "bool"
    if sum(bool(_DATE_LIKE.match(k)) for k in keys) >= 0.8 * len(keys):
        return "date"
    number = pd.to_numeric(sample.str.replace(",", ".", regex=False), errors="coerce")
    return "number" if number.notna().mean() >= 0.8 else "text"


def _blank_values(s: pd.Series) -> pd.Series:
    """Cells holding nothing: empty, or a missing-value marker (``NA``, ``.``...)."""
    text = s.astype("string").str.strip()
    markers = {match_key(v) for v in DEFAULT_NA_VALUES}
    return (text.isna() | text.eq("") | text.map(match_key).isin(markers)).fillna(True)


def _draft_design(
    frame: pd.DataFrame, matches: Mapping[str, HeaderMatch]
) -> tuple[list[str], list[str]]:
    """The design and the derivations the values show (a top-level line, ``[derive]`` lines):
    a source whose every row has a DAH onset is a case series, followed from that onset when
    it has no follow-up start; a death date beside a blank follow-up end means follow-up ended
    at death, as registries leave it."""

    def only(name: str) -> str | None:
        found = matches.get(name)
        return found.sources[0] if found and len(found.sources) == 1 and not found.rivals else None

    onset, end, death, start = (
        only(n) for n in ("onset_date", "followup_end", "death_date", "followup_start")
    )
    design: list[str] = []
    derive: list[str] = []
    if onset is not None and len(frame) and not _blank_values(frame[onset]).any():
        design.append('design = "case_series"  # every row has a DAH onset: DAH patients only')
        if start is None:
            derive.append(
                'followup_start = "first_onset"  # no follow-up start column: a case series '
                "is followed from each patient's first DAH onset"
            )
    if end is not None and death is not None:
        blank_end = _blank_values(frame[end]) & ~_blank_values(frame[death])
        if blank_end.any():
            derive.append(
                f'followup_end = "death_date"  # {int(blank_end.sum())} row(s) with a death '
                "date leave the follow-up end blank: follow-up ended at death"
            )
    return design, derive


def _episode_derivations(matches: Mapping[str, HeaderMatch], repeats: list[str]) -> list[str]:
    """A one-row-per-patient file's episode numbers, and the later episodes' outcomes when
    their columns give none."""
    out = []
    told = any(x.startswith("in_hospital_death") for x in repeats)
    if repeats and not told and _one(matches, "death_date"):
        out.append(
            'in_hospital_death = "death_date"  # the later episodes give no outcome '
            "column: each one's in-hospital death from the death date against its onset "
            "and discharge"
        )
    if "episode_number" not in matches:
        out.append(
            'episode_number = "one_row_per_patient"  # one row per patient: its episode is '
            "number 1" + (" ([episodes.<n>] below give n)" if repeats else "")
        )
    return out


def _one(matches: Mapping[str, HeaderMatch], name: str) -> str | None:
    found = matches.get(name)
    return found.sources[0] if found and len(found.sources) == 1 and not found.rivals else None


_DAH_WORDS = frozenset({"dah", "had", "hda", "hia"})


def _repeat_matches(
    frame: pd.DataFrame, kinds: Mapping[str, str], taken: set[str]
) -> dict[int, dict[str, HeaderMatch]]:
    """Episode number -> episode column -> the later episode's header matched by meaning
    once its ordinal is set aside ("Second DAH episode date" is episode 2's "DAH date")."""
    by_number: dict[int, dict[str, list[str]]] = {}
    for c in map(str, frame.columns):
        found = repeat_episode(c) if c not in taken else None
        if found is None:
            continue
        number, rest = found
        words = header_words(rest)
        # "discharge date 2nd DAH" is the discharge of the second DAH episode: DAH qualifies
        # the episode unless nothing else is left ("second DAH episode date": its onset)
        content = [w for w in words if w not in _DAH_WORDS and w not in FILLER_WORDS]
        base = " ".join(w for w in words if w not in _DAH_WORDS) if content else rest
        if not content and not [w for w in words if w in _DAH_WORDS]:
            base = "onset date" if kinds.get(c) == "date" else ""  # "third episode"
        if base:
            by_number.setdefault(number, {})[c] = [base]
    out: dict[int, dict[str, HeaderMatch]] = {}
    for number, texts in sorted(by_number.items()):
        m = match_headers(texts, {h: kinds.get(h, "empty") for h in texts}, later=True)
        out[number] = {n: x for n, x in m.items() if n in REPEAT_FIELDS}
    return out


def _draft_repeats(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    matches: Mapping[str, HeaderMatch],
    taken: set[str],
    max_values: int,
    dayfirst: str | None,
) -> list[str]:
    """``[episodes.<n>]`` tables for the later episodes' wide columns, found by meaning."""
    out: list[str] = []
    for number, found in _repeat_matches(frame, kinds, taken).items():
        if "onset_date" not in found or len(found["onset_date"].sources) != 1:
            heads = sorted(h for x in found.values() for h in x.sources)
            out += [
                "",
                f"# TODO: {heads} look like episode {number}'s columns but none is its onset "
                f"date: add [episodes.{number}] onset_date = ...",
            ]
            continue
        out += [
            "",
            f"[episodes.{number}]  # episode {number} from its own columns: a row whose onset "
            "is blank has none; a column not named here stays missing",
        ]
        for name in REPEAT_FIELDS:
            x = found.get(name)
            if x is None:
                continue
            if len(x.sources) > 1 or x.rivals:
                out.append(_ambiguous_line(name, x))
                continue
            src = x.sources[0]
            taken.add(src)
            col = CONTRACT[name]
            opts, notes = _draft_options(frame[src], col, max_values, dayfirst)
            opts.pop("_decimal_comma", None)
            _as_first_episode(frame, opts, notes, _one(matches, name))
            spec = _toml_value(src) if not opts else _toml_inline({"source": src, **opts})
            out.append(f"{name} = {spec}  # {'; '.join([x.note, *notes])}")
    return out


def _as_first_episode(
    frame: pd.DataFrame, opts: dict[str, Any], notes: list[str], first: str | None
) -> None:
    """A later episode's date column whose few values read both ways takes the format of
    episode 1's column for the same field, when that one's values say it (the same
    registry field, repeated): named in the note, never silently."""
    fmt = opts.get("format")
    if first is None or not (isinstance(fmt, str) and fmt.startswith("TODO:")):
        return
    text = strip_text(frame[first]).dropna().map(lambda v: str(code_value(v)))
    guess = infer_date_format(text[~text.map(match_key).isin(_NA_KEYS)])
    if guess.order not in ("day", "month") or guess.format is None or guess.format not in fmt:
        return
    opts["format"] = guess.format
    notes[:] = [n for n in notes if not n.startswith("TODO:")]
    notes.append(
        f"read {guess.order} first as episode 1's {first!r} ({guess.example}): the same field"
    )


def _ambiguous_line(name: str, found: HeaderMatch) -> str:
    heads = list(found.sources)
    if found.rivals:
        why = f"{heads[0]!r} could be {name} or {', '.join(found.rivals)}: say which"
    else:
        why = f"{len(heads)} source columns match equally well: {heads}; name the one meant"
    choice = " or ".join(repr(h) for h in heads)
    return f'{name} = "TODO: {choice}"  # TODO: {why} (confidence {found.confidence})'


def _dictionary_texts(columns: pd.Index, dd: pd.DataFrame) -> dict[str, list[str]]:
    """Each export column's names: its field name, its label, a checkbox's choice label."""
    labels = {str(f): str(lab) for f, lab in zip(dd["field_name"], dd["field_label"], strict=True)}
    choices = {
        str(f): parse_choices(c) for f, c in zip(dd["field_name"], dd["choices"], strict=True)
    }
    out: dict[str, list[str]] = {}
    for c in map(str, columns):
        field, sep, code = c.partition("___")
        if sep and field in choices and code in choices[field]:
            # a checkbox column is one choice: its label names it, the field's does not
            out[c] = [c, choices[field][code]]
        else:
            out[c] = [c, *([labels[c]] if labels.get(c) else [])]
    return out


def _below_titles(raw: Any) -> tuple[Any, TableRows]:
    """The table re-read below its title lines and above its totals, when it has any."""
    path = getattr(raw, "path", None)
    if path is None or getattr(raw, "format", None) not in ("csv", "tsv", "excel"):
        return raw, TableRows()
    read = tuple(raw.frame.attrs.get("table_rows", (1, 0)))
    rows = find_table_rows(path, format=raw.format)
    if read != (1, 0) or (rows.header_row, rows.skip_footer) == (1, 0):
        # read with its rows already (init-mapping finds them first): keep them
        same = (rows.header_row, rows.skip_footer) == read
        return raw, rows if same else TableRows(read[0], read[1])
    again = read_table(
        path,
        format=raw.format,
        encoding=raw.encoding,
        delimiter=raw.delimiter if rows.header_row == 1 else None,
        header_row=rows.header_row,
        skip_footer=rows.skip_footer,
    )
    return again, rows


def _rows_lines(rows: TableRows) -> list[str]:
    out = []
    if rows.header_row != 1:
        shown = "; ".join(t[:60] for t in rows.titles) or "blank"
        out.append(
            f"header_row = {rows.header_row}  # the header is line {rows.header_row}; above it: "
            f"{shown}"
        )
    if rows.skip_footer:
        shown = "; ".join(t[:60] for t in rows.footers)
        out.append(
            f"skip_footer = {rows.skip_footer}  # the last {rows.skip_footer} line(s) are not "
            f"records: {shown}"
        )
    return out


_NA_KEYS = {match_key(v) for v in DEFAULT_NA_VALUES}
_COURSE_ONLY = {c.name for c in TABLES["treatments"]} - {
    c.name for t in ("patients", "episodes") for c in TABLES[t]
}


def course_header(name: object) -> tuple[str, str] | None:
    """``(treatment, course field)`` a wide source's header names, e.g. ``"PLEX start"`` ->
    ``("plasmapheresis", "start_date")``; None for any other header.

    Parameters
    ----------
    name : object
        A column name.

    Returns
    -------
    tuple of str or None
    """
    norm = normalize_name(name)
    for word in sorted(TREATMENT_WORDS, key=len, reverse=True):
        if not norm.startswith(word):
            continue
        rest = norm[len(word) :]
        for field, suffixes in COURSE_FIELDS.items():
            if rest in suffixes:
                return TREATMENT_WORDS[word], field
    return None


def _draft_courses(frame: pd.DataFrame, taken: set[str], max_values: int) -> list[str]:
    """``[treatments.<name>]`` tables for the course headers not mapped to a column already."""
    found: dict[str, dict[str, str]] = {}
    for c in frame.columns:
        hit = course_header(c) if str(c) not in taken else None
        if hit is not None and hit[1] not in found.setdefault(hit[0], {}):
            found[hit[0]][hit[1]] = str(c)
    out: list[str] = []
    course_cols = {c.name: c for c in TABLES["treatments"]}
    for treatment, fields in found.items():
        if not fields:
            continue
        if "start_date" not in fields:
            out += [
                "",
                f"# TODO: {sorted(fields.values())} give {treatment} courses but no start date "
                f"column was found: add [treatments.{treatment}] start_date = ...",
            ]
            continue
        out += ["", f"[treatments.{treatment}]"]
        for field in COURSE_FIELDS:
            if field not in fields:
                continue
            src = fields[field]
            taken.add(src)
            opts, notes = _draft_options(frame[src], course_cols[field], max_values)
            opts.pop("_decimal_comma", None)
            spec = _toml_value(src) if not opts else _toml_inline({"source": src, **opts})
            out.append(f"{field} = {spec}" + (f"  # {'; '.join(notes)}" if notes else ""))
    return out


def _draft_options(
    s: pd.Series, col: Column, max_values: int, file_order: str | None = None
) -> tuple[dict[str, Any], list]:
    opts: dict[str, Any] = {}
    notes: list[str] = []
    text = strip_text(s).dropna().map(lambda v: str(code_value(v)))
    text = text[~text.map(match_key).isin(_NA_KEYS)]
    if col.kind == "date" and len(text) and not _typed_dates(s):
        _date_options(text, opts, notes, file_order)
    elif col.kind == "bool" or col.name in ("sex", "vital_status"):
        _value_map_options(text.value_counts(sort=False), col, max_values, opts, notes)
    elif col.kind in ("int", "float") and len(text):
        if text.str.fullmatch(r"-?\d+,\d+").any():
            opts["_decimal_comma"] = True
        if col.name == "hemoglobin_drop":
            num = pd.to_numeric(text.str.replace(",", "."), errors="coerce")
            if num.median() > 15:
                opts["unit"] = "g/L"
                notes.append("values look like g/L: converted to g/dL")
    return opts, notes


def _typed_dates(s: pd.Series) -> bool:
    """Dates the source typed itself (Excel, Parquet, SAS): no format to infer."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    values = s.dropna().iloc[:500]
    return bool(len(values)) and all(isinstance(v, datetime.date) for v in values)


def _date_options(
    text: pd.Series, opts: dict[str, Any], notes: list[str], file_order: str | None
) -> None:
    """The date format the values show, or a TODO naming both readings."""
    guess = infer_date_format(text)
    if guess.format is not None:
        opts["format"] = guess.format
    if guess.order in ("day", "month"):
        notes.append(f"dates {guess.order} first ({guess.example})")
    elif guess.order in ("ambiguous", "mixed"):
        a, b = guess.readings
        opts["format"] = f"TODO: {a} or {b}"
        if guess.order == "mixed":
            notes.append(f"TODO: some dates read day first, some month first ({guess.example})")
        else:
            seen = f"; this file's other dates are {file_order} first" if file_order else ""
            notes.append(
                f"TODO: no day or month here exceeds 12 ({guess.example}): {a} reads it day "
                f"first, {b} month first{seen}"
            )
    elif guess.order == "none":
        notes.append(f"TODO: the values do not look like dates ({guess.example!r}); give format=")
    if guess.n_bad:
        notes.append(
            f"{guess.n_bad} value(s) do not parse as dates (e.g. {list(guess.bad)}): their rows "
            "will be rejected"
        )


def _value_map_options(
    counts: pd.Series, col: Column, max_values: int, opts: dict[str, Any], notes: list[str]
) -> None:
    """A value map drafted from the values present (``counts``: value -> rows).

    A value not understood is a TODO when the source uses it as a code; one in under 1% of
    the rows is more likely a slip, and is named in a note: its rows will be rejected.
    """
    if not len(counts):
        return
    if len(counts) > max_values:
        notes.append(f"{len(counts)} distinct values: too many for a value map, check them")
        return
    values: dict[str, Any] = {}
    stray: list[str] = []
    total = int(counts.sum())
    for v, n in counts.items():
        key = match_key(v)
        if col.kind == "bool":
            target = True if key in TRUE_WORDS else False if key in FALSE_WORDS else "TODO"
        elif col.name == "vital_status":
            target = VITAL_WORDS.get(" ".join(header_words(v)), "TODO")
        else:
            target = SEX_WORDS.get(key, "TODO")
        if target == "TODO" and 100 * int(n) < total:
            stray.append(str(v))
            continue
        values[str(v)] = target
    opts["values"] = values
    odd = [v for v, t in values.items() if t == "TODO"]
    targets = {"bool": "true or false", "vital_status": '"alive", "dead" or "unknown"'}.get(
        "bool" if col.kind == "bool" else col.name, '"F", "M" or "unknown"'
    )
    if odd:
        notes.append(
            f"TODO: give {odd} {targets} (or list it in na_values when it means not recorded)"
        )
    if stray:
        notes.append(
            f"{stray} in under 1% of rows is not {targets}: those rows will be rejected "
            "unless you add it here"
        )


def _file_order(frame: pd.DataFrame, matches: Mapping[str, HeaderMatch]) -> str | None:
    """Day or month first, as the file's unambiguous date columns show (for the TODO note)."""
    orders = set()
    for name, m in matches.items():
        if CONTRACT[name].kind == "date" and len(m.sources) == 1:
            text = strip_text(frame[m.sources[0]]).dropna()
            if len(text) and not _typed_dates(frame[m.sources[0]]):
                orders.add(infer_date_format(text.map(str)).order)
    found = orders & {"day", "month"}
    return found.pop() if len(found) == 1 else None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return _toml_inline(v)
    return json.dumps(str(v), ensure_ascii=False)


def _toml_inline(d: Mapping[str, Any]) -> str:
    return (
        "{ "
        + ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in d.items()
        )
        + " }"
    )
