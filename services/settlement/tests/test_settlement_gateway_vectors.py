"""Every shared vector through the HIS gateway end to end, giving exactly `expected`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from settlement_his_numbers import as_text, funds

from yidi_cli.sandbox import shared_dir
from yidi_events.kernel import yuan_to_fen
from yidi_settlement.his import vectors as wire

SHARED = shared_dir()
VECTORS = SHARED / "vectors/settlement.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
HOSPITAL = "H33010000001"  # Hangzhou: cross-province for every vector's insured place
REGION = "330100"
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai on the policies' first day
LINE_FIELDS = ("feedetl_sn", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_vector_through_the_gateway(make_harness: Any, case: dict[str, Any]) -> None:
    expected = case["expected"]
    async with make_harness(START) as h:
        await h.hospital(HOSPITAL, REGION, case["hospital_level"])
        await h.catalogue(REGION, case["catalog"])
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
        emergency = case["filing_kind"] == "emergency"
        if not emergency:
            await h.filing(
                {
                    "psn_no": person_id,
                    "filing_kind": case["filing_kind"],
                    "insuplc_admdvs": insured,
                    "mdtrtarea_admvs": REGION,
                    "begndate": "2026-01-01",
                    "enddate": None,
                }
            )
        before = wire.accumulators_from_wire(case["accumulators_before"], 2026)
        await h.carry_in(person_id, before)
        env = {"region": REGION, "insured": insured}
        inpatient = case["med_type"].startswith("2")
        voucher = {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}
        if inpatient:
            out = await h.ok(
                "2401",
                {
                    "mdtrtinfo": {
                        "psn_no": person_id,
                        "insutype": case["policy"]["insutype"],
                        "med_type": case["med_type"],
                        "begntime": "2026-01-01 08:00:00",
                        "er_flag": "1" if emergency else "0",
                        **voucher,
                    }
                },
                HOSPITAL,
                **env,
            )
            visit_id = out["result"]["mdtrt_id"]
        else:
            out = await h.ok(
                "2201",
                {
                    "data": {
                        "psn_no": person_id,
                        "insutype": case["policy"]["insutype"],
                        "med_type": case["med_type"],
                        "begntime": "2026-01-01 08:00:00",
                        **voucher,
                    }
                },
                HOSPITAL,
                **env,
            )
            visit_id = out["data"]["mdtrt_id"]
        rows = [
            {
                **line,
                "mdtrt_id": visit_id,
                "psn_no": person_id,
                "fee_ocur_time": "2026-01-01 08:30:00",
            }
            for line in case["fee_lines"]
        ]
        split = await h.ok("2301" if inpatient else "2204", {"feedetail": rows}, HOSPITAL, **env)
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
        if inpatient:
            await h.ok(
                "2402",
                {
                    "dscginfo": {
                        "psn_no": person_id,
                        "mdtrt_id": visit_id,
                        "endtime": "2026-01-01 18:00:00",
                    }
                },
                HOSPITAL,
                **env,
            )
            pre = await h.ok("2303", settle, HOSPITAL, **env)
            out = await h.ok("2304", settle, HOSPITAL, **env)
        else:
            pre = await h.ok("2206", settle, HOSPITAL, **env)
            out = await h.ok("2207", settle, HOSPITAL, **env)
        info = out["setlinfo"]
        assert as_text({k: info[k] for k in expected["setlinfo"]}) == expected["setlinfo"]
        assert as_text(funds(out["setldetail"])) == expected["setldetail"]
        assert as_text(info["balc"]) == (expected["acct_balance_after"] or "0.00")
        # Pre-settlement gave the same figures and committed nothing.
        assert (
            as_text({k: pre["setlinfo"][k] for k in expected["setlinfo"]}) == expected["setlinfo"]
        )
        assert pre["setlinfo"]["setl_id"] is None
        after = await h.accumulators(person_id, 2026)
        assert wire.accumulators_to_wire(after) == expected["accumulators_after"]
