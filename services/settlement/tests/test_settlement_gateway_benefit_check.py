"""2001 人员待遇享受检查 through the gateway: a filed person enjoys the basic fund at the hospital,
an unfiled one does not and is told why; the check records no visit."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from settlement_his_numbers import spec_gaps
from test_settlement_gateway_profiles import NANJING, PERSONS, START, call

from yidi_events.contracts.filing import (
    EnrolmentStatus,
    InsuranceType,
    PersonEnrolled,
    PersonIdentified,
)


def check_input(p: dict[str, Any]) -> dict[str, Any]:
    data = {
        "psn_no": p["psn_no"],
        "insutype": p["insutype"],
        "fixmedins_code": NANJING,
        "med_type": "11",
        "begntime": "2026-03-10 09:00:00",
    }
    return {"data": data}


async def test_a_filed_person_enjoys_benefits_and_an_unfiled_one_is_told_why_not(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        rows = {}
        for number, key in enumerate(("1", "4")):  # Suzhou, filed for Nanjing; Wuxi, not filed
            p = PERSONS[key]
            body = h.envelope("2001", check_input(p), NANJING, insured=p["insuplc_admdvs"])
            answer = await call(h, "tif", "hgs path", "2001", body, nonce=str(number))
            assert answer["infcode"] == 0, answer["err_msg"]
            assert spec_gaps("2001", answer["output"]) == []
            (rows[key],) = answer["output"]["trtinfo"]
        assert rows["1"]["trt_enjymnt_flag"] == "1"
        assert rows["1"]["fund_pay_type"] == "310100"
        assert rows["1"]["begndate"] == "2026-03-10"
        assert rows["1"]["trt_chk_rslt"] is None
        assert rows["4"]["trt_enjymnt_flag"] == "0"
        assert rows["4"]["trt_chk_rslt"] == (
            "psn_no：未办理覆盖该就医地和定点机构的有效异地就医备案，请先备案或按急诊登记，"
            "就医地 320100，机构 H32010000001，就诊日期 2026-03-10（eligibility.no_filing）"
        )
        async with h.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.text("select count(*) from visits")) == 0


async def test_a_suspended_person_does_not_enjoy_benefits(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        p = PERSONS["7"]
        await h.feed(
            PersonEnrolled(
                person_id=p["psn_no"],
                insured_region=p["insuplc_admdvs"],
                insurance_type=InsuranceType(p["insutype"]),
                person_category=p["psn_type"],
                civil_servant=False,
                assistance_identities=(),
                account_balance=0,
                enrolment_status=EnrolmentStatus.SUSPENDED,
                enrolled_on=date(2020, 1, 1),
            ),
            f"person-{p['psn_no']}",
        )
        await h.feed(
            PersonIdentified(
                person_id=p["psn_no"],
                name="测试",
                certificate_type="01",
                certificate_no=p["certno"],
                gender="1",
                birth_date=date(1980, 1, 1),
                card_serial=p.get("card_sn"),
            ),
            f"person-{p['psn_no']}.identity",
        )
        body = h.envelope("2001", check_input(p), NANJING, insured=p["insuplc_admdvs"])
        answer = await call(h, "csb", "CSB path", "2001", body)
        assert answer["infcode"] == 0, answer["err_msg"]
        (row,) = answer["output"]["trtinfo"]
        assert row["trt_enjymnt_flag"] == "0"
        assert (
            row["trt_chk_rslt"]
            == "psn_no：参保人员医保待遇已暂停（eligibility.benefits_suspended）"
        )


async def test_an_unknown_person_is_a_refused_request(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        unknown = {**PERSONS["1"], "psn_no": "32050000000000009999"}
        body = h.envelope("2001", check_input(unknown), NANJING, insured="320500")
        answer = await call(h, "hmac", "service path", "2001", body)
        assert answer["infcode"] == -1
        assert (
            answer["err_msg"]
            == "psn_no：未找到该参保人员（参保地尚未发布其参保信息，或凭证不符）（person.not_found）"
        ), answer["err_msg"]
