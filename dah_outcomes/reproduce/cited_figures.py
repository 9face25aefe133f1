"""The figures cited for DAH in SLE, as claims, and their reproduction from a cohort.

The figures come from a clinical summary, not from one study. They are defined once, as the
claims file shipped with the package (``dah_outcomes/reproduce/data/cited_figures.toml``, named
``"cited-figures"`` for :func:`~dah_outcomes.reproduce.claims.load_claims` and the command
line), and judged by the one rule of :mod:`~dah_outcomes.reproduce.verdicts`, so the demo, the
notebooks and ``dah-outcomes reproduce cited-figures`` say the same thing about a cohort.
"""

from __future__ import annotations

from dah_outcomes.cohort import Cohort
from dah_outcomes.reproduce.claims import Claim, load_claims
from dah_outcomes.reproduce.verdicts import ReproductionResult, reproduce

__all__ = [
    "CITED_FIGURES",
    "CITED_FIGURES_NAME",
    "compare_cited_figures",
]

#: The shipped claims file's name, as :func:`~dah_outcomes.reproduce.claims.load_claims` and
#: ``dah-outcomes reproduce``/``audit`` accept it.
CITED_FIGURES_NAME = "cited-figures"

#: The cited figures, one :class:`~dah_outcomes.reproduce.claims.Claim` each, in file order.
#: A tuple, so that no caller can change what every other caller compares against.
CITED_FIGURES: tuple[Claim, ...] = tuple(load_claims(CITED_FIGURES_NAME))


def compare_cited_figures(
    cohort: Cohort, *, ci_method: str = "wilson", conf_level: float = 0.95
) -> ReproductionResult:
    """Recompute each cited figure from ``cohort`` and judge it.

    The same as ``reproduce(list(CITED_FIGURES), cohort, ...)``, that is,
    ``dah-outcomes reproduce cited-figures --cohort DIR``.

    Parameters
    ----------
    cohort : Cohort
        The data to recompute from.
    ci_method : str, default "wilson"
        CI method for proportions.
    conf_level : float, default 0.95
        Confidence level of the recomputed intervals.

    Returns
    -------
    ReproductionResult
        One row per cited figure: ``claim, statistic, printed, population, source, events,
        total, estimate, ci_lower, ci_upper, method, verdict, why``; the verdicts are those of
        :data:`~dah_outcomes.reproduce.verdicts.VERDICTS`.
    """
    return reproduce(list(CITED_FIGURES), cohort, ci_method=ci_method, conf_level=conf_level)
