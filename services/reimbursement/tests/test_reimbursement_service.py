"""The reimbursement service with real PostgreSQL and broker, the real filing service beside it
and the sandbox's verification server over HTTP: a claim from the counter to payment, the
insured place's year including it; refusals that change nothing; an overdue claim."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from reimbursement_testkit import DETAIL, PERSON, Stack, claim_body

from yidi_events.runtime.projection import rebuild_from_store


async def _claim(stack: Stack, numbers: tuple[str, str], **changes: object) -> dict[str, object]:
    response = await stack.http.post(
        "/v1/claims", json=claim_body(numbers, **changes), headers=stack.officer()
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


async def test_an_emergency_claim_is_verified_reviewed_approved_paid_and_counted_at_home(
    stack: Stack,
) -> None:
    await stack.enrol_and_publish_policy()
    await stack.verifier.issue("0001", 60_000)
    await stack.verifier.issue("0002", 40_000)
    received = await _claim(stack, ("0001", "0002"))
    claim_id = received["claim_id"]
    # Friday 6 March 2026: five working days (Monday 9 to Friday 13 March, no holiday then).
    assert received == {
        "claim_id": claim_id,
        "claimed_total": 100_000,
        "acceptance_due": "2026-03-13",
    }
    checked = await stack.http.post(f"/v1/claims/{claim_id}/check", headers=stack.officer())
    assert checked.status_code == 200, checked.text
    reviewed = await stack.http.post(
        f"/v1/claims/{claim_id}/review", json={"note": "complete"}, headers=stack.officer("rev-1")
    )
    assert reviewed.status_code == 200, reviewed.text
    # Worked in test_reimbursement_handlers: 709.50 in policy, 500.00 level-2 deductible, 209.50
    # at the retired level-2 ratio 0.92 = 192.74 from the basic fund; no account asked for.
    assert reviewed.json() == {
        "claim_id": claim_id,
        "step": "approved",
        "approved": True,
        "payable": 19_274,
        "fund_total": 19_274,
        "account_paid": 0,
        "policy_year": 2026,
    }

    # The insured place's year now holds the claim (filing counted ClaimApproved).
    await stack.claims_to_filing()
    year = await stack.filing.get(f"/v1/persons/{PERSON}/years/2026", headers=stack.auth())
    assert year.status_code == 200, year.text
    totals = year.json()["totals"]
    assert (totals["inpatient_admissions"], totals["eligible_cum"], totals["basic_paid_cum"]) == (
        1,
        20_950,
        19_274,
    )

    paid = await stack.http.post("/v1/payments/batches", headers=stack.officer("treasurer"))
    assert paid.status_code == 201, paid.text
    batch = paid.json()["batch_id"]
    file = await stack.http.get(f"/v1/payments/batches/{batch}/file", headers=stack.officer())
    rows = list(csv.reader(io.StringIO(file.text)))
    assert rows == [
        ["batch_id", "line", "claim_id", "person_id", "bank_account", "amount_yuan"],
        [batch, "1", claim_id, PERSON, "6222020200112233445", "192.74"],
        [batch, "total", "1", "", "", "192.74"],
    ]
    view = (await stack.http.get(f"/v1/claims/{claim_id}", headers=stack.officer())).json()
    assert (view["step"], view["payable"], view["due_on"], view["bank_account"]) == (
        "paid",
        19_274,
        None,
        "****3445",
    )
    told = await stack.http.get(
        "/v1/online/notifications", headers=stack.auth(kind="person", user=PERSON)
    )
    assert [n["kind"] for n in told.json()] == ["received", "approved", "paid"]
    assert "192.74 yuan" in told.json()[-1]["message"]

    # The claims' read model, notifications and payment batch are a fold of the store.
    [own] = stack.runtime.own
    async with stack.runtime.engine.connect() as conn:
        live = await own.snapshot(conn)
    await rebuild_from_store(stack.runtime.engine, stack.runtime.store, own)
    async with stack.runtime.engine.connect() as conn:
        assert await own.snapshot(conn) == live
    assert len(live["claims"]) == 1


async def test_refusals_name_the_field_and_change_nothing(stack: Stack) -> None:
    await stack.enrol_and_publish_policy()
    for number, amount in (("0001", 60_000), ("0002", 40_000), ("0003", 60_000)):
        await stack.verifier.issue(number, amount)
    await stack.verifier.issue("0009", 40_000)
    await stack.verifier.void("0009")
    await _claim(stack, ("0001", "0002"))
    before = await stack.state()

    async def refused(body: dict[str, object]) -> tuple[int, dict[str, object]]:
        response = await stack.http.post("/v1/claims", json=body, headers=stack.officer())
        error: dict[str, object] = response.json()["error"]
        return response.status_code, error

    # The same invoice claimed again, with a new one beside it.
    status, error = await refused(claim_body(("0003", "0002")))
    assert (status, error["rule"], error["field"]) == (
        409,
        "reimbursement.invoice_claimed",
        "invoices[1].invoice_number",
    )
    # A voided invoice (作废), as the verification service answers over HTTP.
    status, error = await refused(claim_body(("0003", "0009")))
    assert (status, error["rule"], error["field"]) == (
        422,
        "reimbursement.invoice_voided",
        "invoices[1].invoice_number",
    )
    # An invoice never issued.
    status, error = await refused(claim_body(("0003", "7777")))
    assert (status, error["rule"]) == (422, "reimbursement.invoice_unknown")
    # A detail list that does not sum to the invoices (one line 1.00 short).
    short = DETAIL.replace("245.00,245.00", "244.00,244.00")
    status, error = await refused(claim_body(("0003", "0002b"), detail_file=short))
    assert (status, error["rule"], error["field"]) == (
        422,
        "reimbursement.detail_mismatch",
        "detail_file",
    )
    assert await stack.state() == before

    # A visit settled directly at that hospital on those dates: the claim would pay it twice.
    await stack.verifier.issue("0004", 40_000)
    await stack.settlement.settle_directly("S-1", date(2026, 3, 2), date(2026, 3, 3))
    await stack.consumer(stack.runtime, "reimbursement.insured_facts").catch_up()
    status, error = await refused(claim_body(("0003", "0004")))
    assert (status, error["rule"], error["field"]) == (
        409,
        "reimbursement.settled_directly",
        "admitted_on",
    )
    assert await stack.state() == before


async def test_a_claim_not_reviewed_within_ten_working_days_shows_overdue(stack: Stack) -> None:
    await stack.enrol_and_publish_policy()
    await stack.verifier.issue("0001", 60_000)
    await stack.verifier.issue("0002", 40_000)
    claim_id = (await _claim(stack, ("0001", "0002")))["claim_id"]
    await stack.http.post(f"/v1/claims/{claim_id}/check", headers=stack.officer())

    async def overdue() -> list[object]:
        listed = await stack.http.get("/v1/claims?overdue=true", headers=stack.officer())
        assert listed.status_code == 200, listed.text
        return [(c["claim_id"], c["step"], c["due_on"], c["overdue"]) for c in listed.json()]

    # Accepted Friday 6 March: review due on Friday 20 March (ten working days), still in time
    # on that day, overdue on the next.
    clock = stack.clock()
    start = clock.now()
    clock.set(start + timedelta(days=14))
    assert await overdue() == []
    clock.set(start + timedelta(days=15))
    assert await overdue() == [(claim_id, "checked", "2026-03-20", True)]
    # Another agency sees nothing of Suzhou's claims.
    other = await stack.http.get(
        "/v1/claims?overdue=true", headers=stack.auth("320200", "reimbursement")
    )
    assert other.json() == []


async def test_a_claim_no_filing_covers_is_accepted_after_the_person_files_afterwards(
    stack: Stack,
) -> None:
    """A planned trip to Nanjing without a filing, paid in full at discharge: the claim waits
    until the person files afterwards (补办), then is paid under that filing's cut."""
    await stack.enrol_and_publish_policy()
    await stack.verifier.issue("0001", 60_000)
    await stack.verifier.issue("0002", 40_000)
    claim_id = (await _claim(stack, ("0001", "0002"), emergency=False))["claim_id"]
    before = await stack.state()
    refused = await stack.http.post(f"/v1/claims/{claim_id}/check", headers=stack.officer())
    assert refused.status_code == 422
    assert (refused.json()["error"]["rule"], refused.json()["error"]["field"]) == (
        "reimbursement.no_filing",
        "admitted_on",
    )
    assert await stack.state() == before

    filed = await stack.filing.post(
        "/v1/online/filings",
        json={
            "kind": "other_temporary",
            "visit_region": "320100",
            "admission_date": "2026-03-01",
            "discharge_date": "2026-03-02",
            "discharge_settled": True,
            "self_paid_discharge": True,
        },
        headers=stack.auth(kind="person", user=PERSON),
    )
    assert filed.status_code == 201, filed.text
    await stack.facts_from_filing()
    checked = await stack.http.post(f"/v1/claims/{claim_id}/check", headers=stack.officer())
    assert checked.json()["filing_kind"] == "other_temporary"
    reviewed = await stack.http.post(
        f"/v1/claims/{claim_id}/review", json={}, headers=stack.officer("rev-1")
    )
    # Suzhou cuts an other-temporary filing by 20 points: 209.50 eligible at 0.92 - 0.20 = 0.72
    # is 150.84 from the basic fund.
    assert reviewed.json()["payable"] == 15_084


async def test_a_person_claims_online_and_sees_only_their_own_claims(stack: Stack) -> None:
    await stack.enrol_and_publish_policy()
    await stack.verifier.issue("0001", 60_000)
    await stack.verifier.issue("0002", 40_000)
    me = stack.auth(kind="person", user=PERSON)
    someone = stack.auth(kind="person", user="32050000000000000099")
    refused = await stack.http.post(
        "/v1/online/claims", json=claim_body(("0001", "0002")), headers=someone
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["rule"] == "reimbursement.own_claims_only"
    made = await stack.http.post("/v1/online/claims", json=claim_body(("0001", "0002")), headers=me)
    assert made.status_code == 201, made.text
    mine = (await stack.http.get("/v1/online/claims", headers=me)).json()
    assert [(c["claim_id"], c["channel"], c["step"]) for c in mine] == [
        (made.json()["claim_id"], "online", "received")
    ]
    assert (await stack.http.get("/v1/online/claims", headers=someone)).json() == []
    # The counter of Suzhou sees it, for acceptance.
    listed = (await stack.http.get("/v1/claims?step=received", headers=stack.officer())).json()
    assert [c["claim_id"] for c in listed] == [made.json()["claim_id"]]
