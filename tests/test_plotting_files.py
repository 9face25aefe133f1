"""Figure files journals take: TIFF in RGB at the asked resolution, LZW-compressed, and the
same bytes for the same figure, like every other format save_figure writes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import dah_outcomes as dah
from dah_outcomes import plotting
from dah_outcomes.plotting import new_axes, save_figure
from dah_outcomes.plotting._axes import FIGURE_FORMATS


def _figure():
    ax = new_axes(3.0, 2.0)
    ax.plot([0, 1, 2], [0, 1, 0.5], label="a")
    ax.legend()
    return ax


def _saved(fmt: str, dpi: float) -> bytes:
    buf = io.BytesIO()
    save_figure(_figure(), buf, format=fmt, dpi=dpi)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["tiff", "tif"])
def test_tiff_is_rgb_at_the_asked_resolution(fmt: str) -> None:
    data = _saved(fmt, 600)
    assert data[:4] in (b"II*\x00", b"MM\x00*")
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "RGB"  # no alpha channel, which journals' checks reject
        assert im.size == (1800, 1200)  # 3 x 2 inches at 600 dpi
        assert im.info["dpi"] == pytest.approx((600, 600))
        assert im.info["compression"] == "tiff_lzw"
        # the figure's white background stays white, not black where alpha was
        assert im.getpixel((2, 2)) == (255, 255, 255)
    assert _saved(fmt, 600) == data
    assert _saved(fmt, 300) != data


def test_every_format_is_listed_and_unknown_ones_refused() -> None:
    assert {"png", "svg", "pdf", "eps", "tiff"} <= set(FIGURE_FORMATS)
    with pytest.raises(ValueError, match="format must be one of"):
        save_figure(_figure(), io.BytesIO(), format="gif")


def test_the_plots_are_exported_at_the_top_level() -> None:
    for name in ("plot_km", "plot_cif", "plot_forest", "save_figure", "group_colors"):
        assert name in dah.__all__
    assert dah.plot_km is plotting.plot_km
    assert dah.plot_cif is plotting.plot_cif
    assert dah.plot_forest is plotting.plot_forest
    assert dah.save_figure is save_figure
