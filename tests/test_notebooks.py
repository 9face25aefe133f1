"""Every notebook runs top to bottom against the installed package in the ``dah-outcomes``
kernel, shows every figure as an image, and gives the outputs it is committed with.

The notebooks are committed executed; a run here is compared with what is stored after
sanitising what differs between machines (``tools.execute_notebooks.sanitize``). When a change
to the package changes a notebook's output on purpose, store it afresh with the command each
failure names (``.venv/bin/python -m tools.execute_notebooks notebooks/NAME.ipynb``; every
notebook: ``make notebooks``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from tools.execute_notebooks import (
    KERNEL,
    NOTEBOOKS,
    compare_outputs,
    drift_message,
    execute,
    figure_cells_without_image,
    main,
    outputs_summary,
    refresh_command,
    sanitize,
    stabilize,
)

PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _code(source: str, outputs: list[dict] | None = None, count: int | None = 1) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs or []]
    cell.execution_count = count
    return cell


# One test per notebook, so that each is executed once: --dist loadgroup cannot be relied on to
# keep two tests of a notebook in one worker (with pytest 9.2 it silently stops grouping,
# pytest-xdist issue 1386), and a notebook run is most of the suite's time.
@pytest.mark.notebook
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_runs_shows_every_figure_and_gives_its_stored_outputs(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)
    assert stored.metadata.get("kernelspec", {}).get("name") == KERNEL["name"], (
        f"{path.name} does not declare the {KERNEL['name']!r} kernel; run {refresh_command(path)}"
    )
    # the stored outputs show their figures too (what a reader browsing the repository sees)
    missing = figure_cells_without_image(stored)
    assert not missing, f"{path.name}: run {refresh_command(path)}\n" + "\n".join(missing)
    nb = execute(path, kernel=KERNEL["name"])
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, errors
    missing = figure_cells_without_image(nb)
    assert not missing, "\n".join(missing)
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
    problems = compare_outputs(stored, nb)
    assert not problems, drift_message(path, problems)


def test_there_are_notebooks() -> None:
    assert len(PATHS) >= 2


def test_a_figure_cell_without_an_image_is_found() -> None:
    nb = nbformat.v4.new_notebook()
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "[figure 7.5 x 5.3 in]"}
    nb.cells = [
        _code(
            "ax = plot_km(km)\nax",
            [{"output_type": "execute_result", "data": png, "metadata": {}, "execution_count": 1}],
        ),
        _code("ax = plot_cif(cif)"),
        _code(
            "fig",
            [
                {
                    "output_type": "execute_result",
                    "metadata": {},
                    "execution_count": 3,
                    "data": {"text/plain": "<Figure size 750x530 with 2 Axes>"},
                }
            ],
        ),
        _code(
            "ax",
            [
                {
                    "output_type": "execute_result",
                    "metadata": {},
                    "execution_count": 4,
                    "data": {"text/plain": "<Axes: xlabel='Days'>"},
                }
            ],
        ),
        _code("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]),
    ]
    problems = figure_cells_without_image(nb)
    assert [p.split(" (")[0] for p in problems] == ["code cell 2", "code cell 3", "code cell 4"]
    assert "draws a figure but shows no image" in problems[0]
    assert "prints a figure as text" in problems[1]


def test_sanitize_removes_what_differs_between_machines() -> None:
    a = (
        "/tmp/ipykernel_4242/3141.py:5: ImmortalTimeWarning: x\n"
        "<Cohort at 0x7f3a2b1c9d00> written to /tmp/tmpab12cd/report.html in 1.25 s\n"
        "dah_outcomes 0.4.1.dev12+g1e9dc74, Python 3.11.7"
    )
    b = (
        "/var/folders/xy/T/ipykernel_7/99.py:12: ImmortalTimeWarning: x\n"
        "<Cohort at 0x55d0c0ffee00> written to /tmp/pytest-1/report.html in 0.8 s\n"
        "dah_outcomes 0.5.0, Python 3.12.1"
    )
    assert sanitize(a) == sanitize(b)
    # the numbers a notebook shows are kept
    assert sanitize("mortality 12.3% (95% CI 10.1% to 14.6%), n = 1,736") == (
        "mortality 12.3% (95% CI 10.1% to 14.6%), n = 1,736"
    )


def test_drift_is_found_and_names_the_refresh_command() -> None:
    stored = nbformat.v4.new_notebook()
    fresh = nbformat.v4.new_notebook()
    out = {"output_type": "stream", "name": "stdout"}
    stored.cells = [_code("print(x)", [{**out, "text": "12.1%\n"}]), _code("y", count=None)]
    fresh.cells = [_code("print(x)", [{**out, "text": "12.0%\n"}]), _code("y")]
    problems = compare_outputs(stored, fresh)
    assert len(problems) == 2
    assert "code cell 1" in problems[0]
    assert "stdout differs" in problems[0]
    assert "never executed" in problems[1]
    # a stream split differently by the kernel is the same output
    split = nbformat.v4.new_notebook()
    split.cells = [_code("print(x)", [{**out, "text": "12."}, {**out, "text": "1%\n"}])]
    assert outputs_summary(split.cells[0]) == outputs_summary(stored.cells[0])
    assert "tools.execute_notebooks notebooks/01_quickstart.ipynb" in refresh_command(
        NOTEBOOKS / "01_quickstart.ipynb"
    )


def test_stabilize_keeps_what_the_notebook_shows_and_drops_what_the_run_adds(
    tmp_path: Path,
) -> None:
    root = str(NOTEBOOKS.parent)
    nb = nbformat.v4.new_notebook()
    err = {"output_type": "stream", "name": "stderr"}
    out = {"output_type": "stream", "name": "stdout"}
    link = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {
            "text/plain": f"{tmp_path}/output/report.html",
            "text/html": "<IFrame at 0x7f3a2b1c9d00>",
        },
    }
    nb.cells = [
        _code(
            "x",
            [
                {**err, "text": "/tmp/ipykernel_4242/3141.py:5: ImmortalTimeWarning: x\n"},
                {**out, "text": "12."},
                {**err, "text": f"{root}/dah_outcomes/stats/cox.py:9: RuntimeWarning: y\n"},
                {**out, "text": "1%\n"},
                link,
                {**out, "text": "# Source: /tmp/tmpa_mm_ds_/registro.csv\n"},
            ],
        )
    ]
    stabilize(nb, tmp_path)
    outputs = nb.cells[0].outputs
    # one stdout then one stderr between two other outputs, whatever order they came in
    assert [(o.output_type, o.get("name")) for o in outputs] == [
        ("stream", "stdout"),
        ("stream", "stderr"),
        ("execute_result", None),
        ("stream", "stdout"),
    ]
    assert outputs[0].text == "12.1%\n"
    assert outputs[1].text == (
        "ipykernel/3141.py:5: ImmortalTimeWarning: x\n"
        "dah_outcomes/stats/cox.py:9: RuntimeWarning: y\n"
    )
    assert outputs[2].data == {
        "text/plain": "output/report.html",
        "text/html": "<IFrame at 0x0>",
    }
    assert outputs[3].text == "# Source: /tmp/tmpXXXXXXXX/registro.csv\n"
    # stable: a second pass changes nothing
    again = copy.deepcopy(nb)
    stabilize(again, tmp_path)
    assert again == nb


def test_a_tampered_copy_of_a_stored_notebook_is_found(tmp_path: Path) -> None:
    path = NOTEBOOKS / "07_treatment_strategies.ipynb"
    stored = nbformat.read(path, as_version=4)
    assert compare_outputs(stored, stored) == []
    tampered = copy.deepcopy(stored)
    code = [c for c in tampered.cells if c.cell_type == "code"]
    # the first printed line of the notebook, with one digit changed
    first = next(i for i, c in enumerate(code) if any(o.get("name") == "stdout" for o in c.outputs))
    stream = next(o for o in code[first].outputs if o.get("name") == "stdout")
    digit = next(ch for ch in stream.text if ch.isdigit())
    stream.text = stream.text.replace(digit, str((int(digit) + 1) % 10), 1)
    copy_path = tmp_path / path.name
    nbformat.write(tampered, copy_path)
    problems = compare_outputs(nbformat.read(copy_path, as_version=4), stored)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"code cell {first + 1} ")
    assert "stdout differs" in problems[0]
    message = drift_message(copy_path, problems)
    assert f"-m tools.execute_notebooks {copy_path}" in message
    assert problems[0] in message


@pytest.mark.notebook
def test_check_fails_on_drift_and_on_a_figure_without_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a two-cell notebook stored with a wrong output and a figure that shows nothing, checked
    # end to end as `python -m tools.execute_notebooks --check` would
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNEL)})
    nb.cells = [
        _code("print(1 + 1)", [{"output_type": "stream", "name": "stdout", "text": "3\n"}]),
        _code("from matplotlib.figure import Figure\n\nax = Figure().subplots()\nax.plot([0, 1]);"),
    ]
    path = tmp_path / "tampered.ipynb"
    nbformat.write(nb, path)
    assert main(["--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "code cell 2 ('from matplotlib.figure import Figure') draws a figure" in err
    assert "code cell 1 ('print(1 + 1)'): stdout differs" in err
    assert f".venv/bin/python -m tools.execute_notebooks {path}" in err
    # --check writes nothing
    assert nbformat.read(path, as_version=4) == nb


@pytest.mark.notebook
def test_a_notebook_that_raises_is_named_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    for path, source in ((good, "print(2)"), (bad, "1 / 0")):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNEL)})
        nb.cells = [nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, path)
    assert main(["--jobs", "2", str(bad), str(good)]) == 1
    err = capsys.readouterr().err
    assert "bad.ipynb: does not run: CellExecutionError" in err
    assert "ZeroDivisionError" in err
    # the good one ran and was written back with its output; the bad one was left as it was
    assert nbformat.read(good, as_version=4).cells[0].outputs[0]["text"] == "2\n"
    assert nbformat.read(bad, as_version=4).cells[0].outputs == []
