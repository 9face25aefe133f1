"""The committed reference pages match their sources in the code."""

from __future__ import annotations

from pathlib import Path

from tools.docs_build import cohort_schema_page

DOCS = Path(__file__).parents[1] / "docs"


def test_cohort_schema_page_is_up_to_date() -> None:
    committed = (DOCS / "cohort_schema.md").read_text(encoding="utf-8")
    assert committed == cohort_schema_page(), (
        "docs/cohort_schema.md is stale: run `python -m tools.docs_build docs`"
    )
