"""Small-cell suppression for exported aggregate tables.

Counts between 1 and ``min_cell - 1`` can identify patients, so they are masked (primary
suppression). A single masked cell in a row or column whose total is known could be recovered
by subtraction, so more cells are masked (complementary suppression) until no row and no
column has exactly one masked cell. Row totals are assumed published (or given in
``total_column``); column totals are assumed published whenever the table has two rows or more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dah_outcomes.errors import ArgumentError

__all__ = ["hidden_groups", "suppress_small_cells"]


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    min_cell: int,
    total_column: str | None = None,
    *,
    mask_zero: bool = False,
    hidden: np.ndarray | None = None,
) -> pd.DataFrame:
    """Mask counts below ``min_cell`` so that they cannot be recovered from totals.

    Parameters
    ----------
    table : DataFrame
        Rows are categories; ``count_columns`` hold non-negative integer counts. Not modified.
    count_columns : sequence of str
        The cells to protect.
    min_cell : int
        Smallest count that may be shown (e.g. 5 or 11, per the data owner's policy).
    total_column : str, optional
        A column holding each row's total; it is masked too when below ``min_cell``, and it
        takes part in the complementary masking of its row.
    mask_zero : bool, default False
        Also mask zeros (some policies treat a zero as disclosive).
    hidden : ndarray of bool, optional
        Cells not shown anyway (shape: rows by ``count_columns`` plus ``total_column``), such
        as those of a group too small to show: they are masked, and count as masked when
        judging whether a row or column could be recovered.

    Returns
    -------
    DataFrame
        A copy with masked cells set to ``<NA>`` (nullable integer columns).

    Examples
    --------
    >>> t = pd.DataFrame({"site": ["A", "B"], "died": [3, 40], "alive": [50, 60]})
    >>> suppress_small_cells(t, ["died", "alive"], 5)["died"].isna().tolist()
    [True, True]
    """
    if not isinstance(table, pd.DataFrame):
        raise ArgumentError(f"table must be a DataFrame, got {type(table).__name__}")
    if int(min_cell) != min_cell or min_cell < 1:
        raise ArgumentError(f"min_cell must be a positive integer, got {min_cell!r}")
    cols = list(count_columns) + ([total_column] if total_column else [])
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ArgumentError(f"columns {missing} are not in the table; it has {list(table.columns)}")
    if not cols:
        raise ArgumentError("give at least one count column")
    values = table[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    present = np.isfinite(values)
    if (values[present] < 0).any():
        raise ArgumentError("counts must be non-negative")
    low = (values < min_cell) & present
    mask = low & (values > 0) if not mask_zero else low.copy()
    if hidden is not None:
        hidden = np.asarray(hidden, dtype=bool)
        if hidden.shape != mask.shape:
            raise ArgumentError(f"hidden must have shape {mask.shape}, got {hidden.shape}")
        mask |= hidden & present
    _mask_complements(values, mask, present)
    out = table.copy()
    for j, c in enumerate(cols):
        col = pd.Series(values[:, j], index=table.index).round().astype("Int64")
        # the stubs do not accept NA, the "Int64" dtype's missing value, as a value to set
        col[mask[:, j]] = pd.NA  # type: ignore[call-overload]
        out[c] = col
    return out


def hidden_groups(sizes: Mapping[str, int], min_cell: int | None) -> list[str]:
    """The groups too small to show on their own, and the one that must hide with them.

    A group of 1 to ``min_cell - 1`` patients is not shown separately (its counts, medians
    and curves would describe a handful of people). When exactly one group is that small,
    the next smallest is hidden with it, since the overall figures minus the shown groups'
    would otherwise give it back by subtraction.

    Parameters
    ----------
    sizes : mapping of str to int
        Patients per group.
    min_cell : int or None
        The threshold (None: nothing is hidden).

    Returns
    -------
    list of str
        The hidden groups, in the order of ``sizes``.
    """
    if not min_cell:
        return []
    small = {g for g, n in sizes.items() if 0 < n < min_cell}
    others = sorted((n, g) for g, n in sizes.items() if g not in small and n > 0)
    if len(small) == 1 and others:
        small.add(others[0][1])
    return [g for g in sizes if g in small]


def _mask_complements(values: np.ndarray, mask: np.ndarray, present: np.ndarray) -> None:
    """Complementary masking, in place: greedily mask the smallest visible cell of any row or
    column that has exactly one masked cell (it could be recovered from the total) until
    none has."""
    n_rows, n_cols = mask.shape
    changed = True
    while changed:
        changed = False
        for i in range(n_rows):
            if mask[i].sum() == 1:
                changed |= _mask_smallest(values, mask, present, rows=[i], cols=None)
        if n_rows >= 2:
            for j in range(n_cols):
                if mask[:, j].sum() == 1:
                    changed |= _mask_smallest(values, mask, present, rows=None, cols=[j])


def _mask_smallest(
    values: np.ndarray,
    mask: np.ndarray,
    present: np.ndarray,
    rows: list[int] | None,
    cols: list[int] | None,
) -> bool:
    """Mask the smallest visible present cell in one row (``rows``) or column (``cols``)."""
    sel = np.zeros_like(mask)
    if rows is not None:
        sel[rows, :] = True
    else:
        sel[:, cols] = True
    candidates = sel & ~mask & present
    if not candidates.any():
        return False
    flat = np.where(candidates, values, np.inf)
    i, j = np.unravel_index(np.argmin(flat), flat.shape)
    mask[i, j] = True
    return True
