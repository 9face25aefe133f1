"""Import a registry cohort: read, translate through a mapping, validate, account for every row.

The flow is ``read_table`` -> layout assembly (flat, episodes, two tables, REDCap, ADTTE: see
:mod:`dah_outcomes.io.layouts`) -> ``apply_mapping`` ->
:func:`~dah_outcomes.validation.validate_tables`. Two modes:

* ``strict``: any problem raises one :class:`~dah_outcomes.errors.ValidationError` listing
  them all (with source file and row); nothing is written.
* ``quarantine``: the source rows with problems are rejected, with their reasons, together
  with the rows that depend on them (a rejected patient's episodes, the other records of the
  same subject), and the rest is validated again until it is clean. Problems that no row
  rejection can cure (a missing required column) still raise.

Either way every source row is accounted for: ``rows_read == rows_accepted + rows_rejected``,
checked here, not assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, CohortFileError
from dah_outcomes.io.cohort_files import save_cohort, sha256_file, write_atomic
from dah_outcomes.io.derivations import EPISODE_DERIVATIONS, derive_episode_fields
from dah_outcomes.io.exclusions import compare_rejected, warn_informative_exclusion
from dah_outcomes.io.files import write_csv
from dah_outcomes.io.layouts._base import Assembled, guess_layout
from dah_outcomes.io.layouts.adtte import assemble_adtte
from dah_outcomes.io.layouts.flat import assemble_episodes, assemble_flat, assemble_two_tables
from dah_outcomes.io.layouts.redcap import assemble_redcap, read_dictionary
from dah_outcomes.io.mapping import ImportMapping, find_column, load_mapping
from dah_outcomes.io.readers import FORMATS, RawTable, read_table
from dah_outcomes.io.staging import (
    EXTRA_RULES,
    PROBLEM_COLUMNS,
    Ledger,
    Prepared,
    Stager,
    problem_frame,
    raise_problems,
    resolve,
)
from dah_outcomes.io.streaming import prepare_streamed
from dah_outcomes.io.wide_episodes import add_wide_episodes
from dah_outcomes.results import ResultMixin, json_safe

# Assembled and Prepared are defined below the importer (layouts._base, staging) so that the
# layouts and the streamed import need not import it; they stay importable from here
__all__ = [
    "CHUNK_ROWS",
    "EXTRA_RULES",
    "PROBLEM_COLUMNS",
    "Assembled",
    "ImportResult",
    "Prepared",
    "plot_import_flow",
    "problem_frame",
    "read_cohort",
    "write_import",
]

Mode = Literal["strict", "quarantine"]
#: Rows per chunk when a large flat CSV is streamed (see ``chunk_rows`` of :func:`read_cohort`).
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult(ResultMixin):
    """What an import produced and what it left out.

    Attributes
    ----------
    cohort : Cohort or None
        The validated cohort of accepted rows (None only when nothing could be accepted).
    rejects : DataFrame
        One row per reason a source row was rejected: ``file, table, row, patient_id, column,
        value, rule, hint`` (a row may have several reasons).
    rows_read, rows_accepted, rows_rejected : int
        Source rows; always ``rows_read == rows_accepted + rows_rejected``.
    flow : DataFrame
        Participant flow (STROBE item 13): ``step, n, unit``.
    provenance : dict
        Source files with sha256, mapping text, layout, mode, package version.
    mode : str
        ``strict`` or ``quarantine``.
    """

    cohort: Cohort | None = field(repr=False)
    rejects: pd.DataFrame = field(repr=False)
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    flow: pd.DataFrame = field(repr=False)
    provenance: dict[str, Any] = field(repr=False)
    mode: str = "strict"

    def to_frame(self) -> pd.DataFrame:
        """The participant-flow table (a copy)."""
        return self.flow.copy()

    def summary(self) -> str:
        """One line: rows read, accepted and rejected."""
        return (
            f"rows read {self.rows_read}, accepted {self.rows_accepted}, "
            f"rejected {self.rows_rejected}"
        )


# ---------------------------------------------------------------- assembly by layout


def _read(
    path: str | Path,
    format: str | None,
    sheet: str | int | None,
    rows: tuple[int, int] = (1, 0),
) -> RawTable:
    """One source table; ``rows`` is the mapping's ``(header_row, skip_footer)``, honoured
    for a single-file source (with several files it would be ambiguous, and the mapping
    check refuses it)."""
    if rows == (1, 0):
        return read_table(path, format=format, sheet=sheet)
    return read_table(path, format=format, sheet=sheet, header_row=rows[0], skip_footer=rows[1])


def _find_table(folder: Path, name: str, required: bool = True) -> Path | None:
    suffixes = [s for group in FORMATS.values() for s in group]
    for s in suffixes:
        if (folder / f"{name}{s}").exists():
            return folder / f"{name}{s}"
    if not required:
        return None
    raise CohortFileError(
        f"{folder} has no {name} table (e.g. {name}.csv); give a folder with "
        "patients and episodes tables, or a single file and a mapping"
    )


def _assemble(
    source: Any, m: ImportMapping, dictionary: Any, format: str | None, sheet: str | int | None
) -> tuple[Assembled, str]:
    if isinstance(source, str | Path) and Path(source).is_dir():
        folder = Path(source)
        found = [_find_table(folder, "patients"), _find_table(folder, "episodes")]
        courses = _find_table(folder, "treatments", required=False)
        source = tuple(found) if courses is None else (*found, courses)
    if isinstance(source, list | tuple):
        if len(source) not in (2, 3):
            raise ArgumentError(
                f"give one file, a folder, or two or three files (patients, episodes and "
                f"optionally treatments); got {len(source)} paths"
            )
        tables = [_read(path, format, sheet) for path in source]
        third = tables[2] if len(tables) == 3 else None
        return assemble_two_tables(tables[0], tables[1], m, third), "two_tables"
    if not isinstance(source, str | Path):
        raise ArgumentError(
            f"source must be a path or a pair of paths, got {type(source).__name__}"
        )
    raw = _read(source, format, sheet, m.table_rows)
    layout = m.layout or _guess_layout(raw, dictionary)
    if layout == "two_tables":
        raise ArgumentError(
            "layout 'two_tables' needs two files (patients, episodes) or a folder holding them"
        )
    if layout == "redcap":
        dd = read_dictionary(dictionary) if dictionary is not None else None
        return assemble_redcap(raw, m, dd), layout
    if dictionary is not None:
        raise ArgumentError(f"a data dictionary is used with layout 'redcap', not {layout!r}")
    if layout == "adtte":
        return assemble_adtte(raw, m), layout
    if layout == "episodes":
        return assemble_episodes(raw, m), layout
    return assemble_flat(raw, m), layout


def _guess_layout(raw: RawTable, dictionary: Any) -> str:
    return guess_layout(raw.frame.columns, dictionary)


# ---------------------------------------------------------------- accounting


def _prepare_in_memory(
    source: Any, m: ImportMapping, dictionary: Any, format: str | None, sheet: str | int | None
) -> Prepared:
    """Read the whole source, assemble its layout, type the tables in one go."""
    asm, layout = _assemble(source, m, dictionary, format, sheet)
    asm = add_wide_episodes(asm, m, layout)
    stager = Stager(derive=m.derive)
    episodes = derive_episode_fields(
        asm.tables["patients"], asm.tables["episodes"], m.derive, stager.derived
    )
    stager.add(asm.tables["patients"], episodes, asm.tables.get("treatments"))
    sources = [(str(raw.path), raw.frame.index, asm.groups.get(str(raw.path))) for raw in asm.files]
    return Prepared(
        stager.finish(),
        sources,
        asm.problems,
        dict(asm.table_file),
        layout,
        [raw.describe() for raw in asm.files],
        dict(asm.notes),
    )


def read_cohort(
    source: str | Path | Sequence[str | Path],
    *,
    mapping: str | Path | Mapping[str, Any] | ImportMapping | None = None,
    dictionary: str | Path | None = None,
    format: str | None = None,
    sheet: str | int | None = None,
    mode: Mode = "strict",
    design: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import a registry cohort from any supported source.

    Parameters
    ----------
    source : path or sequence of paths
        One table file (flat, one-row-per-episode, REDCap or ADTTE layout), a folder holding
        ``patients`` and ``episodes`` tables (and optionally a ``treatments`` table), or
        those two or three files. Never modified.
    mapping : path, TOML text, dict or ImportMapping, optional
        How source columns become contract columns (see :mod:`dah_outcomes.io.mapping`);
        identity by default.
    dictionary : path, optional
        REDCap data dictionary (CSV); implies the ``redcap`` layout.
    format : str, optional
        Source format (one of :data:`~dah_outcomes.io.readers.FORMATS`); from the suffix by
        default.
    sheet : str or int, optional
        Excel sheet.
    mode : {"strict", "quarantine"}, default "strict"
        ``strict`` raises on any problem; ``quarantine`` rejects the rows with problems.
    design : {"population", "case_series"}, optional
        The study design (``--design``); the mapping's ``design`` when omitted; else inferred
        by :class:`~dah_outcomes.cohort.Cohort` (every patient with a DAH episode: a case
        series).
    progress : callable, optional
        Called as ``progress(step, fraction)``.
    chunk_rows : int, optional
        A single CSV/TSV file in the flat layout is streamed in chunks of this many rows
        (default :data:`CHUNK_ROWS`), so that its raw text is never held whole; ``0`` reads
        it whole. Other sources are always read whole. The result is the same either way.

    Returns
    -------
    ImportResult

    Raises
    ------
    ValidationError
        In strict mode on any problem; in either mode on problems no row rejection can cure
        (missing required columns, mapping columns absent from the source), and in quarantine
        when no row is accepted (first problem ``no_row_accepted``). Every problem is listed
        with its source file and row.
    CohortFileError, ArgumentError
        If a file cannot be read, or an argument or the mapping is invalid.
    """
    if mode not in ("strict", "quarantine"):
        raise ArgumentError(f"mode must be one of ['quarantine', 'strict'], got {mode!r}")
    if chunk_rows is not None and chunk_rows < 0:
        raise ArgumentError(
            f"chunk_rows must be 0 (read whole) or a positive number of rows, got {chunk_rows}"
        )
    report = progress or (lambda step, fraction: None)
    m = load_mapping(mapping)
    report("reading", 0.0)
    prep = None
    # later episodes in wide columns, and the episodes' derivations, are added on the whole
    # translated table (a patient's episodes are numbered together): read whole
    whole = bool(m.repeat_episodes) or "in_hospital_death" in m.derive
    if chunk_rows != 0 and not whole:
        prep = prepare_streamed(
            source,
            m,
            dictionary=dictionary,
            format=format,
            chunk_rows=chunk_rows or CHUNK_ROWS,
            progress=report,
        )
    if prep is None:
        prep = _prepare_in_memory(source, m, dictionary, format, sheet)
    report("validating", 0.8)
    ledger = Ledger(prep.sources)
    *tables, courses = resolve(prep.staged, ledger, prep.pre, prep.table_file, mode)
    if ledger.n and not ledger.alive.any():
        # an empty cohort is no import: say so (and why) rather than write one
        first = problem_frame(
            [{"table": "source", "rule": "no_row_accepted", "hint": EXTRA_RULES["no_row_accepted"]}]
        )
        raise_problems(problem_frame([first, *ledger.records]), prep.staged.n_rows)
    # rejected rows are rarely a random sample: compare them with the accepted ones
    comparison = (
        compare_rejected(prep.staged, ledger, prep.table_file) if not ledger.alive.all() else None
    )
    exclusion_warning = warn_informative_exclusion(comparison) if comparison is not None else ()
    derived = dict(prep.staged.derived)
    n_source_patients = prep.staged.n_rows["patients"]
    n_courses = prep.staged.n_rows.get("treatments")
    n_episodes = prep.staged.n_rows["episodes"]
    layout, files, notes = prep.layout, prep.files, prep.notes
    del prep  # the typed tables of every row: freed once the cohort holds its sorted copy
    report("building the cohort", 0.9)
    from dah_outcomes._version import __version__

    provenance = {
        "source": "import",
        "layout": layout,
        "mode": mode,
        "files": files,
        "mapping": m.text or None,
        "mapping_file": m.path,
        "package_version": __version__,
        **json_safe(notes),
    }
    derivations = _derivations(m, layout, derived, n_episodes, notes, files)
    if derivations:
        provenance["derivations"] = derivations
    if comparison is not None:
        provenance["rejected_vs_accepted"] = {
            "comparison": json_safe(comparison.to_dict("records")),
            "warning": exclusion_warning[0] if exclusion_warning else None,
        }
    if n_courses is not None:
        # courses are accounted for like rows: each read is accepted or rejected
        provenance["treatment_courses"] = {
            "read": n_courses,
            "accepted": len(courses),
            "rejected": n_courses - len(courses),
        }
    # the argument (--design) wins over the mapping's design; neither: inferred by Cohort
    design = design if design is not None else m.design
    if design is not None and design not in ("population", "case_series"):
        raise ArgumentError(f"design must be one of ['case_series', 'population'], got {design!r}")
    # the accepted rows were typed and checked exactly as Cohort would check them
    cohort = Cohort._from_validated(
        tables,
        provenance=provenance,
        design=design,  # type: ignore[arg-type]
        treatments=courses if n_courses is not None else None,
    )
    rejects = problem_frame(ledger.records)
    rejected = int((~ledger.alive).sum())
    accepted = int(ledger.alive.sum())
    if accepted + rejected != ledger.n:  # pragma: no cover - guarded by construction
        raise RuntimeError("internal error: import row accounting does not balance")
    flow = _flow(ledger, rejects, cohort, n_source_patients=n_source_patients)
    if n_courses is not None:
        flow = pd.concat(
            [
                flow,
                pd.DataFrame(
                    [
                        ("treatment courses read", n_courses, "courses"),
                        ("treatment courses rejected", n_courses - len(courses), "courses"),
                        ("treatment courses accepted", len(courses), "courses"),
                    ],
                    columns=flow.columns,
                ),
            ],
            ignore_index=True,
        )
    report("done", 1.0)
    return ImportResult(
        cohort=cohort,
        rejects=rejects,
        rows_read=ledger.n,
        rows_accepted=accepted,
        rows_rejected=rejected,
        flow=flow,
        provenance=provenance,
        mode=mode,
    )


def _derivations(
    m: ImportMapping,
    layout: str,
    derived: Mapping[str, int],
    n_episodes: int,
    notes: Any,
    files: list[dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each derivation and how many blank values it filled: the declared ones, and the
    episode numbers of a one-row-per-patient file (1 on each row, n from ``[episodes.<n>]``),
    counted whether declared or not when the file has no numbering of its own."""
    out = {f: {"from": source, "rows": derived.get(f, 0)} for f, source in m.derive.items()}
    columns = pd.Index([str(c) for f in files[:1] for c in f.get("columns", [])])
    numbered = "episode_number" in m.columns or (
        find_column(columns, ("episode_number",), explicit=False) is not None
    )
    if layout == "flat" and not numbered:
        wide = notes.get("wide_episodes", {}).get("episodes_from_wide_columns", 0)
        out["episode_number"] = {"from": "one_row_per_patient", "rows": n_episodes - wide}
        if wide:
            out["episode_number"]["wide_columns"] = wide
    return {f: out[f] for f in sorted(out, key=lambda f: f in EPISODE_DERIVATIONS)}


def _flow(
    ledger: Ledger, rejects: pd.DataFrame, cohort: Cohort, n_source_patients: int
) -> pd.DataFrame:
    """Participant flow: rows read, rejected by main reason, accepted, and what they became."""
    steps: list[tuple[str, int, str]] = [("source rows read", ledger.n, "rows")]
    files = pd.unique(ledger.file)
    if len(files) > 1:
        steps += [(f"  from {Path(f).name}", int((ledger.file == f).sum()), "rows") for f in files]
    steps.append(("rows rejected", int((~ledger.alive).sum()), "rows"))
    if len(rejects):
        # each rejected row counted once, under the first reason recorded for it
        first = rejects.dropna(subset=["row"]).drop_duplicates(["file", "row"])
        for rule, n in first["rule"].value_counts(sort=True).items():
            steps.append((f"  reason: {rule}", int(n), "rows"))
    steps += [
        ("rows accepted", int(ledger.alive.sum()), "rows"),
        ("patients in source", n_source_patients, "patients"),
        ("patients excluded", n_source_patients - cohort.n_patients, "patients"),
        ("patients included", cohort.n_patients, "patients"),
        ("patients with DAH", cohort.n_dah_patients, "patients"),
        ("DAH episodes", cohort.n_episodes, "episodes"),
    ]
    return pd.DataFrame(steps, columns=["step", "n", "unit"])


# ---------------------------------------------------------------- output


def plot_import_flow(result: ImportResult, ax: Any = None) -> Any:
    """Draw the participant-flow diagram (STROBE 13c) of an import.

    Source rows read, rows accepted and the cohort they became down the middle; the rows
    rejected, with up to eight of their reasons, to the side. The drawing itself is
    :func:`~dah_outcomes.plotting.flow.plot_flow`, the one the report uses.

    Parameters
    ----------
    result : ImportResult
        From :func:`read_cohort`.
    ax : Axes, optional
        Where to draw; a new Figure by default (no pyplot global state is touched).

    Returns
    -------
    Axes
    """
    # matplotlib is loaded only when a figure is drawn, not on ``import dah_outcomes``
    from dah_outcomes.plotting.flow import plot_flow

    f = result.flow.set_index("step")["n"]
    reasons = [
        (str(s).strip().removeprefix("reason: "), n)
        for s, n in f.items()
        if str(s).startswith("  reason:")
    ]
    cohort = (
        f"{f.get('patients included', 0)} patients, {f.get('patients with DAH', 0)} with DAH\n"
        f"{f.get('DAH episodes', 0)} episodes"
    )
    return plot_flow(
        [
            ("Source rows read", result.rows_read),
            ("Rows accepted", result.rows_accepted),
            ("Cohort", cohort),
        ],
        reasons[:8],
        ax,
        excluded=("Rows rejected", result.rows_rejected),
        title="Participant flow (STROBE item 13)",
    )


def write_import(
    result: ImportResult, out_dir: str | Path, *, format: str = "csv", min_cell: int | None = None
) -> dict[str, Path]:
    """Write the imported cohort, ``rejects.csv``, ``flow.csv``, ``flow.png`` and
    ``provenance.json`` (with ``rows_read``, ``rows_accepted``, ``rows_rejected``).

    Every file is written atomically. With ``min_cell``, the per-reason counts of the flow
    table below ``min_cell`` are masked (with complementary masking, see
    :func:`~dah_outcomes.suppression.suppress_small_cells`).

    Parameters
    ----------
    result : ImportResult
        From :func:`read_cohort`.
    out_dir : path
        Output folder (created if needed).
    format : {"csv", "parquet"}, default "csv"
        Format of the cohort tables.
    min_cell : int, optional
        Smallest reason count shown in ``flow.csv``.

    Returns
    -------
    dict
        Output name (``rejects``, ``flow``, ``flow_figure``, the cohort's files) -> path.

    Raises
    ------
    ArgumentError
        If the import produced no cohort.
    """
    if result.cohort is None:
        raise ArgumentError("the import produced no cohort; nothing to write")
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    rejects = result.rejects
    # rejects.csv is the file an analyst opens in a spreadsheet: formula cells neutralised
    paths["rejects"] = write_csv(out / "rejects.csv", rejects)
    flow = result.flow
    if min_cell is not None:
        flow = _suppress_flow(flow, min_cell)
    paths["flow"] = write_csv(out / "flow.csv", flow, na_rep="suppressed")
    from dah_outcomes.plotting import save_figure

    ax = plot_import_flow(result)
    paths["flow_figure"] = write_atomic(
        out / "flow.png", lambda p: save_figure(ax, p, format="png", dpi=120)
    )
    extra = {
        "rows_read": result.rows_read,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "min_cell": min_cell,
        "import_files": {p.name: sha256_file(p) for p in paths.values()},
    }
    paths.update(save_cohort(result.cohort, out, format=format, extra=extra))  # type: ignore[arg-type]
    return paths


def _suppress_flow(flow: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    from dah_outcomes.suppression import suppress_small_cells

    reasons = flow["step"].str.startswith("  reason:")
    out = flow.copy()
    out["n"] = out["n"].astype("Int64")
    if reasons.sum():
        masked = suppress_small_cells(flow.loc[reasons], ["n"], min_cell)
        out.loc[reasons, "n"] = masked["n"]
    return out


def result_json(result: ImportResult) -> str:
    """The counts and flow as JSON text (for ``--json``-style output).

    Parameters
    ----------
    result : ImportResult
        From :func:`read_cohort`.

    Returns
    -------
    str
        ``rows_read``, ``rows_accepted``, ``rows_rejected`` and ``flow``, indented JSON.
    """
    return json.dumps(
        {
            "rows_read": result.rows_read,
            "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected,
            "flow": json_safe(result.flow),
        },
        indent=2,
    )
