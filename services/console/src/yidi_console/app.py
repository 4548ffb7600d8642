"""The agency console (port 8006): server-rendered pages over the five services' APIs.

It holds no business data: every page is the services' answers to the logged-in officer's own
token, so what an officer sees (their region; the centre everything) and may do is what the
services decide. A refusal is shown on the page in Chinese, with the service's rule code."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.charts import Bar, bar_chart
from yidi_console.exports import to_csv, to_xlsx
from yidi_console.session import COOKIE, Officer, officer_of
from yidi_events import logs
from yidi_events.kernel.time import SHANGHAI
from yidi_events.settings import ServiceSettings

HERE = Path(__file__).parent
# Who revealed which certificate number and why: a line per reveal, kept with the console's
# logs (no service records it yet), so the reveal itself leaves a trace an auditor can follow.
reveals = structlog.get_logger("yidi.console.reveal")

Page = Callable[[Request, Officer, Backend], Awaitable[Response]]


def create() -> FastAPI:
    """The ASGI factory uvicorn runs (`uvicorn --factory yidi_console.app:create`)."""
    settings = ServiceSettings()
    logs.configure("console", json=settings.log_json, level=settings.log_level)
    calendar = settings.working_calendar()
    app = FastAPI(title="Yidi 经办工作台", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["yuan"] = views.yuan
    env.filters["region"] = views.region_name
    env.filters["mask"] = views.mask_certificate
    env.filters["mask_name"] = views.mask_name
    env.globals["label"] = views.label
    env.globals["V"] = views
    # Login names by user id, learnt as officers log in here, so a page can say who did
    # something (the services record user ids); an id not seen yet is shown as it is.
    names: dict[str, str] = {}
    env.globals["who"] = lambda user_id: names.get(str(user_id), str(user_id))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    async def today(backend: Backend) -> date:
        # In the sandbox the services may run a simulated clock: the console's "today" is theirs.
        if settings.sandbox:
            try:
                clock = await backend.get("filing", "/admin/clock")
                return datetime.fromisoformat(clock["now"]).astimezone(SHANGHAI).date()
            except (Refused, KeyError, ValueError):
                pass
        return datetime.now(SHANGHAI).date()

    def render(
        request: Request,
        template: str,
        officer: Officer | None,
        http_status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        notice = request.query_params.get("notice")
        return templates.TemplateResponse(
            request,
            template,
            {"officer": officer, "notice": notice, **context},
            status_code=http_status,
        )

    def back(path: str, notice: str) -> RedirectResponse:
        # After an action, the page again (a reload does not repeat the action), saying what
        # was done and by whom.
        sep = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{sep}notice={quote(notice)}", status_code=303)

    def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
        """Runs `handler` for a logged-in officer; an officer whose token the services no longer
        accept is sent to the login page."""

        async def run(request: Request) -> Response:
            officer = officer_of(request.cookies.get(COOKIE))
            if officer is None:
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            async with Backend.open(settings, officer.token) as backend:
                try:
                    return await handler(request, officer, backend)
                except Refused as refused:
                    if refused.status == 401:
                        return RedirectResponse("/login?expired=1", status_code=303)
                    return render(
                        request,
                        "refused.html",
                        officer,
                        http_status=refused.status if refused.status < 500 else 502,
                        refused=refused,
                        explained=views.RULES.get(refused.rule, refused.message),
                        again=request.headers.get("referer", "/"),
                    )

        return run

    def route(method: str, path: str) -> Callable[[Page], Page]:
        def register(handler: Page) -> Page:
            app.add_api_route(
                path,
                page(handler),
                methods=[method],
                response_class=HTMLResponse,
                name=handler.__name__,
            )
            return handler

        return register

    async def form(request: Request) -> dict[str, str]:
        return {k: str(v) for k, v in (await request.form()).items()}

    # --- login ------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        return render(request, "login.html", None, next=request.query_params.get("next", "/"))

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
                return render(
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

    # --- home: what is due today --------------------------------------------------------------

    async def attempt(call: Awaitable[Any]) -> Any:
        """A queue the officer may not read (another role's) is left off the home page."""
        try:
            return await call
        except Refused:
            return None

    @route("GET", "/")
    async def home(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await today(backend)
        queues: list[dict[str, Any]] = []

        def nearest(deadlines: list[date]) -> views.Due | None:
            return views.due(min(deadlines), now, calendar) if deadlines else None

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
            waiting = [d for d in days["statements"] if _waits_for(d, officer)]
            dues = [_close_due(d) for d in waiting]
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
        return render(request, "home.html", officer, today=now, queues=queues)

    # --- filings --------------------------------------------------------------------------------

    async def filing_rows(backend: Backend, status: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await backend.get(
            "filing", "/filings", status=status or None, limit=500
        )
        return rows

    @route("GET", "/filings")
    async def filings(request: Request, officer: Officer, backend: Backend) -> Response:
        status = request.query_params.get("status", "pending")
        now = await today(backend)
        rows = await filing_rows(backend, status)
        for row in rows:
            due_on = row.get("review_due")
            row["due"] = views.due(date.fromisoformat(due_on), now, calendar) if due_on else None
        return render(request, "filings.html", officer, rows=rows, status=status)

    @route("POST", "/filings/{filing_id}/approve")
    async def approve_filing(request: Request, officer: Officer, backend: Backend) -> Response:
        filing_id = request.path_params["filing_id"]
        await backend.post("filing", f"/filings/{filing_id}/approve")
        return back("/filings", f"备案 {filing_id} 已由 {officer.username} 批准")

    @route("POST", "/filings/{filing_id}/reject")
    async def reject_filing(request: Request, officer: Officer, backend: Backend) -> Response:
        filing_id = request.path_params["filing_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("filing", f"/filings/{filing_id}/reject", {"reason": reason})
        return back("/filings", f"备案 {filing_id} 已由 {officer.username} 驳回：{reason}")

    @route("GET", "/filings/export.{fmt}")
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
        return _export(request.path_params["fmt"], "备案", header, body)

    # --- days to confirm ----------------------------------------------------------------------

    @route("GET", "/days")
    async def days(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await today(backend)
        start = request.query_params.get("start") or (now - timedelta(days=40)).isoformat()
        found = await backend.get("reconciliation", "/statements", start=start, end=now.isoformat())
        rows = sorted(found["statements"], key=lambda d: (d["business_date"], d["pair"]))
        for row in rows:
            row["waits"] = _waits_for(row, officer)
            row["due"] = views.due(_close_due(row), now, calendar)
        return render(request, "days.html", officer, rows=rows, start=start)

    @route("GET", "/days/{insured}/{visit}/{day}")
    async def day(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        statement = await backend.get("reconciliation", path)
        return render(request, "day.html", officer, s=statement, path=path)

    @route("POST", "/days/{insured}/{visit}/{day}/confirm")
    async def confirm_day(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        await backend.post("reconciliation", f"{path}/confirm")
        region = views.region_name(officer.region)
        return back(f"/days{path[len('/statements') :]}", f"{region} 已由 {officer.username} 确认")

    @route("POST", "/days/{insured}/{visit}/{day}/disputes")
    async def dispute_settlement(request: Request, officer: Officer, backend: Backend) -> Response:
        path = _day_path(request)
        data = await form(request)
        await backend.post(
            "reconciliation",
            f"{path}/disputes",
            {"settlement_id": data.get("settlement_id", ""), "reason": data.get("reason", "")},
        )
        return back(
            f"/days{path[len('/statements') :]}",
            f"结算 {data.get('settlement_id')} 已由 {officer.username} 提出争议",
        )

    # --- clearing -----------------------------------------------------------------------------

    async def period_of(request: Request, backend: Backend) -> str:
        return request.query_params.get("period") or views.previous_period(await today(backend))

    @route("GET", "/clearing")
    async def clearing(request: Request, officer: Officer, backend: Backend) -> Response:
        period = await period_of(request, backend)
        try:
            statement = await backend.get_all("clearing", f"/periods/{period}/statement", "lines")
        except Refused as refused:
            if refused.status != 404:
                raise
            statement = None
        positions = None
        chart = None
        if statement is not None and statement["approved"]:
            positions = await attempt(backend.get("clearing", f"/periods/{period}/net-positions"))
            if positions:
                chart = bar_chart(
                    f"{period} 净额头寸",
                    [
                        Bar(views.region_name(p["agency"]), p["net"])
                        for p in positions.get("positions", [])
                    ],
                )
        cash = await attempt(backend.get("clearing", f"/periods/{period}/cash"))
        return render(
            request,
            "clearing.html",
            officer,
            period=period,
            s=statement,
            positions=positions,
            chart=chart,
            cash=cash,
        )

    @route("POST", "/clearing/{period}/approve")
    async def approve_statement(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        state = await backend.post("clearing", f"/periods/{period}/approvals")
        done = "清算单审批完成" if state["approved"] else "第一次审批已记录，待另一位审批人"
        return back(f"/clearing?period={period}", f"{done}（审批人 {officer.username}）")

    @route("POST", "/clearing/{period}/lines/{line_id}/confirm")
    async def confirm_line(request: Request, officer: Officer, backend: Backend) -> Response:
        period, line_id = request.path_params["period"], request.path_params["line_id"]
        await backend.post("clearing", f"/periods/{period}/lines/{line_id}/confirm")
        return back(f"/clearing?period={period}", f"清算行 {line_id} 已由 {officer.username} 确认")

    @route("POST", "/clearing/{period}/lines/{line_id}/dispute")
    async def dispute_line(request: Request, officer: Officer, backend: Backend) -> Response:
        period, line_id = request.path_params["period"], request.path_params["line_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post(
            "clearing", f"/periods/{period}/lines/{line_id}/dispute", {"reason": reason}
        )
        return back(
            f"/clearing?period={period}", f"清算行 {line_id} 已由 {officer.username} 提出争议"
        )

    @route("POST", "/clearing/{period}/net-positions")
    async def net(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        await backend.post("clearing", f"/periods/{period}/net-positions")
        return back(f"/clearing?period={period}", f"净额轧差已由 {officer.username} 计算")

    @route("POST", "/clearing/{period}/remittances")
    async def remit(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        data = await form(request)
        await backend.post(
            "clearing",
            f"/periods/{period}/remittances",
            {
                "agency": data.get("agency", ""),
                "amount": _fen(data.get("amount", "")),
                "bank_reference": data.get("bank_reference", ""),
                "received_on": data.get("received_on", ""),
            },
        )
        return back(f"/clearing?period={period}", f"到账已由 {officer.username} 登记")

    @route("POST", "/clearing/{period}/disbursements")
    async def disburse(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        data = await form(request)
        await backend.post(
            "clearing",
            f"/periods/{period}/disbursements",
            {
                "agency": data.get("agency", ""),
                "amount": _fen(data.get("amount", "")),
                "disbursement_id": data.get("disbursement_id", ""),
            },
        )
        return back(f"/clearing?period={period}", f"拨付已由 {officer.username} 提出，待另一人审批")

    @route("POST", "/clearing/{period}/disbursements/{disbursement_id}/approve")
    async def approve_disbursement(
        request: Request, officer: Officer, backend: Backend
    ) -> Response:
        period = request.path_params["period"]
        disbursement_id = request.path_params["disbursement_id"]
        await backend.post("clearing", f"/periods/{period}/disbursements/{disbursement_id}/approve")
        return back(
            f"/clearing?period={period}", f"拨付 {disbursement_id} 已由 {officer.username} 审批"
        )

    @route("GET", "/clearing/{period}/statement.{fmt}")
    async def export_statement(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        statement = await backend.get_all("clearing", f"/periods/{period}/statement", "lines")
        header = ["清算行", "付款方", "收款方", "金额（元）", "状态", "确认方", "争议方"]
        body = [
            [
                ln["line_id"],
                views.region_name(ln["payer_agency"]),
                views.region_name(ln["receiver_agency"]),
                views.yuan(ln["amount"]).replace(",", ""),
                views.label(views.LINE_STATUS, ln["status"]),
                "、".join(views.region_name(r) for r in ln["confirmed_by"]),
                "、".join(views.region_name(r) for r in ln["disputed_by"]),
            ]
            for ln in statement["lines"]
        ]
        return _export(request.path_params["fmt"], f"清算单{period}", header, body)

    # --- audit ----------------------------------------------------------------------------------

    @route("GET", "/cases")
    async def cases(request: Request, officer: Officer, backend: Backend) -> Response:
        status = request.query_params.get("status", "open")
        rows = await backend.get("audit", "/cases", status=status or None)
        return render(request, "cases.html", officer, rows=rows, status=status)

    @route("POST", "/cases/{case_id}/confirm")
    async def confirm_case(request: Request, officer: Officer, backend: Backend) -> Response:
        case_id = request.path_params["case_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("audit", f"/cases/{case_id}/confirm", {"reason": reason})
        return back("/cases", f"案件 {case_id} 已由 {officer.username} 确认违规：{reason}")

    @route("POST", "/cases/{case_id}/dismiss")
    async def dismiss_case(request: Request, officer: Officer, backend: Backend) -> Response:
        case_id = request.path_params["case_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post("audit", f"/cases/{case_id}/dismiss", {"reason": reason})
        return back("/cases", f"案件 {case_id} 已由 {officer.username} 排除：{reason}")

    @route("GET", "/flags")
    async def flags(request: Request, officer: Officer, backend: Backend) -> Response:
        return await listed(request, officer, backend, "flags")

    @route("GET", "/overdue")
    async def overdue(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await today(backend)
        rows = await backend.get("audit", "/overdue")
        for row in rows:
            row["due_text"] = views.due(date.fromisoformat(row["due"]), now, calendar).text
        return render(request, "overdue.html", officer, rows=rows)

    @route("GET", "/tickets")
    async def tickets(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("audit", "/tickets")
        return render(request, "tickets.html", officer, rows=rows)

    @route("POST", "/tickets/{ticket_id}/reply")
    async def reply_ticket(request: Request, officer: Officer, backend: Backend) -> Response:
        ticket_id = request.path_params["ticket_id"]
        answer = (await form(request)).get("answer", "")
        await backend.post("audit", f"/tickets/{ticket_id}/reply", {"answer": answer})
        return back("/tickets", f"工单 {ticket_id} 已由 {officer.username} 答复")

    @route("POST", "/tickets/{ticket_id}/confirm")
    async def confirm_ticket(request: Request, officer: Officer, backend: Backend) -> Response:
        ticket_id = request.path_params["ticket_id"]
        await backend.post("audit", f"/tickets/{ticket_id}/confirm")
        return back("/tickets", f"工单 {ticket_id} 的答复已由 {officer.username} 确认")

    @route("GET", "/complaints")
    async def complaints(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("audit", "/complaints")
        return render(request, "complaints.html", officer, rows=rows)

    @route("POST", "/complaints/{complaint_id}/acknowledge")
    async def acknowledge(request: Request, officer: Officer, backend: Backend) -> Response:
        complaint_id = request.path_params["complaint_id"]
        await backend.post("audit", f"/complaints/{complaint_id}/acknowledge")
        return back("/complaints", f"投诉 {complaint_id} 已由 {officer.username} 受理")

    @route("POST", "/complaints/{complaint_id}/resolve")
    async def resolve(request: Request, officer: Officer, backend: Backend) -> Response:
        complaint_id = request.path_params["complaint_id"]
        outcome = (await form(request)).get("outcome", "")
        await backend.post("audit", f"/complaints/{complaint_id}/resolve", {"outcome": outcome})
        return back("/complaints", f"投诉 {complaint_id} 已由 {officer.username} 办结：{outcome}")

    async def listed(request: Request, officer: Officer, backend: Backend, name: str) -> Response:
        title, service, path = LISTS[name]
        rows = await backend.get(service, path)
        return render(request, "table.html", officer, export=name, **_generic(title, rows))

    @route("GET", "/export/{name}.{fmt}")
    async def export_list(request: Request, officer: Officer, backend: Backend) -> Response:
        name = request.path_params["name"]
        if name not in LISTS:
            raise Refused(404, "console.export_unknown", f"没有名为 {name} 的列表", "name")
        title, service, path = LISTS[name]
        rows: list[dict[str, Any]] = await backend.get(service, path)
        columns = list(rows[0]) if rows else []
        body = [[_cell(r.get(c)) for c in columns] for r in rows]
        header = [views.label(views.COLUMNS, c) for c in columns]
        return _export(request.path_params["fmt"], title, header, body)

    # --- visit agency: hospitals and catalogue ---------------------------------------------

    @route("GET", "/hospitals")
    async def hospitals(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await backend.get("settlement", "/api/hospitals")
        return render(request, "hospitals.html", officer, rows=rows)

    @route("POST", "/hospitals/{code}/suspend")
    async def suspend_hospital(request: Request, officer: Officer, backend: Backend) -> Response:
        code = request.path_params["code"]
        until = (await form(request)).get("suspended_until") or None
        await backend.post(
            "settlement", f"/api/hospitals/{code}/suspend", {"suspended_until": until}
        )
        return back("/hospitals", f"定点机构 {code} 已由 {officer.username} 暂停直接结算")

    @route("POST", "/hospitals/{code}/resume")
    async def resume_hospital(request: Request, officer: Officer, backend: Backend) -> Response:
        code = request.path_params["code"]
        await backend.post("settlement", f"/api/hospitals/{code}/resume")
        return back("/hospitals", f"定点机构 {code} 已由 {officer.username} 恢复直接结算")

    @route("GET", "/catalogue")
    async def catalogue(request: Request, officer: Officer, backend: Backend) -> Response:
        region = request.query_params.get("region") or (
            officer.region if not officer.is_centre else "320100"
        )
        rows = await backend.get("settlement", "/api/catalogue/items", region=region)
        return render(request, "table.html", officer, **_generic(f"目录（{region}）", rows))

    # --- persons: masked, revealed for a recorded reason ---------------------------------------

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

    @route("GET", "/persons")
    async def persons(request: Request, officer: Officer, backend: Backend) -> Response:
        rows = await person_rows(request, backend)
        return render(request, "persons.html", officer, rows=rows, revealed=None)

    @route("POST", "/persons/{person_id}/reveal")
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
        return render(
            request,
            "persons.html",
            officer,
            rows=rows,
            revealed={"person": person, "reason": reason},
        )

    @route("GET", "/persons/{person_id}/chronic")
    async def chronic(request: Request, officer: Officer, backend: Backend) -> Response:
        person_id = request.path_params["person_id"]
        rows = await backend.get("filing", f"/persons/{person_id}/chronic-diseases")
        return render(
            request, "table.html", officer, **_generic(f"慢特病认定（{person_id}）", rows)
        )

    # --- charts -------------------------------------------------------------------------------

    @route("GET", "/charts")
    async def charts(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await today(backend)
        found = await backend.get(
            "reconciliation",
            "/statements",
            start=(now - timedelta(days=31)).isoformat(),
            end=now.isoformat(),
        )
        by_pair: dict[str, int] = {}
        fund: dict[str, int] = {}
        for d in found["statements"]:
            pair = f"{views.REGIONS.get(d['insured_region'], d['insured_region'])}→" + (
                views.REGIONS.get(d["visit_region"], d["visit_region"])
            )
            by_pair[pair] = by_pair.get(pair, 0) + d["totals"]["count"]
            fund[pair] = fund.get(pair, 0) + d["totals"]["fund_total"]
        shown = [
            ("近31天结算笔数（参保地→就医地）", _bars(by_pair), False),
            ("近31天基金支付（参保地→就医地）", _bars(fund), True),
        ]
        overdue = await attempt(backend.get("audit", "/overdue"))
        if overdue is not None:
            kinds: dict[str, int] = {}
            for o in overdue:
                name = views.label(views.OVERDUE_KIND, o["kind"])
                kinds[name] = kinds.get(name, 0) + 1
            shown.append(("待办/逾期事项（协查、工单、投诉）", _bars(kinds), False))
        drawn = [
            {"title": title, "svg": bar_chart(title, bars, money=money), "empty": not bars}
            for title, bars, money in shown
        ]
        return render(request, "charts.html", officer, charts=drawn)

    return app


# --- helpers (pure) --------------------------------------------------------------------------


def _queue(title: str, link: str, count: int, due: views.Due | None) -> dict[str, Any]:
    return {"title": title, "link": link, "count": count, "due": due}


def _waits_for(day: dict[str, Any], officer: Officer) -> bool:
    """A day waits for this officer's agency: issued, not closed, party to it, not yet confirmed
    by it. The centre is party to no day (it oversees): every open issued day is shown."""
    if not day.get("issued") or day.get("closed"):
        return False
    if officer.is_centre:
        return True
    parties = (day["insured_region"], day["visit_region"])
    return officer.region in parties and officer.region not in day.get("confirmed_by", [])


def _close_due(day: dict[str, Any]) -> date:
    """The date reconciliation says the day's month must be closed by (its own rule)."""
    return date.fromisoformat(day["deadline"])


def _day_path(request: Request) -> str:
    p = request.path_params
    return f"/statements/{p['insured']}/{p['visit']}/{p['day']}"


def _fen(text: str) -> int:
    try:
        return views.fen_of_yuan(text)
    except (ArithmeticError, ValueError):
        raise Refused(
            422, "console.amount", f"金额 {text!r} 不是有效的元金额（最多两位小数）", "amount"
        ) from None


def _bars(values: dict[str, int]) -> list[Bar]:
    return [Bar(k, v) for k, v in sorted(values.items(), key=lambda kv: -kv[1])]


def _export(fmt: str, name: str, header: list[str], rows: list[list[Any]]) -> Response:
    filename = quote(f"{name}.{fmt}")
    disposition = {"content-disposition": f"attachment; filename*=UTF-8''{filename}"}
    if fmt == "csv":
        return Response(
            to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=disposition
        )
    if fmt == "xlsx":
        return Response(
            to_xlsx(name, header, rows),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=disposition,
        )
    raise Refused(404, "console.export_format", f"没有 {fmt} 格式的导出（csv 或 xlsx）", "format")


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


def _generic(title: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = list(rows[0].keys()) if rows else []
    return {"title": title, "columns": columns, "rows": rows}
