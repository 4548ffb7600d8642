"""The month's clearing: statement lines, four-eyes approvals, netting, cash; export."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend, Refused
from yidi_console.charts import Bar, bar_chart
from yidi_console.exports import download
from yidi_console.session import Officer
from yidi_console.web import Console, attempt, form


def routes(console: Console) -> None:

    async def period_of(request: Request, backend: Backend) -> str:
        return request.query_params.get("period") or views.previous_period(
            await console.today(backend)
        )

    @console.route("GET", "/clearing")
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
        return console.render(
            request,
            "clearing.html",
            officer,
            period=period,
            s=statement,
            positions=positions,
            chart=chart,
            cash=cash,
        )

    @console.route("POST", "/clearing/{period}/approve")
    async def approve_statement(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        state = await backend.post("clearing", f"/periods/{period}/approvals")
        done = "清算单审批完成" if state["approved"] else "第一次审批已记录，待另一位审批人"
        return console.back(f"/clearing?period={period}", f"{done}（审批人 {officer.username}）")

    @console.route("POST", "/clearing/{period}/lines/{line_id}/confirm")
    async def confirm_line(request: Request, officer: Officer, backend: Backend) -> Response:
        period, line_id = request.path_params["period"], request.path_params["line_id"]
        await backend.post("clearing", f"/periods/{period}/lines/{line_id}/confirm")
        return console.back(
            f"/clearing?period={period}", f"清算行 {line_id} 已由 {officer.username} 确认"
        )

    @console.route("POST", "/clearing/{period}/lines/{line_id}/dispute")
    async def dispute_line(request: Request, officer: Officer, backend: Backend) -> Response:
        period, line_id = request.path_params["period"], request.path_params["line_id"]
        reason = (await form(request)).get("reason", "")
        await backend.post(
            "clearing", f"/periods/{period}/lines/{line_id}/dispute", {"reason": reason}
        )
        return console.back(
            f"/clearing?period={period}", f"清算行 {line_id} 已由 {officer.username} 提出争议"
        )

    @console.route("POST", "/clearing/{period}/net-positions")
    async def net(request: Request, officer: Officer, backend: Backend) -> Response:
        period = request.path_params["period"]
        await backend.post("clearing", f"/periods/{period}/net-positions")
        return console.back(f"/clearing?period={period}", f"净额轧差已由 {officer.username} 计算")

    @console.route("POST", "/clearing/{period}/remittances")
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
        return console.back(f"/clearing?period={period}", f"到账已由 {officer.username} 登记")

    @console.route("POST", "/clearing/{period}/disbursements")
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
        return console.back(
            f"/clearing?period={period}", f"拨付已由 {officer.username} 提出，待另一人审批"
        )

    @console.route("POST", "/clearing/{period}/disbursements/{disbursement_id}/approve")
    async def approve_disbursement(
        request: Request, officer: Officer, backend: Backend
    ) -> Response:
        period = request.path_params["period"]
        disbursement_id = request.path_params["disbursement_id"]
        await backend.post("clearing", f"/periods/{period}/disbursements/{disbursement_id}/approve")
        return console.back(
            f"/clearing?period={period}", f"拨付 {disbursement_id} 已由 {officer.username} 审批"
        )

    @console.route("GET", "/clearing/{period}/statement.{fmt}")
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
        return download(request.path_params["fmt"], f"清算单{period}", header, body)


def _fen(text: str) -> int:
    try:
        return views.fen_of_yuan(text)
    except (ArithmeticError, ValueError):
        raise Refused(
            422, "console.amount", f"金额 {text!r} 不是有效的元金额（最多两位小数）", "amount"
        ) from None
