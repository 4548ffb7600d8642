"""The audit handlers on the in-memory write path: given a stream's past events, when a command
runs, then exactly these events are appended (and a refused command appends nothing).

Dates are worked by hand on the default settings: no holidays, so working days are Monday to
Friday; 2026-04-15 is a Wednesday. The flagging consumer (flag claims, the open case of a person
and rule, the person's history) reads and writes SQL tables throughout and stays with the
integration tests in tests/test_audit_service.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters.read_models import own_projection
from yidi_audit.app import cases as case_app
from yidi_audit.app import collaboration as collab
from yidi_audit.app.context import Audit, AuditSettings
from yidi_audit.app.reads import OpenWork
from yidi_audit.domain.cases import SuspensionKind
from yidi_audit.domain.events import (
    CaseConfirmed,
    CaseDismissed,
    CaseOpened,
    ComplainantNotified,
    ComplaintAcknowledged,
    ComplaintReceived,
    ComplaintResolved,
    EvidenceSettlement,
    InvestigationAnswered,
    InvestigationBatchBuilt,
    InvestigationConfirmed,
    InvestigationItem,
    InvestigationResult,
    InvestigationRolledOver,
    SuspicionReported,
    TicketConfirmed,
    TicketExtensionAgreed,
    TicketExtensionRequested,
    TicketKind,
    TicketRaised,
    TicketReplied,
)
from yidi_audit.domain.facts import Fact, FeeLine, SettledVisit
from yidi_audit.domain.fee_review import LineDeduction
from yidi_audit.domain.guards import Actor
from yidi_audit.domain.overdue import Overdue, OverdueKind
from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.contracts.audit import (
    ClawbackDecided,
    DeductedLine,
    DeductionSource,
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    FeeDeductionDecided,
    HospitalSuspended,
    HospitalSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.kernel import SHANGHAI, Conflict, DomainError, Forbidden
from yidi_events.kernel.time import ControlledClock

NANJING = Actor("nj-1", "320100")  # the visit place: reviews, answers, receives tickets
SUZHOU = Actor("sz-1", "320500")  # the insured place: confirms, raises tickets
PERSON = "32050000000000000001"
HOSPITAL = "H32010000001"
SPLIT = "audit.split_hospitalization"
WEDNESDAY = date(2026, 4, 15)


@dataclass
class FakeReads:
    """The read models as a test states them."""

    suspensions_due: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    pool: list[InvestigationItem] = field(default_factory=list)
    answers_due: list[str] = field(default_factory=list)
    replies_due: list[str] = field(default_factory=list)
    work: OpenWork = field(default_factory=lambda: OpenWork([], [], []))
    settlements: dict[str, SettledVisit] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    async def cases_with_suspensions_due(self, unit: Unit, today: date) -> list[str]:
        return self.suspensions_due

    async def batches_with_unanswered_items(self, unit: Unit, building: str) -> list[str]:
        return self.unanswered

    async def pool_candidates(self, unit: Unit, first: date, last: date) -> list[InvestigationItem]:
        return self.pool

    async def batches_with_answers_due(self, unit: Unit, today: date) -> list[str]:
        return self.answers_due

    async def tickets_with_replies_due(self, unit: Unit, today: date) -> list[str]:
        return self.replies_due

    async def open_work(self, unit: Unit, city: str | None) -> OpenWork:
        return self.work

    async def history(self, unit: Unit, person_id: str) -> list[Fact]:
        return []

    async def settlement(self, unit: Unit, settlement_id: str) -> tuple[SettledVisit | None, bool]:
        found = self.settlements.get(settlement_id)
        return found, settlement_id in self.cancelled


def _no_consumer_unit(conn: AsyncConnection) -> Unit:
    raise AssertionError("consumers run on PostgreSQL: see the integration tests")


@dataclass
class World:
    audit: Audit
    store: InMemoryEventStore
    reads: FakeReads
    clock: ControlledClock
    seen: int = 0

    async def given(self, stream_id: str, *payloads: Any) -> None:
        write = self.audit.write
        version = len(self.store.payloads(stream_id))
        await write.transact(lambda unit: write.append(unit, stream_id, version, payloads))
        self.mark()

    def mark(self) -> None:
        self.seen = len(self.store.log)

    def appended(self) -> list[tuple[str, Any]]:
        """What was committed since the last mark, in commit order."""
        return [(e.stream_id, e.payload) for e in self.store.log[self.seen :]]


def world(now: datetime) -> World:
    clock = ControlledClock(now)
    store = InMemoryEventStore("audit", clock)
    reads = FakeReads()
    audit = Audit(AuditSettings(), own_projection())
    audit.bind(WritePath(store, clock), reads, _no_consumer_unit)
    return World(audit, store, reads, clock)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


# --- cases -------------------------------------------------------------------------------------


def evidence(settlement_id: str, fund_total: int) -> EvidenceSettlement:
    return EvidenceSettlement(
        event_id=f"ev-{settlement_id}",
        settlement_id=settlement_id,
        visit_id=f"V-{settlement_id}",
        institution_code=HOSPITAL,
        visit_region="320100",
        insured_region="320500",
        insurance_type="310",
        fund_total=fund_total,
    )


OPENED = CaseOpened(
    case_id="C1",
    rule_id=SPLIT,
    person_id=PERSON,
    institution_code=HOSPITAL,
    visit_region="320100",
    insured_region="320500",
    flag_id="F1",
    evidence=(evidence("S1", 600_000), evidence("S2", 300_000)),
    opened_on=date(2026, 4, 1),
)
CONFIRMED = CaseConfirmed(
    case_id="C1",
    person_id=PERSON,
    reviewer_id="nj-1",
    agency_region="320100",
    reason="split stay",
    confirmed_on=date(2026, 4, 2),
)


def person_suspended(first: date, last: date) -> DirectSettlementSuspended:
    return DirectSettlementSuspended(
        person_id=PERSON,
        suspended_from=first,
        suspended_until=last,
        case_id="C1",
        insured_region="320500",
        decided_by="nj-1",
    )


async def test_a_confirmation_with_sanctions_appends_all_three_decisions() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    await case_app.review(
        w.audit,
        "C1",
        NANJING,
        confirm=True,
        reason=" split stay ",
        suspend=case_app.SuspendCommand(SuspensionKind.PERSON, 6),
        clawback=case_app.ClawbackCommand(100_000),
    )
    assert w.appended() == [
        (
            "case-C1",
            CaseConfirmed(
                case_id="C1",
                person_id=PERSON,
                reviewer_id="nj-1",
                agency_region="320100",
                reason="split stay",
                confirmed_on=WEDNESDAY,
            ),
        ),
        # Six months from today, the last day the one before 15 October.
        ("case-C1", person_suspended(WEDNESDAY, date(2026, 10, 14))),
        (
            "case-C1",
            ClawbackDecided(
                clawback_id="C1-1",
                case_id="C1",
                person_id=PERSON,
                settlement_ids=("S1", "S2"),  # every settlement of the case when none is named
                insured_region="320500",
                visit_region="320100",
                insurance_type="310",
                amount=100_000,
                decided_by="nj-1",
                decided_on=WEDNESDAY,
            ),
        ),
    ]


async def test_a_suspicion_then_a_confirmation_with_a_sanction_continues_the_suspension() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    await case_app.suspect(w.audit, "C1", NANJING, "readmitted twice in ten days")
    # Ten working days after Wednesday 15 April (chinesecalendar: none off until 1 May).
    review_by = date(2026, 4, 29)
    (suspended, reported) = w.appended()
    assert suspended == ("case-C1", person_suspended(WEDNESDAY, review_by))
    assert isinstance(reported[1], SuspicionReported)
    assert (reported[1].centre_region, reported[1].insured_region) == ("320000", "320500")
    assert reported[1].review_by == review_by
    w.mark()

    w.clock.set(at(date(2026, 4, 20)))
    await case_app.review(
        w.audit,
        "C1",
        NANJING,
        confirm=True,
        reason="split stay",
        suspend=case_app.SuspendCommand(SuspensionKind.PERSON, 3),
    )
    confirmed, sanction = w.appended()
    assert isinstance(confirmed[1], CaseConfirmed)
    # Three months from the suspicion's first day: 15 April to 14 July.
    assert sanction == ("case-C1", person_suspended(WEDNESDAY, date(2026, 7, 14)))


async def test_a_suspicion_then_a_confirmation_without_a_person_sanction_lifts_it() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    await case_app.suspect(w.audit, "C1", NANJING, "readmitted twice in ten days")
    w.mark()
    await case_app.review(w.audit, "C1", NANJING, confirm=True, reason="split stay")
    confirmed, lifted = w.appended()
    assert isinstance(confirmed[1], CaseConfirmed)
    assert lifted == (
        "case-C1",
        DirectSettlementSuspensionEnded(
            person_id=PERSON,
            case_id="C1",
            insured_region="320500",
            ended_on=WEDNESDAY,
            reason=SuspensionEndReason.LIFTED,
        ),
    )


async def test_a_confirmation_whose_clawback_is_refused_confirms_nothing() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    with pytest.raises(DomainError) as refused:
        await case_app.review(
            w.audit,
            "C1",
            NANJING,
            confirm=True,
            reason="split stay",
            clawback=case_app.ClawbackCommand(900_001),  # the funds paid 600,000 + 300,000
        )
    assert refused.value.rule == "audit.clawback.exceeds_fund_total"
    assert w.appended() == []


async def test_only_the_visit_place_reviews() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    with pytest.raises(Forbidden):
        await case_app.review(w.audit, "C1", SUZHOU, confirm=False, reason="not split")
    assert w.appended() == []


async def test_a_dismissal() -> None:
    w = world(at(WEDNESDAY))
    await w.given("case-C1", OPENED)
    await case_app.review(w.audit, "C1", NANJING, confirm=False, reason="a new illness")
    assert w.appended() == [
        (
            "case-C1",
            CaseDismissed(
                case_id="C1",
                person_id=PERSON,
                reviewer_id="nj-1",
                agency_region="320100",
                reason="a new illness",
                dismissed_on=WEDNESDAY,
            ),
        )
    ]


async def test_sanctions_on_a_confirmed_case_claw_back_only_what_is_left() -> None:
    w = world(at(WEDNESDAY))
    earlier = ClawbackDecided(
        clawback_id="C1-1",
        case_id="C1",
        person_id=PERSON,
        settlement_ids=("S1", "S2"),
        insured_region="320500",
        visit_region="320100",
        insurance_type="310",
        amount=500_000,
        decided_by="nj-1",
        decided_on=date(2026, 4, 2),
    )
    await w.given("case-C1", OPENED, CONFIRMED, earlier)
    with pytest.raises(DomainError, match="400000 fen"):  # 900,000 - 500,000 is left
        await case_app.sanction(w.audit, "C1", NANJING, clawback=case_app.ClawbackCommand(400_001))
    assert w.appended() == []

    await case_app.sanction(
        w.audit,
        "C1",
        NANJING,
        suspend=case_app.SuspendCommand(SuspensionKind.HOSPITAL, 6, date(2026, 5, 1)),
        clawback=case_app.ClawbackCommand(400_000, ("S2", "S1")),
    )
    assert w.appended() == [
        (
            "case-C1",
            HospitalSuspended(
                institution_code=HOSPITAL,
                visit_region="320100",
                suspended_from=date(2026, 5, 1),
                suspended_until=date(2026, 10, 31),
                case_id="C1",
                decided_by="nj-1",
            ),
        ),
        (
            "case-C1",
            ClawbackDecided(
                clawback_id="C1-2",
                case_id="C1",
                person_id=PERSON,
                settlement_ids=("S1", "S2"),
                insured_region="320500",
                visit_region="320100",
                insurance_type="310",
                amount=400_000,
                decided_by="nj-1",
                decided_on=WEDNESDAY,
            ),
        ),
    ]


async def test_a_lifted_suspension_ends_today_and_cannot_be_lifted_twice() -> None:
    w = world(at(WEDNESDAY))
    await w.given(
        "case-C1", OPENED, CONFIRMED, person_suspended(date(2026, 4, 2), date(2026, 7, 1))
    )
    await case_app.lift(w.audit, "C1", SuspensionKind.PERSON, NANJING)
    lifted = DirectSettlementSuspensionEnded(
        person_id=PERSON,
        case_id="C1",
        insured_region="320500",
        ended_on=WEDNESDAY,
        reason=SuspensionEndReason.LIFTED,
    )
    assert w.appended() == [("case-C1", lifted)]

    w.mark()
    with pytest.raises(Conflict):
        await case_app.lift(w.audit, "C1", SuspensionKind.PERSON, NANJING)
    assert w.appended() == []


async def test_expiry_ends_each_suspension_the_day_after_its_last_day() -> None:
    w = world(at(WEDNESDAY))
    hospital = HospitalSuspended(
        institution_code=HOSPITAL,
        visit_region="320100",
        suspended_from=date(2025, 10, 11),
        suspended_until=date(2026, 4, 10),
        case_id="C1",
        decided_by="nj-1",
    )
    await w.given(
        "case-C1",
        OPENED,
        CONFIRMED,
        person_suspended(date(2026, 1, 15), date(2026, 4, 14)),
        hospital,
    )
    w.reads.suspensions_due = ["C1"]
    assert await case_app.expire(w.audit) == 2
    assert w.appended() == [
        (
            "case-C1",
            HospitalSuspensionEnded(
                institution_code=HOSPITAL,
                visit_region="320100",
                case_id="C1",
                ended_on=date(2026, 4, 11),
                reason=SuspensionEndReason.EXPIRED,
            ),
        ),
        (
            "case-C1",
            DirectSettlementSuspensionEnded(
                person_id=PERSON,
                case_id="C1",
                insured_region="320500",
                ended_on=WEDNESDAY,
                reason=SuspensionEndReason.EXPIRED,
            ),
        ),
    ]


# --- 协查 ---------------------------------------------------------------------------------------


def item(
    settlement_id: str, settled_on: date, visit: str = "320100", insured: str = "320500"
) -> InvestigationItem:
    return InvestigationItem(
        settlement_id=settlement_id,
        visit_id=f"V-{settlement_id}",
        person_id=PERSON,
        institution_code=HOSPITAL,
        visit_region=visit,
        insured_region=insured,
        admitted_on=settled_on,
        discharged_on=settled_on,
        settled_on=settled_on,
        total_fee=12_000_000,
    )


S10 = item("S10", date(2026, 3, 1))
S11 = item("S11", date(2026, 3, 2))
S20 = item("S20", date(2026, 4, 10))

MARCH = InvestigationBatchBuilt(
    batch_id="2026-03",
    window_from=date(2026, 2, 26),
    window_to=date(2026, 3, 25),
    built_on=date(2026, 3, 26),
    answer_by=date(2026, 4, 25),
    items=(S10, S11),
    rolled_over_count=0,
)
APRIL = InvestigationBatchBuilt(
    batch_id="2026-04",
    window_from=date(2026, 3, 26),
    window_to=date(2026, 4, 25),
    built_on=date(2026, 4, 26),
    answer_by=date(2026, 5, 25),
    items=(S20,),
    rolled_over_count=0,
)


def answered(batch_id: str, settlement_id: str, on: date, confirm_by: date) -> Any:
    return InvestigationAnswered(
        batch_id=batch_id,
        settlement_id=settlement_id,
        result=InvestigationResult.NO_ISSUE,
        reason="",
        answered_by="nj-1",
        answered_on=on,
        confirm_by=confirm_by,
        late=False,
    )


async def test_the_build_rolls_unanswered_items_over_and_takes_the_windows_admissions() -> None:
    w = world(at(date(2026, 4, 26), hour=0))
    await w.given(
        "batch-2026-03", MARCH, answered("2026-03", "S10", date(2026, 4, 1), date(2026, 4, 8))
    )
    w.reads.unanswered = ["2026-03"]
    w.reads.pool = [S20]
    assert await collab.build_batch(w.audit) == "2026-04"
    assert w.appended() == [
        (
            "batch-2026-03",
            InvestigationRolledOver(
                batch_id="2026-03",
                settlement_id="S11",
                to_batch_id="2026-04",
                rolled_on=date(2026, 4, 26),
            ),
        ),
        (
            "batch-2026-04",
            InvestigationBatchBuilt(
                batch_id="2026-04",
                window_from=date(2026, 3, 26),
                window_to=date(2026, 4, 25),
                built_on=date(2026, 4, 26),
                answer_by=date(2026, 5, 25),
                items=(
                    replace(S11, rolled_from_batch="2026-03"),
                    S20,
                ),
                rolled_over_count=1,
            ),
        ),
    ]

    w.mark()
    with pytest.raises(Conflict):  # a built batch never changes
        await collab.build_batch(w.audit)
    assert w.appended() == []


async def test_a_batch_is_built_only_on_the_26th() -> None:
    w = world(at(date(2026, 4, 25)))
    w.reads.pool = [S20]
    with pytest.raises(DomainError) as refused:
        await collab.build_batch(w.audit)
    assert refused.value.rule == "audit.investigation.build_day"
    assert w.appended() == []


async def test_the_visit_place_answers_and_the_insured_place_has_five_working_days() -> None:
    w = world(at(date(2026, 5, 6)))  # a Wednesday
    await w.given("batch-2026-04", APRIL)
    with pytest.raises(Forbidden):
        await collab.answer_item(
            w.audit, "2026-04", "S20", SUZHOU, InvestigationResult.NO_ISSUE, ""
        )
    with pytest.raises(DomainError, match="reason is required"):
        await collab.answer_item(
            w.audit, "2026-04", "S20", NANJING, InvestigationResult.ISSUE_FOUND, " "
        )
    assert w.appended() == []

    await collab.answer_item(
        w.audit, "2026-04", "S20", NANJING, InvestigationResult.ISSUE_FOUND, " double charge "
    )
    assert w.appended() == [
        (
            "batch-2026-04",
            InvestigationAnswered(
                batch_id="2026-04",
                settlement_id="S20",
                result=InvestigationResult.ISSUE_FOUND,
                reason="double charge",
                answered_by="nj-1",
                answered_on=date(2026, 5, 6),
                # Thu 7, Fri 8, Sat 9 May (the Labour Day make-up working day), Mon 11, Tue 12
                confirm_by=date(2026, 5, 12),
                late=False,
            ),
        )
    ]


def _s20(fund_total: int, *lines: FeeLine) -> SettledVisit:
    return SettledVisit(
        event_id="ev-S20",
        settlement_id="S20",
        visit_id="V-S20",
        person_id=PERSON,
        institution_code=HOSPITAL,
        visit_region="320100",
        insured_region="320500",
        insurance_type="310",
        medical_type="21",
        admitted_on=date(2026, 4, 1),
        discharged_on=date(2026, 4, 10),
        settled_on=date(2026, 4, 10),
        principal_diagnosis="C34.900",
        total_fee=sum(x.amount for x in lines),
        fund_total=fund_total,
        fee_lines=lines,
    )


def _fee(no: str, amount: int) -> FeeLine:
    return FeeLine(
        catalogue_code=f"C{no}",
        charge_category="09",
        fee_date=date(2026, 4, 2),
        quantity=Decimal(1),
        unit_price=Decimal(amount) / 100,
        amount=amount,
        fee_line_no=no,
        in_policy=amount,
    )


async def test_an_issue_found_with_lines_to_deduct_becomes_a_fee_deduction() -> None:
    w = world(at(date(2026, 5, 6)))
    await w.given("batch-2026-04", APRIL)
    # 90,000 fen from the funds on 60,000 + 40,000 in-policy: lines carried 54,000 and 36,000.
    w.reads.settlements["S20"] = _s20(90_000, _fee("1", 60_000), _fee("2", 40_000))
    with pytest.raises(DomainError) as no_issue:
        await collab.answer_item(
            w.audit,
            "2026-04",
            "S20",
            NANJING,
            InvestigationResult.NO_ISSUE,
            "",
            (LineDeduction("2"),),
        )
    assert no_issue.value.rule == "audit.investigation.deduction_without_issue"
    with pytest.raises(DomainError) as too_much:
        await collab.answer_item(
            w.audit,
            "2026-04",
            "S20",
            NANJING,
            InvestigationResult.ISSUE_FOUND,
            "重复收费",
            (LineDeduction("2", 36_001),),
        )
    assert too_much.value.rule == "audit.fee_review.exceeds_line_fund"
    assert w.appended() == []  # neither the answer nor the deduction

    await collab.answer_item(
        w.audit,
        "2026-04",
        "S20",
        NANJING,
        InvestigationResult.ISSUE_FOUND,
        "重复收费",
        (LineDeduction("2"),),
    )
    (answer, deduction) = w.appended()
    assert answer[0] == "batch-2026-04"
    assert isinstance(answer[1], InvestigationAnswered)
    assert deduction == (
        "fee-review-S20",
        FeeDeductionDecided(
            deduction_id="S20-assist-check-2026-04",
            source=DeductionSource.ASSIST_CHECK,
            settlement_id="S20",
            person_id=PERSON,
            institution_code=HOSPITAL,
            department=None,
            insured_region="320500",
            visit_region="320100",
            insurance_type="310",
            settled_on=date(2026, 4, 10),
            lines=(DeductedLine(fee_line_id="2", amount=36_000, reason="重复收费"),),
            amount=36_000,
            reason="重复收费",
            evidence="协查批次 2026-04 核查有误",
            decided_by="nj-1",
            decided_on=date(2026, 5, 6),
        ),
    )


async def test_the_insured_place_confirms_an_answer() -> None:
    w = world(at(date(2026, 5, 8)))
    await w.given(
        "batch-2026-04", APRIL, answered("2026-04", "S20", date(2026, 5, 6), date(2026, 5, 12))
    )
    with pytest.raises(Forbidden):
        await collab.confirm_item(w.audit, "2026-04", "S20", NANJING)
    assert w.appended() == []

    await collab.confirm_item(w.audit, "2026-04", "S20", SUZHOU)
    assert w.appended() == [
        (
            "batch-2026-04",
            InvestigationConfirmed(
                batch_id="2026-04",
                settlement_id="S20",
                confirmed_on=date(2026, 5, 8),
                confirmed_by="sz-1",
                automatic=False,
            ),
        )
    ]


# --- tickets -----------------------------------------------------------------------------------


RAISED = TicketRaised(
    ticket_id="T1",
    kind=TicketKind.FILING,
    requester_region="320500",
    receiver_region="320100",
    subject="filing not visible",
    person_id=PERSON,
    raised_on=WEDNESDAY,
    reply_by=date(2026, 4, 17),
)


def replied(on: date, confirm_by: date) -> TicketReplied:
    return TicketReplied(
        ticket_id="T1", answer="visible now", replied_on=on, confirm_by=confirm_by, late=False
    )


async def test_auto_confirmation_confirms_what_nobody_confirmed_in_time() -> None:
    w = world(at(date(2026, 5, 14)))
    await w.given(
        "batch-2026-04", APRIL, answered("2026-04", "S20", date(2026, 5, 6), date(2026, 5, 12))
    )
    await w.given("ticket-T1", RAISED, replied(date(2026, 4, 29), date(2026, 5, 13)))
    w.reads.answers_due = ["2026-04"]
    w.reads.replies_due = ["T1"]
    assert await collab.auto_confirm(w.audit) == 2
    assert w.appended() == [
        (
            "batch-2026-04",
            InvestigationConfirmed(
                batch_id="2026-04",
                settlement_id="S20",
                confirmed_on=date(2026, 5, 14),
                confirmed_by="",
                automatic=True,
            ),
        ),
        (
            "ticket-T1",
            TicketConfirmed(ticket_id="T1", confirmed_on=date(2026, 5, 14), automatic=True),
        ),
    ]


async def test_a_ticket_is_raised_to_another_agency_with_its_kinds_reply_days() -> None:
    w = world(at(WEDNESDAY))
    with pytest.raises(DomainError) as refused:
        await collab.raise_ticket(
            w.audit, SUZHOU, TicketKind.FILING, "320506", "filing", PERSON, "T0"
        )
    assert refused.value.rule == "audit.ticket.same_agency"
    assert w.appended() == []

    ticket_id = await collab.raise_ticket(
        w.audit, SUZHOU, TicketKind.FILING, "320100", " filing not visible ", PERSON, "T1"
    )
    assert ticket_id == "T1"
    assert w.appended() == [("ticket-T1", RAISED)]  # filing: 2 working days, Thu and Fri

    w.mark()
    with pytest.raises(Conflict):
        await collab.raise_ticket(
            w.audit, SUZHOU, TicketKind.FILING, "320100", "again", PERSON, "T1"
        )
    assert w.appended() == []


async def test_a_ticket_without_an_id_gets_one() -> None:
    w = world(at(WEDNESDAY))
    ticket_id = await collab.raise_ticket(
        w.audit, SUZHOU, TicketKind.SYSTEM_FAULT, "320100", "down", None
    )
    ((stream_id, raised),) = w.appended()
    assert stream_id == f"ticket-{ticket_id}"
    assert (raised.ticket_id, raised.reply_by) == (ticket_id, date(2026, 4, 16))


async def test_the_receiver_asks_for_more_time_and_the_requester_agrees() -> None:
    w = world(at(WEDNESDAY))
    await w.given("ticket-T1", RAISED)
    with pytest.raises(DomainError, match="past 2026-04-17"):
        await collab.request_extension(w.audit, "T1", NANJING, date(2026, 4, 17), "records")
    assert w.appended() == []
    await collab.request_extension(w.audit, "T1", NANJING, date(2026, 4, 24), " records ")
    assert w.appended() == [
        (
            "ticket-T1",
            TicketExtensionRequested(
                ticket_id="T1", reply_by=date(2026, 4, 24), reason="records", requested_on=WEDNESDAY
            ),
        )
    ]

    w.mark()
    with pytest.raises(Forbidden):  # the receiver cannot give itself more time
        await collab.agree_extension(w.audit, "T1", NANJING)
    assert w.appended() == []
    await collab.agree_extension(w.audit, "T1", SUZHOU)
    assert w.appended() == [
        (
            "ticket-T1",
            TicketExtensionAgreed(ticket_id="T1", reply_by=date(2026, 4, 24), agreed_on=WEDNESDAY),
        )
    ]


async def test_a_late_reply_and_its_confirmation() -> None:
    w = world(at(date(2026, 4, 20)))  # the Monday after the reply was due
    await w.given("ticket-T1", RAISED)
    with pytest.raises(Forbidden):
        await collab.reply_ticket(w.audit, "T1", SUZHOU, "visible now")
    assert w.appended() == []
    await collab.reply_ticket(w.audit, "T1", NANJING, "visible now")
    # Ten working days from Monday 20 April: 21-24, 27-30 April, then (1-5 May being the Labour
    # Day holiday) 6 and 7 May.
    reply = TicketReplied(
        ticket_id="T1",
        answer="visible now",
        replied_on=date(2026, 4, 20),
        confirm_by=date(2026, 5, 7),
        late=True,
    )
    assert w.appended() == [("ticket-T1", reply)]

    w.mark()
    await collab.confirm_ticket(w.audit, "T1", SUZHOU)
    assert w.appended() == [
        (
            "ticket-T1",
            TicketConfirmed(ticket_id="T1", confirmed_on=date(2026, 4, 20), automatic=False),
        )
    ]
    w.mark()
    with pytest.raises(Conflict):
        await collab.confirm_ticket(w.audit, "T1", SUZHOU)
    assert w.appended() == []


# --- complaints --------------------------------------------------------------------------------


RECEIVED = ComplaintReceived(
    complaint_id="K1",
    agency_region="320100",
    person_id=None,
    channel="phone",
    summary="overcharged",
    received_on=WEDNESDAY,
    acknowledge_by=date(2026, 4, 16),
)
ACKNOWLEDGED = ComplaintAcknowledged(
    complaint_id="K1", acknowledged_on=WEDNESDAY, resolve_by=date(2026, 4, 29)
)
RESOLVED = ComplaintResolved(
    complaint_id="K1", outcome="refunded", resolved_on=WEDNESDAY, notify_by=date(2026, 4, 17)
)


async def test_a_complaint_is_received_acknowledged_resolved_and_the_complainant_told() -> None:
    w = world(at(WEDNESDAY))
    complaint_id = await collab.receive_complaint(
        w.audit, NANJING, None, "phone", " overcharged ", "K1"
    )
    assert complaint_id == "K1"
    await collab.acknowledge_complaint(w.audit, "K1", NANJING)  # 10 working days: 29 April
    await collab.resolve_complaint(w.audit, "K1", NANJING, "refunded")  # 2: Friday 17 April
    await collab.notify_complainant(w.audit, "K1", NANJING, "sms")
    assert w.appended() == [
        ("complaint-K1", RECEIVED),
        ("complaint-K1", ACKNOWLEDGED),
        ("complaint-K1", RESOLVED),
        (
            "complaint-K1",
            ComplainantNotified(complaint_id="K1", channel="sms", notified_on=WEDNESDAY),
        ),
    ]


@pytest.mark.parametrize(
    ("past", "step"),
    [
        ((), "acknowledge"),
        ((RECEIVED,), "notify"),  # not resolved yet
        ((RECEIVED,), "acknowledge by another agency"),
        ((RECEIVED, ACKNOWLEDGED, RESOLVED), "resolve"),  # already resolved
    ],
)
async def test_a_complaint_step_out_of_turn_or_by_another_agency_changes_nothing(
    past: Sequence[Any], step: str
) -> None:
    w = world(at(WEDNESDAY))
    if past:
        await w.given("complaint-K1", *past)
    steps = {
        "acknowledge": lambda: collab.acknowledge_complaint(w.audit, "K1", NANJING),
        "notify": lambda: collab.notify_complainant(w.audit, "K1", NANJING, "sms"),
        "acknowledge by another agency": lambda: collab.acknowledge_complaint(
            w.audit, "K1", SUZHOU
        ),
        "resolve": lambda: collab.resolve_complaint(w.audit, "K1", NANJING, "again"),
    }
    with pytest.raises(DomainError):
        await steps[step]()
    assert w.appended() == []


# --- overdue -----------------------------------------------------------------------------------


async def test_an_agency_sees_the_late_steps_it_is_part_of() -> None:
    w = world(at(date(2026, 4, 27)))
    hangzhou = item("S12", date(2026, 3, 3), visit="330100", insured="330200")
    march = replace(MARCH, items=(S10, hangzhou))
    await w.given("batch-2026-03", march)
    await w.given("ticket-T1", RAISED)
    w.reads.work = OpenWork(batch_ids=["2026-03"], ticket_ids=["T1"], complaint_ids=[])
    assert await collab.overdue_for(w.audit, "320500", everyone=False) == [
        # Answers were due by 25 April; Hangzhou's item of the same batch is not Suzhou's.
        Overdue(OverdueKind.INVESTIGATION, "2026-03/S10", "answer", date(2026, 4, 25), "320100"),
        Overdue(OverdueKind.TICKET, "T1", "reply", date(2026, 4, 17), "320100"),
    ]
