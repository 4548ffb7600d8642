"""Issue 22 end to end, the audit half: sanctions that bite as the seeds say.

- On suspicion the visit place suspends a person's direct settlement at once, pending the case
  (seed 003 §七, seed 000 §六(二)): the next 2207 at any hospital is refused naming the
  suspension; the insured place and the provincial centre received the report; the case
  dismissed lifts it and the same 2207 then settles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from yidi_cli.his import HisClient, HisError
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import registered_outpatient

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
    world.clock.set(at(10, hour=9))
    settle(first, zhou, registered_outpatient(first, zhou, DOUBLED))
    # Two visits registered and charged before the suspicion, at two Nanjing hospitals.
    waiting = [
        (first, registered_outpatient(first, zhou, VISIT)),
        (second, registered_outpatient(second, zhou, VISIT)),
    ]

    reviewer = world.agency("audit", NANJING, user="reviewer-1", roles=("reviewer",))
    case = world.eventually(
        lambda: next(
            (
                c
                for c in reviewer.ok("GET", "/cases")
                if c["person_id"] == zhou["psn_no"] and c["rule_id"] == "audit.duplicate_charging"
            ),
            None,
        ),
        what="the duplicate-charging case",
    )
    suspected = reviewer.ok(
        "POST",
        f"/cases/{case['case_id']}/suspicion",
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
        (seen,) = reader.ok("GET", f"/suspicion-reports?person_id={zhou['psn_no']}")
        assert (seen["case_id"], seen["centre_region"]) == (case["case_id"], "320000")
        assert (seen["visit_region"], seen["insured_region"]) == (NANJING, SUZHOU)
        assert seen["suspicion"] == "同一就诊重复收费,涉嫌违规"
        assert seen["evidence"]
    assert world.agency("audit", "320200").ok("GET", "/suspicion-reports") == []

    # The case dismissed lifts the suspension: the same 2207 then settles.
    world.clock.set(at(11, hour=9))
    reviewer.ok("POST", f"/cases/{case['case_id']}/dismiss", json={"reason": "收费系统重复上传"})

    world.quiet()
    for his, prepared in waiting:
        assert settle(his, zhou, prepared)["setlinfo"]["psn_no"] == zhou["psn_no"]
