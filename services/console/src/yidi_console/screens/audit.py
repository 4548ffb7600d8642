"""Audit: cases, flags, overdue work, tickets and complaints; exports of the lists."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.exports import download
from yidi_console.session import Officer
from yidi_console.web import Console, form


def routes(console: Console) -> None:

    @console.route("GET", "/cases")
    async def cases(request: Request, officer: Officer, backend: Backend) -> Response:
        status = request.query_params.get("status", "open")
        rows = await backend.get("audit", "/cases", status=status or None)
        return console.render(request, "cases.html", officer, rows=rows, status=status)

    @console.route("POST", "/cases/{case_id}/confirm")
    async def confirm_case(request: Request, officer: Officer, backend: Backend) -> Response:
        case_id = request.path_params["case_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("audit", f"/cases/{case_id}/confirm", {"reason": reason})
        return console.back("/cases", f"案件 {case_id} 已由 {officer.username} 确认违规：{reason}")

    @console.route("POST", "/cases/{case_id}/dismiss")
    async def dismiss_case(request: Request, officer: Officer, backend: Backend) -> Response:
        case_id = request.path_params["case_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("audit", f"/cases/{case_id}/dismiss", {"reason": reason})
        return console.back("/cases", f"案件 {case_id} 已由 {officer.username} 排除：{reason}")

    @console.route("GET", "/flags")
    async def flags(request: Request, officer: Officer, backend: Backend) -> Response:
        return await listed(request, officer, backend, "flags")

    @console.route("GET", "/overdue")
    async def overdue(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await console.today(backend)
        rows = await backend.get("audit", "/overdue")
        for row in rows:
            row["due_text"] = views.due(date.fromisoformat(row["due"]), now, console.calendar).text
        return console.render(request, "overdue.html", officer, rows=rows)

    @console.route("GET", "/tickets")
    async def tickets(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("audit", "/tickets")
        return console.render(request, "tickets.html", officer, rows=rows)

    @console.route("POST", "/tickets/{ticket_id}/reply")
    async def reply_ticket(request: Request, officer: Officer, backend: Backend) -> Response:
        ticket_id = request.path_params["ticket_id"]
        answer = (await form(request)).get("answer", "")
        await backend.post("audit", f"/tickets/{ticket_id}/reply", {"answer": answer})
        return console.back("/tickets", f"工单 {ticket_id} 已由 {officer.username} 答复")

    @console.route("POST", "/tickets/{ticket_id}/confirm")
    async def confirm_ticket(request: Request, officer: Officer, backend: Backend) -> Response:
        ticket_id = request.path_params["ticket_id"]
        await backend.post("audit", f"/tickets/{ticket_id}/confirm")
        return console.back("/tickets", f"工单 {ticket_id} 的答复已由 {officer.username} 确认")

    @console.route("GET", "/complaints")
    async def complaints(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("audit", "/complaints")
        return console.render(request, "complaints.html", officer, rows=rows)

    @console.route("POST", "/complaints/{complaint_id}/acknowledge")
    async def acknowledge(request: Request, officer: Officer, backend: Backend) -> Response:
        complaint_id = request.path_params["complaint_id"]
        await backend.post("audit", f"/complaints/{complaint_id}/acknowledge")
        return console.back("/complaints", f"投诉 {complaint_id} 已由 {officer.username} 受理")

    @console.route("POST", "/complaints/{complaint_id}/resolve")
    async def resolve(request: Request, officer: Officer, backend: Backend) -> Response:
        complaint_id = request.path_params["complaint_id"]
        outcome = (await form(request)).get("outcome", "")
        await backend.post("audit", f"/complaints/{complaint_id}/resolve", {"outcome": outcome})
        return console.back(
            "/complaints", f"投诉 {complaint_id} 已由 {officer.username} 办结：{outcome}"
        )

    async def listed(request: Request, officer: Officer, backend: Backend, name: str) -> Response:
        title, service, path = LISTS[name]
        rows = await backend.get(service, path)
        return console.render(
            request, "table.html", officer, export=name, **views.table(title, rows)
        )

    @console.route("GET", "/export/{name}.{fmt}")
    async def export_list(request: Request, officer: Officer, backend: Backend) -> Response:
        name = request.path_params["name"]
        if name not in LISTS:
            raise Refused(404, "console.export_unknown", f"没有名为 {name} 的列表", "name")
        title, service, path = LISTS[name]
        rows: list[dict[str, Any]] = await backend.get(service, path)
        columns = list(rows[0]) if rows else []
        body = [[_cell(r.get(c)) for c in columns] for r in rows]
        header = [views.label(views.COLUMNS, c) for c in columns]
        return download(request.path_params["fmt"], title, header, body)


# The lists shown as the services give them, by name: title, service, path.
LISTS = {
    "flags": ("稽核疑点", "audit", "/flags"),
    "tickets": ("工单", "audit", "/tickets"),
    "complaints": ("投诉", "audit", "/complaints"),
}


def _cell(value: Any) -> str | int | None:
    if value is None or isinstance(value, (str, int)):
        return value
    return json.dumps(value, ensure_ascii=False)
