"""Every contract decodes to the same payload whichever validator reads it.

Facts are encoded by pydantic and decoded by msgspec (`EventSpec.validate`), a third of the
cost; this holds the two to one meaning for every registered contract, published and services'
own, on payloads generated from the contracts' own type hints and sent the way they travel (JSON
through orjson).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yidi_events import registry, schemas
from yidi_events.registry import EventSpec

schemas.schema_sets()  # imports every service, so their own contracts are registered too
SPECS = registry.all_specs()

# What the wire can carry of each leaf type: JSON's text is Unicode scalar values, PostgreSQL's
# bigint bounds every count and fen amount, and a Decimal is finite (rates, quantities).
st.register_type_strategy(str, st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
st.register_type_strategy(int, st.integers(-(2**63), 2**63 - 1))
st.register_type_strategy(Decimal, st.decimals(allow_nan=False, allow_infinity=False, places=4))
st.register_type_strategy(
    datetime,
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
    ),
)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def payloads(model: type[Any]) -> st.SearchStrategy[Any]:
    """Payloads of `model`; a field kept as the sender's free JSON (a form) is drawn as JSON."""
    free = {
        name: st.dictionaries(st.text(max_size=5), JSON, max_size=4)
        for name, hint in typing.get_type_hints(model).items()
        if hint == dict[str, Any]
    }
    return st.builds(model, **free)


def leaf_types(value: Any) -> Any:
    """The value's shape with every leaf's exact type: an enum member and its plain value are
    equal, and so would pass `==` alone."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            {f.name: leaf_types(getattr(value, f.name)) for f in dataclasses.fields(value)},
        )
    if isinstance(value, list | tuple | frozenset | set):
        return (type(value), sorted(repr(leaf_types(v)) for v in value))
    if isinstance(value, dict):
        return {k: leaf_types(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return (type(value), value.value)
    return type(value).__name__


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.event_type}.v{s.version}")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_msgspec_and_pydantic_decode_alike(spec: EventSpec, data: st.DataObject) -> None:
    payload = data.draw(payloads(spec.model))
    wire = orjson.loads(orjson.dumps(registry.encode(payload)))

    decoded = spec.validate(wire)

    by_pydantic = spec.adapter.validate_python(wire)
    assert decoded == by_pydantic
    assert leaf_types(decoded) == leaf_types(by_pydantic)
    assert registry.encode(decoded) == wire


VISIT_SETTLED = next(s for s in SPECS if s.event_type == "settlement.VisitSettled")


@settings(max_examples=5, deadline=None)
@given(payload=payloads(VISIT_SETTLED.model))
def test_a_wrong_nested_field_is_refused_by_its_path(payload: Any) -> None:
    wire = orjson.loads(orjson.dumps(registry.encode(payload)))
    wire["totals"]["total_fee"] = "12.50"  # yuan text where the contract has integer fen

    with pytest.raises(ValueError, match=r"totals\.total_fee"):
        VISIT_SETTLED.validate(wire)
