"""The pieces a report page is made of (sections, tables, figures) and the formatting they
share; the template renders them, escaping every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup

from dah_outcomes.results import format_p_value

__all__ = [
    "SUPPRESSED",
    "Figure",
    "Section",
    "Table",
    "fmt_count",
    "fmt_pct",
    "masked_count",
    "p_text",
]

SUPPRESSED = "<{n}"


@dataclass
class Table:
    """A table: caption, column headings, rows of cells and a note under it."""

    caption: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class Figure:
    """An inline SVG figure with its caption and its text alternative.

    ``axes`` keeps the drawing the SVG was made from, so the page's figures can also be
    written as files (:func:`~dah_outcomes.report.page.write_report`); ``number`` is its
    place on the page, set when the page is assembled.
    """

    svg: Markup
    caption: str
    alt: str
    axes: Any = field(default=None, repr=False)
    number: int = 0

    @classmethod
    def of(cls, ax: Any, caption: str, alt: str) -> Figure:
        """The figure of ``ax`` as inline SVG, keeping ``ax`` for the figure files."""
        from dah_outcomes.plotting import to_svg

        return cls(Markup(to_svg(ax)), caption, alt, axes=ax)


@dataclass
class Section:
    """One section of the page; ``warnings`` are shown at its top."""

    id: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fmt_pct(x: float) -> str:
    """A proportion as a percent with one decimal ("–" when not finite)."""
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def fmt_count(x: float) -> str:
    """A count with thousands separators; a mean count over imputations (not whole) with one
    decimal, so a pooled table does not pass an average off as a count."""
    v = float(x)
    if not np.isfinite(v):
        return "–"
    return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"


def masked_count(count: int, min_cell: int | None) -> str:
    """A count, or ``<min_cell`` when it is small enough to be suppressed."""
    return SUPPRESSED.format(n=min_cell) if min_cell and 0 < count < min_cell else f"{count:,}"


def p_text(p: float) -> str:
    """A p-value after "p" in a sentence: ``"= 0.012"``, ``"< 0.001"`` (never ``"= 0"`` or
    scientific notation), ``"not available"`` when missing."""
    text = format_p_value(p)
    if text == "NA":
        return "not available"
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"
