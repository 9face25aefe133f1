"""Same input, same bytes, for every output: figures in every format, the report, the demo's
folder and an import's folder, each made twice (in separate interpreters where it matters, so
that hash seeds and clocks differ) and compared file by file, nothing left out."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from dah_outcomes import generate_cohort
from dah_outcomes.io import save_cohort
from dah_outcomes.plotting import plot_flow, plot_km, to_svg
from dah_outcomes.plotting._axes import FIGURE_FORMATS, save_figure
from dah_outcomes.stats import kaplan_meier

# a quarantine import of random corruption may warn of informative exclusion by chance
pytestmark = [
    pytest.mark.xdist_group("determinism"),
    pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning"),
]


def flow_figure() -> object:
    return plot_flow(
        [("Source rows read", 120), ("Rows accepted", 100), ("Cohort", "90 patients")],
        [("bad date", 12), ("unknown sex", None)],
        excluded=("Rows rejected", 20),
        title="Participant flow",
    )


def km_figure() -> object:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "time": rng.exponential(300, 80).round() + 1,
            "event": rng.random(80) < 0.6,
            "group": np.where(rng.random(80) < 0.5, "a", "b"),
        }
    )
    km = kaplan_meier(data, time="time", event="event", group="group")
    return plot_km(km, at_risk_times=[0, 200, 400])


def rendered(make: object, fmt: str) -> bytes:
    buf = io.BytesIO()
    save_figure(make(), buf, format=fmt)  # type: ignore[operator]
    return buf.getvalue()


@pytest.mark.parametrize("fmt", FIGURE_FORMATS)
@pytest.mark.parametrize("make", [flow_figure, km_figure], ids=["flow", "km"])
def test_a_figure_saved_twice_gives_the_same_bytes(make: object, fmt: str) -> None:
    first = rendered(make, fmt)
    if make is flow_figure:
        time.sleep(1.1)  # a date to the second would differ now
    assert rendered(make, fmt) == first
    for stamp in (b"<dc:date>", b"Matplotlib v", b"matplotlib version"):
        assert stamp not in first, stamp
    if fmt in ("ps", "eps"):  # PostScript always has a date: the epoch, never the clock
        assert b"%%CreationDate: Thu Jan 01 00:00:00 1970" in first
    else:
        assert b"CreationDate" not in first


def test_without_save_figure_the_svg_would_differ() -> None:
    """The control: matplotlib salts SVG ids at random, so the test above can fail."""

    def plain() -> bytes:
        fig = Figure()
        fig.add_subplot().plot([1, 2, 3])
        buf = io.BytesIO()
        fig.savefig(buf, format="svg")
        return buf.getvalue()

    assert plain() != plain()


def test_to_svg_is_stable() -> None:
    assert to_svg(km_figure()) == to_svg(km_figure())  # type: ignore[arg-type]


def run(argv: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "dah_outcomes.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def assert_same_trees(a: Path, b: Path) -> None:
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb)
    differ = [name for name in ta if ta[name] != tb[name]]
    assert differ == [], f"differ between two runs: {differ}"


def test_demo_twice_gives_the_same_folder(tmp_path: Path) -> None:
    """Every file of two demo runs (cohort, tables, JSON, PNG, SVG, the HTML report)."""
    for name in ("one", "two"):
        run(["demo", "--out", str(tmp_path / name), "--n-sle", "20000", "--seed", "3"], tmp_path)
    files = tree(tmp_path / "one")
    assert {"report.html", "cited_figures.svg", "cited_figures.png", "cohort/patients.csv"} <= set(
        files
    )
    assert_same_trees(tmp_path / "one", tmp_path / "two")


def test_import_and_report_twice_give_the_same_files(tmp_path: Path) -> None:
    cohort = generate_cohort(n_sle=3000, seed=5)
    source = tmp_path / "registry"
    source.mkdir()
    cohort.patients.to_csv(source / "patients.csv", index=False, date_format="%Y-%m-%d")
    episodes = cohort.episodes
    episodes.loc[episodes.index[0], "onset_date"] = None  # one rejected row: rejects.csv
    episodes.to_csv(source / "episodes.csv", index=False, date_format="%Y-%m-%d")
    for name in ("one", "two"):
        run(["import", "registry", "--out", name, "--quarantine"], tmp_path)
        run(["report", name, "--out", f"{name}.html"], tmp_path)
    assert "rejects.csv" in tree(tmp_path / "one")
    assert_same_trees(tmp_path / "one", tmp_path / "two")
    assert (tmp_path / "one.html").read_bytes() == (tmp_path / "two.html").read_bytes()


def test_save_cohort_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    cohort = generate_cohort(n_sle=2000, seed=6)
    for fmt in ("csv", "parquet"):
        save_cohort(cohort, tmp_path / f"a-{fmt}", format=fmt)  # type: ignore[arg-type]
        save_cohort(cohort, tmp_path / f"b-{fmt}", format=fmt)  # type: ignore[arg-type]
        assert_same_trees(tmp_path / f"a-{fmt}", tmp_path / f"b-{fmt}")
