"""The flows real HIS clients run, end to end through the gateway (issue 18): several charge
batches under one outpatient visit (2204 x2 -> 2205 one batch -> 2206/2207 -> more batches ->
2208 -> 2601 of the 2208), an inpatient stay with a returned line and an interim settlement
(2301 with a return -> 2303 before 2402 -> 2304 interim -> 2301 -> 2402 -> 2304 -> 2305 -> 2601),
and 2403/2405. Every answer keeps the spec's 非空 output fields present and typed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from settlement_his_numbers import as_text, spec_gaps

from yidi_cli.sandbox import shared_dir
from yidi_events.kernel import SHANGHAI, yuan_to_fen
from yidi_settlement.adapters.tables import visits
from yidi_settlement.his import vectors as wire
from yidi_settlement.his.typed import spec_outputs
from yidi_settlement.vectors import case_output

SANDBOX = shared_dir() / "sandbox"
PERSON = json.loads((SANDBOX / "persons.json").read_text("utf-8"))[0]  # Suzhou employee, retired
POLICY = next(
    d
    for d in json.loads((SANDBOX / "policies.json").read_text("utf-8"))
    if d["insuplc_admdvs"] == PERSON["insuplc_admdvs"] and d["insutype"] == PERSON["insutype"]
)
FILING = next(
    f
    for f in json.loads((SANDBOX / "filings.json").read_text("utf-8"))
    if f["psn_no"] == PERSON["psn_no"]
)
CATALOG = json.loads((SANDBOX / "catalog.json").read_text("utf-8"))
NANJING = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
PSN = PERSON["psn_no"]
INSURED = PERSON["insuplc_admdvs"]
VOUCHER = {"mdtrt_cert_type": "03", "mdtrt_cert_no": PERSON["certno"], "card_sn": PERSON["card_sn"]}


def line(sn: str, code: str, cnt: str, pric: str, amount: str, **extra: str) -> dict[str, str]:
    return {
        "feedetl_sn": sn,
        "med_list_codg": code,
        "cnt": cnt,
        "pric": pric,
        "det_item_fee_sumamt": amount,
        "fee_ocur_time": "2026-03-10 08:30:00",
        **extra,
    }


async def ok(h: Any, infno: str, payload: dict[str, Any]) -> dict[str, Any]:
    output: dict[str, Any] = await h.ok(infno, payload, NANJING, insured=INSURED)
    if infno in spec_outputs():  # 2205, 2403, 2405: the spec answers nothing
        assert spec_gaps(infno, output) == [], (infno, spec_gaps(infno, output))
    return output


async def refused(h: Any, infno: str, payload: dict[str, Any], rule: str) -> str:
    """A refusal names its rule and changes nothing."""
    before = await h.counts()
    answer = await h.his(infno, payload, NANJING, insured=INSURED)
    assert answer["infcode"] == -1
    assert rule in answer["err_msg"], answer["err_msg"]
    after = await h.counts()
    assert after[0] == before[0]
    return str(answer["err_msg"])


def upload(visit_id: str, *rows: dict[str, str]) -> dict[str, Any]:
    return {"feedetail": [{**r, "mdtrt_id": visit_id, "psn_no": PSN} for r in rows]}


def settle(visit_id: str, total: str, **extra: str) -> dict[str, Any]:
    data = {
        "psn_no": PSN,
        "mdtrt_id": visit_id,
        "acct_used_flag": "0",
        "insutype": PERSON["insutype"],
        "medfee_sumamt": total,
        **VOUCHER,
        **extra,
    }
    return {"data": data}


def ref(visit_id: str, **extra: str) -> dict[str, Any]:
    return {"data": {"psn_no": PSN, "mdtrt_id": visit_id, **extra}}


async def reverse(h: Any, omsgid: str, oinfno: str, msgid: str) -> dict[str, Any]:
    payload = {"data": {"psn_no": PSN, "omsgid": omsgid, "oinfno": oinfno}}
    answer = await h.his("2601", payload, NANJING, insured=INSURED, msgid=msgid)
    assert answer["infcode"] == 0, answer["err_msg"]
    data: dict[str, Any] = answer["output"]["data"]
    return data


async def test_charge_batches_settle_apart_and_a_reversed_cancellation_stands_again(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        registration = {
            "data": {
                "psn_no": PSN,
                "insutype": PERSON["insutype"],
                "begntime": "2026-03-10 09:00:00",
                "med_type": "11",
                **VOUCHER,
            }
        }
        visit_id = (await ok(h, "2201", registration))["data"]["mdtrt_id"]
        # Two batches, each in one 2204 as the spec asks; amounts as JSON numbers.
        await ok(
            h,
            "2204",
            upload(
                visit_id,
                line("1", "XA001", "10", "25.50", "255.00", chrg_bchno="B1"),
                line("2", "C001", "1", "120.00", "120.00", chrg_bchno="B1"),
            ),
        )
        await ok(
            h, "2204", upload(visit_id, line("3", "XA001", "2", "25.50", "51.00", chrg_bchno="B2"))
        )
        # 2205 cancels batch B1 only: what settles now is B2, 51.00.
        await ok(h, "2205", ref(visit_id, chrg_bchno="B1"))
        await refused(h, "2205", ref(visit_id, chrg_bchno="B9"), "visit.charge_batch_not_found")
        await refused(h, "2207", settle(visit_id, "426.00"), "settlement.total_mismatch")
        pre = await ok(h, "2206", settle(visit_id, "51.00", chrg_bchno="B2"))
        assert as_text(pre["setlinfo"]["medfee_sumamt"]) == "51.00"
        first = (await ok(h, "2207", settle(visit_id, "51.00", chrg_bchno="B2")))["setlinfo"]
        assert as_text(first["medfee_sumamt"]) == "51.00"
        # A settled batch is not cancelled; the visit takes and settles a further batch.
        await refused(h, "2205", ref(visit_id, chrg_bchno="B2"), "visit.fee_line_settled")
        await refused(h, "2207", settle(visit_id, "0.00"), "visit.settled")
        await ok(
            h, "2204", upload(visit_id, line("4", "XA001", "4", "25.50", "102.00", chrg_bchno="B3"))
        )
        second = (await ok(h, "2207", settle(visit_id, "102.00")))["setlinfo"]
        assert as_text(second["medfee_sumamt"]) == "102.00"
        assert second["setl_id"] != first["setl_id"]
        settled_year = await h.accumulators(PSN, 2026)

        # 2208 of the second settlement, then 2601 of that 2208: the settlement stands again.
        cancel_msgid = "CANCEL-0001"
        cancel = await h.his(
            "2208",
            ref(visit_id, setl_id=second["setl_id"]),
            NANJING,
            insured=INSURED,
            msgid=cancel_msgid,
        )
        assert cancel["infcode"] == 0, cancel["err_msg"]
        assert spec_gaps("2208", cancel["output"]) == []
        assert as_text(cancel["output"]["setlinfo"]["medfee_sumamt"]) == "-102.00"
        assert await h.accumulators(PSN, 2026) != settled_year
        undone = await reverse(h, cancel_msgid, "2208", "REV-0001")
        assert undone["reversed"] == cancel["output"]["setlinfo"]["setl_id"]
        assert await h.accumulators(PSN, 2026) == settled_year
        # The same 2601 again is the same answer; another 2601 of that 2208 changes nothing.
        assert await reverse(h, cancel_msgid, "2208", "REV-0001") == undone
        events = (await h.counts())[0]
        assert (await reverse(h, cancel_msgid, "2208", "REV-0002"))["reversed"] == "nothing"
        assert (await h.counts())[0] == events
        assert await h.accumulators(PSN, 2026) == settled_year
        # It stands: it is the visit's current settlement again, so 2208 cancels it once more.
        again = await ok(h, "2208", ref(visit_id, setl_id=second["setl_id"]))
        assert as_text(again["setlinfo"]["medfee_sumamt"]) == "-102.00"


async def test_a_stay_with_a_return_settles_in_an_interim_and_a_final_stage(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        admission = {
            "mdtrtinfo": {
                "psn_no": PSN,
                "insutype": PERSON["insutype"],
                "begntime": "2026-03-10 09:00:00",
                "med_type": "21",
                **VOUCHER,
            }
        }
        visit_id = (await ok(h, "2401", admission))["result"]["mdtrt_id"]
        before = await h.accumulators(PSN, 2026)
        # A charge of 10 and the return of 4 of them (退单: negative, naming the original).
        split = await ok(
            h,
            "2301",
            upload(
                visit_id,
                line("1", "XA001", "10", "25.50", "255.00"),
                line("2", "XA001", "-4", "25.50", "-102.00", init_feedetl_sn="1"),
            ),
        )
        returned = split["result"][1]
        assert as_text(returned["det_item_fee_sumamt"]) == "-102.00"
        assert Decimal(str(returned["cnt"])) == Decimal(-4)
        assert as_text(returned["inscp_scp_amt"]) == "-102.00"
        # Returning 7 more than the 6 still charged is refused, naming the field.
        await refused(
            h,
            "2301",
            upload(visit_id, line("9", "XA001", "-7", "25.50", "-178.50", init_feedetl_sn="1")),
            "visit.return_exceeds_charge",
        )
        # Before discharge: a pre-settlement shows the bill (153.00), committing nothing.
        for flag in ("0", "1"):
            pre = await ok(h, "2303", settle(visit_id, "153.00", mid_setl_flag=flag))
            assert pre["setlinfo"]["setl_id"] is None
            assert as_text(pre["setlinfo"]["medfee_sumamt"]) == "153.00"
        await refused(
            h, "2304", settle(visit_id, "153.00", mid_setl_flag="0"), "visit.not_discharged"
        )
        interim = (await ok(h, "2304", settle(visit_id, "153.00", mid_setl_flag="1")))["setlinfo"]
        assert interim["setl_id"]
        after_interim = await h.accumulators(PSN, 2026)
        assert after_interim.inpatient_admissions == before.inpatient_admissions + 1

        # The stay goes on: more lines, discharge, the final settlement of what came since.
        await ok(h, "2301", upload(visit_id, line("3", "XA001", "100", "25.50", "2550.00")))
        discharge = {
            "dscginfo": {"psn_no": PSN, "mdtrt_id": visit_id, "endtime": "2026-03-10 17:00:00"}
        }
        await ok(h, "2402", discharge)
        final = (await ok(h, "2304", settle(visit_id, "2550.00", mid_setl_flag="0")))["setlinfo"]
        assert as_text(final["medfee_sumamt"]) == "2550.00"
        stay = await h.accumulators(PSN, 2026)
        assert stay.inpatient_admissions == before.inpatient_admissions + 1
        # One deductible for the stay: the two stages together apply what one settlement of
        # the whole stay (6 + 100 of XA001) applies, as the pure engine computes it.
        whole = case_output(
            {
                "name": "whole stay",
                "policy": POLICY,
                "catalog": CATALOG,
                "hospital_level": "3",
                "person": {
                    "psn_type": PERSON["psn_type"],
                    "cvlserv_flag": PERSON["cvlserv_flag"],
                    "identities": PERSON["identities"],
                    "acct_balance": "0.00",
                },
                "med_type": "21",
                "filing_kind": FILING["filing_kind"],
                "acct_used_flag": "0",
                "accumulators_before": wire.accumulators_to_wire(before),
                "fee_lines": [
                    line("1", "XA001", "6", "25.50", "153.00"),
                    line("3", "XA001", "100", "25.50", "2550.00"),
                ],
                "settled_on": "2026-03-10",
            }
        )
        staged = yuan_to_fen(interim["act_pay_dedc"]) + yuan_to_fen(final["act_pay_dedc"])
        assert staged == yuan_to_fen(whole["setlinfo"]["act_pay_dedc"])
        assert staged > 0

        # The final settlement closes the stay: no discharge cancellation until it is cancelled.
        await refused(h, "2405", ref(visit_id), "visit.settled")
        cancel_msgid = "CANCEL-2305"
        cancel = await h.his(
            "2305",
            ref(visit_id, setl_id=final["setl_id"]),
            NANJING,
            insured=INSURED,
            msgid=cancel_msgid,
        )
        assert cancel["infcode"] == 0, cancel["err_msg"]
        assert spec_gaps("2305", cancel["output"]) == []
        assert await h.accumulators(PSN, 2026) == after_interim
        undone = await reverse(h, cancel_msgid, "2305", "REV-2305")
        assert undone["reversed"] == cancel["output"]["setlinfo"]["setl_id"]
        assert await h.accumulators(PSN, 2026) == stay


async def test_admission_change_and_discharge_cancellation(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        admission = {
            "mdtrtinfo": {
                "psn_no": PSN,
                "insutype": PERSON["insutype"],
                "begntime": "2026-03-10 09:00:00",
                "med_type": "21",
                **VOUCHER,
            }
        }
        visit_id = (await ok(h, "2401", admission))["result"]["mdtrt_id"]
        change = {
            "adminfo": {
                "mdtrt_id": visit_id,
                "psn_no": PSN,
                "begntime": "2026-03-10T08:00:00",  # ISO, as .NET clients send it
                "mdtrt_cert_type": "03",
                "med_type": "21",
                "ipt_otp_no": "ZY001",
                "atddr_no": "D001",
                "chfpdr_name": "王",
                "adm_diag_dscr": "肺炎",
                "adm_dept_codg": "0301",
                "adm_dept_name": "呼吸内科",
                "adm_bed": "12",
                "dscg_maindiag_code": "J18.9",
                "dscg_maindiag_name": "肺炎",
            },
            "diseinfo": [
                {
                    "mdtrt_id": visit_id,
                    "psn_no": PSN,
                    "diag_type": "1",
                    "maindiag_flag": "1",
                    "diag_srt_no": 1,
                    "diag_code": "J18.9",
                    "diag_name": "肺炎",
                    "diag_dept": "0301",
                    "dise_dor_no": "D001",
                    "dise_dor_name": "王",
                    "diag_time": "2026-03-10 08:10:00",
                }
            ],
        }
        await ok(h, "2403", change)
        async with h.runtime.engine.connect() as conn:
            began = await conn.scalar(
                sa.select(visits.c.began_at).where(visits.c.visit_id == visit_id)
            )
        assert began == datetime(2026, 3, 10, 8, 0, tzinfo=SHANGHAI)
        outpatient_type = {**change, "adminfo": {**change["adminfo"], "med_type": "11"}}
        await refused(h, "2403", outpatient_type, "visit.not_inpatient")
        await ok(h, "2301", upload(visit_id, line("1", "XA001", "10", "25.50", "255.00")))
        discharge = {
            "dscginfo": {"psn_no": PSN, "mdtrt_id": visit_id, "endtime": "2026-03-10 17:00:00"}
        }
        await ok(h, "2402", discharge)
        await ok(h, "2405", ref(visit_id))
        # Open again: the final settlement waits for a new discharge.
        await refused(h, "2304", settle(visit_id, "255.00"), "visit.not_discharged")
        await refused(h, "2405", ref(visit_id), "visit.not_discharged")
        await ok(h, "2402", discharge)
        await ok(h, "2304", settle(visit_id, "255.00"))
