"""Reconciliation days to confirm, and a dispute per settlement."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend
from yidi_console.session import Officer
from yidi_console.web import Console, form


def routes(console: Console) -> None:

    @console.route("GET", "/days")
    async def days(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await console.today(backend)
        start = request.query_params.get("start") or (now - timedelta(days=40)).isoformat()
        found = await backend.get("reconciliation", "/statements", start=start, end=now.isoformat())
        rows = sorted(found["statements"], key=lambda d: (d["business_date"], d["pair"]))
        for row in rows:
            row["waits"] = views.waits_for(row, officer.region, officer.is_centre)
            row["due"] = views.due(views.close_due(row), now, console.calendar)
        return console.render(request, "days.html", officer, rows=rows, start=start)

    @console.route("GET", "/days/{insured}/{visit}/{day}")
    async def day(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        statement = await backend.get("reconciliation", path)
        return console.render(request, "day.html", officer, s=statement, path=path)

    @console.route("POST", "/days/{insured}/{visit}/{day}/confirm")
    async def confirm_day(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        await backend.post("reconciliation", f"{path}/confirm")
        region = views.region_name(officer.region)
        return console.back(
            f"/days{path[len('/statements') :]}", f"{region} 已由 {officer.username} 确认"
        )

    @console.route("POST", "/days/{insured}/{visit}/{day}/disputes")
    async def dispute_settlement(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        data = await form(request)
        await backend.post(
            "reconciliation",
            f"{path}/disputes",
            {"settlement_id": data.get("settlement_id", ""), "reason": data.get("reason", "")},
        )
        return console.back(
            f"/days{path[len('/statements') :]}",
            f"结算 {data.get('settlement_id')} 已由 {officer.username} 提出争议",
        )


def _day_path(request: Request) -> str:
    p = request.path_params
    return f"/statements/{p['insured']}/{p['visit']}/{p['day']}"
