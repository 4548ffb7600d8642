"""The agency console (port 8006): server-rendered pages over the five services' APIs.

It holds no business data: every page is the services' answers to the logged-in officer's own
token, so what an officer sees (their region; the centre everything) and may do is what the
services decide. A refusal is shown on the page in Chinese, with the service's rule code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.screens import (
    audit,
    charts,
    clearing,
    days,
    filings,
    home,
    hospitals,
    persons,
)
from yidi_console.session import COOKIE, officer_of
from yidi_console.web import Console
from yidi_events import logs
from yidi_events.settings import ServiceSettings

HERE = Path(__file__).parent


def create() -> FastAPI:
    """The ASGI factory uvicorn runs (`uvicorn --factory yidi_console.app:create`)."""
    settings = ServiceSettings()
    logs.configure("console", json=settings.log_json, level=settings.log_level)
    app = FastAPI(title="Yidi 经办工作台", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["yuan"] = views.yuan
    env.filters["region"] = views.region_name
    env.filters["mask"] = views.mask_certificate
    env.filters["mask_name"] = views.mask_name
    env.globals["label"] = views.label
    env.globals["V"] = views
    console = Console(settings, templates, settings.working_calendar())
    names = console.names
    env.globals["who"] = lambda user_id: names.get(str(user_id), str(user_id))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # --- login ------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        return console.render(
            request, "login.html", None, next=request.query_params.get("next", "/")
        )

    @app.post("/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        async with Backend.open(settings, None) as backend:
            try:
                done = await backend.post(
                    "filing", "/api/identity/login", {"username": username, "password": password}
                )
            except Refused:
                return console.render(
                    request,
                    "login.html",
                    None,
                    http_status=401,
                    next=next,
                    error="用户名或密码错误",
                    username=username,
                )
        token = str(done["access_token"])
        officer = officer_of(token)
        if officer is not None:
            names[officer.user_id] = officer.username
        # Only a path of this console: never an address elsewhere.
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(done.get("expires_in", 900)),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for screen in (home, filings, days, clearing, audit, hospitals, persons, charts):
        screen.routes(console)
    app.include_router(console.router)
    return app
