"""Every notebook runs top to bottom against the installed package."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    # run in a scratch copy so outputs never land in the repository
    work = tmp_path / path.name
    shutil.copy(path, work)
    nb = nbformat.read(work, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    # a notebook that compares treatment arms shows the immortal-time warning it carries
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if 'by="arm"' in sources or "compare_cited_figures" in sources:
        shown = [
            o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        ]
        assert any("immortal-time bias" in text for text in shown), path.name


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2
