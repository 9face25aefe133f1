"""The report's missing data, flow and methods: the missing-data section beside the flow,
CONSORT-style reasons instead of rule codes, the adjustment set actually used and the
missing-data handling stated in the methods, vital status in the flow."""

from __future__ import annotations

import re
from pathlib import Path

from dah_outcomes.plotting.flow import FLOW_REASONS, flow_reason, plot_flow

PACKAGE = Path(__file__).resolve().parents[1] / "dah_outcomes"


def _rule_codes() -> set[str]:
    """Every reason code the validation and the import can give a row: the rule tables and
    every ``"rule": "..."`` literal in the package (layouts, readers, cohort files)."""
    from dah_outcomes.io.staging import EXTRA_RULES
    from dah_outcomes.validation import RULES
    from dah_outcomes.vital_status import VITAL_STATUS_RULES

    codes = set(RULES) | set(EXTRA_RULES) | set(VITAL_STATUS_RULES)
    for path in PACKAGE.rglob("*.py"):
        codes |= set(re.findall(r"[\"']rule[\"']:\s*[\"'](\w+)[\"']", path.read_text("utf-8")))
    return codes


def test_every_rule_code_has_a_plain_reason() -> None:
    codes = _rule_codes()
    assert len(codes) >= 40  # the scan found the tables and the literals
    missing = sorted(codes - set(FLOW_REASONS))
    assert not missing, f"rule codes without a flow reason in plotting/flow.py: {missing}"
    for code in codes:
        reason = flow_reason(code)
        assert reason != code
        assert "_" not in reason
    assert flow_reason("  reason: followup_end_before_start") == (
        "follow-up end before follow-up start"
    )
    assert flow_reason("something_new") == "something new"


def test_flow_diagram_shows_reasons_not_codes() -> None:
    ax = plot_flow(
        [("Source rows read", 40), ("Rows accepted", 31)],
        [("followup_after_death", 9)],
        excluded=("Rows rejected", 9),
    )
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "follow-up continuing after death: 9" in texts
    assert "followup_after_death" not in texts
