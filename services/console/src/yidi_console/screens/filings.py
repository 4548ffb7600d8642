"""Filings to review: approve, or reject with a reason; export."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend
from yidi_console.exports import download
from yidi_console.session import Officer
from yidi_console.web import Console, form


def routes(console: Console) -> None:

    async def filing_rows(backend: Backend, status: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await backend.get(
            "filing", "/filings", status=status or None, limit=500
        )
        return rows

    @console.route("GET", "/filings")
    async def filings(request: Request, officer: Officer, backend: Backend) -> Response:
        status = request.query_params.get("status", "pending")
        now = await console.today(backend)
        rows = await filing_rows(backend, status)
        for row in rows:
            due_on = row.get("review_due")
            row["due"] = (
                views.due(date.fromisoformat(due_on), now, console.calendar) if due_on else None
            )
        return console.render(request, "filings.html", officer, rows=rows, status=status)

    @console.route("POST", "/filings/{filing_id}/approve")
    async def approve_filing(request: Request, officer: Officer, backend: Backend) -> Response:
        filing_id = request.path_params["filing_id"]
        await backend.post("filing", f"/filings/{filing_id}/approve")
        return console.back("/filings", f"备案 {filing_id} 已由 {officer.username} 批准")

    @console.route("POST", "/filings/{filing_id}/reject")
    async def reject_filing(request: Request, officer: Officer, backend: Backend) -> Response:
        filing_id = request.path_params["filing_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("filing", f"/filings/{filing_id}/reject", {"reason": reason})
        return console.back("/filings", f"备案 {filing_id} 已由 {officer.username} 驳回：{reason}")

    @console.route("GET", "/filings/export.{fmt}")
    async def export_filings(request: Request, officer: Officer, backend: Backend) -> Response:
        status = request.query_params.get("status", "")
        rows = await filing_rows(backend, status)
        header = ["备案号", "人员编号", "参保地", "就医地", "类型", "状态", "提交日期", "审核期限"]
        body = [
            [
                r["filing_id"],
                r["person_id"],
                r["insured_region"],
                r["visit_region"],
                views.label(views.FILING_KIND, r["kind"]),
                views.label(views.FILING_STATUS, r["status"]),
                r.get("submitted_on"),
                r.get("review_due"),
            ]
            for r in rows
        ]
        return download(request.path_params["fmt"], "备案", header, body)
