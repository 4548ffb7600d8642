"""A hospital reaches only its own visits and settlements, even holding another's ids.

test_signature_timestamp_nonce_and_institution_are_enforced covers a 9001 signed by one hospital
naming another; this adds registration under another's name and every transaction that takes a
visit or settlement id (query, settle, pre-settle, upload, cancel, 2601 reversal) from another
hospital of the same city.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign
from yidi_settlement.adapters.tables import settlements

SANDBOX = shared_dir() / "sandbox"
PERSON = next(
    p
    for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))
    if p["psn_no"].endswith("7")
)  # insured in Suzhou, long-term filing for any Nanjing hospital
OWNER = "H32010000001"
OTHER = "H32010000002"  # same city, its own secret
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
VOUCHER = {"mdtrt_cert_type": "03", "mdtrt_cert_no": PERSON["certno"], "card_sn": PERSON["card_sn"]}
REGISTRATION = {
    "data": {
        "psn_no": PERSON["psn_no"],
        "insutype": PERSON["insutype"],
        "begntime": "2026-03-10 09:00:00",
        **VOUCHER,
    }
}
LINE = {
    "feedetl_sn": "1",
    "med_list_codg": "XA001",
    "cnt": "10",
    "pric": "25.50",
    "det_item_fee_sumamt": "255.00",
}


async def setup(h: Any) -> None:
    await h.load_sandbox()
    for doc in json.loads((SANDBOX / "policies.json").read_text("utf-8")):
        await h.policy(doc)
    await h.person(PERSON)
    for f in json.loads((SANDBOX / "filings.json").read_text("utf-8")):
        if f["psn_no"] == PERSON["psn_no"]:
            await h.filing(f)


async def snapshot(h: Any) -> tuple[tuple[int, int], list[Any], Any]:
    async with h.runtime.engine.connect() as conn:
        rows = (await conn.execute(sa.select(settlements).order_by("settlement_id"))).all()
    return await h.counts(), rows, await h.accumulators(PERSON["psn_no"], 2026)


async def test_another_hospital_cannot_read_settle_or_cancel_a_visit_it_does_not_own(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await setup(h)
        insured = PERSON["insuplc_admdvs"]
        visit_id = (await h.ok("2201", REGISTRATION, OWNER, insured=insured))["data"]["mdtrt_id"]
        ref = {"mdtrt_id": visit_id, "psn_no": PERSON["psn_no"]}
        await h.ok("2204", {"feedetail": [{**LINE, **ref}]}, OWNER, insured=insured)
        settle = {"data": {**ref, "acct_used_flag": "1", **VOUCHER}}
        out = await h.ok("2207", settle, OWNER, insured=insured, msgid="OWNER-SETTLE-1")
        setl_id = out["setlinfo"]["setl_id"]
        before = await snapshot(h)

        # Every transaction naming the owner's visit or settlement, sent by the other hospital.
        refused = [
            ("5203", {"data": {"psn_no": PERSON["psn_no"], "setl_id": setl_id}}, "setl_id",
             "settlement.not_found"),
            ("2208", {"data": {**ref, "setl_id": setl_id}}, "mdtrt_id", "visit.not_found"),
            ("2305", {"data": {**ref, "setl_id": setl_id}}, "mdtrt_id", "visit.not_found"),
            ("2207", settle, "mdtrt_id", "visit.not_found"),
            ("2206", settle, "mdtrt_id", "visit.not_found"),
            ("2204", {"feedetail": [{**LINE, **ref, "feedetl_sn": "2"}]}, "mdtrt_id",
             "visit.not_found"),
            ("2205", {"data": {**ref, "chrg_bchno": "0000"}}, "mdtrt_id", "visit.not_found"),
            ("2202", {"data": ref}, "mdtrt_id", "visit.not_found"),
        ]  # fmt: skip
        for infno, payload, field, rule in refused:
            answer = await h.his(infno, payload, OTHER, insured=insured)
            assert answer["infcode"] == -1, (infno, answer)
            assert answer["output"] is None
            assert answer["err_msg"].startswith(f"{field}："), (infno, answer["err_msg"])
            assert answer["err_msg"].endswith(f"（{rule}）"), (infno, answer["err_msg"])
            # A refusal never echoes the owner's settlement figures.
            assert "255.00" not in answer["err_msg"]
        assert await snapshot(h) == before

        # 2601 is scoped by the sender's own msgids: the owner's msgid means nothing to the other
        # hospital, so nothing is reversed (only the other's own reversal record is kept).
        reversal = await h.ok(
            "2601",
            {"data": {"psn_no": PERSON["psn_no"], "omsgid": "OWNER-SETTLE-1", "oinfno": "2207"}},
            OTHER,
        )
        assert reversal["data"]["reversed"] == "nothing"
        counts, rows, figures = await snapshot(h)
        assert (rows, figures) == before[1:]
        assert counts[0] == before[0][0]  # no event appended

        # The owner still reads its settlement, and it is not cancelled.
        query = await h.ok(
            "5203", {"data": {"psn_no": PERSON["psn_no"], "setl_id": setl_id}}, OWNER
        )
        assert query["setlinfo"]["refd_setl_flag"] == "0"
        assert query["setlinfo"]["medfee_sumamt"] == out["setlinfo"]["medfee_sumamt"]


async def test_a_hospital_cannot_register_a_visit_under_another_institutions_name(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await setup(h)
        before = await h.counts()
        insured = PERSON["insuplc_admdvs"]
        for infno, payload in (
            ("2201", REGISTRATION),
            ("2401", {"mdtrtinfo": {**REGISTRATION["data"], "med_type": "21"}}),
        ):
            # Signed with the other hospital's own secret, the envelope naming the owner.
            body = h.envelope(infno, payload, OTHER, insured=insured, envelope_code=OWNER)
            headers = sign(h.secrets[OTHER], OTHER, body, h.runtime.clock.now())
            answer = await h.post(body, OTHER, headers=headers)
            assert answer["infcode"] == -1
            assert answer["err_msg"] == (
                f"fixmedins_code：报文的定点机构编号与签名的机构不一致，报文 {OWNER}，"
                f"签名机构 {OTHER}（his.institution_mismatch）"
            ), answer["err_msg"]
            # Signed as the owner without the owner's secret: the signature does not verify.
            forged = sign(h.secrets[OTHER], OWNER, body, h.runtime.clock.now())
            answer = await h.post(body, OTHER, headers=forged)
            assert answer["infcode"] == -1
            assert answer["err_msg"] == (
                "x-yidi-signature：签名校验不通过，请按 hmac 签名规则重新计算（his.auth.signature）"
            ), answer["err_msg"]
        assert await h.counts() == before
        async with h.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.text("select count(*) from visits")) == 0
