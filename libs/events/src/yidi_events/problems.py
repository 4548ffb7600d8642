"""Errors of the service APIs as RFC 9457 problem details (`application/problem+json`).

Every refusal names the rule it broke and the field it concerns. RFC 9457 carries both as
extension members beside the standard ones: `type` is a URN made from the rule (stable, so a
client can switch on it), `title` the HTTP reason phrase of the status, `detail` the message.

The member `error` ({rule, field, message, values}) is the shape these APIs answered before they
spoke RFC 9457; it stays as an extension member so existing clients (the operator CLI, scripts)
keep working, and is marked deprecated in the OpenAPI documents.

The HIS gateway never answers with a problem: it refuses in the national interface's own envelope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:yidi:rule:"


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending field in the request")
    message: str
    row: int | None = Field(None, description="the row of an uploaded file, when it is one")
    rule: str | None = Field(None, description="the rule the row broke, when it is one")


class LegacyError(BaseModel):
    rule: str
    field: str | None = None
    message: str
    values: dict[str, Any] | None = None


class Problem(BaseModel):
    """An RFC 9457 problem: why a request was refused; nothing was changed."""

    type: str = Field(description=f"`{TYPE_PREFIX}<rule>`: stable, switch on it")
    title: str = Field(description="the HTTP reason phrase of `status`")
    status: int
    detail: str = Field(description="what was wrong, for a person to read")
    rule: str = Field(description="the business or request rule that refused the request")
    field: str | None = Field(None, description="the request field the rule concerns")
    values: dict[str, Any] | None = Field(None, description="the figures `detail` quotes")
    errors: list[FieldError] | None = Field(
        None, description="every invalid field, when the request failed validation"
    )
    error: LegacyError | None = Field(
        None, description="deprecated: the pre-RFC 9457 shape, kept for existing clients"
    )


def problem(
    status: int,
    rule: str,
    detail: str,
    *,
    field: str | None = None,
    values: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError] = (),
    rows: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The problem answer; `rows` lists the refused rows of a file upload (row, field, rule,
    message each), as the `errors` extension."""
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{rule}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "rule": rule,
        "field": field,
    }
    legacy: dict[str, Any] = {"rule": rule, "field": field, "message": detail}
    if values:
        body["values"] = legacy["values"] = dict(values)
    if errors or rows:
        body["errors"] = [e.model_dump() for e in errors] + [dict(r) for r in rows]
    body["error"] = legacy
    return JSONResponse(
        status_code=status, content=body, media_type=MEDIA_TYPE, headers=dict(headers or {})
    )


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_ERROR_RESPONSES = {
    "401": "no valid bearer token",
    "403": "the caller's kind, role or region does not admit this",
    "422": "refused by a rule (the problem names it); nothing was changed",
}


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document saying what the handlers do: every error is a `Problem`.

    FastAPI documents its own validation shape (`HTTPValidationError`) for 422, which these APIs
    never send; it is replaced, and 401/403 are added where a bearer token is read."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in Problem.model_json_schema(ref_template="#/components/schemas/{model}")[
        "$defs"
    ].items():
        schemas[name] = schema
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem_schema.pop("$defs", None)
    schemas["Problem"] = problem_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            secured = bool(operation.get("security"))
            # An operation that reads neither a token nor a body (a probe) refuses nothing; the
            # HIS gateway's operations answer in the national envelope, always with 200.
            if not secured and "422" not in responses:
                continue
            for status, description in _ERROR_RESPONSES.items():
                if status in ("401", "403") and not secured:
                    continue
                responses[status] = {
                    "description": description,
                    "content": {MEDIA_TYPE: {"schema": _PROBLEM_REF}},
                }
    return openapi
