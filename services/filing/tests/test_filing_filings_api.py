"""Filing rules through the API against real PostgreSQL: who may file, validity, the promise
lock, referral destination, emergency, retroactive filing, review by the insured agency's
reviewers only, hospital referrals forwarded by the HIS gateway; each accepted command's events
and each refusal's field, rule and empty footprint."""

from __future__ import annotations

from typing import Any

SUZHOU, WUXI, NANJING, SHANGLUO = "320500", "320200", "320100", "611000"
P1 = "32050000000000000201"
P2 = "32050000000000000202"
P8 = "61100000000000000208"


async def _refused(svc: Any, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Post, expect a 4xx, and check that nothing at all was written."""
    before = await svc.state()
    response = await svc.post(path, body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert await svc.state() == before
    error: dict[str, Any] = response.json()["error"]
    return error | {"status": response.status_code}


async def test_a_person_files_online_for_themselves_and_is_approved_at_once(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    await svc.enrol(P2, SUZHOU, seq=2)
    body = {"kind": "other_temporary", "visit_region": NANJING}

    response = await svc.post("/v1/online/filings", body, headers=svc.person_auth(P1, SUZHOU))

    assert response.status_code == 201, response.text
    filing = response.json()
    assert filing["status"] == "approved"
    assert (filing["channel"], filing["valid_from"], filing["valid_to"]) == (
        "online",
        "2026-03-02",
        "2026-09-01",  # at least 6 months
    )
    assert await svc.event_types(f"filing-{filing['filing_id']}") == [
        "filing.FilingSubmitted",
        "filing.FilingApproved",
    ]
    mine = await svc.client.get("/v1/online/filings", headers=svc.person_auth(P1, SUZHOU))
    assert [f["filing_id"] for f in mine.json()] == [filing["filing_id"]]
    # P2 cannot see P1's filing; an agency token cannot use the person channel.
    peek = await svc.client.get(
        f"/v1/filings/{filing['filing_id']}", headers=svc.person_auth(P2, SUZHOU)
    )
    assert peek.status_code == 403
    agency = await _refused(svc, "/v1/online/filings", body, svc.auth(SUZHOU))
    assert (agency["status"], agency["rule"]) == (403, "filing.online_self_only")


async def test_who_may_file_at_the_counter_and_for_whom(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {"person_id": P1, "kind": "other_temporary", "visit_region": NANJING}

    other_agency = await _refused(svc, "/v1/filings", body, svc.auth(WUXI))
    person_at_counter = await _refused(svc, "/v1/filings", body, svc.person_auth(P1, SUZHOU))
    local = await _refused(svc, "/v1/filings", body | {"visit_region": "320508"}, svc.auth(SUZHOU))
    unknown = await _refused(svc, "/v1/filings", body | {"person_id": "3" * 20}, svc.auth(SUZHOU))

    assert (other_agency["status"], other_agency["rule"]) == (403, "auth.region")
    assert (person_at_counter["status"], person_at_counter["rule"]) == (403, "auth.kind")
    assert (local["rule"], local["field"]) == ("filing.local_visit", "visit_region")
    assert (unknown["status"], unknown["rule"]) == (404, "person.not_enrolled")

    await svc.post(
        f"/v1/persons/{P1}/death", {"death_date": "2026-03-01"}, headers=svc.auth(SUZHOU)
    )
    dead = await _refused(svc, "/v1/filings", body, svc.auth(SUZHOU))
    assert (dead["status"], dead["rule"]) == (409, "filing.person_deceased")


async def test_validity_of_a_temporary_filing_is_at_least_six_months(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {"person_id": P1, "kind": "other_temporary", "visit_region": NANJING}

    short = await _refused(svc, "/v1/filings", body | {"valid_to": "2026-08-31"}, svc.auth(SUZHOU))
    long_term_end = await _refused(
        svc,
        "/v1/filings",
        body | {"kind": "long_term", "long_term_type": "resident_worker", "valid_to": "2027-01-01"},
        svc.auth(SUZHOU),
    )
    ok = await svc.post("/v1/filings", body | {"valid_to": "2026-09-01"}, headers=svc.auth(SUZHOU))

    assert (short["rule"], short["field"]) == ("filing.validity_too_short", "valid_to")
    assert (long_term_end["rule"], long_term_end["field"]) == (
        "filing.long_term_end_date",
        "valid_to",
    )
    assert ok.status_code == 201
    assert ok.json()["valid_to"] == "2026-09-01"


async def test_long_term_without_documents_waits_for_a_reviewer_of_its_own_agency(
    svc: Any,
) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {
        "person_id": P1,
        "kind": "long_term",
        "long_term_type": "long_term_resident",
        "visit_region": NANJING,
    }
    pending = (await svc.post("/v1/filings", body, headers=svc.auth(SUZHOU))).json()
    filing_id = pending["filing_id"]
    assert pending["status"] == "pending"
    assert pending["review_due"] == "2026-03-04"  # 2 working days
    assert pending["review_reasons"] == ["filing.long_term_without_documents"]
    queue = await svc.client.get("/v1/filings?status=pending", headers=svc.auth(SUZHOU))
    assert [f["filing_id"] for f in queue.json()] == [filing_id]

    approve = f"/v1/filings/{filing_id}/approve"
    no_role = await _refused(svc, approve, None, svc.auth(SUZHOU))
    other = await _refused(svc, approve, None, svc.auth(WUXI, "reviewer"))
    centre = await _refused(svc, approve, None, svc.auth("320000", "reviewer", kind="centre"))
    assert (no_role["status"], no_role["rule"]) == (403, "auth.role")
    assert (other["status"], other["rule"]) == (403, "filing.review_own_queue")
    assert centre["rule"] == "filing.review_own_queue"

    approved = await svc.post(approve, headers=svc.auth(SUZHOU, "reviewer", user="审核员A"))
    assert approved.json()["status"] == "approved"
    assert approved.json()["reviewer"] == "审核员A"
    again = await _refused(svc, approve, None, svc.auth(SUZHOU, "reviewer"))
    assert (again["status"], again["rule"]) == (409, "filing.not_pending")

    second = (await svc.post("/v1/filings", body, headers=svc.auth(SUZHOU))).json()
    rejected = await svc.post(
        f"/v1/filings/{second['filing_id']}/reject",
        {"reason": "材料不全"},
        headers=svc.auth(SUZHOU, "reviewer"),
    )
    assert rejected.json()["status"] == "rejected"
    assert await svc.event_types(f"filing-{second['filing_id']}") == [
        "filing.FilingSubmitted",
        "filing.FilingRejected",
    ]


async def test_promise_based_filing_is_locked_for_six_months(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {
        "person_id": P1,
        "kind": "long_term",
        "long_term_type": "resident_worker",
        "visit_region": WUXI,
        "promise_based": True,
    }
    filing = (await svc.post("/v1/filings", body, headers=svc.auth(SUZHOU))).json()
    assert filing["status"] == "approved"  # the promise stands in for documents
    path = f"/v1/filings/{filing['filing_id']}"

    change = {"reason": "搬家", "visit_region": NANJING}
    locked = await _refused(svc, f"{path}/change", change, svc.auth(SUZHOU))
    cancel_locked = await _refused(svc, f"{path}/cancel", {"reason": "不去了"}, svc.auth(SUZHOU))
    assert (locked["status"], locked["rule"]) == (409, "filing.promise_lock")
    assert "2026-09-02" in locked["message"]
    assert cancel_locked["rule"] == "filing.promise_lock"

    await svc.advance(days=184)  # 2026-09-02
    changed = await svc.post(f"{path}/change", change, headers=svc.person_auth(P1, SUZHOU))
    assert changed.status_code == 200, changed.text
    assert changed.json()["visit_region"] == NANJING
    cancelled = await svc.post(f"{path}/cancel", {"reason": "回原籍"}, headers=svc.auth(SUZHOU))
    assert cancelled.json()["status"] == "cancelled"
    assert await svc.event_types(f"filing-{filing['filing_id']}") == [
        "filing.FilingSubmitted",
        "filing.FilingApproved",
        "filing.FilingChanged",
        "filing.FilingCancelled",
    ]


async def test_referral_destination_rules_per_insured_place(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    await svc.enrol(P8, SHANGLUO, insurance_type="390")
    body = {"person_id": P1, "kind": "referral", "visit_region": NANJING, "diagnosis": "C34.900"}

    whole_city = await _refused(svc, "/v1/filings", body, svc.auth(SUZHOU))
    assert (whole_city["rule"], whole_city["field"]) == (
        "filing.referral_destination",
        "destination_institution",
    )
    no_diagnosis = await _refused(
        svc,
        "/v1/filings",
        body | {"diagnosis": None, "destination_institution": "H32010000001"},
        svc.auth(SUZHOU),
    )
    assert (no_diagnosis["rule"], no_diagnosis["field"]) == (
        "filing.diagnosis_required",
        "diagnosis",
    )
    # Cancer is on the unconditional-referral catalogue: no opinion needed, approved at once.
    cancer = await svc.post(
        "/v1/filings", body | {"destination_institution": "H32010000001"}, headers=svc.auth(SUZHOU)
    )
    assert cancer.json()["status"] == "approved"
    assert cancer.json()["destination_institution"] == "H32010000001"

    # Shangluo allows the whole city; asthma without an opinion goes to its reviewer.
    asthma = body | {"person_id": P8, "diagnosis": "J45.900"}
    pending = (await svc.post("/v1/filings", asthma, headers=svc.auth(SHANGLUO))).json()
    assert (pending["status"], pending["destination_institution"]) == ("pending", None)
    assert pending["review_reasons"] == ["filing.referral_without_opinion"]
    with_opinion = await svc.post(
        "/v1/filings",
        asthma | {"referral_opinion_from": "H61100000001"},
        headers=svc.auth(SHANGLUO),
    )
    assert with_opinion.json()["status"] == "approved"

    # Re-referral (再次转院) is a change of the filing.
    rereferral = await svc.post(
        f"/v1/filings/{cancer.json()['filing_id']}/change",
        {"reason": "再次转院", "destination_institution": "H32010000002"},
        headers=svc.auth(SUZHOU),
    )
    assert rereferral.json()["destination_institution"] == "H32010000002"


async def test_emergency_is_treated_as_filed_from_the_admission(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {"person_id": P1, "kind": "emergency", "visit_region": NANJING}

    no_admission = await _refused(svc, "/v1/filings", body, svc.auth(SUZHOU))
    settled = await _refused(
        svc,
        "/v1/filings",
        body | {"admission_date": "2026-02-27", "discharge_settled": True},
        svc.auth(SUZHOU),
    )
    ok = await svc.post(
        "/v1/filings", body | {"admission_date": "2026-02-27"}, headers=svc.auth(SUZHOU)
    )

    assert (no_admission["rule"], no_admission["field"]) == (
        "filing.admission_required",
        "admission_date",
    )
    assert settled["rule"] == "filing.retroactive_after_discharge"
    assert ok.json()["status"] == "approved"
    assert (ok.json()["valid_from"], ok.json()["valid_to"]) == ("2026-02-27", "2026-08-26")


async def test_retroactive_filing_only_before_discharge_settlement(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {
        "person_id": P1,
        "kind": "other_temporary",
        "visit_region": NANJING,
        "valid_from": "2026-02-20",
    }

    not_in_hospital = await _refused(svc, "/v1/filings", body, svc.auth(SUZHOU))
    before_admission = await _refused(
        svc, "/v1/filings", body | {"admission_date": "2026-02-25"}, svc.auth(SUZHOU)
    )
    after_discharge = await _refused(
        svc,
        "/v1/filings",
        body | {"admission_date": "2026-02-20", "discharge_settled": True},
        svc.auth(SUZHOU),
    )
    ok = await svc.post(
        "/v1/filings", body | {"admission_date": "2026-02-20"}, headers=svc.auth(SUZHOU)
    )

    assert not_in_hospital["rule"] == "filing.retroactive_needs_admission"
    assert before_admission["rule"] == "filing.retroactive_before_admission"
    assert after_discharge["rule"] == "filing.retroactive_after_discharge"
    assert ok.json()["status"] == "approved"
    assert ok.json()["valid_from"] == "2026-02-20"


async def test_retroactive_filing_after_a_self_paid_discharge_covers_the_stay(svc: Any) -> None:
    """An emergency in Nanjing from 10 to 16 February, paid in full at discharge; the person files
    online on 2 March (补办) and will claim manual reimbursement for the stay."""
    await svc.enrol(P1, SUZHOU)
    body = {
        "kind": "emergency",
        "visit_region": NANJING,
        "admission_date": "2026-02-10",
        "discharge_date": "2026-02-16",
        "discharge_settled": True,
        "self_paid_discharge": True,
    }
    me = svc.person_auth(P1, SUZHOU)

    unmarked = await _refused(svc, "/v1/online/filings", body | {"self_paid_discharge": False}, me)
    no_discharge = await _refused(svc, "/v1/online/filings", body | {"discharge_date": None}, me)
    discharged_later = await _refused(
        svc, "/v1/online/filings", body | {"discharge_date": "2026-03-03"}, me
    )
    discharged_first = await _refused(
        svc, "/v1/online/filings", body | {"discharge_date": "2026-02-09"}, me
    )
    begins_later = await _refused(
        svc, "/v1/online/filings", body | {"valid_from": "2026-02-11"}, me
    )
    ok = await svc.post("/v1/online/filings", body, headers=me)

    assert (unmarked["rule"], unmarked["field"]) == (
        "filing.discharge_date_not_allowed",
        "discharge_date",
    )
    assert (no_discharge["rule"], no_discharge["field"]) == (
        "filing.self_paid_needs_discharge",
        "discharge_date",
    )
    assert (discharged_later["rule"], discharged_later["field"]) == (
        "filing.discharge_in_future",
        "discharge_date",
    )
    assert (discharged_first["rule"], discharged_first["field"]) == (
        "filing.discharge_before_admission",
        "discharge_date",
    )
    assert (begins_later["rule"], begins_later["field"]) == (
        "filing.self_paid_begin_after_admission",
        "valid_from",
    )
    assert ok.status_code == 201, ok.text
    filing = ok.json()
    # From the admission day; temporary: 10 Feb + 6 months = 10 Aug, less a day.
    assert (filing["status"], filing["valid_from"], filing["valid_to"]) == (
        "approved",
        "2026-02-10",
        "2026-08-09",
    )
    stored = {
        kind: payload
        for stream, kind, _, payload in await svc.events()
        if stream == f"filing-{filing['filing_id']}"
    }
    assert list(stored) == ["filing.FilingSubmitted", "filing.FilingApproved"]
    submitted = stored["filing.FilingSubmitted"]
    assert (submitted["self_paid_discharge"], submitted["discharge_date"]) == (True, "2026-02-16")
    # What reimbursement consumes: the approval's dates cover the stay it was filed for.
    approved = stored["filing.FilingApproved"]
    assert (approved["person_id"], approved["kind"], approved["visit_region"]) == (
        P1,
        "emergency",
        NANJING,
    )
    assert (approved["valid_from"], approved["valid_to"]) == ("2026-02-10", "2026-08-09")


async def test_a_malformed_request_is_a_422_naming_the_field(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    bad_kind = await _refused(
        svc,
        "/v1/filings",
        {"person_id": P1, "kind": "holiday", "visit_region": NANJING},
        svc.auth(SUZHOU),
    )
    bad_date = await _refused(
        svc,
        "/v1/filings",
        {"person_id": P1, "kind": "emergency", "visit_region": NANJING, "admission_date": "x"},
        svc.auth(SUZHOU),
    )
    assert (bad_kind["status"], bad_kind["field"]) == (422, "kind")
    assert bad_date["field"] == "admission_date"


def _filings_queue(metrics: str, gauge: str, region: str) -> float:
    for line in metrics.splitlines():
        labels = ('queue="filings_to_review"', f'region="{region}"', 'service="filing"')
        if line.startswith(f"{gauge}{{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {gauge} for {region}")


async def test_filings_waiting_for_review_and_the_late_ones_are_metrics(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    body = {
        "person_id": P1,
        "kind": "long_term",
        "long_term_type": "long_term_resident",
        "visit_region": NANJING,
    }
    pending = (await svc.post("/v1/filings", body, headers=svc.auth(SUZHOU))).json()
    assert pending["review_due"] == "2026-03-04"  # Monday + 2 working days
    metrics = (await svc.client.get("/metrics")).text
    assert _filings_queue(metrics, "yidi_queue_waiting", SUZHOU) == 1
    assert _filings_queue(metrics, "yidi_queue_overdue", SUZHOU) == 0
    await svc.advance(days=2)  # Wednesday the 4th: the last allowed day, not late yet
    metrics = (await svc.client.get("/metrics")).text
    assert _filings_queue(metrics, "yidi_queue_overdue", SUZHOU) == 0
    await svc.advance(days=1)  # Thursday the 5th
    metrics = (await svc.client.get("/metrics")).text
    assert _filings_queue(metrics, "yidi_queue_overdue", SUZHOU) == 1
    await svc.post(
        f"/v1/filings/{pending['filing_id']}/approve", headers=svc.auth(SUZHOU, "reviewer")
    )
    metrics = (await svc.client.get("/metrics")).text
    assert _filings_queue(metrics, "yidi_queue_waiting", SUZHOU) == 0
    assert _filings_queue(metrics, "yidi_queue_overdue", SUZHOU) == 0
