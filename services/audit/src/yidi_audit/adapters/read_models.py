"""The projection of audit's own events into the tables agencies read.

Applied by the write path in the appending transaction (`Runtime(own=...)`) and rebuildable with
`rebuild_from_store`; every handler is a plain upsert or update keyed by the event's ids, so a
rebuild equals live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters import tables as t
from yidi_audit.domain import events as ev
from yidi_events.contracts import audit as published
from yidi_events.envelope import Envelope
from yidi_events.kernel import city_of
from yidi_events.runtime.projection import Projection

_evidence = TypeAdapter(tuple[ev.EvidenceSettlement, ...])
_item = TypeAdapter(ev.InvestigationItem)
_lines = TypeAdapter(tuple[published.DeductedLine, ...])


def cities(*regions: str) -> list[str]:
    return sorted({city_of(r) for r in regions if r})


def evidence_cities(evidence: Iterable[ev.EvidenceSettlement]) -> list[str]:
    return cities(*(r for e in evidence for r in (e.visit_region, e.insured_region)))


def _json_evidence(evidence: tuple[ev.EvidenceSettlement, ...]) -> Any:
    return _evidence.dump_python(evidence, mode="json")


def own_projection() -> Projection:
    p = Projection("audit.own", t.OWN_TABLES)

    # Facts that only insert a row of their own, into tables no other fact of this run writes: a
    # run of them (a rebuild's page, an append of many) is one INSERT of many rows per table, in
    # stream order, so a flag raised twice keeps its first row as it did one fact at a time.
    @p.on_batch(*_INSERTS)
    async def inserted(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows: dict[type[Any], list[dict[str, Any]]] = {}
        for env in envs:
            rows.setdefault(type(env.payload), []).append(_INSERTS[type(env.payload)](env.payload))
        for model, batch in rows.items():
            await conn.execute(_STATEMENTS[model], batch)

    @p.on(ev.CaseOpened)
    async def case_opened(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.CaseOpened = env.payload
        await conn.execute(
            insert(t.cases).values(
                case_id=e.case_id,
                rule_id=e.rule_id,
                person_id=e.person_id,
                institution_code=e.institution_code,
                visit_region=e.visit_region,
                insured_region=e.insured_region,
                cities=sorted(
                    set(cities(e.visit_region, e.insured_region)) | set(evidence_cities(e.evidence))
                ),
                status="open",
                opened_on=e.opened_on,
                flag_ids=[e.flag_id],
                evidence=_json_evidence(e.evidence),
            )
        )
        await conn.execute(
            t.flags.update().where(t.flags.c.flag_id == e.flag_id).values(case_id=e.case_id)
        )

    @p.on(ev.FlagAddedToCase)
    async def flag_added(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.FlagAddedToCase = env.payload
        row = (
            await conn.execute(
                sa.select(t.cases.c.evidence, t.cases.c.cities).where(
                    t.cases.c.case_id == e.case_id
                )
            )
        ).one()
        merged = {
            x.settlement_id: x for x in (*_evidence.validate_python(row.evidence), *e.evidence)
        }
        evidence = tuple(merged[k] for k in sorted(merged))
        await conn.execute(
            t.cases.update()
            .where(t.cases.c.case_id == e.case_id)
            .values(
                flag_ids=sa.func.array_append(t.cases.c.flag_ids, e.flag_id),
                evidence=_json_evidence(evidence),
                cities=sorted(set(row.cities) | set(evidence_cities(e.evidence))),
            )
        )
        await conn.execute(
            t.flags.update().where(t.flags.c.flag_id == e.flag_id).values(case_id=e.case_id)
        )

    async def decided(conn: AsyncConnection, case_id: str, status: str, **values: Any) -> None:
        await conn.execute(
            t.cases.update().where(t.cases.c.case_id == case_id).values(status=status, **values)
        )

    @p.on(ev.CaseConfirmed)
    async def confirmed(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.CaseConfirmed = env.payload
        await decided(
            conn,
            e.case_id,
            "confirmed",
            decided_on=e.confirmed_on,
            decided_by=e.reviewer_id,
            reason=e.reason,
        )

    @p.on(ev.CaseDismissed)
    async def dismissed(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.CaseDismissed = env.payload
        await decided(
            conn,
            e.case_id,
            "dismissed",
            decided_on=e.dismissed_on,
            decided_by=e.reviewer_id,
            reason=e.reason,
        )

    @p.on(
        published.DirectSettlementSuspended,
        published.HospitalSuspended,
        published.DepartmentSuspended,
    )
    async def suspended(conn: AsyncConnection, env: Envelope) -> None:
        e = env.payload
        person = isinstance(e, published.DirectSettlementSuspended)
        department = isinstance(e, published.DepartmentSuspended)
        kind = "person" if person else "department" if department else "hospital"
        region = e.insured_region if person else e.visit_region
        case_cities = (
            await conn.execute(sa.select(t.cases.c.cities).where(t.cases.c.case_id == e.case_id))
        ).scalar_one_or_none() or cities(region)
        row = {
            "subject": e.person_id if person else e.institution_code,
            "department": e.department if department else None,
            "region": region,
            "cities": case_cities,
            "suspended_from": e.suspended_from,
            "suspended_until": e.suspended_until,
            "decided_by": e.decided_by,
            "ended_on": None,
            "end_reason": None,
            "interim": False,  # `SuspicionReported`, next in its unit, marks an interim one
            "review_by": None,
        }
        stmt = insert(t.suspensions).values(case_id=e.case_id, kind=kind, **row)
        # A sanction continuing the suspension on suspicion replaces it.
        await conn.execute(stmt.on_conflict_do_update(index_elements=["case_id", "kind"], set_=row))

    @p.on(ev.SuspicionReported)
    async def suspicion(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.SuspicionReported = env.payload
        await conn.execute(
            insert(t.suspicion_reports).values(
                case_id=e.case_id,
                person_id=e.person_id,
                rule_id=e.rule_id,
                institution_code=e.institution_code,
                visit_region=e.visit_region,
                insured_region=e.insured_region,
                centre_region=e.centre_region,
                cities=cities(e.visit_region, e.insured_region),
                suspicion=e.suspicion,
                evidence=_json_evidence(e.evidence),
                reported_by=e.reported_by,
                reported_on=e.reported_on,
                review_by=e.review_by,
            )
        )
        await conn.execute(
            t.suspensions.update()
            .where(t.suspensions.c.case_id == e.case_id, t.suspensions.c.kind == "person")
            .values(interim=True, review_by=e.review_by)
        )

    @p.on(
        published.DirectSettlementSuspensionEnded,
        published.HospitalSuspensionEnded,
        published.DepartmentSuspensionEnded,
    )
    async def suspension_ended(conn: AsyncConnection, env: Envelope) -> None:
        e = env.payload
        kind = (
            "person"
            if isinstance(e, published.DirectSettlementSuspensionEnded)
            else "department"
            if isinstance(e, published.DepartmentSuspensionEnded)
            else "hospital"
        )
        await conn.execute(
            t.suspensions.update()
            .where(t.suspensions.c.case_id == e.case_id, t.suspensions.c.kind == kind)
            .values(ended_on=e.ended_on, end_reason=str(e.reason))
        )

    @p.on(ev.InvestigationBatchBuilt)
    async def built(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.InvestigationBatchBuilt = env.payload
        await conn.execute(
            insert(t.batches).values(
                batch_id=e.batch_id,
                window_from=e.window_from,
                window_to=e.window_to,
                built_on=e.built_on,
                answer_by=e.answer_by,
                rolled_over_count=e.rolled_over_count,
            )
        )
        if e.items:  # a month's 协查 items: one INSERT of them all, not one each
            await conn.execute(
                insert(t.batch_items),
                [
                    {
                        "batch_id": e.batch_id,
                        "settlement_id": item.settlement_id,
                        "visit_region": item.visit_region,
                        "insured_region": item.insured_region,
                        "cities": cities(item.visit_region, item.insured_region),
                        "item": _item.dump_python(item, mode="json"),
                    }
                    for item in e.items
                ],
            )

    def item_of(batch_id: str, settlement_id: str) -> Any:
        return t.batch_items.update().where(
            t.batch_items.c.batch_id == batch_id, t.batch_items.c.settlement_id == settlement_id
        )

    @p.on(ev.InvestigationRolledOver)
    async def rolled(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.InvestigationRolledOver = env.payload
        await conn.execute(item_of(e.batch_id, e.settlement_id).values(rolled_to=e.to_batch_id))

    @p.on(ev.InvestigationAnswered)
    async def answered(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.InvestigationAnswered = env.payload
        await conn.execute(
            item_of(e.batch_id, e.settlement_id).values(
                result=str(e.result),
                reason=e.reason,
                answered_on=e.answered_on,
                confirm_by=e.confirm_by,
                late=e.late,
            )
        )

    @p.on(ev.InvestigationConfirmed)
    async def inv_confirmed(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.InvestigationConfirmed = env.payload
        await conn.execute(
            item_of(e.batch_id, e.settlement_id).values(
                confirmed_on=e.confirmed_on, automatic=e.automatic
            )
        )

    def ticket(ticket_id: str) -> Any:
        return t.tickets.update().where(t.tickets.c.ticket_id == ticket_id)

    @p.on(ev.TicketExtensionAgreed)
    async def extended(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.TicketExtensionAgreed = env.payload
        await conn.execute(ticket(e.ticket_id).values(reply_by=e.reply_by))

    @p.on(ev.TicketReplied)
    async def replied(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.TicketReplied = env.payload
        await conn.execute(
            ticket(e.ticket_id).values(
                status="replied",
                answer=e.answer,
                replied_on=e.replied_on,
                confirm_by=e.confirm_by,
                late=e.late,
            )
        )

    @p.on(ev.TicketConfirmed)
    async def ticket_confirmed(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.TicketConfirmed = env.payload
        await conn.execute(
            ticket(e.ticket_id).values(
                status="confirmed", confirmed_on=e.confirmed_on, automatic=e.automatic
            )
        )

    def complaint(complaint_id: str) -> Any:
        return t.complaints.update().where(t.complaints.c.complaint_id == complaint_id)

    @p.on(ev.ComplaintAcknowledged)
    async def acknowledged(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.ComplaintAcknowledged = env.payload
        await conn.execute(
            complaint(e.complaint_id).values(status="acknowledged", due=e.resolve_by)
        )

    @p.on(ev.ComplaintResolved)
    async def resolved(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.ComplaintResolved = env.payload
        await conn.execute(
            complaint(e.complaint_id).values(status="resolved", due=e.notify_by, outcome=e.outcome)
        )

    @p.on(ev.ComplainantNotified)
    async def notified(conn: AsyncConnection, env: Envelope) -> None:
        e: ev.ComplainantNotified = env.payload
        await conn.execute(
            complaint(e.complaint_id).values(
                status="notified", due=None, notified_on=e.notified_on, notified_channel=e.channel
            )
        )

    return p


def _flag_row(e: ev.FlagRaised) -> dict[str, Any]:
    return {
        "flag_id": e.flag_id,
        "rule_id": e.rule_id,
        "rule_version": e.rule_version,
        "person_id": e.person_id,
        "institution_code": e.institution_code,
        "cities": evidence_cities(e.evidence),
        "amount_at_issue": e.amount_at_issue,
        "detail": e.detail,
        "raised_on": e.raised_on,
        "settlement_ids": list(e.settlement_ids),
        "evidence_event_ids": list(e.evidence_event_ids),
        "evidence": _json_evidence(e.evidence),
        "case_id": None,
    }


def _clawback_row(e: published.ClawbackDecided) -> dict[str, Any]:
    return {
        "clawback_id": e.clawback_id,
        "case_id": e.case_id,
        "person_id": e.person_id,
        "settlement_ids": list(e.settlement_ids),
        "insured_region": e.insured_region,
        "visit_region": e.visit_region,
        "insurance_type": e.insurance_type,
        "amount": e.amount,
        "decided_by": e.decided_by,
        "decided_on": e.decided_on,
    }


def _deduction_row(e: published.FeeDeductionDecided) -> dict[str, Any]:
    return {
        "deduction_id": e.deduction_id,
        "source": str(e.source),
        "settlement_id": e.settlement_id,
        "person_id": e.person_id,
        "institution_code": e.institution_code,
        "visit_region": e.visit_region,
        "insured_region": e.insured_region,
        "cities": cities(e.visit_region, e.insured_region),
        "insurance_type": e.insurance_type,
        "settled_on": e.settled_on,
        "lines": _lines.dump_python(e.lines, mode="json"),
        "amount": e.amount,
        "reason": e.reason,
        "evidence": e.evidence,
        "decided_by": e.decided_by,
        "decided_on": e.decided_on,
    }


def _ticket_row(e: ev.TicketRaised) -> dict[str, Any]:
    return {
        "ticket_id": e.ticket_id,
        "kind": str(e.kind),
        "requester_region": e.requester_region,
        "receiver_region": e.receiver_region,
        "cities": cities(e.requester_region, e.receiver_region),
        "subject": e.subject,
        "person_id": e.person_id,
        "status": "raised",
        "raised_on": e.raised_on,
        "reply_by": e.reply_by,
    }


def _complaint_row(e: ev.ComplaintReceived) -> dict[str, Any]:
    return {
        "complaint_id": e.complaint_id,
        "agency_region": e.agency_region,
        "city": city_of(e.agency_region),
        "person_id": e.person_id,
        "channel": e.channel,
        "summary": e.summary,
        "status": "received",
        "received_on": e.received_on,
        "due": e.acknowledge_by,
    }


_INSERTS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    ev.FlagRaised: _flag_row,
    published.ClawbackDecided: _clawback_row,
    published.FeeDeductionDecided: _deduction_row,
    ev.TicketRaised: _ticket_row,
    ev.ComplaintReceived: _complaint_row,
}
_TABLES: dict[type[Any], sa.Table] = {
    ev.FlagRaised: t.flags,
    published.ClawbackDecided: t.clawbacks,
    published.FeeDeductionDecided: t.fee_deductions,
    ev.TicketRaised: t.tickets,
    ev.ComplaintReceived: t.complaints,
}
# Each table's INSERT, built once and executed with a run's rows. A flag is raised once: its
# fingerprint's row stays as first written.
_STATEMENTS: dict[type[Any], Any] = {
    model: insert(table).on_conflict_do_nothing() if model is ev.FlagRaised else insert(table)
    for model, table in _TABLES.items()
}
