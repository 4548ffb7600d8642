"""What every console page shares: the officer's session, rendering, the services' refusals shown
in Chinese, and the redirect after an action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.session import COOKIE, Officer, officer_of
from yidi_events.kernel.calendar import WorkingCalendar
from yidi_events.kernel.time import SHANGHAI
from yidi_events.settings import ServiceSettings

Page = Callable[[Request, Officer, Backend], Awaitable[Response]]


@dataclass
class Console:
    settings: ServiceSettings
    templates: Jinja2Templates
    calendar: WorkingCalendar
    router: APIRouter = field(default_factory=APIRouter)
    # Login names by user id, learnt as officers log in here, so a page can say who did
    # something (the services record user ids); an id not seen yet is shown as it is.
    names: dict[str, str] = field(default_factory=dict)

    async def today(self, backend: Backend) -> date:
        # In the sandbox the services may run a simulated clock: the console's "today" is theirs.
        if self.settings.sandbox:
            try:
                clock = await backend.get("filing", "/admin/clock")
                return datetime.fromisoformat(clock["now"]).astimezone(SHANGHAI).date()
            except (Refused, KeyError, ValueError):
                pass
        return datetime.now(SHANGHAI).date()

    def render(
        self,
        request: Request,
        template: str,
        officer: Officer | None,
        http_status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        notice = request.query_params.get("notice")
        return self.templates.TemplateResponse(
            request,
            template,
            {"officer": officer, "notice": notice, **context},
            status_code=http_status,
        )

    @staticmethod
    def back(path: str, notice: str) -> RedirectResponse:
        # After an action, the page again (a reload does not repeat the action), saying what
        # was done and by whom.
        sep = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{sep}notice={quote(notice)}", status_code=303)

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        """Runs `handler` for a logged-in officer; an officer whose token the services no longer
        accept is sent to the login page."""

        async def run(request: Request) -> Response:
            officer = officer_of(request.cookies.get(COOKIE))
            if officer is None:
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            async with Backend.open(self.settings, officer.token) as backend:
                try:
                    return await handler(request, officer, backend)
                except Refused as refused:
                    if refused.status == 401:
                        return RedirectResponse("/login?expired=1", status_code=303)
                    return self.render(
                        request,
                        "refused.html",
                        officer,
                        http_status=refused.status if refused.status < 500 else 502,
                        refused=refused,
                        explained=views.RULES.get(refused.rule, refused.message),
                        again=request.headers.get("referer", "/"),
                    )

        return run

    def route(self, method: str, path: str) -> Callable[[Page], Page]:
        def register(handler: Page) -> Page:
            self.router.add_api_route(
                path,
                self.page(handler),
                methods=[method],
                response_class=HTMLResponse,
                name=handler.__name__,
            )
            return handler

        return register


async def form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


async def attempt(call: Awaitable[Any]) -> Any:
    """A queue the officer may not read (another role's) is left off the page."""
    try:
        return await call
    except Refused:
        return None
