"""Hospital referrals forwarded by the HIS gateway (referral.upload, referral.cancel), benefit policies,
the rebuild of the read models, and the sandbox loaded through the API."""

from __future__ import annotations

import copy
import json
from typing import Any

import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.runtime.projection import rebuild_from_store
from yidi_filing.sandbox import load_into

SUQIAN, NANJING, SUZHOU, WUXI = "321300", "320100", "320500", "320200"
P2 = "32130000000000000302"
SHARED = shared_dir()


def _his(svc: Any) -> dict[str, str]:
    return svc.auth("320100", "his", kind="service", user="settlement")


def _upload(msgid: str, **referral: Any) -> dict[str, Any]:
    return {
        "name": "referral.upload",
        "institution_code": "H32130000001",
        "message_id": msgid,
        "visit_region": SUQIAN,
        "insured_region": SUQIAN,
        "command": {
            "person_id": P2,
            "insurance_type": "310",
            "insured_region": SUQIAN,
            "diagnosis": "I21.000",
            "destination_institution": "H32010000001",
            "visit_region": NANJING,
            "valid_from": "2026-03-02",
        }
        | referral,
    }


async def test_a_hospital_referral_is_filed_once_and_cancelled_by_that_hospital(svc: Any) -> None:
    await svc.enrol(P2, SUQIAN)
    first = await svc.post("/v1/internal/his", _upload("M1"), headers=_his(svc))
    repeat = await svc.post("/v1/internal/his", _upload("M1"), headers=_his(svc))

    assert first.status_code == 200, first.text
    filing_id = first.json()["result"]["filing_id"]
    assert repeat.json() == first.json()
    filing = (await svc.client.get(f"/v1/filings/{filing_id}", headers=svc.auth(SUQIAN))).json()
    # The hospital's upload is its own referral opinion: approved at once.
    assert (filing["status"], filing["channel"], filing["referral_opinion_from"]) == (
        "approved",
        "hospital",
        "H32130000001",
    )
    assert await svc.event_types(f"filing-{filing_id}") == [
        "filing.FilingSubmitted",
        "filing.FilingApproved",
    ]

    cancel = {
        "name": "referral.cancel",
        "institution_code": "H32130000002",
        "message_id": "M2",
        "visit_region": SUQIAN,
        "command": {"filing_id": filing_id, "person_id": P2, "reason": "患者拒绝"},
    }
    before = await svc.state()
    other_hospital = await svc.post("/v1/internal/his", cancel, headers=_his(svc))
    assert other_hospital.json()["error"]["rule"] == "filing.hospital_own_only"
    assert await svc.state() == before
    own = cancel | {"institution_code": "H32130000001"}
    assert (await svc.post("/v1/internal/his", own, headers=_his(svc))).status_code == 200
    assert (await svc.event_types(f"filing-{filing_id}"))[-1] == "filing.FilingCancelled"


async def test_his_refusals_name_the_domain_field_and_change_nothing(svc: Any) -> None:
    await svc.enrol(P2, SUQIAN)
    before = await svc.state()
    cases = [
        (_upload("B", insured_region=WUXI), svc, "his.insured_region", "insured_region"),
        (_upload("C", valid_from="2026-02-01"), svc, "filing.retroactive_needs_admission", None),
        (_upload("D") | {"name": "chronic.upload"}, svc, "his.not_owned", "name"),
    ]
    for body, _, rule, field in cases:
        response = await svc.post("/v1/internal/his", body, headers=_his(svc))
        assert 400 <= response.status_code < 500
        assert response.json()["error"]["rule"] == rule
        if field:
            assert response.json()["error"]["field"] == field
    agency = await svc.post("/v1/internal/his", _upload("E"), headers=svc.auth(SUQIAN))
    assert (agency.status_code, agency.json()["error"]["rule"]) == (403, "his.gateway_only")
    assert await svc.state() == before


def _policies() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads((SHARED / "sandbox" / "policies.json").read_text())
    return documents


async def test_policies_are_published_per_region_and_a_new_version_supersedes(svc: Any) -> None:
    suzhou = next(
        d for d in _policies() if d["insuplc_admdvs"] == SUZHOU and d["insutype"] == "310"
    )
    me = svc.auth(SUZHOU)

    first = await svc.post("/v1/policies", suzhou, headers=me)
    repeat = await svc.post("/v1/policies", suzhou, headers=me)
    newer = copy.deepcopy(suzhou) | {"effective_from": "2026-07-01"}
    newer["basic"]["annual_cap"] = "450000.00"
    second = await svc.post("/v1/policies", newer, headers=me)

    assert (first.status_code, first.json()) == (201, {"version": 1, "published": True})
    assert repeat.json() == {"version": None, "published": False}
    assert second.json()["version"] == 2
    listed = (await svc.client.get("/v1/policies?insurance_type=310", headers=me)).json()
    assert [(p["version"], p["effective_from"], p["effective_to"]) for p in listed] == [
        (1, "2026-01-01", "2026-06-30"),
        (2, "2026-07-01", None),
    ]
    assert listed[1]["document"]["basic"]["annual_cap"] == "450000.00"
    events = [(t, p) for s, t, _, p in await svc.events() if s == f"policy-{SUZHOU}-310"]
    assert [t for t, _ in events] == ["filing.PolicyPublished", "filing.PolicyPublished"]
    assert events[1][1]["superseded_effective_to"] == "2026-06-30"

    before = await svc.state()
    broken = copy.deepcopy(suzhou)
    broken["basic"]["bands"][1]["ratio"]["retired"]["2"] = "1.5"
    bad = await svc.post("/v1/policies", broken, headers=me)
    backdated = await svc.post(
        "/v1/policies", suzhou | {"effective_from": "2025-12-01"}, headers=me
    )
    elsewhere = await svc.post("/v1/policies", suzhou, headers=svc.auth(WUXI))
    assert (bad.status_code, bad.json()["error"]["rule"]) == (422, "policy.format")
    assert bad.json()["error"]["field"] == "basic.bands[1].ratio.retired.2"
    assert backdated.json()["error"]["rule"] == "policy.backdated"
    assert (elsewhere.status_code, elsewhere.json()["error"]["field"]) == (403, "insuplc_admdvs")
    assert await svc.state() == before


async def test_the_sandbox_loads_through_the_api_and_a_rebuild_equals_the_live_read_models(
    svc: Any,
) -> None:
    summary = await load_into(svc.client, SHARED / "sandbox")
    assert summary == (
        "44 users opened, 9 persons enrolled, 7 filings approved, 10 policies published"
    )
    assert await load_into(svc.client, SHARED / "sandbox") == (
        "0 users opened, 0 persons enrolled, 0 filings approved, 0 policies published"
    )

    shangluo = svc.auth("611000")
    [referral] = (
        await svc.client.get("/v1/filings?person_id=61100000000000000008", headers=shangluo)
    ).json()
    assert (referral["destination_institution"], referral["reviewer"]) == (None, "sandbox-611000")
    dead = (
        await svc.client.get("/v1/persons/32130000000000000006", headers=svc.auth(SUQIAN))
    ).json()
    assert dead["death_date"] == "2026-03-01"
    [resettled] = (
        await svc.client.get("/v1/filings?person_id=32050000000000000001", headers=svc.auth(SUZHOU))
    ).json()
    assert (resettled["valid_from"], resettled["status"]) == ("2026-01-01", "approved")

    context = svc.context
    [projection] = context.runtime.own
    async with context.runtime.engine.connect() as conn:
        live = await projection.snapshot(conn)
        certificates = await conn.scalar(sa.text("SELECT count(*) FROM person_certificates"))
    await rebuild_from_store(context.runtime.engine, context.runtime.store, projection)
    async with context.runtime.engine.connect() as conn:
        assert await projection.snapshot(conn) == live
        assert (
            await conn.scalar(sa.text("SELECT count(*) FROM person_certificates")) == certificates
        )
    assert len(live["persons"]) == 9


async def test_the_agency_api_is_documented(svc: Any) -> None:
    spec = (await svc.client.get("/openapi.json")).json()
    for path in ("/v1/persons", "/v1/persons/import", "/v1/filings", "/v1/filings/{filing_id}/approve",
                 "/v1/online/filings", "/v1/policies", "/v1/internal/his"):  # fmt: skip
        assert path in spec["paths"], path
    assert "certificate_no" in spec["components"]["schemas"]["EnrolRequest"]["properties"]
