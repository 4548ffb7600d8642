"""The AsyncAPI 3.0 document of Yidi's topics, printed as JSON.

    python -m yidi_events.asyncapi [--schema-base schemas/] > asyncapi.json

One channel per topic (`yidi.<service>.events` and its `.dlq`) carrying every latest event type
of that service. A Kafka record's value is the envelope, so each message's payload is
`envelope.json` with `payload` narrowed to the contract's committed schema; the record headers
and the partition key are described as the relay sets them. Schemas are referenced, not inlined,
because their `#/$defs/...` references only resolve inside their own files; `--schema-base` says
where the published schemas (libs/events/schemas) are relative to the printed document (default:
`schemas/`, i.e. the document sits in libs/events/). A service's own facts are on its topic too;
their schemas are referenced in the service's folder (`SchemaSet`), and the document says which
facts are published contracts and which are the producer's own.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from yidi_events.registry import EventSpec
from yidi_events.schemas import DEFAULT_DIR, ENVELOPE_FILE, SchemaSet, schema_file, schema_sets
from yidi_events.topics import DEFAULT_NAMESPACE, all_sources, dlq, owner, topic

Document = dict[str, Any]
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"


def latest_contracts(specs: Sequence[EventSpec]) -> list[EventSpec]:
    newest: dict[str, int] = {}
    for s in specs:
        newest[s.event_type] = max(s.version, newest.get(s.event_type, 0))
    return sorted(
        (s for s in specs if s.version == newest[s.event_type]), key=lambda s: s.event_type
    )


PUBLISHED = "A published contract: other services consume it."
OWN = "The producer's own fact: no other service has its contract; consumers order and skip it."


def message(spec: EventSpec, schema_base: str, folder: str | None = None) -> Document:
    """`folder`: where a service's own contract's schema is, relative to the published ones."""
    doc = (spec.model.__doc__ or "").strip()
    key_text = f"Partition key: the payload field `{spec.key}` (the Kafka record key)."
    owner = PUBLISHED if folder is None else OWN
    file = schema_file(spec.event_type, spec.version)
    # Relative bases are normalised so the reference reads as a plain path to the service's folder.
    schema = (
        schema_base + file if folder is None else posixpath.normpath(schema_base + folder + file)
    )
    return {
        "name": spec.event_type,
        "title": spec.model.__name__,
        "summary": doc.splitlines()[0] if doc else spec.event_type,
        "description": f"{key_text} {owner}",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": ["event_type", "schema_version", "event_id"],
            "properties": {
                "event_type": {"type": "string", "const": spec.event_type},
                "schema_version": {
                    "type": "string",
                    "const": str(spec.version),
                    "description": "The payload's schema version, as decimal text.",
                },
                "event_id": {"type": "string", "format": "uuid"},
            },
        },
        "payload": {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {
                "allOf": [
                    {"$ref": f"{schema_base}{ENVELOPE_FILE}"},
                    {
                        "properties": {
                            "event_type": {"const": spec.event_type},
                            "schema_version": {"const": spec.version},
                            "payload": {"$ref": schema},
                        }
                    },
                ]
            },
        },
        "bindings": {"kafka": {"key": {"type": "string", "description": key_text}}},
    }


def document(
    specs: Sequence[EventSpec] | None = None,
    *,
    schema_base: str = "schemas/",
    namespace: str = DEFAULT_NAMESPACE,
) -> Document:
    """The document of `specs` as published contracts; by default of every schema set's."""
    folders: Mapping[str, str] = {}
    if specs is None:
        sets = schema_sets()
        specs = [s for every in sets for s in every.specs]
        folders = _service_folders(sets)
    contracts = latest_contracts(specs)
    messages = {s.event_type: message(s, schema_base, folders.get(s.event_type)) for s in contracts}
    channels: Document = {}
    operations: Document = {}
    for source in all_sources():
        service = owner(source)
        refs = {
            s.event_type: {"$ref": f"#/components/messages/{s.event_type}"}
            for s in contracts
            if s.source == source
        }
        events = topic(source, namespace)
        side = source != service
        channels[events] = {
            "address": events,
            "title": f"{service} {source.partition('.')[2]}" if side else f"{service} events",
            "description": (
                f"Data the {service} service withholds from {topic(service, namespace)}, for "
                "the only consumers allowed to read it, through its outbox relay."
                if side
                else f"Facts the {service} service publishes, through its outbox relay."
            ),
            "messages": refs,
        }
        channels[dlq(events)] = {
            "address": dlq(events),
            "title": f"{service} dead letters",
            "description": (
                f"Records of {events} a consumer could not handle, unchanged, with the failure "
                "in extra headers."
            ),
            "messages": dict(refs),
        }
        operations[f"{source}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{events}"},
            "messages": [
                {"$ref": f"#/channels/{events}/messages/{event_type}"} for event_type in refs
            ],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Yidi events",
            "version": "1.0.0",
            "description": (
                "Facts published by Yidi's services; generated by yidi_events.asyncapi. Each topic "
                "carries every fact of its service: the published contracts other services "
                "consume (schemas in libs/events/schemas) and the service's own facts (schemas in "
                "services/<service>/schemas), which consumers order and skip."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _service_folders(sets: Sequence[SchemaSet]) -> Mapping[str, str]:
    """Event type -> its schema folder relative to the published one, for services' own facts."""
    return {
        spec.event_type: os.path.relpath(every.directory, DEFAULT_DIR).replace(os.sep, "/") + "/"
        for every in sets
        if not every.envelope
        for spec in every.specs
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yidi_events.asyncapi", description=__doc__)
    parser.add_argument("--schema-base", default="schemas/", help="where the schema files are")
    args = parser.parse_args(argv)
    text = json.dumps(document(schema_base=args.schema_base), indent=2, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
