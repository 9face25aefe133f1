"""The ``dah-outcomes`` command line: one parser module per command family."""

from dah_outcomes.cli.main import main

__all__ = ["main"]
