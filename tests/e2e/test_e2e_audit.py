"""Issue 7 end to end: a split hospitalization settled through the gateway raises a flag; the case
is confirmed with a suspension and a clawback; the person's next direct settlement is refused until
the suspension ends; the clawback is deducted in the next clearing statement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from yidi_cli.his import HisError
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import inpatient, outpatient

pytestmark = pytest.mark.e2e

SUZHOU, NANJING = "320500", "320100"
STAY = [
    {"code": "XA001", "cnt": "100", "pric": "25.50", "amount": "2550.00"},
    {"code": "T001", "cnt": "2", "pric": "180.00", "amount": "360.00"},
    {"code": "B001", "cnt": "3", "pric": "60.00", "amount": "180.00"},
]
VISIT = [{"code": "XA001", "cnt": "2", "pric": "25.50", "amount": "51.00"}]


def at(day: int, month: int = 3, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def test_a_split_stay_is_flagged_sanctioned_refused_and_clawed_back(
    world: Any, sandbox_persons: Any
) -> None:
    his = world.his("H32010000001")
    zhou = sandbox_persons["7"]  # Suzhou employee, long-term filing in Nanjing

    world.clock.set(at(5, hour=10))
    first = inpatient(
        his, zhou, STAY, admitted=at(2), discharged=at(5, hour=10), diagnosis="K35.800"
    )
    world.clock.set(at(15, hour=10))
    second = inpatient(
        his, zhou, STAY, admitted=at(12), discharged=at(15, hour=10), diagnosis="K35.900"
    )

    reviewer = world.agency("audit", NANJING, user="reviewer-1", roles=("reviewer",))
    case = world.eventually(
        lambda: next(
            (c for c in reviewer.ok("GET", "/v1/cases") if c["person_id"] == zhou["psn_no"]), None
        ),
        what="the split-hospitalization case",
    )
    assert case["status"] == "open"
    assert "split" in case["rule_id"]
    evidence = str(case["evidence"])
    assert first["setl_id"] in evidence
    assert second["setl_id"] in evidence
    assert world.agency("audit", "320200").ok("GET", "/v1/cases") == []  # Wuxi sees none of it

    reviewer.ok(
        "POST",
        f"/v1/cases/{case['case_id']}/confirm",
        json={
            "reason": "出院7日内同病种再入院,分解住院",
            "suspend": {"kind": "person", "months": 3},
            "clawback": {"amount": 10000, "settlement_ids": [second["setl_id"]]},
        },
    )

    # The suspension reaches settlement: the next direct settlement is refused, clearly.
    world.clock.set(at(16, hour=9))

    def refused() -> str | None:
        try:
            outpatient(his, zhou, VISIT)
        except HisError as exc:
            message = str(exc.answer.get("err_msg", ""))
            return message if "suspend" in message.lower() else None
        return None

    message = world.eventually(refused, what="the suspension to reach settlement")
    assert "suspend" in message.lower()

    # The clawback reaches clearing: March's statement deducts it from Suzhou's payment to Nanjing.
    world.clock.set(at(4, month=4, hour=10))
    centre = world.centre("clearing")

    def clawed_back() -> list[dict[str, Any]] | None:
        # The statement stands once generated (a later clawback waits for April's): generate it
        # only once clearing holds the clawback, as an operator checks the inputs first.
        inputs = centre.request("GET", "/v1/periods/2026-03/statement/inputs-hash")
        if inputs.status_code != 200 or inputs.json()["deductions"] < 1:
            return None
        statement = centre.ok("POST", "/v1/periods/2026-03/statement")
        lines = [
            ln
            for ln in statement["lines"]
            if (ln["payer_agency"], ln["receiver_agency"]) == (SUZHOU, NANJING)
        ]
        parts = [p for ln in lines for p in ln["parts"] if p["clawed_back"]]
        return parts or None

    parts = world.eventually(clawed_back, what="the clawback in March's statement")
    assert [p["clawed_back"] for p in parts] == [10000]

    # After the suspension ends, direct settlement works again.
    world.clock.set(at(20, month=6, hour=9))
    world.centre("audit").ok("POST", "/v1/suspensions/expire")

    def settles() -> dict[str, Any] | None:
        try:
            return outpatient(his, zhou, VISIT)
        except HisError as exc:
            if "suspend" in str(exc.answer.get("err_msg", "")).lower():
                return None
            raise

    assert (
        world.eventually(settles, what="settlement after the suspension")["psn_no"]
        == zhou["psn_no"]
    )
    assert timedelta(0) < world.clock.now() - at(15)
