"""Load shedding (issue 20): a gateway process answers at most `his_max_in_flight` requests at once;
one more is answered his.busy at once, in a clean envelope, and changes nothing: no event, no kept
answer, its nonce unspent, so the hospital sends the very same request again and it is served.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign

SANDBOX = shared_dir() / "sandbox"
PERSON = json.loads((SANDBOX / "persons.json").read_text("utf-8"))[0]
NANJING = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
SIGN_IN = {"signIn": {"opter_no": "1", "mac": "00:00:00:00:00:00", "ip": "127.0.0.1"}}


async def until(condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_request_beyond_the_limit_is_answered_busy_and_changes_nothing(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        insured = PERSON["insuplc_admdvs"]
        gateway = h.app.state.gateway
        gateway.max_in_flight = 1
        # Credentials are now kept by the process: the held request waits only where it is held.
        await h.ok("9001", SIGN_IN, NANJING, insured=insured)
        before = await h.counts()

        # Hold one request in flight: it waits to spend its nonce behind a lock the test holds.
        async with h.runtime.engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(sa.text("LOCK TABLE request_nonces IN ACCESS EXCLUSIVE MODE"))
            held = asyncio.create_task(
                h.his("9001", SIGN_IN, NANJING, insured=insured, msgid="HELD")
            )
            await until(lambda: gateway.in_flight == 1, "the held request")

            body = h.envelope("9001", SIGN_IN, NANJING, insured=insured, msgid="SHED")
            headers = sign(h.secrets[NANJING], NANJING, body, h.runtime.clock.now())
            shed = await h.post(body, NANJING, headers)
            assert shed["infcode"] == -1
            assert shed["output"] is None
            # msgid：<the his.busy sentence>（his.busy）
            assert shed["err_msg"] == (
                "msgid：平台正忙或并发请求同时修改了相同记录，"
                "本次未做任何变更，请以相同报文重新发送（his.busy）"
            ), shed["err_msg"]
            assert await h.counts() == before  # no event, no kept answer
            assert not held.done()
            await transaction.rollback()

        assert (await held)["infcode"] == 0
        assert gateway.in_flight == 0
        # The same request, same signature and nonce, is served now: nothing of it was kept.
        again = await h.post(body, NANJING, headers)
        assert again["infcode"] == 0, again["err_msg"]
        # ... and spent its nonce only then.
        replay = await h.post(body, NANJING, headers)
        assert replay["infcode"] == -1
        assert replay["err_msg"].endswith("（his.auth.replay）"), replay["err_msg"]


async def test_a_request_that_waits_too_long_for_its_turn_is_answered_busy(
    make_harness: Any,
) -> None:
    """Under the in-flight limit, but every working turn taken for longer than a request may
    wait: it is answered his.busy when its wait runs out, not whenever a turn comes (which under
    overload is past the hospital's timeout), and nothing of it is kept."""
    async with make_harness(START) as h:
        await h.sandbox_world()
        insured = PERSON["insuplc_admdvs"]
        gateway = h.app.state.gateway
        gateway.max_wait_s = 0.3
        await h.ok("9001", SIGN_IN, NANJING, insured=insured)
        before = await h.counts()

        async with h.runtime.engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(sa.text("LOCK TABLE request_nonces IN ACCESS EXCLUSIVE MODE"))
            held = [
                asyncio.create_task(
                    h.his("9001", SIGN_IN, NANJING, insured=insured, msgid=f"HELD{n}")
                )
                for n in range(gateway.max_working)
            ]
            await until(lambda: gateway.in_flight == gateway.max_working, "every turn taken")

            body = h.envelope("9001", SIGN_IN, NANJING, insured=insured, msgid="WAITED")
            headers = sign(h.secrets[NANJING], NANJING, body, h.runtime.clock.now())
            waited_from = asyncio.get_running_loop().time()
            shed = await h.post(body, NANJING, headers)
            waited = asyncio.get_running_loop().time() - waited_from
            assert shed["infcode"] == -1
            assert shed["err_msg"].endswith("（his.busy）"), shed["err_msg"]
            assert waited >= 0.3  # it did wait for a turn before being turned away
            assert await h.counts() == before
            assert not any(task.done() for task in held)
            await transaction.rollback()

        assert all(answer["infcode"] == 0 for answer in await asyncio.gather(*held))
        again = await h.post(body, NANJING, headers)
        assert again["infcode"] == 0, again["err_msg"]
