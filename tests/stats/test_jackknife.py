"""The infinitesimal-jackknife variances: the closed form for one row per cluster against the
cluster-by-cluster sums (which the R comparisons in ``test_km_robust.py`` and
``test_competing_entry.py`` check against ``survfit``), and against a numerical derivative of
the estimates with respect to each case weight (the definition of the IJ)."""

from __future__ import annotations

import numpy as np
import pytest

from dah_outcomes.stats.jackknife import infinitesimal_jackknife_variance
from dah_outcomes.stats.risk_sets import risk_table


def _rows(seed: int, n: int, causes: int, entry: bool, weighted: bool) -> tuple:
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 25, n).astype(float)  # ties
    ent = np.where(rng.uniform(size=n) < 0.4, np.floor(rng.uniform(size=n) * t), 0.0)
    e = rng.integers(0, causes + 1, n)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    return t, e, (ent if entry else None), w


def _estimates(
    t: np.ndarray, e: np.ndarray, ent: np.ndarray | None, w: np.ndarray, causes: int
) -> np.ndarray:
    """S and each cause's Aalen-Johansen incidence at every time of the risk table."""
    rt = risk_table(t, e, entry=ent, weights=w, n_causes=causes)
    s = np.cumprod(1 - rt.n_event_any / rt.n_risk)
    before = np.concatenate(([1.0], s[:-1]))
    cif = np.cumsum(before[:, None] * rt.n_event / rt.n_risk[:, None], axis=0)
    return np.column_stack([s, cif])


@pytest.mark.parametrize("seed", range(8))
def test_closed_form_equals_cluster_sums(seed: int) -> None:
    causes = 1 + seed % 3
    t, e, ent, w = _rows(seed, 80, causes, entry=seed % 2 == 1, weighted=seed % 4 > 1)
    rt = risk_table(t, e, entry=ent, weights=w, n_causes=causes)
    blocked = infinitesimal_jackknife_variance(
        rt, t, e, np.arange(len(t)), entry=ent, weights=w, causes=True
    )
    closed = infinitesimal_jackknife_variance(rt, t, e, None, entry=ent, weights=w, causes=True)
    np.testing.assert_allclose(closed, blocked, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_cluster_sums_are_the_weight_derivatives(seed: int) -> None:
    # IJ: d estimate / d w_c (w_c the weight of every row of cluster c), times w, squared
    # and summed over clusters; a central difference gives the derivative to ~1e-9
    t, e, ent, _ = _rows(seed, 40, 2, entry=True, weighted=False)
    cluster = np.arange(len(t)) // 2
    w = np.ones(len(t))
    rt = risk_table(t, e, entry=ent, n_causes=2)
    ij = infinitesimal_jackknife_variance(rt, t, e, cluster, entry=ent, causes=True)
    eps = 1e-6
    total = np.zeros_like(ij)
    for c in range(cluster.max() + 1):
        up, down = w.copy(), w.copy()
        up[cluster == c] += eps
        down[cluster == c] -= eps
        deriv = (_estimates(t, e, ent, up, 2) - _estimates(t, e, ent, down, 2)) / (2 * eps)
        total += deriv**2
    np.testing.assert_allclose(ij, total, rtol=1e-6, atol=1e-12)
