"""The HTML report: content, escaping, small-cell suppression, and a real browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.cli import main
from dah_outcomes.report import report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort("seed-article", n_sle=40_000, seed=8)


def test_sections_and_self_contained(cohort: Cohort) -> None:
    html = report(cohort)
    for heading in (
        "Participant flow",
        "Table 1. Baseline characteristics by arm",
        "Outcomes by arm",
        "Survival by arm",
        "Log-rank test",
        "Adjusted hazard ratios",
        "Cumulative incidence of a first recurrence",
        "Methods",
        "Provenance",
    ):
        assert heading in html
    assert cohort.fingerprint in html
    # no external resources: no http(s) links, scripts or stylesheets from elsewhere
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "<script" not in html
    assert html.count("<svg") >= 4 and 'scope="col"' in html and "aria-label=" in html


def test_values_are_escaped(small_tables) -> None:
    p, e = small_tables
    p = p.assign(site=["<script>alert(1)</script>"] * 5)
    html = report(Cohort(p, e), by="site")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_small_cell_suppression(cohort: Cohort) -> None:
    plain = report(cohort)
    masked = report(cohort, min_cell=11)
    assert "&lt;11" not in plain
    assert "&lt;11" in masked and "counts below 11 masked" in masked


def test_cli_report_and_demo(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["generate", "--n-sle", "5000", "--seed", "1", "--out", str(out)]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "r.html"), "--min-cell", "5"]) == 0
    assert "Outcomes by arm" in (tmp_path / "r.html").read_text()


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make browser installs Debian's chromium)"
)
def test_report_in_a_real_browser(cohort: Cohort, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    page_path.write_text(report(cohort, min_cell=5), encoding="utf-8")
    console, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
        page.goto(page_path.as_uri())
        tables = page.locator("table")
        assert tables.count() >= 2
        assert page.locator("#table1 table").is_visible()
        assert page.locator("#outcomes table").is_visible()
        assert page.locator("#survival figure svg").first.is_visible()
        assert page.locator("#survival figure svg").nth(1).is_visible()
        assert page.locator("figure svg").first.is_visible()
        assert page.locator("h1").inner_text().startswith("Diffuse alveolar")
        page.screenshot(path=str(tmp_path / "report.png"))
        browser.close()
    assert not [c for c in console if c[0] in ("error", "pageerror")], console
    assert not failed, failed
    assert (tmp_path / "report.png").stat().st_size > 10_000
