"""The HTML report: content, escaping, small-cell suppression, and a real browser."""

from __future__ import annotations

import contextlib
import html
import re
import shutil
import warnings
from pathlib import Path

import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.cli import main
from dah_outcomes.errors import DahOutcomesWarning, ImmortalTimeWarning
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


def immortal_time(by: str = "arm"):
    """The generated cohorts' treatments start after onset (or have no start date): a
    comparison by arm warns, and so does a report's naive treatment effect."""
    if by != "arm":
        return contextlib.nullcontext()
    return pytest.warns(ImmortalTimeWarning, match="immortal-time bias")


def test_sections_and_self_contained(cohort: Cohort) -> None:
    with immortal_time():
        html = report(cohort, emulate=False)
    for heading in (
        "Participant flow",
        "Table 1. Baseline characteristics by arm",
        "Outcomes by arm",
        "Survival by arm",
        "Log-rank test",
        "Adjusted hazard ratios",
        "Cumulative incidence of a first recurrence",
        "Recurrence: cumulative incidence with death competing, and rate",
        "not counted as incident cases",
        "mortality per episode",
        "Methods",
        "Provenance",
    ):
        assert heading in html
    assert cohort.fingerprint in html
    # no external resources: no http(s) links, scripts or stylesheets from elsewhere
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "<script" not in html
    assert html.count("<svg") >= 4
    assert 'scope="col"' in html
    assert "aria-label=" in html


def test_values_are_escaped(small_tables) -> None:
    p, e = small_tables
    p = p.assign(site=["<script>alert(1)</script>"] * 5)
    html = report(Cohort(p, e), by="site", emulate=False)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_small_cell_suppression(cohort: Cohort) -> None:
    with immortal_time():
        plain = report(cohort, emulate=False)
    with immortal_time():
        masked = report(cohort, min_cell=11, emulate=False)
    assert "&lt;11" not in plain
    assert "&lt;11" in masked
    assert "counts below 11 masked" in masked


def _forest_alt(page: str) -> str:
    match = re.search(r'aria-label="Forest plot of hazard ratios: ([^"]*)"', page)
    assert match is not None, "the report has no hazard-ratio figure"
    return html.unescape(match.group(1))


def _methods(page: str) -> str:
    section = page[page.index('id="methods"') : page.index('id="provenance"')]
    return html.unescape(section)


def test_hazard_ratio_figure_is_the_public_analysis(cohort: Cohort) -> None:
    from dah_outcomes import hazard_ratios

    for by in ("arm", "era"):
        with immortal_time():  # the naive treatment effects, whatever the grouping
            page = report(cohort, by=by, emulate=False)
        with immortal_time(by):
            hr = hazard_ratios(cohort, by=by)
        frame = hr.to_frame()
        drawn = _forest_alt(page).split("; ")
        assert drawn == [
            f"{r.label} {r.hazard_ratio:.2f} ({r.ci_lower:.2f} to {r.ci_upper:.2f})"
            for r in frame.itertuples()
        ]
        assert f"<p>{html.escape(hr.methods_text())}</p>" in page


def test_methods_name_the_adjustment_the_model_used(cohort: Cohort) -> None:
    import pandas as pd

    from dah_outcomes import DEFAULT_ADJUSTMENT, hazard_ratios
    from dah_outcomes.analyses.hazard_ratios import COVARIATES

    with immortal_time():
        page = report(cohort, emulate=False)
    with immortal_time():
        hr = hazard_ratios(cohort)
    assert hr.adjusted_for == DEFAULT_ADJUSTMENT
    methods = _methods(page)
    assert hr.methods_text() in methods
    for c in DEFAULT_ADJUSTMENT:
        assert COVARIATES[c] in methods
    # a covariate with no recorded value is not in the model, and the methods say so
    blank = Cohort(cohort.patients, cohort.episodes.assign(infection=pd.NA), design=cohort.design)
    with immortal_time():
        page = report(blank, emulate=False)
    with immortal_time():
        hr = hazard_ratios(blank)
    assert "infection" not in hr.adjusted_for
    assert hr.not_adjusted == {"infection": "no value recorded"}
    methods = _methods(page)
    assert hr.methods_text() in methods
    adjusted, _, left_out = hr.methods_text().partition("Not adjusted for")
    assert "concurrent infection" not in adjusted
    assert "concurrent infection (no value recorded)" in left_out
    assert "concurrent infection" not in _forest_alt(page)
    assert [t.split(" ")[0] for t in _forest_alt(page).split("; ")][-3:] == [
        "severe",
        "mechanical",
        "era",
    ]


def test_every_grouping_gets_the_same_sections(cohort: Cohort) -> None:
    for by in ("site", "sex"):
        with immortal_time():  # the naive treatment effects, whatever the grouping
            page = report(cohort, by=by, emulate=False)
        for heading in (f"Table 1. Baseline characteristics by {by}", f"Survival by {by}"):
            assert heading in page
        assert "Forest plot of hazard ratios" in page


def test_cli_report_and_demo(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["generate", "--n-sle", "5000", "--seed", "1", "--out", str(out)]) == 0
    with warnings.catch_warnings():
        # a small cohort: the naive effects' immortal time, and the emulated trials'
        # positivity, are printed by the command (their content is tested elsewhere)
        warnings.simplefilter("always", DahOutcomesWarning)
        assert main(["report", str(out), "--out", str(tmp_path / "r.html"), "--min-cell", "5"]) == 0
    assert "Outcomes by arm" in (tmp_path / "r.html").read_text()


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make browser installs Debian's chromium)"
)
def test_report_in_a_real_browser(cohort: Cohort, tmp_path: Path) -> None:
    """The whole page (causal sections too) in headless Chromium: no console error or failed
    request, every table and figure visible, and each figure painted: its screenshot has the
    size the SVG asks for and holds drawn pixels in several colours, not a blank box."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        from dah_outcomes import compare_cited_figures

        cited = compare_cited_figures(cohort)
        page_path.write_text(
            report(cohort, min_cell=5, bootstrap=10, seed=1, cited_figures=cited),
            encoding="utf-8",
        )
    n_figures = page_path.read_text("utf-8").count("<figure")
    assert n_figures >= 8  # KM, CIF, forest, two trials' risks, love, overlap, ...
    console, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
        page.goto(page_path.as_uri())
        assert page.locator("h1").inner_text().startswith("Diffuse alveolar")
        for section in (
            "#table1",
            "#outcomes",
            "#cited-figures",
            "#survival",
            "#target-trials",
            "#methods",
        ):
            assert page.locator(section).is_visible(), section
        tables = page.locator("table")
        assert tables.count() >= 8
        for i in range(tables.count()):
            table = tables.nth(i)
            table.scroll_into_view_if_needed()
            assert table.is_visible()
            assert table.bounding_box()["height"] > 20  # type: ignore[index]
        figures = page.locator("figure svg")
        assert figures.count() == n_figures
        for i in range(figures.count()):
            svg = figures.nth(i)
            svg.scroll_into_view_if_needed()
            box = svg.bounding_box()
            assert box is not None
            assert box["width"] > 300, (i, box)
            assert box["height"] > 200, (i, box)
            shot = tmp_path / f"figure-{i}.png"
            svg.screenshot(path=str(shot))
            with Image.open(shot) as image:
                assert abs(image.width - box["width"]) <= 2, (i, image.size, box)
                pixels = image.convert("RGB").resize((200, 150))
                colours = pixels.getcolors(maxcolors=200 * 150) or []
                drawn = sum(n for n, c in colours if sum(c) < 3 * 235)
                assert drawn > 0.02 * 200 * 150, f"figure {i} is nearly blank"
                assert len(colours) > 20, f"figure {i} has {len(colours)} colours"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        browser.close()
    assert not [c for c in console if c[0] in ("error", "pageerror")], console
    assert not failed, failed
    with Image.open(tmp_path / "report.png") as full:
        assert full.width == 1280
        assert abs(full.height - height) <= 2
    assert height > 5_000  # every section laid out, not collapsed


def test_survival_section_uses_treatment_timing_when_recorded(cohort: Cohort) -> None:
    """With start dates, each dated treatment's time-varying and landmark hazard ratios sit
    beside the naive one, whose immortal-time warning the page shows; without, the page says
    that no unbiased treatment effect can be estimated."""
    from treated_cohorts import ARM_TREATMENTS, with_courses

    from dah_outcomes import treatment_effect

    undated = Cohort(cohort.patients, cohort.episodes, design=cohort.design)  # flags only
    with immortal_time():
        page = report(undated, emulate=False)
    assert "records no treatment start dates" in html.unescape(page)
    assert "Hazard ratio of death for each treatment" not in page
    dated = with_courses(
        undated, {**dict.fromkeys(ARM_TREATMENTS, 0), "plasmapheresis": (1, 10)}, seed=3
    )
    with immortal_time():
        page = html.unescape(report(dated, landmark_days=5, emulate=False))
    survival = page[page.index('id="survival"') : page.index('id="methods"')]
    assert "Hazard ratio of death for each treatment with recorded start dates" in survival
    for method, days in (("time-varying", None), ("landmark", 5), ("naive", None)):
        if method == "naive":
            with pytest.warns(ImmortalTimeWarning, match="naive hazard ratio of plasmapheresis"):
                fit = treatment_effect(dated, "plasmapheresis", method=method)
            assert fit.warnings[0] in survival  # shown as a warning on the page
        else:
            fit = treatment_effect(dated, "plasmapheresis", method=method, landmark_days=days)
        label = "landmark at day 5" if method == "landmark" else method
        cell = f"{fit.hazard_ratio:.2f} ({fit.ci_lower:.2f} to {fit.ci_upper:.2f})"
        row = re.search(
            rf"<th scope=\"row\">plasmapheresis</th><td>{label}</td><td>([^<]*)</td>", survival
        )
        assert row is not None, method
        assert row.group(1) == cell
    # every dated treatment gets its three rows; day-0 courses warn for none of them
    rows = re.findall(r"<th scope=\"row\">(\w+)</th><td>(time-varying|landmark|naive)", survival)
    assert len(rows) == 3 * len(ARM_TREATMENTS)
    assert "naive hazard ratio of cyclophosphamide" not in survival
    assert "The landmark is day 5" in page


def test_each_group_keeps_its_colour_across_the_page(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Kaplan-Meier and the cumulative-incidence figures are drawn with one mapping of
    group to colour (Okabe-Ito, dealt over every group of the grouping); a group one figure
    lacks gets a colour no other group has."""
    from dah_outcomes.plotting.colors import OKABE_ITO
    from dah_outcomes.report import survival_sections as module
    from dah_outcomes.report.survival_sections import page_colors

    seen: dict[str, dict[str, str]] = {}
    for name in ("plot_km", "plot_cif"):
        original = getattr(module, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            seen[_name] = dict(kwargs["palette"])
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    with immortal_time():
        page = report(cohort, emulate=False)
    km, cif = seen["plot_km"], seen["plot_cif"]
    assert set(km) >= {"MP+CYC+PLEX", "MP+CYC"}
    assert all(cif[g] == km[g] for g in km.keys() & cif.keys())
    assert set(km.values()) <= set(OKABE_ITO.values())
    assert len(set(km.values())) == len(km)
    for colour in km.values():  # the colours reach the page's figures
        assert colour.lower() in page.lower()
    extended = page_colors({"a": km["MP+CYC"]}, ["a", "Unknown"])
    assert extended["a"] == km["MP+CYC"]
    assert extended["Unknown"] not in {km["MP+CYC"]}


def test_figures_are_numbered_and_written_as_files(cohort: Cohort, tmp_path: Path) -> None:
    """Every figure of the page is numbered in its caption and, with ``figures_dir``, written
    as figure-NN.png (300 dpi) and figure-NN.svg, the same bytes twice; the cited figures'
    section sits after the outcomes when given."""
    from PIL import Image

    from dah_outcomes import compare_cited_figures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        comparison = compare_cited_figures(cohort)
    with immortal_time():
        page = report(cohort, emulate=False, cited_figures=comparison, figures_dir=tmp_path / "one")
    with immortal_time():
        report(cohort, emulate=False, cited_figures=comparison, figures_dir=tmp_path / "two")
    n = page.count("<figure")
    assert n >= 5
    for k in range(1, n + 1):
        assert f"<strong>Figure {k}.</strong>" in page
    assert f"<strong>Figure {n + 1}.</strong>" not in page
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(
        f"figure-{k:02d}.{ext}" for k in range(1, n + 1) for ext in ("png", "svg")
    )
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    with Image.open(tmp_path / "one" / "figure-01.png") as image:
        assert round(image.info["dpi"][0]) == 300
    assert "figure files</dt><dd>figure-01 to figure-" in html.unescape(page)
    ids = re.findall(r'<section[^>]*id="([^"]+)"', page)
    assert ids.index("outcomes") < ids.index("cited-figures") < ids.index("survival")
    cited = html.unescape(page[page.index('id="cited-figures"') : page.index('id="survival"')])
    for rec in comparison.to_frame().to_dict("records"):
        assert f"{rec['printed']}" in cited
        assert f"{rec['events']:,} / {rec['total']:,}" in cited
    assert "not the printed figure, but the printed figure lies inside" in cited


def test_cli_report_writes_its_figures_beside_the_page(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["generate", "--n-sle", "3000", "--seed", "2", "--out", str(out)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        argv = ["report", str(out), "--out", str(tmp_path / "page.html"), "--no-emulation"]
        assert main(argv) == 0
        assert (tmp_path / "page_figures" / "figure-01.png").exists()
        assert main([*argv, "--figures-dir", str(tmp_path / "figs")]) == 0
        assert (tmp_path / "figs" / "figure-01.svg").exists()
        (tmp_path / "page.html").unlink()
        assert main([*argv, "--out", str(tmp_path / "bare.html"), "--no-figure-files"]) == 0
    assert not (tmp_path / "bare_figures").exists()
