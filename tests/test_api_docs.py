"""The published AsyncAPI and OpenAPI documents are current and complete."""

from __future__ import annotations

import json

from yidi_events import registry
from yidi_stack import apidocs


def test_the_committed_api_documents_are_current() -> None:
    assert apidocs.main(["check"]) == 0, "run `make docs`"


def test_the_asyncapi_document_lists_every_event_type_and_each_service_documents_its_api() -> None:
    asyncapi = (apidocs.API_DOCS / "asyncapi.json").read_text()
    for spec in registry.latest_specs():
        # Only the services' own contracts: the chassis' tests register examples (in the same
        # registry when the suites run in one process) under a service's name.
        shipped = spec.model.__module__.startswith("yidi_")
        if spec.service in registry.SERVICES and shipped:
            assert spec.event_type in asyncapi, spec.event_type
    for service in ("filing", "settlement", "reconciliation", "clearing", "audit"):
        openapi = json.loads((apidocs.API_DOCS / f"openapi-{service}.json").read_text())
        assert openapi["paths"], service
        assert "/readyz" in openapi["paths"]


def test_the_his_kit_has_one_request_and_one_response_schema_per_transaction() -> None:
    kit = json.loads(apidocs.HIS_OPENAPI.read_text("utf-8"))
    schemas = kit["components"]["schemas"]
    mapping = schemas["HisRequest"]["discriminator"]["mapping"]
    assert {"9001", "2207", "2304", "3201", "9101", "9102"} <= set(mapping)
    assert all(f"HisResponse{infno}" in schemas for infno in mapping)
