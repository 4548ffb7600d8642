"""Issue 22 end to end, the audit half: sanctions that bite as the seeds say.

- On suspicion the visit place suspends a person's direct settlement at once, pending the case
  (seed 003 §七, seed 000 §六(二)): the next 2207 at any hospital, of visits begun the day
  before, is refused naming the suspension; the insured place and the provincial centre received the report; the case
  dismissed lifts it and the same 2207 then settles.
- A sanction on one department of a hospital refuses that department's visits only.
- The visit place's fee review deducts fund money of a settlement line by line: published as
  `audit.FeeDeductionDecided` and seen by the insured place and the centre.
- Every projection of audit, settlement and filing rebuilt from scratch equals the live one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from yidi_cli.his import HisClient, HisError
from yidi_events.kernel import yuan_to_fen
from yidi_events.kernel.time import SHANGHAI
from yidi_events.runtime.rebuilds import projections, rebuild
from yidi_stack.flows import inpatient, registered_outpatient
from yidi_stack.infra import run_sync

pytestmark = pytest.mark.e2e

SUZHOU, NANJING = "320500", "320100"
# The same item twice on one day in one visit: duplicate charging (重复收费), a case at once.
DOUBLED = [
    {"code": "XA001", "cnt": "2", "pric": "25.50", "amount": "51.00"},
    {"code": "XA001", "cnt": "2", "pric": "25.50", "amount": "51.00"},
]
VISIT = [{"code": "XA001", "cnt": "2", "pric": "25.50", "amount": "51.00"}]


def at(day: int, month: int = 3, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def settle(his: HisClient, person: dict[str, str], prepared: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = his.call("2207", prepared, person["insuplc_admdvs"])
    return answer


def test_a_suspicion_suspends_at_once_reports_to_both_and_a_dismissal_lifts_it(
    world: Any, sandbox_persons: Any
) -> None:
    zhou = sandbox_persons["7"]  # Suzhou employee, long-term filing in Nanjing
    first, second = world.his("H32010000001"), world.his("H32010000002")
    world.clock.set(at(9, hour=9))
    settle(first, zhou, registered_outpatient(first, zhou, DOUBLED))
    # Two visits begun and charged the day before the suspicion, at two Nanjing hospitals.
    waiting = [
        (first, registered_outpatient(first, zhou, VISIT)),
        (second, registered_outpatient(second, zhou, VISIT)),
    ]

    world.clock.set(at(10, hour=9))
    reviewer = world.agency("audit", NANJING, user="reviewer-1", roles=("reviewer",))
    case = world.eventually(
        lambda: next(
            (
                c
                for c in reviewer.ok("GET", "/v1/cases")
                if c["person_id"] == zhou["psn_no"] and c["rule_id"] == "audit.duplicate_charging"
            ),
            None,
        ),
        what="the duplicate-charging case",
    )
    suspected = reviewer.ok(
        "POST",
        f"/v1/cases/{case['case_id']}/suspicion",
        json={"suspicion": "同一就诊重复收费,涉嫌违规"},
    )
    (report,) = suspected["suspicion_reports"]
    # Tuesday 10 March 2026 plus ten working days, no holiday between: Tuesday 24 March.
    assert (report["reported_on"], report["review_by"]) == ("2026-03-10", "2026-03-24")

    # At once: once the fact has reached settlement (nothing in flight), the next 2207 at either
    # hospital is refused, in Chinese, naming the suspension.
    world.quiet()
    for his, prepared in waiting:
        with pytest.raises(HisError) as refused:
            settle(his, zhou, prepared)
        assert refused.value.answer["infcode"] == -1
        message = str(refused.value.answer["err_msg"])
        assert "异地直接结算已暂停" in message
        assert "2026-03-24" in message
        assert "eligibility.direct_settlement_suspended" in message

    # The insured place and the centre received the report; Wuxi, not involved, did not.
    for reader in (world.agency("audit", SUZHOU), world.centre("audit")):
        (seen,) = reader.ok("GET", f"/v1/suspicion-reports?person_id={zhou['psn_no']}")
        assert (seen["case_id"], seen["centre_region"]) == (case["case_id"], "320000")
        assert (seen["visit_region"], seen["insured_region"]) == (NANJING, SUZHOU)
        assert seen["suspicion"] == "同一就诊重复收费,涉嫌违规"
        assert seen["evidence"]
    assert world.agency("audit", "320200").ok("GET", "/v1/suspicion-reports") == []

    # The case dismissed lifts the suspension: the same 2207 then settles.
    world.clock.set(at(11, hour=9))
    reviewer.ok("POST", f"/v1/cases/{case['case_id']}/dismiss", json={"reason": "收费系统重复上传"})

    world.quiet()
    for his, prepared in waiting:
        assert settle(his, zhou, prepared)["setlinfo"]["psn_no"] == zhou["psn_no"]


def case_of(world: Any, reviewer: Any, person: dict[str, str], rule: str) -> dict[str, Any]:
    found: dict[str, Any] = world.eventually(
        lambda: next(
            (
                c
                for c in reviewer.ok("GET", "/v1/cases")
                if c["person_id"] == person["psn_no"] and c["rule_id"] == rule
            ),
            None,
        ),
        what=f"the {rule} case",
    )
    return found


def register(his: HisClient, person: dict[str, str], department: str) -> dict[str, Any]:
    now = his.clock.now().astimezone(SHANGHAI)
    answer: dict[str, Any] = his.call(
        "2201",
        {
            "data": {
                "psn_no": person["psn_no"],
                "insutype": person["insutype"],
                "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": person["certno"],
                "ipt_otp_no": f"OP{his.last_message_id[-8:]}",
                "dept_code": department,
                "dept_name": "科室",
            }
        },
        person["insuplc_admdvs"],
    )
    return answer


def test_a_sanction_on_one_department_refuses_that_departments_visits_only(
    world: Any, sandbox_persons: Any
) -> None:
    zhang, wang = sandbox_persons["1"], sandbox_persons["3"]  # both filed to Nanjing
    his = world.his("H32010000001")
    world.clock.set(at(12, hour=9))
    settle(his, zhang, registered_outpatient(his, zhang, DOUBLED))  # department A01
    reviewer = world.agency("audit", NANJING, user="reviewer-1", roles=("reviewer",))
    case = case_of(world, reviewer, zhang, "audit.duplicate_charging")
    confirmed = reviewer.ok(
        "POST",
        f"/v1/cases/{case['case_id']}/confirm",
        json={
            "reason": "内科重复收费",
            "suspend": {"kind": "department", "department": "A01", "months": 6},
        },
    )
    (sanction,) = confirmed["suspensions"]
    # Six months from Thursday 12 March: the last day is 11 September.
    assert (sanction["kind"], sanction["department"], sanction["suspended_until"]) == (
        "department",
        "A01",
        "2026-09-11",
    )
    world.quiet()

    with pytest.raises(HisError) as refused:
        register(his, wang, "A01")
    message = str(refused.value.answer["err_msg"])
    assert message.startswith("dept_code：")
    assert "eligibility.department_suspended" in message
    assert "科室 A01" in message
    # Another department of the same hospital, and the same department elsewhere, register.
    assert register(his, wang, "B02")["data"]["mdtrt_id"]
    assert register(world.his("H32010000002"), wang, "A01")["data"]["mdtrt_id"]


def test_the_fee_review_deducts_the_fund_money_of_a_line_and_both_places_see_it(
    world: Any, sandbox_persons: Any
) -> None:
    wang = sandbox_persons["3"]  # a resident of 611000 with a temporary filing to Nanjing
    his = world.his("H32010000002")
    world.clock.set(at(13, hour=9))
    stay = [
        {"code": "XA001", "cnt": "100", "pric": "25.50", "amount": "2550.00"},
        {"code": "T001", "cnt": "2", "pric": "180.00", "amount": "360.00"},
        {"code": "B001", "cnt": "3", "pric": "60.00", "amount": "180.00"},
    ]
    # An admission: past the deductible, so the funds pay on its lines.
    setlinfo = inpatient(
        his, wang, stay, admitted=at(10), discharged=at(13, hour=9), diagnosis="K35.800"
    )
    settlement_id = setlinfo["setl_id"]
    officer = world.agency("audit", NANJING, user="officer-1", roles=("reviewer",))
    view = world.eventually(
        lambda: (
            r.json()
            if (
                r := officer.request("GET", f"/v1/fee-review/settlements/{settlement_id}")
            ).is_success
            else None
        ),
        what="the settlement in audit",
    )
    fund_total = yuan_to_fen(str(setlinfo["fund_pay_sumamt"]))
    assert view["fund_total"] == fund_total
    assert [x["amount"] for x in view["lines"]] == [255_000, 36_000, 18_000]
    carried = {x["fee_line_id"]: x["fund_carried"] for x in view["lines"]}
    assert sum(carried.values()) == fund_total  # the shares add up to the fund total exactly
    assert carried["2"] > 0

    deduction = {
        "reference": "FR-001",
        "lines": [{"fee_line_id": "2"}],
        "reason": "无医嘱收费",
        "evidence": "病历第3页无医嘱",
    }
    path = f"/v1/fee-review/settlements/{settlement_id}/deductions"
    decided = officer.ok("POST", path, json=deduction)
    assert (decided["amount"], decided["source"]) == (carried["2"], "fee_review")
    assert officer.ok("POST", path, json=deduction) == decided  # a retry: the same answer
    twice = officer.request("POST", path, json={**deduction, "reference": "FR-002"})
    assert twice.status_code == 409
    assert twice.json()["error"]["rule"] == "audit.fee_review.line_already_deducted"

    for reader in (world.agency("audit", "611000"), world.centre("audit")):
        (seen,) = reader.ok("GET", f"/v1/fee-deductions?settlement_id={settlement_id}")
        assert (seen["deduction_id"], seen["amount"]) == (decided["deduction_id"], carried["2"])


def test_every_projection_of_audit_settlement_and_filing_equals_a_fold_of_the_stores(
    world: Any,
) -> None:
    world.quiet()

    async def differing(service: str) -> list[str]:
        runtime = world.platform.runtime(service)
        found_differing = []
        try:
            for found in projections(runtime):
                async with runtime.engine.connect() as conn:
                    live = await found.projection.snapshot(conn)
                await rebuild(runtime, found)
                async with runtime.engine.connect() as conn:
                    if await found.projection.snapshot(conn) != live:
                        found_differing.append(found.name)
        finally:
            await runtime.engine.dispose()
        return found_differing

    assert [n for s in ("audit", "settlement", "filing") for n in run_sync(differing(s))] == []
