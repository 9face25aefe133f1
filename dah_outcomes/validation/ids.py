"""Patient ids coded as integers once for all the cross-row checks of a validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PatientCodes", "is_arrow_text"]


def is_arrow_text(s: pd.Series) -> bool:
    """Whether ``s`` holds text stored by Arrow (where Arrow's kernels apply).

    Parameters
    ----------
    s : Series
        A column.

    Returns
    -------
    bool
    """
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


@dataclass(frozen=True, slots=True)
class PatientCodes:
    """Patient ids of both tables as integers: equal codes for equal ids, missing included.

    Coding ten million id strings once, instead of once per check (duplicates, membership,
    the join of episodes to their patient), is most of the cross-row checks' time. The codes
    come from one stable sort of the ids: a hash table over ten million distinct strings
    (``dictionary_encode``) takes several times longer than sorting them.
    """

    patients: np.ndarray
    episodes: np.ndarray
    n: int
    #: Position (in patients, then episodes) of the first row holding each code.
    first: np.ndarray

    @classmethod
    def of(cls, p: pd.DataFrame, e: pd.DataFrame) -> PatientCodes | None:
        """The codes of the ``patient_id`` columns of patients ``p`` and episodes ``e``.

        Parameters
        ----------
        p, e : DataFrame
            The typed patients and episodes tables.

        Returns
        -------
        PatientCodes or None
            None unless both tables hold their ids as Arrow text (the checks then use
            pandas).
        """
        if "patient_id" not in p or "patient_id" not in e:
            return None
        if not (is_arrow_text(p["patient_id"]) and is_arrow_text(e["patient_id"])):
            return None
        import pyarrow as pa
        import pyarrow.compute as pc

        parts = [
            pa.chunked_array(pa.array(t["patient_id"].array)).cast(pa.large_string())
            for t in (p, e)
        ]
        both = pa.chunked_array(
            [c for part in parts for c in part.chunks], type=pa.large_string()
        ).combine_chunks()
        n = len(both)
        # stable: within a run of equal ids the rows keep their order, patients first
        order = pc.array_sort_indices(both, null_placement="at_end").to_numpy()
        ordered = both.take(order)
        new = np.ones(n, dtype=bool)
        if n > 1:
            head, tail = ordered.slice(0, n - 1), ordered.slice(1)
            null = ordered.is_null().to_numpy(zero_copy_only=False)
            # a missing id matches a missing id (they sort last, together)
            differs = pc.fill_null(pc.not_equal(head, tail), False)
            new[1:] = differs.to_numpy(zero_copy_only=False) | (null[1:] != null[:-1])
        run = np.cumsum(new, dtype=np.int64) - 1
        codes = np.empty(n, dtype=np.int64)
        codes[order] = run
        first = order[np.flatnonzero(new)].astype(np.int64)
        k = len(p)
        return cls(codes[:k], codes[k:], int(run[-1]) + 1 if n else 0, first)

    def duplicated_patients(self) -> np.ndarray:
        """Patients rows whose id another patients row shares (``duplicated(keep=False)``)."""
        return np.bincount(self.patients, minlength=self.n)[self.patients] > 1

    def patient_row(self) -> np.ndarray:
        """For each episode, the position of its patient's first row (-1: no such patient)."""
        # the first row of a code is a patients row when any patients row holds it
        first = np.where(self.first < len(self.patients), self.first, -1)
        return first[self.episodes]
