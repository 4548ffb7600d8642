"""Issue 4 end to end: sandbox persons settle through the gateway of the running platform, with the
setlinfo identities holding, and the ineligible ones are refused with clear messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from yidi_cli.his import HisError
from yidi_events.kernel import yuan_to_fen
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import inpatient, outpatient
from yidi_stack.infra import run_sync

pytestmark = pytest.mark.e2e

VISIT = [
    {"code": "XA001", "cnt": "6", "pric": "45.00", "amount": "270.00"},
    {"code": "XB003", "cnt": "2", "pric": "65.00", "amount": "130.00"},
    {"code": "ZZZ999", "cnt": "1", "pric": "12.00", "amount": "12.00"},
]
STAY = [
    {"code": "B001", "cnt": "3", "pric": "80.00", "amount": "240.00"},
    {"code": "XB002", "cnt": "12", "pric": "310.00", "amount": "3720.00"},
    {"code": "T001", "cnt": "1", "pric": "1800.00", "amount": "1800.00"},
]
FUNDS = ("hifp_pay", "hifob_pay", "hifmi_pay", "cvlserv_pay", "maf_pay")


def fen(setlinfo: dict[str, Any], field: str) -> int:
    return yuan_to_fen(setlinfo.get(field) or "0.00")


def assert_identities(s: dict[str, Any]) -> None:
    assert fen(s, "medfee_sumamt") == sum(
        fen(s, f)
        for f in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    )
    assert fen(s, "fund_pay_sumamt") == sum(fen(s, f) for f in FUNDS)
    assert fen(s, "psn_part_amt") == fen(s, "acct_pay") + fen(s, "psn_cash_pay")
    assert fen(s, "medfee_sumamt") == (
        fen(s, "fund_pay_sumamt")
        + fen(s, "acct_pay")
        + fen(s, "psn_cash_pay")
        + fen(s, "hosp_part_amt")
    )


@pytest.mark.parametrize("person", ["1", "2", "3", "7", "8"])
def test_sandbox_persons_settle_outpatient_and_inpatient_through_the_gateway(
    world: Any, sandbox_persons: Any, person: str
) -> None:
    his = world.his("H32010000001")  # person 2's referral names this hospital
    p = sandbox_persons[person]
    visit = outpatient(his, p, VISIT)
    assert visit["psn_no"] == p["psn_no"]
    assert visit["medfee_sumamt"] == Decimal("412.00")
    assert visit["overlmt_selfpay"] == Decimal("30.00")  # XB003 above its 50.00 cap
    assert visit["fulamt_ownpay_amt"] == Decimal("12.00")  # not in the catalogue
    assert_identities(visit)
    now = world.clock.now()
    stay = inpatient(his, p, STAY, admitted=now, discharged=now, diagnosis="J18.900")
    assert stay["medfee_sumamt"] == Decimal("5760.00")
    assert fen(stay, "fund_pay_sumamt") > 0
    assert_identities(stay)
    if person == "3":  # a 低保 resident: medical assistance pays on the personal share
        assert fen(stay, "maf_pay") > 0


@pytest.mark.parametrize(
    ("person", "hospital", "says"),
    [
        ("4", "H32010000001", "（eligibility.no_filing）"),  # Wuxi, no filing, not an emergency
        ("6", "H32010000001", "死亡日期 2026-03-01"),  # died 2026-03-01
        ("9", "H32010000001", "（eligibility.local_visit）"),  # Nanjing's own in Nanjing
        ("1", "H32010000009", "（eligibility.hospital_not_networked）"),  # not networked
        ("2", "H32010000002", "机构 H32010000002"),  # another hospital than her referral names
    ],
)
def test_ineligible_visits_are_refused_with_a_clear_message(
    world: Any, sandbox_persons: Any, person: str, hospital: str, says: str
) -> None:
    with pytest.raises(HisError) as refused:
        outpatient(world.his(hospital), sandbox_persons[person], VISIT)
    answer = refused.value.answer
    assert answer["infcode"] == -1
    assert says in answer["err_msg"], answer["err_msg"]
    assert answer["err_msg"].endswith("）"), answer["err_msg"]  # the rule code, in brackets


def test_a_tampered_signature_is_refused_and_changes_nothing(
    world: Any, sandbox_persons: Any
) -> None:
    his = world.his("H32010000001")
    envelope = his.envelope(
        "1101",
        {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": sandbox_persons["1"]["certno"]}},
        "320500",
    )
    genuine = his.send(envelope)
    assert genuine["infcode"] == 0
    other = world.his("H32010000002")
    forged = other.envelope("1101", envelope["input"], "320500")
    forged["fixmedins_code"] = "H32010000001"  # signed by H...002, claiming to be H...001
    answer = other.send(forged)
    assert answer["infcode"] == -1
    assert answer["err_msg"].endswith("（his.institution_mismatch）"), answer["err_msg"]
    assert datetime.now(SHANGHAI)  # the platform answered in the envelope the HIS speaks


def _events_of(world: Any, service: str, correlation_id: str) -> list[tuple[str, str, str | None]]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(world.platform.dsn(service))
        try:
            return list(
                await conn.fetch(
                    "SELECT event_type, event_id::text AS id, causation_id::text AS cause"
                    " FROM events"
                    " WHERE correlation_id = $1::uuid ORDER BY position",
                    correlation_id,
                )
            )
        finally:
            await conn.close()

    return [(r["event_type"], r["id"], r["cause"]) for r in run_sync(fetch())]


def test_a_settlements_correlation_id_reaches_the_events_it_causes_in_other_services(
    world: Any, sandbox_persons: Any
) -> None:
    visit = outpatient(world.his("H32010000001"), sandbox_persons["1"], VISIT)

    async def settled() -> asyncpg.Record:
        conn = await asyncpg.connect(world.platform.dsn("settlement"))
        try:
            row = await conn.fetchrow(
                "SELECT event_id::text AS id, correlation_id::text AS correlation FROM events"
                " WHERE event_type = 'settlement.VisitSettled'"
                " AND payload->>'settlement_id' = $1",
                visit["setl_id"],
            )
            assert row is not None
            return row
        finally:
            await conn.close()

    fact = run_sync(settled())
    assert fact["correlation"] is not None  # the request's, given at the gateway
    own = _events_of(world, "settlement", fact["correlation"])
    # Written serving the 2207, not answering another fact.
    assert ("settlement.VisitSettled", fact["id"], None) in own
    settled_now = {event_id for _, event_id, _ in own}
    # The insured place's person year answers the settlement's ledger movement, the agencies'
    # day answers the settlement itself: each names the very fact it answers.
    causes = {}
    for service in ("filing", "reconciliation"):
        answers = world.eventually(
            lambda s=service: _events_of(world, s, fact["correlation"]),
            timeout=60,
            what=f"{service}'s events in the correlation",
        )
        causes[service] = {cause for _, _, cause in answers}
        assert causes[service] <= settled_now, (service, answers, own)
    assert causes["reconciliation"] == {fact["id"]}
