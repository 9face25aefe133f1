"""How the commands print: JSON for ``--json``."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["print_json"]


def print_json(obj: Any) -> None:
    """Print ``obj`` (JSON-safe already) as indented JSON on stdout."""
    print(json.dumps(obj, indent=2, sort_keys=False))
