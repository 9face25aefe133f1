"""``dah.show_versions()``: what a bug report needs, as pandas and scikit-learn print it."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

from dah_outcomes._version import __version__

__all__ = ["show_versions"]

#: the packages whose versions decide a number or a figure, core first, then the extras
_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "lifelines",
    "pyarrow",
    "duckdb",
    "jinja2",
    "pyyaml",
    "openpyxl",
    "pyreadstat",
    "pyspark",
    "jupyterlab",
    "scikit-survival",
)


def show_versions(as_dict: bool = False) -> dict[str, str | None] | None:
    """Print (or return) the versions of Python, the platform and the packages used.

    Parameters
    ----------
    as_dict : bool, default False
        Return the versions instead of printing them.

    Returns
    -------
    dict or None
        ``{name: version}`` (None for a package not installed) when ``as_dict``.
    """
    info: dict[str, str | None] = {
        "dah_outcomes": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    for name in _PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    if as_dict:
        return info
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}} : {value if value is not None else 'not installed'}")
    return None
