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
    │   ├── EstimationError (ValueError,      a statistic cannot be estimated from the data
    │   │                    ArithmeticError)
    │   └── MissingDependencyError            an optional package is not installed; the
    │                        (ImportError)    message says which extra to install
    └── Warning
        └── DahOutcomesWarning (UserWarning)
            ├── SmallSampleWarning            too few events or subjects for the method
            │   └── UninformativeIntervalWarning  an interval of zero width or none at
            │                                 all (survival 1.000, CI 1.000-1.000); the
            │                                 exact binomial bound is given beside it
            ├── DroppedRowsWarning            rows left out for missing values (counted on
            │                                 the result as ``n_dropped``)
            ├── ConvergenceWarning            an iterative fit stopped at its iteration
            │                                 limit (``converged`` is False on the result)
            ├── ImmortalTimeWarning           ever-treated groups compared while treatment
            │                                 starts after time zero, or when is unknown
            ├── MissingColumnWarning          a column an analysis reads is absent from the
            │                                 cohort and is treated as unknown throughout
            ├── InformativeExclusionWarning   the rejected patients differ from the accepted
            │                                 ones (death, ventilation, era)
            ├── MissingDataWarning            values an analysis needs are missing in more
            │                                 than its threshold of rows, so complete-case
            │                                 estimates may be biased (use ``missing="mi"``)
            └── PositivityWarning             some patients had (almost) no chance of a
                                              strategy or arm: extreme weights, poor overlap

Warnings are issued through :func:`warn`, which points them at the first caller outside
this package, so a user sees the line of their own code that asked for the estimate.

Messages say what went wrong, where, what was found and how to fix it.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

    from dah_outcomes.validation import ValidationReport

__all__ = [
    "ArgumentError",
    "CalibrationError",
    "CohortFileError",
    "ConvergenceWarning",
    "DahOutcomesError",
    "DahOutcomesWarning",
    "DroppedRowsWarning",
    "EstimationError",
    "ImmortalTimeWarning",
    "InformativeExclusionWarning",
    "MissingColumnWarning",
    "MissingDataWarning",
    "MissingDependencyError",
    "PositivityWarning",
    "ScenarioError",
    "SmallSampleWarning",
    "UninformativeIntervalWarning",
    "ValidationError",
    "WarningLog",
    "warn",
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


class EstimationError(DahOutcomesError, ValueError, ArithmeticError):
    """A statistic cannot be estimated from the data given.

    A ``ValueError`` (the data, an argument of the call, cannot be used) and, as before, an
    ``ArithmeticError``.
    """


class MissingDependencyError(DahOutcomesError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class DahOutcomesWarning(UserWarning):
    """Base class of warnings issued by dah_outcomes."""


class SmallSampleWarning(DahOutcomesWarning):
    """Too few events or subjects for the method asked; the estimate is unreliable."""


class UninformativeIntervalWarning(SmallSampleWarning):
    """A confidence interval that says nothing about the estimate: of zero width (survival
    1.000, 95% CI 1.000-1.000 in an arm with no death yet), missing, or covering every value.
    A small-sample warning (it arises in small arms); the exact binomial bound is given
    beside the interval."""


class DroppedRowsWarning(DahOutcomesWarning):
    """Rows were left out of an estimate because a column it uses is missing there."""


class ConvergenceWarning(DahOutcomesWarning):
    """An iterative fit stopped at its iteration limit before meeting its tolerance."""


class ImmortalTimeWarning(DahOutcomesWarning):
    """Ever-treated patients are compared with never-treated ones while treatment started
    after time zero (or when it started is unknown): the treated group's survival until its
    treatment began is credited to the treatment. Use a landmark or time-varying analysis."""


class InformativeExclusionWarning(DahOutcomesWarning):
    """The patients an import rejected differ materially from those it accepted (on death,
    ventilation or era), so estimates from the accepted rows alone may be biased."""


class MissingColumnWarning(DahOutcomesWarning):
    """A column an analysis reads (a treatment flag the arm rules use, say) is absent from the
    cohort, so every value of it is treated as unknown: rules that do not depend on it still
    decide, the others give ``"Unknown"``. Add the column to the source to decide them."""


class MissingDataWarning(DahOutcomesWarning):
    """Values an analysis reads are missing in more rows than its complete-case threshold:
    leaving those rows out may bias the estimate, not only widen it. The message names the
    columns and how many values are missing; multiple imputation (``missing="mi"``, or
    ``--missing mi`` on the command line) uses what the incomplete rows do show."""


class PositivityWarning(DahOutcomesWarning):
    """Some patients had (almost) no chance of following a strategy or of receiving an arm
    given their covariates: estimated probabilities near 0 or 1, extreme or truncated weights,
    a small effective sample size. Weighted and standardised estimates then rest on model
    extrapolation; the message says which patients and how extreme."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _stack_level() -> int:
    """The stacklevel of the first frame outside this package (as pandas does), so that the
    warning names the caller's line, whatever depth inside the package issued it."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[DahOutcomesWarning]) -> None:
    """Issue a warning of one of our classes, attributed to the caller's own code.

    Parameters
    ----------
    message : str
        What happened and what to do about it.
    category : subclass of DahOutcomesWarning
        The warning class.

    Returns
    -------
    None
    """
    # level counts this function's own frame too
    warnings.warn(message, category, stacklevel=_stack_level())


class WarningLog:
    """Warnings an analysis issues and records on its result (``warnings`` fields): each
    message goes to the user now, through :func:`warn`, and stays with the result after.

    Attributes
    ----------
    messages : list of str
        The messages issued (and any recorded without being issued again).
    """

    def __init__(self) -> None:
        self.messages: list[str] = []

    def warn(self, message: str, category: type[DahOutcomesWarning]) -> None:
        """Issue ``message`` as ``category`` and record it.

        Parameters
        ----------
        message : str
            What happened and what to do about it.
        category : subclass of DahOutcomesWarning
            The warning class.

        Returns
        -------
        None
        """
        self.messages.append(message)
        warn(message, category)
