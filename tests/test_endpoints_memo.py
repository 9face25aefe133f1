"""The content-keyed cache of derived frames: a hit is the same frame as a fresh build, a
caller's edits never reach it, another cohort (or other arguments) never shares it, and it
holds at most FRAME_CACHE_ROWS rows."""

from __future__ import annotations

import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.endpoints import memo
from dah_outcomes.endpoints.frames import death_frame
from dah_outcomes.endpoints.timelines import treatment_timing


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=3_000, seed=5)


def test_a_cached_frame_equals_a_fresh_build_and_is_a_copy(cohort: Cohort) -> None:
    memo.clear_frame_caches()
    first = death_frame(cohort)
    first.loc[:, "time"] = -1.0  # a caller's edit
    first["extra"] = 1
    second = death_frame(cohort)
    memo.clear_frame_caches()
    fresh = death_frame(cohort)
    pd.testing.assert_frame_equal(second, fresh)
    assert "extra" not in second
    assert (second["time"] >= 0).all()


def test_another_cohort_or_argument_is_not_served_the_same_frame(cohort: Cohort) -> None:
    e = cohort.episodes
    untreated = (e["episode_number"] == 1) & (e["plasmapheresis"] == False)  # noqa: E712
    e.loc[e.index[untreated][0], "plasmapheresis"] = pd.NA  # recorded no -> not recorded
    other = Cohort(cohort.patients, e, design=cohort.design, treatments=cohort.treatments)
    a = treatment_timing(cohort, "plasmapheresis")
    b = treatment_timing(other, "plasmapheresis")
    assert not a.equals(b)
    c = treatment_timing(cohort, "cyclophosphamide")
    assert not a.equals(c)


def test_the_cache_is_bounded_by_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    @memo.cached_by_content
    def frame_of(c: Cohort, k: int) -> pd.DataFrame:
        calls.append(k)
        return pd.DataFrame({"k": [k] * 10})

    monkeypatch.setattr(memo, "FRAME_CACHE_ROWS", 25)
    small = generate_cohort("seed-article", n_sle=200, seed=1)
    for k in (1, 2, 3):  # 30 rows: the first is dropped
        frame_of(small, k)
    frame_of(small, 3)
    frame_of(small, 2)
    assert calls == [1, 2, 3]
    frame_of(small, 1)
    assert calls == [1, 2, 3, 1]
    # something that is not a cohort passes through uncached
    assert frame_of(None, 4)["k"].iloc[0] == 4  # type: ignore[arg-type]
    assert calls[-1] == 4
