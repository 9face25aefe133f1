"""Later DAH episodes held in wide columns of a one-row-per-patient file.

A registry kept as one row per patient often adds a block of columns per later episode
("Second DAH episode date", "Discharge date 2", "MV 2nd episode"; ``onset_date_2``;
"Fecha 2º episodio HAD"). The mapping names each block as an ``[episodes.<n>]`` table (see
:mod:`~dah_outcomes.io.mapping`); here, on the translated tables and before any typing,
each row's block becomes episode *n* of the row's patient:

* a row holds episode *n* when that episode's onset is given, or when another of its cells
  says something other than "no" (a discharge date, a "yes"): such an episode without its
  onset is then rejected by validation, with its row, rather than lost;
* the episode has its own columns where its block names them, the mapping's constants, and
  nothing else: a column the block does not name stays missing, never copied from episode 1;
* the episode's rows keep the source row's number, so that a problem in episode 2 rejects
  the row (patient and every episode) in quarantine, like any problem of a row.

Every wide cell is accounted for in provenance (``wide_episodes``): cells in an episode,
blank cells, and "no" cells on rows without that episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.io.layouts._base import Assembled, mapping_problems
from dah_outcomes.io.mapping import ImportMapping, apply_mapping
from dah_outcomes.io.staging import problem_frame
from dah_outcomes.schema import TABLES

__all__ = ["WideEpisodes", "add_wide_episodes", "wide_episode_rows"]


@dataclass(frozen=True, slots=True)
class WideEpisodes:
    """The later episodes of a wide source, and the account of its wide cells.

    Attributes
    ----------
    frame : DataFrame
        Episode rows (``patient_id``, ``episode_number`` and the blocks' columns), indexed by
        the source row they came from.
    counts : dict
        Episode number -> episodes read from its columns.
    cells : dict
        ``read`` (rows x block columns), ``in_episodes``, ``blank`` and
        ``no_without_episode``; ``read`` is the sum of the other three.
    used : tuple of str
        Source columns read.
    missing : tuple of str
        Source columns the blocks name that the source lacks.
    """

    frame: pd.DataFrame
    counts: Mapping[int, int]
    cells: Mapping[str, int]
    used: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def n_episodes(self) -> int:
        """Episodes read from wide columns."""
        return int(sum(self.counts.values()))

    def note(self) -> dict[str, Any]:
        """The provenance entry: episodes by number and every wide cell accounted for."""
        return {
            "episodes_from_wide_columns": self.n_episodes,
            "by_episode": {str(n): int(k) for n, k in self.counts.items()},
            "columns": list(self.used),
            "cells": dict(self.cells),
        }


def _says_something(values: pd.Series) -> np.ndarray:
    """Cells that hold a value other than "no": a date, a number, a "yes", a code to check.

    A translated "no" is False; a value the map could not translate is passed on as text and
    counts (its row is rejected for it, rather than dropped).
    """
    filled = values.notna().to_numpy(dtype=bool)
    no = values.map(lambda v: v is False or v is np.False_).to_numpy(dtype=bool)
    return filled & ~no


def wide_episode_rows(
    frame: pd.DataFrame,
    mapping: ImportMapping,
    patient_ids: pd.Series,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
) -> WideEpisodes:
    """Translate each ``[episodes.<n>]`` block of every row into episode *n* of its patient.

    Parameters
    ----------
    frame : DataFrame
        Source rows (index = source row numbers). Not modified.
    mapping : ImportMapping
        Its ``repeat_episodes`` blocks name the columns; its constants for episode columns
        (``{ value = ... }`` in ``[columns]``) apply to every episode.
    patient_ids : Series
        The translated ``patient_id`` of each row (index as ``frame``).
    value_labels : mapping, optional
        Column -> {code: label} from the reader.

    Returns
    -------
    WideEpisodes
    """
    constants = {
        n: r
        for n, r in mapping.columns.items()
        if r.constant is not None and n not in ("patient_id", "episode_number")
    }
    parts: list[pd.DataFrame] = []
    counts: dict[int, int] = {}
    cells = {"read": 0, "in_episodes": 0, "blank": 0, "no_without_episode": 0}
    used: list[str] = []
    missing: list[str] = []
    for number, rules in mapping.repeat_episodes.items():
        # the block alone: a column it does not name is not looked up by its contract name
        block = replace(mapping, columns=MappingProxyType({**constants, **rules}))
        t = apply_mapping(frame, block, table="episodes", value_labels=value_labels)
        missing += list(t.missing)
        own = [c for c in rules if c in t.used]
        used += [t.used[c] for c in own]
        values = t.frame[own]
        has = np.zeros(len(frame), dtype=bool)
        for c in own:
            has |= _says_something(values[c])
        filled = values.notna().to_numpy(dtype=bool)
        cells["read"] += filled.size
        cells["in_episodes"] += int(filled[has].sum())
        cells["blank"] += int((~filled).sum())
        cells["no_without_episode"] += int(filled[~has].sum())
        keep = [*own, *(c for c in constants if c in t.frame)]
        part = pd.DataFrame(t.frame[keep].to_numpy(dtype=object)[has], index=frame.index[has])
        part.columns = pd.Index(keep)
        part.insert(0, "episode_number", number)
        part.insert(0, "patient_id", patient_ids.reindex(part.index).to_numpy(dtype=object))
        counts[number] = int(has.sum())
        parts.append(part)
    out = pd.concat(parts) if parts else pd.DataFrame(columns=["patient_id", "episode_number"])
    return WideEpisodes(
        out,
        MappingProxyType(counts),
        MappingProxyType(cells),
        tuple(dict.fromkeys(used)),
        tuple(missing),
    )


def add_wide_episodes(asm: Assembled, mapping: ImportMapping, layout: str) -> Assembled:
    """The flat layout's tables with the later episodes of its wide columns added.

    Parameters
    ----------
    asm : Assembled
        The flat layout's output (episode 1 of each row).
    mapping : ImportMapping
        Its ``repeat_episodes`` blocks.
    layout : str
        The layout used: wide episodes are a one-row-per-patient file's (``flat``).

    Returns
    -------
    Assembled
        Episodes 1, 2, ... of each row, in source-row order (episode 1 first); the notes
        hold ``wide_episodes`` and the unmapped columns less those the blocks read.

    Raises
    ------
    ArgumentError
        For another layout (its rows are episodes already: one per row, or a repeating
        instrument), or a source of several files.
    """
    if not mapping.repeat_episodes:
        return asm
    if layout != "flat" or len(asm.files) != 1:
        raise ArgumentError(
            f"[episodes.<n>] tables name later episodes held in wide columns of a "
            f"one-row-per-patient file (layout 'flat'), not of layout {layout!r}: there each "
            "episode is a row already; delete the [episodes.<n>] tables"
        )
    raw = asm.files[0]
    patients = asm.tables["patients"]
    ids = (
        patients["patient_id"]
        if "patient_id" in patients
        else pd.Series(None, index=patients.index, dtype=object)
    )
    wide = wide_episode_rows(raw.frame, mapping, ids, raw.value_labels)
    first = asm.tables["episodes"]
    # a column only a later episode gives is missing in episode 1, not dropped from the other
    order = [c.name for c in TABLES["episodes"] if c.name in first or c.name in wide.frame]
    episodes = pd.concat([first.reindex(columns=order), wide.frame.reindex(columns=order)])
    # source-row order, episode 1 before 2 before 3 on each row (a stable sort keeps them)
    episodes = episodes.iloc[np.argsort(episodes.index.to_numpy(), kind="stable")]
    notes = dict(asm.notes)
    unmapped = notes.get("unmapped_columns")
    if isinstance(unmapped, list):
        notes["unmapped_columns"] = [c for c in unmapped if c not in set(wide.used)]
    notes["wide_episodes"] = wide.note()
    label = str(raw.path)
    problems = problem_frame(
        [asm.problems, problem_frame(mapping_problems(wide.missing, "episodes", label))]
    )
    return replace(asm, tables={**asm.tables, "episodes": episodes}, problems=problems, notes=notes)
