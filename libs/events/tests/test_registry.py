"""The contract registry: registration rules, encoding, and upcasting old payloads on read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from yidi_events import registry
from yidi_events.definition import services
from yidi_events.registry import UnknownEvent, event, upcaster


@event("example.Priced", key="item", version=1)
@dataclass(frozen=True, kw_only=True)
class PricedV1:
    item: str
    price_yuan: str


@event("example.Priced", key="item", version=2)
@dataclass(frozen=True, kw_only=True)
class Priced:
    item: str
    price: int  # fen
    ratio: Decimal = Decimal("0.0000")
    on: date | None = None


@upcaster("example.Priced", from_version=1)
def _yuan_to_fen(payload: dict[str, Any]) -> dict[str, Any]:
    return {"item": payload["item"], "price": int(Decimal(payload["price_yuan"]) * 100)}


def test_an_old_payload_is_upcast_to_the_newest_version_on_read() -> None:
    decoded = registry.decode("example.Priced", 1, {"item": "X", "price_yuan": "12.34"})
    assert decoded == Priced(item="X", price=1234)


def test_encoding_keeps_decimals_and_dates_exact_as_text() -> None:
    payload = Priced(item="X", price=5, ratio=Decimal("0.8500"), on=date(2026, 3, 1))
    wire = registry.encode(payload)
    assert wire == {"item": "X", "price": 5, "ratio": "0.8500", "on": "2026-03-01"}
    assert registry.decode("example.Priced", 2, wire) == payload
    assert registry.spec_of(payload).partition_key(payload) == "X"


def test_a_payload_that_breaks_its_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="price"):
        registry.decode("example.Priced", 2, {"item": "X", "price": "not a number"})


def test_unknown_types_and_bad_registrations_are_refused() -> None:
    with pytest.raises(UnknownEvent):
        registry.decode("example.Nothing", 1, {})
    with pytest.raises(ValueError, match="PastTenseFact"):
        event("Example.lower", key="x")
    with pytest.raises(ValueError, match="registered twice"):
        event("example.Priced", key="item", version=2)(Priced)

    @dataclass(frozen=True)
    class NoKey:
        other: str

    with pytest.raises(ValueError, match="'item' field"):
        event("example.NoKey", key="item")(NoKey)


def test_every_service_contract_is_registered_with_a_partition_key_field() -> None:
    services()  # a service's own contracts register when its code is loaded
    specs = [s for s in registry.latest_specs() if s.service in registry.SERVICES]
    assert {s.service for s in specs} == set(registry.SERVICES)
    for spec in specs:
        assert spec.key in spec.model.__dataclass_fields__, spec.event_type
