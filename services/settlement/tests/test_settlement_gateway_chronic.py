"""Chronic-disease visits (med type 14) at the gateway, refused: a disease the person is not
certified for on the visit day (never, or the certificate revoked), or a visit that names no
disease, is refused at 2206 and 2207 with err_msg naming dise_codg and the disease, and nothing
is written; 5301 tells the certificates in force. The policy is the first chronic vector's (tests/vectors/benefits.json)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from yidi_events.contracts.filing import ChronicDiseaseRevoked

VECTORS = Path(__file__).resolve().parent / "vectors" / "benefits.json"
CASE: dict[str, Any] = next(
    c for c in json.loads(VECTORS.read_text(encoding="utf-8")) if c.get("med_type") == "14"
)
HOSPITAL, REGION = "H33010000001", "330100"
INSURED = CASE["policy"]["insuplc_admdvs"]
PERSON = f"{INSURED}00000000000000"
CERTNO = f"{INSURED}198001010011"
VOUCHER = {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}
DAY = date(2026, 3, 10)
STAMP = "2026-03-10 08:00:00"
ENV = {"region": REGION, "insured": INSURED}


async def _world(h: Any) -> None:
    await h.hospital(HOSPITAL, REGION, "2")
    await h.catalogue(REGION, CASE["catalog"])
    await h.policy(CASE["policy"])
    await h.person(
        {
            **CASE["person"],
            "psn_no": PERSON,
            "insuplc_admdvs": INSURED,
            "insutype": "310",
            "certno": CERTNO,
        }
    )
    await h.filing(
        {
            "psn_no": PERSON,
            "filing_kind": "long_term",
            "insuplc_admdvs": INSURED,
            "mdtrtarea_admvs": REGION,
            "begndate": "2026-01-01",
            "enddate": None,
        }
    )
    await h.chronic(PERSON, "M03900", date(2026, 3, 1), INSURED)


async def _visit(h: Any, disease: str | None) -> dict[str, Any]:
    """2201 med type 14 (naming `disease` as dise_codg, if any) and 2204; the 2206/2207 input."""
    encounter = {
        "psn_no": PERSON,
        "insutype": "310",
        "med_type": "14",
        "begntime": STAMP,
        **VOUCHER,
        **({"dise_codg": disease} if disease else {}),
    }
    visit_id = (await h.ok("2201", {"data": encounter}, HOSPITAL, **ENV))["data"]["mdtrt_id"]
    rows = [
        {**line, "mdtrt_id": visit_id, "psn_no": PERSON, "fee_ocur_time": f"{DAY} 08:30:00"}
        for line in CASE["fee_lines"]
    ]
    await h.ok("2204", {"feedetail": rows}, HOSPITAL, **ENV)
    return {
        "data": {
            "psn_no": PERSON,
            "mdtrt_id": visit_id,
            "acct_used_flag": "0",
            "medfee_sumamt": "600.00",
            "insutype": "310",
            **VOUCHER,
        }
    }


async def _refused(h: Any, settle: dict[str, Any]) -> list[str]:
    before = await h.counts()
    said = []
    for infno in ("2206", "2207"):
        answer = await h.his(infno, settle, HOSPITAL, **ENV)
        assert answer["infcode"] == -1, answer
        said.append(answer["err_msg"])
    assert await h.counts() == before
    return said


async def test_an_uncertified_disease_is_refused_naming_it_and_nothing_is_written(
    make_harness: Any,
) -> None:
    async with make_harness(datetime(2026, 3, 10, 1, 0, tzinfo=UTC)) as h:
        await _world(h)
        said = await _refused(h, await _visit(h, "M01600"))
        assert (
            said
            == [
                "dise_codg：该人员在就诊日期没有该门诊慢特病病种的有效备案，不能按门诊慢特病结算，"
                "病种 M01600，就诊日期 2026-03-10（settlement.chronic_not_certified）"
            ]
            * 2
        )


async def test_a_revoked_certificate_no_longer_settles_and_a_visit_must_name_its_disease(
    make_harness: Any,
) -> None:
    async with make_harness(datetime(2026, 3, 10, 1, 0, tzinfo=UTC)) as h:
        await _world(h)
        query = {"data": {"psn_no": PERSON}}
        assert (await h.ok("5301", query, HOSPITAL, **ENV))["feedetail"] == [
            {
                "opsp_dise_code": "M03900",
                "opsp_dise_name": "M03900",  # the harness names a disease by its code
                "begndate": "2026-03-01",
                "enddate": None,
            }
        ]
        settle = await _visit(h, "M03900")
        ok = await h.ok("2206", settle, HOSPITAL, **ENV)  # certified from 1 March
        assert str(ok["setlinfo"]["hifp_pay"]) == "325.00"
        await h.feed(
            ChronicDiseaseRevoked(
                certificate_id=f"C-{PERSON}-M03900",
                person_id=PERSON,
                disease_code="M03900",
                reason="误诊",
                revoked_on=DAY,
            ),
            f"person-{PERSON}",
        )
        assert (await h.ok("5301", query, HOSPITAL, **ENV))["feedetail"] == []
        [said, _] = await _refused(h, settle)
        assert "病种 M03900" in said
        assert said.endswith("（settlement.chronic_not_certified）")
        [unnamed, _] = await _refused(h, await _visit(h, None))
        assert unnamed.startswith("dise_codg：")
        assert unnamed.endswith("（settlement.chronic_disease_required）")
