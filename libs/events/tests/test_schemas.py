"""Committed contract schemas: the compatibility rules, write/check, and the AsyncAPI document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from yidi_events import asyncapi, registry, schemas
from yidi_events.registry import EventSpec
from yidi_events.schemas import ChangeKind, compare
from yidi_events.topics import all_topics, dlq, topic


def obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or []}


INT = {"type": "integer"}
STR = {"type": "string"}


def kinds(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, ChangeKind]]:
    return {(c.path, c.kind) for c in compare(old, new)}


def breaking_kinds(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, ChangeKind]]:
    return {(c.path, c.kind) for c in compare(old, new) if c.breaking}


# --- the rules on small synthetic schemas ------------------------------------------------------


def test_removed_field_is_incompatible() -> None:
    old = obj(["a", "b"], a=INT, b=STR)
    assert breaking_kinds(old, obj(["a"], a=INT)) == {("b", ChangeKind.FIELD_REMOVED)}


def test_optional_field_added_is_compatible() -> None:
    old = obj(["a"], a=INT)
    new = obj(["a"], a=INT, note={"anyOf": [STR, {"type": "null"}], "default": None})
    assert kinds(old, new) == {("note", ChangeKind.OPTIONAL_FIELD_ADDED)}
    assert breaking_kinds(old, new) == set()


def test_required_field_added_is_incompatible() -> None:
    old = obj(["a"], a=INT)
    assert breaking_kinds(old, obj(["a", "b"], a=INT, b=INT)) == {
        ("b", ChangeKind.REQUIRED_FIELD_ADDED)
    }


def test_optional_field_becoming_required_is_incompatible_and_the_reverse_is_not() -> None:
    optional, required = obj([], a=INT), obj(["a"], a=INT)
    assert breaking_kinds(optional, required) == {("a", ChangeKind.BECAME_REQUIRED)}
    assert kinds(required, optional) == {("a", ChangeKind.BECAME_OPTIONAL)}
    assert breaking_kinds(required, optional) == set()


@pytest.mark.parametrize(
    ("old_type", "new_type"),
    [
        (INT, STR),
        ({"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}),
        (STR, {"enum": ["x"], "type": "string"}),
        (INT, {"type": "array", "items": INT}),
        ({"anyOf": [INT, {"type": "null"}]}, INT),  # nullable -> not: stored nulls break
        (INT, {"anyOf": [INT, STR]}),
    ],
)
def test_type_change_is_incompatible(old_type: dict[str, Any], new_type: dict[str, Any]) -> None:
    assert breaking_kinds(obj(["a"], a=old_type), obj(["a"], a=new_type)) == {
        ("a", ChangeKind.TYPE_CHANGED)
    }


def test_enum_value_removed_is_incompatible_added_is_compatible() -> None:
    old = obj(["s"], s={"enum": ["open", "closed"], "type": "string"})
    fewer = obj(["s"], s={"enum": ["open"], "type": "string"})
    more = obj(["s"], s={"enum": ["open", "closed", "void"], "type": "string"})
    assert breaking_kinds(old, fewer) == {("s", ChangeKind.ENUM_VALUE_REMOVED)}
    assert kinds(old, more) == {("s", ChangeKind.ENUM_VALUE_ADDED)}
    assert breaking_kinds(old, more) == set()


def test_enum_values_compare_as_json_so_1_and_text_1_differ() -> None:
    old = obj(["s"], s={"enum": [1]})
    assert breaking_kinds(old, obj(["s"], s={"enum": ["1"]})) == {
        ("s", ChangeKind.ENUM_VALUE_REMOVED)
    }


def test_documentation_and_order_changes_are_no_change() -> None:
    old = obj(["a", "b"], a={**INT, "title": "A", "description": "old"}, b=STR)
    new = {**obj(["b", "a"], b=STR, a={**INT, "title": "Amount", "description": "new"})}
    new["description"] = "now documented"
    assert compare(old, new) == []


# --- $ref/$defs, on schemas pydantic generates from nested dataclasses ---------------------------


class Fund(StrEnum):
    BASIC = "310100"
    LARGE = "330100"


class FundFewer(StrEnum):
    BASIC = "310100"


@dataclass(frozen=True, kw_only=True)
class Payment:
    fund_code: Fund
    amount: int


@dataclass(frozen=True, kw_only=True)
class Settled:
    settlement_id: str
    fund_payments: tuple[Payment, ...]
    main: Payment | None


@dataclass(frozen=True, kw_only=True)
class PaymentFewer:
    fund_code: FundFewer
    amount: int


@dataclass(frozen=True, kw_only=True)
class SettledFewer:
    settlement_id: str
    fund_payments: tuple[PaymentFewer, ...]
    main: PaymentFewer | None


@dataclass(frozen=True, kw_only=True)
class PaymentText:
    fund_code: Fund
    amount: str


@dataclass(frozen=True, kw_only=True)
class SettledText:
    settlement_id: str
    fund_payments: tuple[PaymentText, ...]
    main: PaymentText | None


@dataclass(frozen=True, kw_only=True)
class PaymentNoted:
    fund_code: Fund
    amount: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class SettledNoted:
    settlement_id: str
    fund_payments: tuple[PaymentNoted, ...]
    main: PaymentNoted | None


def schema(model: type[Any]) -> dict[str, Any]:
    result: dict[str, Any] = TypeAdapter(model).json_schema()
    return result


def test_nested_enum_value_removed_is_found_through_refs() -> None:
    assert breaking_kinds(schema(Settled), schema(SettledFewer)) == {
        ("fund_payments[].fund_code", ChangeKind.ENUM_VALUE_REMOVED),
        ("main.fund_code", ChangeKind.ENUM_VALUE_REMOVED),
    }


def test_nested_type_change_is_found_through_refs() -> None:
    assert breaking_kinds(schema(Settled), schema(SettledText)) == {
        ("fund_payments[].amount", ChangeKind.TYPE_CHANGED),
        ("main.amount", ChangeKind.TYPE_CHANGED),
    }


def test_nested_optional_field_added_is_compatible() -> None:
    assert kinds(schema(Settled), schema(SettledNoted)) == {
        ("fund_payments[].note", ChangeKind.OPTIONAL_FIELD_ADDED),
        ("main.note", ChangeKind.OPTIONAL_FIELD_ADDED),
    }


@dataclass(frozen=True, kw_only=True)
class Node:
    label: str
    children: tuple[Node, ...] = ()


def test_recursive_schema_terminates_and_compares_equal() -> None:
    assert compare(schema(Node), schema(Node)) == []


def test_every_registered_contract_is_compatible_with_itself() -> None:
    for spec in schemas.contract_specs():
        current = schemas.contract_schema(spec)
        assert compare(current, current) == [], spec.event_type


FIELD_TYPES = st.sampled_from([INT, STR, {"type": "boolean"}])
FIELDS = st.dictionaries(st.sampled_from("abcdef"), st.tuples(FIELD_TYPES, st.booleans()))


@given(old=FIELDS, new=FIELDS)
def test_flat_schemas_break_exactly_when_the_rules_say(
    old: dict[str, tuple[dict[str, Any], bool]], new: dict[str, tuple[dict[str, Any], bool]]
) -> None:
    def build(fields: dict[str, tuple[dict[str, Any], bool]]) -> dict[str, Any]:
        return obj(
            [n for n, (_, req) in fields.items() if req], **{n: t for n, (t, _) in fields.items()}
        )

    expected = set()
    for name, (type_, req) in old.items():
        if name not in new:
            expected.add((name, ChangeKind.FIELD_REMOVED))
            continue
        if new[name][1] and not req:
            expected.add((name, ChangeKind.BECAME_REQUIRED))
        if new[name][0] != type_:
            expected.add((name, ChangeKind.TYPE_CHANGED))
    expected |= {
        (n, ChangeKind.REQUIRED_FIELD_ADDED) for n, (_, r) in new.items() if r and n not in old
    }
    assert breaking_kinds(build(old), build(new)) == expected


# --- write and check against a directory ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ThingV1:
    thing_id: str
    size: int


@dataclass(frozen=True, kw_only=True)
class ThingNoted:
    thing_id: str
    size: int
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ThingShrunk:
    thing_id: str


@dataclass(frozen=True, kw_only=True)
class ThingV2:
    thing_id: str
    size: str


def thing(model: type[Any], version: int = 1) -> EventSpec:
    return EventSpec("test.ThingMade", version, model, "thing_id", TypeAdapter(model))


def test_check_passes_right_after_write(tmp_path: Path) -> None:
    assert schemas.write(tmp_path) == []
    assert schemas.check(tmp_path) == []
    written = sorted(p.name for p in tmp_path.iterdir())
    expected = sorted(
        [schemas.schema_file(s.event_type, s.version) for s in schemas.contract_specs()]
        + [schemas.ENVELOPE_FILE]
    )
    assert written == expected


def test_written_files_are_deterministic_sorted_and_end_with_a_newline(tmp_path: Path) -> None:
    schemas.write(tmp_path, [thing(ThingV1)])
    first = (tmp_path / "test.ThingMade.v1.json").read_text(encoding="utf-8")
    (tmp_path / "test.ThingMade.v1.json").unlink()
    schemas.write(tmp_path, [thing(ThingV1)])
    again = (tmp_path / "test.ThingMade.v1.json").read_text(encoding="utf-8")
    assert first == again
    assert first.endswith("}\n")
    assert (
        first == json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    assert json.loads(first)["x-partition-key"] == "thing_id"


def test_envelope_schema_has_the_payload_as_an_object(tmp_path: Path) -> None:
    schemas.write(tmp_path, [])
    envelope = json.loads((tmp_path / schemas.ENVELOPE_FILE).read_text(encoding="utf-8"))
    assert envelope["properties"]["payload"]["type"] == "object"
    assert {"event_id", "event_type", "schema_version", "payload"} <= set(envelope["required"])


def test_missing_schema_asks_to_run_make_schemas(tmp_path: Path) -> None:
    problems = schemas.check(tmp_path, [thing(ThingV1)], upcasters=())
    assert len(problems) == 2  # the contract and the envelope
    assert all("make schemas" in p for p in problems)
    assert any(p.startswith("test.ThingMade.v1.json: no committed schema") for p in problems)


def test_compatible_change_is_reported_as_stale_and_write_refreshes_it(tmp_path: Path) -> None:
    schemas.write(tmp_path, [thing(ThingV1)])
    (problem,) = schemas.check(tmp_path, [thing(ThingNoted)], upcasters=())
    assert "changed compatibly" in problem
    assert "make schemas" in problem
    assert "incompatible" not in problem
    assert schemas.write(tmp_path, [thing(ThingNoted)]) == []
    assert schemas.check(tmp_path, [thing(ThingNoted)], upcasters=()) == []


def test_incompatible_change_fails_check_and_write_refuses_it_unless_forced(
    tmp_path: Path,
) -> None:
    schemas.write(tmp_path, [thing(ThingV1)])
    committed = (tmp_path / "test.ThingMade.v1.json").read_text(encoding="utf-8")
    (problem,) = schemas.check(tmp_path, [thing(ThingShrunk)], upcasters=())
    assert "incompatible change" in problem
    assert "field removed at size" in problem
    assert schemas.write(tmp_path, [thing(ThingShrunk)]) == [problem]
    assert (tmp_path / "test.ThingMade.v1.json").read_text(encoding="utf-8") == committed
    assert schemas.write(tmp_path, [thing(ThingShrunk)], force=True) == []
    assert schemas.check(tmp_path, [thing(ThingShrunk)], upcasters=()) == []


def test_schema_of_a_version_no_longer_registered_needs_an_upcaster(tmp_path: Path) -> None:
    schemas.write(tmp_path, [thing(ThingV1, 1), thing(ThingV2, 2)])
    only_v2 = [thing(ThingV2, 2)]
    (problem,) = schemas.check(tmp_path, only_v2, upcasters=())
    assert problem.startswith("test.ThingMade.v1.json: test.ThingMade v1 is no longer registered")
    assert schemas.check(tmp_path, only_v2, upcasters={("test.ThingMade", 1)}) == []
    assert len(schemas.check(tmp_path, [], upcasters={("test.ThingMade", 1)})) == 2


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schemas.main(["check", "--dir", str(tmp_path)]) == 1
    assert "make schemas" in capsys.readouterr().err
    assert schemas.main(["write", "--dir", str(tmp_path)]) == 0
    assert schemas.main(["check", "--dir", str(tmp_path)]) == 0


def test_committed_schemas_match_the_registry() -> None:
    """The CI guard: fails until `make schemas` is run (and committed) after a contract change,
    for the published contracts and for every service's own."""
    problems = schemas.check_all()
    assert problems == [], "\n".join(problems)


def test_every_contract_of_a_service_has_its_schema_in_exactly_one_set() -> None:
    sets = schemas.schema_sets()
    assert [every.owner for every in sets] == ["published", *registry.SERVICES]
    homes = sorted((s.event_type, s.version) for every in sets for s in every.specs)
    # Shipped code's contracts, not this suite's own (conftest's filing.Counted).
    registered = sorted(
        (s.event_type, s.version)
        for s in registry.all_specs()
        if s.service in registry.SERVICES and s.model.__module__.startswith("yidi_")
    )
    assert homes == registered
    for every in sets[1:]:
        assert every.directory.name == "schemas"
        assert {s.service for s in every.specs} == {every.owner}
        assert not every.envelope
        assert not (every.directory / schemas.ENVELOPE_FILE).exists()


def test_a_service_set_is_written_and_checked_without_the_envelope(tmp_path: Path) -> None:
    assert schemas.write(tmp_path, [thing(ThingV1)], envelope=False) == []
    assert [p.name for p in tmp_path.iterdir()] == ["test.ThingMade.v1.json"]
    assert schemas.check(tmp_path, [thing(ThingV1)], upcasters=(), envelope=False) == []


# --- AsyncAPI ------------------------------------------------------------------------------------


def test_asyncapi_lists_every_latest_event_type_on_its_service_topics() -> None:
    doc = asyncapi.document()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == set(all_topics())
    latest = asyncapi.latest_contracts(schemas.contract_specs())
    assert {s.event_type for s in latest} == {s.event_type for s in schemas.contract_specs()}
    for spec in latest:
        events = topic(spec.source)
        for channel in (events, dlq(events)):
            ref = doc["channels"][channel]["messages"][spec.event_type]["$ref"]
            assert ref == f"#/components/messages/{spec.event_type}"
        message = doc["components"]["messages"][spec.event_type]
        assert set(message["headers"]["required"]) == {"event_type", "schema_version", "event_id"}
        assert f"`{spec.key}`" in message["description"]
        refs = [
            part.get("properties", {}).get("payload", {})
            for part in message["payload"]["schema"]["allOf"]
        ]
        assert {"$ref": f"schemas/{spec.event_type}.v{spec.version}.json"} in refs


def test_asyncapi_lists_each_service_own_events_on_its_topics_with_their_schema_folder() -> None:
    doc = asyncapi.document()
    for every in schemas.schema_sets()[1:]:
        events = topic(every.owner)
        for spec in asyncapi.latest_contracts(every.specs):
            assert spec.event_type in doc["channels"][events]["messages"]
            assert spec.event_type in doc["channels"][dlq(events)]["messages"]
            message = doc["components"]["messages"][spec.event_type]
            assert asyncapi.OWN in message["description"]
            payload = message["payload"]["schema"]["allOf"][1]["properties"]["payload"]
            file = schemas.schema_file(spec.event_type, spec.version)
            assert payload == {"$ref": f"../../services/{every.owner}/schemas/{file}"}
    published = doc["components"]["messages"]["filing.PolicyPublished"]
    assert asyncapi.PUBLISHED in published["description"]


def test_asyncapi_messages_are_the_latest_version_only() -> None:
    doc = asyncapi.document([thing(ThingV1, 1), thing(ThingV2, 2)], schema_base="https://x/")
    message = doc["components"]["messages"]["test.ThingMade"]
    assert message["headers"]["properties"]["schema_version"]["const"] == "2"
    allof = message["payload"]["schema"]["allOf"]
    assert allof[1]["properties"]["payload"] == {"$ref": "https://x/test.ThingMade.v2.json"}
    assert allof[0] == {"$ref": "https://x/envelope.json"}


def test_asyncapi_main_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert asyncapi.main([]) == 0
    assert json.loads(capsys.readouterr().out)["asyncapi"] == "3.0.0"
