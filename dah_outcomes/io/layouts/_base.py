"""What every layout produces and the problems every layout reports the same way.

These pieces sit below both the layouts and :mod:`dah_outcomes.io.importer` (and the streamed
import), so that the importer can call the layouts without a layout ever importing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dah_outcomes.io.readers import RawTable
from dah_outcomes.io.staging import EXTRA_RULES, problem_frame

__all__ = ["Assembled", "guess_layout", "mapping_problems", "row_issue_problems"]


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
        Problems found while assembling (columns :data:`~dah_outcomes.io.staging.PROBLEM_COLUMNS`).
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
    """A reader's row issues (ragged rows, unparsable records) as problems.

    Parameters
    ----------
    raw : RawTable
        A table as read; its :attr:`~dah_outcomes.io.readers.RawTable.row_issues` are used.

    Returns
    -------
    DataFrame
        One problem per issue (table ``source``), columns
        :data:`~dah_outcomes.io.staging.PROBLEM_COLUMNS`.
    """
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


def mapping_problems(missing: Sequence[str], table: str, file: str) -> list[dict[str, Any]]:
    """Source columns the mapping names but the file lacks, as problem records.

    They concern a whole column, not a row (``row`` is None): no row rejection cures them.

    Parameters
    ----------
    missing : sequence of str
        :attr:`~dah_outcomes.io.mapping.Translation.missing` of one translation.
    table : str
        The contract table translated (``patients`` or ``episodes``).
    file : str
        Label of the source file.

    Returns
    -------
    list of dict
        Records for :func:`~dah_outcomes.io.staging.problem_frame`.
    """
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


def guess_layout(columns: Iterable[Any], dictionary: Any = None) -> str:
    """The layout a table with these column names is in, when the mapping does not say.

    Parameters
    ----------
    columns : sequence
        The source table's column names.
    dictionary : optional
        A REDCap data dictionary, if one was given (it implies ``redcap``).

    Returns
    -------
    str
        ``redcap``, ``adtte`` or ``flat``.
    """
    cols = {str(c).lower() for c in columns}
    if dictionary is not None or "redcap_repeat_instrument" in cols:
        return "redcap"
    if {"usubjid", "paramcd", "cnsr"} <= cols:
        return "adtte"
    return "flat"
