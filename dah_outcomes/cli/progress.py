"""A progress bar for long command-line steps (shown only on a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["progress_bar"]


def progress_bar(label: str) -> Callable[[str, float], None]:  # pragma: no cover - visual
    """A callback ``update(step, fraction_done)`` drawing a tqdm bar on stderr.

    tqdm disables itself when stderr is not a terminal, so logs and CI stay clean.
    """
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, disable=None, leave=False, file=sys.stderr)

    def update(step: str, fraction: float) -> None:
        bar.set_postfix_str(step)
        bar.update(round(fraction * 100) - bar.n)
        if fraction >= 1.0:
            bar.close()

    return update
