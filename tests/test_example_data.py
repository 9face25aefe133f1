"""The committed example cohorts are exactly what the generator makes today."""

from __future__ import annotations

import json
from pathlib import Path

from dah_outcomes import load_cohort
from tools.example_data import EXAMPLES, write_examples

ROOT = Path(__file__).parents[1] / "data" / "synthetic"


def test_examples_regenerate_to_the_same_bytes(tmp_path: Path) -> None:
    committed = json.loads((ROOT / "MANIFEST.json").read_text())["examples"]
    fresh = write_examples(tmp_path)["examples"]
    assert set(committed) == {ex.folder for ex in EXAMPLES}
    for folder, entry in committed.items():
        assert fresh[folder]["sha256"] == entry["sha256"], folder
        assert fresh[folder]["fingerprint"] == entry["fingerprint"], folder


def test_committed_examples_load_and_validate() -> None:
    committed = json.loads((ROOT / "MANIFEST.json").read_text())["examples"]
    for folder, entry in committed.items():
        cohort = load_cohort(ROOT / folder)
        assert cohort.fingerprint == entry["fingerprint"]
        assert cohort.n_dah_patients == entry["dah_patients"]
