"""Retail pharmacies through the HIS gateway: the sandbox pharmacy P32010000001 registered with
the sandbox, 2101 pre-settling (nothing kept), 2102 settling a purchase in one message (msgid
retry safe), 2103 cancelling it and 2601 reversing a 2102, every answer carrying the spec's 非空
fields typed; each kind of institution refused the other's transactions in Chinese; and the
pharmacy vectors (tests/vectors/pharmacy.json) giving their hand-worked figures through 2102."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from settlement_his_numbers import as_text, funds, spec_gaps

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.adapters.tables import hospitals, settlements
from yidi_settlement.his import vectors as wire
from yidi_settlement.his.signatures import csb_signature, tif_signature

HERE = Path(__file__).resolve().parent
PHARMACY = "P32010000001"  # 南京市老百姓大药房鼓楼店, 320100
HOSPITAL = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Nanjing
# 周杰: Suzhou employee in service, long-term in Nanjing, account 2500.00. The sandbox's Suzhou
# policy has no pharmacy part, so a purchase is paid by the account and cash only.
ZHOU = {"psn_no": "32050000000000000007", "certno": "320500199512300772"}
DRUGS = [
    # XA001 class A, no cap: 10 x 25.50 = 255.00, all in policy
    {"feedetl_sn": "1", "med_list_codg": "XA001", "cnt": "10", "pric": "25.50"},
    # XB003 class B, cap 50.00, self-pay 0.20: 4 x 65.00 = 260.00; over the cap
    # (65.00 - 50.00) x 4 = 60.00; pre-self-paid (260.00 - 60.00) x 0.20 = 40.00; in policy 160.00
    {"feedetl_sn": "2", "med_list_codg": "XB003", "cnt": "4", "pric": "65.00"},
    # C001 class C: 120.00 fully self-paid
    {"feedetl_sn": "3", "med_list_codg": "C001", "cnt": "1", "pric": "120.00"},
]
AMOUNTS = {"1": "255.00", "2": "260.00", "3": "120.00"}


def _purchase(acct_used: str, person: dict[str, str] = ZHOU, **changes: Any) -> dict[str, Any]:
    return {
        "druginfo": {
            "psn_no": person["psn_no"],
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": person["certno"],
            "psn_cert_type": "01",
            "certno": person["certno"],
            "psn_type": "1101",
            "psn_name": "周杰",
            "begntime": "2026-03-10 09:00:00",
            "medfee_sumamt": "635.00",
            "insutype": "310",
            "acct_used_flag": acct_used,
            "med_type": "41",
            **changes,
        },
        "drugdetail": [
            {
                **line,
                "det_item_fee_sumamt": AMOUNTS[line["feedetl_sn"]],
                "rx_circ_flag": "0",
                "fee_ocur_time": "2026-03-10 09:00:00",
                "medins_list_codg": f"YD-{line['med_list_codg']}",
            }
            for line in DRUGS
        ],
    }


async def _balance(h: Any) -> Decimal:
    person = await h.ok(
        "1101",
        {
            "data": {
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": ZHOU["certno"],
                "psn_cert_type": "01",
                "certno": ZHOU["certno"],
            }
        },
        PHARMACY,
    )
    balance: Decimal = person["insuinfo"][0]["balc"]
    return balance


async def _settlement_rows(h: Any) -> list[dict[str, Any]]:
    async with h.runtime.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(settlements).where(settlements.c.institution_code == PHARMACY)
        )
        return [dict(r) for r in rows.mappings()]


# 635.00 = 120.00 own + 60.00 over the cap + 40.00 pre-self-paid + 415.00 in policy; no fund.
MONEY = {
    "medfee_sumamt": "635.00",
    "fulamt_ownpay_amt": "120.00",
    "overlmt_selfpay": "60.00",
    "preselfpay_amt": "40.00",
    "inscp_scp_amt": "415.00",
    "act_pay_dedc": "0.00",
    "hifp_pay": "0.00",
    "fund_pay_sumamt": "0.00",
}


async def test_the_sandbox_pharmacy_presettles_settles_cancels_and_reverses(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        async with h.runtime.engine.connect() as conn:
            kind = await conn.scalar(
                sa.select(hospitals.c.kind).where(hospitals.c.institution_code == PHARMACY)
            )
        assert kind == "pharmacy"

        # 2101: the account would pay all 635.00 of 2500.00; nothing is kept
        before = await h.counts()
        pre = await h.ok("2101", _purchase("1"), PHARMACY)
        assert spec_gaps("2101", pre) == []
        info = pre["setlinfo"]
        assert as_text({k: info[k] for k in MONEY}) == MONEY
        assert as_text([info["acct_pay"], info["psn_cash_pay"], info["balc"]]) == [
            "635.00",
            "0.00",
            "1865.00",
        ]
        assert (info["med_type"], info["clr_type"]) == ("41", "41")
        assert [r["feedetl_sn"] for r in pre["detlcutinfo"]] == ["1", "2", "3"]
        assert as_text(pre["detlcutinfo"][1]["overlmt_amt"]) == "60.00"
        assert (await h.counts())[0] == before[0]  # no event: only the answer is kept
        assert await _settlement_rows(h) == []
        assert await _balance(h) == Decimal("2500.00")

        # 2102 without the account: all 635.00 in cash; a retry by msgid answers the same once
        cash = await h.ok("2102", _purchase("0"), PHARMACY, msgid="PHARM-CASH")
        assert spec_gaps("2102", cash) == []
        assert as_text(cash["setlinfo"]["psn_cash_pay"]) == "635.00"
        assert cash["setldetail"] == []
        counted = await h.counts()
        retried = await h.ok("2102", _purchase("0"), PHARMACY, msgid="PHARM-CASH")
        assert retried == cash
        assert await h.counts() == counted
        [row] = await _settlement_rows(h)
        # the settled fact reconciliation (3201) and clearing count: a settlement of med type 41
        assert (row["medical_type"], row["clearing_category"]) == ("41", "41")
        assert row["settlement_id"] == cash["setlinfo"]["setl_id"]

        # 2103 cancels it: the negative record, as the spec's 2103 output tells it
        undone = await h.ok(
            "2103",
            {
                "data": {
                    "setl_id": cash["setlinfo"]["setl_id"],
                    "mdtrt_id": cash["setlinfo"]["mdtrt_id"],
                    "psn_no": ZHOU["psn_no"],
                }
            },
            PHARMACY,
        )
        assert spec_gaps("2103", undone) == []
        assert as_text(undone["setlinfo"]["medfee_sumamt"]) == "-635.00"

        # 2102 with the account (635.00 of 2500.00 leaves 1865.00), then 2601 reverses it
        paid = await h.ok("2102", _purchase("1"), PHARMACY, msgid="PHARM-ACCT")
        assert as_text(funds(paid["setldetail"])) == [
            {"fund_pay_type": "310200", "fund_payamt": "635.00"}
        ]
        assert await _balance(h) == Decimal("1865.00")
        reversed_ = await h.ok(
            "2601",
            {"data": {"psn_no": ZHOU["psn_no"], "omsgid": "PHARM-ACCT", "oinfno": "2102"}},
            PHARMACY,
        )
        assert reversed_["data"]["reversed"] == paid["setlinfo"]["setl_id"]
        assert await _balance(h) == Decimal("2500.00")
        rows = await _settlement_rows(h)
        assert sum(r["totals"]["total_fee"] for r in rows) == 0  # two settled, two undone
        assert len(rows) == 4


SANDBOX_PHARMACY = next(
    p
    for p in json.loads((shared_dir() / "sandbox/pharmacies.json").read_text("utf-8"))
    if p["fixmedins_code"] == PHARMACY
)


def _signed(profile: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    """The sandbox pharmacy's headers in each profile, from pharmacies.json's credentials."""
    cred = SANDBOX_PHARMACY
    if profile == "tif":
        stamp = str(int(at.timestamp()))
        return {
            "x-tif-paasid": cred["tif_paasid"],
            "x-tif-timestamp": stamp,
            "x-tif-nonce": nonce,
            "x-tif-signature": tif_signature(cred["tif_token"], stamp, nonce),
        }
    if profile == "csb":
        headers = {
            "_api_name": "hsa-fsi",
            "_api_version": "1.0.0",
            "_api_timestamp": str(int(at.timestamp() * 1000)),
            "_api_access_key": cred["csb_access_key"],
            "_api_nonce": nonce,
        }
        return {**headers, "_api_signature": csb_signature(cred["csb_secret_key"], headers)}
    return sign(cred["his_secret"], PHARMACY, body, at)


@pytest.mark.parametrize(
    ("profile", "path"),
    [
        ("tif", "/ebus/gdyb_api/prd/hsa/hgs/2101"),
        ("csb", "/CSB/hsa-fsi-2101"),
        ("hmac", "/fsi/api/rsfComIfsService/callService"),
    ],
)
async def test_the_sandbox_pharmacy_signs_with_each_profile(
    make_harness: Any, profile: str, path: str
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        body = h.envelope("2101", _purchase("0"), PHARMACY)
        signed = _signed(profile, body, h.runtime.clock.now(), "7")
        response = await h.client.post(
            path, content=body, headers={**signed, "content-type": "application/json"}
        )
        answer = response.json()
        assert answer["infcode"] == 0, answer["err_msg"]
        assert answer["output"]["setlinfo"]["psn_cash_pay"] == 635.0


async def test_each_kind_of_institution_is_refused_the_others_transactions(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        before = await h.counts()
        register = {
            "data": {
                "psn_no": ZHOU["psn_no"],
                "insutype": "310",
                "med_type": "11",
                "begntime": "2026-03-10 09:00:00",
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": ZHOU["certno"],
            }
        }
        for infno, payload in (("2201", register), ("2401", {"mdtrtinfo": register["data"]})):
            refused = await h.his(infno, payload, PHARMACY)
            assert refused["infcode"] == -1
            assert "定点零售药店" in refused["err_msg"]
            assert infno in refused["err_msg"]
        refused = await h.his("2102", _purchase("1"), HOSPITAL)
        assert refused["infcode"] == -1
        assert "不能办理药店结算" in refused["err_msg"]
        # nothing recorded and no answer kept: the refusal comes before the message runs
        assert await h.counts() == before


async def test_a_purchase_refuses_another_med_type_and_a_missing_drug_field(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        wrong = await h.his("2102", _purchase("1", med_type="11"), PHARMACY)
        assert wrong["infcode"] == -1
        assert "41" in wrong["err_msg"]
        bare = _purchase("1")
        del bare["drugdetail"][0]["rx_circ_flag"]
        missing = await h.his("2102", bare, PHARMACY)
        assert missing["infcode"] == -1
        assert "rx_circ_flag" in missing["err_msg"]
        assert await _settlement_rows(h) == []


VECTORS = HERE / "vectors" / "pharmacy.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
ACROSS = "330100"  # Hangzhou: another province than every case's insured place


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_pharmacy_vector_through_2102(make_harness: Any, case: dict[str, Any]) -> None:
    expected = case["expected"]
    policy = parse_policy_document(case["policy"])
    day = date.fromisoformat(case.get("settled_on", case["policy"]["effective_from"]))
    year = policy.policy_year(day)
    stamp = f"{day.isoformat()} 08:00:00"
    code = "P33010000001"
    async with make_harness(datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)) as h:
        secret = "test-secret-pharmacy-0123456789"
        response = await h.client.post(
            "/v1/api/hospitals",
            headers=h.token(),
            json={
                "institution_code": code,
                "institution_name": "杭州测试药房",
                "region": ACROSS,
                "hospital_level": case["hospital_level"],
                "networked": True,
                "his_secret": secret,
                "kind": "pharmacy",
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "pharmacy"
        h.secrets[code] = secret
        await h.catalogue(ACROSS, case["catalog"])
        await h.policy(case["policy"])
        insured = case["policy"]["insuplc_admdvs"]
        person_id = f"{insured}00000000000000"
        certno = f"{insured}198001010011"
        await h.person(
            {
                **case["person"],
                "psn_no": person_id,
                "insuplc_admdvs": insured,
                "insutype": case["policy"]["insutype"],
                "certno": certno,
            }
        )
        await h.filing(
            {
                "psn_no": person_id,
                "filing_kind": case["filing_kind"],
                "insuplc_admdvs": insured,
                "mdtrtarea_admvs": ACROSS,
                "begndate": (day - timedelta(days=1)).isoformat(),
                "enddate": None,
            }
        )
        before = wire.accumulators_from_wire(case["accumulators_before"], year)
        await h.carry_in(person_id, before)
        purchase = {
            "druginfo": {
                "psn_no": person_id,
                "mdtrt_cert_type": "02",
                "mdtrt_cert_no": certno,
                "begntime": stamp,
                "medfee_sumamt": expected["setlinfo"]["medfee_sumamt"],
                "insutype": case["policy"]["insutype"],
                "acct_used_flag": case["acct_used_flag"],
                "med_type": "41",
            },
            "drugdetail": [
                {
                    **line,
                    "rx_circ_flag": "0",
                    "fee_ocur_time": stamp,
                    "medins_list_codg": f"YD-{line['med_list_codg']}",
                }
                for line in case["fee_lines"]
            ],
        }
        env = {"region": ACROSS, "insured": insured}
        pre = await h.ok("2101", purchase, code, **env)
        out = await h.ok("2102", purchase, code, **env)
        for answer in (pre, out):
            info = answer["setlinfo"]
            assert as_text({k: info[k] for k in expected["setlinfo"]}) == expected["setlinfo"]
            assert as_text(funds(answer["setldetail"])) == expected["setldetail"]
            assert as_text(info["balc"]) == (expected["acct_balance_after"] or "0.00")
            fields = ("feedetl_sn", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt")
            split = [{k: r[k] for k in (*fields, "inscp_scp_amt")} for r in answer["detlcutinfo"]]
            assert as_text(split) == expected["lines"]
        after = await h.accumulators(person_id, year)
        assert wire.accumulators_to_wire(after) == expected["accumulators_after"]
        # 2103 puts the year back exactly, outpatient pooling included
        await h.ok(
            "2103",
            {
                "data": {
                    "setl_id": out["setlinfo"]["setl_id"],
                    "mdtrt_id": out["setlinfo"]["mdtrt_id"],
                    "psn_no": person_id,
                }
            },
            code,
            **env,
        )
        assert await h.accumulators(person_id, year) == before
