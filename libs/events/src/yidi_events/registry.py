"""The registry of event contracts: `(event_type, schema_version)` -> payload model, with upcasters.

A contract is a frozen dataclass declared with `@event("settlement.VisitSettled", key="person_id")`:
in `yidi_events.contracts.<producing service>` when another service consumes it, otherwise in the
producer's own `yidi_<service>.domain.events` (registered when that service's code is imported).
Plain dataclasses keep domain code free of frameworks; pydantic's `TypeAdapter` dumps them to JSON
on the way out and generates the committed JSON Schemas. On the way in, msgspec validates them
into the same dataclasses at a third of pydantic's cost (every consumer and every rebuild decodes
every fact); `tests/test_registry_decoding.py` holds the two to the same result for every
contract, and a contract msgspec cannot validate is decoded by pydantic.

Evolving a contract: adding an optional field (with a default) is compatible. Anything else is a
new class registered under the same event type with `version=N+1`, plus an `@upcaster` that turns
a version-N payload dict into version N+1. Readers always receive the newest version.

Withholding: a producer may keep, in its own store, a version carrying data that only some of its
consumers may see (filing's persons' identity). `@withholds(event_type, version)`
declares it: readers of the producer's store (`decode_stored`) get that version as stored; the
relay publishes the newest version (whose upcaster drops the withheld fields) on the producer's
topic, and the function's fact, carrying them, on the side topic its contract names
(`@event(..., channel="identity")`: `<namespace>.<service>.identity`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from pydantic import TypeAdapter

T = TypeVar("T")
Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

SERVICES = ("filing", "settlement", "reconciliation", "clearing", "audit", "reimbursement")


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    version: int
    model: type[Any]
    key: str  # payload attribute whose value is the Kafka partition key
    adapter: TypeAdapter[Any]
    # The producer's side topic it is published on (`<namespace>.<service>.<channel>`), or None
    # for the producer's events topic.
    channel: str | None = None

    @property
    def service(self) -> str:
        return self.event_type.split(".", 1)[0]

    @property
    def source(self) -> str:
        """What a subscription names to read it: `filing`, or `filing.identity` (topics.topic)."""
        return f"{self.service}.{self.channel}" if self.channel else self.service

    def partition_key(self, payload: Any) -> str:
        return str(getattr(payload, self.key))

    def validate(self, data: Payload) -> Any:
        """The payload of a JSON-form dict, validated against this contract."""
        validator = _validators.get(self.model)
        if validator is None:
            validator = _validators[self.model] = _validator_of(self)
        return validator(data)


def _validator_of(spec: EventSpec) -> Callable[[Payload], Any]:
    # Built on first use, not at registration: a contract's field types may be declared after
    # it in its module.
    model = spec.model
    try:
        msgspec.json.Decoder(model)
    except TypeError:  # a type msgspec cannot validate (a union of two dataclasses, say)
        return spec.adapter.validate_python

    def validate(data: Payload) -> Any:
        return msgspec.convert(data, type=model)

    return validate


class UnknownEvent(LookupError):
    pass


_by_type: dict[tuple[str, int], EventSpec] = {}
_by_model: dict[type[Any], EventSpec] = {}
_latest: dict[str, int] = {}
_upcasters: dict[tuple[str, int], Upcaster] = {}
_withheld: dict[tuple[str, int], Withheld] = {}
_validators: dict[type[Any], Callable[[Payload], Any]] = {}


@dataclass(frozen=True)
class Withheld:
    """What the relay publishes beside a stored version that carries withheld data: the fact
    carrying that data (its contract names the side topic: `event(..., channel=...)`)."""

    side: Callable[[Any], Any]


def event(
    event_type: str, *, key: str, version: int = 1, channel: str | None = None
) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as the payload of `event_type` at `version`."""
    service, _, name = event_type.partition(".")
    if not (service.isidentifier() and service.islower()) or not name[:1].isupper():
        raise ValueError(f"event type {event_type!r} must be '<service>.<PastTenseFact>'")

    def register(model: type[T]) -> type[T]:
        if (event_type, version) in _by_type:
            raise ValueError(f"{event_type} v{version} is registered twice")
        fields = getattr(model, "__dataclass_fields__", None)
        if fields is None or key not in fields:
            raise ValueError(f"{model.__name__} must be a dataclass with a {key!r} field")
        spec = EventSpec(event_type, version, model, key, TypeAdapter(model), channel)
        _by_type[(event_type, version)] = spec
        _by_model[model] = spec
        _latest[event_type] = max(version, _latest.get(event_type, 0))
        return model

    return register


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the function that turns a `from_version` payload into `from_version + 1`."""

    def register(fn: Upcaster) -> Upcaster:
        _upcasters[(event_type, from_version)] = fn
        return fn

    return register


def withholds(
    event_type: str, version: int
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register the function making the fact that carries what `version` of `event_type`
    withholds from its topic (a contract published on a side channel)."""

    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _withheld[(event_type, version)] = Withheld(fn)
        return fn

    return register


def withheld(event_type: str, version: int) -> Withheld | None:
    _load_contracts()
    return _withheld.get((event_type, version))


def withheld_versions() -> list[tuple[str, int]]:
    """The (event_type, version) pairs a producer stores but publishes split."""
    _load_contracts()
    return sorted(_withheld)


def spec_of(payload: Any) -> EventSpec:
    try:
        return _by_model[type(payload)]
    except KeyError:
        raise UnknownEvent(f"{type(payload).__name__} is not a registered event") from None


def event_type_of(model: type[Any]) -> str:
    try:
        return _by_model[model].event_type
    except KeyError:
        raise UnknownEvent(f"{model.__name__} is not a registered event") from None


def known(event_type: str) -> bool:
    """Whether this process has a contract for `event_type` (another service's own facts: no)."""
    _load_contracts()
    return event_type in _latest


def spec(event_type: str, version: int | None = None) -> EventSpec:
    _load_contracts()
    resolved = _latest.get(event_type) if version is None else version
    found = _by_type.get((event_type, resolved or 0))
    if found is None:
        raise UnknownEvent(f"no contract for {event_type} v{version}")
    return found


def encode(payload: Any) -> Payload:
    """The JSON-ready dict of a payload (Decimal and dates as strings, as the schema says)."""
    result: Payload = spec_of(payload).adapter.dump_python(payload, mode="json")
    return result


def decode(event_type: str, version: int, data: Payload) -> Any:
    """Validate a stored or received payload, upcasting it to the newest version first."""
    _load_contracts()
    latest = _latest.get(event_type)
    if latest is None:
        raise UnknownEvent(f"no contract for {event_type}")
    while version < latest:
        step = _upcasters.get((event_type, version))
        if step is None:
            raise UnknownEvent(f"no upcaster for {event_type} v{version}")
        data = step(data)
        version += 1
    return spec(event_type, version).validate(data)


def decode_stored(event_type: str, version: int, data: Payload) -> tuple[int, Any]:
    """A payload read from its producer's own store: upcast like `decode`, except that a version
    whose data is withheld from the topic stays as stored (the producer needs all of it).
    Returns the version decoded and the payload."""
    _load_contracts()
    latest = _latest.get(event_type)
    if latest is None:
        raise UnknownEvent(f"no contract for {event_type}")
    while version < latest and (event_type, version) not in _withheld:
        step = _upcasters.get((event_type, version))
        if step is None:
            raise UnknownEvent(f"no upcaster for {event_type} v{version}")
        data = step(data)
        version += 1
    return version, spec(event_type, version).validate(data)


def all_specs() -> list[EventSpec]:
    _load_contracts()
    return sorted(_by_type.values(), key=lambda s: (s.event_type, s.version))


def latest_specs() -> list[EventSpec]:
    return [s for s in all_specs() if s.version == _latest[s.event_type]]


_contracts_loaded = False


def _load_contracts() -> None:
    # Importing the published contract modules registers them; do it lazily so a reader never
    # misses one. A service's own contracts register when its code is imported. Once: every
    # encode and decode asks, and an import statement costs a lookup even when done.
    global _contracts_loaded
    if _contracts_loaded:
        return
    from yidi_events import contracts  # noqa: F401

    _contracts_loaded = True
