"""Keyset paging of the visit place's lists (hospitals, catalogue items, a hospital's item
mappings), against real PostgreSQL: a list longer than the page is walked by following
`Link: <...>; rel="next"`, every row exactly once, in the list's order, the body the array it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from yidi_stack.paging_walk import walk_pages

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
NANJING, WUXI = "320100", "320200"
ITEM = {"chrgitm_lv": "01", "selfpay_prop": "0.0000", "list_type": "101"}


async def _walk(h: Any, url: str, headers: dict[str, str]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = await walk_pages(h.client, url, headers)
    return pages


async def test_hospitals_catalogue_and_mappings_are_walked_each_row_once(make_harness: Any) -> None:
    async with make_harness(START) as h:
        for code in ("H32010000005", "H32010000002", "H32010000009", "H32010000001"):
            await h.hospital(code, NANJING, "2")
        await h.hospital("H32020000003", WUXI, "2")  # another region's: not Nanjing's to list
        nanjing = h.token(NANJING, "agency")

        pages = await _walk(h, "/v1/api/hospitals?limit=3", nanjing)

        assert [[x["institution_code"][-2:] for x in page] for page in pages] == [
            ["01", "02", "05"],
            ["09"],
        ]
        whole = await h.client.get("/v1/api/hospitals", headers=nanjing)
        assert "link" not in whole.headers
        assert whole.json() == [x for page in pages for x in page]

        await h.catalogue(NANJING, {code: ITEM for code in ("XC3", "XA1", "XB2")})
        items = await _walk(h, "/v1/api/catalogue/items?limit=2", nanjing)
        assert [[i["catalogue_code"] for i in page] for page in items] == [["XA1", "XB2"], ["XC3"]]
        assert items[0][0]["self_pay_ratio"] == "0.0000"  # the decimal's text, as ever

        for hospital_item, catalogue_code in (("HIS-3", "XC3"), ("HIS-1", "XA1"), ("HIS-2", "XB2")):
            mapped = await h.client.post(
                "/v1/api/hospitals/H32010000001/items",
                headers=nanjing,
                json={"hospital_item_code": hospital_item, "catalogue_code": catalogue_code},
            )
            assert mapped.status_code == 201, mapped.text
        mappings = await _walk(h, "/v1/api/hospitals/H32010000001/items?limit=1", nanjing)
        assert [[(m["hospital_item_code"], m["catalogue_code"]) for m in p] for p in mappings] == [
            [("HIS-1", "XA1")],
            [("HIS-2", "XB2")],
            [("HIS-3", "XC3")],
        ]

        bad = await h.client.get("/v1/api/hospitals?cursor=WzFd", headers=nanjing)  # [1]
        assert (bad.status_code, bad.json()["field"]) == (422, "cursor"), bad.text
