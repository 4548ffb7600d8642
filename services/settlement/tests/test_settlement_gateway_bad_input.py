"""The HIS gateway refuses every malformed request the same way: infcode -1, an err_msg naming the
field and the rule, and nothing recorded (event store and idempotency table unchanged).

Complements test_malformed_requests_are_refused (broken JSON, unknown infno, negative and "abc"
fee amounts, a list for cnt, a string for data, a 600 kB body) with the rest of the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from yidi_cli.sandbox import shared_dir
from yidi_settlement.his.envelope import MAX_BODY
from yidi_settlement.his.messages import TEXTS

SANDBOX = shared_dir() / "sandbox"
PERSON = next(
    p
    for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))
    if p["psn_no"].endswith("7")
)  # insured in Suzhou, long-term filing for Nanjing
NANJING = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
LINE = {
    "feedetl_sn": "1",
    "med_list_codg": "XA001",
    "cnt": "10",
    "pric": "25.50",
    "det_item_fee_sumamt": "255.00",
}


class Context:
    """What the cases refer to: a registered visit with fee lines, ready to settle."""

    def __init__(self, h: Any, visit_id: str) -> None:
        self.h = h
        self.visit_id = visit_id

    def doc(self, infno: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = self.h.envelope(infno, payload, NANJING, insured=PERSON["insuplc_admdvs"])
        doc: dict[str, Any] = json.loads(body)
        return doc

    def line(self, **changes: Any) -> dict[str, Any]:
        return {**LINE, "mdtrt_id": self.visit_id, "psn_no": PERSON["psn_no"], **changes}

    def upload(self, *rows: dict[str, Any]) -> bytes:
        return encode(self.doc("2204", {"feedetail": list(rows)}))

    def settle(self, **changes: Any) -> bytes:
        data = {
            "psn_no": PERSON["psn_no"],
            "mdtrt_id": self.visit_id,
            "acct_used_flag": "1",
            "mdtrt_cert_type": "03",
            "mdtrt_cert_no": PERSON["certno"],
            "card_sn": PERSON["card_sn"],
            **changes,
        }
        return encode(self.doc("2207", {"data": data}))

    def envelope(self, **changes: Any) -> bytes:
        doc = {**self.doc("9001", {"signIn": {"opter_no": "1"}}), **changes}
        return encode({k: v for k, v in doc.items() if v is not DROP})


DROP = object()  # an envelope key to leave out


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def drop_key(body: bytes, key: str) -> bytes:
    doc = json.loads(body)
    del doc[key]
    return encode(doc)


Case = tuple[str, Callable[[Context], bytes], str, str]  # id, body, field, rule

CASES: list[Case] = [
    # the body itself
    ("empty body", lambda c: b"", "body", "his.json"),
    ("whitespace body", lambda c: b"   \n", "body", "his.json"),
    ("truncated JSON", lambda c: c.envelope()[:-7], "body", "his.json"),
    ("invalid UTF-8", lambda c: b'{"infno": "9001", "msgid": "\xff\xfe"}', "body", "his.json"),
    (
        "GBK instead of UTF-8",
        lambda c: c.envelope(opter_name="张三").decode().encode("gbk"),
        "body",
        "his.json",
    ),
    ("envelope is a list", lambda c: b'[{"infno": "9001"}]', "body", "his.type"),
    ("envelope is a string", lambda c: b'"9001"', "body", "his.type"),
    ("envelope is null", lambda c: b"null", "body", "his.type"),
    ("body one byte over the limit", lambda c: b" " * (MAX_BODY + 1), "body", "his.body_size"),
    (
        "3000 fee lines in one upload",
        lambda c: c.upload(*(c.line(feedetl_sn=str(n)) for n in range(3000))),
        "body",
        "his.body_size",
    ),
    # the envelope's fields
    ("missing infno", lambda c: c.envelope(infno=DROP), "infno", "his.required"),
    ("empty infno", lambda c: c.envelope(infno=""), "infno", "his.required"),
    ("infno is a list", lambda c: c.envelope(infno=["9001"]), "infno", "his.type"),
    ("infno is a boolean", lambda c: c.envelope(infno=True), "infno", "his.type"),
    ("unknown infno", lambda c: c.envelope(infno="2299"), "infno", "his.unknown_infno"),
    ("missing msgid", lambda c: c.envelope(msgid=DROP), "msgid", "his.required"),
    ("msgid is an object", lambda c: c.envelope(msgid={"id": 1}), "msgid", "his.type"),
    ("msgid is a float", lambda c: c.envelope(msgid=1.5), "msgid", "his.type"),
    ("msgid of 65 characters", lambda c: c.envelope(msgid="M" * 65), "msgid", "his.length"),
    ("missing input", lambda c: c.envelope(input=DROP), "input", "his.required"),
    ("input is a list", lambda c: c.envelope(input=[{"signIn": {}}]), "input", "his.type"),
    # input may come as a JSON string of the object (section 0), but not of anything else
    ("input is a string of a list", lambda c: c.envelope(input="[{}]"), "input", "his.type"),
    ("input is a string of no JSON", lambda c: c.envelope(input="{x"), "input", "his.json"),
    (
        "visit region of 5 digits",
        lambda c: c.envelope(mdtrtarea_admvs="32010"),
        "mdtrtarea_admvs",
        "his.region",
    ),
    (
        "visit region is a number",
        lambda c: c.envelope(mdtrtarea_admvs=3201.0),
        "mdtrtarea_admvs",
        "his.type",
    ),
    (
        "insured region with letters",
        lambda c: c.envelope(insuplc_admdvs="32O5OO"),
        "insuplc_admdvs",
        "his.region",
    ),
    # transaction input: nodes of the wrong shape
    (
        "data is a list",
        lambda c: encode(c.doc("2201", {"data": [{"psn_no": PERSON["psn_no"]}]})),
        "data",
        "his.type",
    ),
    (
        "feedetail is an object",
        lambda c: encode(c.doc("2204", {"feedetail": c.line()})),
        "feedetail",
        "his.fee_lines",
    ),
    ("feedetail is empty", lambda c: c.upload(), "feedetail", "his.fee_lines"),
    (
        "a fee line is a string",
        lambda c: encode(c.doc("2204", {"feedetail": ["XA001"]})),
        "feedetail",
        "his.type",
    ),
    ("psn_no is a float", lambda c: c.settle(psn_no=3.2e19), "psn_no", "his.type"),
    ("mdtrt_id is an object", lambda c: c.settle(mdtrt_id={"id": 1}), "mdtrt_id", "his.type"),
    # transaction input: numbers
    # A negative line is a return (退单): without the line it returns it is refused.
    (
        "negative quantity, no original",
        lambda c: c.upload(c.line(cnt="-10")),
        "init_feedetl_sn",
        "visit.return_without_original",
    ),
    ("negative unit price", lambda c: c.upload(c.line(pric="-25.50")), "pric", "his.negative"),
    ("quantity NaN", lambda c: c.upload(c.line(cnt="NaN")), "cnt", "his.number"),
    ("price Infinity", lambda c: c.upload(c.line(pric="Infinity")), "pric", "his.number"),
    ("quantity is an object", lambda c: c.upload(c.line(cnt={"n": 1})), "cnt", "his.type"),
    *(
        (
            f"amount {text!r}",
            (lambda t: lambda c: c.upload(c.line(det_item_fee_sumamt=t)))(text),
            "det_item_fee_sumamt",
            "his.amount",
        )
        for text in ("1e5", "NaN", "Infinity", "-Infinity", "255.001", "２５５.00", "255,00")
    ),
    # amounts may come as JSON numbers (section 0), read exactly: three decimals stay refused
    (
        "amount as a JSON number with three decimals",
        lambda c: c.upload(c.line(det_item_fee_sumamt=255.001)),
        "det_item_fee_sumamt",
        "his.amount",
    ),
    (
        "amount is a boolean",
        lambda c: c.upload(c.line(det_item_fee_sumamt=True)),
        "det_item_fee_sumamt",
        "his.type",
    ),
    (
        "declared total with three decimals",
        lambda c: c.settle(medfee_sumamt="255.001"),
        "medfee_sumamt",
        "his.amount",
    ),
    (
        "declared total negative",
        lambda c: c.settle(medfee_sumamt="-255.00"),
        "medfee_sumamt",
        "settlement.total_mismatch",
    ),
    ("account flag 2", lambda c: c.settle(acct_used_flag="2"), "acct_used_flag", "his.code"),
    # transaction input: things that do not exist
    (
        "2207 for an unknown visit",
        lambda c: c.settle(mdtrt_id="M320100UNKNOWNVISIT000"),
        "mdtrt_id",
        "visit.not_found",
    ),
    (
        "2207 for another person than the visit's",
        lambda c: c.settle(psn_no="32050000000000000001"),
        "psn_no",
        "visit.person_mismatch",
    ),
    (
        "2207 for an unknown person and visit",
        lambda c: c.settle(psn_no="99999999999999999999", mdtrt_id="M320100NOPE"),
        "mdtrt_id",
        "visit.not_found",
    ),
]


async def setup(h: Any) -> Context:
    await h.load_sandbox()
    for doc in json.loads((SANDBOX / "policies.json").read_text("utf-8")):
        await h.policy(doc)
    await h.person(PERSON)
    filing = next(
        f
        for f in json.loads((SANDBOX / "filings.json").read_text("utf-8"))
        if f["psn_no"] == PERSON["psn_no"]
    )
    await h.filing(filing)
    registered = await h.ok(
        "2201",
        {
            "data": {
                "psn_no": PERSON["psn_no"],
                "insutype": PERSON["insutype"],
                "begntime": "2026-03-10 09:00:00",
                "mdtrt_cert_type": "03",
                "mdtrt_cert_no": PERSON["certno"],
                "card_sn": PERSON["card_sn"],
            }
        },
        NANJING,
        insured=PERSON["insuplc_admdvs"],
    )
    context = Context(h, registered["data"]["mdtrt_id"])
    await h.ok("2204", {"feedetail": [context.line()]}, NANJING, insured=PERSON["insuplc_admdvs"])
    return context


async def test_malformed_requests_are_refused_naming_field_and_rule_and_change_nothing(
    make_harness: Any, subtests: Any
) -> None:
    # One platform for the whole table (a fresh database per case costs minutes); each case is
    # its own subtest and compares the event store and idempotency table before and after.
    async with make_harness(START) as h:
        context = await setup(h)
        for name, build, field, rule in CASES:
            with subtests.test(case=name):
                before = await h.counts()
                answer = await h.post(build(context), NANJING)
                assert answer["infcode"] == -1, answer
                assert answer["output"] is None
                message = answer["err_msg"]
                said = TEXTS[rule] if isinstance(TEXTS[rule], str) else TEXTS[rule][0]
                assert message.startswith(f"{field}：{said}"), message
                assert message.endswith(f"（{rule}）"), message
                assert await h.counts() == before
        # The visit is untouched: it still settles, once, with the fee line uploaded in setup.
        settled = await h.post(context.settle(), NANJING)
        assert settled["infcode"] == 0, settled["err_msg"]
        assert settled["output"]["setlinfo"]["medfee_sumamt"] == Decimal("255.00")
