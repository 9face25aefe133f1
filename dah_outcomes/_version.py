"""The package version, written once: in ``pyproject.toml``, read here from the installed
distribution's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dah_outcomes")
except PackageNotFoundError:  # pragma: no cover - running from a source tree never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
