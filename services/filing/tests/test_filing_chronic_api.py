"""Chronic-disease certificates through filing's agency API, against real PostgreSQL: a reviewer of
the person's agency certifies and revokes, anyone else is refused and nothing is written, and a
malformed certificate is refused naming the field."""

from __future__ import annotations

from typing import Any

P1 = "32050000000000000101"
SUZHOU, WUXI = "320500", "320200"
BODY = {
    "disease_code": "M03900",
    "disease_name": "高血压",
    "evidence_institution": "H32050000001",
    "evidence_institution_name": "苏州市立医院",
    "evidence_date": "2026-02-20",
    "valid_from": "2026-03-01",
}
PATH = f"/v1/persons/{P1}/chronic-diseases"


async def test_a_reviewer_certifies_and_revokes_and_the_person_stream_holds_both(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    reviewer = svc.auth(SUZHOU, "reviewer")
    created = await svc.post(PATH, BODY, headers=reviewer)
    assert created.status_code == 201, created.text
    certificate = created.json()
    assert (certificate["disease_code"], certificate["channel"]) == ("M03900", "counter")
    assert (certificate["valid_from"], certificate["revoked_on"]) == ("2026-03-01", None)

    again = await svc.post(PATH, BODY, headers=reviewer)  # the same disease, the same days
    assert again.status_code == 409
    assert again.json()["error"]["rule"] == "chronic.already_certified"

    revoked = await svc.client.delete(
        f"{PATH}/{certificate['certificate_id']}", params={"reason": "误诊"}, headers=reviewer
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_on"] is not None
    listed = await svc.client.get(PATH, headers=svc.auth(SUZHOU))
    assert [c["certificate_id"] for c in listed.json()] == [certificate["certificate_id"]]
    assert await svc.event_types(f"person-{P1}") == [
        "filing.PersonEnrolled",
        "filing.ChronicDiseaseCertified",
        "filing.ChronicDiseaseRevoked",
    ]


async def test_only_a_reviewer_of_the_persons_agency_certifies_and_nothing_is_written(
    svc: Any,
) -> None:
    await svc.enrol(P1, SUZHOU)
    before = await svc.state()
    clerk = await svc.post(PATH, BODY, headers=svc.auth(SUZHOU))
    assert clerk.status_code == 403
    other = await svc.post(PATH, BODY, headers=svc.auth(WUXI, "reviewer"))
    assert other.status_code == 403
    malformed = await svc.post(
        PATH, {**BODY, "valid_to": "2026-02-01"}, headers=svc.auth(SUZHOU, "reviewer")
    )
    assert malformed.status_code == 422
    assert (malformed.json()["error"]["rule"], malformed.json()["error"]["field"]) == (
        "chronic.validity",
        "valid_to",
    )
    assert await svc.state() == before
