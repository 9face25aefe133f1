"""Every exported function has a numpydoc docstring whose Parameters and Returns sections
match its signature (numpydoc's own validator)."""

from __future__ import annotations

import importlib
import inspect

import pytest
from numpydoc import validate as numpydoc_validate

#: the namespaces that export the public API
NAMESPACES = (
    "dah_outcomes",
    "dah_outcomes.analyses",
    "dah_outcomes.endpoints",
    "dah_outcomes.io",
    "dah_outcomes.plotting",
    "dah_outcomes.report",
    "dah_outcomes.reproduce",
    "dah_outcomes.stats",
    "dah_outcomes.testing",
)
#: no docstring; a parameter undocumented or unknown; no Returns section; no summary line
CHECKS = {"GL08", "PR01", "PR02", "RT01", "SS01"}


def _exported_functions() -> list[str]:
    names = set()
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(names)


FUNCTIONS = _exported_functions()


def test_the_public_api_is_found() -> None:
    assert len(FUNCTIONS) > 50
    assert "dah_outcomes.stats.nonparametric.kaplan_meier" in FUNCTIONS


@pytest.mark.parametrize("qualname", FUNCTIONS)
def test_exported_function_has_numpydoc_sections(qualname: str) -> None:
    errors = [
        f"{code}: {message}"
        for code, message in numpydoc_validate.validate(qualname)["errors"]
        if code in CHECKS
    ]
    assert not errors, f"{qualname}:\n" + "\n".join(errors)
