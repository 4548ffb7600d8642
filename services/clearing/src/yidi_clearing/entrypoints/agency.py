"""Agency API of clearing: statements, confirmations, approvals, adjustments, netting, cash, ledger,
calendar and hospital-clearing status. It only translates HTTP <-> handlers and scopes every read by
the caller's region: an agency sees the lines, positions and accounts it is a party to; the
provincial centre (kind "centre") sees all and runs the steps."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_clearing.adapters import queries
from yidi_clearing.app.hospitals import HospitalHandlers
from yidi_clearing.app.periods import PeriodHandlers
from yidi_clearing.domain import cash, prepaid_fund
from yidi_clearing.domain import hospital_clearing as hc
from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.clearing_period import ClearingPeriod, LineState
from yidi_clearing.domain.ledger import payable, receivable
from yidi_clearing.domain.settings import ClearingSettings
from yidi_clearing.entrypoints import models as m
from yidi_events.auth.agency import Agency, Principal
from yidi_events.kernel import Forbidden, NotFound
from yidi_events.paging import LINK_HEADER, Paging, announce, decode_cursor, page_of


class DisputeBody(BaseModel):
    reason: str = Field(min_length=1)


class AdjustmentBody(BaseModel):
    adjustment_id: str = Field(min_length=1)
    payer_agency: str
    receiver_agency: str
    amount: int
    reason: str


class RemittanceBody(BaseModel):
    agency: str
    bank_reference: str
    amount: int
    received_on: date


class DisbursementBody(BaseModel):
    disbursement_id: str = Field(min_length=1)
    agency: str
    amount: int


class PrepaidFundBody(BaseModel):
    fund_id: str = Field(min_length=1)
    q4_monthly_amounts: tuple[int, int, int]


# A bound far above any province's money (10 trillion yuan) keeps fen inside the ledger's
# 64-bit columns, so an absurd figure is refused as input instead of failing in the database.
Fen = Annotated[int, Field(ge=0, le=10**15)]


class EstablishFundBody(BaseModel):
    q4_monthly_amounts: tuple[Fen, Fen, Fen]


class TopUpBody(BaseModel):
    amount: Fen
    bank_reference: str


class PaymentBody(BaseModel):
    amount: Fen
    bank_reference: str


class StatusBody(BaseModel):
    to_status: str
    reason: str = ""


def agency_router(
    periods: PeriodHandlers,
    hospitals: HospitalHandlers,
    settings: ClearingSettings,
    engine: AsyncEngine,
) -> APIRouter:
    """`engine` serves the pure reads (drill-down, ledger, applications); commands go through
    the handlers."""
    router = APIRouter(tags=["clearing"])
    centre = settings.provincial_centre

    def is_centre(p: Principal) -> bool:
        return p.kind == "centre" and p.region == centre

    def actor(p: Principal) -> Actor:
        if p.region == centre and p.kind != "centre":
            raise Forbidden(
                "clearing.centre_kind",
                f"a token for region {centre} must be of kind 'centre' to act for the centre",
                field="kind",
            )
        return Actor(p.user_id, p.region, frozenset(p.roles))

    def sees(p: Principal, *agencies: str) -> bool:
        return is_centre(p) or p.region in agencies

    def line_view(s: LineState, *, detail: bool = False) -> dict[str, Any]:
        parts = []
        for part in s.line.parts:
            shown = asdict(part)
            if not detail:
                for ids in ("settlement_ids", "audit_deduction_ids", "clawback_ids"):
                    shown[ids.replace("_ids", "_count")] = len(shown.pop(ids))
            parts.append(shown)
        return {
            "line_id": s.line.line_id,
            "payer_agency": s.line.payer_agency,
            "receiver_agency": s.line.receiver_agency,
            "amount": s.line.amount,
            "status": str(s.status),
            "confirmed_by": sorted(s.confirmed_by),
            "disputed_by": sorted(s.disputed_by),
            "parts": parts,
        }

    def visible_lines(state: ClearingPeriod, p: Principal, after: str | None = None) -> list[str]:
        """The ids of the lines the caller is a party to, in order, after `after`."""
        return [
            i
            for i in sorted(state.lines)
            if (after is None or i > after)
            and sees(p, state.lines[i].line.payer_agency, state.lines[i].line.receiver_agency)
        ]

    def statement_view(
        state: ClearingPeriod, p: Principal, lines: list[str] | None = None
    ) -> dict[str, Any]:
        return {
            "period": state.period,
            "input_hash": state.input_hash,
            "approved": state.approved,
            "approvers": list(state.approvers),
            "first_approver": state.first_approver,
            "lines": [
                line_view(state.lines[i])
                for i in (visible_lines(state, p) if lines is None else lines)
            ],
            "adjustments": [
                {**asdict(a.proposal), "approved_by": a.approved_by}
                for a in state.adjustments.values()
                if sees(p, a.proposal.payer_agency, a.proposal.receiver_agency)
            ],
        }

    async def generated(period: str) -> ClearingPeriod:
        state = await periods.load(period)
        if not state.generated:
            raise NotFound(
                "clearing.no_statement",
                f"no statement has been generated for {period}",
                field="period",
            )
        return state

    # --- statement ----------------------------------------------------------------------------

    @router.post("/periods/{period}/statement")
    async def generate(period: str, p: Agency) -> m.GeneratedStatement:
        state = await periods.generate(period, actor(p))
        return m.GeneratedStatement.model_validate(statement_view(state, p))

    @router.get(
        "/periods/{period}/statement",
        summary="The period's statement, its lines by line id a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def statement(
        period: str, p: Agency, page: Paging, request: Request, response: Response
    ) -> m.StatementView:
        state = await generated(period)
        after = decode_cursor(page.cursor, queries.LINES)[0] if page.cursor else None
        ids = visible_lines(state, p, after)[: page.limit + 1]
        found = page_of([{"line_id": i} for i in ids], queries.LINES, page)
        announce(request, response, found)
        view = statement_view(state, p, [row["line_id"] for row in found.rows])
        view["generated_on"] = state.generated_on
        view["held"] = [asdict(h) for h in state.held if sees(p, h.payer_agency, h.receiver_agency)]
        return m.StatementView.model_validate(view)

    @router.get("/periods/{period}/statement/inputs-hash")
    async def inputs_hash(period: str, p: Agency) -> m.InputsHash:
        """The hash of the period's inputs as they stand now (equals the statement's while no
        input arrived after it was generated), and how many inputs it covers."""
        actor(p)
        preview = await periods.preview(period)
        settlement_ids = {
            i for line in preview.lines for part in line.parts for i in part.settlement_ids
        }
        deduction_ids = {
            i
            for line in preview.lines
            for part in line.parts
            for i in (*part.clawback_ids, *part.audit_deduction_ids)
        }
        return m.InputsHash(
            period=period,
            input_hash=preview.input_hash,
            settlements=len(settlement_ids),
            deductions=len(deduction_ids),
            held=len(preview.held),
        )

    @router.get("/periods/{period}/statement/lines/{line_id}")
    async def line(period: str, line_id: str, p: Agency) -> m.LineDetail:
        # One line's rows, not a fold of the whole period (tens of thousands of lines).
        state = await periods.load_line(period, line_id)
        if not state.generated:
            raise NotFound(
                "clearing.no_statement",
                f"no statement has been generated for {period}",
                field="period",
            )
        current = state.lines.get(line_id)
        # Another pair's line is answered as unknown: its existence is not the caller's business.
        if current is None or not sees(p, current.line.payer_agency, current.line.receiver_agency):
            raise NotFound(
                "clearing.line_unknown",
                f"the {period} statement has no line {line_id}",
                field="line_id",
            )
        view = line_view(current, detail=True)
        async with engine.connect() as conn:
            for part in view["parts"]:
                part["settlements"] = await queries.settlement_details(
                    conn, list(part["settlement_ids"])
                )
                part["deductions"] = await queries.deduction_details(
                    conn, [*part["audit_deduction_ids"], *part["clawback_ids"]]
                )
        return m.LineDetail.model_validate(view)

    @router.post("/periods/{period}/lines/{line_id}/confirm")
    async def confirm(period: str, line_id: str, p: Agency) -> m.LineView:
        state = await periods.confirm_line(period, line_id, actor(p))
        return m.LineView.model_validate(line_view(state.lines[line_id]))

    @router.post("/periods/{period}/lines/{line_id}/dispute")
    async def dispute(period: str, line_id: str, body: DisputeBody, p: Agency) -> m.LineView:
        state = await periods.dispute_line(period, line_id, body.reason, actor(p))
        return m.LineView.model_validate(line_view(state.lines[line_id]))

    @router.post("/periods/{period}/approvals")
    async def approve(period: str, p: Agency) -> m.ApprovalView:
        state = await periods.approve(period, actor(p))
        return m.ApprovalView(
            period=period,
            approved=state.approved,
            first_approver=state.first_approver,
            approvers=list(state.approvers),
        )

    @router.post("/periods/{period}/adjustments")
    async def propose(period: str, body: AdjustmentBody, p: Agency) -> m.AdjustmentView:
        state = await periods.propose_adjustment(period, actor=actor(p), **body.model_dump())
        a = state.adjustments[body.adjustment_id]
        return m.AdjustmentView.model_validate({**asdict(a.proposal), "approved_by": a.approved_by})

    @router.post("/periods/{period}/adjustments/{adjustment_id}/approve")
    async def approve_adjustment(period: str, adjustment_id: str, p: Agency) -> m.AdjustmentView:
        state = await periods.approve_adjustment(period, adjustment_id, actor(p))
        a = state.adjustments[adjustment_id]
        return m.AdjustmentView.model_validate({**asdict(a.proposal), "approved_by": a.approved_by})

    # --- netting and cash ---------------------------------------------------------------------

    def positions_view(state: ClearingPeriod, p: Principal) -> m.PositionsView:
        shown = [asdict(x) for x in state.positions or () if sees(p, x.agency)]
        return m.PositionsView.model_validate(
            {
                "period": state.period,
                "netted": state.netted,
                "positions": shown,
                "sum": sum(x["net"] for x in shown) if is_centre(p) else None,
            }
        )

    @router.post("/periods/{period}/net-positions")
    async def net(period: str, p: Agency) -> m.PositionsView:
        return positions_view(await periods.net(period, actor(p)), p)

    @router.get("/periods/{period}/net-positions")
    async def positions(period: str, p: Agency) -> m.PositionsView:
        return positions_view(await generated(period), p)

    @router.post("/periods/{period}/remittances")
    async def remit(period: str, body: RemittanceBody, p: Agency) -> m.RemittanceView:
        state = await periods.record_remittance(period, actor=actor(p), **body.model_dump())
        return m.RemittanceView.model_validate(asdict(state.remittances[body.bank_reference]))

    @router.post("/periods/{period}/disbursements")
    async def request_disbursement(
        period: str, body: DisbursementBody, p: Agency
    ) -> m.DisbursementRequestView:
        state = await periods.request_disbursement(period, actor=actor(p), **body.model_dump())
        r = state.disbursement_requests[body.disbursement_id]
        return m.DisbursementRequestView.model_validate({**asdict(r), "paid": False})

    @router.post("/periods/{period}/disbursements/{disbursement_id}/approve")
    async def approve_disbursement(
        period: str, disbursement_id: str, p: Agency
    ) -> m.DisbursementView:
        state = await periods.approve_disbursement(period, disbursement_id, actor(p))
        d = state.disbursements[disbursement_id]
        return m.DisbursementView.model_validate({**asdict(d), "paid": True})

    @router.get("/periods/{period}/cash")
    async def cash_view(period: str, p: Agency) -> m.CashView:
        state = await generated(period)
        fund = await periods.fund()
        today = periods.today()
        agencies = []
        for position in state.positions or ():
            if not sees(p, position.agency):
                continue
            agencies.append(
                {
                    "agency": position.agency,
                    "net": position.net,
                    "owed": cash.owed(state, position.agency),
                    "received": state.received(position.agency),
                    "outstanding": cash.outstanding(state, position.agency),
                    "late": cash.is_late(state, position.agency, today, settings),
                    "disbursed": state.disbursed(position.agency),
                    "disbursable_now": cash.disbursable(
                        state, position.agency, settings, fund, today
                    ),
                    "remittances": [
                        asdict(r) for r in state.remittances.values() if r.agency == position.agency
                    ],
                }
            )
        return m.CashView.model_validate(
            {
                "period": period,
                "agencies": agencies,
                "cash_at_centre": cash.cash_available(state, fund.outstanding.get(period, 0)),
                "prepaid_fund_advanced": fund.outstanding.get(period, 0),
                "late": list(cash.late_payers(state, today, settings)),
            }
        )

    @router.post("/periods/{period}/prepaid-fund-check")
    async def prepaid_check(period: str, body: PrepaidFundBody, p: Agency) -> m.PrepaidFundCheck:
        _, found = await periods.check_prepaid_fund(
            period, fund_id=body.fund_id, q4_monthly_amounts=body.q4_monthly_amounts, actor=actor(p)
        )
        return m.PrepaidFundCheck.model_validate(found)

    # --- the prepaid fund ---------------------------------------------------------------------

    @router.post("/prepaid-fund")
    async def establish_fund(body: EstablishFundBody, p: Agency) -> m.FundView:
        fund = await periods.establish_fund(body.q4_monthly_amounts, actor(p))
        return _fund_view(fund, settings)

    @router.get("/prepaid-fund")
    async def fund_view(p: Agency) -> m.FundView:
        return _fund_view(await periods.fund(), settings)

    @router.post("/prepaid-fund/top-ups/{request_id}/done")
    async def topped_up(request_id: str, body: TopUpBody, p: Agency) -> m.FundView:
        fund = await periods.top_up_fund(
            request_id, amount=body.amount, bank_reference=body.bank_reference, actor=actor(p)
        )
        return _fund_view(fund, settings)

    # --- calendar -----------------------------------------------------------------------------

    @router.get("/periods/{period}/calendar")
    async def calendar(period: str, p: Agency) -> m.CalendarView:
        view = periods.calendar(period, await periods.load(period), periods.today())
        return m.CalendarView.model_validate(view)

    @router.post("/periods/{period}/run-due")
    async def run_due(period: str, p: Agency) -> m.RunDueView:
        return m.RunDueView.model_validate(await periods.run_due(period, actor(p)))

    # --- ledger -------------------------------------------------------------------------------

    @router.get("/ledger/trial-balance")
    async def trial_balance(p: Agency, period: str | None = None) -> m.TrialBalance:
        if not is_centre(p):
            raise Forbidden(
                "clearing.centre_only",
                "the trial balance is the provincial centre's",
                field="region",
            )
        async with engine.connect() as conn:
            sums = await queries.trial_balance(conn, period)
        balances = {account: debit - credit for account, (debit, credit) in sorted(sums.items())}
        return m.TrialBalance(
            period=period,
            accounts=balances,
            debits=sum(debit for debit, _ in sums.values()),
            credits=sum(credit for _, credit in sums.values()),
            total=sum(balances.values()),
        )

    @router.get(
        "/ledger/accounts/{account}",
        summary="An account's journal lines in posting order, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def account_history(
        account: str,
        p: Agency,
        page: Paging,
        request: Request,
        response: Response,
        period: str | None = None,
    ) -> m.AccountHistory:
        if not is_centre(p) and account not in (receivable(p.region), payable(p.region)):
            raise Forbidden(
                "clearing.not_party",
                f"agency {p.region} may only read its own accounts",
                field="account",
            )
        # One snapshot for the page and the two balances, so a line posted meanwhile is in all
        # three or in none and the running balances add up to the account's.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            found, running, balance = await queries.account_page(
                conn, page, account=account, period=period
            )
        announce(request, response, found)
        history = []
        for r in found.rows:
            running += r["debit"] - r["credit"]
            history.append(
                m.Movement(
                    period=r["period"],
                    entry_id=r["entry_id"],
                    posted_on=r["posted_on"],
                    memo=r["memo"],
                    reference=r["reference"],
                    debit=r["debit"],
                    credit=r["credit"],
                    balance=running,
                )
            )
        return m.AccountHistory(account=account, balance=balance, history=history)

    # --- hospital clearing --------------------------------------------------------------------

    @router.get(
        "/hospital-clearing",
        summary="Hospitals' clearing applications by month and id, a page at a time",
        responses={200: {"headers": LINK_HEADER}},
    )
    async def applications(
        p: Agency,
        page: Paging,
        request: Request,
        response: Response,
        month: str | None = None,
        status: str | None = None,
    ) -> m.Applications:
        async with engine.connect() as conn:
            found = await queries.applications_page(
                conn,
                page,
                clearing_agency=None if is_centre(p) else p.region,
                month=month,
                status=status,
            )
        announce(request, response, found)
        return m.Applications(applications=[application_view(r) for r in found.rows])

    @router.post("/hospital-clearing/{application_id}/status")
    async def change_status(application_id: str, body: StatusBody, p: Agency) -> m.ApplicationView:
        row = await hospitals.change_status(
            application_id,
            to_status=body.to_status,
            reason=body.reason,
            changed_by=p.user_id,
            allowed_agency=lambda agency: p.require_region(agency, field="clearing_agency"),
        )
        return application_view(row)

    @router.post("/hospital-clearing/{application_id}/payment")
    async def record_payment(
        application_id: str, body: PaymentBody, p: Agency
    ) -> m.ApplicationView:
        row = await hospitals.record_payment(
            application_id,
            amount=body.amount,
            bank_reference=body.bank_reference,
            paid_by=p.user_id,
            allowed_agency=lambda agency: p.require_region(agency, field="clearing_agency"),
        )
        return application_view(row)

    def application_view(row: dict[str, Any]) -> m.ApplicationView:
        """The row (but its stream), its calendar deadlines and the steps it is late for."""
        view = {k: v for k, v in row.items() if k != "stream_id"}
        view["deadlines"] = hc.hospital_deadlines(row["month"], settings)
        view["late"] = hc.late_hospital_steps(
            row["month"], row["status"], row["applied_on"], periods.today(), settings
        )
        return m.ApplicationView.model_validate(view)

    return router


def _fund_view(state: prepaid_fund.PrepaidFund, settings: ClearingSettings) -> m.FundView:
    """What the clearing API shows of the fund: size, level, use, warning, advances, top-ups."""
    return m.FundView.model_validate(
        {
            "fund_id": state.fund_id or settings.prepaid_fund.fund_id,
            "established": state.established,
            "size": state.size,
            "level": state.level,
            "in_use": state.in_use,
            "usage": str(prepaid_fund.fund_usage(state)),
            "warning": str(prepaid_fund.fund_warning(state, settings)),
            "advanced_by_period": dict(sorted(state.outstanding.items())),
            "top_ups": [
                {
                    "request_id": r.request_id,
                    "period": r.period,
                    "amount": r.amount,
                    "requested_on": r.requested_on,
                    "done": r.request_id in state.topped_up,
                }
                for r in state.top_ups.values()
            ],
        }
    )
