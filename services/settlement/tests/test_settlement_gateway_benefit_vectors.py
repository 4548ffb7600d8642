"""The settlement service's own benefit vectors (tests/vectors/benefits.json) through the HIS
gateway end to end, each giving exactly its hand-worked `expected`: outpatient pooling through
2201/2204/2206/2207 (and 2208 putting the year back), maternity and the inpatient parameters through 2401/2301/2402/2303/2304,
with the policy published as filing publishes it and the person's year as the insured place
states it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from settlement_his_numbers import as_text, funds

from yidi_events.kernel import yuan_to_fen
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.his import vectors as wire

VECTORS = Path(__file__).resolve().parent / "vectors" / "benefits.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
# Hangzhou is in another province than every case's insured place; Suzhou is in Nanjing's, for
# the cases that settle inside the insured province.
ACROSS = ("H33010000001", "330100")
INSIDE = ("H32050000001", "320500")
LINE_FIELDS = ("feedetl_sn", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_benefit_vector_through_the_gateway(make_harness: Any, case: dict[str, Any]) -> None:
    expected = case["expected"]
    policy = parse_policy_document(case["policy"])
    day = date.fromisoformat(case.get("settled_on", case["policy"]["effective_from"]))
    year = policy.policy_year(day)
    hospital, region = INSIDE if case.get("in_province") else ACROSS
    # 09:00 in Shanghai on the settlement day.
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    stamp = f"{day.isoformat()} 08:00:00"
    async with make_harness(start) as h:
        await h.hospital(hospital, region, case["hospital_level"])
        await h.catalogue(region, case["catalog"])
        await h.policy(case["policy"])
        insured = case["policy"]["insuplc_admdvs"]
        person_id = f"{insured}00000000000000"
        person = {
            **case["person"],
            "psn_no": person_id,
            "insuplc_admdvs": insured,
            "insutype": case["policy"]["insutype"],
            "certno": f"{insured}198001010011",
        }
        await h.person(person)
        await h.filing(
            {
                "psn_no": person_id,
                "filing_kind": case["filing_kind"],
                "insuplc_admdvs": insured,
                "mdtrtarea_admvs": region,
                "begndate": (day - timedelta(days=1)).isoformat(),
                "enddate": None,
            }
        )
        disease = case.get("opsp_dise_code")
        if disease is not None:
            # Certified from the first of the month (and for every disease the year holds).
            held = {disease} | {
                u["opsp_dise_code"] for u in case["accumulators_before"].get("chronic", [])
            }
            for code in sorted(held):
                await h.chronic(person_id, code, day.replace(day=1), insured)
        before = wire.accumulators_from_wire(case["accumulators_before"], year)
        await h.carry_in(person_id, before)
        env = {"region": region, "insured": insured}
        admission = case["med_type"] in ("21", "52", "92")
        voucher = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}
        encounter = {
            "psn_no": person_id,
            "insutype": case["policy"]["insutype"],
            "med_type": case["med_type"],
            "begntime": stamp,
            **voucher,
            # 病种编码: a chronic visit names its disease at registration
            **({"dise_codg": disease} if disease is not None else {}),
        }
        if admission:
            out = await h.ok("2401", {"mdtrtinfo": {**encounter, "er_flag": "0"}}, hospital, **env)
            visit_id = out["result"]["mdtrt_id"]
        else:
            out = await h.ok("2201", {"data": encounter}, hospital, **env)
            visit_id = out["data"]["mdtrt_id"]
        rows = [
            {
                **line,
                "mdtrt_id": visit_id,
                "psn_no": person_id,
                "fee_ocur_time": f"{day.isoformat()} 08:30:00",
            }
            for line in case["fee_lines"]
        ]
        split = await h.ok("2301" if admission else "2204", {"feedetail": rows}, hospital, **env)
        assert (
            as_text([{k: r[k] for k in LINE_FIELDS} for r in split["result"]]) == expected["lines"]
        )
        total = sum(yuan_to_fen(x["det_item_fee_sumamt"]) for x in case["fee_lines"])
        settle = {
            "data": {
                "psn_no": person_id,
                "mdtrt_id": visit_id,
                "acct_used_flag": case["acct_used_flag"],
                "medfee_sumamt": f"{total / 100:.2f}",
                "insutype": case["policy"]["insutype"],
                **voucher,
            }
        }
        if admission:
            discharge = {
                "psn_no": person_id,
                "mdtrt_id": visit_id,
                "endtime": stamp[:11] + "18:00:00",
            }
            await h.ok("2402", {"dscginfo": discharge}, hospital, **env)
            pre = await h.ok("2303", settle, hospital, **env)
            out = await h.ok("2304", settle, hospital, **env)
        else:
            pre = await h.ok("2206", settle, hospital, **env)
            out = await h.ok("2207", settle, hospital, **env)
        info = out["setlinfo"]
        assert as_text({k: info[k] for k in expected["setlinfo"]}) == expected["setlinfo"]
        assert as_text(funds(out["setldetail"])) == expected["setldetail"]
        assert as_text(info["balc"]) == (expected["acct_balance_after"] or "0.00")
        assert (
            as_text({k: pre["setlinfo"][k] for k in expected["setlinfo"]}) == expected["setlinfo"]
        )
        assert pre["setlinfo"]["setl_id"] is None
        after = await h.accumulators(person_id, year)
        assert wire.accumulators_to_wire(after) == expected["accumulators_after"]
        if not admission:
            # Cancelling (2208) moves the year back exactly, outpatient pooling included.
            cancel = {
                "data": {"psn_no": person_id, "mdtrt_id": visit_id, "setl_id": info["setl_id"]}
            }
            undone = await h.ok("2208", cancel, hospital, **env)
            assert (
                as_text(undone["setlinfo"]["medfee_sumamt"])
                == f"-{expected['setlinfo']['medfee_sumamt']}"
            )
            assert await h.accumulators(person_id, year) == before
