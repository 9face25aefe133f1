"""Reading and writing cohorts (readers translate; validation happens in ``Cohort``)."""

from dah_outcomes.io.cohort_files import load_cohort, save_cohort, write_atomic

__all__ = ["load_cohort", "save_cohort", "write_atomic"]
