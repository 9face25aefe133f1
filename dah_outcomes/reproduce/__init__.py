"""Reproducing reported statistics: claims as printed, recomputation from a cohort, one
verdict rule, consistency checks without data, and the audit against the published series.

This namespace is the layer's API; the modules hold the logic.
"""

from dah_outcomes.reproduce.audit import DEFAULT_CHOICES, AuditResult, audit_claims
from dah_outcomes.reproduce.cited_figures import CITED_FIGURES, compare_cited_figures
from dah_outcomes.reproduce.claims import Claim, PrintedValue, load_claims, parse_printed
from dah_outcomes.reproduce.consistency import (
    ci_method_matches,
    consistent_numerators,
    consistent_sample_sizes,
)
from dah_outcomes.reproduce.published import (
    check_evidence,
    load_published_series,
    read_evidence,
    select_studies,
)
from dah_outcomes.reproduce.verdicts import VERDICTS, ReproductionResult, judge, reproduce

__all__ = [
    "CITED_FIGURES",
    "DEFAULT_CHOICES",
    "VERDICTS",
    "AuditResult",
    "Claim",
    "PrintedValue",
    "ReproductionResult",
    "audit_claims",
    "check_evidence",
    "ci_method_matches",
    "compare_cited_figures",
    "consistent_numerators",
    "consistent_sample_sizes",
    "judge",
    "load_claims",
    "load_published_series",
    "parse_printed",
    "read_evidence",
    "reproduce",
    "select_studies",
]
