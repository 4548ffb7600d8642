"""Issue 17 end to end: one person, one year, one account, the insured place holding the truth.

All five services run as processes on real PostgreSQL and the broker. Every figure is worked by
hand from the sandbox policies (Suzhou employees, `../shared/sandbox/policies.json`): Nanjing's
H32010000001 is a level-3 hospital; person 7 (周杰) is in service, person 1 (张建国) retired,
both hold long-term filings for Nanjing. The tests run in file order on one
platform.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from yidi_events.kernel import fen_to_yuan
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import inpatient, outpatient

pytestmark = pytest.mark.e2e

NANJING = "H32010000001"  # level 3
NANJING_2 = "H32010000002"  # level 2
SUZHOU = "320500"
YEAR = 2026


def filing(world: Any) -> Any:
    return world.agency("filing", SUZHOU)


def at_insured_place(world: Any, person_id: str, year: int = YEAR) -> dict[str, Any]:
    answer: dict[str, Any] = filing(world).ok("GET", f"/v1/persons/{person_id}/years/{year}")
    return answer


def at_visit_place(world: Any, person_id: str, year: int = YEAR) -> dict[str, Any]:
    answer: dict[str, Any] = world.agency("settlement", "320100").ok(
        "GET", f"/v1/api/persons/{person_id}/years/{year}"
    )
    return answer


def balance_1101(world: Any, person: dict[str, str]) -> str:
    answer = world.his(NANJING).call(
        "1101",
        {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}},
        person["insuplc_admdvs"],
    )
    return str(answer["insuinfo"][0]["balc"])


def balances_are(world: Any, person: dict[str, str], fen: int, counted: int) -> None:
    """The insured place has counted `counted` visit-place movements and holds `fen`; the visit
    place shows the same in 1101 and its agency API."""
    person_id = person["psn_no"]

    def settled() -> bool:
        home = at_insured_place(world, person_id)
        return (home["account_balance"], home["visit_ledger_counted"]) == (fen, counted)

    world.eventually(settled, what=f"the insured place holds {fen} after {counted}")
    world.eventually(
        lambda: at_visit_place(world, person_id)["account_balance"] == fen,
        what=f"the visit place shows {fen}",
    )
    assert balance_1101(world, person) == fen_to_yuan(fen)
    assert filing(world).ok("GET", f"/v1/persons/{person_id}")["account_balance"] == fen


# --- the year: home, then away -------------------------------------------------------------


def test_a_home_admission_continues_into_a_cross_region_one(
    world: Any, sandbox_persons: Any
) -> None:
    zhou = sandbox_persons["7"]  # in service, 2,500.00 in the account
    # At home in February: 19,000.00 above the deductible (85% in the first band: 16,150.00),
    # and 4,500.00 of in-policy personal share, all below the 5,000.00 large-amount deductible.
    home = filing(world).ok(
        "POST",
        f"/v1/persons/{zhou['psn_no']}/local-settlements",
        json={
            "local_settlement_id": "SZ-2026-0001",
            "policy_year": YEAR,
            "settled_on": "2026-02-10",
            "inpatient_admissions": 1,
            "eligible_cum": 1_900_000,
            "basic_paid_cum": 1_615_000,
            "supplementary_base_cum": 450_000,
        },
    )
    assert home["totals"]["inpatient_admissions"] == 1
    world.eventually(
        lambda: at_visit_place(world, zhou["psn_no"])["figures"]["inpatient_admissions"] == 1,
        what="the statement reached the visit place",
    )

    now = world.clock.now()
    lines = [{"code": "XA001", "cnt": "100", "pric": "50.00", "amount": "5000.00"}]
    stay = inpatient(
        world.his(NANJING), zhou, lines, admitted=now, discharged=now, diagnosis="J18.900"
    )
    # 5,000.00 in policy; the second admission's level-3 deductible is 500.00, not 1,000.00.
    # Basic fund on 4,500.00 continuing from 19,000.00: 1,000.00 x 85% + 3,500.00 x 90% = 4,000.00.
    # Personal share 1,000.00 continuing from 4,500.00: 500.00 above 5,000.00 x 80% = 400.00.
    # The patient's 600.00 comes out of the account (2,500.00 -> 1,900.00).
    assert stay["medfee_sumamt"] == Decimal("5000.00")
    assert stay["act_pay_dedc"] == Decimal("500.00")
    assert stay["hifp_pay"] == Decimal("4000.00")
    assert stay["hifob_pay"] == Decimal("400.00")
    assert stay["acct_pay"] == Decimal("600.00")
    assert stay["psn_cash_pay"] == Decimal("0.00")

    expected = {
        "policy_year": YEAR,
        "inpatient_admissions": 2,
        "outpatient_deductible_used": 0,
        "eligible_cum": 2_350_000,
        "basic_paid_cum": 2_015_000,
        "supplementary_base_cum": 550_000,
        "supplementary_paid_cum": 40_000,
        "assistance_paid_cum": 0,
        "outpatient_pooling_paid_cum": 0,
        "account_balance": -60_000,
        "chronic": [],  # no chronic-disease visit
    }
    world.eventually(
        lambda: at_insured_place(world, zhou["psn_no"])["totals"] == expected,
        what="the insured place counted the stay",
    )
    figures = dict(expected)
    del figures["account_balance"]
    assert at_visit_place(world, zhou["psn_no"])["figures"] == figures
    balances_are(world, zhou, 190_000, 1)


# --- the account: spend, credit, spend, cancel, credit; broker loss; rebuild ---------------

SMALL = [{"code": "XA001", "cnt": "1", "pric": "50.00", "amount": "50.00"}]


def credit(world: Any, person_id: str, fen: int) -> None:
    filing(world).ok(
        "POST",
        f"/v1/persons/{person_id}/account-credits",
        json={"amount": fen, "reason": "monthly transfer"},
    )


def test_the_account_is_one_balance_at_both_places(world: Any, sandbox_persons: Any) -> None:
    zhang = sandbox_persons["1"]  # retired, 3,500.00 in the account
    his = world.his(NANJING)
    # 50.00 of A items inside the 1,000.00 outpatient deductible: the account pays all of it.
    first = outpatient(his, zhang, SMALL)
    assert first["acct_pay"] == Decimal("50.00")
    balances_are(world, zhang, 345_000, 1)
    credit(world, zhang["psn_no"], 10_000)
    balances_are(world, zhang, 355_000, 1)
    second = outpatient(his, zhang, SMALL)
    assert second["acct_pay"] == Decimal("50.00")
    balances_are(world, zhang, 350_000, 2)
    his.call(
        "2208",
        {
            "data": {
                "setl_id": second["setl_id"],
                "mdtrt_id": second["mdtrt_id"],
                "psn_no": zhang["psn_no"],
            }
        },
        zhang["insuplc_admdvs"],
    )
    balances_are(world, zhang, 355_000, 3)
    credit(world, zhang["psn_no"], 10_000)
    # Credits 3,500.00 + 100.00 + 100.00, net spending 50.00.
    balances_are(world, zhang, 365_000, 3)


def test_the_balance_survives_the_broker_losing_its_memory(
    world: Any, sandbox_persons: Any
) -> None:
    zhang = sandbox_persons["1"]
    world.lose_broker_memory()
    # Everything published again: nothing counted twice, at either place.
    after = outpatient(world.his(NANJING), zhang, SMALL)
    assert after["acct_pay"] == Decimal("50.00")
    balances_are(world, zhang, 360_000, 4)


def test_the_balance_survives_rebuilding_every_projection_involved(
    world: Any, sandbox_persons: Any
) -> None:
    zhang = sandbox_persons["1"]
    zhou = sandbox_persons["7"]
    for service, projection in [
        ("settlement", "insured_facts"),
        ("settlement", "settlement_own"),
        ("filing", "read_models"),
        ("filing", "visit_ledger"),  # a reaction: re-read, it counts nothing twice
    ]:
        world.yidi("rebuild", service, projection)
    balances_are(world, zhang, 360_000, 4)
    balances_are(world, zhou, 190_000, 1)
    assert at_insured_place(world, zhou["psn_no"])["totals"]["inpatient_admissions"] == 2
    assert at_visit_place(world, zhou["psn_no"])["figures"]["inpatient_admissions"] == 2


# --- two hospitals, two years, one account ---------------------------------------------------


def test_two_hospitals_settling_at_once_across_new_year_never_overdraw(
    world: Any, sandbox_persons: Any
) -> None:
    zhou = sandbox_persons["7"]  # 1,900.00 left in the account after the first test
    world.clock.set(datetime(YEAR + 1, 1, 2, 9, 0, tzinfo=SHANGHAI))
    admitted = datetime(YEAR, 12, 30, 9, 0, tzinfo=SHANGHAI)
    # Each stay leaves the person 1,500.00 of C items (fully self-paid, nothing in policy):
    # together 3,000.00, more than the 1,900.00 the account holds. One stay is 2026's, the other
    # 2027's: two years, one account.
    lines = [{"code": "C001", "cnt": "30", "pric": "50.00", "amount": "1500.00"}]
    results: dict[str, dict[str, Any]] = {}
    failures: list[BaseException] = []

    def stay(code: str, discharged: datetime) -> None:
        try:
            results[code] = inpatient(
                world.his(code),
                zhou,
                lines,
                admitted=admitted,
                discharged=discharged,
                diagnosis="J18.900",
            )
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    threads = [
        threading.Thread(target=stay, args=(NANJING, datetime(YEAR, 12, 31, 10, tzinfo=SHANGHAI))),
        threading.Thread(
            target=stay, args=(NANJING_2, datetime(YEAR + 1, 1, 1, 10, tzinfo=SHANGHAI))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    paid = sorted(results[code]["acct_pay"] for code in (NANJING, NANJING_2))
    # Whichever settled first took 1,500.00; the other found only the 400.00 left.
    assert paid == [Decimal("400.00"), Decimal("1500.00")]
    assert sorted(results[code]["psn_cash_pay"] for code in (NANJING, NANJING_2)) == [
        Decimal("0.00"),
        Decimal("1100.00"),
    ]
    balances_are(world, zhou, 0, 3)
    assert at_insured_place(world, zhou["psn_no"], YEAR + 1)["totals"]["inpatient_admissions"] == 1
    assert at_insured_place(world, zhou["psn_no"], YEAR)["totals"]["inpatient_admissions"] == 3
