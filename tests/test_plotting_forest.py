"""Forest plots a paper can print: readable labels, the reference row, and the columns
"HR (95% CI)", n/events and p beside the plot, inside the figure."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.plotting import plot_forest


@pytest.fixture
def table() -> pd.DataFrame:
    """As hazard_ratios returns it (group terms first), with counts added by the caller."""
    return pd.DataFrame(
        {
            "term": ["armRituximab", "armMP+CYC", "age10"],
            "level": ["Rituximab", "MP+CYC", None],
            "kind": ["group", "group", "adjustment"],
            "label": ["Rituximab vs MP alone", "MP+CYC vs MP alone", "Age (per 10 years)"],
            "hazard_ratio": [0.62, 1.21, 1.10],
            "ci_lower": [0.41, 0.88, 0.98],
            "ci_upper": [0.93, 1.66, 1.24],
            "p_value": [0.0213, 0.24, 2e-7],
            "n": [93, 1115, 300],
            "events": [40, 61, 150],
        }
    )


def _rows(ax) -> dict[float, list[str]]:
    """The texts of each row (by its y), left to right: label first, then the columns."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for y, tick in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True):
        rows.setdefault(float(y), []).append((-1.0, tick.get_text()))
    for t in ax.texts:
        (x_frac, y), (dx, _) = t.xy, t.xyann
        rows.setdefault(float(y), []).append((x_frac + dx, t.get_text()))
    return {y: [s for _, s in sorted(cells)] for y, cells in sorted(rows.items(), reverse=True)}


def test_columns_reference_row_and_labels(table) -> None:
    ax = plot_forest(table, reference="MP alone", reference_counts=(92, 52))
    rows = list(_rows(ax).values())
    assert rows == [
        ["HR (95% CI)", "n/events", "p"],  # the headings' row, above every term
        ["MP alone", "reference", "92/52", ""],
        ["Rituximab vs MP alone", "0.62 (0.41-0.93)", "93/40", "0.021"],
        ["MP+CYC vs MP alone", "1.21 (0.88-1.66)", "1,115/61", "0.240"],
        ["Age (per 10 years)", "1.10 (0.98-1.24)", "300/150", "<0.001"],
    ]
    # the reference is an open square at 1, with no interval
    (ref,) = [c for c in ax.collections if c.get_gid() == "reference"]
    assert ref.get_offsets().tolist() == [[1.0, 3.0]]
    assert ref.get_facecolors()[0].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert len(ax.collections[0].get_segments()) == 3


def test_the_reference_row_goes_before_the_first_group_row(table) -> None:
    lead = pd.DataFrame([{**table.iloc[2].to_dict(), "label": "Sex: male vs female"}])
    ax = plot_forest(pd.concat([lead, table], ignore_index=True), reference="MP alone")
    labels = [r[0] for r in _rows(ax).values()][1:]
    assert labels == [
        "Sex: male vs female",
        "MP alone",
        "Rituximab vs MP alone",
        "MP+CYC vs MP alone",
        "Age (per 10 years)",
    ]


def test_counts_from_n_events_or_none(table) -> None:
    renamed = table.rename(columns={"events": "n_events"})
    assert "93/40" in [t.get_text() for t in plot_forest(renamed).texts]
    assert "n/events" not in [t.get_text() for t in plot_forest(table, n=None).texts]


def test_columns_the_table_lacks_are_left_out(table) -> None:
    ax = plot_forest(table.drop(columns=["n", "events", "p_value"]))
    assert next(iter(_rows(ax).values())) == ["HR (95% CI)"]
    assert "term" not in [t.get_text() for t in ax.get_yticklabels()]
    # labels default to the readable column; a long one is wrapped
    long = table.assign(label=["a rather long label for the first term of the model"] * 3)
    text = plot_forest(long, wrap=20).get_yticklabels()[-1].get_text()
    assert "\n" in text
    assert max(len(part) for part in text.split("\n")) <= 20


def test_a_missing_interval_prints_na(table) -> None:
    bad = table.assign(ci_upper=[np.inf, 1.66, 1.24], hazard_ratio=[0.62, 1.21, np.nan])
    texts = [t.get_text() for t in plot_forest(bad).texts]
    assert "0.62 (NA)" in texts
    assert "NA" in texts


def test_the_columns_are_inside_a_plainly_saved_figure(table) -> None:
    ax = plot_forest(table, reference="MP alone")
    ax.set_title("Adjusted hazard ratios of death (reference: MP alone)", loc="left")
    fig = ax.figure
    fig.savefig(io.BytesIO(), format="png")
    page = fig.bbox
    boxes = [t.get_window_extent() for t in ax.texts]
    boxes += [t.get_window_extent() for t in ax.get_yticklabels()]
    for box in boxes:
        assert page.x0 - 1 <= box.x0
        assert box.x1 <= page.x1 + 1
    # no two texts overlap (columns, headings, labels and title)
    from matplotlib.text import Text

    (title,) = [
        c for c in ax.get_children() if isinstance(c, Text) and "reference:" in c.get_text()
    ]
    boxes.append(title.get_window_extent())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
