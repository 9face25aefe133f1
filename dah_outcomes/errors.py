"""Exceptions and warnings raised by dah_outcomes.

Every error subclasses :class:`DahOutcomesError` *and* the built-in it stands for, so a
caller may catch either ``DahOutcomesError`` (everything from this package) or the usual
built-in (``ValueError``, ``FileNotFoundError``...)::

    Exception
    ├── DahOutcomesError
    │   ├── ArgumentError (ValueError)        a bad argument to a public function
    │   ├── ValidationError (ValueError)      a cohort failed its column contract;
    │   │                                     carries the full ValidationReport
    │   ├── ScenarioError (ValueError)        a scenario file is malformed
    │   ├── CalibrationError (RuntimeError)   calibration could not meet its targets
    │   ├── CohortFileError (OSError)         a cohort folder/file is missing or unreadable
    │   └── EstimationError (ArithmeticError) a statistic cannot be estimated from the data
    └── Warning
        └── DahOutcomesWarning (UserWarning)
            └── SmallSampleWarning            too few events for the asked method

Messages say what went wrong, where, what was found and how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dah_outcomes.validation import ValidationReport

__all__ = [
    "ArgumentError",
    "CalibrationError",
    "CohortFileError",
    "DahOutcomesError",
    "DahOutcomesWarning",
    "EstimationError",
    "ScenarioError",
    "SmallSampleWarning",
    "ValidationError",
]


class DahOutcomesError(Exception):
    """Base class of every error raised by dah_outcomes."""


class ArgumentError(DahOutcomesError, ValueError):
    """A public function was called with an invalid argument."""


class ValidationError(DahOutcomesError, ValueError):
    """A cohort broke its column contract.

    Parameters
    ----------
    report : ValidationReport
        Every problem found, collected before raising.
    """

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.summary())

    @property
    def problems(self) -> Any:
        """The problems as a DataFrame (one row per problem)."""
        return self.report.to_frame()


class ScenarioError(DahOutcomesError, ValueError):
    """A synthetic-cohort scenario is malformed or unknown."""


class CalibrationError(DahOutcomesError, RuntimeError):
    """The calibration of a scenario did not converge on its targets."""


class CohortFileError(DahOutcomesError, OSError):
    """A cohort file or folder is missing, unreadable or of an unknown format."""


class EstimationError(DahOutcomesError, ArithmeticError):
    """A statistic cannot be estimated from the data given."""


class DahOutcomesWarning(UserWarning):
    """Base class of warnings issued by dah_outcomes."""


class SmallSampleWarning(DahOutcomesWarning):
    """Too few events or subjects for the method asked; the estimate is unreliable."""
