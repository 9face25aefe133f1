"""The chunked (streamed) import gives exactly what the whole-file import gives: the same cohort
fingerprint, the same rejects with the same reasons, the same counts and the same errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from test_import_properties import corrupted

from dah_outcomes import Cohort, ValidationError
from dah_outcomes.io.cohort_files import sha256_file
from dah_outcomes.io.importer import read_cohort
from dah_outcomes.io.mapping import load_mapping
from dah_outcomes.io.readers import _count_lines, _detect_encoding
from dah_outcomes.io.streaming import prepare_streamed, scan_file

# Quarantine imports of rows corrupted at random reject a random handful of patients, and the
# informative-exclusion rule (a risk ratio of 2 counts, whatever the power) then fires by
# chance; that check has tests of its own (test_informative_exclusion.py).
pytestmark = pytest.mark.filterwarnings("ignore::dah_outcomes.errors.InformativeExclusionWarning")


@pytest.fixture
def messy(cohort: Cohort, tmp_path: Path) -> Path:
    """A flat source whose problems straddle chunks of 7 rows: bad values, bad dates, ids
    duplicated across chunks, an onset outside follow-up, a fatal episode without a death
    date, an id differing only by spaces, a flag and a count that disagree."""
    first = cohort.episodes[cohort.episodes["episode_number"] == 1]
    flat = cohort.patients.merge(first, on="patient_id", how="left")
    # 100 rows (40 with an episode) keep the 7-row chunks few enough for a quick test
    has = flat["onset_date"].notna()
    flat = pd.concat([flat[~has].head(60), flat[has].head(40)]).sort_index()
    flat = flat.reset_index(drop=True).astype(object)
    # the alive DAH patients first, so that dah[1] has no death date to find
    dah = flat.index[flat["onset_date"].notna()]
    dah = dah[np.argsort(flat.loc[dah, "death_date"].notna().to_numpy(), kind="stable")]
    flat.loc[3, "sex"] = "X"
    flat.loc[10, "followup_end"] = "2020-13-45"
    flat.loc[20, "patient_id"] = flat.loc[5, "patient_id"]  # duplicate in an earlier chunk
    flat.loc[40, "patient_id"] = "  " + str(flat.loc[41, "patient_id"])
    flat.loc[dah[0], "onset_date"] = "1901-01-01"
    flat.loc[dah[1], "in_hospital_death"] = True
    flat.loc[dah[2], "hemoglobin_drop"] = "99"
    flat.loc[dah[3], "ventilation_days"] = "2.5"
    flat.loc[dah[4], "nephritis"] = "maybe"
    flat.loc[dah[5], "mechanical_ventilation"] = False
    flat.loc[dah[5], "ventilation_days"] = 4
    path = tmp_path / "messy.csv"
    flat.to_csv(path, index=False)
    return path


def _outcome(path: Path, mode: str, chunk_rows: int) -> dict:
    try:
        r = read_cohort(path, mode=mode, chunk_rows=chunk_rows)
    except ValidationError as err:
        return {"problems": err.problems}
    return {
        "fingerprint": r.cohort.fingerprint,
        "design": r.cohort.design,
        "counts": (r.rows_read, r.rows_accepted, r.rows_rejected),
        "rejects": r.rejects,
        "flow": r.flow,
        "files": r.provenance["files"],
    }


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k], b[k])
        else:
            assert a[k] == b[k], k


def test_messy_source_is_streamed(messy: Path) -> None:
    assert (
        prepare_streamed(
            messy,
            load_mapping(None),
            dictionary=None,
            format=None,
            chunk_rows=7,
            progress=lambda step, f: None,
        )
        is not None
    )


@pytest.mark.parametrize("mode", ["strict", "quarantine"])
def test_chunked_equals_whole_file(messy: Path, mode: str) -> None:
    whole = _outcome(messy, mode, chunk_rows=0)
    _same(_outcome(messy, mode, chunk_rows=7), whole)
    _same(_outcome(messy, mode, chunk_rows=64), whole)  # one chunk, then a short one
    if mode == "strict":
        assert len(whole["problems"]) >= 10
    else:
        read, accepted, rejected = whole["counts"]
        assert read == accepted + rejected
        assert rejected >= 10
        assert {
            "duplicate_id",
            "onset_outside_followup",
            "inconsistent_flags",
            "in_hospital_death_without_death_date",
        } <= set(whole["rejects"]["rule"])


def test_clean_source_chunked_keeps_the_fingerprint(cohort: Cohort, tmp_path: Path) -> None:
    first = cohort.episodes[cohort.episodes["episode_number"] == 1]
    cohort.patients.merge(first, on="patient_id", how="left").to_csv(
        tmp_path / "f.csv", index=False
    )
    r = read_cohort(tmp_path / "f.csv", chunk_rows=300)
    assert r.rows_rejected == 0
    assert r.cohort.fingerprint == Cohort(cohort.patients, first).fingerprint


def test_scan_file_agrees_with_the_three_passes(tmp_path: Path) -> None:
    cases = {
        "ascii.csv": b"a,b\n1,2\n3,4",
        "utf8.csv": "a,b\n\xf1,\xe9\n".encode(),
        "bom.csv": b"\xef\xbb\xbfa,b\n1,2\n",
        "latin1.csv": "a,b\n\xf1,2\n".encode("latin-1"),
        "empty.csv": b"",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        scan = scan_file(path)
        assert scan.sha256 == sha256_file(path)
        assert scan.encoding == _detect_encoding(path), name
        assert scan.n_lines == _count_lines(path), name


@pytest.mark.parametrize("mode", ["strict", "quarantine"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=corrupted())
def test_chunked_equals_whole_file_on_malformed_inputs(mode: str, case: tuple[str, int]) -> None:
    text, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "source.csv"
        path.write_text(text, encoding="utf-8")
        try:
            whole = _outcome(path, mode, chunk_rows=0)
        except Exception as err:  # e.g. duplicated column names: same error either way
            with pytest.raises(type(err)):
                _outcome(path, mode, chunk_rows=7)
            return
        _same(_outcome(path, mode, chunk_rows=7), whole)
