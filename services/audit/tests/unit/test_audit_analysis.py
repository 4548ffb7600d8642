"""3101/3102: the rules on a proposed encounter, and the warnings they give."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from yidi_audit.app.analysis import warnings
from yidi_audit.domain import events
from yidi_audit.domain.analysis import ProposedEncounter, analyse
from yidi_audit.domain.engine import AuditConfig
from yidi_audit.domain.facts import FeeLine, SettledVisit
from yidi_events import registry
from yidi_events.contracts import audit as published

VisitFactory = Callable[..., SettledVisit]
PERSON = "32050000000000000001"


def _proposed(total_fee: int = 1_200_050) -> ProposedEncounter:
    admitted = date(2026, 3, 18)
    bed = FeeLine(
        catalogue_code="BED",
        charge_category="01",
        fee_date=admitted,
        quantity=Decimal(1),
        unit_price=Decimal("60.00"),
        amount=6000,
        fee_line_no="R1",
    )
    return ProposedEncounter(
        visit_id="MD-NEW",
        person_id=PERSON,
        institution_code="H32010000001",
        visit_region="320100",
        insured_region="320500",
        insurance_type="310",
        medical_type="21",
        admitted_on=admitted,
        discharged_on=admitted,
        principal_diagnosis="C34.900",
        total_fee=total_fee,
        fee_lines=(bed,),
    )


def test_proposed_readmission_warns_and_maps_to_warnings(visit: VisitFactory) -> None:
    earlier = visit(
        person_id=PERSON,
        admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 10),
        fund_total=500_000,
    )
    proposed = _proposed()
    history = [earlier]
    flags = analyse(history, proposed, AuditConfig())
    assert [w.rule_id for w in flags] == ["audit.split_hospitalization"]
    assert history == [earlier]  # nothing changed
    (row,) = warnings(proposed, flags)
    assert row["rule_id"] == "audit.split_hospitalization"
    assert (row["person_id"], row["visit_id"]) == (PERSON, "MD-NEW")
    assert row["severity"] == "suspected"
    assert earlier.settlement_id in row["evidence"]
    assert row["flag_id"] == flags[0].flag_id


def test_analysis_never_raises_the_investigation_rule_and_honours_rule_ids(
    visit: VisitFactory,
) -> None:
    proposed = _proposed(total_fee=5_000_000)
    assert analyse([], proposed, AuditConfig()) == []
    earlier = visit(person_id=PERSON, admitted_on=date(2026, 3, 1), discharged_on=date(2026, 3, 10))
    only_death = frozenset({"audit.settled_after_death"})
    assert analyse([earlier], proposed, AuditConfig(), rule_ids=only_death) == []


def test_audit_contracts_round_trip_through_the_registry(visit: VisitFactory) -> None:
    earlier = visit(admitted_on=date(2026, 3, 1), discharged_on=date(2026, 3, 10))
    later = visit(admitted_on=date(2026, 3, 12), discharged_on=date(2026, 3, 14))
    (flag,) = analyse([earlier], _as_proposed(later), AuditConfig())
    event = flag.to_event()
    assert registry.spec_of(event).event_type == "audit.FlagRaised"
    assert registry.decode("audit.FlagRaised", 1, registry.encode(event)) == event
    for name in (
        "CaseOpened",
        "CaseConfirmed",
        "CaseDismissed",
        "DirectSettlementSuspended",
        "DirectSettlementSuspensionEnded",
        "HospitalSuspended",
        "HospitalSuspensionEnded",
        "ClawbackDecided",
        "InvestigationBatchBuilt",
        "InvestigationAnswered",
        "InvestigationConfirmed",
        "TicketRaised",
        "TicketReplied",
        "TicketConfirmed",
        "ComplaintReceived",
        "ComplaintAcknowledged",
        "ComplaintResolved",
        "ComplainantNotified",
    ):
        # Published facts live in the shared contracts, the rest in audit's own module.
        owner = published if hasattr(published, name) else events
        assert registry.spec(f"audit.{name}").model is getattr(owner, name)
    assert registry.spec("audit.HospitalSuspended").key == "institution_code"


def _as_proposed(v: SettledVisit) -> ProposedEncounter:
    return ProposedEncounter(
        visit_id=v.visit_id,
        person_id=v.person_id,
        institution_code=v.institution_code,
        visit_region=v.visit_region,
        insured_region=v.insured_region,
        insurance_type=v.insurance_type,
        medical_type=v.medical_type,
        admitted_on=v.admitted_on,
        discharged_on=v.discharged_on,
        principal_diagnosis=v.principal_diagnosis,
        total_fee=v.total_fee,
    )
