"""Sandbox persons through the gateway: flows equal the engine, refusals are clear and change
nothing, signatures hold, msgid idempotency, and one settlement per visit under concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from settlement_his_numbers import as_text, funds, spec_gaps

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign
from yidi_events.kernel import yuan_to_fen
from yidi_settlement.his import vectors as wire
from yidi_settlement.his.typed import spec_outputs
from yidi_settlement.vectors import case_output

SHARED = shared_dir()
SANDBOX = SHARED / "sandbox"
PERSONS = {p["psn_no"][-1]: p for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))}
FILINGS = json.loads((SANDBOX / "filings.json").read_text("utf-8"))
POLICIES = json.loads((SANDBOX / "policies.json").read_text("utf-8"))
CATALOG = json.loads((SANDBOX / "catalog.json").read_text("utf-8"))
NANJING = "H32010000001"
NOT_NETWORKED = "H32010000009"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
LINES = [
    {
        "feedetl_sn": "1",
        "med_list_codg": "XA001",
        "cnt": "10",
        "pric": "25.50",
        "det_item_fee_sumamt": "255.00",
    },
    {
        "feedetl_sn": "2",
        "med_list_codg": "XB003",
        "cnt": "4",
        "pric": "65.00",
        "det_item_fee_sumamt": "260.00",
    },
    {
        "feedetl_sn": "3",
        "med_list_codg": "T001",
        "cnt": "2",
        "pric": "1800.00",
        "det_item_fee_sumamt": "3600.00",
    },
    {
        "feedetl_sn": "4",
        "med_list_codg": "C001",
        "cnt": "1",
        "pric": "120.00",
        "det_item_fee_sumamt": "120.00",
    },
    {
        "feedetl_sn": "5",
        "med_list_codg": "M001",
        "cnt": "3",
        "pric": "3200.00",
        "det_item_fee_sumamt": "9600.00",
    },
]
MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "cvlserv_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "psn_part_amt",
    "hosp_part_amt",
)


async def setup(h: Any) -> None:
    await h.sandbox_world()


def voucher(p: dict[str, Any]) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


async def register(
    h: Any, p: dict[str, Any], *, inpatient: bool, hospital: str = NANJING, **extra: Any
) -> dict[str, Any]:
    data = {
        "psn_no": p["psn_no"],
        "insutype": p["insutype"],
        "begntime": "2026-03-10 09:00:00",
        "med_type": "21" if inpatient else "11",
        **voucher(p),
        **extra,
    }
    node = "mdtrtinfo" if inpatient else "data"
    answer: dict[str, Any] = await h.his(
        "2401" if inpatient else "2201", {node: data}, hospital, insured=p["insuplc_admdvs"]
    )
    return answer


def check_identities(info: dict[str, str], detail: list[dict[str, str]]) -> None:
    f = {k: yuan_to_fen(info[k]) for k in MONEY}
    funds = f["hifp_pay"] + f["hifob_pay"] + f["hifmi_pay"] + f["cvlserv_pay"] + f["maf_pay"]
    assert f["fund_pay_sumamt"] == funds
    assert f["psn_part_amt"] == f["acct_pay"] + f["psn_cash_pay"]
    assert (
        f["medfee_sumamt"]
        == f["fund_pay_sumamt"] + f["acct_pay"] + f["psn_cash_pay"] + f["hosp_part_amt"]
    )
    assert (
        f["medfee_sumamt"]
        == f["fulamt_ownpay_amt"] + f["overlmt_selfpay"] + f["preselfpay_amt"] + f["inscp_scp_amt"]
    )
    assert (
        sum(yuan_to_fen(d["fund_payamt"]) for d in detail) == f["fund_pay_sumamt"] + f["acct_pay"]
    )


async def flow(h: Any, p: dict[str, Any], inpatient: bool) -> None:
    """Register, upload, settle; the answer equals the pure engine on the same inputs."""
    person_id = p["psn_no"]
    info = await h.ok("1101", {"data": voucher(p)}, NANJING, insured=p["insuplc_admdvs"])
    assert info["baseinfo"]["psn_no"] == person_id
    balance = info["insuinfo"][0]["balc"]
    answer = await register(h, p, inpatient=inpatient)
    assert answer["infcode"] == 0, answer["err_msg"]
    visit_id = (answer["output"]["result"] if inpatient else answer["output"]["data"])["mdtrt_id"]
    rows = [{**x, "mdtrt_id": visit_id, "psn_no": person_id} for x in LINES]
    await h.ok(
        "2301" if inpatient else "2204", {"feedetail": rows}, NANJING, insured=p["insuplc_admdvs"]
    )
    if inpatient:
        await h.ok(
            "2402",
            {
                "dscginfo": {
                    "psn_no": person_id,
                    "mdtrt_id": visit_id,
                    "endtime": "2026-03-10 17:00:00",
                }
            },
            NANJING,
        )
    before = await h.accumulators(person_id, 2026)
    settle = {
        "data": {"psn_no": person_id, "mdtrt_id": visit_id, "acct_used_flag": "1", **voucher(p)}
    }
    out = await h.ok("2304" if inpatient else "2207", settle, NANJING, insured=p["insuplc_admdvs"])
    filing = next(f for f in FILINGS if f["psn_no"] == person_id)
    policy = next(
        d
        for d in POLICIES
        if d["insuplc_admdvs"] == p["insuplc_admdvs"] and d["insutype"] == p["insutype"]
    )
    engine = case_output(
        {
            "name": "flow",
            "policy": policy,
            "catalog": CATALOG,
            "hospital_level": "3",
            "person": {
                "psn_type": p["psn_type"],
                "cvlserv_flag": p["cvlserv_flag"],
                "identities": p["identities"],
                "acct_balance": balance,
            },
            "med_type": "21" if inpatient else "11",
            "filing_kind": filing["filing_kind"],
            "acct_used_flag": "1",
            "accumulators_before": wire.accumulators_to_wire(before),
            "fee_lines": LINES,
            "settled_on": "2026-03-10",
        }
    )
    info = out["setlinfo"]
    assert as_text({k: info[k] for k in engine["setlinfo"]}) == engine["setlinfo"]
    assert as_text(funds(out["setldetail"])) == engine["setldetail"]
    assert info["psn_no"] == person_id
    assert info["mdtrt_id"] == visit_id
    assert info["setl_id"]
    assert info["clr_optins"] == "320100"
    assert info["clr_type"] == ("21" if inpatient else "11")
    check_identities(info, out["setldetail"])
    assert yuan_to_fen(info["hifp_pay"]) > 0


async def test_outpatient_and_inpatient_flows_for_sandbox_persons(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        for n in ("1", "2", "3", "7", "8"):
            await flow(h, PERSONS[n], inpatient=False)
            await flow(h, PERSONS[n], inpatient=True)
        # Person 3 (低保) got medical assistance; person 1's account paid.
        async with h.runtime.engine.connect() as conn:
            from sqlalchemy import text

            rows = (await conn.execute(text("select person_id, totals from settlements"))).all()
        assert len(rows) == 10
        assert any(r.person_id.endswith("3") and r.totals["medical_assistance"] > 0 for r in rows)


async def test_refusals_are_clear_and_change_nothing(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        before = await h.counts()
        cases = [
            (PERSONS["4"], NANJING, "eligibility.no_filing"),
            (PERSONS["6"], NANJING, "eligibility.person_deceased"),
            (PERSONS["9"], NANJING, "eligibility.local_visit"),
            (PERSONS["1"], NOT_NETWORKED, "eligibility.hospital_not_networked"),
            (
                PERSONS["2"],
                "H32010000002",
                "eligibility.no_filing",
            ),  # referral to H32010000001 only
        ]
        for person, hospital, rule in cases:
            answer = await register(h, person, inpatient=False, hospital=hospital)
            assert answer["infcode"] == -1
            assert rule in answer["err_msg"], answer["err_msg"]
            assert answer["output"] is None
        # The card must match the person (人卡相符).
        wrong_card = await register(h, PERSONS["1"], inpatient=False, card_sn="SC99999999")
        assert wrong_card["infcode"] == -1
        assert "card_sn" in wrong_card["err_msg"]
        assert await h.counts() == before
        # Person 4 is accepted as an emergency and settles under the emergency filing kind.
        emergency = await register(h, PERSONS["4"], inpatient=False, med_type="13")
        assert emergency["infcode"] == 0, emergency["err_msg"]


async def test_malformed_requests_are_refused(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        p = PERSONS["1"]
        answer = await register(h, p, inpatient=False)
        visit_id = answer["output"]["data"]["mdtrt_id"]
        before = await h.counts()
        bad_bodies = [
            (b"{not json", "body"),
            (h.envelope("7777", {}, NANJING), "infno"),
            (
                h.envelope(
                    "2204",
                    {
                        "feedetail": [
                            {
                                **LINES[0],
                                "mdtrt_id": visit_id,
                                "psn_no": p["psn_no"],
                                "det_item_fee_sumamt": "-5.00",
                            }
                        ]
                    },
                    NANJING,
                ),
                "visit.return_without_original",  # a negative line is a return
            ),
            (
                h.envelope(
                    "2204",
                    {
                        "feedetail": [
                            {
                                **LINES[0],
                                "mdtrt_id": visit_id,
                                "psn_no": p["psn_no"],
                                "det_item_fee_sumamt": "abc",
                            }
                        ]
                    },
                    NANJING,
                ),
                "det_item_fee_sumamt",
            ),
            (
                h.envelope(
                    "2204",
                    {
                        "feedetail": [
                            {**LINES[0], "mdtrt_id": visit_id, "psn_no": p["psn_no"], "cnt": ["x"]}
                        ]
                    },
                    NANJING,
                ),
                "cnt",
            ),
            (h.envelope("2201", {"data": "nope"}, NANJING), "data"),
            (
                b'{"infno": "9001", "msgid": "x", "mdtrtarea_admvs": "320100", "fixmedins_code": "'
                + NANJING.encode()
                + b'", "input": {}, "pad": "'
                + b"x" * 600_000
                + b'"}',
                "his.body_size",
            ),
        ]
        for body, word in bad_bodies:
            answer = await h.post(body, NANJING)
            assert answer["infcode"] == -1
            assert word in answer["err_msg"], answer["err_msg"]
        assert await h.counts() == before


async def test_signature_timestamp_nonce_and_institution_are_enforced(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        p = PERSONS["1"]
        before = await h.counts()
        body = h.envelope(
            "2201",
            {
                "data": {
                    "psn_no": p["psn_no"],
                    "insutype": "310",
                    "begntime": "2026-03-10 09:00:00",
                    **voucher(p),
                }
            },
            NANJING,
        )
        now = h.runtime.clock.now()
        wrong = sign("not-the-secret-of-this-hospital", NANJING, body, now)
        stale = sign(
            h.secrets[NANJING], NANJING, body, datetime.fromtimestamp(now.timestamp() - 600, UTC)
        )
        other = h.envelope(
            "9001", {"signIn": {"opter_no": "1"}}, "H32010000002", envelope_code=NANJING
        )
        for headers, sent, word in [
            (wrong, body, "签名校验不通过"),
            (stale, body, "timestamp"),
            (
                sign(h.secrets["H32010000002"], "H32010000002", other, now),
                other,
                "his.institution_mismatch",
            ),
        ]:
            answer = await h.post(sent, NANJING, headers=headers)
            assert answer["infcode"] == -1
            assert word in answer["err_msg"], answer["err_msg"]
        assert await h.counts() == before
        good = sign(h.secrets[NANJING], NANJING, body, now)
        assert (await h.post(body, NANJING, headers=good))["infcode"] == 0
        after_first = await h.counts()
        replay = await h.post(body, NANJING, headers=good)
        assert replay["infcode"] == -1
        assert replay["err_msg"] == (
            "x-yidi-nonce：该时间戳与随机数（nonce）已使用过，重放的请求被拒绝（his.auth.replay）"
        ), replay["err_msg"]
        assert await h.counts() == after_first


async def test_msgid_repeat_returns_the_stored_answer_and_another_body_is_refused(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await setup(h)
        p = PERSONS["7"]
        data = {
            "psn_no": p["psn_no"],
            "insutype": "310",
            "begntime": "2026-03-10 09:00:00",
            **voucher(p),
        }
        first = await h.his("2201", {"data": data}, NANJING, msgid="M-REPEAT-1", insured="320500")
        again = await h.his("2201", {"data": data}, NANJING, msgid="M-REPEAT-1", insured="320500")
        assert first["infcode"] == again["infcode"] == 0
        assert again["output"] == first["output"]
        counts = await h.counts()
        other = await h.his(
            "2201",
            {"data": {**data, "begntime": "2026-03-10 10:00:00"}},
            NANJING,
            msgid="M-REPEAT-1",
            insured="320500",
        )
        assert other["infcode"] == -1
        assert "his.msgid_reused" in other["err_msg"]
        assert await h.counts() == counts
        # Another institution may use the same msgid for its own request.
        elsewhere = await h.his(
            "9001", {"signIn": {"opter_no": "1"}}, "H32010000002", msgid="M-REPEAT-1"
        )
        assert elsewhere["infcode"] == 0


async def test_twenty_concurrent_settlements_of_one_visit_settle_once(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        p = PERSONS["1"]
        visit_id = (await register(h, p, inpatient=False))["output"]["data"]["mdtrt_id"]
        await h.ok(
            "2204",
            {"feedetail": [{**x, "mdtrt_id": visit_id, "psn_no": p["psn_no"]} for x in LINES]},
            NANJING,
        )
        settle = {
            "data": {
                "psn_no": p["psn_no"],
                "mdtrt_id": visit_id,
                "acct_used_flag": "1",
                **voucher(p),
            }
        }
        bodies = [
            h.envelope("2207", settle, NANJING, msgid="SAME-MSGID" if i % 2 else None)
            for i in range(20)
        ]
        answers = await asyncio.gather(*(h.post(b, NANJING) for b in bodies))
        settled = {a["output"]["setlinfo"]["setl_id"] for a in answers if a["infcode"] == 0}
        assert len(settled) == 1
        refused = [a for a in answers if a["infcode"] == -1]
        assert all("visit.settled" in a["err_msg"] for a in refused), [
            a["err_msg"] for a in refused
        ]
        async with h.runtime.engine.connect() as conn:
            from sqlalchemy import text

            count = await conn.scalar(text("select count(*) from settlements"))
        assert count == 1
        after = await h.accumulators(p["psn_no"], 2026)
        assert after.eligible_cum >= 0
        assert after.outpatient_deductible_used > 0


async def test_cancel_reverses_accumulators_and_2601_reverses_by_omsgid(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await setup(h)
        p = PERSONS["7"]
        visit_id = (await register(h, p, inpatient=False))["output"]["data"]["mdtrt_id"]
        await h.ok(
            "2204",
            {"feedetail": [{**x, "mdtrt_id": visit_id, "psn_no": p["psn_no"]} for x in LINES]},
            NANJING,
        )
        settle = {
            "data": {
                "psn_no": p["psn_no"],
                "mdtrt_id": visit_id,
                "acct_used_flag": "1",
                **voucher(p),
            }
        }
        out = await h.ok("2207", settle, NANJING, msgid="SETTLE-1")
        setl_id = out["setlinfo"]["setl_id"]
        cancelled = await h.ok(
            "2208",
            {"data": {"psn_no": p["psn_no"], "mdtrt_id": visit_id, "setl_id": setl_id}},
            NANJING,
        )
        neg = cancelled["setlinfo"]
        assert neg["setl_id"] != setl_id
        assert neg["refd_setl_flag"] == "1"
        assert neg["medfee_sumamt"] == -out["setlinfo"]["medfee_sumamt"]
        assert neg["balc"] == Decimal("2500.00")
        empty = await h.accumulators(p["psn_no"], 2026)
        assert wire.accumulators_to_wire(empty)["eligible_cum"] == "0.00"
        # Settle again, then the hospital reverses that call by its msgid.
        again = await h.ok("2207", settle, NANJING, msgid="SETTLE-2")
        reversed_ = await h.ok(
            "2601",
            {"data": {"psn_no": p["psn_no"], "omsgid": "SETTLE-2", "oinfno": "2207"}},
            NANJING,
        )
        assert reversed_["data"]["reversed"] == again["setlinfo"]["setl_id"]
        assert (await h.accumulators(p["psn_no"], 2026)).basic_paid_cum == 0
        query = await h.ok(
            "5203",
            {"data": {"psn_no": p["psn_no"], "setl_id": again["setlinfo"]["setl_id"]}},
            NANJING,
        )
        assert query["setlinfo"]["medfee_sumamt"] == again["setlinfo"]["medfee_sumamt"]
        # A reversed msgid that never arrived can never run afterwards.
        await h.ok(
            "2601",
            {"data": {"psn_no": p["psn_no"], "omsgid": "NEVER-ARRIVED", "oinfno": "2207"}},
            NANJING,
        )
        late = await h.his("2207", settle, NANJING, msgid="NEVER-ARRIVED")
        assert late["infcode"] == -1
        assert "his.msgid_reversed" in late["err_msg"]


# 非空 fields the platform holds no source for yet: when a person's assistance identity began
# (1101 idetinfo.begntime), and 5203's policy year and 个人支付 figure, whose meaning beside
# psn_part_amt the spec does not settle.
UNSOURCED = {"1101 idetinfo.begntime", "5203 setlinfo.year", "5203 setlinfo.psn_pay"}


async def test_every_answer_carries_the_spec_non_null_fields_typed(
    make_harness: Any, monkeypatch: Any
) -> None:
    """Outpatient and inpatient, employee with an account and resident (dibao) without one:
    every answer read as a client reads it (numbers as Decimal) against the spec's tables."""
    answers: list[tuple[str, dict[str, Any]]] = []
    async with make_harness(START) as h:
        await setup(h)
        post = h.post

        async def recording(body: bytes, institution: str, headers: Any = None) -> Any:
            answer = await post(body, institution, headers)
            if answer["infcode"] == 0:
                answers.append((json.loads(body)["infno"], answer["output"]))
            return answer

        monkeypatch.setattr(h, "post", recording)
        await h.ok("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "127.0.0.1"}}, NANJING)
        for n in ("1", "3"):
            p = PERSONS[n]
            insured = p["insuplc_admdvs"]
            await h.ok("1101", {"data": voucher(p)}, NANJING, insured=insured)
            for inpatient in (False, True):
                answer = await register(h, p, inpatient=inpatient, ipt_otp_no=f"HIS-{n}")
                node = answer["output"]["result" if inpatient else "data"]
                ids = {"psn_no": p["psn_no"], "mdtrt_id": node["mdtrt_id"]}
                rows = [{**x, **ids} for x in LINES]
                upload = "2301" if inpatient else "2204"
                await h.ok(upload, {"feedetail": rows}, NANJING, insured=insured)
                if inpatient:
                    dscg = {**ids, "endtime": "2026-03-10 17:00:00"}
                    await h.ok("2402", {"dscginfo": dscg}, NANJING)
                settle = {"data": {**ids, "acct_used_flag": "1", **voucher(p)}}
                pre, final, cancel = (
                    ("2303", "2304", "2305") if inpatient else ("2206", "2207", "2208")
                )
                await h.ok(pre, settle, NANJING, insured=insured)
                out = await h.ok(final, settle, NANJING, insured=insured)
                setl = {**ids, "setl_id": out["setlinfo"]["setl_id"]}
                await h.ok("5203", {"data": setl}, NANJING)
                await h.ok(cancel, {"data": setl}, NANJING, insured=insured)
    served = {infno for infno, _ in answers}
    assert served >= {"9001", "1101", "2201", "2204", "2206", "2207", "2208", "5203"}
    assert served >= {"2401", "2301", "2303", "2304", "2305"}
    tables = spec_outputs()
    gaps = {g for infno, out in answers if infno in tables for g in spec_gaps(infno, out)}
    assert {g for g in gaps if g.partition(":")[0] not in UNSOURCED} == set()
    registered = next(out for infno, out in answers if infno == "2201")
    assert registered["data"]["ipt_otp_no"] == "HIS-1"
