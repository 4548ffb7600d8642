"""The paged catalogue queries as a HIS pages through them, signed with each profile on each URL
style: 3301 maps two of the hospital's items, then 1312, 1316, 1317, 1318, 1319 and 1304 answer
pages of rows, every answer checked against the spec's output tables and the served OpenAPI.

Nanjing's catalogue (sandbox/catalog.json, region 320100, every entry from 2026-01-01), by code:
B001 service, class A, cap 60.00; C001 drug, class C, self-pay 100%; M001 material, class B,
self-pay 15%; T001 service, class A, cap 200.00; XA001 drug, class A; XB002 drug, class B,
self-pay 10%; XB003 drug, class B, self-pay 20%, cap 50.00. Nanjing is a level-3 hospital.
Paging numbers arrive as JSON numbers, updt_time as an ISO `T` time.
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance import NANJING, STYLES, Stack
from conformance_flows import D

SINCE = "2026-01-01T00:00:00"  # before the sandbox catalogue was published


def ask(page: int, size: int, **filters: Any) -> dict[str, Any]:
    return {"data": {"updt_time": SINCE, "page_num": page, "page_size": size, **filters}}


def paging(answer: dict[str, Any]) -> tuple[Any, ...]:
    names = ("pageNum", "pageSize", "size", "startRow", "endRow", "recordCounts", "pages")
    return (*(int(answer[n]) for n in names), answer["isFirstPage"], answer["isLastPage"])


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_the_catalogue_queries_page_through_what_settlement_holds(
    world: Stack, profile: str, url: str
) -> None:
    his = world.client(profile, url)
    mine = (f"{profile}-{url}-A", f"{profile}-{url}-B")  # this style's own hospital items
    for item, code, kind in ((mine[1], "XB003", "101"), (mine[0], "M001", "301")):
        mapping = {
            "fixmedins_hilist_id": item,
            "fixmedins_hilist_name": f"院内{code}",
            "list_type": kind,
            "med_list_codg": code,
            "begndate": "2026-03-10",
            "enddate": "2099-12-31",
        }
        await his.ok("3301", {"data": mapping})

    # 1312: 7 entries, 3 a page: B001 C001 M001 | T001 XA001 XB002 | XB003
    second = await his.ok("1312", ask(2, 3))
    assert [r["hilist_code"] for r in second["data"]] == ["T001", "XA001", "XB002"]
    assert paging(second) == (2, 3, 3, 4, 6, 7, 3, False, False)
    (m001,) = (await his.ok("1312", ask(1, 10, hilist_code="M001")))["data"]
    assert (m001["chrgitm_lv"], m001["list_type"], m001["med_chrgitm_type"]) == (
        "02",
        "301",
        "08",  # 卫生材料费
    )
    assert (m001["insu_admdvs"], m001["begndate"], m001["vali_flag"]) == (
        "320100",
        "2026-01-01",
        "1",
    )

    # 1316: each code matched to itself; the drugs (101) are C001 XA001 XB002 XB003
    drugs = await his.ok("1316", ask(1, 10, list_type="101"))
    assert [(r["med_list_codg"], r["hilist_code"]) for r in drugs["data"]] == [
        (code, code) for code in ("C001", "XA001", "XB002", "XB003")
    ]

    # 1317: this style's two mappings, in item order; one of them asked for alone
    mapped = await his.ok("1317", ask(1, 100))
    ours = [r for r in mapped["data"] if r["medins_list_codg"] in mine]
    assert [(r["medins_list_codg"], r["med_list_codg"], r["list_type"]) for r in ours] == [
        (mine[0], "M001", "301"),
        (mine[1], "XB003", "101"),
    ]
    assert {(r["fixmedins_code"], r["insu_admdvs"], r["begndate"]) for r in ours} == {
        (NANJING, "320100", "2026-03-10")
    }
    alone = await his.ok("1317", ask(1, 10, medins_list_codg=mine[1]))
    assert [r["med_list_codg"] for r in alone["data"]] == ["XB003"]
    assert paging(alone) == (1, 10, 1, 1, 1, 1, 1, True, True)

    # 1318: the three capped entries, told at Nanjing's level (3)
    caps = await his.ok("1318", ask(1, 10))
    assert [
        (r["hilist_code"], r["hilist_pric_uplmt_amt"], r["hilist_lmtpric_type"])
        for r in caps["data"]
    ] == [("B001", D("60.00"), "3"), ("T001", D("200.00"), "3"), ("XB003", D("50.00"), "3")]
    assert [str(r["hilist_pric_uplmt_amt"]) for r in caps["data"]] == ["60.00", "200.00", "50.00"]

    # 1319: 7 entries for employees (310) and residents (390): 14 rows; page 3 of 5 rows is
    # rows 11-14: XB002 310/390, XB003 310/390
    ratios = await his.ok("1319", ask(3, 5))
    assert [
        (r["hilist_code"], r["selfpay_prop_psn_type"], str(r["selfpay_prop"]))
        for r in ratios["data"]
    ] == [
        ("XB002", "310", "0.1000"),
        ("XB002", "390", "0.1000"),
        ("XB003", "310", "0.2000"),
        ("XB003", "390", "0.2000"),
    ]
    assert paging(ratios) == (3, 5, 4, 11, 14, 14, 3, False, True)

    # 1304: no ethnic medicines are held: an empty page, not an error
    ethnic = await his.ok("1304", ask(1, 20))
    assert ethnic["data"] == []
    assert paging(ethnic) == (1, 20, 0, 0, 0, 0, 0, True, True)

    served = [infno for infno, _ in his.answers]
    assert served == [
        "3301",
        "3301",
        "1312",
        "1312",
        "1316",
        "1317",
        "1317",
        "1318",
        "1319",
        "1304",
    ]
