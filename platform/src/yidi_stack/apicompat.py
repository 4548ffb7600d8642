"""Which differences between a committed OpenAPI document and the current one break a client.

The committed documents under docs/api/ are the contract clients were built against (the console,
the operator CLI, a province's integrations). A change is breaking when a request that was valid
is now refused, or a response a client understood now says something it cannot read:
- an operation or a documented 2xx status is gone;
- a parameter is new and required, became required, or changed type;
- a request body accepts less: the event schemas' reader rules (`yidi_events.schemas.compare`,
  the server reading what an old client sends), so a required field added, a field made
  required, a type changed, an enum value removed, a field dropped (our models may forbid
  extras) all break;
- a response gives less: a field a client reads is gone or may now be missing, or changed type.
  Adding response fields, operations or optional parameters is compatible, and so is typing a
  response that promised nothing (any JSON) or only a mapping's value type (`{str: int}` becoming
  a record whose fields are all such values): a client reads at least what it read before.

Pure: two documents in, a list of readable findings out. `apidocs` runs it on `write` (refusing
to bless a breaking change) and on `check` (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from yidi_events.schemas import BREAKING, ChangeKind, compare, kind_of, resolve

Document = dict[str, Any]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# The response direction reverses the reader: the client reads what the server now writes.
_RESPONSE_BREAKING = frozenset(
    {ChangeKind.FIELD_REMOVED, ChangeKind.TYPE_CHANGED, ChangeKind.BECAME_OPTIONAL}
)


def breaking_changes(committed: Document, current: Document) -> list[str]:
    """Every change from `committed` to `current` that breaks a client of `committed`."""
    found: list[str] = []
    for path, method, old in _operations(committed):
        new = current.get("paths", {}).get(path, {}).get(method)
        where = f"{method.upper()} {path}"
        if new is None:
            found.append(f"{where}: the operation was removed")
            continue
        found += [f"{where}: {p}" for p in _parameters(old, new, committed, current)]
        found += [f"{where}: request body {p}" for p in _request(old, new, committed, current)]
        found += [f"{where}: {p}" for p in _responses(old, new, committed, current)]
    return found


def _operations(document: Document) -> Iterator[tuple[str, str, Document]]:
    for path, item in sorted(document.get("paths", {}).items()):
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _parameters(old: Document, new: Document, committed: Document, current: Document) -> list[str]:
    before = {(p["in"], p["name"]): p for p in old.get("parameters", [])}
    after = {(p["in"], p["name"]): p for p in new.get("parameters", [])}
    found = []
    for key, param in sorted(after.items()):
        was = before.get(key)
        label = f"{key[0]} parameter {key[1]!r}"
        if was is None:
            if param.get("required"):
                found.append(f"{label} is new and required")
            continue
        if param.get("required") and not was.get("required"):
            found.append(f"{label} became required")
        changes = compare(
            _rooted(was.get("schema", {}), committed), _rooted(param.get("schema", {}), current)
        )
        found += [f"{label}: {c}" for c in changes if c.kind in BREAKING]
    return found


def _json_schema(part: Document | None, root: Document) -> Document | None:
    if part is None:
        return None
    content = part.get("content", {})
    for media in ("application/json", "application/problem+json", *content):
        if media in content and "schema" in content[media]:
            return _rooted(content[media]["schema"], root)
    return None


def _rooted(schema: Document, root: Document) -> Document:
    # `compare` resolves `#/...` references against the node it is given: hand it the schema with
    # the document's components beside it, so `#/components/schemas/X` resolves.
    return {**schema, "components": root.get("components", {})}


def _request(old: Document, new: Document, committed: Document, current: Document) -> list[str]:
    before = _json_schema(old.get("requestBody"), committed)
    after = _json_schema(new.get("requestBody"), current)
    found = []
    if new.get("requestBody", {}).get("required") and not old.get("requestBody", {}).get(
        "required"
    ):
        found.append("became required")
    if before is None or after is None:
        return found
    return found + [str(c) for c in compare(before, after) if c.kind in BREAKING]


def _responses(old: Document, new: Document, committed: Document, current: Document) -> list[str]:
    found = []
    for status, response in sorted(old.get("responses", {}).items()):
        if not status.startswith("2"):
            continue
        now = new.get("responses", {}).get(status)
        if now is None:
            found.append(f"response {status} was removed")
            continue
        before, after = _json_schema(response, committed), _json_schema(now, current)
        if before is None or after is None or _typed_from_open(before, after):
            continue
        found += [
            f"response {status}: {c}"
            for c in compare(before, after)
            if c.kind in _RESPONSE_BREAKING
        ]
    return found


def _typed_from_open(before: Document, after: Document) -> bool:
    """Whether a response that promised any JSON, or a mapping of some value type, now declares a
    record whose every field is such a value (the mapping's keys named): no client loses a read."""
    old, new = resolve(before, before), resolve(after, after)
    if kind_of(old) == "any":
        return True
    values = old.get("additionalProperties")
    if kind_of(old) != "object" or old.get("properties") or not isinstance(values, dict):
        return False
    if kind_of(new) != "object" or not new.get("properties"):
        return False
    value = _rooted(values, before)
    return all(
        not any(c.kind in _RESPONSE_BREAKING for c in compare(value, _rooted(field, after)))
        for field in new["properties"].values()
    )
