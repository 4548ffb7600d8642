"""Keyset paging of the filing lists, against real PostgreSQL: a list longer than the page is
walked by following `Link: <...>; rel="next"`, every row exactly once, in the list's order; the
body stays the array it always was; a cursor the list never gave out is a 422 naming `cursor`."""

from __future__ import annotations

import copy
import json
from typing import Any

from yidi_cli.sandbox import shared_dir
from yidi_stack.paging_walk import walk_pages

SUZHOU, WUXI, NANJING = "320500", "320200", "320100"
PERSONS = [f"3205000000000000{n:04d}" for n in (7, 3, 11, 5, 1)]


async def _walk(svc: Any, url: str, headers: dict[str, str]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = await walk_pages(svc.client, url, headers)
    return pages


async def test_persons_are_walked_page_by_page_each_once_by_person_number(svc: Any) -> None:
    for seq, person_id in enumerate(PERSONS, start=1):
        await svc.enrol(person_id, SUZHOU, seq=seq)
    await svc.enrol("32020000000000000009", WUXI, seq=9)  # another region's: never listed

    pages = await _walk(svc, "/v1/persons?limit=2", svc.auth(SUZHOU))

    # Five persons, two a page: 2 + 2 + 1, ascending person numbers 0001, 0003, 0005, 0007, 0011.
    assert [[p["person_id"][-4:] for p in page] for page in pages] == [
        ["0001", "0003"],
        ["0005", "0007"],
        ["0011"],
    ]
    whole = await svc.client.get("/v1/persons", headers=svc.auth(SUZHOU))
    assert "link" not in whole.headers  # the default page holds a region's small list whole
    assert [p["person_id"] for p in whole.json()] == [p["person_id"] for pg in pages for p in pg]
    assert whole.json()[0]["insured_region"] == SUZHOU  # the same person objects as before


async def test_filings_are_walked_oldest_review_due_first_then_the_undue(svc: Any) -> None:
    long_term = {"kind": "long_term", "long_term_type": "long_term_resident"}
    for seq, person_id in enumerate(PERSONS[:3], start=1):
        await svc.enrol(person_id, SUZHOU, seq=seq)
    # Monday: one filing that waits for a reviewer (due in 2 working days: Wednesday), and one
    # temporary filing approved at once (no due date: it sorts after every due one).
    first = await svc.post(
        "/v1/filings",
        {"person_id": PERSONS[0], "visit_region": NANJING, **long_term},
        headers=svc.auth(SUZHOU),
    )
    at_once = await svc.post(
        "/v1/filings",
        {"person_id": PERSONS[1], "kind": "other_temporary", "visit_region": NANJING},
        headers=svc.auth(SUZHOU),
    )
    await svc.advance(days=1)  # Tuesday: due Thursday
    second = await svc.post(
        "/v1/filings",
        {"person_id": PERSONS[2], "visit_region": NANJING, **long_term},
        headers=svc.auth(SUZHOU),
    )
    due = {r.json()["filing_id"]: r.json()["review_due"] for r in (first, at_once, second)}
    assert list(due.values()) == ["2026-03-04", None, "2026-03-05"]

    pages = await _walk(svc, "/v1/filings?limit=1", svc.auth(SUZHOU))

    assert [[f["filing_id"] for f in page] for page in pages] == [
        [first.json()["filing_id"]],
        [second.json()["filing_id"]],
        [at_once.json()["filing_id"]],
    ]
    pending = await _walk(svc, "/v1/filings?status=pending&limit=1", svc.auth(SUZHOU))
    assert [f["status"] for page in pending for f in page] == ["pending", "pending"]


async def test_a_cursor_the_list_never_gave_is_refused_naming_it(svc: Any) -> None:
    await svc.enrol(PERSONS[0], SUZHOU)
    for cursor in ("not-base64!", "WzFd", "WyIyMDI2LTEzLTQwIiwieCJd"):  # junk, [1], a bad date
        url = (
            f"/v1/filings?cursor={cursor}"
            if cursor.startswith("Wy")
            else f"/v1/persons?cursor={cursor}"
        )
        response = await svc.client.get(url, headers=svc.auth(SUZHOU))
        assert response.status_code == 422, (cursor, response.text)
        problem = response.json()
        assert (problem["rule"], problem["field"]) == ("paging.cursor_invalid", "cursor"), problem
    too_many = await svc.client.get("/v1/persons?limit=1001", headers=svc.auth(SUZHOU))
    assert (too_many.status_code, too_many.json()["field"]) == (422, "query.limit")


async def test_policy_versions_are_walked_by_scheme_then_version(svc: Any) -> None:
    documents = json.loads((shared_dir() / "sandbox" / "policies.json").read_text())
    employee, resident = (
        next(d for d in documents if d["insuplc_admdvs"] == SUZHOU and d["insutype"] == scheme)
        for scheme in ("310", "390")
    )
    me = svc.auth(SUZHOU)
    newer = copy.deepcopy(employee) | {"effective_from": "2026-07-01"}
    newer["basic"]["annual_cap"] = "450000.00"
    for document in (resident, employee, newer):  # 390 v1, 310 v1, 310 v2
        published = await svc.post("/v1/policies", document, headers=me)
        assert published.status_code == 201, published.text

    pages = await _walk(svc, "/v1/policies?limit=2", me)

    assert [[(p["insurance_type"], p["version"]) for p in page] for page in pages] == [
        [("310", 1), ("310", 2)],
        [("390", 1)],
    ]
    assert pages[0][0]["document"]["effective_to"] == "2026-06-30"  # superseded by v2
