"""A small cache of the per-patient frames the analyses derive from a cohort.

One report (or one multiply imputed analysis) asks for the same index frame of the same
cohort dozens of times: every treatment, method and imputation builds its death frame, and
each build joins the patients to the index episodes again. A cohort is immutable and its
``fingerprint`` hashes its whole content, so a frame derived from it can be kept under that
fingerprint (and the derivation's arguments) and handed out again as a copy.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from dah_outcomes.cohort import Cohort

__all__ = ["FRAME_CACHE_ROWS", "cached_by_content", "clear_frame_caches"]

#: Rows of frames kept per cached function, the least recently used dropped first: every
#: frame of one report over 20 completed cohorts of ~10,000 DAH patients and five
#: treatments (about a million rows) stays in, while the frames of a national cohort are
#: not held for long.
FRAME_CACHE_ROWS = 2_000_000

P = ParamSpec("P")
R = TypeVar("R")

_CACHES: list[OrderedDict[Hashable, Any]] = []


def _rows(value: Any) -> int:
    if isinstance(value, pd.DataFrame | pd.Series):
        return len(value)
    if isinstance(value, tuple):
        return sum(_rows(v) for v in value)
    return 1


def _copied(value: Any) -> Any:
    # a caller may add columns to what it gets: the cached frame must not see them
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    return value


def cached_by_content(func: Callable[P, R]) -> Callable[P, R]:
    """Cache ``func(cohort, *args, **kwargs)`` under the cohort's fingerprint and the
    arguments; every call gets its own copy of the frames.

    Arguments that cannot be hashed (a caller's own mutable definition) bypass the cache.

    Parameters
    ----------
    func : callable
        A pure function of a :class:`~dah_outcomes.cohort.Cohort` and hashable arguments,
        returning a DataFrame, a Series or a tuple of them.

    Returns
    -------
    callable
        The cached function.
    """
    cache: OrderedDict[Hashable, Any] = OrderedDict()
    lock = threading.Lock()
    _CACHES.append(cache)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        cohort = args[0]
        if not isinstance(cohort, Cohort):
            return func(*args, **kwargs)
        key = (cohort.fingerprint, args[1:], tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:
            return func(*args, **kwargs)
        with lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
        if hit is None:
            hit = func(*args, **kwargs)
            with lock:
                cache[key] = hit
                total = sum(_rows(v) for v in cache.values())
                while total > FRAME_CACHE_ROWS and len(cache) > 1:
                    total -= _rows(cache.popitem(last=False)[1])
        return _copied(hit)

    return wrapper


def clear_frame_caches() -> None:
    """Forget every cached frame (e.g. to free memory after analysing a large cohort)."""
    for cache in _CACHES:
        cache.clear()
