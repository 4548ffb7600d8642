"""The visit agency's reference data: hospitals (suspend, resume) and the catalogue."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend
from yidi_console.session import Officer
from yidi_console.web import Console, form


def routes(console: Console) -> None:

    @console.route("GET", "/hospitals")
    async def hospitals(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("settlement", "/api/hospitals")
        return console.render(request, "hospitals.html", officer, rows=rows)

    @console.route("POST", "/hospitals/{code}/suspend")
    async def suspend_hospital(request: Request, officer: Officer, backend: Backend) -> Response:
        code = request.path_params["code"]
        until = (await form(request)).get("suspended_until") or None
        await backend.post(
            "settlement", f"/api/hospitals/{code}/suspend", {"suspended_until": until}
        )
        return console.back("/hospitals", f"定点机构 {code} 已由 {officer.username} 暂停直接结算")

    @console.route("POST", "/hospitals/{code}/resume")
    async def resume_hospital(request: Request, officer: Officer, backend: Backend) -> Response:
        code = request.path_params["code"]
        await backend.post("settlement", f"/api/hospitals/{code}/resume")
        return console.back("/hospitals", f"定点机构 {code} 已由 {officer.username} 恢复直接结算")

    @console.route("GET", "/catalogue")
    async def catalogue(request: Request, officer: Officer, backend: Backend) -> Response:
        region = request.query_params.get("region") or (
            officer.region if not officer.is_centre else "320100"
        )
        rows = await backend.get("settlement", "/api/catalogue/items", region=region)
        return console.render(
            request, "table.html", officer, **views.table(f"目录（{region}）", rows)
        )
