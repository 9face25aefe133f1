"""The shared behaviour of result objects.

Results are frozen, slotted dataclasses. Each defines ``to_frame()`` (a tidy DataFrame, a
fresh copy) and inherits from :class:`ResultMixin` the JSON-safe ``to_dict()``, a plain-text
``__str__`` and an escaped HTML view for notebooks, all built from ``to_frame()`` or the
declared fields, so the three views can never disagree.

The text and notebook views show ``summary_frame()``: the full table unless a result has a
shorter one to print, as R's ``print`` methods do (a Kaplan-Meier fit prints n, events and
the median per group, not every step), with numbers formatted for reading (thousands
separators, whole numbers without ``.0``, p-values as ``<0.001``); ``to_frame()`` keeps
every row and the unrounded numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ResultMixin", "format_frame", "format_p_value", "json_safe"]


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-safe Python objects.

    NaN and infinities become ``None`` (JSON has no NaN); dates become ISO strings.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | _dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


class ResultMixin:
    """``to_dict``, ``__str__`` and ``_repr_html_`` for frozen result dataclasses.

    Subclasses are dataclasses (frozen, slotted, keyword-only) that implement ``to_frame()``.
    Their array fields are made read-only when the result is built, so "frozen" holds for
    the numbers too, not only for the attribute bindings.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-safe Python objects (used by the CLI's ``--json``)."""
        return {
            f.name: json_safe(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.repr
        }

    def summary_frame(self) -> pd.DataFrame:
        """The table the text and notebook views show: ``to_frame()`` unless the result has
        a shorter summary to print (as R's ``print`` methods do).

        Returns
        -------
        DataFrame
        """
        return self.to_frame()

    def _title(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        table = format_frame(self.summary_frame())
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return f"{self._title()}\n{table.to_string(index=False)}"

    def _repr_html_(self) -> str:
        # to_html escapes cell values; the title is escaped here.
        table = format_frame(self.summary_frame()).to_html(index=False, escape=True, border=0)
        return f"<div><strong>{html.escape(self._title())}</strong>{table}</div>"


#: columns that hold p-values, shown as "<0.001" rather than "6.53e-125" or "0"
_P_COLUMNS = frozenset({"p", "p_value", "p_values", "pvalue"})


def format_p_value(p: float, digits: int = 3) -> str:
    """A p-value as a paper prints it: ``"<0.001"`` below 10^-digits, never ``0`` or
    scientific notation; ``"NA"`` when it is missing.

    Parameters
    ----------
    p : float
        The p-value.
    digits : int, default 3
        Decimals shown.

    Returns
    -------
    str
    """
    try:
        v = float(p)
    except (TypeError, ValueError):  # None, pd.NA
        return "NA"
    if not math.isfinite(v):
        return "NA"
    floor = 10.0**-digits
    if v < floor:
        return f"<{floor:.{digits}f}"
    return f"{v:.{digits}f}"


def _format_number(x: Any) -> str:
    if x is None or x is pd.NA or x is pd.NaT:
        return "NA"
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    v = float(x)
    if math.isnan(v):
        return "NA"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) >= 0.001 else f"{v:.2e}"


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its numbers as text for reading: counts with thousands
    separators (``2,069``, not ``2069.0``), other numbers to 3 significant digits (1 decimal
    from 10, none from 1,000), p-value columns by :func:`format_p_value`, missing as ``NA``.

    Parameters
    ----------
    frame : DataFrame
        A result table.

    Returns
    -------
    DataFrame
        The same rows and columns, numeric columns as strings; other columns unchanged.
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            continue
        if str(col).lower() in _P_COLUMNS:
            out[col] = [format_p_value(v) for v in values]
        else:
            out[col] = [_format_number(v) for v in values]
    return out
