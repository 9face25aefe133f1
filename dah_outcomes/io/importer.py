"""Import a registry cohort: read, translate through a mapping, validate, account for every row.

The flow is ``read_table`` -> layout assembly (flat, episodes, two tables, REDCap, ADTTE) ->
``apply_mapping`` -> :func:`~dah_outcomes.validation.validate_tables`. Two modes:

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
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError, CohortFileError
from dah_outcomes.io.cohort_files import save_cohort, sha256_file, write_atomic
from dah_outcomes.io.mapping import ImportMapping, apply_mapping, load_mapping
from dah_outcomes.io.readers import FORMATS, RawTable, read_table
from dah_outcomes.io.staging import (
    EXTRA_RULES,
    PROBLEM_COLUMNS,
    Ledger,
    Staged,
    Stager,
    problem_frame,
    resolve,
)
from dah_outcomes.results import ResultMixin, json_safe

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


@dataclass(frozen=True, slots=True)
class Assembled:
    """Contract tables assembled from the source, before validation (a layout's output).

    Attributes
    ----------
    tables : dict
        ``patients`` and ``episodes`` with contract columns, indexed by source row number.
    table_file : dict
        Table -> label (path) of the source file its rows come from.
    files : list of RawTable
        Every file read (their rows are the rows accounted for).
    groups : dict
        File label -> Series (index source row) of group keys: rows sharing a key are accepted
        or rejected together. Rows not listed form their own group.
    problems : DataFrame
        Problems found while assembling (columns :data:`PROBLEM_COLUMNS`).
    notes : dict
        Extra provenance (unmapped columns, ignored records...).
    """

    tables: dict[str, pd.DataFrame]
    table_file: dict[str, str]
    files: list[RawTable]
    groups: dict[str, pd.Series] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: problem_frame([]))
    notes: dict[str, Any] = field(default_factory=dict)


def row_issue_problems(raw: RawTable) -> pd.DataFrame:
    """A reader's row issues (ragged rows, unparsable records) as problems."""
    if raw.row_issues.empty:
        return problem_frame([])
    i = raw.row_issues
    return problem_frame(
        [
            pd.DataFrame(
                {
                    "file": str(raw.path),
                    "table": "source",
                    "row": i["row"].to_numpy(dtype=object),
                    "column": None,
                    "value": i["value"],
                    "rule": i["rule"],
                    "hint": i["hint"],
                }
            )
        ]
    )


@dataclass(frozen=True, slots=True)
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


def _read(path: str | Path, format: str | None, sheet: str | int | None) -> RawTable:
    return read_table(path, format=format, sheet=sheet)


def _mapping_problems(missing: Sequence[str], table: str, file: str) -> list[dict[str, Any]]:
    return [
        {
            "file": file,
            "table": table,
            "row": None,
            "column": m,
            "value": None,
            "rule": "source_column_missing",
            "hint": EXTRA_RULES["source_column_missing"],
        }
        for m in missing
    ]


def flat_tables(
    frame: pd.DataFrame,
    m: ImportMapping,
    label: str,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    default_episode_number: pd.Series | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    """Patients and first episodes from one row per patient.

    Returns the two tables, the mapping problems and the unmapped source columns.
    """
    pt = apply_mapping(frame, m, table="patients", value_labels=value_labels)
    et = apply_mapping(frame, m, table="episodes", value_labels=value_labels)
    e = et.frame
    constants = {n for n, r in m.columns.items() if r.constant is not None}
    content = [
        c for c in e.columns if c not in ("patient_id", "episode_number") and c not in constants
    ]
    # a row holds an episode when any episode column has a value; the others are patients
    # without DAH (a source population)
    has = e[content].notna().any(axis=1) if content else pd.Series(False, index=e.index)
    e = e.loc[has.to_numpy(dtype=bool)].copy()
    if "episode_number" not in e.columns:
        number = (
            1
            if default_episode_number is None
            else default_episode_number.reindex(e.index).to_numpy(dtype=object)
        )
        e.insert(1 if "patient_id" in e.columns else 0, "episode_number", number)
    problems = problem_frame(
        [
            *_mapping_problems(pt.missing, "patients", label),
            *_mapping_problems(et.missing, "episodes", label),
        ]
    )
    unmapped = sorted(set(pt.unmapped) & set(et.unmapped))
    return {"patients": pt.frame, "episodes": e}, problems, unmapped


def _assemble_flat(raw: RawTable, m: ImportMapping) -> Assembled:
    """One row per patient, carrying the first episode's columns when the patient had one."""
    label = str(raw.path)
    tables, problems, unmapped = flat_tables(raw.frame, m, label, raw.value_labels)
    return Assembled(
        tables,
        {"patients": label, "episodes": label},
        [raw],
        problems=problem_frame([row_issue_problems(raw), problems]),
        notes={"unmapped_columns": unmapped},
    )


def _assemble_episodes(raw: RawTable, m: ImportMapping) -> Assembled:
    """One row per episode; patient columns repeated on each of the patient's rows."""
    label = str(raw.path)
    pt = apply_mapping(raw.frame, m, table="patients", value_labels=raw.value_labels)
    et = apply_mapping(raw.frame, m, table="episodes", value_labels=raw.value_labels)
    p = pt.frame
    problems = [
        row_issue_problems(raw),
        problem_frame(
            [
                *_mapping_problems(pt.missing, "patients", label),
                *_mapping_problems(et.missing, "episodes", label),
            ]
        ),
    ]
    groups = pd.Series(raw.frame.index.astype(str), index=raw.frame.index)
    if "patient_id" in p.columns and len(p):
        pid = p["patient_id"]
        known = pid.notna().to_numpy()
        groups[known] = "id:" + pid[known].astype(str)
        cols = [c for c in p.columns if c != "patient_id"]
        if cols:
            sub = p.loc[known]
            as_text = sub[cols].astype("string").fillna("\x00")
            n_distinct = as_text.groupby(sub["patient_id"].to_numpy()).transform("nunique")
            bad = n_distinct > 1
            for c in cols:
                rows = bad.index[bad[c].to_numpy()]
                if len(rows):
                    problems.append(
                        problem_frame(
                            [
                                pd.DataFrame(
                                    {
                                        "file": label,
                                        "table": "patients",
                                        "row": rows.to_numpy(dtype=object),
                                        "patient_id": sub.loc[rows, "patient_id"].to_numpy(
                                            dtype=object
                                        ),
                                        "column": c,
                                        "value": p.loc[rows, c].astype(object).to_numpy(),
                                        "rule": "inconsistent_patient_value",
                                        "hint": EXTRA_RULES["inconsistent_patient_value"],
                                    }
                                )
                            ]
                        )
                    )
        first = ~pid.duplicated() | ~known
        p = p.loc[first.to_numpy(dtype=bool)]
    return Assembled(
        {"patients": p, "episodes": et.frame},
        {"patients": label, "episodes": label},
        [raw],
        groups={label: groups},
        problems=problem_frame(problems),
        notes={"unmapped_columns": sorted(set(pt.unmapped) & set(et.unmapped))},
    )


def _assemble_two(p_raw: RawTable, e_raw: RawTable, m: ImportMapping) -> Assembled:
    pl, el = str(p_raw.path), str(e_raw.path)
    pt = apply_mapping(p_raw.frame, m, table="patients", value_labels=p_raw.value_labels)
    et = apply_mapping(e_raw.frame, m, table="episodes", value_labels=e_raw.value_labels)
    problems = problem_frame(
        [
            row_issue_problems(p_raw),
            row_issue_problems(e_raw),
            problem_frame(
                [
                    *_mapping_problems(pt.missing, "patients", pl),
                    *_mapping_problems(et.missing, "episodes", el),
                ]
            ),
        ]
    )
    return Assembled(
        {"patients": pt.frame, "episodes": et.frame},
        {"patients": pl, "episodes": el},
        [p_raw, e_raw],
        problems=problems,
        notes={"unmapped_columns": {"patients": list(pt.unmapped), "episodes": list(et.unmapped)}},
    )


def _find_table(folder: Path, name: str) -> Path:
    suffixes = [s for group in FORMATS.values() for s in group]
    for s in suffixes:
        if (folder / f"{name}{s}").exists():
            return folder / f"{name}{s}"
    raise CohortFileError(
        f"{folder} has no {name} table (e.g. {name}.csv); give a folder with "
        "patients and episodes tables, or a single file and a mapping"
    )


def _assemble(
    source: Any, m: ImportMapping, dictionary: Any, format: str | None, sheet: str | int | None
) -> tuple[Assembled, str]:
    if isinstance(source, str | Path) and Path(source).is_dir():
        folder = Path(source)
        source = (_find_table(folder, "patients"), _find_table(folder, "episodes"))
    if isinstance(source, list | tuple):
        if len(source) != 2:
            raise ArgumentError(
                f"give one file, a folder, or two files (patients, episodes); "
                f"got {len(source)} paths"
            )
        return _assemble_two(
            _read(source[0], format, sheet), _read(source[1], format, sheet), m
        ), "two_tables"
    if not isinstance(source, str | Path):
        raise ArgumentError(
            f"source must be a path or a pair of paths, got {type(source).__name__}"
        )
    raw = _read(source, format, sheet)
    layout = m.layout or _guess_layout(raw, dictionary)
    if layout == "two_tables":
        raise ArgumentError(
            "layout 'two_tables' needs two files (patients, episodes) or a folder holding them"
        )
    if layout == "redcap":
        from dah_outcomes.io.redcap import assemble_redcap, read_dictionary

        dd = read_dictionary(dictionary) if dictionary is not None else None
        return assemble_redcap(raw, m, dd), layout
    if dictionary is not None:
        raise ArgumentError(f"a data dictionary is used with layout 'redcap', not {layout!r}")
    if layout == "adtte":
        from dah_outcomes.io.adtte import assemble_adtte

        return assemble_adtte(raw, m), layout
    if layout == "episodes":
        return _assemble_episodes(raw, m), layout
    return _assemble_flat(raw, m), layout


def _guess_layout(raw: RawTable, dictionary: Any) -> str:
    return guess_layout(raw.frame.columns, dictionary)


def guess_layout(columns: Sequence[Any], dictionary: Any = None) -> str:
    """The layout a table with these column names is in, when the mapping does not say."""
    cols = {str(c).lower() for c in columns}
    if dictionary is not None or "redcap_repeat_instrument" in cols:
        return "redcap"
    if {"usubjid", "paramcd", "cnsr"} <= cols:
        return "adtte"
    return "flat"


# ---------------------------------------------------------------- accounting


@dataclass(frozen=True, slots=True)
class Prepared:
    """A source read and typed, ready for :func:`~dah_outcomes.io.staging.resolve`.

    Attributes
    ----------
    staged : Staged
        Typed contract tables and their single-row problems.
    sources : list
        ``(label, source rows, group keys or None)`` per file read, for the
        :class:`~dah_outcomes.io.staging.Ledger`.
    pre : DataFrame
        Problems found while reading and assembling.
    table_file : dict
        Table -> label of its source file.
    layout : str
        The layout used.
    files : list of dict
        Provenance of every file read (``RawTable.describe()``).
    notes : dict
        Extra provenance.
    """

    staged: Staged
    sources: list[tuple[str, pd.Index, pd.Series | None]]
    pre: pd.DataFrame
    table_file: dict[str, str]
    layout: str
    files: list[dict[str, Any]]
    notes: dict[str, Any]


def _prepare_in_memory(
    source: Any, m: ImportMapping, dictionary: Any, format: str | None, sheet: str | int | None
) -> Prepared:
    """Read the whole source, assemble its layout, type the tables in one go."""
    asm, layout = _assemble(source, m, dictionary, format, sheet)
    stager = Stager()
    stager.add(asm.tables["patients"], asm.tables["episodes"])
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
    source : path or pair of paths
        One table file (flat, one-row-per-episode, REDCap or ADTTE layout), a folder holding
        ``patients`` and ``episodes`` tables, or those two files. Never modified.
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
        Passed to :class:`~dah_outcomes.cohort.Cohort`.
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
        (missing required columns, mapping columns absent from the source). Every problem is
        listed with its source file and row.
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
    if chunk_rows != 0:
        from dah_outcomes.io.streaming import prepare_streamed

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
    tables = list(resolve(prep.staged, ledger, prep.pre, prep.table_file, mode))
    n_source_patients = prep.staged.n_rows["patients"]
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
    if design is not None and design not in ("population", "case_series"):
        raise ArgumentError(f"design must be one of ['case_series', 'population'], got {design!r}")
    # the accepted rows were typed and checked exactly as Cohort would check them
    cohort = Cohort._from_validated(tables, provenance=provenance, design=design)  # type: ignore[arg-type]
    rejects = problem_frame(ledger.records)
    rejected = int((~ledger.alive).sum())
    accepted = int(ledger.alive.sum())
    if accepted + rejected != ledger.n:  # pragma: no cover - guarded by construction
        raise RuntimeError("internal error: import row accounting does not balance")
    flow = _flow(ledger, rejects, cohort, n_source_patients=n_source_patients)
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
    """Draw the participant-flow diagram (STROBE 13c) on ``ax`` (a new Figure by default).

    Returns the Axes; no pyplot global state is touched.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7.5, 5.0), layout="constrained").add_subplot()
    f = result.flow.set_index("step")["n"]
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "black"}
    main = [
        (0.85, f"Source rows read\nn = {result.rows_read}"),
        (0.55, f"Rows accepted\nn = {result.rows_accepted}"),
        (
            0.18,
            f"Cohort\n{f.get('patients included', 0)} patients, "
            f"{f.get('patients with DAH', 0)} with DAH\n{f.get('DAH episodes', 0)} episodes",
        ),
    ]
    for y, text in main:
        ax.text(0.3, y, text, ha="center", va="center", bbox=box, fontsize=9)
    for (y0, _), (y1, _) in pairwise(main):
        ax.annotate(
            "", xy=(0.3, y1 + 0.08), xytext=(0.3, y0 - 0.08), arrowprops={"arrowstyle": "->"}
        )
    reasons = [
        f"{s.strip().removeprefix('reason: ')}: {n}"
        for s, n in f.items()
        if str(s).startswith("  reason:")
    ]
    side = f"Rows rejected\nn = {result.rows_rejected}" + (
        "\n" + "\n".join(reasons[:8]) if reasons else ""
    )
    ax.text(0.75, 0.70, side, ha="center", va="center", bbox=box, fontsize=8)
    ax.annotate("", xy=(0.55, 0.70), xytext=(0.3, 0.70), arrowprops={"arrowstyle": "->"})
    ax.set_title("Participant flow (STROBE item 13)", fontsize=10)
    return ax


def write_import(
    result: ImportResult, out_dir: str | Path, *, format: str = "csv", min_cell: int | None = None
) -> dict[str, Path]:
    """Write the imported cohort, ``rejects.csv``, ``flow.csv``, ``flow.png`` and
    ``provenance.json`` (with ``rows_read``, ``rows_accepted``, ``rows_rejected``).

    Every file is written atomically. With ``min_cell``, the per-reason counts of the flow
    table below ``min_cell`` are masked (with complementary masking, see
    :func:`~dah_outcomes.suppression.suppress_small_cells`).
    """
    if result.cohort is None:
        raise ArgumentError("the import produced no cohort; nothing to write")
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    rejects = result.rejects
    paths["rejects"] = write_atomic(
        out / "rejects.csv", lambda p: rejects.to_csv(p, index=False, lineterminator="\n")
    )
    flow = result.flow
    if min_cell is not None:
        flow = _suppress_flow(flow, min_cell)
    paths["flow"] = write_atomic(
        out / "flow.csv",
        lambda p: flow.to_csv(p, index=False, lineterminator="\n", na_rep="suppressed"),
    )
    ax = plot_import_flow(result)
    paths["flow_figure"] = write_atomic(
        out / "flow.png", lambda p: ax.figure.savefig(p, format="png", dpi=120)
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
    """The counts and flow as JSON text (for ``--json``-style output)."""
    return json.dumps(
        {
            "rows_read": result.rows_read,
            "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected,
            "flow": json_safe(result.flow),
        },
        indent=2,
    )
