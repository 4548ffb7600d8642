"""Issue 23 end to end: manual reimbursement through the running services.

赵敏 (person 4, Wuxi employee in service, no filing) has an emergency at Nanjing's non-networked
clinic H32010000009 (level 1) from 26 to 27 February 2026 and pays 1,000.00 yuan in full. On
Monday 2 March she files afterwards online (补办 after a self-paid discharge), then hands in two
invoices and the detail list at Wuxi's counter; the sandbox's verification service confirms the
invoices; the claim is accepted, reviewed, approved and paid; Wuxi's year for her includes it.
Every figure is worked by hand from the sandbox's Wuxi employee policy.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

WUXI = "320200"
PERSON = "32020000000000000004"
CLINIC = "H32010000009"  # Nanjing, level 1, not networked
DETAIL = """line_no,catalogue_code,item_name,quantity,unit_price,amount,fee_date
1,XA001,急诊诊查,1,300.00,300.00,2026-02-26
2,XB002,药品,10,45.50,455.00,2026-02-26
3,C001,自费材料,1,245.00,245.00,2026-02-27
"""


def claim(numbers: tuple[str, str]) -> dict[str, Any]:
    return {
        "person_id": PERSON,
        "institution_code": CLINIC,
        "institution_name": "南京市未联网诊所(沙盒)",
        "visit_region": "320100",
        "hospital_level": "1",
        "medical_type": "21",
        "emergency": True,
        "admitted_on": "2026-02-26",
        "discharged_on": "2026-02-27",
        "invoices": [
            {
                "invoice_code": "32010226",
                "invoice_number": n,
                "amount": a,
                "issued_on": "2026-02-27",
                "issuing_institution": CLINIC,
            }
            for n, a in zip(numbers, (60_000, 40_000), strict=True)
        ],
        "detail_file": DETAIL,
        "discharge_summary_ref": "急诊病历 2026-0226",
        "bank_account": "6222021001122334455",
    }


def test_an_emergency_at_a_non_networked_clinic_is_filed_afterwards_claimed_and_paid(
    world: Any,
) -> None:
    verification = world.platform.verification_url
    for number, yuan in (("10000001", "600.00"), ("10000002", "400.00"), ("10000003", "600.00")):
        issued = httpx.post(
            f"{verification}/v1/invoices",
            json={
                "invoice_code": "32010226",
                "invoice_number": number,
                "amount": yuan,
                "issued_on": "2026-02-27",
                "issuing_institution": CLINIC,
            },
        )
        assert issued.status_code == 201, issued.text

    # 补办: she files online after the discharge she paid herself.
    me = world.agency("filing", WUXI, user=PERSON, kind="person")
    filed = me.ok(
        "POST",
        "/v1/online/filings",
        json={
            "kind": "emergency",
            "visit_region": "320100",
            "admission_date": "2026-02-26",
            "discharge_date": "2026-02-27",
            "discharge_settled": True,
            "self_paid_discharge": True,
        },
    )
    assert (filed["status"], filed["valid_from"]) == ("approved", "2026-02-26")

    clerk = world.agency("reimbursement", WUXI, user="wx.clerk", roles=("reimbursement",))

    # Her person record reaches reimbursement through the broker.
    def handed_in() -> httpx.Response | None:
        answer = clerk.request("POST", "/v1/claims", json=claim(("10000001", "10000002")))
        return None if answer.status_code == 404 else answer

    received = world.eventually(handed_in, what="the claim received")
    assert received.status_code == 201, received.text
    claim_id = received.json()["claim_id"]
    assert received.json()["claimed_total"] == 100_000

    # An invoice claimed already, beside a new one, is refused, and nothing of it is kept.
    again = clerk.request("POST", "/v1/claims", json=claim(("10000003", "10000002")))
    assert (again.status_code, again.json()["error"]["rule"]) == (
        409,
        "reimbursement.invoice_claimed",
    )

    assert clerk.ok("POST", f"/v1/claims/{claim_id}/check")["filing_kind"] == "emergency"
    reviewer = world.agency(
        "reimbursement", WUXI, user="wx.reimbursement", roles=("reimbursement",)
    )
    approved = reviewer.ok("POST", f"/v1/claims/{claim_id}/review", json={"note": "材料齐全"})
    # By hand (Wuxi employees, in service, level 1, first admission of 2026, emergency: no cut):
    # in policy 300.00 + (455.00 - 10% = 409.50) = 709.50; C001 245.00 self-paid; deductible
    # 300.00; 409.50 eligible in the first band at 0.90 = 368.55 from the basic fund; the
    # large-amount layer starts above 5,000.00 of personal share: nothing.
    assert (approved["payable"], approved["fund_total"], approved["account_paid"]) == (
        36_855,
        36_855,
        0,
    )

    # Wuxi's year for her includes the claim, once.
    def counted() -> dict[str, Any] | None:
        year = world.agency("filing", WUXI).ok("GET", f"/v1/persons/{PERSON}/years/2026")
        return year if year["totals"]["basic_paid_cum"] else None

    year = world.eventually(counted, what="the claim counted at the insured place")
    totals = year["totals"]
    assert (totals["inpatient_admissions"], totals["eligible_cum"], totals["basic_paid_cum"]) == (
        1,
        40_950,
        36_855,
    )

    batch = clerk.ok("POST", "/v1/payments/batches")["batch_id"]
    file = clerk.request("GET", f"/v1/payments/batches/{batch}/file")
    rows = list(csv.reader(io.StringIO(file.text)))
    assert rows[1] == [batch, "1", claim_id, PERSON, "6222021001122334455", "368.55"]
    assert clerk.ok("GET", f"/v1/claims/{claim_id}")["step"] == "paid"
    told = world.agency("reimbursement", WUXI, user=PERSON, kind="person").ok(
        "GET", "/v1/online/notifications"
    )
    assert [n["kind"] for n in told] == ["received", "approved", "paid"]
