"""Personal identity (name, ID number, card serial, birth date, gender) is handled only by the
consumers declared here: settlement's read model of insured persons, which answers 1101 and
checks identity vouchers. Any other projection that starts handling a fact carrying these fields
fails this test, so a new reader of identity is a decision, not an accident.

This guards what consumers apply. What they receive on the wire is wider today: every reader of
`yidi.filing.events` (audit too) gets the bytes of PersonEnrolled/PersonUpdated; see
docs/integration.md, "Kafka security", for the planned identity topic that closes it."""

from __future__ import annotations

import dataclasses

from yidi_events import registry
from yidi_events.settings import ServiceSettings
from yidi_stack.platform import DEFINITIONS

IDENTITY = frozenset(
    {"name", "certificate_type", "certificate_no", "card_serial", "birth_date", "gender"}
)
# (service, projection) -> why it needs identity
DECLARED = {("settlement", "insured_facts"): "1101 answers and identity vouchers (2201/2401)"}


def _identity_facts() -> dict[str, set[str]]:
    found = {}
    for spec in registry.latest_specs():
        fields = {f.name for f in dataclasses.fields(spec.model)}
        # A person's fact (a catalogue item's `name` is no one's identity).
        if "person_id" in fields and fields & IDENTITY:
            found[spec.event_type] = fields & IDENTITY
    return found


def test_the_facts_carrying_identity_are_the_person_facts() -> None:
    facts = _identity_facts()
    assert set(facts) == {"filing.PersonEnrolled", "filing.PersonUpdated"}
    assert facts["filing.PersonEnrolled"] == IDENTITY
    assert facts["filing.PersonUpdated"] == IDENTITY - {"certificate_type", "certificate_no"}


def test_only_the_declared_consumers_apply_facts_carrying_identity() -> None:
    facts = _identity_facts()
    readers = set()
    for name, definition in DEFINITIONS.items():
        runtime = definition.build_runtime(ServiceSettings(sandbox=True))
        for subscription in runtime.subscriptions:
            if any(subscription.projection.handles(t) for t in facts):
                readers.add((name, subscription.projection.name))
    assert readers == set(DECLARED)
