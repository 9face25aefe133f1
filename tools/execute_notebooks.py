"""Execute the notebooks in place, so that they are committed with their outputs, and the rules
by which a fresh run is compared with what is stored.

``python -m tools.execute_notebooks notebooks/01_quickstart.ipynb ...`` (no argument: every
notebook in ``notebooks/``) runs each notebook top to bottom in the ``dah-outcomes`` kernel
(``make venv`` registers it) and writes it back with its outputs. The run is made to give the
same file each time: cells get ids from their position where they have none, no execution
timings are recorded, the notebook's metadata is reduced to the kernelspec and the language
name (no Python version), and the kernel runs with a fixed hash seed.

``tests/test_notebooks.py`` re-executes each notebook and compares its text outputs with the
stored ones after :func:`sanitize` (the rule scikit-survival applies with nbval's
``--sanitize-with``: memory addresses, plus here the file paths, temporary folders, timings and
version strings that differ between machines), and checks that every figure cell stored and
produced an image (:func:`figure_cells_without_image`). ``--check`` does the same from the
command line without writing anything, and ``--kernelspec-only`` only declares the kernel in
each notebook's metadata (nothing else in the file changes).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

__all__ = [
    "KERNEL",
    "NOTEBOOKS",
    "compare_outputs",
    "execute",
    "figure_cells_without_image",
    "main",
    "outputs_summary",
    "refresh_command",
    "sanitize",
]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: The kernel every notebook declares and runs in (``make venv`` registers it).
KERNEL = {
    "name": "dah-outcomes",
    "display_name": "Python (dah-outcomes)",
    "language": "python",
}

#: Text that differs from run to run or machine to machine, and what it is replaced by before
#: stored and fresh outputs are compared (order matters: paths before versions).
SANITIZE: tuple[tuple[re.Pattern[str], str], ...] = (
    # nbval's rule as scikit-survival configures it (ci/nb_sanitize.cfg)
    (re.compile(r"at 0x[0-9a-fA-F]+"), "at MEMORY-LOCATION"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "MEMORY-LOCATION"),
    # the file and line a warning was issued from (the kernel's cell files, site-packages)
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.+~-]+)+\.py:\d+"), "FILE:LINE"),
    # temporary folders (tempfile.mkdtemp, pytest's tmp_path)
    (re.compile(r"(?:[A-Za-z]:)?[\\/](?:tmp|var[\\/]folders|private)[\\/][^\s'\"<>)]*"), "TMPDIR"),
    # timings
    (re.compile(r"(?:Wall time|CPU times): [^\n]*"), "TIMING"),
    (
        re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|seconds|it/s|s/it)\b(?=[\]\s,.)]|$)"),
        "T",
    ),
    # versions of this package and of Python (a release, a dev build with its git hash)
    (re.compile(r"\b\d+\.\d+\.\d+(?:[.+-][0-9A-Za-z]+)*(?:\.dev\d+)?(?:\+[0-9A-Za-z.]+)?"), "V"),
)

#: A code cell that draws: it calls one of the plotting functions, makes a Figure or an Axes,
#: or ends by showing one.
_DRAWS = re.compile(
    r"\bplot_\w+\(|\bnew_axes\(|\bnew_figure\(|\bFigure\(|\.(?:add_)?subplots?\(|\.figure\s*\)?\s*$"
    r"|display\(\s*(?:fig|ax)\b",
    re.MULTILINE,
)
#: Text a figure prints where it was not shown as an image.
_FIGURE_TEXT = re.compile(r"<Figure size|<\w*Axes:|<matplotlib\.|\[figure \d")


def sanitize(text: str) -> str:
    """Text with what differs between runs and machines replaced by placeholders.

    Parameters
    ----------
    text : str
        An output's text.

    Returns
    -------
    str
        The text, sanitised (see :data:`SANITIZE`), trailing spaces removed.
    """
    for pattern, placeholder in SANITIZE:
        text = pattern.sub(placeholder, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _text(output: Any) -> str:
    """The plain text of an output (a stream's text, a result's ``text/plain``, an error)."""
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    return "".join(output.get("data", {}).get("text/plain", ""))


def _images(output: Any) -> list[str]:
    return sorted(k for k in output.get("data", {}) if k.startswith("image/"))


def outputs_summary(cell: Any) -> dict[str, Any]:
    """What of a code cell's outputs must not drift: stdout and stderr (each joined, however
    the kernel split them), each result's sanitised text, HTML and the image types it shows.

    Parameters
    ----------
    cell : NotebookNode
        A code cell.

    Returns
    -------
    dict
        ``stdout``, ``stderr`` (sanitised text) and ``results`` (a list of dicts with
        ``type``, ``text``, ``html`` and ``images``).
    """
    streams = {"stdout": "", "stderr": ""}
    results = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            streams[out.get("name", "stdout")] += _text(out)
        else:
            html = "".join(out.get("data", {}).get("text/html", ""))
            results.append(
                {
                    "type": out.get("output_type"),
                    "text": sanitize(_text(out)),
                    "html": sanitize(html),
                    "images": _images(out),
                }
            )
    return {
        "stdout": sanitize(streams["stdout"]),
        "stderr": sanitize(streams["stderr"]),
        "results": results,
    }


def refresh_command(path: Path) -> str:
    """The command that stores a notebook's outputs afresh."""
    try:
        shown = path.resolve().relative_to(ROOT)
    except ValueError:
        shown = path
    return f".venv/bin/python -m tools.execute_notebooks {shown}"


def compare_outputs(stored: Any, fresh: Any) -> list[str]:
    """Where a fresh run's outputs differ from the stored ones, cell by cell.

    Parameters
    ----------
    stored, fresh : NotebookNode
        The notebook as committed, and as just executed.

    Returns
    -------
    list of str
        One line per differing (or never executed) code cell; empty when they agree.
    """
    problems = []
    stored_cells = [c for c in stored.cells if c.cell_type == "code"]
    fresh_cells = [c for c in fresh.cells if c.cell_type == "code"]
    if len(stored_cells) != len(fresh_cells):
        return [f"{len(stored_cells)} code cells stored, {len(fresh_cells)} executed"]
    for i, (old, new) in enumerate(zip(stored_cells, fresh_cells, strict=True), start=1):
        if old.source.strip() and old.get("execution_count") is None:
            problems.append(f"code cell {i} has no stored outputs (never executed)")
            continue
        a, b = outputs_summary(old), outputs_summary(new)
        for key in ("stdout", "stderr", "results"):
            if a[key] != b[key]:
                problems.append(
                    f"code cell {i} ({old.source.strip().splitlines()[0][:60]!r}): {key} "
                    f"differs\n  stored: {str(a[key])[:300]}\n  fresh:  {str(b[key])[:300]}"
                )
    return problems


def figure_cells_without_image(nb: Any) -> list[str]:
    """The figure cells of a notebook that show no image, and figures printed as text.

    A figure cell is a code cell that draws (calls a ``plot_*`` function, makes a Figure or
    Axes, or ends with ``ax.figure``) or whose output prints a figure's text
    (``<Figure size ...>``, ``<Axes: ...>``); each must have an ``image/png`` or
    ``image/svg+xml`` output. No output of any cell may print a figure's text.

    Parameters
    ----------
    nb : NotebookNode
        An executed notebook.

    Returns
    -------
    list of str
        One line per offending cell; empty when every figure shows.
    """
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code, start=1):
        outputs = cell.get("outputs", [])
        images = [k for o in outputs for k in _images(o) if k in ("image/png", "image/svg+xml")]
        # a figure's text beside its image is the text/plain alternative, not a failure
        printed = [_text(o) for o in outputs if _FIGURE_TEXT.search(_text(o)) and not _images(o)]
        first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        if printed:
            problems.append(f"code cell {i} ({first!r}) prints a figure as text: {printed[0]!r}")
        elif _DRAWS.search(cell.source) and not images:
            problems.append(f"code cell {i} ({first!r}) draws a figure but shows no image")
    return problems


def _kernel_name(requested: str) -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    if requested not in KernelSpecManager().find_kernel_specs():
        raise SystemExit(
            f"kernel {requested!r} is not installed; register it with `make venv` or "
            f"`.venv/bin/python -m ipykernel install --sys-prefix --name {KERNEL['name']} "
            f'--display-name "{KERNEL["display_name"]}"`'
        )
    return requested


def execute(path: Path, *, kernel: str = KERNEL["name"], timeout: int = 900) -> Any:
    """Run a notebook top to bottom in a scratch folder and return it with its outputs.

    Parameters
    ----------
    path : Path
        The notebook.
    kernel : str, default "dah-outcomes"
        Kernel to run in.
    timeout : int, default 900
        Seconds a cell may run.

    Returns
    -------
    NotebookNode
        The executed notebook, its metadata made stable (kernelspec, language name only) and
        its cells given ids from their position where they had none.
    """
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{i}")
        cell.metadata.pop("execution", None)
    env = {**os.environ, "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}
    with tempfile.TemporaryDirectory(prefix="dah-nb-") as scratch:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=_kernel_name(kernel),
            record_timing=False,
            resources={"metadata": {"path": scratch}},
        ).execute(env=env)
    nb.metadata = nbformat.from_dict(
        {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    )
    return nb


def main(argv: Sequence[str] | None = None) -> int:
    """Execute notebooks in place (or, with ``--check``, compare a fresh run with them).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when ``--check`` finds a difference.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--kernel", default=KERNEL["name"], help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    parser.add_argument(
        "--kernelspec-only",
        action="store_true",
        help="declare the dah-outcomes kernel in each notebook's metadata; execute nothing",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.kernelspec_only:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            nb.metadata["kernelspec"] = dict(KERNEL)
            nbformat.write(nb, path)
        return 0
    failed = False
    for path in paths:
        fresh = execute(path, kernel=args.kernel)
        problems = figure_cells_without_image(fresh)
        if args.check:
            problems += compare_outputs(nbformat.read(path, as_version=4), fresh)
        else:
            nbformat.write(fresh, path)
        for line in problems:
            print(f"{path.name}: {line}", file=sys.stderr)
        failed |= bool(problems)
        print(f"{path.name}: {'checked' if args.check else 'executed'}", file=sys.stderr)
    return int(failed and args.check)


if __name__ == "__main__":
    raise SystemExit(main())
