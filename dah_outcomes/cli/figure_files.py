"""Figure files the command line writes: the format from the file's suffix, a resolution
journals accept, and the same bytes for the same figure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dah_outcomes.errors import ArgumentError

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn (a fast --help)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_DPI", "PLOT_SUFFIXES", "add_dpi", "plot_format", "write_figure"]

#: Suffix of a figure file to the format it is written in.
PLOT_SUFFIXES: dict[str, str] = {
    "png": "png",
    "svg": "svg",
    "pdf": "pdf",
    "tif": "tiff",
    "tiff": "tiff",
    "eps": "eps",
}
#: Resolution of raster figures unless ``--dpi`` says; journals ask for 300 to 600 dpi.
DEFAULT_DPI = 300
_DPI_RANGE = (50, 2400)


def plot_format(path: str, option: str = "--plot") -> str:
    """The format a figure file is written in, from its suffix.

    Parameters
    ----------
    path : str
        The file named on the command line.
    option : str
        The option that named it (for the error).

    Returns
    -------
    str
        One of :data:`PLOT_SUFFIXES`' values.

    Raises
    ------
    ArgumentError
        For a suffix that is not a figure format.
    """
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in PLOT_SUFFIXES:
        names = ", ".join(f".{s}" for s in PLOT_SUFFIXES)
        raise ArgumentError(f"{option} must end in one of {names}, got {path!r}")
    return PLOT_SUFFIXES[suffix]


def _dpi(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    lo, hi = _DPI_RANGE
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"must be within {lo}-{hi}, got {value}")
    return value


def add_dpi(parser: argparse.ArgumentParser) -> None:
    """The ``--dpi`` option of a command that writes a figure."""
    parser.add_argument(
        "--dpi",
        type=_dpi,
        default=DEFAULT_DPI,
        metavar="N",
        help="resolution of a .png or .tiff figure in dots per inch (vector formats keep "
        f"theirs); default {DEFAULT_DPI}",
    )


def write_figure(figure: Axes | Figure, path: str, *, dpi: int = DEFAULT_DPI) -> Path:
    """Write a figure atomically in the format its suffix names, the same bytes every time.

    Parameters
    ----------
    figure : Axes or Figure
        The figure (or any Axes of it).
    path : str
        The file (``.png``, ``.svg``, ``.pdf``, ``.tif``/``.tiff`` or ``.eps``).
    dpi : int, default 300
        Resolution of raster output.

    Returns
    -------
    Path
        The file written.
    """
    from dah_outcomes.io.files import write_atomic
    from dah_outcomes.plotting import save_figure

    fmt = plot_format(path)
    return write_atomic(Path(path), lambda p: save_figure(figure, p, format=fmt, dpi=dpi))
