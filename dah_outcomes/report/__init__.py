"""The analysis report: one self-contained HTML page assembled from the analyses' results."""

from dah_outcomes.report.page import report, report_from_folder, write_report

__all__ = ["report", "report_from_folder", "write_report"]
