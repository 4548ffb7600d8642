"""What the clearing API answers, in domain names, modelled on the bodies the routes returned before
they were typed: the console and the CLI read these keys, so a model documents a body and never
renames one (a unit test holds each view to the fields of the fact or row it shows). Money is
integer fen, as everywhere inside Yidi; dates are ISO days."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

# --- statement ----------------------------------------------------------------------------------


class PartView(BaseModel):
    """One insurance type's share of a statement line, the inputs behind it counted."""

    insurance_type: str = Field(description='"310" employee basic, "390" resident basic')
    fund_paid: int = Field(description="fen paid by all funds")
    account_paid: int = Field(description="fen paid from personal accounts")
    audit_deducted: int = Field(description="fen deducted by audit, positive")
    clawed_back: int = Field(description="fen recovered for the insured place, positive")
    amount: int = Field(description="fen: fund_paid + account_paid - audit_deducted - clawed_back")
    settlement_count: int
    audit_deduction_count: int
    clawback_count: int


class LineView(BaseModel):
    """What one agency owes another for the period, and who confirmed or disputed it."""

    line_id: str = Field(description='"<payer>><receiver>", e.g. "320100>320200"')
    payer_agency: str = Field(description="the insured place, which pays")
    receiver_agency: str = Field(description="the visit place, which advanced the money")
    amount: int = Field(description="fen")
    status: str = Field(description="pending, confirmed or disputed")
    confirmed_by: list[str] = Field(description="the party agencies that confirmed it")
    disputed_by: list[str] = Field(description="the party agencies that disputed it")
    parts: list[PartView]


class SettlementDetail(BaseModel):
    """A settlement behind a line's figure (the drill-down)."""

    settlement_id: str
    business_date: date
    insurance_type: str
    fund_total: int = Field(description="fen")
    account_paid: int = Field(description="fen")
    confirmed_in_month: str = Field(description="the month whose day close confirmed it")
    source: str = Field(description="day_closed or dispute_released")


class DeductionDetail(BaseModel):
    """An audit deduction or clawback behind a line's figure (the drill-down)."""

    deduction_id: str
    kind: str = Field(description="audit_deduction or clawback")
    insured_agency: str
    visit_agency: str
    insurance_type: str
    amount: int = Field(description="fen, positive")
    reason: str
    case_id: str
    applies_in_month: str
    settlement_ids: str = Field(description="the settlements it deducts from, comma-separated")
    evidence: str = Field(description="what a fee review relied on (rule, document)")
    source: str = Field(description="clawback, fee_review or assist_check")


class PartDetail(BaseModel):
    """One insurance type's share of a line with the ids behind it and their rows."""

    insurance_type: str
    fund_paid: int = Field(description="fen")
    account_paid: int = Field(description="fen")
    audit_deducted: int = Field(description="fen")
    clawed_back: int = Field(description="fen")
    amount: int = Field(description="fen")
    settlement_ids: list[str]
    audit_deduction_ids: list[str]
    clawback_ids: list[str]
    settlements: list[SettlementDetail]
    deductions: list[DeductionDetail]


class LineDetail(BaseModel):
    """A line with every input behind its figures."""

    line_id: str
    payer_agency: str
    receiver_agency: str
    amount: int = Field(description="fen")
    status: str
    confirmed_by: list[str]
    disputed_by: list[str]
    parts: list[PartDetail]


class AdjustmentView(BaseModel):
    """A manual adjustment between two agencies, and its second person's approval."""

    period: str
    adjustment_id: str
    payer_agency: str
    receiver_agency: str
    amount: int = Field(description="fen the payer owes the receiver more")
    reason: str
    proposed_by: str
    proposed_on: date
    approved_by: str | None = Field(description="never the proposer; null until approved")


class HeldView(BaseModel):
    """An input left for a later period, and why."""

    item_id: str = Field(description="the settlement's or the deduction's id")
    kind: str = Field(description="settlement or deduction")
    payer_agency: str
    receiver_agency: str
    amount: int = Field(description="fen it would have added to the line (deductions negative)")
    reason: str


class GeneratedStatement(BaseModel):
    """The statement as generated: the caller's lines and adjustments."""

    period: str = Field(description="YYYY-MM")
    input_hash: str | None = Field(description="sha256 of the inputs the statement was made of")
    approved: bool = Field(description="two different approvers signed")
    approvers: list[str]
    first_approver: str | None
    lines: list[LineView] = Field(
        description="the lines the caller is a party to (all for the centre), by line id"
    )
    adjustments: list[AdjustmentView]


class StatementView(GeneratedStatement):
    """The statement as it stands, with the inputs held out of it."""

    generated_on: date | None
    held: list[HeldView]


class InputsHash(BaseModel):
    """The hash of a period's inputs as they stand now, and how many it covers."""

    period: str
    input_hash: str
    settlements: int
    deductions: int
    held: int


class ApprovalView(BaseModel):
    """Where the statement's two approvals stand."""

    period: str
    approved: bool
    first_approver: str | None
    approvers: list[str]


# --- netting and cash ---------------------------------------------------------------------------


class PositionView(BaseModel):
    """An agency's net position over the period's confirmed lines."""

    agency: str
    receivable: int = Field(description="fen it receives")
    payable: int = Field(description="fen it pays")
    net: int = Field(description="fen: receivable - payable; negative for a net payer")


class PositionsView(BaseModel):
    """The period's net positions the caller may see."""

    period: str
    netted: bool
    positions: list[PositionView]
    sum: int | None = Field(description="fen; the nets' sum (zero), shown to the centre only")


class RemittanceView(BaseModel):
    """A net payer's money received by the centre."""

    period: str
    agency: str
    bank_reference: str
    amount: int = Field(description="fen")
    received_on: date
    owed: int = Field(description="fen: the agency's net payable for the period")
    received_total: int = Field(description="fen, including this remittance")
    outstanding: int = Field(description="fen: owed - received_total")
    late: bool = Field(description="received after the remittance deadline")


class DisbursementRequestView(BaseModel):
    """A disbursement to a net receiver, waiting for a second person."""

    period: str
    disbursement_id: str
    agency: str
    amount: int = Field(description="fen")
    requested_by: str
    requested_on: date
    paid: bool = Field(description="false: it waits for its approval")


class DisbursementView(BaseModel):
    """A disbursement approved and paid to a net receiver."""

    period: str
    disbursement_id: str
    agency: str
    amount: int = Field(description="fen")
    requested_by: str
    approved_by: str
    paid_on: date
    disbursed_total: int = Field(description="fen paid to the agency for the period, this included")
    outstanding: int = Field(description="fen of its net receivable not yet paid")
    paid: bool = Field(description="true: the money left the centre")


class AgencyCash(BaseModel):
    """One agency's money for the period."""

    agency: str
    net: int = Field(description="fen; negative for a net payer")
    owed: int = Field(description="fen a net payer owes the centre in all")
    received: int = Field(description="fen remitted so far")
    outstanding: int = Field(description="fen a net payer still owes")
    late: bool = Field(description="money outstanding after the remittance deadline")
    disbursed: int = Field(description="fen paid to a net receiver so far")
    disbursable_now: int = Field(description="fen the centre can pay the agency now")
    remittances: list[RemittanceView]


class CashView(BaseModel):
    """The period's cash at the centre: what came in, what went out, who is late."""

    period: str
    agencies: list[AgencyCash]
    cash_at_centre: int = Field(description="fen received and not yet paid out")
    prepaid_fund_advanced: int = Field(description="fen the prepaid fund advanced, still owed")
    late: list[str] = Field(description="net payers late with their remittance")


class PrepaidFundCheck(BaseModel):
    """The prepaid fund sized from last year's Q4, and how much of it this month's clearing uses."""

    fund_id: str
    fund_amount: int = Field(description="fen")
    clearing_amount: int = Field(description="fen the month moves")
    usage: str = Field(description="clearing_amount / fund_amount, a decimal of 4 places")
    level: str = Field(description="green, yellow or red")


# --- the prepaid fund ---------------------------------------------------------------------------


class TopUpView(BaseModel):
    """A red warning's request to top the fund up."""

    request_id: str
    period: str = Field(description="the period whose advance turned the fund red")
    amount: int = Field(description="fen")
    requested_on: date
    done: bool


class FundView(BaseModel):
    """The prepaid fund: size, level, use, warning, advances and top-ups."""

    fund_id: str
    established: bool
    size: int = Field(description="fen: established plus every top-up")
    level: int = Field(description="fen in the fund now")
    in_use: int = Field(description="fen advanced and not repaid")
    usage: str = Field(description="in_use / size, a decimal")
    warning: str = Field(description="green, yellow or red")
    advanced_by_period: dict[str, int] = Field(description="fen advanced, not repaid, by period")
    top_ups: list[TopUpView]


# --- calendar -----------------------------------------------------------------------------------


class CalendarView(BaseModel):
    """The period's clearing calendar: each step's day, what is done, due and late."""

    period: str
    today: date
    schedule: dict[str, date] = Field(description="each step's deadline, by step")
    done: list[str]
    due: list[str]
    late: list[str]


class WaitingStep(BaseModel):
    step: str
    waiting_for: str = Field(description="who or what the step waits on")


class RunDueView(CalendarView):
    """The calendar after running what was due, what ran and what waits on a person."""

    ran: list[str]
    waiting: list[WaitingStep]


# --- ledger -------------------------------------------------------------------------------------


class TrialBalance(BaseModel):
    """Every account's balance (debits less credits) over a period, or over all."""

    period: str | None
    accounts: dict[str, int] = Field(description="fen, by account")
    debits: int = Field(description="fen")
    credits: int = Field(description="fen")
    total: int = Field(description="fen; zero while the books balance")


class Movement(BaseModel):
    """A journal line on an account, and the account's balance after it."""

    period: str
    entry_id: str
    posted_on: date
    memo: str
    reference: str
    debit: int = Field(description="fen")
    credit: int = Field(description="fen")
    balance: int = Field(description="fen: debits less credits up to and including this line")


class AccountHistory(BaseModel):
    """An account's journal lines in posting order."""

    account: str
    balance: int = Field(description="fen: the account's balance after all its lines")
    history: list[Movement] = Field(
        description='in posting order, a page at a time: the next page in `Link: <...>; rel="next"`'
    )


# --- hospital clearing --------------------------------------------------------------------------


class HospitalDeadlines(BaseModel):
    application: date
    review: date
    payment: date


class ApplicationView(BaseModel):
    """A hospital's monthly clearing application (3203), its review, payment and calendar."""

    clearing_application_id: str
    institution_code: str
    clearing_agency: str
    month: str
    clearing_category: str
    count: int
    total_fee: int = Field(description="fen")
    fund_total: int = Field(description="fen")
    account_paid: int = Field(description="fen")
    cash_paid: int = Field(description="fen")
    status: str
    withdrawn: bool
    applied_on: date
    changed_on: date
    changed_by: str
    reimbursable: int | None = Field(description="fen, fixed at review")
    audit_deducted: int | None = Field(description="fen")
    clawed_back: int | None = Field(description="fen")
    payable_amount: int | None = Field(description="fen")
    paid_amount: int | None = Field(description="fen")
    bank_reference: str | None
    paid_on: date | None
    deadlines: HospitalDeadlines
    late: list[str] = Field(description="the steps that missed the calendar")


class Applications(BaseModel):
    applications: list[ApplicationView]
