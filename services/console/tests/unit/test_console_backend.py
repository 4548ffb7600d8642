"""The console reads a paged list whole: it follows the service's `Link: <...>; rel="next"` to the
last page, as the officer's token, so a statement's export or count never stops at a first page."""

from __future__ import annotations

import json

import httpx
import pytest

from yidi_console.backend import Backend, Refused

LINES = [f"3201{n:02d}>320500" for n in range(5)]


def _statement(request: httpx.Request) -> httpx.Response:
    """A clearing service answering the statement's lines two to a page, the cursor being the
    index of the next line (opaque to the console)."""
    assert request.headers["authorization"] == "Bearer officer-token"
    start = int(request.url.params.get("cursor", "0"))
    body = {
        "period": "2026-03",
        "approved": False,
        "lines": [{"line_id": i} for i in LINES[start : start + 2]],
    }
    headers = {}
    if start + 2 < len(LINES):
        headers["Link"] = f'<{request.url.path}?limit=2&cursor={start + 2}>; rel="next"'
    return httpx.Response(200, headers=headers, content=json.dumps(body))


async def test_every_page_of_a_list_is_read_and_the_rest_of_the_body_kept() -> None:
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return _statement(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    async with Backend({"clearing": "http://clearing:8004/v1"}, "officer-token", http) as backend:
        body = await backend.get_all("clearing", "/periods/2026-03/statement", "lines")
    assert [line["line_id"] for line in body["lines"]] == LINES
    assert body["period"] == "2026-03"
    assert seen == [
        "http://clearing:8004/v1/periods/2026-03/statement",
        "http://clearing:8004/v1/periods/2026-03/statement?limit=2&cursor=2",
        "http://clearing:8004/v1/periods/2026-03/statement?limit=2&cursor=4",
    ]


async def test_a_refused_page_is_told_as_a_refusal() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params:
            problem = {
                "error": {"rule": "paging.cursor_invalid", "message": "no", "field": "cursor"}
            }
            return httpx.Response(422, content=json.dumps(problem))
        return _statement(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    async with Backend({"clearing": "http://clearing:8004/v1"}, "officer-token", http) as backend:
        with pytest.raises(Refused) as refused:
            await backend.get_all("clearing", "/periods/2026-03/statement", "lines")
    assert (refused.value.status, refused.value.field) == (422, "cursor")
