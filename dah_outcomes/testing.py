"""Helpers for testing against reference values, shared by this package's tests and by
anyone checking their own results against R.

``assert_close`` is the one tolerance rule for comparing with R's printed or stored values
(``None`` in a JSON reference stands for R's ``NA``); ``expect_dropped_rows`` expects the
:class:`~dah_outcomes.errors.DroppedRowsWarning` that an estimate on data with missing
values must give, and nothing when the data are complete.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dah_outcomes.errors import DroppedRowsWarning

__all__ = ["assert_close", "expect_dropped_rows"]


def assert_close(ours: Any, theirs: Any, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Assert two arrays of numbers agree elementwise within ``rtol`` and ``atol``.

    Parameters
    ----------
    ours, theirs : array_like
        Values to compare (any shape; flattened). ``None`` in either stands for a missing
        value and must meet a missing value on the other side.
    rtol, atol : float
        Relative and absolute tolerances (``numpy.testing.assert_allclose``).

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        Listing the mismatches.
    """

    def as_float(values: Any) -> np.ndarray:
        flat = np.ravel(np.asarray(values, dtype=object))
        return np.array([np.nan if v is None else v for v in flat], dtype=float)

    np.testing.assert_allclose(as_float(ours), as_float(theirs), rtol=rtol, atol=atol)


@contextlib.contextmanager
def expect_dropped_rows(data: pd.DataFrame, columns: Sequence[str]) -> Iterator[None]:
    """Expect a :class:`DroppedRowsWarning` when ``data`` has a missing value in ``columns``.

    Parameters
    ----------
    data : DataFrame
        The data an estimate is computed on.
    columns : sequence of str
        The columns the estimate uses.

    Yields
    ------
    None
        Inside the block, run the estimate.

    Raises
    ------
    AssertionError
        When rows with missing values give no warning (checked by ``pytest.warns``).
    """
    import pytest

    n_missing = int(data[list(columns)].isna().any(axis=1).sum())
    if n_missing:
        with pytest.warns(DroppedRowsWarning, match=f"{n_missing} of {len(data)} rows dropped"):
            yield
    else:
        yield
