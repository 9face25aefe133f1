"""--min-cell on the report: one policy for every count on the page, and no masked count
recoverable by subtraction from the counts shown (issue: import trust, outputs that harm)."""

from __future__ import annotations

import html
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from dah_outcomes import Cohort, generate_cohort, kaplan_meier
from dah_outcomes.errors import DahOutcomesWarning
from dah_outcomes.plotting import plot_km
from dah_outcomes.report import report
from dah_outcomes.suppression import hidden_groups, suppress_small_cells

MIN_CELL = 5
UNKNOWN = ("<5", "not shown", "suppressed", "–")


@pytest.fixture(scope="module")
def small_series() -> Cohort:
    # 39 DAH patients in arms of 12, 8, 3, 12 and 4: small cells everywhere
    return generate_cohort(n_sle=600, seed=3)


@pytest.fixture(scope="module")
def page(small_series: Cohort) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        return report(small_series, min_cell=MIN_CELL, emulate=False)


def _tables(page: str) -> dict[str, list[list[str]]]:
    """Each table's caption and its rows of cell texts (header row first)."""
    out = {}
    for caption, body in re.findall(r"<caption>(.*?)</caption>(.*?)</table>", page, flags=re.S):
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
            rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
        out[html.unescape(caption).strip()] = rows
    return out


def _count(cell: str) -> int | None:
    m = re.fullmatch(r"(\d[\d,]*)( \(.*\))?", cell)
    return int(m.group(1).replace(",", "")) if m else None


def _table(page: str, start: str) -> list[list[str]]:
    [rows] = [rows for caption, rows in _tables(page).items() if caption.startswith(start)]
    return rows


def test_no_count_below_the_threshold_is_shown(page: str) -> None:
    t1 = _table(page, "Characteristics of DAH patients")
    outcomes = _table(page, "Endpoints of the first DAH episode")
    recurrence = _table(page, "Recurrence:")
    cells = [c for r in t1[1:] for c in r[2:-2] if "%" in c]
    cells += [c for r in outcomes[1:] for c in r[2:4]]
    cells += [c for r in recurrence[1:] for c in r[1:4]]
    shown = [n for c in cells if (n := _count(c)) is not None]
    assert shown, "the tables were read"
    assert all(n == 0 or n >= MIN_CELL for n in shown)
    # group sizes in Table 1's header too
    sizes = [int(n) for n in re.findall(r"\(n = (\d+)\)", " ".join(t1[0]))]
    assert all(n >= MIN_CELL for n in sizes)


def test_no_masked_count_comes_back_by_subtraction_in_table_one(page: str) -> None:
    t1 = _table(page, "Characteristics of DAH patients")
    header = t1[0]
    groups = header[3:-2]
    assert any("not shown" in g for g in groups), "the arms of 3 and 4 are hidden"
    for row in t1[1:]:
        if not any("%" in c for c in row[2:-2]):
            continue  # medians
        overall, cells = row[2], row[3:-2]
        unknown = [c for c in cells if c in UNKNOWN]
        if _count(overall) is not None:
            # the overall count is the groups' total: one unknown group would be recovered
            assert len(unknown) != 1, row


def test_no_masked_count_comes_back_by_subtraction_in_the_outcome_tables(page: str) -> None:
    outcomes = _table(page, "Endpoints of the first DAH episode")
    by_endpoint: dict[str, list[list[str]]] = {}
    for r in outcomes[1:]:
        by_endpoint.setdefault(r[0], []).append(r)
    for endpoint, rows in by_endpoint.items():
        groups = [r for r in rows if r[1] != "overall"]
        overall = [r for r in rows if r[1] == "overall"]
        if not groups or not overall:
            continue
        for column in (2, 3):  # events, total; non-events = total - events
            unknown = [r for r in groups if r[column] in UNKNOWN]
            assert len(unknown) != 1, (endpoint, column)
        hidden_events = [r for r in groups if r[2] in UNKNOWN and r[3] not in UNKNOWN]
        for r in hidden_events:  # the estimate would give the count back
            assert r[4] == "suppressed"
    recurrence = _table(page, "Recurrence:")
    groups = [r for r in recurrence[1:] if r[0] != "overall"]
    for column in (1, 2, 3):
        assert len([r for r in groups if r[column] in UNKNOWN]) != 1, column
    for r in groups:
        if r[2] in UNKNOWN:
            assert all(c in UNKNOWN for c in r[4:]), r


def test_hidden_groups_leave_the_figures_and_the_survival_tables(page: str) -> None:
    survival = _table(page, "Survival at 30 days")
    medians = _table(page, "Median survival")
    groups = {r[0] for r in survival[1:]} | {r[0] for r in medians[1:]}
    assert groups
    assert not groups & {"Rituximab", "Other"}
    assert "Rituximab" not in re.search(
        r'aria-label="Cumulative incidence of recurrence by group[^"]*"', page
    ).group(0)
    for r in medians[1:]:
        for c in r[1:3]:
            n = _count(c)
            assert n is None or n == 0 or n >= MIN_CELL


def test_the_at_risk_table_masks_small_numbers() -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"time": rng.exponential(300, 30), "event": rng.integers(0, 2, 30)})
    km = kaplan_meier(data, time="time", event="event")
    ax = plot_km(km, at_risk_times=[0, 300, 900], min_cell=MIN_CELL)
    table = ax.figure.axes[-1]
    texts = [t.get_text() for t in table.texts]
    assert texts[0] == "30"
    numbers = [int(t) for t in texts if t.isdigit()]
    assert all(n == 0 or n >= MIN_CELL for n in numbers)
    assert isinstance(ax.figure, Figure)
    plain = plot_km(km, at_risk_times=[0, 300, 900])
    assert "<5" not in [t.get_text() for t in plain.figure.axes[-1].texts]


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ({"A": 12, "B": 3, "C": 8}, ["B", "C"]),  # one small group hides the next smallest
        ({"A": 12, "B": 3, "C": 4}, ["B", "C"]),
        ({"A": 12, "B": 30}, []),
        ({"A": 2}, ["A"]),
        ({"A": 12, "B": 0, "C": 3, "D": 9}, ["C", "D"]),
    ],
)
def test_hidden_groups(sizes: dict[str, int], hidden: list[str]) -> None:
    assert hidden_groups(sizes, MIN_CELL) == hidden
    assert hidden_groups(sizes, None) == []


def test_hidden_cells_count_as_masked() -> None:
    table = pd.DataFrame({"a": [10, 20], "b": [30, 40], "total": [40, 60]})
    gone = np.array([[True, False, False], [False, False, False]])
    masked = suppress_small_cells(table, ["a", "b"], MIN_CELL, total_column="total", hidden=gone)
    # a hidden cell alone in its row and column would be recovered: partners are masked
    assert masked.isna().to_numpy().sum() >= 3
    with pytest.raises(ValueError, match="hidden must have shape"):
        suppress_small_cells(table, ["a", "b"], MIN_CELL, hidden=np.zeros((1, 1), dtype=bool))


def test_a_case_series_says_why_it_has_no_incidence(small_series: Cohort) -> None:
    dah = small_series.episodes["patient_id"].unique()
    series = Cohort(
        small_series.patients[small_series.patients["patient_id"].isin(dah)],
        small_series.episodes,
        treatments=small_series.treatments,
    )
    assert series.design == "case_series"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        page = report(series, emulate=False)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Incidence of DAH: not reported: the cohort is a case series" in " ".join(text.split())
    assert "Incidence is among all SLE patients" not in page


def test_table_one_carries_the_numbers_behind_its_cells(small_series: Cohort) -> None:
    from dah_outcomes.analyses import table_one

    t1 = table_one(small_series, "arm")
    cells = t1.cell_counts.set_index(["variable", "group"])
    for _, row in t1.table[t1.table["kind"] == "flag"].iterrows():
        for g in ["overall", *t1.counts]:
            c = cells.loc[(row["variable"], g)]
            k, n = int(c["events"]), int(c["known"])
            assert row[g] == (f"{k} ({100 * k / n:.1f}%)" if n else "–")
            if g != "overall":
                assert n + int(c["missing"]) == t1.counts[g]
