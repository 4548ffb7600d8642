"""Real HIS clients connect unchanged: each signature profile (TIF, CSB, body HMAC) on each URL
style (service path, /{prefix}/hsa/hgs/{infno}, /CSB/hsa-fsi-{infno}), with amounts as JSON
numbers, ISO datetimes and `input` as a JSON string; and each profile's refusals (bad signature,
stale timestamp, replayed nonce, another institution's code) change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign
from yidi_settlement.his.signatures import csb_signature, tif_signature

PERSONS = {
    p["psn_no"][-1]: p
    for p in json.loads((shared_dir() / "sandbox/persons.json").read_text("utf-8"))
}
NANJING = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
SANDBOX_HOSPITALS = {
    "H32010000001": ("sbx_h32010000001", "AKH32010000001"),
    "H32010000002": ("sbx_h32010000002", "AKH32010000002"),
}
SERVICE = "/fsi/api/rsfComIfsService/callService"
URLS: dict[str, Callable[[str], str]] = {
    "service path": lambda infno: SERVICE,
    "hgs path": lambda infno: f"/ebus/gdyb_api/prd/hsa/hgs/{infno}",
    "CSB path": lambda infno: f"/CSB/hsa-fsi-{infno}",
}
Signer = Callable[[str, bytes, datetime, str], dict[str, str]]


def tif(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {
        "x-tif-paasid": SANDBOX_HOSPITALS[code][0],
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(f"sandbox-tif-token-{code}", timestamp, nonce),
    }


def csb(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    # A fixed _api_name, as clients posting everything to one CSB path send it.
    headers = {
        "_api_name": "hsa-fsi",
        "_api_version": "1.0.0",
        "_api_timestamp": str(int(at.timestamp() * 1000)),
        "_api_access_key": SANDBOX_HOSPITALS[code][1],
        "_api_nonce": nonce,
    }
    return {**headers, "_api_signature": csb_signature(f"sandbox-csb-sk-{code}", headers)}


def body_hmac(code: str, body: bytes, at: datetime, nonce: str) -> dict[str, str]:
    return sign(f"sandbox-secret-{code}", code, body, at)  # a random nonce of its own


def voucher(p: dict[str, Any]) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


def outpatient_registration(p: dict[str, Any], begins: str) -> dict[str, Any]:
    data = {"psn_no": p["psn_no"], "insutype": p["insutype"], "begntime": begins, "med_type": "11"}
    return {"data": {**data, **voucher(p)}}


PROFILES: dict[str, Signer] = {"tif": tif, "csb": csb, "hmac": body_hmac}
SIGNATURE_HEADER = {"tif": "x-tif-signature", "csb": "_api_signature", "hmac": "x-yidi-signature"}


async def call(
    h: Any,
    profile: str,
    url: str,
    infno: str,
    body: bytes,
    *,
    nonce: str = "1",
    at: datetime | None = None,
    code: str = NANJING,
    headers: dict[str, str] | None = None,
    content_type: str = "text/plain",
) -> dict[str, Any]:
    signed = headers or PROFILES[profile](code, body, at or h.runtime.clock.now(), nonce)
    response: httpx.Response = await h.client.post(
        URLS[url](infno), content=body, headers={**signed, "content-type": content_type}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def as_real_clients_send(h: Any, infno: str, payload: dict[str, Any], **kw: Any) -> bytes:
    """The harness's envelope with `input` as a JSON string of the object and an ISO inf_time."""
    doc = json.loads(h.envelope(infno, payload, NANJING, **kw))
    doc["input"] = json.dumps(doc["input"], ensure_ascii=False)
    doc["inf_time"] = doc["inf_time"].replace(" ", "T")
    return json.dumps(doc, ensure_ascii=False).encode()


async def test_each_profile_on_each_url_style_signs_in_and_reads_a_person(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        p = PERSONS["1"]
        for number, (profile, url) in enumerate(
            (profile, url) for profile in PROFILES for url in URLS
        ):
            sign_in = h.envelope("9001", {"signIn": {"opter_no": "001"}}, NANJING)
            answer = await call(h, profile, url, "9001", sign_in, nonce=f"{number}a")
            assert answer["infcode"] == 0, (profile, url, answer["err_msg"])
            assert answer["output"]["signinoutb"]["sign_no"]
            person = h.envelope("1101", {"data": voucher(p)}, NANJING, insured="320500")
            answer = await call(
                h, profile, url, "1101", person, nonce=f"{number}b", content_type="application/json"
            )
            assert answer["infcode"] == 0, (profile, url, answer["err_msg"])
            assert answer["output"]["baseinfo"]["psn_no"] == p["psn_no"]


@pytest.mark.parametrize(("profile", "url"), [("tif", "hgs path"), ("csb", "CSB path")])
async def test_an_outpatient_settlement_as_real_clients_send_it(
    make_harness: Any, profile: str, url: str
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        p = PERSONS["7"]
        insured = p["insuplc_admdvs"]
        steps = iter(range(100))

        async def ok(infno: str, payload: dict[str, Any]) -> dict[str, Any]:
            body = as_real_clients_send(h, infno, payload, insured=insured)
            answer = await call(h, profile, url, infno, body, nonce=str(next(steps)))
            assert answer["infcode"] == 0, (infno, answer["err_msg"])
            output: dict[str, Any] = answer["output"]
            return output

        registered = await ok("2201", outpatient_registration(p, "2026-03-10T09:00:00"))
        visit_id = registered["data"]["mdtrt_id"]
        # Numbers as a C# decimal serialises them; the exact figures of the sandbox's LINES.
        lines = [
            {
                "feedetl_sn": 1,
                "mdtrt_id": visit_id,
                "psn_no": p["psn_no"],
                "med_list_codg": "XA001",
                "cnt": 10.0,
                "pric": 25.5,
                "det_item_fee_sumamt": 255.00,
                "fee_ocur_time": "2026-03-10T09:30:00",
            },
            {
                "feedetl_sn": 2,
                "mdtrt_id": visit_id,
                "psn_no": p["psn_no"],
                "med_list_codg": "C001",
                "cnt": 1,
                "pric": 120.0,
                "det_item_fee_sumamt": 120.0,
                "fee_ocur_time": "2026-03-10T09:31:00",
            },
        ]
        await ok("2204", {"feedetail": lines})
        settle = {
            "psn_no": p["psn_no"],
            "mdtrt_id": visit_id,
            "acct_used_flag": 0,
            "medfee_sumamt": 375.0,
            # As some clients fill it at settlement: the type code copied into the number, a
            # type-03 card without card_sn; the registered visit names the person.
            "mdtrt_cert_type": "03",
            "mdtrt_cert_no": "03",
        }
        pre = await ok("2206", {"data": settle})
        final = await ok("2207", {"data": settle})
        # 255.00 + 120.00, read exactly from the numbers: the total check passed at 375.00.
        assert pre["setlinfo"]["medfee_sumamt"] in ("375.00", 375.0)
        assert final["setlinfo"]["medfee_sumamt"] == pre["setlinfo"]["medfee_sumamt"]
        assert final["setlinfo"]["setl_id"]


async def test_the_path_infno_must_agree_with_the_envelope(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        before = await h.counts()
        body = h.envelope("9001", {"signIn": {"opter_no": "001"}}, NANJING)
        for url in ("hgs path", "CSB path"):
            answer = await call(h, "hmac", url, "2207", body, nonce=url)
            assert answer["infcode"] == -1
            assert answer["err_msg"] == (
                "infno：请求路径的交易编号与报文 infno 不一致，路径 2207，报文 9001（his.path_infno）"
            ), answer["err_msg"]
        assert await h.counts() == before


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_each_profiles_refusals_change_nothing(make_harness: Any, profile: str) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        p = PERSONS["1"]
        registration = outpatient_registration(p, "2026-03-10 09:00:00")
        body = h.envelope("2201", registration, NANJING, insured=p["insuplc_admdvs"])
        now = h.runtime.clock.now()
        signer = PROFILES[profile]
        bad = {**signer(NANJING, body, now, "5"), SIGNATURE_HEADER[profile]: "AAAA"}
        stale = signer(NANJING, body, now - timedelta(seconds=301), "6")
        other = h.envelope("2201", json.loads(body)["input"], "H32010000002", envelope_code=NANJING)
        before = await h.counts()
        refusals = [
            (body, bad, SIGNATURE_HEADER[profile], "签名校验不通过", "his.auth.signature"),
            (body, stale, "timestamp", "时间戳超出允许的时间窗口", "his.auth.window"),
            (
                other,
                signer("H32010000002", other, now, "7"),
                "fixmedins_code",
                "报文的定点机构编号与签名的机构不一致",
                "his.institution_mismatch",
            ),
        ]
        for sent, headers, named, says, rule in refusals:
            answer = await call(h, profile, "service path", "2201", sent, headers=headers)
            assert answer["infcode"] == -1
            field, _, told = answer["err_msg"].partition("：")
            assert named in field, answer["err_msg"]
            assert told.startswith(says), answer["err_msg"]
            assert told.endswith(f"（{rule}）"), answer["err_msg"]
        assert await h.counts() == before
        good = signer(NANJING, body, now, "8")
        assert (await call(h, profile, "service path", "2201", body, headers=good))["infcode"] == 0
        after_first = await h.counts()
        replay = await call(h, profile, "service path", "2201", body, headers=good)
        assert replay["infcode"] == -1
        assert "重放" in replay["err_msg"], replay["err_msg"]
        assert replay["err_msg"].endswith("（his.auth.replay）"), replay["err_msg"]
        assert await h.counts() == after_first
        # The same one-digit nonce a second later is another request (the pair is the key).
        later = signer(NANJING, body, now + timedelta(seconds=1), "8")
        repeat = await call(h, profile, "service path", "2201", body, headers=later)
        assert repeat["infcode"] == 0, repeat["err_msg"]
        assert await h.counts() == after_first  # the msgid's kept answer, nothing new
        async with h.runtime.engine.connect() as conn:
            assert await conn.scalar(sa.text("select count(*) from visits")) == 1


async def test_the_agency_rotates_a_hospitals_gateway_credentials_without_echoing_them(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        rotated = {"tif_token": "rotated-tif-token-0001", "csb_access_key": "AK-ROTATED-0001"}
        response = await h.client.patch(
            f"/v1/api/hospitals/{NANJING}", headers=h.token("320100"), json=rotated
        )
        assert response.status_code == 200, response.text
        assert not set(response.json()) & {"tif_token", "csb_access_key", "his_secret"}
        assert "rotated" not in response.text
        taken = await h.client.patch(
            "/v1/api/hospitals/H32010000002",
            headers=h.token("320100"),
            json={"tif_paasid": SANDBOX_HOSPITALS[NANJING][0]},
        )
        assert taken.status_code == 409, taken.text
        before = await h.counts()
        body = h.envelope("9001", {"signIn": {"opter_no": "001"}}, NANJING)
        old = await call(h, "tif", "service path", "9001", body, nonce="1")
        assert old["infcode"] == -1
        assert "x-tif-signature" in old["err_msg"], old["err_msg"]
        old_key = await call(h, "csb", "service path", "9001", body, nonce="2")
        assert old_key["infcode"] == -1
        assert "_api_access_key" in old_key["err_msg"], old_key["err_msg"]
        assert await h.counts() == before
        timestamp = str(int(h.runtime.clock.now().timestamp()))
        headers = {
            "x-tif-paasid": SANDBOX_HOSPITALS[NANJING][0],
            "x-tif-timestamp": timestamp,
            "x-tif-nonce": "3",
            "x-tif-signature": tif_signature(rotated["tif_token"], timestamp, "3"),
        }
        answer = await call(h, "tif", "service path", "9001", body, headers=headers)
        assert answer["infcode"] == 0, answer["err_msg"]
