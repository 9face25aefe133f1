"""Treatment arms and eras: declared, ordered definitions applied to episode flags.

An arm definition is an ordered list of rules over the treatment flags; the first rule an
episode meets names its arm. A missing flag is *unknown*, not "not given": an episode whose
membership of a rule cannot be decided (before any rule matched) gets the arm ``"Unknown"``
rather than silently falling through to a later arm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = [
    "DEFAULT_ARMS",
    "DEFAULT_ERAS",
    "Arm",
    "ArmDefinition",
    "EraDefinition",
    "absent_flags",
    "assign_arms",
    "assign_eras",
]

UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm rule.

    Attributes
    ----------
    name : str
        Arm label.
    all_of : tuple of str
        Flags that must all be true.
    any_of : tuple of str
        At least one of these flags must be true (ignored when empty).
    none_of : tuple of str
        Flags that must all be false.
    description : str
        The rule in words (used in reports' methods sections).
    """

    name: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    description: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        """Every flag the rule reads."""
        return (*self.all_of, *self.any_of, *self.none_of)

    def matches(self, episodes: pd.DataFrame) -> pd.Series:
        """Kleene (three-valued) truth of the rule per episode: True, False or <NA>."""
        cond = pd.Series(True, index=episodes.index, dtype="boolean")
        for f in self.all_of:
            cond = cond & episodes[f].astype("boolean")
        if self.any_of:
            anyc = pd.Series(False, index=episodes.index, dtype="boolean")
            for f in self.any_of:
                anyc = anyc | episodes[f].astype("boolean")
            cond = cond & anyc
        for f in self.none_of:
            cond = cond & ~episodes[f].astype("boolean")
        return cond


@dataclass(frozen=True, slots=True)
class ArmDefinition:
    """An ordered arm definition: the first matching rule wins; ``otherwise`` names the rest."""

    arms: tuple[Arm, ...]
    otherwise: str = "Other"

    def __post_init__(self) -> None:
        names = [a.name for a in self.arms] + [self.otherwise]
        if len(set(names)) != len(names) or UNKNOWN in names:
            raise ArgumentError(f"arm names must be unique and not {UNKNOWN!r}, got {names}")

    @property
    def names(self) -> list[str]:
        """Arm labels in order, ``otherwise`` last."""
        return [a.name for a in self.arms] + [self.otherwise]

    def describe(self) -> list[str]:
        """One sentence per arm, in order."""
        return [f"{a.name}: {a.description}" for a in self.arms] + [
            f"{self.otherwise}: any other treatment combination"
        ]


_STEROIDS = ("methylprednisolone_pulse", "oral_prednisone")

#: The default arms, in order of precedence.
DEFAULT_ARMS = ArmDefinition(
    arms=(
        Arm(
            "MP+CYC+PLEX",
            all_of=("methylprednisolone_pulse", "cyclophosphamide", "plasmapheresis"),
            description="IV methylprednisolone pulses + cyclophosphamide + plasmapheresis",
        ),
        Arm(
            "MP+CYC",
            all_of=("methylprednisolone_pulse", "cyclophosphamide"),
            none_of=("plasmapheresis",),
            description="IV methylprednisolone pulses + cyclophosphamide, no plasmapheresis",
        ),
        Arm(
            "Rituximab",
            all_of=("rituximab",),
            description="any regimen containing rituximab (and not an arm above)",
        ),
        Arm(
            "Steroids without CYC",
            any_of=_STEROIDS,
            none_of=("cyclophosphamide",),
            description="glucocorticoids (IV pulses or oral) without cyclophosphamide",
        ),
    )
)


def assign_arms(
    episodes: pd.DataFrame, definition: ArmDefinition = DEFAULT_ARMS, *, column: str | None = None
) -> pd.Series:
    """Arm of each episode.

    Parameters
    ----------
    episodes : DataFrame
        Episode rows with the treatment flags the definition reads.
    definition : ArmDefinition, default DEFAULT_ARMS
        Ordered arm rules.
    column : str, optional
        Take the arm from this column instead of deriving it (missing values become
        ``"Unknown"``).

    Returns
    -------
    Series of str
        Arm label per episode, aligned with ``episodes``. A flag column the definition reads
        but ``episodes`` lacks is unknown for every episode (see :func:`absent_flags`); the
        analyses announce it with a :class:`~dah_outcomes.errors.MissingColumnWarning`.
    """
    if column is not None:
        if column not in episodes:
            raise ArgumentError(
                f"arm column {column!r} not found; columns: {list(episodes.columns)}"
            )
        return episodes[column].astype("string").fillna(UNKNOWN).astype(object)
    # an absent column is unknown for every episode, not "not given": rules that do not
    # depend on it still decide (an episode with every flag of rule 1 is in arm 1 whatever
    # oral prednisone was), the rest give "Unknown"
    absent = absent_flags(episodes, definition)
    if absent:
        episodes = episodes.assign(
            **{f: pd.array([pd.NA] * len(episodes), dtype="boolean") for f in absent}
        )
    out = np.full(len(episodes), None, dtype=object)
    open_ = np.ones(len(episodes), dtype=bool)
    for arm in definition.arms:
        cond = arm.matches(episodes)
        yes = cond.fillna(False).to_numpy(dtype=bool) & open_
        unknown = cond.isna().to_numpy() & open_
        out[yes] = arm.name
        out[unknown] = UNKNOWN
        open_ &= ~(yes | unknown)
    out[open_] = definition.otherwise
    return pd.Series(out, index=episodes.index, name="arm")


def absent_flags(episodes: pd.DataFrame, definition: ArmDefinition = DEFAULT_ARMS) -> list[str]:
    """The flags the arm rules read that ``episodes`` has no column for, in rule order.

    Parameters
    ----------
    episodes : DataFrame
        Episode rows.
    definition : ArmDefinition, default DEFAULT_ARMS
        Ordered arm rules.

    Returns
    -------
    list of str
        Absent flag names, each once.
    """
    needed = dict.fromkeys(f for a in definition.arms for f in a.flags)
    return [f for f in needed if f not in episodes.columns]


@dataclass(frozen=True, slots=True)
class EraDefinition:
    """Eras by onset date: ``labels[i]`` covers ``[boundaries[i-1], boundaries[i])``."""

    boundaries: tuple[str, ...] = ("2000-01-01",)
    labels: tuple[str, ...] = ("historical", "modern")

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.boundaries) + 1:
            raise ArgumentError(
                "an era definition needs one more label than boundaries, got "
                f"{len(self.labels)} labels and {len(self.boundaries)} boundaries"
            )
        if list(self.boundaries) != sorted(self.boundaries):
            raise ArgumentError(f"era boundaries must be increasing, got {self.boundaries}")


DEFAULT_ERAS = EraDefinition()


def assign_eras(onset: pd.Series, definition: EraDefinition = DEFAULT_ERAS) -> pd.Series:
    """Era label of each onset date (missing dates give ``"Unknown"``).

    Parameters
    ----------
    onset : Series of datetime
        Onset dates.
    definition : EraDefinition, default DEFAULT_ERAS
        Era boundaries and labels.

    Returns
    -------
    Series of str
        Era label per date, aligned with ``onset``.
    """
    cuts = np.array([np.datetime64(b, "s") for b in definition.boundaries])
    values = onset.to_numpy(dtype="datetime64[s]")
    idx = np.searchsorted(cuts, values, side="right")
    labels = np.array(definition.labels, dtype=object)[idx]
    labels[pd.isna(onset).to_numpy()] = UNKNOWN
    return pd.Series(labels, index=onset.index, name="era")


def arm_order(labels: Sequence[str], definition: ArmDefinition = DEFAULT_ARMS) -> list[str]:
    """Order group labels as the definition lists them (others after, sorted)."""
    known = [n for n in definition.names if n in labels]
    return known + sorted(set(labels) - set(known))
