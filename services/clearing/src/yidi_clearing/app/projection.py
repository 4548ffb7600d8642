"""The clearing service's own read models and invariant tables, applied inline after every append
(same transaction) and rebuildable with `rebuild_from_store`."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters import queries
from yidi_clearing.adapters.tables import (
    hospital_applications,
    journal_lines,
    period_heads,
    period_lines,
    statement_items,
    statements,
)
from yidi_clearing.domain.events import (
    AdjustmentApproved,
    AdjustmentProposed,
    ClearingApplicationWithdrawn,
    ClearingApplied,
    ClearingStatusChanged,
    DisbursementRecorded,
    DisbursementRequested,
    HospitalPayableComputed,
    HospitalPaymentRecorded,
    JournalEntryPosted,
    LineConfirmed,
    LineDisputed,
    NetPositionsComputed,
    PrepaidFundWarningRaised,
    RemittanceRecorded,
    StatementApprovalGiven,
    StatementApproved,
    StatementGenerated,
)
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import Projection
from yidi_events.store.columns import ColumnsInsert


def own_projection() -> Projection:
    projection = Projection(
        "clearing.own",
        [
            statements,
            statement_items,
            journal_lines,
            period_heads,
            period_lines,
            hospital_applications,
        ],
    )

    @projection.on(StatementGenerated)
    async def generated(conn: AsyncConnection, env: Envelope) -> None:
        e: StatementGenerated = env.payload
        # Plain inserts: a period with two statements, or an input in two periods, is a unique
        # violation that the handler turns into a Conflict (the transaction rolls back).
        await conn.execute(
            statements.insert().values(
                period=e.period,
                input_hash=e.input_hash,
                generated_on=e.generated_on,
                line_count=len(e.lines),
                held_count=len(e.held),
                held=[queries.held_row(h) for h in e.held],
            )
        )
        await _ITEMS.execute(
            conn,
            (
                {
                    "item_id": item_id,
                    "kind": kind,
                    "period": e.period,
                    "line_id": line.line_id,
                    "insurance_type": part.insurance_type,
                }
                for line in e.lines
                for part in line.parts
                for kind, ids in (
                    ("settlement", part.settlement_ids),
                    ("audit_deduction", part.audit_deduction_ids),
                    ("clawback", part.clawback_ids),
                )
                for item_id in ids
            ),
        )
        await _advance(conn, env)
        await _LINES.execute(
            conn,
            (
                {
                    "period": e.period,
                    "line_id": line.line_id,
                    "payer_agency": line.payer_agency,
                    "receiver_agency": line.receiver_agency,
                    "amount": line.amount,
                    "parts": [queries.part_row(part) for part in line.parts],
                }
                for line in e.lines
            ),
        )

    # A period's agencies confirm its lines by the thousand (clearing_month appends them in one
    # unit; a rebuild reads them a page at a time): one UPDATE of the lines and one upsert of the
    # heads a run, not two statements a fact.
    @projection.on_batch(LineConfirmed, LineDisputed)
    async def decided(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        added: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        for env in envs:
            e: LineConfirmed | LineDisputed = env.payload
            confirm, dispute = added.setdefault((e.period, e.line_id), ([], []))
            agencies = confirm if isinstance(e, LineConfirmed) else dispute
            if e.agency not in agencies:
                agencies.append(e.agency)
        await conn.execute(
            _ADD_AGENCIES,
            {
                "periods": [period for period, _ in added],
                "lines": [line for _, line in added],
                "confirms": [",".join(c) for c, _ in added.values()],
                "disputes": [",".join(d) for _, d in added.values()],
            },
        )
        await _advance_many(conn, envs)

    @projection.on(StatementApprovalGiven)
    async def approval_given(conn: AsyncConnection, env: Envelope) -> None:
        await _advance(conn, env, first_approver=env.payload.approver)

    # Every other fact of a period stream moves its head, so a line's decision appends at the
    # stream's true version.
    @projection.on(
        StatementApproved,
        AdjustmentProposed,
        AdjustmentApproved,
        NetPositionsComputed,
        RemittanceRecorded,
        DisbursementRequested,
        DisbursementRecorded,
        PrepaidFundWarningRaised,
    )
    async def advanced(conn: AsyncConnection, env: Envelope) -> None:
        await _advance(conn, env)

    @projection.on(JournalEntryPosted)
    async def posted(conn: AsyncConnection, env: Envelope) -> None:
        e: JournalEntryPosted = env.payload
        await _JOURNAL.execute(
            conn,
            (
                {
                    "period": e.period,
                    "stream_version": env.stream_version,
                    "line_no": n,
                    "entry_id": e.entry_id,
                    "memo": e.memo,
                    "posted_on": e.posted_on,
                    "account": line.account,
                    "debit": line.debit,
                    "credit": line.credit,
                    "reference": line.reference,
                }
                for n, line in enumerate(e.lines, start=1)
            ),
        )
        await _advance(conn, env)

    @projection.on(ClearingApplied)
    async def applied(conn: AsyncConnection, env: Envelope) -> None:
        e: ClearingApplied = env.payload
        await conn.execute(
            hospital_applications.insert().values(
                clearing_application_id=e.clearing_application_id,
                stream_id=env.stream_id,
                institution_code=e.institution_code,
                clearing_agency=e.clearing_agency,
                month=e.month,
                clearing_category=e.clearing_category,
                count=e.count,
                total_fee=e.total_fee,
                fund_total=e.fund_total,
                account_paid=e.account_paid,
                cash_paid=e.cash_paid,
                status="10",
                withdrawn=False,
                applied_on=e.applied_on,
                changed_on=e.applied_on,
                changed_by=e.institution_code,
            )
        )

    @projection.on(ClearingApplicationWithdrawn)
    async def withdrawn(conn: AsyncConnection, env: Envelope) -> None:
        e: ClearingApplicationWithdrawn = env.payload
        await conn.execute(
            hospital_applications.update()
            .where(hospital_applications.c.clearing_application_id == e.clearing_application_id)
            .values(withdrawn=True, changed_on=e.withdrawn_on, changed_by=e.institution_code)
        )

    @projection.on(ClearingStatusChanged)
    async def status_changed(conn: AsyncConnection, env: Envelope) -> None:
        e: ClearingStatusChanged = env.payload
        await conn.execute(
            hospital_applications.update()
            .where(hospital_applications.c.clearing_application_id == e.clearing_application_id)
            .values(status=e.to_status, changed_on=e.changed_on, changed_by=e.changed_by)
        )

    @projection.on(HospitalPayableComputed)
    async def payable(conn: AsyncConnection, env: Envelope) -> None:
        e: HospitalPayableComputed = env.payload
        await conn.execute(
            hospital_applications.update()
            .where(hospital_applications.c.clearing_application_id == e.clearing_application_id)
            .values(
                reimbursable=e.reimbursable,
                audit_deducted=e.audit_deducted,
                clawed_back=e.clawed_back,
                payable_amount=e.amount,
            )
        )

    @projection.on(HospitalPaymentRecorded)
    async def paid(conn: AsyncConnection, env: Envelope) -> None:
        e: HospitalPaymentRecorded = env.payload
        await conn.execute(
            hospital_applications.update()
            .where(hospital_applications.c.clearing_application_id == e.clearing_application_id)
            .values(paid_amount=e.amount, bank_reference=e.bank_reference, paid_on=e.paid_on)
        )

    return projection


async def _advance(
    conn: AsyncConnection, env: Envelope, *, first_approver: str | None = None
) -> None:
    """Record that the period's stream reached this event's version (period streams only)."""
    prefix = "clearing-period:"
    if not env.stream_id.startswith(prefix):
        return
    values: dict[str, object] = {"stream_version": env.stream_version}
    if first_approver is not None:
        values["first_approver"] = first_approver
    await conn.execute(
        insert(period_heads)
        .values(period=env.stream_id.removeprefix(prefix), **values)
        .on_conflict_do_update(index_elements=[period_heads.c.period], set_=values)
    )


# A statement's items (20,000 settlement ids of a 400-agency month), its lines and a journal entry
# (a line per obligation) each go in one statement, not one per row. Plain inserts: an input in
# two periods is a unique violation that the handler turns into a Conflict.
_ITEMS = ColumnsInsert(statement_items, ["item_id", "kind", "period", "line_id", "insurance_type"])
# `confirmed_by` and `disputed_by` (arrays, which do not unnest row-wise) start empty by default.
_LINES = ColumnsInsert(
    period_lines, ["period", "line_id", "payer_agency", "receiver_agency", "amount", "parts"]
)
_JOURNAL = ColumnsInsert(
    journal_lines,
    [
        "period",
        "stream_version",
        "line_no",
        "entry_id",
        "memo",
        "posted_on",
        "account",
        "debit",
        "credit",
        "reference",
    ],
)
_HEADS = ColumnsInsert(
    period_heads, ["period", "stream_version"], conflict=["period"], update=["stream_version"]
)


async def _advance_many(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
    """`_advance` for a run without approvals: each period's head moves to its last fact."""
    prefix = "clearing-period:"
    heads = {
        env.stream_id.removeprefix(prefix): env.stream_version
        for env in envs
        if env.stream_id.startswith(prefix)
    }
    await _HEADS.execute(conn, ({"period": p, "stream_version": v} for p, v in heads.items()))


# Each line's agencies appended without repeats, in the stream's order (a rebuild replays the same
# order, so rows match). Agency codes hold no comma, so a line's new agencies travel as one text.
# The table is unqualified, as the handlers name theirs: a rebuild's search_path finds its shadow.
_ADD_AGENCIES = sa.text(
    """
    UPDATE period_lines AS l
    SET confirmed_by = l.confirmed_by || ARRAY(
            SELECT a FROM unnest(v.confirm) WITH ORDINALITY AS u(a, n)
            WHERE a <> ALL (l.confirmed_by) ORDER BY n),
        disputed_by = l.disputed_by || ARRAY(
            SELECT a FROM unnest(v.dispute) WITH ORDINALITY AS u(a, n)
            WHERE a <> ALL (l.disputed_by) ORDER BY n)
    FROM (
        SELECT period, line_id,
               string_to_array(confirm, ',') AS confirm, string_to_array(dispute, ',') AS dispute
        FROM unnest(CAST(:periods AS text[]), CAST(:lines AS text[]),
                    CAST(:confirms AS text[]), CAST(:disputes AS text[]))
             AS x(period, line_id, confirm, dispute)
    ) AS v
    WHERE l.period = v.period AND l.line_id = v.line_id
    """
)
