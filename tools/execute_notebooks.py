"""Execute the notebooks in place, so that they are committed with their outputs, and the rules
by which a fresh run is compared with what is stored.

``python -m tools.execute_notebooks notebooks/01_quickstart.ipynb ...`` (no argument: every
notebook in ``notebooks/``; ``--jobs 2`` runs two at a time; ``make notebooks`` is every
notebook, two at a time) runs each notebook top to bottom in the ``dah-outcomes`` kernel
(``make venv`` registers it) and writes it back with its outputs. The run is made to give the
same file each time: cells get ids from their position where they have none, no execution
timings are recorded, the notebook's metadata is reduced to the kernelspec and the language
name (no Python version), the kernel runs with a fixed hash seed, and what a run prints that
depends on the run rather than the notebook is made stable (:func:`stabilize`: the kernel's
process id in the file names warnings cite, the scratch folder, the checkout's path, folders
made by ``tempfile.mkdtemp``, memory addresses; the streams the kernel flushed in pieces are
stored as one stdout and one stderr output). Two runs on one machine give the same bytes.
A notebook that raises is reported by name and the others still run; the exit status is 1
when any notebook raises, lacks an image in a figure cell or, with ``--check``, drifts.

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
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

__all__ = [
    "KERNEL",
    "NOTEBOOKS",
    "compare_outputs",
    "drift_message",
    "execute",
    "figure_cells_without_image",
    "main",
    "outputs_summary",
    "refresh_command",
    "sanitize",
    "stabilize",
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


#: What a run prints that depends on the run, not on the notebook, and what is stored instead:
#: the kernel's per-process folder of cell files (``/tmp/ipykernel_4242/3141.py``; the file
#: name is a hash of the cell's source, so it stays), the random part of the name of a folder
#: a notebook makes with ``tempfile.mkdtemp`` and memory addresses in reprs.
_RUN_SPECIFIC: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.~-]+)*[\\/]ipykernel_\d+[\\/]"), "ipykernel/"),
    (re.compile(r"([\\/])tmp[a-z0-9_]{8}(?=[\\/])"), r"\1tmpXXXXXXXX"),
    (re.compile(r" at 0x[0-9a-fA-F]+>"), " at 0x0>"),
)


#: The order of a cell's stdout and stderr between two other outputs: the kernel flushes each
#: on its own timer, so the order they arrive in says nothing.
_STREAM_ORDER = ("stdout", "stderr")


def _stable_text(text: str, prefixes: Sequence[str]) -> str:
    for prefix in prefixes:
        text = text.replace(prefix, "")
    for pattern, placeholder in _RUN_SPECIFIC:
        text = pattern.sub(placeholder, text)
    return text


def stabilize(nb: Any, scratch: str | Path) -> Any:
    """Make an executed notebook's outputs the same from run to run (in place).

    Consecutive stream outputs are joined into one stdout then one stderr output (the kernel
    flushes each stream in pieces and on its own timer, so neither the pieces nor the order of
    the two mean anything). In every stream and every result's text the scratch folder the
    notebook ran in and the checkout's path are removed (``/tmp/dah-nb-x1y2/output/report.html``
    is stored as ``output/report.html``, a warning from ``ROOT/dah_outcomes/stats/cox.py:12``
    as from ``dah_outcomes/stats/cox.py:12``), the kernel's per-process folder of cell files
    becomes ``ipykernel/``, a folder made by ``tempfile.mkdtemp`` ``tmpXXXXXXXX`` and a memory
    address in a repr ``0x0``. Images and the numbers shown are untouched.

    Parameters
    ----------
    nb : NotebookNode
        An executed notebook.
    scratch : str or Path
        The folder it ran in.

    Returns
    -------
    NotebookNode
        ``nb``.
    """
    folders = {str(scratch), os.path.realpath(scratch), str(ROOT)}
    prefixes = sorted((f.rstrip("/\\") + os.sep for f in folders), key=len, reverse=True)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list[Any] = []
        streams: dict[str, Any] = {}  # the run of stream outputs since the last other output
        for out in cell.get("outputs", []):
            if out.get("output_type") != "stream":
                merged.extend(streams[k] for k in sorted(streams, key=_STREAM_ORDER.index))
                streams = {}
                for mime in ("text/plain", "text/html"):
                    if mime in out.get("data", {}):
                        out["data"][mime] = _stable_text("".join(out["data"][mime]), prefixes)
                merged.append(out)
                continue
            out["text"] = _stable_text("".join(out.get("text", "")), prefixes)
            name = out.get("name", "stdout")
            if name in streams:
                streams[name]["text"] += out["text"]
            else:
                streams[name] = out
        merged.extend(streams[k] for k in sorted(streams, key=_STREAM_ORDER.index))
        cell["outputs"] = merged
    return nb


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
                where, before, after = _first_difference(str(a[key]), str(b[key]))
                problems.append(
                    f"code cell {i} ({old.source.strip().splitlines()[0][:60]!r}): {key} "
                    f"differs from {where}\n  stored: {before}\n  fresh:  {after}"
                )
    return problems


def _first_difference(stored: str, fresh: str, width: int = 300) -> tuple[str, str, str]:
    """Where two texts first differ ("line 3, character 41") and each from a little before."""
    a, b = stored.splitlines() or [""], fresh.splitlines() or [""]
    line = next(
        (k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    x, y = (a[line] if line < len(a) else "<end>"), (b[line] if line < len(b) else "<end>")
    char = next(
        (k for k, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y))
    )
    start = max(0, char - 60)
    return (
        f"line {line + 1}, character {char + 1}",
        x[start : start + width],
        y[start : start + width],
    )


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
        stabilize(nb, scratch)
    nb.metadata = nbformat.from_dict(
        {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    )
    return nb


def drift_message(path: Path, problems: Sequence[str]) -> str:
    """The message of a notebook whose stored outputs differ from a fresh run.

    Parameters
    ----------
    path : Path
        The notebook.
    problems : sequence of str
        What :func:`compare_outputs` found.

    Returns
    -------
    str
        The notebook, the command that stores its outputs afresh, and each difference.
    """
    return (
        f"{path.name}'s stored outputs differ from a fresh run; if the change is intended, "
        f"store them afresh with\n    {refresh_command(path)}\n" + "\n".join(problems)
    )


def _run(path: Path, kernel: str, check: bool) -> tuple[list[str], float]:
    """Execute one notebook (written back unless ``check``): its problems and seconds taken."""
    began = time.perf_counter()
    fresh = execute(path, kernel=kernel)
    problems = figure_cells_without_image(fresh)
    if check:
        differences = compare_outputs(nbformat.read(path, as_version=4), fresh)
        if differences:
            problems.append(drift_message(path, differences))
    else:
        nbformat.write(fresh, path)
    return problems, time.perf_counter() - began


def main(argv: Sequence[str] | None = None) -> int:
    """Execute notebooks in place (or, with ``--check``, compare a fresh run with them).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when a notebook has a figure cell without an image or, with
        ``--check``, stored outputs that differ from a fresh run.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--kernel", default=KERNEL["name"], help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    parser.add_argument(
        "--jobs", type=int, default=1, help="notebooks run at a time (default: %(default)s)"
    )
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
    kernel = _kernel_name(args.kernel)
    began = time.perf_counter()
    failed = False
    # each notebook runs in its own kernel process; the pool only waits on them
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = {path: pool.submit(_run, path, kernel, args.check) for path in paths}
        for path, run in runs.items():
            try:
                problems, seconds = run.result()
            except Exception as err:  # a cell raised: say which notebook, go on with the others
                problems, seconds = [f"does not run: {type(err).__name__}: {err}"], math.nan
            for line in problems:
                print(f"{path.name}: {line}", file=sys.stderr)
            failed |= bool(problems)
            done = "checked" if args.check else "executed"
            print(f"{path.name}: {done} in {seconds:.0f} s", file=sys.stderr)
    print(f"{len(paths)} notebooks in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main())
