"""The command line and its outputs: one ``error:`` line (with the path and the fix) and exit 1,
never a traceback, for a bad ``--out`` or a damaged cohort folder; a second import into one
folder refused without ``--force``; values from the user's files printed escaped."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dah_outcomes import Cohort, generate_cohort
from dah_outcomes.cli import main
from dah_outcomes.cli.output import escape_text
from dah_outcomes.errors import DahOutcomesWarning, warn
from dah_outcomes.io import cohort_files, save_cohort
from dah_outcomes.io.files import write_csv

pytestmark = pytest.mark.xdist_group("cli_outputs")


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate_cohort(n_sle=1500, seed=3)


@pytest.fixture
def registry(cohort: Cohort, tmp_path: Path) -> Path:
    """A source folder to import: patients and episodes tables."""
    folder = tmp_path / "registry"
    folder.mkdir()
    cohort.patients.to_csv(folder / "patients.csv", index=False, date_format="%Y-%m-%d")
    cohort.episodes.to_csv(folder / "episodes.csv", index=False, date_format="%Y-%m-%d")
    return folder


@pytest.fixture
def saved(cohort: Cohort, tmp_path: Path) -> Path:
    out = tmp_path / "cohort"
    save_cohort(cohort, out)
    return out


def error_of(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI; it must fail with exit 1 and one error line (in-process: an uncaught
    exception fails the test, as a traceback would)."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---------------------------------------------------------------- --out


def test_out_an_existing_file(registry: Path, tmp_path: Path, capsys) -> None:
    f = tmp_path / "taken.txt"
    f.write_text("mine")
    for argv in (
        ["import", str(registry), "--out", str(f)],
        ["generate", "--n-sle", "1000", "--out", str(f)],
        ["demo", "--n-sle", "1000", "--out", str(f)],
    ):
        err = error_of(capsys, argv)
        assert str(f) in err
        assert "it is a file" in err
    assert f.read_text() == "mine"


def test_out_a_read_only_folder(
    registry: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only folder (or disk) raises, for root too (root writes anywhere)."""

    def denied(*args: object, **kwargs: object) -> str:
        raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(cohort_files.tempfile, "mkdtemp", denied)
    out = tmp_path / "ro" / "cohort"
    for argv in (
        ["import", str(registry), "--out", str(out)],
        ["generate", "--n-sle", "1000", "--out", str(out)],
    ):
        err = error_of(capsys, argv)
        assert str(out) in err
        assert "permission denied" in err


def test_report_out_a_folder(tmp_path: Path, capsys) -> None:
    saved = tmp_path / "cohort"  # large enough for every section of the report
    save_cohort(generate_cohort(n_sle=5000, seed=1), saved)
    folder = tmp_path / "reports"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        err = error_of(capsys, ["report", str(saved), "--out", str(folder)])
    assert f"cannot write {folder}: it is a folder" in err
    assert list(folder.iterdir()) == []


def test_init_mapping_out_a_folder(registry: Path, tmp_path: Path, capsys) -> None:
    err = error_of(capsys, ["init-mapping", str(registry / "patients.csv"), "--out", str(tmp_path)])
    assert "is a folder" in err


def test_an_os_error_no_command_expected_is_one_line(
    saved: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error", str(saved / "patients.csv"))

    monkeypatch.setattr("dah_outcomes.io.load_cohort", broken)
    err = error_of(capsys, ["validate", str(saved)])
    assert f"{saved / 'patients.csv'}: Input/output error" in err


# ---------------------------------------------------------------- two imports, sources


def test_a_second_import_into_one_folder_needs_force(
    registry: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(registry), "--out", str(out)]) == 0
    first = snapshot(out)
    assert {"patients.csv", "episodes.csv", "provenance.json", "rejects.csv"} <= set(first)
    capsys.readouterr()
    err = error_of(capsys, ["import", str(registry), "--out", str(out)])
    assert "already holds a cohort" in err
    assert "--force" in err
    assert snapshot(out) == first
    assert (
        main(["import", str(registry), "--out", str(out), "--force", "--table-format", "parquet"])
        == 0
    )
    files = set(snapshot(out))
    assert {"patients.parquet", "episodes.parquet"} <= files
    assert not {"patients.csv", "episodes.csv"} & files  # nothing stale of the first import
    assert main(["validate", str(out)]) == 0


@pytest.mark.parametrize("where", ["same", "inside", "dotdot", "symlink", "holds-mapping"])
def test_import_never_writes_into_its_sources(
    registry: Path, tmp_path: Path, capsys, where: str
) -> None:
    link = tmp_path / "link"
    link.symlink_to(registry, target_is_directory=True)
    mapping = tmp_path / "maps" / "m.toml"
    mapping.parent.mkdir()
    mapping.write_text("")
    out = {
        "same": registry,
        "inside": registry / "out",
        "dotdot": registry / "x" / "..",
        "symlink": link / "cohort",
        "holds-mapping": mapping.parent,
    }[where]
    before = snapshot(registry)
    argv = ["import", str(registry), "--out", str(out), "--force"]
    if where == "holds-mapping":
        argv += ["--mapping", str(mapping)]
    err = error_of(capsys, argv)
    assert "refusing to write to" in err
    assert "source" in err
    assert snapshot(registry) == before
    assert set(p.name for p in registry.iterdir()) == {"patients.csv", "episodes.csv"}


def test_a_strict_import_that_fails_leaves_the_old_folder(
    registry: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(registry), "--out", str(out)]) == 0
    first = snapshot(out)
    bad = pd.read_csv(registry / "patients.csv", dtype=str)
    bad.loc[0, "sex"] = "X"
    bad.to_csv(registry / "patients.csv", index=False)
    assert main(["import", str(registry), "--out", str(out), "--force"]) == 1
    assert snapshot(out) == first


def test_generate_twice_needs_force(tmp_path: Path, capsys) -> None:
    out = tmp_path / "g"
    assert main(["generate", "--n-sle", "1000", "--seed", "1", "--out", str(out)]) == 0
    err = error_of(capsys, ["generate", "--n-sle", "1000", "--seed", "2", "--out", str(out)])
    assert "already holds a cohort" in err
    argv = ["generate", "--n-sle", "1000", "--seed", "2", "--out", str(out), "--force"]
    assert main(argv) == 0
    meta = json.loads((out / "provenance.json").read_text())
    assert meta["provenance"]["seed"] == 2


# ---------------------------------------------------------------- damaged cohort folders


@pytest.mark.parametrize(
    "content", [b"[1, 2, 3]", b'"text"', b"{not json", b"\xff\xfe\x00junk", b'{"files": [1]}']
)
@pytest.mark.parametrize("command", ["validate", "rates", "report"])
def test_a_junk_provenance_file(saved: Path, capsys, content: bytes, command: str) -> None:
    (saved / "provenance.json").write_bytes(content)
    argv = [command, str(saved)] + (["--out", str(saved.parent / "r.html")] * (command == "report"))
    err = error_of(capsys, argv)
    assert str(saved / "provenance.json") in err
    assert "delete provenance.json" in err


@pytest.mark.parametrize("command", ["validate", "rates", "survival"])
def test_a_tampered_cohort_folder(saved: Path, capsys, command: str) -> None:
    path = saved / "patients.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",site-Z"
    path.write_text("\n".join(lines) + "\n")
    err = error_of(capsys, [command, str(saved)])
    assert "patients.csv changed since provenance.json recorded its sha256" in err
    assert "Write it again" in err


def test_no_traceback_in_a_real_process(saved: Path, tmp_path: Path) -> None:
    """The same boundary as an installed command sees it (stderr of a fresh interpreter)."""
    (saved / "provenance.json").write_text("[]")
    f = tmp_path / "file"
    f.write_text("")
    for argv in (["validate", str(saved)], ["generate", "--n-sle", "500", "--out", str(f)]):
        proc = subprocess.run(
            [sys.executable, "-m", "dah_outcomes.cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1
        assert proc.stderr.startswith("error: ")
        assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- escaped output

HOSTILE_IDS = ["P\x1b[2J1", "P\x1b]8;;http://x.example\x07link", "P\r\x1b[31mred", "P\u202egnp.exe"]


def test_escape_text_shows_what_acts_on_a_terminal() -> None:
    assert escape_text("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escape_text("x\ry") == "x\\ry" or escape_text("x\ry") == "x\\x0dy"
    assert escape_text("\u202eabc") == "\\u202eabc"
    assert escape_text("line 1\nline 2\ttab") == "line 1\nline 2\\x09tab"
    assert escape_text("naïve Ωμέγα 中文 C:\\data") == "naïve Ωμέγα 中文 C:\\data"
    for s in HOSTILE_IDS:
        out = escape_text(s)
        assert not any(c in out for c in "\x1b\r\x07\u202e"), out


def test_patient_ids_in_problems_are_printed_escaped(small_tables, tmp_path: Path, capsys) -> None:
    patients, episodes = (t.copy() for t in small_tables)
    rename = dict(zip(patients["patient_id"][:4], HOSTILE_IDS, strict=True))
    patients["patient_id"] = patients["patient_id"].replace(rename)
    episodes["patient_id"] = episodes["patient_id"].replace(rename)
    patients["sex"] = "X"  # every patient invalid: every id is printed
    # written by hand, but with the lone CR quoted (pandas' own to_csv would split the row)
    write_csv(tmp_path / "patients.csv", patients)
    write_csv(tmp_path / "episodes.csv", episodes)
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "P\\x1b[2J1" in out
    assert "P\\u202egnp.exe" in out
    assert not any(c in out for c in "\x1b\r\x07\u202e")
    assert main(["validate", str(tmp_path), "--json"]) == 1
    text = capsys.readouterr().out
    assert "\x1b" not in text
    problems = json.loads(text)["problems"]
    assert {p["patient_id"] for p in problems} >= set(HOSTILE_IDS)  # JSON keeps the value


def test_error_and_warning_lines_are_escaped(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no\x1b[2Jsuch"
    err = error_of(capsys, ["validate", str(missing)])
    assert "no\\x1b[2Jsuch" in err
    assert "\x1b" not in err
    from dah_outcomes.cli.main import _show_warning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn("site \x1b[31mA\x1b[0m has few patients", DahOutcomesWarning)
    _show_warning(caught[0].message, DahOutcomesWarning, "f.py", 1)
    assert capsys.readouterr().err == "warning: site \\x1b[31mA\\x1b[0m has few patients\n"


def test_any_command_output_is_escaped(cohort: Cohort, tmp_path: Path, capsys) -> None:
    """Commands that print results (not through echo) pass nothing raw either."""
    patients = cohort.patients
    hostile = {"site-A": "\x1b[2Jsite-A", "site-B": "B\u202e"}
    patients["site"] = patients["site"].replace(hostile)
    save_cohort(Cohort(patients, cohort.episodes), tmp_path / "c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        assert main(["rates", str(tmp_path / "c"), "--by", "site"]) == 0
    out = capsys.readouterr().out
    assert "\\x1b[2Jsite-A" in out
    assert not any(c in out for c in "\x1b\u202e")
    assert main(["rates", str(tmp_path / "c"), "--by", "site", "--json"]) == 0
    groups = json.dumps(json.loads(capsys.readouterr().out))
    assert "\\u001b[2Jsite-A" in groups  # JSON carries the value itself, escaped as JSON does


# --- survival --plot: every journal format, at --dpi, the same bytes twice ----------------

#: How each format's file starts.
_SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "svg": (b"<?xml",),
    "pdf": (b"%PDF-",),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "eps": (b"%!PS-Adobe-3.0 EPSF",),
}


def _plot(saved: Path, path: Path, *extra: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)  # the analysis' own notes
        assert main(["survival", str(saved), "--by", "era", "--plot", str(path), *extra]) == 0


@pytest.mark.parametrize("suffix", list(_SIGNATURES))
def test_survival_plot_writes_each_format_with_the_same_bytes(
    saved: Path, tmp_path: Path, suffix: str, capsys
) -> None:
    first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    _plot(saved, first)
    _plot(saved, second)
    data = first.read_bytes()
    assert data.startswith(_SIGNATURES[suffix])
    assert second.read_bytes() == data
    assert b"CreationDate: " not in data or suffix == "eps"  # PostScript: the epoch only
    for stamp in (b"<dc:date>", b"Matplotlib v", b"matplotlib version"):
        assert stamp not in data
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, nothing left behind


def test_survival_plot_dpi(saved: Path, tmp_path: Path, capsys) -> None:
    from PIL import Image

    _plot(saved, tmp_path / "default.png")
    _plot(saved, tmp_path / "low.png", "--dpi", "150")
    _plot(saved, tmp_path / "print.tiff", "--dpi", "600")
    with (
        Image.open(tmp_path / "default.png") as default,
        Image.open(tmp_path / "low.png") as low,
        Image.open(tmp_path / "print.tiff") as tiff,
    ):
        # the default is 300 dpi: twice the pixels of 150 dpi each way (to rounding)
        assert default.size == pytest.approx((2 * low.size[0], 2 * low.size[1]), abs=2)
        assert tiff.size == pytest.approx((4 * low.size[0], 4 * low.size[1]), abs=4)
        assert tiff.info["dpi"] == pytest.approx((600, 600))
        assert tiff.mode == "RGB"


def test_recurrence_plot_writes_tiff(saved: Path, tmp_path: Path, capsys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DahOutcomesWarning)
        for name in ("a.tif", "b.tif"):
            argv = ["survival", str(saved), "--endpoint", "recurrence", "--by", "era"]
            assert main([*argv, "--plot", str(tmp_path / name), "--dpi", "100"]) == 0
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_survival_plot_refuses_a_suffix_before_analysing(saved: Path, tmp_path: Path, capsys):
    err = error_of(capsys, ["survival", str(saved), "--plot", str(tmp_path / "km.jpg")])
    for suffix in _SIGNATURES:
        assert f".{suffix}" in err
    assert not (tmp_path / "km.jpg").exists()
    assert capsys.readouterr().out == ""  # no analysis printed before the refusal
    with pytest.raises(SystemExit) as stop:
        main(["survival", str(saved), "--plot", str(tmp_path / "km.png"), "--dpi", "10"])
    assert stop.value.code == 2
    assert "--dpi" in capsys.readouterr().err
