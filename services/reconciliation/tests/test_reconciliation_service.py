"""A day of settlements through the real broker and database: hospital totals and detail, agency
confirmation, disputes, the day close, late settlements and rebuilds."""

from __future__ import annotations

import base64
from datetime import datetime, time, timedelta
from typing import Any

from reconciliation_testkit import (
    DAY,
    NANJING,
    SUQIAN,
    SUZHOU,
    Service,
    scope,
    unzipped_rows,
    zipped,
)

from yidi_events.kernel import SHANGHAI
from yidi_events.runtime.projection import rebuild_from_store

TOTALS = "hospital.reconcile_totals"
PAIR = f"/v1/statements/{SUZHOU}/{NANJING}/{DAY.isoformat()}"


def totals_request(**changes: Any) -> dict[str, Any]:
    # S1 + S2 + S3 + C2 (S2's cancellation) of the employee scheme: 4 records.
    claim = {
        "scope": scope(),
        "count": 4,
        "total_fee": 50_000,
        "fund_total": 35_000,
        "account_paid": 5_000,
    }
    return claim | changes


async def a_day(service: Service) -> None:
    s = service.settlement
    await s.settle("S1", total_fee=10000, fund_total=7000, account_paid=1000)
    await s.settle("S2", total_fee=20000, fund_total=14000, account_paid=2000)
    await s.settle("S3", total_fee=40000, fund_total=28000, account_paid=4000)
    await s.cancel("C2", "S2")
    await s.settle(
        "Q1",
        insured_region=SUQIAN,
        insurance_type="390",
        total_fee=5000,
        fund_total=3000,
        account_paid=0,
    )
    await service.deliver()


async def test_hospital_totals_balance_only_with_the_right_figures(service: Service) -> None:
    await a_day(service)

    right = await service.his(TOTALS, totals_request())
    assert right.status_code == 200, right.text
    assert right.json()["result"]["balanced"] is True

    wrong = await service.his(TOTALS, totals_request(total_fee=51_000))
    result = wrong.json()["result"]
    assert result["balanced"] is False
    # Only the total differs, so only the total is told.
    assert result["differences"] == [
        {"figure": "total_fee", "platform": 50_000, "hospital": 51_000}
    ]

    # Without the cancellations: S1 + S2 + S3.
    without = await service.his(
        TOTALS,
        totals_request(
            scope=scope(include_refunds=False),
            total_fee=70_000,
            fund_total=49_000,
            account_paid=7_000,
            count=3,
        ),
    )
    assert without.json()["result"]["balanced"] is True


async def test_detail_file_finds_what_the_hospital_left_out_and_altered(service: Service) -> None:
    await a_day(service)
    rows = [
        ("S1", "V-S1", f"P{SUZHOU}S1", "100.00", "69.00", "10.00", "0"),  # altered fund
        ("S2", "V-S2", f"P{SUZHOU}S2", "200.00", "140.00", "20.00", "0"),
        ("C2", "V-S2", f"P{SUZHOU}S2", "-200.00", "-140.00", "-20.00", "1"),
        ("Q1", "V-Q1", f"P{SUQIAN}Q1", "50.00", "30.00", "0.00", "0"),
        ("X9", "V-X9", "PX", "12.00", "1.00", "0.00", "0"),  # never settled on the platform
        # S3 left out
    ]
    upload = await service.his(
        "hospital.upload_file",
        {"filename": "d.zip", "content": base64.b64encode(zipped(rows)).decode()},
    )
    assert upload.status_code == 200, upload.text
    number = upload.json()["result"]["file_query_no"]

    detail = await service.his(
        "hospital.reconcile_details",
        {
            "scope": scope(insurance_type=None, clearing_category=None),
            "file_query_no": number,
        },
    )
    assert detail.status_code == 200, detail.text
    info = detail.json()["result"]

    # Another hospital cannot fetch it.
    download_it = {"file_query_no": info["file_query_no"]}
    other = await service.his("hospital.download_file", download_it, institution="H32010000002")
    assert other.status_code == 404

    download = await service.his("hospital.download_file", download_it)
    result = unzipped_rows(download.json()["result"]["content"])
    outcome = {sid: (r["stmt_rslt"], r["memo"].split(":")[0]) for sid, r in result.items()}
    assert outcome == {
        "S1": ("1", "amount_mismatch"),
        "S2": ("0", "matched"),
        "C2": ("0", "matched"),
        "Q1": ("0", "matched"),
        "S3": ("1", "missing_at_hospital"),
        "X9": ("1", "missing_on_platform"),
    }
    assert "fund_total: platform 70.00, hospital 69.00" in result["S1"]["memo"]
    assert result["S1"]["fund_pay_sumamt"] == "70.00"  # the platform's figures


async def test_agencies_confirm_dispute_close_and_reopen_on_a_late_settlement(
    service: Service,
) -> None:
    await a_day(service)
    suzhou, nanjing, suqian = (service.as_agency(r) for r in (SUZHOU, NANJING, SUQIAN))
    centre = service.as_agency("320000", kind="centre")

    early = await service.http.post(f"{PAIR}/confirm", headers=suzhou)
    assert (early.status_code, early.json()["error"]["rule"]) == (409, "reconciliation.not_issued")
    too_soon = await service.http.post(f"/v1/days/issue?date={DAY}", headers=centre)
    assert too_soon.json()["error"]["rule"] == "reconciliation.day_not_over"
    not_operator = await service.http.post(f"/v1/days/issue?date={DAY}", headers=suzhou)
    assert not_operator.status_code == 403

    service.clock.set(datetime.combine(DAY + timedelta(days=1), time(8), SHANGHAI))
    issued = await service.http.post(f"/v1/days/issue?date={DAY}", headers=centre)
    assert sorted(issued.json()["issued"]) == [f"{SUZHOU}>{NANJING}", f"{SUQIAN}>{NANJING}"]

    # A third agency neither reads nor confirms the pair, nor sees it listed.
    for call in (
        service.http.get(PAIR, headers=suqian),
        service.http.post(f"{PAIR}/confirm", headers=suqian),
    ):
        refused = await call
        assert (refused.status_code, refused.json()["error"]["rule"]) == (
            403,
            "reconciliation.not_party",
        )
    listed = await service.http.get(f"/v1/statements?date={DAY}", headers=suqian)
    assert [s["pair"] for s in listed.json()["statements"]] == [f"{SUQIAN}>{NANJING}"]

    statement = (await service.http.get(PAIR, headers=nanjing)).json()
    assert statement["totals"] == {
        "count": 4,
        "total_fee": 50000,
        "fund_total": 35000,
        "account_paid": 5000,
        "cash_paid": 10000,
    }

    blank = await service.http.post(
        f"{PAIR}/disputes", headers=suzhou, json={"settlement_id": "S3", "reason": "  "}
    )
    assert blank.json()["error"]["field"] == "reason"
    disputed = await service.http.post(
        f"{PAIR}/disputes",
        headers=suzhou,
        json={"settlement_id": "S3", "reason": "not our insured"},
    )
    assert disputed.status_code == 200, disputed.text

    await service.http.post(f"{PAIR}/confirm", headers=suzhou)
    closing = await service.http.post(f"{PAIR}/confirm", headers=nanjing)
    closed = closing.json()
    assert [e["event_type"] for e in closing.json()["events"]] == [
        "reconciliation.DayConfirmed",
        "reconciliation.DayClosed",
    ]
    close = closing.json()["events"][1]["payload"]
    assert sorted(s["settlement_id"] for s in close["settlements"]) == ["C2", "S1", "S2"]
    assert close["held_settlement_ids"] == ["S3"]
    assert close["totals"]["employee"]["fund_total"] == 7000  # S3 (28000) stays out
    assert closed["statement"]["closed"] is True
    assert closed["statement"]["cleared_totals"]["fund_total"] == 7000

    days_closed = await service.http.get("/v1/days/closed", headers=suzhou)
    assert [d["pair"] for d in days_closed.json()["days"]] == [f"{SUZHOU}>{NANJING}"]

    # Only the disputing agency withdraws its dispute; then S3 is released into clearing.
    overruled = await service.http.post(f"{PAIR}/disputes/S3/accept", headers=nanjing)
    assert overruled.status_code == 403
    accepted = await service.http.post(f"{PAIR}/disputes/S3/accept", headers=suzhou)
    assert [e["event_type"] for e in accepted.json()["events"]] == [
        "reconciliation.DisputeResolved",
        "reconciliation.DisputedSettlementReleased",
    ]
    assert accepted.json()["statement"]["cleared_totals"]["fund_total"] == 35000

    # A late settlement of that day updates it and reopens the confirmation.
    await service.settlement.settle("S4", total_fee=3000, fund_total=2000, account_paid=0)
    await service.deliver()
    reopened = (await service.http.get(PAIR, headers=suzhou)).json()
    assert (reopened["closed"], reopened["confirmed_by"]) == (False, [])
    assert reopened["totals"]["count"] == 5
    late_totals = await service.his(
        TOTALS, totals_request(total_fee=53_000, fund_total=37_000, count=5)
    )
    assert late_totals.json()["result"]["balanced"] is True

    await service.http.post(f"{PAIR}/confirm", headers=suzhou)
    again = (await service.http.post(f"{PAIR}/confirm", headers=nanjing)).json()
    reclose = again["events"][-1]["payload"]
    assert (reclose["close_number"], [s["settlement_id"] for s in reclose["settlements"]]) == (
        2,
        ["S4"],
    )

    published = await service.own_events()
    types = [e.event_type for e in published if e.partition_key == f"{SUZHOU}>{NANJING}"]
    assert types.count("reconciliation.DayClosed") == 2
    assert "reconciliation.DayReopened" in types
    assert "reconciliation.DisputedSettlementReleased" in types

    # The Suqian day was never confirmed: late once its month's deadline (3 April) has passed.
    late = await service.http.get("/v1/days/late?as_of=2026-04-04", headers=centre)
    assert [d["pair"] for d in late.json()["late"]] == [f"{SUQIAN}>{NANJING}"]
    on_time = await service.http.get("/v1/days/late?as_of=2026-04-03", headers=centre)
    assert on_time.json()["late"] == []


async def test_a_cancellation_on_another_day_reverses_the_disputed_original(
    service: Service,
) -> None:
    await a_day(service)
    suzhou = service.as_agency(SUZHOU)
    service.clock.set(datetime.combine(DAY + timedelta(days=1), time(8), SHANGHAI))
    await service.http.post(
        f"/v1/days/issue?date={DAY}", headers=service.as_agency("320000", kind="centre")
    )
    await service.http.post(
        f"{PAIR}/disputes", headers=suzhou, json={"settlement_id": "S1", "reason": "duplicate"}
    )
    await service.settlement.cancel("C1", "S1", day=DAY + timedelta(days=1))
    await service.deliver()
    original = (await service.http.get(PAIR, headers=suzhou)).json()
    assert original["disputes"] == [
        {"settlement_id": "S1", "raised_by": SUZHOU, "reason": "duplicate", "status": "reversed"}
    ]
    next_day = (
        await service.http.get(
            f"/v1/statements/{SUZHOU}/{NANJING}/{DAY + timedelta(days=1)}", headers=suzhou
        )
    ).json()
    assert [s["settlement_id"] for s in next_day["settlements"]] == ["C1"]


async def test_projections_rebuilt_from_scratch_equal_the_live_ones(service: Service) -> None:
    await a_day(service)
    await service.settlement.settle("S5", day=DAY + timedelta(days=1))
    await service.settlement.cancel("C5", "S5", day=DAY + timedelta(days=1))
    await service.deliver()
    consumer = service.runtime.consumers[0]
    engine = service.runtime.engine
    async with engine.connect() as conn:
        live = await consumer.projection.snapshot(conn)
        live_days = await service.day_views.snapshot(conn)
    assert len(live["settlement_records"]) == 7
    await consumer.rebuild()
    await rebuild_from_store(engine, service.runtime.store, service.day_views)
    async with engine.connect() as conn:
        assert await consumer.projection.snapshot(conn) == live
        assert await service.day_views.snapshot(conn) == live_days


async def test_a_2601_reversal_leaves_the_hospital_totals_and_nets_out_the_day(
    service: Service,
) -> None:
    await a_day(service)
    await service.settlement.settle("S6", total_fee=9900, fund_total=5000, account_paid=0)
    await service.settlement.reverse("S6")
    await service.deliver()
    # The hospital never had S6: the totals of the day are those without it.
    balanced = await service.his(TOTALS, totals_request())
    assert balanced.json()["result"]["balanced"] is True
    statement = (await service.http.get(PAIR, headers=service.as_agency(NANJING))).json()
    assert {s["settlement_id"] for s in statement["settlements"]} >= {"S6", "S6.reversed"}
    assert statement["totals"]["fund_total"] == 35000  # S6 and its negative record net out


async def test_a_2601_reversal_as_settlement_emits_it_counts_the_money_back_once(
    service: Service,
) -> None:
    # The settlement service undoes a reversed 2207 with a negative record (SettlementCancelled)
    # and marks it as a 2601 (SettlementReversed) in the same transaction.
    await a_day(service)
    await service.settlement.settle("S7", total_fee=9900, fund_total=5000, account_paid=0)
    await service.settlement.cancel("S7-C", "S7")
    await service.settlement.reverse("S7")
    await service.deliver()
    balanced = await service.his(TOTALS, totals_request())
    assert balanced.json()["result"]["balanced"] is True  # neither record counts
    statement = (await service.http.get(PAIR, headers=service.as_agency(NANJING))).json()
    negatives = [
        s["settlement_id"] for s in statement["settlements"] if s["settlement_id"].startswith("S7")
    ]
    assert sorted(negatives) == ["S7", "S7-C"]  # one negative record, not two
    assert statement["totals"]["fund_total"] == 35000


async def test_a_2601_of_a_cancellation_counts_the_settlement_once_again(service: Service) -> None:
    # 2208 of S8, then 2601 of that 2208: the settlement stands again. The hospital holds S8
    # alone (5 records, 99.00 more); the agencies' day nets S8, its cancellation and the undoing
    # of the cancellation to S8 once: 350.00 + 50.00 of fund.
    await a_day(service)
    await service.settlement.settle("S8", total_fee=9900, fund_total=5000, account_paid=0)
    await service.settlement.cancel("S8-C", "S8")
    await service.settlement.reverse_cancellation("S8-C", "S8")
    await service.deliver()
    claim = totals_request(count=5, total_fee=59_900, fund_total=40_000)
    balanced = await service.his(TOTALS, claim)
    assert balanced.json()["result"]["balanced"] is True, balanced.json()
    statement = (await service.http.get(PAIR, headers=service.as_agency(NANJING))).json()
    assert statement["totals"]["fund_total"] == 40_000


def _queue(metrics: str, gauge: str, region: str) -> float:
    for line in metrics.splitlines():
        if (
            line.startswith(f"{gauge}{{")
            and f'region="{region}"' in line
            and ('service="reconciliation"' in line and 'queue="days_to_confirm"' in line)
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {gauge} for {region}")


async def test_each_agencys_days_to_confirm_and_the_late_ones_are_metrics(
    service: Service,
) -> None:
    await a_day(service)
    service.clock.set(datetime.combine(DAY + timedelta(days=1), time(8), SHANGHAI))
    centre = service.as_agency("320000", kind="centre")
    await service.http.post(f"/v1/days/issue?date={DAY}", headers=centre)

    async def scrape() -> str:
        return (await service.http.get("/metrics")).text

    # Two pairs issued: Suzhou>Nanjing and Suqian>Nanjing. Each insured agency has its one day to
    # confirm; Nanjing, the visit agency of both, has two.
    metrics = await scrape()
    waiting = {r: _queue(metrics, "yidi_queue_waiting", r) for r in (SUZHOU, SUQIAN, NANJING)}
    assert waiting == {SUZHOU: 1, SUQIAN: 1, NANJING: 2}
    assert _queue(metrics, "yidi_queue_overdue", NANJING) == 0

    await service.http.post(f"{PAIR}/confirm", headers=service.as_agency(SUZHOU))
    metrics = await scrape()
    assert _queue(metrics, "yidi_queue_waiting", SUZHOU) == 0  # drained, still reported
    assert _queue(metrics, "yidi_queue_waiting", NANJING) == 2

    # March's days close by 3 April: on the 4th what is still unconfirmed is late.
    service.clock.set(datetime(2026, 4, 4, 9, tzinfo=SHANGHAI))
    metrics = await scrape()
    overdue = {r: _queue(metrics, "yidi_queue_overdue", r) for r in (SUZHOU, SUQIAN, NANJING)}
    assert overdue == {SUZHOU: 0, SUQIAN: 1, NANJING: 2}
