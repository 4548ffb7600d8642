"""3101/3102: the national request becomes a proposed encounter; warnings become result rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from yidi_audit.adapters.wire import encounters_from_3101, results_to_3101
from yidi_audit.domain import events
from yidi_audit.domain.analysis import ProposedEncounter, analyse
from yidi_audit.domain.engine import AuditConfig
from yidi_audit.domain.facts import SettledVisit
from yidi_events import registry
from yidi_events.contracts import audit as published
from yidi_events.kernel import DomainError

VisitFactory = Callable[..., SettledVisit]
PERSON = "32050000000000000001"


def _request(**encounter: Any) -> dict[str, Any]:
    base = {
        "mdtrt_id": "MD-NEW",
        "medins_id": "H32010000001",
        "medins_admdvs": "320100",
        "med_type": "21",
        "insutype": "310",
        "adm_date": "2026-03-18 09:30:00",
        "dscg_main_dise_codg": "C34.900",
        "medfee_sumamt": 12000.5,
        "fsi_order_dtos": [
            {
                "rx_id": "R1",
                "hilist_code": "BED",
                "chrg_type": "01",
                "drord_begn_date": "2026-03-18 10:00:00",
                "cnt": 1,
                "pric": "60.00",
                "sumamt": "60.00",
            }
        ],
    }
    base.update(encounter)
    return {
        "task_id": "TASK-1",
        "patient_dtos": [
            {
                "patn_id": PERSON,
                "poolarea": "320500",
                "curr_mdtrt_id": "MD-NEW",
                "fsi_encounter_dtos": [base],
            }
        ],
    }


def test_3101_request_maps_to_a_proposed_encounter() -> None:
    request = encounters_from_3101(_request())
    (enc,) = request.encounters
    assert (enc.person_id, enc.visit_id, enc.insured_region, enc.visit_region) == (
        PERSON,
        "MD-NEW",
        "320500",
        "320100",
    )
    assert enc.admitted_on == enc.discharged_on == date(2026, 3, 18)
    assert enc.total_fee == 1_200_050
    (line,) = enc.fee_lines
    assert (line.charge_category, line.amount, line.fee_date) == ("01", 6000, date(2026, 3, 18))


def test_3101_request_without_the_current_encounter_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        encounters_from_3101(_request(mdtrt_id="OTHER"))
    assert refused.value.field == "curr_mdtrt_id"
    with pytest.raises(DomainError) as bad_amount:
        encounters_from_3101(_request(medfee_sumamt="12.345"))
    assert bad_amount.value.field == "medfee_sumamt"


def test_proposed_readmission_warns_and_maps_to_result_rows(visit: VisitFactory) -> None:
    earlier = visit(
        person_id=PERSON,
        admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 10),
        fund_total=500_000,
    )
    (proposed,) = encounters_from_3101(_request()).encounters
    history = [earlier]
    warnings = analyse(history, proposed, AuditConfig())
    assert [w.rule_id for w in warnings] == ["audit.split_hospitalization"]
    assert history == [earlier]  # nothing changed
    (row,) = results_to_3101("TASK-1", proposed, warnings)
    assert row["rule_id"] == "audit.split_hospitalization"
    assert (row["patn_id"], row["mdtrt_id"], row["task_id"]) == (PERSON, "MD-NEW", "TASK-1")
    assert row["sev_deg"] == "2"
    assert earlier.settlement_id in row["vola_evid"]
    assert row["jr_id"] == warnings[0].flag_id


def test_analysis_never_raises_the_investigation_rule_and_honours_rule_ids(
    visit: VisitFactory,
) -> None:
    (proposed,) = encounters_from_3101(_request(medfee_sumamt="50000.00")).encounters
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
