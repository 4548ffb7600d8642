"""Settlement's own projection (`settlement_own`) folds a run of its facts per row in stream order
and writes each table with a few multi-row statements; the rows are what the facts one by one
leave, and a run of many settled visits costs the statements of one.

First batch, worked by hand:
- hospital H1 registered (a pharmacy, networked, level 3) then updated (renamed, suspended to 31
  March): one row, the update's columns over the registration, the kind kept from it;
- catalogue item C1 published (self-pay 0.1000, cap 12.50);
- H1's item X1 mapped to C1 then to C2 (the later mapping replaces it), X2 mapped then unmapped (a
  fact of its own between the runs): one mapping, X1 -> C2 tagged "b";
- visit V1 registered (08:00, medical type 11), its admission changed (07:00, type 21),
  discharged on 5 March, the discharge cancelled, discharged again on 6 March, settled (S1,
  1,000.00 yuan), its ledger moved (sequence 1), S1 cancelled (R1, a refund of -1,000.00) and the
  ledger moved back (sequence 2): V1 settlement_cancelled, discharged on 6 March, S1 cancelled by
  R1;
- visit V2 registered, its registration cancelled;
- visit V3 registered and settled (S3, 200.00 yuan).
A second batch finds every row stored: S1 reinstated (cancelled by nobody, V1 settled again), S3
cancelled (R3, V3 settlement_cancelled), H1 updated back to not suspended (its kind stays), the
ledger moved (sequence 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FundCode,
    FundPayment,
    ItemClass,
    PersonLedgerMoved,
    SettlementCancelled,
    SettlementTotals,
    VisitSettled,
)
from yidi_events.db import make_engine
from yidi_events.envelope import Envelope
from yidi_events.testing import Streams
from yidi_settlement import bootstrap
from yidi_settlement.adapters.own_facts import make_projection
from yidi_settlement.adapters.tables import (
    catalogue_items,
    hospital_items,
    hospitals,
    ledger_movements,
    settlements,
    visits,
)
from yidi_settlement.domain.events import (
    AdmissionChanged,
    CatalogueItemPublished,
    DischargeCancelled,
    HospitalItemMapped,
    HospitalItemUnmapped,
    HospitalRegistered,
    HospitalUpdated,
    PatientDischarged,
    SettlementReinstated,
    VisitRegistered,
    VisitRegistrationCancelled,
)

NANJING = "320100"
SUZHOU = "320500"
H1 = "H32010000001"
AT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, business date 2 March
ON = date(2026, 3, 2)
STREAMS = Streams(AT, ON)
envelope = STREAMS.envelope


def totals(fee: int) -> SettlementTotals:
    """The fund pays 60%, the account 10%, cash the rest (a refund: all three negative)."""
    fund, account = fee * 6 // 10, fee // 10
    zero = dict.fromkeys(
        (
            "fully_self_paid",
            "over_limit",
            "pre_self_paid",
            "deductible_applied",
            "large_amount_fund",
            "critical_illness_fund",
            "civil_servant_subsidy",
            "medical_assistance",
            "hospital_borne",
        ),
        0,
    )
    return SettlementTotals(
        total_fee=fee,
        in_policy=fee,
        basic_fund=fund,
        fund_total=fund,
        account_paid=account,
        cash_paid=fee - fund - account,
        personal_total=fee - fund,
        **zero,
    )


def movement(balance: int) -> AccumulatorMovement:
    return AccumulatorMovement(
        policy_year=2026,
        inpatient_admissions=0,
        outpatient_deductible_used=0,
        eligible_cum=0,
        basic_paid_cum=0,
        supplementary_base_cum=0,
        supplementary_paid_cum=0,
        assistance_paid_cum=0,
        account_balance=balance,
    )


def visit(visit_id: str, hour: int) -> VisitRegistered:
    return VisitRegistered(
        visit_id=visit_id,
        person_id="P1",
        insured_region=SUZHOU,
        visit_region=NANJING,
        institution_code=H1,
        insurance_type="310",
        medical_type="11",
        began_at=datetime(2026, 3, 2, hour, 0, tzinfo=UTC),
        message_id=f"M-{visit_id}",
    )


def settled(settlement_id: str, visit_id: str, fee: int) -> VisitSettled:
    return VisitSettled(
        settlement_id=settlement_id,
        visit_id=visit_id,
        person_id="P1",
        insured_region=SUZHOU,
        visit_region=NANJING,
        institution_code=H1,
        clearing_agency=NANJING,
        clearing_category="11",
        insurance_type="310",
        medical_type="21",
        filing_kind="work",
        admitted_on=ON,
        discharged_on=ON,
        principal_diagnosis=None,
        totals=totals(fee),
        fund_payments=(FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=fee * 6 // 10),),
        account_balance_after=50_000,
        movement=movement(-(fee // 10)),
        message_id=f"M-{settlement_id}",
        settled_at=AT,
    )


def cancelled(refund_id: str, of: VisitSettled) -> SettlementCancelled:
    return SettlementCancelled(
        settlement_id=refund_id,
        original_settlement_id=of.settlement_id,
        visit_id=of.visit_id,
        person_id="P1",
        insured_region=SUZHOU,
        visit_region=NANJING,
        institution_code=H1,
        clearing_agency=NANJING,
        clearing_category="11",
        insurance_type="310",
        medical_type="21",
        totals=totals(-of.totals.total_fee),
        fund_payments=(),
        account_balance_after=None,
        movement=movement(of.totals.account_paid),
        message_id=f"M-{refund_id}",
        cancelled_at=AT,
    )


def moved(
    sequence: int, settlement_id: str, visit_id: str, person_id: str = "P1"
) -> PersonLedgerMoved:
    return PersonLedgerMoved(
        person_id=person_id,
        insured_region=SUZHOU,
        sequence=sequence,
        policy_year=2026,
        movement=movement(-sequence),
        reason="settlement",
        settlement_id=settlement_id,
        visit_id=visit_id,
        moved_at=AT,
    )


def hospital_updated(name: str, suspended: bool, until: date | None) -> HospitalUpdated:
    return HospitalUpdated(
        institution_code=H1,
        institution_name=name,
        region=NANJING,
        hospital_level="3",
        networked=True,
        suspended=suspended,
        suspended_until=until,
        clearing_agency=NANJING,
        updated_at=AT,
    )


def mapped(item: str, catalogue_code: str, tag: str) -> HospitalItemMapped:
    return HospitalItemMapped(
        institution_code=H1,
        hospital_item_code=item,
        catalogue_code=catalogue_code,
        mapped_at=AT,
        tags=(tag,),
    )


def batches() -> tuple[list[Envelope], list[Envelope]]:
    STREAMS.clear()
    s1, s3 = settled("S1", "V1", 100_000), settled("S3", "V3", 20_000)
    v1 = {"visit_id": "V1", "person_id": "P1", "institution_code": H1}
    first = [
        envelope(
            "hospital-H1",
            HospitalRegistered(
                institution_code=H1,
                institution_name="甲医院",
                region=NANJING,
                hospital_level="3",
                networked=True,
                clearing_agency=NANJING,
                registered_at=AT,
                kind="pharmacy",
            ),
        ),
        envelope("hospital-H1", hospital_updated("甲医院新院", True, date(2026, 3, 31))),
        envelope(
            "catalogue-C1",
            CatalogueItemPublished(
                visit_region=NANJING,
                catalogue_code="C1",
                name="阿莫西林",
                item_class=ItemClass.B,
                self_pay_ratio=Decimal("0.1"),
                price_cap=Decimal("12.50"),
                list_type="drug",
                effective_from=date(2026, 1, 1),
            ),
        ),
        envelope("items-H1", mapped("X1", "C1", "a")),
        envelope("items-H1", mapped("X2", "C1", "a")),
        envelope("items-H1", mapped("X1", "C2", "b")),
        envelope(
            "items-H1",
            HospitalItemUnmapped(
                institution_code=H1, hospital_item_code="X2", catalogue_code="C1", unmapped_at=AT
            ),
        ),
        envelope("visit-V1", visit("V1", 0)),
        envelope("visit-V2", visit("V2", 1)),
        envelope(
            "visit-V1",
            AdmissionChanged(
                **v1,
                began_at=datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
                medical_type="21",
                department=None,
                principal_diagnosis=None,
                diagnoses=(),
                changed_at=AT,
            ),
        ),
        envelope(
            "visit-V1",
            PatientDischarged(**v1, discharged_on=date(2026, 3, 5), discharged_at=AT),
        ),
        envelope("visit-V1", DischargeCancelled(**v1, cancelled_at=AT)),
        envelope(
            "visit-V2",
            VisitRegistrationCancelled(
                visit_id="V2", person_id="P1", institution_code=H1, cancelled_at=AT
            ),
        ),
        envelope(
            "visit-V1",
            PatientDischarged(**v1, discharged_on=date(2026, 3, 6), discharged_at=AT),
        ),
        envelope("visit-V1", s1),
        envelope("ledger-P1", moved(1, "S1", "V1")),
        envelope("visit-V3", visit("V3", 2)),
        envelope("visit-V1", cancelled("R1", s1)),
        envelope("ledger-P1", moved(2, "R1", "V1")),
        envelope("visit-V3", s3),
    ]
    second = [
        envelope(
            "visit-V1",
            SettlementReinstated(
                **v1, settlement_id="S1", cancellation_id="R1", message_id="M-X1", reinstated_at=AT
            ),
        ),
        envelope("visit-V3", cancelled("R3", s3)),
        envelope("hospital-H1", hospital_updated("甲医院新院", False, None)),
        envelope("ledger-P1", moved(3, "S1", "V1")),
    ]
    return first, second


async def state(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:

        async def rows(*columns: Any) -> list[tuple[Any, ...]]:
            result = await conn.execute(sa.select(*columns).order_by(columns[0]))
            return [tuple(r) for r in result.all()]

        return {
            "hospitals": await rows(
                hospitals.c.institution_code,
                hospitals.c.institution_name,
                hospitals.c.suspended,
                hospitals.c.suspended_until,
                hospitals.c.kind,
            ),
            "catalogue_items": await rows(
                catalogue_items.c.catalogue_code,
                catalogue_items.c.self_pay_ratio,
                catalogue_items.c.price_cap,
            ),
            "hospital_items": await rows(
                hospital_items.c.hospital_item_code,
                hospital_items.c.catalogue_code,
                hospital_items.c.tags,
            ),
            "visits": await rows(
                visits.c.visit_id,
                visits.c.began_at,
                visits.c.medical_type,
                visits.c.discharged_on,
                visits.c.status,
            ),
            "settlements": await rows(
                settlements.c.settlement_id,
                settlements.c.is_refund,
                settlements.c.original_settlement_id,
                settlements.c.cancelled_by,
                settlements.c.account_paid,
                settlements.c.totals["total_fee"].as_integer(),
                settlements.c.business_date,
            ),
            "ledger_movements": await rows(
                ledger_movements.c.sequence,
                ledger_movements.c.movement["account_balance"].as_integer(),
            ),
        }


SEVEN_AM = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
AFTER_FIRST: dict[str, list[tuple[Any, ...]]] = {
    "hospitals": [(H1, "甲医院新院", True, date(2026, 3, 31), "pharmacy")],
    "catalogue_items": [("C1", Decimal("0.1000"), Decimal("12.500000"))],
    "hospital_items": [("X1", "C2", ["b"])],
    "visits": [
        ("V1", SEVEN_AM, "21", date(2026, 3, 6), "settlement_cancelled"),
        ("V2", datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "11", None, "registration_cancelled"),
        ("V3", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "11", None, "settled"),
    ],
    # account paid: a tenth of the fee; a refund's is a tenth of its negative fee
    "settlements": [
        ("R1", True, "S1", None, -10_000, -100_000, ON),
        ("S1", False, None, "R1", 10_000, 100_000, ON),
        ("S3", False, None, None, 2_000, 20_000, ON),
    ],
    "ledger_movements": [(1, -1), (2, -2)],
}
AFTER_SECOND = AFTER_FIRST | {
    "hospitals": [(H1, "甲医院新院", False, None, "pharmacy")],
    "visits": [
        ("V1", SEVEN_AM, "21", date(2026, 3, 6), "settled"),
        ("V2", datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "11", None, "registration_cancelled"),
        ("V3", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "11", None, "settlement_cancelled"),
    ],
    "settlements": [
        ("R1", True, "S1", None, -10_000, -100_000, ON),
        ("R3", True, "S3", None, -2_000, -20_000, ON),
        ("S1", False, None, None, 10_000, 100_000, ON),
        ("S3", False, None, "R3", 2_000, 20_000, ON),
    ],
    "ledger_movements": [(1, -1), (2, -2), (3, -3)],
}


async def test_a_run_of_own_facts_reads_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    for one_by_one in (True, False):
        engine = make_engine(database(bootstrap.MIGRATIONS))
        projection = make_projection()
        try:
            for batch, expected in zip(batches(), (AFTER_FIRST, AFTER_SECOND), strict=True):
                async with engine.begin() as conn:
                    if one_by_one:
                        for env in batch:
                            await projection.apply(conn, env)
                    else:
                        await projection.apply_many(conn, batch)
                assert await state(engine) == expected, f"one by one: {one_by_one}"
        finally:
            await engine.dispose()


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_page_of_settled_visits_costs_the_statements_of_one(
    database: Callable[..., str],
) -> None:
    """A rebuild's page of 300 visits settled, each with its ledger movement: the settlements'
    upsert, the visits' status and the movements' upsert, once each, as for one 2207."""
    engine = make_engine(database(bootstrap.MIGRATIONS))
    projection = make_projection()
    STREAMS.clear()
    page = []
    for i in range(300):
        page.append(envelope(f"visit-V{i}", visit(f"V{i}", 0)))
    try:
        async with engine.begin() as conn:
            await projection.apply_many(conn, page)
        page = []
        for i in range(300):
            page.append(envelope(f"visit-V{i}", settled(f"S{i}", f"V{i}", 1_000 + i)))
            page.append(envelope(f"ledger-P{i}", moved(1, f"S{i}", f"V{i}", f"P{i}")))
        async with engine.begin() as conn:
            with counted(engine) as statements:
                await projection.apply_many(conn, page)
        assert len(statements) == 3
        async with engine.connect() as conn:
            by_status = dict(
                (
                    await conn.execute(
                        sa.select(visits.c.status, sa.func.count()).group_by(visits.c.status)
                    )
                ).all()
            )
            fees = await conn.scalar(
                sa.select(sa.func.sum(settlements.c.totals["total_fee"].as_integer()))
            )
        assert by_status == {"settled": 300}
        # 1,000 + 1,001 + ... + 1,299 fen = 300 * 1,000 + (0 + ... + 299) = 300,000 + 44,850
        assert fees == 344_850
    finally:
        await engine.dispose()
