"""Committed JSON Schemas of the event contracts, and the check that keeps them compatible.

    python -m yidi_events.schemas write [--dir DIR] [--force]
    python -m yidi_events.schemas check [--dir DIR]

The schemas live in one folder per owner of contracts (a `SchemaSet`): the published contracts
(`yidi_events.contracts`, which other services consume) with `envelope.json` in libs/events/schemas,
and each service's own contracts in the folder its `ServiceDefinition` names (`events`, `schemas`).
Without `--dir` both commands cover every set; with it, the published contracts in DIR.

`write` renders one file per registered `(event_type, version)` as `<event_type>.v<N>.json`, plus
`envelope.json` beside the published ones. It never deletes a file, and it refuses to overwrite a committed schema with an
incompatible one (`--force` overrides, for a contract nobody has stored yet): otherwise running
`make schemas` would silently bless the very change `check` exists to stop.

`check` is the CI guard: every contract must have a committed schema, the committed schema must
be exactly what `write` would render, and the difference, if any, must be compatible for readers
of stored events. Compatible: an optional field (with a default) added, an enum value added, a
required field made optional, descriptions and titles. Anything else needs `version=N+1` and an
`@upcaster` (see `registry`). A committed file for a version no longer registered is an error
unless upcasters lead from it to the latest version, because stored events of that version
would no longer be readable.

The comparison (`compare`) is pure: two schema dicts in, a list of `Change`s out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import TypeAdapter

from yidi_events import registry
from yidi_events.envelope import Envelope
from yidi_events.registry import EventSpec

Schema = dict[str, Any]

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"
ENVELOPE_FILE = "envelope.json"
CONTRACTS_PACKAGE = "yidi_events.contracts"
REGENERATE = "run `make schemas`"
_FILE_PATTERN = re.compile(r"^(?P<event_type>[a-z_]+\.[A-Za-z0-9_]+)\.v(?P<version>\d+)\.json$")


# --- rendering ---------------------------------------------------------------------------------


def contract_specs() -> list[EventSpec]:
    """Every published contract, i.e. in `yidi_events.contracts` (services' own are not)."""
    return [
        s
        for s in registry.all_specs()
        if s.model.__module__ == CONTRACTS_PACKAGE
        or s.model.__module__.startswith(CONTRACTS_PACKAGE + ".")
    ]


def own_specs(events: ModuleType) -> list[EventSpec]:
    """The contracts a service declares in its own events module."""
    return [s for s in registry.all_specs() if s.model.__module__ == events.__name__]


@dataclass(frozen=True)
class SchemaSet:
    """One folder of committed schemas and the contracts whose schemas it holds."""

    owner: str  # "published", or the name of the service whose own contracts these are
    directory: Path
    specs: list[EventSpec]
    envelope: bool  # the envelope's schema sits with the published contracts only


def schema_sets() -> list[SchemaSet]:
    """The published contracts' set, then each installed service's own."""
    # Imported here: the definitions load every service, which only the CLI and the tests need.
    from yidi_events.definition import services

    sets = [SchemaSet("published", DEFAULT_DIR, contract_specs(), envelope=True)]
    for definition in services().values():
        own = own_specs(definition.events)
        sets.append(SchemaSet(definition.name, definition.schemas, own, envelope=False))
    return sets


def schema_file(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def contract_schema(spec: EventSpec) -> Schema:
    # Validation mode: the schema a reader applies to a stored payload, which is what must stay
    # compatible (Decimal accepted as number or string, defaulted fields optional).
    schema: Schema = spec.adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["x-event-type"] = spec.event_type
    schema["x-schema-version"] = spec.version
    schema["x-partition-key"] = spec.key
    return schema


def envelope_schema() -> Schema:
    schema: Schema = TypeAdapter(Envelope).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["payload"] = {
        "description": "The contract named by event_type and schema_version, in its JSON form.",
        "title": "Payload",
        "type": "object",
    }
    return schema


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files(specs: Iterable[EventSpec], *, envelope: bool = True) -> dict[str, Schema]:
    """File name -> schema, for the given contracts and (unless told not to) the envelope."""
    files = {schema_file(s.event_type, s.version): contract_schema(s) for s in specs}
    if envelope:
        files[ENVELOPE_FILE] = envelope_schema()
    return files


# --- compatibility -----------------------------------------------------------------------------


class ChangeKind(StrEnum):
    FIELD_REMOVED = "field removed"
    TYPE_CHANGED = "type changed"
    BECAME_REQUIRED = "field became required"
    REQUIRED_FIELD_ADDED = "required field added"
    ENUM_VALUE_REMOVED = "enum value removed"
    OPTIONAL_FIELD_ADDED = "optional field added"
    BECAME_OPTIONAL = "field became optional"
    ENUM_VALUE_ADDED = "enum value added"


BREAKING = frozenset(
    {
        ChangeKind.FIELD_REMOVED,
        ChangeKind.TYPE_CHANGED,
        ChangeKind.BECAME_REQUIRED,
        ChangeKind.REQUIRED_FIELD_ADDED,
        ChangeKind.ENUM_VALUE_REMOVED,
    }
)


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "fund_payments[].fund_code"; "" is the payload itself
    kind: ChangeKind
    detail: str

    @property
    def breaking(self) -> bool:
        return self.kind in BREAKING

    def __str__(self) -> str:
        return f"{self.kind} at {self.path or '<root>'}: {self.detail}"


def resolve(node: Schema, root: Schema) -> Schema:
    """Follow local `$ref`s (`#/$defs/...`) until a node has none; sibling keys are kept."""
    seen: set[str] = set()
    while isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


def kind_of(node: Schema) -> str:
    """The shape a node accepts, ignoring documentation: what must not change between versions."""
    if "enum" in node or "const" in node:
        return "enum"
    if "anyOf" in node or "oneOf" in node:
        return "union"
    type_ = node.get("type")
    if type_ is None:
        return "any"
    name = "|".join(sorted(type_)) if isinstance(type_, list) else str(type_)
    return f"{name}({node['format']})" if "format" in node else name


def compare(old: Schema, new: Schema) -> list[Change]:
    """Every difference that matters to a reader between the committed and the current schema."""
    return _compare(old, new, old, new, "", frozenset())


def breaking(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def _compare(
    old: Schema,
    new: Schema,
    old_root: Schema,
    new_root: Schema,
    path: str,
    visiting: frozenset[tuple[str, str]],
) -> list[Change]:
    # A recursive contract refers to itself; stop when the same pair of definitions comes back.
    refs = (str(old.get("$ref")), str(new.get("$ref")))
    if "$ref" in old and "$ref" in new:
        if refs in visiting:
            return []
        visiting = visiting | {refs}
    old, new = resolve(old, old_root), resolve(new, new_root)
    old_kind, new_kind = kind_of(old), kind_of(new)
    if old_kind != new_kind:
        return [
            Change(path, ChangeKind.TYPE_CHANGED, f"was {_describe(old)}, now {_describe(new)}")
        ]
    nested = (old_root, new_root, visiting)
    if old_kind == "enum":
        return _compare_enum(old, new, path)
    if old_kind == "union":
        return _compare_union(old, new, path, *nested)
    if old_kind == "object":
        return _compare_object(old, new, path, *nested)
    if old_kind == "array":
        return _compare_array(old, new, path, *nested)
    return []


def _compare_enum(old: Schema, new: Schema, path: str) -> list[Change]:
    old_values, new_values = _enum_values(old), _enum_values(new)
    changes = [
        Change(path, ChangeKind.ENUM_VALUE_REMOVED, f"value {v} is no longer accepted")
        for v in sorted(old_values - new_values)
    ]
    changes += [
        Change(path, ChangeKind.ENUM_VALUE_ADDED, f"value {v} added")
        for v in sorted(new_values - old_values)
    ]
    return changes


def _enum_values(node: Schema) -> set[str]:
    # JSON text, so that 1 and "1" stay different values and unhashable values still compare.
    values = node["enum"] if "enum" in node else [node["const"]]
    return {json.dumps(v, sort_keys=True) for v in values}


def _compare_union(
    old: Schema,
    new: Schema,
    path: str,
    old_root: Schema,
    new_root: Schema,
    visiting: frozenset[tuple[str, str]],
) -> list[Change]:
    old_groups = _branches(old, old_root)
    new_groups = _branches(new, new_root)
    if old_groups.keys() != new_groups.keys() or any(
        len(old_groups[k]) != len(new_groups[k]) for k in old_groups
    ):
        return [
            Change(path, ChangeKind.TYPE_CHANGED, f"was {_describe(old)}, now {_describe(new)}")
        ]
    changes: list[Change] = []
    for kind, branches in old_groups.items():
        for old_branch, new_branch in zip(branches, new_groups[kind], strict=True):
            changes += _compare(old_branch, new_branch, old_root, new_root, path, visiting)
    return changes


def _branches(node: Schema, root: Schema) -> dict[str, list[Schema]]:
    groups: dict[str, list[Schema]] = {}
    branches: list[Schema] = node.get("anyOf") or node.get("oneOf") or []
    for branch in branches:
        groups.setdefault(kind_of(resolve(branch, root)), []).append(branch)
    return groups


def _compare_object(
    old: Schema,
    new: Schema,
    path: str,
    old_root: Schema,
    new_root: Schema,
    visiting: frozenset[tuple[str, str]],
) -> list[Change]:
    old_props: Mapping[str, Schema] = old.get("properties", {})
    new_props: Mapping[str, Schema] = new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    changes: list[Change] = []
    for name, old_prop in old_props.items():
        at = f"{path}.{name}" if path else name
        if name not in new_props:
            changes.append(Change(at, ChangeKind.FIELD_REMOVED, "consumers can no longer read it"))
            continue
        if name in new_required and name not in old_required:
            changes.append(
                Change(at, ChangeKind.BECAME_REQUIRED, "stored events may lack it (was optional)")
            )
        elif name in old_required and name not in new_required:
            changes.append(Change(at, ChangeKind.BECAME_OPTIONAL, "now has a default"))
        changes += _compare(old_prop, new_props[name], old_root, new_root, at, visiting)
    for name in new_props.keys() - old_props.keys():
        at = f"{path}.{name}" if path else name
        if name in new_required:
            changes.append(
                Change(
                    at, ChangeKind.REQUIRED_FIELD_ADDED, "stored events lack it; give it a default"
                )
            )
        else:
            changes.append(Change(at, ChangeKind.OPTIONAL_FIELD_ADDED, "has a default"))
    old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_extra, dict) and isinstance(new_extra, dict):
        changes += _compare(old_extra, new_extra, old_root, new_root, f"{path}{{}}", visiting)
    elif isinstance(old_extra, dict) != isinstance(new_extra, dict):
        changes.append(
            Change(path, ChangeKind.TYPE_CHANGED, "changed between a record and a mapping")
        )
    return sorted(changes, key=lambda c: (c.path, c.kind))


def _compare_array(
    old: Schema,
    new: Schema,
    path: str,
    old_root: Schema,
    new_root: Schema,
    visiting: frozenset[tuple[str, str]],
) -> list[Change]:
    old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
    if len(old_prefix) != len(new_prefix):
        return [Change(path, ChangeKind.TYPE_CHANGED, "tuple length changed")]
    changes: list[Change] = []
    for i, (o, n) in enumerate(zip(old_prefix, new_prefix, strict=True)):
        changes += _compare(o, n, old_root, new_root, f"{path}[{i}]", visiting)
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict):
        changes += _compare(old_items, new_items, old_root, new_root, f"{path}[]", visiting)
    elif isinstance(old_items, dict) != isinstance(new_items, dict):
        changes.append(Change(path, ChangeKind.TYPE_CHANGED, "item type changed"))
    return changes


def _describe(node: Schema) -> str:
    kind = kind_of(node)
    title = node.get("title")
    return f"{kind} {title}" if kind == "object" and title else kind


# --- write and check ---------------------------------------------------------------------------


def write(
    directory: Path = DEFAULT_DIR,
    specs: Sequence[EventSpec] | None = None,
    *,
    force: bool = False,
    envelope: bool = True,
) -> list[str]:
    """Write every schema; returns the problems of the files it refused to overwrite."""
    directory.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    chosen = contract_specs() if specs is None else specs
    for name, schema in expected_files(chosen, envelope=envelope).items():
        target = directory / name
        text = render(schema)
        if target.exists():
            committed = target.read_text(encoding="utf-8")
            if committed == text:
                continue
            broken = breaking(compare(json.loads(committed), schema))
            if broken and not force:
                problems += _incompatible(name, broken)
                continue
        target.write_text(text, encoding="utf-8")
    return problems


def check(
    directory: Path = DEFAULT_DIR,
    specs: Sequence[EventSpec] | None = None,
    upcasters: Collection[tuple[str, int]] | None = None,
    *,
    envelope: bool = True,
) -> list[str]:
    """One message per problem with the committed schemas; empty when they are current."""
    specs = contract_specs() if specs is None else specs
    upcasters = _registered_upcasters() if upcasters is None else upcasters
    problems: list[str] = []
    for name, schema in expected_files(specs, envelope=envelope).items():
        target = directory / name
        if not target.exists():
            problems.append(f"{name}: no committed schema; {REGENERATE} and commit the file")
            continue
        committed = target.read_text(encoding="utf-8")
        if committed == render(schema):
            continue
        broken = breaking(compare(json.loads(committed), schema))
        if broken:
            problems += _incompatible(name, broken)
        else:
            problems.append(
                f"{name}: the contract changed compatibly but the committed schema is stale; "
                f"{REGENERATE} and commit the file"
            )
    problems += _orphans(directory, specs, upcasters)
    return problems


def write_all(*, force: bool = False) -> list[str]:
    """`write` for every schema set; each problem names the set it is in."""
    return [
        f"{every.owner}: {problem}"
        for every in schema_sets()
        for problem in write(every.directory, every.specs, force=force, envelope=every.envelope)
    ]


def check_all() -> list[str]:
    """`check` for every schema set; each problem names the set it is in."""
    return [
        f"{every.owner}: {problem}"
        for every in schema_sets()
        for problem in check(every.directory, every.specs, envelope=every.envelope)
    ]


def _incompatible(name: str, changes: Iterable[Change]) -> list[str]:
    return [
        f"{name}: incompatible change, {change}; register the new shape as the next version "
        f"with an @upcaster instead"
        for change in changes
    ]


def _orphans(
    directory: Path, specs: Sequence[EventSpec], upcasters: Collection[tuple[str, int]]
) -> list[str]:
    latest: dict[str, int] = {}
    for s in specs:
        latest[s.event_type] = max(s.version, latest.get(s.event_type, 0))
    registered = {(s.event_type, s.version) for s in specs}
    problems: list[str] = []
    for path in sorted(directory.glob("*.json")):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            continue
        event_type, version = match["event_type"], int(match["version"])
        if (event_type, version) in registered:
            continue
        newest = latest.get(event_type, 0)
        if version < newest and all((event_type, v) in upcasters for v in range(version, newest)):
            continue
        problems.append(
            f"{path.name}: {event_type} v{version} is no longer registered and no upcasters lead "
            f"from it to the latest version, so stored v{version} events could not be read; "
            f"restore the contract or register the upcasters"
        )
    return problems


def _registered_upcasters() -> set[tuple[str, int]]:
    registry.all_specs()  # loads the contract modules, which register their upcasters
    return set(registry._upcasters)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yidi_events.schemas", description=__doc__)
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--dir", type=Path, help="schema directory of the published contracts")
    parser.add_argument(
        "--force", action="store_true", help="write: overwrite even with incompatible changes"
    )
    args = parser.parse_args(argv)
    writing = args.command == "write"
    if args.dir is None:
        sets = schema_sets()
        problems = write_all(force=args.force) if writing else check_all()
    else:
        sets = [SchemaSet("published", args.dir, contract_specs(), envelope=True)]
        problems = write(args.dir, force=args.force) if writing else check(args.dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) with the schemas", file=sys.stderr)
        return 1
    done = "written to" if writing else "current in"
    for every in sets:
        print(f"schemas of {len(every.specs)} {every.owner} contracts {done} {every.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
