"""Keyset paging of the day-statement lists through the real broker and database: a list longer
than the page is walked by following `Link: <...>; rel="next"`, every day once, by day then pair,
the body the `{"statements": [...]}` it was."""

from __future__ import annotations

from datetime import timedelta

from reconciliation_testkit import DAY, NANJING, SUQIAN, SUZHOU, Service

from yidi_stack.paging_walk import walk_pages


async def _walk(service: Service, url: str, headers: dict[str, str]) -> list[list[str]]:
    return [
        [f"{s['business_date']} {s['pair']}" for s in page["statements"]]
        for page in await walk_pages(service.http, url, headers)
    ]


async def test_day_statements_are_walked_by_day_then_pair_each_once(service: Service) -> None:
    s = service.settlement
    later = DAY + timedelta(days=1)
    await s.settle("S1", day=later)
    await s.settle("Q1", insured_region=SUQIAN, day=DAY)
    await s.settle("S2", day=DAY)
    await s.settle("Q2", insured_region=SUQIAN, day=later)
    await service.deliver()
    nanjing = service.as_agency(NANJING)

    pages = await _walk(service, "/v1/statements?limit=3", nanjing)

    # Two days of two pairs each; the pair text is "insured>visit": 320500 sorts before 321300.
    assert pages == [
        [f"{DAY} {SUZHOU}>{NANJING}", f"{DAY} {SUQIAN}>{NANJING}", f"{later} {SUZHOU}>{NANJING}"],
        [f"{later} {SUQIAN}>{NANJING}"],
    ]
    whole = await service.http.get("/v1/statements", headers=nanjing)
    assert "link" not in whole.headers
    assert len(whole.json()["statements"]) == 4
    suzhou = await _walk(service, "/v1/statements?limit=1", service.as_agency(SUZHOU))
    assert suzhou == [[f"{DAY} {SUZHOU}>{NANJING}"], [f"{later} {SUZHOU}>{NANJING}"]]
