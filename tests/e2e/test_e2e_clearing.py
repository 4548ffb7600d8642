"""Issue 6 end to end: a month of sandbox traffic reconciled and closed day by day, a clawback
decided by audit, then the month's clearing through to disbursement, with one disputed line held;
issue 22: one net payer late, its receivers paid on the 20th from the prepaid fund, which its cash
repays."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import inpatient, outpatient

pytestmark = pytest.mark.e2e

PERIOD = "2026-03"
APPROVER = ("approver",)
SUZHOU, NANJING, WUXI, SUQIAN, SHANGLUO = "320500", "320100", "320200", "321300", "611000"
VISIT = [
    {"code": "XA001", "cnt": "6", "pric": "45.00", "amount": "270.00"},
    {"code": "T001", "cnt": "1", "pric": "150.00", "amount": "150.00"},
]
STAY = [  # the same drug line twice on the same day: duplicate charging
    {
        "code": "XA001",
        "cnt": "100",
        "pric": "25.50",
        "amount": "2550.00",
        "at": "2026-03-02 10:00:00",
    },
    {
        "code": "XA001",
        "cnt": "100",
        "pric": "25.50",
        "amount": "2550.00",
        "at": "2026-03-02 10:00:00",
    },
    {"code": "T001", "cnt": "2", "pric": "180.00", "amount": "360.00", "at": "2026-03-03 10:00:00"},
]


def at(day: int, hour: int, month: int = 3, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def close_day(world: Any, day: date, settlements: dict[tuple[str, str], int]) -> None:
    """After midnight, once reconciliation holds each pair's settlements of the day: the centre
    issues the day's statements and both agencies of each pair confirm."""
    centre = world.centre("reconciliation")

    def recorded() -> bool:
        rows = centre.ok("GET", "/v1/statements", params={"date": day.isoformat()})["statements"]
        counts = {(r["insured_region"], r["visit_region"]): r["totals"]["count"] for r in rows}
        return all(counts.get(pair) == n for pair, n in settlements.items())

    world.eventually(recorded, what=f"reconciliation to record every settlement of {day}")
    issued = centre.ok("POST", "/v1/days/issue", params={"date": day.isoformat()})
    assert {f"{i}>{v}" for i, v in settlements} <= set(issued["issued"]), issued
    for insured, visit in sorted(settlements):
        path = f"/v1/statements/{insured}/{visit}/{day.isoformat()}"
        world.agency("reconciliation", insured).ok("POST", f"{path}/confirm")
        world.agency("reconciliation", visit).ok("POST", f"{path}/confirm")
        assert world.agency("reconciliation", visit).ok("GET", path)["closed"] is True


def test_a_month_is_cleared_through_to_disbursement(world: Any, sandbox_persons: Any) -> None:
    p = sandbox_persons
    nanjing1, nanjing2, wuxi = (
        world.his("H32010000001"),
        world.his("H32010000002"),
        world.his("H32020000001"),
    )
    settled: list[dict[str, Any]] = []

    # Day 1: outpatients for four pairs; Zhang (Suzhou) is admitted.
    world.clock.set(at(2, 9))
    settled += [
        outpatient(nanjing1, p["2"], VISIT),
        outpatient(nanjing1, p["3"], VISIT),
        outpatient(wuxi, p["5"], VISIT),
        outpatient(nanjing2, p["7"], VISIT),
    ]
    world.clock.set(at(3, 0, minute=30))
    close_day(
        world,
        date(2026, 3, 2),
        {(SUQIAN, NANJING): 1, (SHANGLUO, NANJING): 1, (SUZHOU, WUXI): 1, (SUZHOU, NANJING): 1},
    )

    # Day 2.
    world.clock.set(at(3, 9))
    settled += [
        outpatient(nanjing1, p["8"], VISIT),
        outpatient(wuxi, p["5"], VISIT),
        outpatient(nanjing2, p["7"], VISIT),
    ]
    world.clock.set(at(4, 0, minute=30))
    close_day(
        world, date(2026, 3, 3), {(SHANGLUO, NANJING): 1, (SUZHOU, WUXI): 1, (SUZHOU, NANJING): 1}
    )

    # Day 3: Zhang is discharged and settles the stay that was charged a drug line twice.
    world.clock.set(at(4, 10))
    stay = inpatient(
        nanjing1, p["1"], STAY, admitted=at(2, 9), discharged=at(4, 10), diagnosis="J18.900"
    )
    settled.append(stay)
    world.clock.set(at(5, 0, minute=30))
    close_day(world, date(2026, 3, 4), {(SUZHOU, NANJING): 1})

    # Audit flags the duplicate charge; Nanjing confirms it and claws back 50 yuan.
    reviewer = world.agency("audit", NANJING, user="reviewer-1", roles=("reviewer",))
    case = world.eventually(
        lambda: next(
            (c for c in reviewer.ok("GET", "/v1/cases") if c["person_id"] == p["1"]["psn_no"]), None
        ),
        what="the duplicate-charging case",
    )
    reviewer.ok(
        "POST",
        f"/v1/cases/{case['case_id']}/confirm",
        json={
            "reason": "同一费用重复收费",
            "clawback": {"amount": 5000, "settlement_ids": [stay["setl_id"]]},
        },
    )

    # 4 April: the statement of March.
    world.clock.set(at(4, 10, month=4))  # March's days may be closed until the 3rd
    centre = world.centre("clearing", user="centre-a", roles=APPROVER)

    def inputs_complete() -> dict[str, Any] | None:
        inputs = centre.ok("GET", f"/v1/periods/{PERIOD}/statement/inputs-hash")
        return (
            inputs if (inputs["settlements"], inputs["deductions"]) == (len(settled), 1) else None
        )

    inputs = world.eventually(
        inputs_complete, what="every closed day and the clawback to reach clearing"
    )
    assert inputs["held"] == 0
    expected_hash = inputs["input_hash"]
    statement = centre.ok("POST", f"/v1/periods/{PERIOD}/statement")
    assert statement["input_hash"] == expected_hash
    assert (
        centre.ok("POST", f"/v1/periods/{PERIOD}/statement")["input_hash"] == expected_hash
    )  # rerun: same
    lines = {(ln["payer_agency"], ln["receiver_agency"]): ln for ln in statement["lines"]}
    assert set(lines) == {(SUQIAN, NANJING), (SHANGLUO, NANJING), (SUZHOU, WUXI), (SUZHOU, NANJING)}
    assert [pt["clawed_back"] for pt in lines[(SUZHOU, NANJING)]["parts"] if pt["clawed_back"]] == [
        5000
    ]
    fund_and_account = sum(_fen(s["fund_pay_sumamt"]) + _fen(s["acct_pay"]) for s in settled)
    assert sum(ln["amount"] for ln in lines.values()) == fund_and_account - 5000

    # Each agency confirms its lines; Wuxi disputes the one it receives from Suzhou.
    disputed = lines[(SUZHOU, WUXI)]["line_id"]
    world.agency("clearing", WUXI).ok(
        "POST",
        f"/v1/periods/{PERIOD}/lines/{disputed}/dispute",
        json={"reason": "金额与本地记录不符"},
    )
    for (payer, receiver), line in lines.items():
        for agency in (payer, receiver):
            if line["line_id"] != disputed:
                world.agency("clearing", agency).ok(
                    "POST", f"/v1/periods/{PERIOD}/lines/{line['line_id']}/confirm"
                )

    # Four eyes: the same person cannot approve twice; a second approver completes it.
    centre.ok("POST", f"/v1/periods/{PERIOD}/approvals")
    assert centre.request("POST", f"/v1/periods/{PERIOD}/approvals").status_code == 403
    world.centre("clearing", user="centre-b", roles=APPROVER).ok(
        "POST", f"/v1/periods/{PERIOD}/approvals"
    )

    positions = {
        x["agency"]: x["net"]
        for x in centre.ok("POST", f"/v1/periods/{PERIOD}/net-positions")["positions"]
    }
    assert sum(positions.values()) == 0
    held_out = {k: v for k, v in lines.items() if v["line_id"] != disputed}
    for agency, net in positions.items():
        receivable = sum(ln["amount"] for (_, r), ln in held_out.items() if r == agency)
        payable = sum(ln["amount"] for (pa, _), ln in held_out.items() if pa == agency)
        assert net == receivable - payable, agency
    assert WUXI not in positions or positions[WUXI] == 0  # its only line is held

    # Net payers remit (one in two parts); the centre disburses what arrived, four eyes.
    for agency, net in sorted(positions.items()):
        if net < 0 and agency == SUZHOU and -net > 1:
            centre.ok(
                "POST",
                f"/v1/periods/{PERIOD}/remittances",
                json={
                    "agency": agency,
                    "bank_reference": f"{agency}-1",
                    "amount": -net // 2,
                    "received_on": "2026-04-14",
                },
            )
            centre.ok(
                "POST",
                f"/v1/periods/{PERIOD}/remittances",
                json={
                    "agency": agency,
                    "bank_reference": f"{agency}-2",
                    "amount": -net - (-net // 2),
                    "received_on": "2026-04-15",
                },
            )
        elif net < 0 and agency != SHANGLUO:  # Shangluo is late: nothing by the 15th
            centre.ok(
                "POST",
                f"/v1/periods/{PERIOD}/remittances",
                json={
                    "agency": agency,
                    "bank_reference": f"{agency}-1",
                    "amount": -net,
                    "received_on": "2026-04-15",
                },
            )
    # The prepaid fund (Q4 of 10,000 yuan a month x 2 = 2,000,000 fen) pays for Shangluo on the
    # disbursement day, so every receiver is paid in full and on time.
    late = -positions[SHANGLUO]
    assert late > 0
    fund = centre.ok("POST", "/v1/prepaid-fund", json={"q4_monthly_amounts": [1_000_000] * 3})
    assert (fund["size"], fund["level"]) == (2_000_000, 2_000_000)
    assert centre.ok("GET", "/v1/ledger/trial-balance")["total"] == 0
    world.clock.set(at(20, 10, month=4))
    assert centre.ok("GET", f"/v1/periods/{PERIOD}/cash")["late"] == [SHANGLUO]
    for agency, net in sorted(positions.items()):
        if net > 0:
            centre.ok(
                "POST",
                f"/v1/periods/{PERIOD}/disbursements",
                json={"disbursement_id": f"D-{agency}", "agency": agency, "amount": net},
            )
            assert (
                centre.request(
                    "POST", f"/v1/periods/{PERIOD}/disbursements/D-{agency}/approve"
                ).status_code
                == 403
            )
            world.centre("clearing", user="centre-b", roles=APPROVER).ok(
                "POST", f"/v1/periods/{PERIOD}/disbursements/D-{agency}/approve"
            )
            assert centre.ok("GET", "/v1/ledger/trial-balance")["total"] == 0
    used = centre.ok("GET", "/v1/prepaid-fund")
    assert (used["level"], used["advanced_by_period"]) == (2_000_000 - late, {PERIOD: late})
    assert used["warning"] == "green"  # two outpatient visits' fund money of a 20,000-yuan fund

    # 22 April: Shangluo's cash arrives and repays the fund.
    world.clock.set(at(22, 10, month=4))
    centre.ok(
        "POST",
        f"/v1/periods/{PERIOD}/remittances",
        json={
            "agency": SHANGLUO,
            "bank_reference": f"{SHANGLUO}-1",
            "amount": late,
            "received_on": "2026-04-22",
        },
    )
    repaid = centre.ok("GET", "/v1/prepaid-fund")
    assert (repaid["level"], repaid["in_use"], repaid["warning"]) == (2_000_000, 0, "green")
    cash = {a["agency"]: a for a in centre.ok("GET", f"/v1/periods/{PERIOD}/cash")["agencies"]}
    assert cash[SHANGLUO]["late"] is False  # nothing outstanding any more
    for agency, net in positions.items():
        if net < 0:
            assert (cash[agency]["received"], cash[agency]["outstanding"]) == (-net, 0)
        if net > 0:
            assert cash[agency]["disbursed"] == net

    trial = centre.ok("GET", "/v1/ledger/trial-balance")
    assert trial["total"] == 0
    assert trial["debits"] == trial["credits"] > 0
    # Every period account is back at zero; the fund holds what was set aside.
    assert {a: b for a, b in trial["accounts"].items() if b} == {
        "prepaid_fund": 2_000_000,
        "prepaid_fund_capital": -2_000_000,
    }


def _fen(yuan: str) -> int:
    from yidi_events.kernel import yuan_to_fen

    return yuan_to_fen(yuan)
