from datetime import date

from clearing_testkit import settlement

from yidi_clearing.domain.clearing_period import ClearingPeriod
from yidi_clearing.domain.events import StatementApproved
from yidi_clearing.domain.period_decisions import decide_generate_statement
from yidi_events import registry


def test_a_statement_survives_the_wire_and_is_keyed_by_period() -> None:
    (event,) = decide_generate_statement(
        ClearingPeriod(), "2026-03", [settlement("s1", account=5)], [], date(2026, 4, 2)
    )
    spec = registry.spec_of(event)
    assert spec.partition_key(event) == "2026-03"
    assert registry.decode(spec.event_type, spec.version, registry.encode(event)) == event


def test_every_clearing_contract_is_registered_with_its_key() -> None:
    keys = {s.event_type: s.key for s in registry.latest_specs() if s.service == "clearing"}
    assert keys["clearing.StatementApproved"] == "period"
    assert keys["clearing.ClearingApplied"] == "institution_code"
    assert {
        "clearing.StatementGenerated",
        "clearing.LineConfirmed",
        "clearing.LineDisputed",
        "clearing.NetPositionsComputed",
        "clearing.RemittanceRecorded",
        "clearing.DisbursementRecorded",
        "clearing.AdjustmentApproved",
        "clearing.PrepaidFundWarningRaised",
        "clearing.JournalEntryPosted",
        "clearing.ClearingApplicationWithdrawn",
        "clearing.ClearingStatusChanged",
    } <= set(keys)
    approved = StatementApproved(
        period="2026-03", input_hash="h", approvers=("a", "b"), approved_on=date(2026, 4, 5)
    )
    assert registry.decode("clearing.StatementApproved", 1, registry.encode(approved)) == approved
