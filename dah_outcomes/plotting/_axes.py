"""What every figure shares: a new Axes on its own Figure (no pyplot state), and saving with
the same bytes for the same figure.

A figure saved twice must give the same file (a report or a figure under version control, a
checksum in a provenance record). matplotlib would write the date (SVG, PDF, PostScript), its
version (every format's creator or software field) and, in SVG, ids salted at random; every
figure is saved through :func:`save_figure` (or :func:`to_svg`), which leaves the date and
version out and fixes the salt.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["FIGURE_FORMATS", "PALETTE", "figure_of", "new_axes", "save_figure", "to_svg"]

#: Per format, the metadata of a saved figure that would change from run to run or version to
#: version; ``None`` leaves the field out (PostScript cannot leave out its creator).
_STABLE_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    "ps": {"Creator": "dah_outcomes"},
    "eps": {"Creator": "dah_outcomes"},
}
#: Formats :func:`save_figure` writes with the same bytes for the same figure.
FIGURE_FORMATS = tuple(_STABLE_METADATA)

#: One colour per group, in group order, shared by every figure of a cohort.
PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#7f7f7f")


def new_axes(width: float = 7.0, height: float = 4.5) -> Axes:
    """A fresh Axes on a Figure not registered with pyplot (no global state).

    Parameters
    ----------
    width, height : float
        Figure size in inches.

    Returns
    -------
    Axes
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig.add_subplot()


def figure_of(ax: Axes) -> Figure:
    """The Figure an Axes is drawn on (the figures here are Figures, never SubFigures).

    Parameters
    ----------
    ax : Axes
        Any Axes of the figure.

    Returns
    -------
    Figure
        ``ax.figure``.
    """
    fig = ax.figure
    if not isinstance(fig, Figure):
        raise TypeError("the Axes is on a SubFigure, which cannot be saved on its own")
    return fig


@contextlib.contextmanager
def _fixed_date(fmt: str) -> Iterator[None]:
    """PostScript takes its creation date from ``SOURCE_DATE_EPOCH`` or the clock only."""
    if fmt not in ("ps", "eps"):
        yield
        return
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def save_figure(
    figure: Axes | Figure, target: str | Path | IO[Any], *, format: str, dpi: float = 150
) -> None:
    """Save a figure so that the same figure always gives the same bytes.

    Parameters
    ----------
    figure : Axes or Figure
        The figure (or any Axes of it).
    target : path or file object
        Where to write (callers wanting an atomic file pass the temporary path of
        :func:`~dah_outcomes.io.files.write_atomic`).
    format : {"png", "svg", "pdf", "ps", "eps"}
        File format.
    dpi : float, default 150
        Resolution of raster output.

    Returns
    -------
    None
    """
    if format not in _STABLE_METADATA:
        raise ValueError(f"format must be one of {list(FIGURE_FORMATS)}, got {format!r}")
    fig = figure_of(figure) if isinstance(figure, Axes) else figure
    with mpl.rc_context({"svg.hashsalt": "dah_outcomes"}), _fixed_date(format):
        fig.savefig(target, format=format, dpi=dpi, metadata=_STABLE_METADATA[format])


def to_svg(ax: Axes) -> str:
    """The Axes' figure as an inline ``<svg>`` element (no XML prolog, no external refs).

    Parameters
    ----------
    ax : Axes
        Any Axes of the figure.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    buf = io.StringIO()
    save_figure(ax, buf, format="svg", dpi=figure_of(ax).dpi)
    text = buf.getvalue()
    return text[text.index("<svg") :]
