"""Reading and writing cohorts: readers translate, mappings map, validation happens once.

This namespace is the layer's API; the modules hold the logic (``layouts/`` the source
layouts, ``staging`` the validation half of an import, ``streaming`` the chunked reader).
"""

from dah_outcomes.io.cohort_files import load_cohort, save_cohort, write_atomic
from dah_outcomes.io.draft import draft_mapping
from dah_outcomes.io.importer import ImportResult, plot_import_flow, read_cohort, write_import
from dah_outcomes.io.mapping import ImportMapping, apply_mapping, load_mapping
from dah_outcomes.io.readers import FORMATS, RawTable, read_table
from dah_outcomes.io.table_rows import TableRows, find_table_rows

__all__ = [
    "FORMATS",
    "ImportMapping",
    "ImportResult",
    "RawTable",
    "TableRows",
    "apply_mapping",
    "draft_mapping",
    "find_table_rows",
    "load_cohort",
    "load_mapping",
    "plot_import_flow",
    "read_cohort",
    "read_table",
    "save_cohort",
    "write_atomic",
    "write_import",
]
