"""Hospitals and retail pharmacies in one registry: a pharmacy registers without a hospital
level and keeps its kind through updates; each kind is refused the other's transactions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yidi_events.kernel import DomainError
from yidi_settlement.domain.events import HospitalRegistered
from yidi_settlement.domain.reference import (
    HospitalChange,
    HospitalDetails,
    InstitutionKind,
    decide_register_hospital,
    decide_update_hospital,
    evolve_hospital,
)
from yidi_settlement.his.institutions import check_sender

NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def _details(kind: InstitutionKind, level: str | None) -> HospitalDetails:
    return HospitalDetails(
        institution_code="P32010000001",
        institution_name="药房",
        region="320100",
        hospital_level=level,
        networked=True,
        his_secret="a-secret-of-16-characters",
        kind=kind,
    )


def test_a_pharmacy_registers_without_a_level_and_stays_a_pharmacy_when_updated() -> None:
    events = decide_register_hospital(None, _details(InstitutionKind.PHARMACY, None), NOW, by="u")
    registered = events[0]
    assert isinstance(registered, HospitalRegistered)
    assert (registered.kind, registered.hospital_level) == ("pharmacy", "1")
    state = evolve_hospital(None, registered)
    update = decide_update_hospital(state, "P32010000001", HospitalChange(name="新名"), NOW, by="u")
    updated = evolve_hospital(state, update[0])
    assert updated is not None
    assert updated.kind is InstitutionKind.PHARMACY


def test_a_hospital_still_needs_its_level() -> None:
    with pytest.raises(DomainError) as refused:
        decide_register_hospital(None, _details(InstitutionKind.HOSPITAL, None), NOW, by="u")
    assert (refused.value.rule, refused.value.field) == ("hospital.level", "hospital_level")


@pytest.mark.parametrize(
    ("kind", "infno", "allowed"),
    [
        ("pharmacy", "2101", True),
        ("pharmacy", "2102", True),
        ("pharmacy", "2103", True),
        ("pharmacy", "2601", True),
        ("pharmacy", "1101", True),
        ("pharmacy", "3201", True),
        ("pharmacy", "2201", False),
        ("pharmacy", "2401", False),
        ("pharmacy", "2207", False),
        ("hospital", "2102", False),
        ("hospital", "2103", False),
        ("hospital", "2207", True),
    ],
)
def test_each_kind_sends_only_its_own_transactions(kind: str, infno: str, allowed: bool) -> None:
    if allowed:
        check_sender(kind, "X", infno)
        return
    with pytest.raises(DomainError) as refused:
        check_sender(kind, "X", infno)
    assert (refused.value.rule, refused.value.field) == ("his.institution_kind", "infno")
