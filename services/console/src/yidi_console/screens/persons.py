"""Persons with masked certificate numbers; a reveal needs a reason and is logged."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.session import Officer
from yidi_console.web import Console, form

# Who revealed which certificate number and why: a line per reveal, kept with the console's
# logs (no service records it yet), so the reveal itself leaves a trace an auditor can follow.
reveals = structlog.get_logger("yidi.console.reveal")


def routes(console: Console) -> None:

    async def person_rows(request: Request, backend: Backend) -> list[dict[str, Any]]:
        """One person by their number when the officer searched, else the region's first 200."""
        wanted = request.query_params.get("person_id", "").strip()
        if wanted:
            try:
                return [await backend.get("filing", f"/persons/{quote(wanted, safe='')}")]
            except Refused as refused:
                if refused.status == 404:
                    return []
                raise
        rows: list[dict[str, Any]] = await backend.get("filing", "/persons", limit=200)
        return rows

    @console.route("GET", "/persons")
    async def persons(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await person_rows(request, backend)
        return console.render(request, "persons.html", officer, rows=rows, revealed=None)

    @console.route("POST", "/persons/{person_id}/reveal")
    async def reveal(request: Request, officer: Officer, backend: Backend) -> Response:
        person_id = request.path_params["person_id"]
        reason = (await form(request)).get("reason", "").strip()
        if not reason:
            raise Refused(422, "console.reveal_reason", "查看完整证件号码须填写理由", "reason")
        person = await backend.get("filing", f"/persons/{person_id}")
        reveals.warning(
            "console.certificate_revealed",
            user_id=officer.user_id,
            username=officer.username,
            region=officer.region,
            person_id=person_id,
            reason=reason,
        )
        rows = await person_rows(request, backend)
        return console.render(
            request,
            "persons.html",
            officer,
            rows=rows,
            revealed={"person": person, "reason": reason},
        )

    @console.route("GET", "/persons/{person_id}/chronic")
    async def chronic(request: Request, officer: Officer, backend: Backend) -> Response:
        person_id = request.path_params["person_id"]
        rows = await backend.get("filing", f"/persons/{person_id}/chronic-diseases")
        return console.render(
            request, "table.html", officer, **views.table(f"慢特病认定（{person_id}）", rows)
        )
