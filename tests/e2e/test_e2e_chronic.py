"""Issue 21 (chronic and special diseases) end to end: all five services as processes, the sandbox
loaded. Suzhou publishes chronic-disease terms, a Nanjing hospital certifies 张建国 (person 1,
retired employee of Suzhou, long-term filing for Nanjing) for hypertension through 2503, which
the gateway forwards to filing; the certificate travels to settlement, where med type 14 visits
for that disease settle on its terms and a disease he is not certified for is refused naming its
code; 2504 withdraws the certificate and the next visit is refused too. The tests run in file
order on one platform.

5301 tells the certificates in force before and after. Figures, by hand: the new policy (the
sandbox Suzhou employee policy, from 2 March 2026 with TERMS) pays M03900 高血压 as TERMS say;
the arithmetic is beside each visit. H32010000001 is level 3; a long-term filing
cuts 0 points; 张建国 is no civil servant and holds no assistance identity; no account is used.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from yidi_cli.his import HisClient, HisError
from yidi_cli.sandbox import sandbox_dir
from yidi_events.kernel.time import SHANGHAI

pytestmark = pytest.mark.e2e

NANJING = "H32010000001"  # level 3
SUZHOU = "320500"
HYPERTENSION = "M03900"
DIABETES = "M01600"
# M03900: deductible 100.00 a policy year, level-3 ratio 0.6000, cap 300.00 a policy year.
TERMS = {
    HYPERTENSION: {
        "name": "高血压",
        "deductible": "100.00",
        "ratio": {"1": "0.7000", "2": "0.6500", "3": "0.6000"},
        "cap": "300.00",
        "cap_period": "year",
        "shares_inpatient_deductible": False,
    }
}


def _suzhou_policy_with_chronic_terms() -> dict[str, Any]:
    policies = json.loads((sandbox_dir() / "policies.json").read_text("utf-8"))
    doc = next(p for p in policies if (p["insuplc_admdvs"], p["insutype"]) == (SUZHOU, "310"))
    return {**doc, "effective_from": "2026-03-02", "chronic_diseases": TERMS}


def _chronic_visit(his: HisClient, person: dict[str, str], disease: str, count: int) -> Any:
    """2201 (med type 14) -> 2203 naming the disease (dise_codg) -> 2204 XA001 (class A, no price
    cap) count x 45.00 -> 2207 without the account; returns the 2207 output."""
    now = his.clock.now().astimezone(SHANGHAI)
    stamp = f"{now:%Y-%m-%d %H:%M:%S}"
    voucher = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}
    base = {"psn_no": person["psn_no"], "insutype": person["insutype"]}
    registered = his.call(
        "2201",
        {
            "data": {
                **base,
                **voucher,
                "med_type": "14",
                "begntime": stamp,
                "ipt_otp_no": f"OP{his.last_message_id[-8:]}",
                "dept_code": "A01",
                "dept_name": "内科",
                "caty": "A01",
            }
        },
        SUZHOU,
    )
    visit_id = registered["data"]["mdtrt_id"]
    ref = {"mdtrt_id": visit_id, "psn_no": person["psn_no"]}
    his.call(
        "2203",
        {
            "mdtrtinfo": {
                **ref,
                "med_type": "14",
                "begntime": stamp,
                "dise_codg": disease,
                "dise_name": TERMS.get(disease, {"name": "糖尿病"})["name"],
            },
            "diseinfo": [],
        },
        SUZHOU,
    )
    amount = Decimal(45) * count
    his.call(
        "2204",
        {
            "feedetail": [
                {
                    **ref,
                    "feedetl_sn": "1",
                    "chrg_bchno": "B1",
                    "med_list_codg": "XA001",
                    "medins_list_codg": "XA001",
                    "cnt": str(count),
                    "pric": "45.00",
                    "det_item_fee_sumamt": f"{amount:.2f}",
                    "fee_ocur_time": stamp,
                }
            ]
        },
        SUZHOU,
    )
    return his.call(
        "2207",
        {
            "data": {
                **base,
                **voucher,
                "mdtrt_id": visit_id,
                "med_type": "14",
                "medfee_sumamt": f"{amount:.2f}",
                "acct_used_flag": "0",
                "psn_setlway": "01",
                "chrg_bchno": "B1",
            }
        },
        SUZHOU,
    )


def test_a_hospital_certifies_through_2503_and_the_certificate_reaches_both_places(
    world: Any, sandbox_persons: Any
) -> None:
    zhang = sandbox_persons["1"]
    filing = world.agency("filing", SUZHOU, roles=("reviewer",))
    published = filing.ok("POST", "/v1/policies", json=_suzhou_policy_with_chronic_terms())
    assert published["published"] is True
    answer = world.his(NANJING).call(
        "2503",
        {
            "data": {
                "psn_no": zhang["psn_no"],
                "insutype": "310",
                "opsp_dise_code": HYPERTENSION,
                "opsp_dise_name": "高血压",
                "insu_optins": SUZHOU,
                "ide_fixmedins_no": NANJING,
                "ide_fixmedins_name": "南京市第一医院",
                "hosp_ide_date": "2026-02-25",
                "diag_dr_codg": "D001",
                "diag_dr_name": "李医生",
                "begndate": "2026-03-02",
            }
        },
        SUZHOU,
    )
    certificate_id = answer["result"]["trt_dcla_detl_sn"]
    held = filing.ok("GET", f"/v1/persons/{zhang['psn_no']}/chronic-diseases")
    assert [(c["certificate_id"], c["disease_code"], c["channel"]) for c in held] == [
        (certificate_id, HYPERTENSION, "hospital")
    ]
    world.quiet()  # the policy and the certificate travel to settlement
    current = world.his(NANJING).call("5301", {"data": {"psn_no": zhang["psn_no"]}}, SUZHOU)
    assert current["feedetail"] == [
        {
            "opsp_dise_code": HYPERTENSION,
            "opsp_dise_name": "高血压",
            "begndate": "2026-03-02",
            "enddate": None,
        }
    ]


def test_chronic_visits_settle_on_the_diseases_terms_up_to_its_cap(
    world: Any, sandbox_persons: Any
) -> None:
    zhang = sandbox_persons["1"]
    his = world.his(NANJING)
    # 10 x 45.00 = 450.00 in policy; deductible 100.00 (none paid yet); 350.00 x 0.60 = 210.00;
    # room 300.00 - 0.00: hifp_pay 210.00; cash 450.00 - 210.00 = 240.00.
    first = _chronic_visit(his, zhang, HYPERTENSION, 10)["setlinfo"]
    assert (first["act_pay_dedc"], first["hifp_pay"], first["psn_cash_pay"]) == (
        Decimal("100.00"),
        Decimal("210.00"),
        Decimal("240.00"),
    )
    # 5 x 45.00 = 225.00; deductible paid; 225.00 x 0.60 = 135.00 > room 300.00 - 210.00 = 90.00:
    # hifp_pay 90.00, the cap reached; cash 225.00 - 90.00 = 135.00.
    second = _chronic_visit(his, zhang, HYPERTENSION, 5)["setlinfo"]
    assert (second["act_pay_dedc"], second["hifp_pay"], second["psn_cash_pay"]) == (
        Decimal("0.00"),
        Decimal("90.00"),
        Decimal("135.00"),
    )
    # The insured place counts the disease's year: 100.00 deductible, 300.00 paid.
    filing = world.agency("filing", SUZHOU)
    world.eventually(
        lambda: (
            filing.ok("GET", f"/v1/persons/{zhang['psn_no']}/years/2026")["totals"]["chronic"]
            == [
                {
                    "disease_code": HYPERTENSION,
                    "period": "2026",
                    "deductible_used": 10000,
                    "fund_paid": 30000,
                }
            ]
        ),
        what="the insured place counts M03900's year",
    )


def test_a_disease_the_person_is_not_certified_for_is_refused_naming_it(
    world: Any, sandbox_persons: Any
) -> None:
    with pytest.raises(HisError) as refused:
        _chronic_visit(world.his(NANJING), sandbox_persons["1"], DIABETES, 2)
    err = refused.value.answer["err_msg"]
    assert refused.value.infno == "2207"
    assert err.startswith("dise_codg："), err
    assert f"病种 {DIABETES}" in err, err
    assert err.endswith("（settlement.chronic_not_certified）"), err


def test_after_2504_withdraws_the_certificate_the_disease_no_longer_settles(
    world: Any, sandbox_persons: Any
) -> None:
    zhang = sandbox_persons["1"]
    filing = world.agency("filing", SUZHOU)
    [held] = filing.ok("GET", f"/v1/persons/{zhang['psn_no']}/chronic-diseases")
    world.his(NANJING).call(
        "2504",
        {
            "data": {
                "trt_dcla_detl_sn": held["certificate_id"],
                "psn_no": zhang["psn_no"],
                "memo": "鉴定有误",
            }
        },
        SUZHOU,
    )
    world.quiet()
    current = world.his(NANJING).call("5301", {"data": {"psn_no": zhang["psn_no"]}}, SUZHOU)
    assert current["feedetail"] == []
    with pytest.raises(HisError) as refused:
        _chronic_visit(world.his(NANJING), zhang, HYPERTENSION, 1)
    assert f"病种 {HYPERTENSION}" in refused.value.answer["err_msg"]
