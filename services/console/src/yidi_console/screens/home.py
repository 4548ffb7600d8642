"""What is due today for the officer: the queues of every service, nearest deadline first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend
from yidi_console.session import Officer
from yidi_console.web import Console, attempt


def routes(console: Console) -> None:

    @console.route("GET", "/")
    async def home(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await console.today(backend)
        queues: list[dict[str, Any]] = []

        def nearest(deadlines: list[date]) -> views.Due | None:
            return views.due(min(deadlines), now, console.calendar) if deadlines else None

        if not officer.is_centre:
            pending = await attempt(backend.get("filing", "/filings", status="pending", limit=500))
            if pending is not None:
                dues = [date.fromisoformat(f["review_due"]) for f in pending if f["review_due"]]
                queues.append(_queue("待审核备案", "/filings", len(pending), nearest(dues)))
        days = await attempt(
            backend.get(
                "reconciliation",
                "/statements",
                start=(now - timedelta(days=40)).isoformat(),
                end=now.isoformat(),
            )
        )
        if days is not None:
            waiting = [
                d
                for d in days["statements"]
                if views.waits_for(d, officer.region, officer.is_centre)
            ]
            dues = [views.close_due(d) for d in waiting]
            queues.append(_queue("待确认对账日", "/days", len(waiting), nearest(dues)))
        period = views.previous_period(now)
        statement = await attempt(
            backend.get_all("clearing", f"/periods/{period}/statement", "lines")
        )
        if statement is not None:
            lines = [
                ln
                for ln in statement["lines"]
                if ln["status"] == "pending"
                and officer.region not in ln["confirmed_by"]
                and not officer.is_centre
            ]
            queues.append(_queue(f"{period} 待确认清算行", "/clearing", len(lines), None))
            if officer.is_centre and not statement["approved"]:
                queues.append(_queue(f"{period} 清算单待审批", "/clearing", 1, None))
        cases = await attempt(backend.get("audit", "/cases", status="open"))
        if cases is not None:
            queues.append(_queue("待处理稽核案件", "/cases", len(cases), None))
        overdue = await attempt(backend.get("audit", "/overdue"))
        if overdue is not None:
            dues = [date.fromisoformat(o["due"]) for o in overdue]
            queues.append(_queue("协查/工单/投诉待办", "/overdue", len(overdue), nearest(dues)))
        return console.render(request, "home.html", officer, today=now, queues=queues)


def _queue(title: str, link: str, count: int, due: views.Due | None) -> dict[str, Any]:
    return {"title": title, "link": link, "count": count, "due": due}
