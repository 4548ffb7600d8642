"""Insured persons through the agency API, against real PostgreSQL: enrolment and the events it
publishes, one person one number, refusals that name field and rule and write nothing, region
scoping, the all-or-nothing population import, and the person's later facts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from yidi_filing.domain.identity import resident_id_check_char

P1 = "32050000000000000101"
P2 = "32050000000000000102"
P3 = "32020000000000000103"
SUZHOU, WUXI = "320500", "320200"


def certno(seq: int) -> str:
    first17 = f"{SUZHOU}19800517{seq * 2 + 1:03d}"
    return first17 + resident_id_check_char(first17)


async def test_enrolment_publishes_the_whole_person_and_the_read_model_shows_it(svc: Any) -> None:
    person = await svc.enrol(P1, SUZHOU, card_serial="SC1", assistance_identities=["dibao"])

    assert person["insured_region"] == SUZHOU
    assert person["account_balance"] == 120000
    assert person["assistance_identities"] == ["dibao"]
    [(stream, kind, version, payload)] = await svc.events()
    assert (stream, kind, version) == (f"person-{P1}", "filing.PersonEnrolled", 1)
    assert payload["certificate_no"] == person["certificate_no"]
    assert payload["account_balance"] == 120000


async def test_a_second_basic_enrolment_of_the_same_number_is_refused_and_writes_nothing(
    svc: Any,
) -> None:
    first = await svc.enrol(P1, SUZHOU)
    before = await svc.state()
    certno = first["certificate_no"]
    # The same number, typed with a lower-case x or spaces, in another scheme and city.
    body = {
        "person_id": P3,
        "insured_region": WUXI,
        "insurance_type": "390",
        "person_category": "1501",
        "name": "另一个人",
        "certificate_no": f" {certno.lower()} ",
        "gender": "1",
        "birth_date": "1980-05-17",
    }
    refused = await svc.post("/v1/persons", body, headers=svc.auth(WUXI))

    assert refused.status_code == 409
    assert refused.json()["error"]["rule"] == "person.duplicate_enrolment"
    assert refused.json()["error"]["field"] == "certificate_no"
    assert certno not in refused.json()["error"]["message"]  # masked
    assert await svc.state() == before


async def test_bad_input_gets_a_4xx_naming_field_and_rule_and_leaves_nothing(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    before = await svc.state()
    good = {
        "person_id": P2,
        "insured_region": SUZHOU,
        "insurance_type": "310",
        "person_category": "1101",
        "name": "王五",
        "certificate_no": "320500198005170010",  # wrong check digit
        "gender": "1",
        "birth_date": "1980-05-17",
    }
    checksum = await svc.post("/v1/persons", good, headers=svc.auth(SUZHOU))
    missing = await svc.post(
        "/v1/persons", {k: v for k, v in good.items() if k != "name"}, headers=svc.auth(SUZHOU)
    )
    resident_civil = await svc.post(
        "/v1/persons",
        good | {"insurance_type": "390", "civil_servant": True},
        headers=svc.auth(SUZHOU),
    )

    assert checksum.status_code == 422
    assert checksum.json()["error"] | {"message": None} == {
        "rule": "person.certificate_checksum",
        "field": "certificate_no",
        "message": None,
    }
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "name"
    assert resident_civil.status_code == 422
    assert resident_civil.json()["error"]["rule"] == "person.civil_servant_resident"
    assert await svc.state() == before


async def test_an_agency_manages_only_persons_of_its_own_region(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    before = await svc.state()
    wuxi = svc.auth(WUXI)

    read = await svc.client.get(f"/v1/persons/{P1}", headers=wuxi)
    credit = await svc.post(
        f"/v1/persons/{P1}/account-credits", {"amount": 100, "reason": "x"}, headers=wuxi
    )
    enrol_elsewhere = await svc.post(
        "/v1/persons",
        {
            "person_id": P2,
            "insured_region": SUZHOU,
            "insurance_type": "310",
            "person_category": "1101",
            "name": "王五",
            "certificate_no": certno(41),
            "gender": "1",
            "birth_date": "1980-05-17",
        },
        headers=wuxi,
    )
    listing = await svc.client.get("/v1/persons", headers=wuxi)
    no_token = await svc.client.get(f"/v1/persons/{P1}")

    assert (read.status_code, read.json()["error"]["rule"]) == (403, "auth.region")
    assert (credit.status_code, credit.json()["error"]["rule"]) == (403, "auth.region")
    assert enrol_elsewhere.status_code == 403
    assert enrol_elsewhere.json()["error"]["field"] == "insured_region"
    assert listing.json() == []
    assert no_token.status_code == 401
    assert await svc.state() == before


async def test_status_account_death_and_benefit_decisions_publish_their_facts(svc: Any) -> None:
    await svc.enrol(P1, SUZHOU)
    me = svc.auth(SUZHOU)
    steps = [
        ("put", f"/v1/persons/{P1}/account-balance", {"account_balance": 50000, "reason": "年度划拨"}),
        ("post", f"/v1/persons/{P1}/account-debits", {"amount": 20000, "reason": "药店"}),
        ("post", f"/v1/persons/{P1}/enrolment-status",
         {"enrolment_status": "suspended", "effective_from": "2026-03-02", "reason": "断缴"}),
        ("post", f"/v1/persons/{P1}/benefits/suspension",
         {"effective_from": "2026-03-02", "until": "2026-06-30", "reason": "核查"}),
        ("post", f"/v1/persons/{P1}/benefits/resumption",
         {"effective_from": "2026-03-05", "reason": "核查结束"}),
        ("post", f"/v1/persons/{P1}/death", {"death_date": "2026-03-01"}),
    ]  # fmt: skip
    for method, path, body in steps:
        response = await svc.client.request(method, path, json=body, headers=me)
        assert response.status_code == 200, response.text

    overdraw = await svc.post(
        f"/v1/persons/{P1}/account-debits", {"amount": 1, "reason": "x"}, headers=me
    )
    assert (overdraw.status_code, overdraw.json()["error"]["rule"]) == (409, "person.deceased")
    assert await svc.event_types(f"person-{P1}") == [
        "filing.PersonEnrolled",
        "filing.AccountBalanceChanged",
        "filing.AccountBalanceChanged",
        "filing.EnrolmentStatusChanged",
        "filing.BenefitsSuspended",
        "filing.BenefitsResumed",
        "filing.PersonDied",
    ]
    person = (await svc.client.get(f"/v1/persons/{P1}", headers=me)).json()
    assert person["account_balance"] == 30000
    assert person["enrolment_status"] == "suspended"
    assert person["benefits"] == "active"
    assert person["death_date"] == "2026-03-01"


async def test_a_terminated_enrolment_releases_its_number(svc: Any) -> None:
    first = await svc.enrol(P1, SUZHOU)
    response = await svc.post(
        f"/v1/persons/{P1}/enrolment-status",
        {"enrolment_status": "terminated", "effective_from": "2026-03-02", "reason": "转出"},
        headers=svc.auth(SUZHOU),
    )
    assert response.status_code == 200
    again = await svc.enrol(P3, WUXI, certificate_no=first["certificate_no"])
    assert again["certificate_no"] == first["certificate_no"]


def _row(person_id: str, certno: str, **extra: Any) -> dict[str, Any]:
    return {
        "psn_no": person_id,
        "psn_name": "导入",
        "psn_cert_type": "01",
        "certno": certno,
        "gend": "1",
        "brdy": "1980-05-17",
        "insuplc_admdvs": SUZHOU,
        "insutype": "310",
        "psn_type": "1101",
        "acct_balance": "12.34",
    } | extra


async def test_population_import_is_all_or_nothing_and_reports_every_row_error(
    svc: Any,
) -> None:
    existing = await svc.enrol(P1, SUZHOU)
    me = svc.auth(SUZHOU)
    good = certno(40)
    before = await svc.state()

    bad_rows = [
        _row(P2, good),
        _row("32050000000000000104", "320500198005170010"),  # check digit
        _row("32050000000000000105", good, insutype="999"),
    ]
    refused = await svc.post(
        "/v1/persons/import", {"file_format": "json", "content": json.dumps(bad_rows)}, headers=me
    )
    assert refused.status_code == 422
    rows = {(e["row"], e["field"], e["rule"]) for e in refused.json()["errors"]}
    assert (2, "certificate_no", "person.certificate_checksum") in rows
    assert (3, "insurance_type", "import.insurance_type") in rows
    assert await svc.state() == before

    # A number already insured in the database refuses the whole file too.
    clash = [_row(P2, good), _row("32050000000000000104", existing["certificate_no"])]
    refused = await svc.post(
        "/v1/persons/import", {"file_format": "json", "content": json.dumps(clash)}, headers=me
    )
    assert refused.status_code == 422
    assert [(e["row"], e["rule"]) for e in refused.json()["errors"]] == [
        (2, "person.duplicate_enrolment")
    ]
    assert await svc.state() == before

    wrong_region = [_row(P2, good, insuplc_admdvs=WUXI)]
    refused = await svc.post(
        "/v1/persons/import",
        {"file_format": "json", "content": json.dumps(wrong_region)},
        headers=me,
    )
    assert refused.json()["errors"][0]["rule"] == "auth.region"

    csv = "psn_no,psn_name,certno,psn_cert_type,gend,brdy,insuplc_admdvs,insutype,psn_type,acct_balance\n"
    csv += f"{P2},导入,{good},01,1,1980-05-17,{SUZHOU},310,1101,12.34\n"
    accepted = await svc.post(
        "/v1/persons/import", {"file_format": "csv", "content": csv}, headers=me
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json() == {"enrolled": 1}
    imported = (await svc.client.get(f"/v1/persons/{P2}", headers=me)).json()
    assert imported["account_balance"] == 1234
    assert imported["birth_date"] == date(1980, 5, 17).isoformat()
