"""The shared behaviour of result objects.

Results are frozen, slotted dataclasses. Each defines ``to_frame()`` (a tidy DataFrame, a
fresh copy) and inherits from :class:`ResultMixin` the JSON-safe ``to_dict()``, a plain-text
``__str__`` and an escaped HTML view for notebooks, all built from ``to_frame()`` or the
declared fields, so the three views can never disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ResultMixin", "json_safe"]


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

    def _title(self) -> str:
        return type(self).__name__

    def __str__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return f"{self._title()}\n{self.to_frame().to_string(index=False)}"

    def _repr_html_(self) -> str:
        # to_html escapes cell values; the title is escaped here.
        table = self.to_frame().to_html(index=False, escape=True, float_format=_fmt, border=0)
        return f"<div><strong>{html.escape(self._title())}</strong>{table}</div>"


def _fmt(x: float) -> str:
    return f"{x:.4g}"
