"""What every figure shares: a new Axes on its own Figure (no pyplot state) that shows itself in
a notebook, and saving with the same bytes for the same figure.

A Figure made outside pyplot has no figure manager, so Jupyter's inline backend never shows it
(a cell would print ``<Figure size 750x530 with 2 Axes>``). The figures here are
:class:`NotebookFigure` and their Axes :class:`NotebookAxes`: both have ``_repr_png_``, so the
Figure or any Axes of it, as a cell's last expression or passed to ``display``, shows the whole
figure as a PNG in JupyterLab, the classic notebook, nbconvert and nbclient, with no global
state changed (no pyplot, no backend switch, no formatter registered).

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

from dah_outcomes.plotting.colors import PALETTE

__all__ = [
    "FIGURE_FORMATS",
    "PALETTE",
    "NotebookAxes",
    "NotebookFigure",
    "figure_of",
    "figure_png",
    "new_axes",
    "new_figure",
    "save_figure",
    "to_svg",
]

#: Per format, the metadata of a saved figure that would change from run to run or version to
#: version; ``None`` leaves the field out (PostScript cannot leave out its creator).
_STABLE_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    "ps": {"Creator": "dah_outcomes"},
    "eps": {"Creator": "dah_outcomes"},
}
#: Raster formats written from the PNG (matplotlib would write TIFF with an alpha channel,
#: which journals' checks reject): Pillow's format name and its options. LZW compression is
#: lossless and what journals accept; Pillow writes no date into the file.
_FROM_PNG: dict[str, tuple[str, dict[str, Any]]] = {
    "tiff": ("TIFF", {"compression": "tiff_lzw"}),
    "tif": ("TIFF", {"compression": "tiff_lzw"}),
}
#: Formats :func:`save_figure` writes with the same bytes for the same figure.
FIGURE_FORMATS = (*_STABLE_METADATA, *_FROM_PNG)

#: Resolution of the PNG a notebook shows; it is displayed at 96 pixels per inch, a little
#: sharper than the screen on a high-density display while keeping stored notebooks small.
_NOTEBOOK_DPI = 120
_SCREEN_DPI = 96


def figure_png(figure: Axes | Figure) -> tuple[bytes, dict[str, int]]:
    """The figure as a notebook shows it: PNG bytes and their display size.

    The bytes are the same for the same figure (no date or version in them), and the whole
    figure is kept, axes drawn outside the plot area (a risk table under a user's Axes)
    included.

    Parameters
    ----------
    figure : Axes or Figure
        The figure (or any Axes of it).

    Returns
    -------
    tuple of bytes and dict
        The PNG and ``{"width": ..., "height": ...}`` in CSS pixels (IPython's metadata).
    """
    buf = io.BytesIO()
    save_figure(figure, buf, format="png", dpi=_NOTEBOOK_DPI, bbox_inches="tight")
    data = buf.getvalue()
    # the IHDR chunk of a PNG starts with its width and height (big-endian, bytes 16-24)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    scale = _SCREEN_DPI / _NOTEBOOK_DPI
    return data, {"width": round(width * scale), "height": round(height * scale)}


def _describe(fig: Figure) -> str:
    """A figure's plain-text stand-in where images cannot show (a terminal, text/plain)."""
    w, h = fig.get_size_inches()
    first = fig.axes[0] if fig.axes else None
    title = first.get_title() or first.get_title(loc="left") if first is not None else ""
    return f"[figure {w:.1f} x {h:.1f} in{': ' + title if title else ''}]"


class NotebookFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in a notebook (``_repr_png_``).

    Everything else is matplotlib's Figure: ``savefig``, ``add_subplot`` and the rest behave
    the same, and no pyplot state is involved.
    """

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        return figure_png(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(_describe(self))


class NotebookAxes(Axes):
    """A matplotlib Axes whose notebook display is its whole figure (``_repr_png_``), so that
    ``plot_km(km)`` as a cell's last expression shows the plot, not ``<Axes: ...>``."""

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        return figure_png(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(_describe(figure_of(self)))


def new_figure(width: float = 7.0, height: float = 4.5) -> NotebookFigure:
    """A fresh Figure not registered with pyplot that shows itself in a notebook.

    Add its Axes with ``fig.add_subplot(..., axes_class=NotebookAxes)`` for them to show the
    figure too.

    Parameters
    ----------
    width, height : float
        Figure size in inches.

    Returns
    -------
    NotebookFigure
        With constrained layout.
    """
    return NotebookFigure(figsize=(width, height), layout="constrained")


def new_axes(width: float = 7.0, height: float = 4.5) -> Axes:
    """A fresh Axes on a Figure not registered with pyplot (no global state), which shows its
    figure in a notebook.

    Parameters
    ----------
    width, height : float
        Figure size in inches.

    Returns
    -------
    Axes
        A :class:`NotebookAxes` on a :class:`NotebookFigure`.
    """
    return new_figure(width, height).add_subplot(axes_class=NotebookAxes)


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
    figure: Axes | Figure,
    target: str | Path | IO[Any],
    *,
    format: str,
    dpi: float = 150,
    bbox_inches: str | None = None,
) -> None:
    """Save a figure so that the same figure always gives the same bytes.

    Parameters
    ----------
    figure : Axes or Figure
        The figure (or any Axes of it).
    target : path or file object
        Where to write (callers wanting an atomic file pass the temporary path of
        :func:`~dah_outcomes.io.files.write_atomic`).
    format : {"png", "svg", "pdf", "ps", "eps", "tiff", "tif"}
        File format. TIFF is RGB (no alpha channel), LZW-compressed, with ``dpi`` recorded
        as its resolution, as journals ask for.
    dpi : float, default 150
        Resolution of raster output.
    bbox_inches : {None, "tight"}, default None
        ``"tight"`` crops (or widens) the page to what is drawn, axes outside the figure's
        frame included.

    Returns
    -------
    None
    """
    if format not in FIGURE_FORMATS:
        raise ValueError(f"format must be one of {list(FIGURE_FORMATS)}, got {format!r}")
    fig = figure_of(figure) if isinstance(figure, Axes) else figure
    if format in _FROM_PNG:
        from PIL import Image  # matplotlib's own dependency, so always there

        buf = io.BytesIO()
        save_figure(fig, buf, format="png", dpi=dpi, bbox_inches=bbox_inches)
        name, options = _FROM_PNG[format]
        with Image.open(io.BytesIO(buf.getvalue())) as png:
            # flattened on white: the figure's background is white already
            rgb = Image.new("RGB", png.size, "white")
            rgb.paste(png, mask=png.getchannel("A") if png.mode == "RGBA" else None)
        rgb.save(target, format=name, dpi=(dpi, dpi), **options)
        return
    if isinstance(target, str | os.PathLike):
        # PostScript would name the file it is written to in its title (a temporary file's
        # random name, under write_atomic): rendered in memory, the bytes follow the figure only
        buf = io.BytesIO()
        save_figure(fig, buf, format=format, dpi=dpi, bbox_inches=bbox_inches)
        Path(target).write_bytes(buf.getvalue())
        return
    with mpl.rc_context({"svg.hashsalt": "dah_outcomes"}), _fixed_date(format):
        fig.savefig(
            target,
            format=format,
            dpi=dpi,
            metadata=_STABLE_METADATA[format],
            bbox_inches=bbox_inches,
        )


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
