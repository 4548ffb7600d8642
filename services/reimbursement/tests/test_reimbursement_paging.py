"""Keyset paging of the claims lists (the region's at the counter, the person's online), against
real PostgreSQL: a list longer than the page is walked by following `Link: <...>; rel="next"`,
each claim exactly once, in the list's order, the body the array it was."""

from __future__ import annotations

from typing import Any

from reimbursement_testkit import PERSON, Stack, claim_body

from yidi_stack.paging_walk import walk_pages


async def _walk(stack: Stack, url: str, headers: dict[str, str]) -> list[list[str]]:
    return [[c["claim_id"] for c in page] for page in await walk_pages(stack.http, url, headers)]


async def test_the_claims_lists_are_walked_each_claim_once(stack: Stack) -> None:
    await stack.enrol_and_publish_policy()
    # Received the same day, so due the same day: the claim id orders them.
    for claim_id, numbers in (("CL-3", ("0005", "0006")), ("CL-1", ("0001", "0002"))):
        await stack.verifier.issue(numbers[0], 60_000)  # what claim_body invoices
        await stack.verifier.issue(numbers[1], 40_000)
        made: Any = await stack.http.post(
            "/v1/claims", json=claim_body(numbers, claim_id=claim_id), headers=stack.officer()
        )
        assert made.status_code == 201, made.text
    await stack.verifier.issue("0003", 60_000)
    await stack.verifier.issue("0004", 40_000)
    me = stack.auth(kind="person", user=PERSON)
    online = await stack.http.post(
        "/v1/online/claims", json=claim_body(("0003", "0004"), claim_id="CL-2"), headers=me
    )
    assert online.status_code == 201, online.text

    assert await _walk(stack, "/v1/claims?limit=2", stack.officer()) == [["CL-1", "CL-2"], ["CL-3"]]
    assert await _walk(stack, "/v1/online/claims?limit=1", me) == [["CL-1"], ["CL-2"], ["CL-3"]]
    whole = await stack.http.get("/v1/claims", headers=stack.officer())
    assert "link" not in whole.headers
    assert [c["claim_id"] for c in whole.json()] == ["CL-1", "CL-2", "CL-3"]
    assert whole.json()[0]["bank_account"].startswith("****")  # the view as it always was

    bad = await stack.http.get("/v1/claims?cursor=WzFd", headers=stack.officer())  # [1]
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["field"] == "cursor", bad.text
