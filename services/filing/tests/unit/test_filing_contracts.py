"""Every fact the filing decisions emit survives its store: encode -> JSON -> decode is identity.
(Persons' facts are stored with identity and published without: tests/test_personal_data.py.)"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from yidi_events import registry
from yidi_events.contracts.filing import (
    AssistanceIdentity,
    FilingChannel,
    FilingKind,
    InsuranceType,
)
from yidi_filing.domain import filing as f
from yidi_filing.domain import person as p
from yidi_filing.domain.enrolment import EnrolPerson
from yidi_filing.domain.filing_settings import FilingSettings

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def round_trip(event: Any) -> Any:
    spec = registry.spec_of(event)
    wire = json.loads(json.dumps(registry.encode(event)))
    version, payload = registry.decode_stored(spec.event_type, spec.version, wire)
    assert version == spec.version
    return payload


def test_person_and_filing_facts_round_trip_and_are_keyed_by_person() -> None:
    command = EnrolPerson(
        person_id="61100000000000000003",
        insured_region="611000",
        insurance_type=InsuranceType.RESIDENT,
        person_category="1501",
        civil_servant=False,
        assistance_identities=(AssistanceIdentity.DIBAO,),
        name="王大山",
        certificate_type="01",
        certificate_no="611000198506200335",
        gender="1",
        birth_date=date(1985, 6, 20),
        card_serial="SC00000003",
        account_balance=0,
    )
    history = p.decide_enrol(None, command, NOW)
    person = p.evolve(None, history[0])
    assert person is not None
    history += p.decide_suspend_by_audit(person, "C1", date(2026, 3, 1), None, "x", NOW)
    history += p.decide_credit_account(person, 100, "x", NOW)
    submission = f.SubmitFiling(
        filing_id="F1",
        person_id=person.person_id,
        kind=FilingKind.OTHER_TEMPORARY,
        channel=FilingChannel.ONLINE,
        visit_region="320100",
    )
    events: list[Any] = [
        *history,
        *f.decide_submit(None, submission, person, FilingSettings(), NOW),
    ]
    for event in events:
        assert round_trip(event) == event
        assert registry.spec_of(event).partition_key(event) == person.person_id
