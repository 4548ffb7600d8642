"""Manual claims in the province (手工报销, issue 23): a few persons with no direct settlement in
the run had an emergency at Nanjing's non-networked clinic on the first day, paid in full, and
claim at their insured place's counter: two invoices issued into the sandbox's verification
service and a detail list; accepted, reviewed, approved by the shared engine, then paid in one
bank payment batch per insured place. Claimants settle nothing directly, so the sampled
person-year check stays a sum of settlements."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from yidi_events.kernel import yuan_to_fen

if TYPE_CHECKING:
    from yidi_stack.simulation.drive import Driver, Outcome

CLINIC = "H32010000009"  # Nanjing, level 1, not networked
CLAIMANTS = 3
INVOICE_CODE = "32010226"
ROLES = ("reimbursement",)


def _detail(day: date) -> str:
    return (
        "line_no,catalogue_code,item_name,quantity,unit_price,amount,fee_date\n"
        f"1,XA001,急诊诊查,1,300.00,300.00,{day}\n"
        f"2,XB002,药品,10,45.50,455.00,{day}\n"
        f"3,C001,自费材料,1,245.00,245.00,{day}\n"
    )


def manual_claims(driver: Driver, out: Outcome, day: date) -> None:
    settled = {r.person_id for r in out.records}
    claimants = [p for p in out.province.persons if p["psn_no"] not in settled][:CLAIMANTS]
    task = driver.progress.add_task("manual claims (手工报销)", total=len(claimants))
    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n, person in enumerate(claimants, start=1):
        region = person["insuplc_admdvs"]
        numbers = (f"{day:%y%m%d}{n:03d}1", f"{day:%y%m%d}{n:03d}2")
        for number, yuan in zip(numbers, ("600.00", "400.00"), strict=True):
            issued = driver.http.post(
                f"{driver.platform.verification_url}/v1/invoices",
                json={
                    "invoice_code": INVOICE_CODE,
                    "invoice_number": number,
                    "amount": yuan,
                    "issued_on": day.isoformat(),
                    "issuing_institution": CLINIC,
                },
            )
            issued.raise_for_status()
        clerk = driver.agency("reimbursement", region, user="sim.clerk", roles=ROLES)
        body = {
            "person_id": person["psn_no"],
            "institution_code": CLINIC,
            "institution_name": "南京市未联网诊所(沙盒)",
            "visit_region": "320100",
            "hospital_level": "1",
            "medical_type": "21",
            "emergency": True,
            "admitted_on": day.isoformat(),
            "discharged_on": day.isoformat(),
            "invoices": [
                {
                    "invoice_code": INVOICE_CODE,
                    "invoice_number": number,
                    "amount": amount,
                    "issued_on": day.isoformat(),
                    "issuing_institution": CLINIC,
                }
                for number, amount in zip(numbers, (60_000, 40_000), strict=True)
            ],
            "detail_file": _detail(day),
            "discharge_summary_ref": f"急诊病历 {person['psn_no']}",
            "bank_account": f"62220{n:014d}",
        }

        def received(body: dict[str, Any] = body, clerk: Any = clerk) -> dict[str, Any] | None:
            answer = clerk.request("POST", "/v1/claims", json=body)
            if answer.status_code == 404:  # the person's facts are still on their way
                return None
            assert answer.status_code == 201, answer.text
            result: dict[str, Any] = answer.json()
            return result

        claim_id = driver.eventually(received, what="a manual claim received")["claim_id"]
        clerk.ok("POST", f"/v1/claims/{claim_id}/check")
        reviewer = driver.agency("reimbursement", region, user="sim.reviewer", roles=ROLES)
        approved = reviewer.ok("POST", f"/v1/claims/{claim_id}/review", json={"note": "sim"})
        by_region[region].append(
            {
                "claim_id": claim_id,
                "person_id": person["psn_no"],
                "insured_region": region,
                "claimed": 100_000,
                "payable": int(approved["payable"]),
                "paid_in_file": 0,
            }
        )
        driver.progress.advance(task)
    for region, claims in sorted(by_region.items()):
        clerk = driver.agency("reimbursement", region, user="sim.treasurer", roles=ROLES)
        batch = clerk.ok("POST", "/v1/payments/batches")["batch_id"]
        text = clerk.request("GET", f"/v1/payments/batches/{batch}/file").text
        rows = list(csv.reader(io.StringIO(text)))[1:]  # after the header
        paid = {row[2]: yuan_to_fen(row[5]) for row in rows if row[1] != "total"}
        for claim in claims:
            claim["paid_in_file"] = paid.get(claim["claim_id"], 0)
            out.claims.append(claim)
