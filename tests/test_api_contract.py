"""The service APIs' OpenAPI documents say what the handlers do, and the breaking-change check
catches a change that would break their clients.

Every operation that reads a bearer token declares the bearer scheme (so `/docs` can send one)
and documents its refusals as RFC 9457 problems; the others are the declared public routes. The
check (`yidi_stack.apicompat`) is tried on small documents worked by hand and on a deliberately
broken copy of a committed document.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from yidi_events.auth.agency import issue_token
from yidi_events.auth.routes import table
from yidi_events.definition import services
from yidi_events.problems import MEDIA_TYPE
from yidi_events.settings import ServiceSettings
from yidi_stack import apidocs
from yidi_stack.apicompat import breaking_changes

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _apps() -> dict[str, Any]:
    settings = ServiceSettings(
        database_url="postgresql://unused@127.0.0.1:1/unused", log_json=False
    )
    return {name: d.create(settings) for name, d in services().items()}


@pytest.fixture(scope="module")
def apps() -> dict[str, Any]:
    return _apps()


def test_every_operation_is_secured_or_declared_public_and_says_how_it_refuses(
    apps: dict[str, Any],
) -> None:
    wrong = []
    for name, app in apps.items():
        document = app.openapi()
        assert document["components"]["securitySchemes"]["bearer"] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": document["components"]["securitySchemes"]["bearer"]["description"],
        }
        for route in table(name, app):
            operation = document["paths"].get(route.path, {}).get(route.method.lower())
            if operation is None:
                continue  # not an operation of the API (the metrics scrape)
            where = f"{name} {route.method} {route.path}"
            secured = operation.get("security") == [{"bearer": []}]
            if secured != (route.admits is not None):
                wrong.append(f"{where}: bearer scheme {secured}, declared {route}")
            if not any(status.startswith("2") for status in operation["responses"]):
                wrong.append(f"{where}: no 2xx response")
            if route.admits is None:
                continue
            for status in ("401", "403", "422"):
                content = operation["responses"].get(status, {}).get("content", {})
                if content.get(MEDIA_TYPE, {}).get("schema") != PROBLEM:
                    wrong.append(f"{where}: {status} is not documented as a problem")
    assert not wrong, "\n".join(wrong)


# Services whose every operation answers a typed 2xx (issue 25).
TYPED_SERVICES = ("audit", "clearing", "filing", "reconciliation", "reimbursement", "settlement")
# The chassis' routes every service has, typed in all of them.
CHASSIS = ("/v1/admin/", "/healthz", "/readyz")
# The national HIS gateway answers the national envelope, not these APIs' models (its typing is
# other work); every other settlement route is the visit place's agency API.
HIS_GATEWAY = {
    ("settlement", "/CSB/hsa-fsi-{infno}"),
    ("settlement", "/ebus/gdyb_api/prd/hsa/hgs/{infno}"),
    ("settlement", "/fsi/api/rsfComIfsService/callService"),
}
# Files a bank or an agency's office software reads, answered as text rather than JSON.
FILES = {("reimbursement", "/v1/payments/batches/{batch_id}/file")}


def _typed(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A `$ref` to a component with declared properties (and no open `additionalProperties`), or
    an array of one."""
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}), schemas)
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return False
    component = schemas[ref.rsplit("/", 1)[-1]]
    return bool(component.get("properties")) and component.get("additionalProperties") in (
        None,
        False,
    )


def test_every_operation_answers_a_typed_2xx(apps: dict[str, Any]) -> None:
    untyped = []
    for name, app in apps.items():
        document = app.openapi()
        schemas = document["components"]["schemas"]
        for path, item in sorted(document["paths"].items()):
            if name not in TYPED_SERVICES and not path.startswith(CHASSIS):
                continue
            if (name, path) in HIS_GATEWAY:
                continue
            if (name, path) in FILES:
                ok = item["get"]["responses"]["200"]["content"]
                if ok != {"text/plain": {"schema": {"type": "string"}}}:
                    untyped.append(f"{name} GET {path}: not a text file")
                continue
            for method, operation in item.items():
                ok = [
                    status
                    for status, response in operation["responses"].items()
                    if status.startswith("2")
                    and _typed(
                        response.get("content", {}).get("application/json", {}).get("schema", {}),
                        schemas,
                    )
                ]
                if not ok:
                    untyped.append(f"{name} {method.upper()} {path}")
    assert not untyped, "untyped 2xx responses:\n" + "\n".join(untyped)


# What keeps its path without our version: paths others fix. The national HIS interface names
# the gateway's paths; verifiers look for keys at the well-known URI (RFC 8615); probes and the
# scrape are the platform's, not a client's.
UNVERSIONED = {
    *HIS_GATEWAY,
    ("filing", "/.well-known/jwks.json"),
    *((name, probe) for name in services() for probe in ("/healthz", "/readyz")),
}


def test_every_documented_operation_is_under_the_version(apps: dict[str, Any]) -> None:
    stray = [
        f"{name} {path}"
        for name, app in apps.items()
        for path in app.openapi()["paths"]
        if not path.startswith("/v1/") and (name, path) not in UNVERSIONED
    ]
    assert not stray, "operations outside /v1:\n" + "\n".join(stray)
    # Every service's own API moved, the chassis' admin API with it.
    for name, app in apps.items():
        assert "/v1/admin/lag" in app.openapi()["paths"], name


async def test_an_old_path_still_answers_deprecated_with_its_successor(
    database: Callable[..., str],
) -> None:
    definition = services()["filing"]
    settings = ServiceSettings(
        database_url=database(definition.migrations),
        kafka_bootstrap="127.0.0.1:1",
        kafka_namespace="unused",
        relay_enabled=False,
        consumers_enabled=False,
        log_json=False,
        log_level="WARNING",
    )
    secret = settings.auth_secret.get_secret_value()
    clerk = {
        "authorization": "Bearer "
        + issue_token(secret, user_id="clerk", region="320100", roles=["clerk"])
    }
    operator = {
        "authorization": "Bearer "
        + issue_token(secret, user_id="op", region="320000", roles=["operator"], kind="centre")
    }
    # 2026-12-07T00:00:00Z, the day /v1 was published, as RFC 9745's structured-field date.
    deprecated = f"@{int(datetime(2026, 12, 7, tzinfo=UTC).timestamp())}"
    assert deprecated == "@1796601600"
    app = definition.create(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as client,
    ):
        old = await client.get("/persons", params={"limit": 5}, headers=clerk)
        new = await client.get("/v1/persons", params={"limit": 5}, headers=clerk)
        assert old.status_code == new.status_code == 200
        assert old.json() == new.json()
        assert old.headers["deprecation"] == deprecated
        assert old.headers["link"] == '</v1/persons?limit=5>; rel="successor-version"'
        assert "deprecation" not in new.headers

        # A refusal on an old path says so too: it is what a forgotten client logs.
        refused = await client.get("/persons/P1", headers={})
        assert refused.status_code == 401
        assert refused.headers["deprecation"] == deprecated
        assert refused.headers["link"] == '</v1/persons/P1>; rel="successor-version"'

        # The chassis' admin API has its alias too, admitting the same callers.
        listed = await client.get("/admin/projections", headers=operator)
        assert listed.status_code == 200
        assert listed.json() == (await client.get("/v1/admin/projections", headers=operator)).json()
        assert listed.headers["link"] == '</v1/admin/projections>; rel="successor-version"'
        assert (await client.get("/admin/projections", headers=clerk)).status_code == 403

        # What others fix keeps its path, undeprecated.
        for path in ("/healthz", "/.well-known/jwks.json"):
            kept = await client.get(path)
            assert kept.status_code == 200, path
            assert "deprecation" not in kept.headers, path
        assert (await client.get("/v1/healthz")).status_code == 404


def _doc(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas or {}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


CASE = {
    "type": "object",
    "properties": {"case_id": {"type": "string"}, "amount": {"type": "integer"}},
    "required": ["case_id", "amount"],
}
CASE_IN = {
    "type": "object",
    "properties": {"reason": {"type": "string"}},
    "required": ["reason"],
}


def _cases(case: dict[str, Any], case_in: dict[str, Any], params: list[Any]) -> dict[str, Any]:
    return _doc(
        {
            "/cases/{case_id}": {
                "post": {
                    "parameters": params,
                    "requestBody": {**_json({"$ref": "#/components/schemas/CaseIn"})},
                    "responses": {"200": _json({"$ref": "#/components/schemas/Case"})},
                }
            }
        },
        {"Case": case, "CaseIn": case_in},
    )


PATH_PARAM = {"in": "path", "name": "case_id", "required": True, "schema": {"type": "string"}}
BEFORE = _cases(CASE, CASE_IN, [PATH_PARAM])


def test_compatible_changes_pass() -> None:
    # A response field added, an optional request field and an optional query parameter added,
    # a new operation: an old client sends and reads the same and is still served.
    case = copy.deepcopy(CASE)
    case["properties"]["status"] = {"type": "string"}
    case["required"].append("status")
    case_in = copy.deepcopy(CASE_IN)
    case_in["properties"]["evidence"] = {"type": "string"}
    after = _cases(case, case_in, [PATH_PARAM, {"in": "query", "name": "page", "schema": {}}])
    after["paths"]["/cases"] = {"get": {"responses": {"200": _json({"type": "array"})}}}
    assert breaking_changes(BEFORE, after) == []


def test_each_breaking_change_is_named() -> None:
    case = copy.deepcopy(CASE)
    del case["properties"]["amount"]  # a client reading `amount` finds nothing
    case["required"].remove("amount")
    case_in = copy.deepcopy(CASE_IN)
    case_in["properties"]["region"] = {"type": "string"}  # an old client never sends it
    case_in["required"].append("region")
    token = {"in": "query", "name": "as_of", "required": True, "schema": {"type": "string"}}
    found = breaking_changes(BEFORE, _cases(case, case_in, [PATH_PARAM, token]))
    assert any("query parameter 'as_of' is new and required" in f for f in found), found
    assert any("request body required field added" in f and "region" in f for f in found), found
    assert any("response 200: field removed" in f and "amount" in f for f in found), found
    assert len(found) == 3, found


def _answers(schema: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return _doc({"/count": {"get": {"responses": {"200": _json(schema)}}}}, schemas)


def test_typing_a_response_that_promised_nothing_or_a_mapping_is_compatible() -> None:
    # A client of "any JSON", or of {str: int}, reads every key it read before from a record of
    # integers; a record with a text field among them is one the mapping's client misreads.
    counted = {
        "Counted": {
            "type": "object",
            "properties": {"enrolled": {"type": "integer", "description": "persons"}},
            "required": ["enrolled"],
        }
    }
    typed = _answers({"$ref": "#/components/schemas/Counted"}, counted)
    assert breaking_changes(_answers({}), typed) == []
    mapping = _answers({"type": "object", "additionalProperties": {"type": "integer"}})
    assert breaking_changes(mapping, typed) == []
    counted["Counted"]["properties"]["note"] = {"type": "string"}
    found = breaking_changes(mapping, _answers({"$ref": "#/components/schemas/Counted"}, counted))
    assert found == [
        "GET /count: response 200: type changed at <root>: changed between a record and a mapping"
    ], found


def test_a_removed_operation_or_success_status_breaks() -> None:
    gone = _doc({})
    assert breaking_changes(BEFORE, gone) == ["POST /cases/{case_id}: the operation was removed"]
    moved = copy.deepcopy(BEFORE)
    responses = moved["paths"]["/cases/{case_id}"]["post"]["responses"]
    responses["201"] = responses.pop("200")
    assert breaking_changes(BEFORE, moved) == ["POST /cases/{case_id}: response 200 was removed"]


def test_a_deliberately_broken_committed_document_is_caught() -> None:
    name = "api/openapi-filing.json"
    committed = json.loads((apidocs.DOCS / name).read_text())
    broken = copy.deepcopy(committed)
    # Find a typed response schema and drop one of its properties, as a careless rename would.
    schemas = broken["components"]["schemas"]
    victim = next(
        (path, method, ref.rsplit("/", 1)[-1])
        for path, item in sorted(broken["paths"].items())
        for method, op in item.items()
        for status, response in op["responses"].items()
        if status.startswith("2")
        and (
            ref := response.get("content", {})
            .get("application/json", {})
            .get("schema", {})
            .get("$ref")
        )
        and schemas[ref.rsplit("/", 1)[-1]].get("properties")
    )
    path, method, model = victim
    field = sorted(schemas[model]["properties"])[0]
    del schemas[model]["properties"][field]
    found = breaking_changes(committed, broken)
    assert any(f.startswith(f"{method.upper()} {path}: response") and field in f for f in found), (
        found
    )
    assert breaking_changes(committed, committed) == []


def test_a_removed_v1_operation_of_a_committed_document_is_caught() -> None:
    # The committed documents are /v1's: the check compares /v1 with /v1, so dropping one of its
    # operations later (the unversioned aliases are not documented) still breaks.
    committed = json.loads((apidocs.DOCS / "api/openapi-filing.json").read_text())
    current = copy.deepcopy(committed)
    del current["paths"]["/v1/persons/{person_id}"]["get"]
    assert breaking_changes(committed, current) == [
        "GET /v1/persons/{person_id}: the operation was removed"
    ]
