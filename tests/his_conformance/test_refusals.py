"""Each profile's refusals on each URL style: a bad signature, a stale timestamp, a replayed
(timestamp, nonce) and another institution's code answer infcode -1 naming the header or field,
and change nothing: the event store and the kept answers (idempotency rows) are counted before
and after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conformance import NANJING, PROFILES, SIGNATURE_HEADER, STYLES, XUANWU, Stack, parse


def registration(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": p["psn_no"],
            "insutype": p["insutype"],
            "begntime": "2026-03-10T09:00:00",
            "mdtrt_cert_type": "03",
            "mdtrt_cert_no": p["certno"],
            "card_sn": p["card_sn"],
            "med_type": "11",
            "ipt_otp_no": "MZ-REFUSED",
        }
    }


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_each_refusal_answers_minus_one_and_changes_nothing(
    world: Stack, profile: str, url: str
) -> None:
    p = await world.person()
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    body = his.envelope("2201", registration(p))
    now = world.h.runtime.clock.now()
    sign = PROFILES[profile]
    bad = {**sign(NANJING, body, now, world.nonce()), SIGNATURE_HEADER[profile]: "AAAA"}
    stale = sign(NANJING, body, now - timedelta(seconds=301), world.nonce())
    # Xuanwu's own valid credentials on an envelope that names Nanjing.
    borrowed = sign(XUANWU, body, now, world.nonce())
    before = await world.counts()
    refusals = [
        (bad, SIGNATURE_HEADER[profile], "签名校验不通过"),
        (stale, "timestamp", "超出允许"),
        (borrowed, "fixmedins_code", "不一致"),
    ]
    for headers, named, rule in refusals:
        answer = parse((await his.post("2201", body, headers=headers)).content)
        assert answer["infcode"] == -1, answer
        assert answer["output"] is None
        assert named in answer["err_msg"], answer["err_msg"]
        assert rule in answer["err_msg"], answer["err_msg"]
    assert await world.counts() == before

    good = sign(NANJING, body, now, world.nonce())
    accepted = parse((await his.post("2201", body, headers=good)).content)
    assert accepted["infcode"] == 0, accepted["err_msg"]
    after = await world.counts()
    assert after[0] > before[0]
    assert after[1] == before[1] + 1
    replayed = parse((await his.post("2201", body, headers=good)).content)
    assert replayed["infcode"] == -1
    assert "重放" in replayed["err_msg"], replayed["err_msg"]
    assert await world.counts() == after
