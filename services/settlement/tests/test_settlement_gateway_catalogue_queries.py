"""The paged catalogue queries (1304, 1312, 1316-1319) through the gateway on a real database:
the sandbox catalogue of Nanjing's region (7 entries from 2026-01-01, published 09:00 Shanghai
time), two 3301 mappings made at 10:00 and a new version of XA001 published at 11:00. Every
expected row and paging figure is worked from sandbox/catalog.json by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from settlement_his_numbers import spec_gaps
from test_settlement_gateway_sandbox import CATALOG, NANJING, START

ALL = "2026-01-01 00:00:00"  # before anything was published
CODES = ["B001", "C001", "M001", "T001", "XA001", "XB002", "XB003"]  # sandbox codes, sorted


def ask(page: int, size: int, since: str = ALL, **filters: Any) -> dict[str, Any]:
    return {"data": {"updt_time": since, "page_num": page, "page_size": size, **filters}}


def shortly_after(wire_time: str, local_start: str) -> bool:
    """The harness clock runs with real time from where a test sets it, so a fact recorded
    during a slow setup carries a few seconds more than the moment the test set."""
    recorded = datetime.strptime(wire_time, "%Y-%m-%d %H:%M:%S")
    start = datetime.strptime(local_start, "%Y-%m-%d %H:%M:%S")
    return start <= recorded < start + timedelta(minutes=2)


def paging(answer: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("pageNum", "pageSize", "size", "startRow", "endRow", "recordCounts", "pages")
    return (*(answer[k] for k in keys), answer["isFirstPage"], answer["isLastPage"])


async def test_the_insurance_catalogue_is_paged_in_code_order(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        first = await h.ok("1312", ask(1, 3), NANJING)
        assert spec_gaps("1312", first) == []
        assert [r["hilist_code"] for r in first["data"]] == CODES[:3]
        assert paging(first) == (1, 3, 3, 1, 3, 7, 3, True, False)
        last = await h.ok("1312", ask(3, 3), NANJING)
        assert [r["hilist_code"] for r in last["data"]] == ["XB003"]
        assert paging(last) == (3, 3, 1, 7, 7, 7, 3, False, True)
        (row,) = last["data"]
        assert {k: row[k] for k in ("chrgitm_lv", "list_type", "med_chrgitm_type")} == {
            "chrgitm_lv": "02",
            "list_type": "101",
            "med_chrgitm_type": "09",  # 西药费
        }
        assert (row["insu_admdvs"], row["begndate"], row["vali_flag"]) == (
            "320100",
            "2026-01-01",
            "1",
        )
        assert row["updt_time"] == row["crte_time"]
        assert shortly_after(row["crte_time"], "2026-03-10 09:00:00")

        past_the_end = await h.ok("1312", ask(4, 3), NANJING)
        assert past_the_end["data"] == []
        assert past_the_end["recordCounts"] == 7

        services = await h.ok("1312", ask(1, 10, list_type="201"), NANJING)
        assert [r["hilist_code"] for r in services["data"]] == ["B001", "T001"]
        # the catalogue of another region is not this hospital's
        elsewhere = await h.ok("1312", ask(1, 10, insu_admdvs="320500"), NANJING)
        assert elsewhere["recordCounts"] == 0
        # in force on a day before the entries began: none
        before = await h.ok("1312", ask(1, 10, query_date="2025-12-31"), NANJING)
        assert before["recordCounts"] == 0

        match = await h.ok("1316", ask(1, 10, hilist_code="XA001"), NANJING)
        assert spec_gaps("1316", match) == []
        (xa,) = match["data"]
        assert (xa["med_list_codg"], xa["hilist_code"], xa["list_type"]) == (
            "XA001",
            "XA001",
            "101",
        )


async def test_caps_and_self_pay_ratios_are_the_catalogues(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        caps = await h.ok("1318", ask(1, 10), NANJING)
        assert spec_gaps("1318", caps) == []
        # B001 60.00, T001 200.00, XB003 50.00: the entries with a cap; Nanjing is level 3
        assert [
            (r["hilist_code"], str(r["hilist_pric_uplmt_amt"]), r["hilist_lmtpric_type"])
            for r in caps["data"]
        ] == [("B001", "60.00", "3"), ("T001", "200.00", "3"), ("XB003", "50.00", "3")]
        assert caps["recordCounts"] == 3

        ratios = await h.ok("1319", ask(1, 4), NANJING)
        assert spec_gaps("1319", ratios) == []
        assert ratios["recordCounts"] == 14  # 7 entries, for employees and residents
        assert ratios["pages"] == 4
        assert [
            (r["hilist_code"], r["selfpay_prop_psn_type"], str(r["selfpay_prop"]))
            for r in ratios["data"]
        ] == [
            ("B001", "310", "0.0000"),
            ("B001", "390", "0.0000"),
            ("C001", "310", "1.0000"),
            ("C001", "390", "1.0000"),
        ]
        xb002 = await h.ok("1319", ask(1, 10, hilist_code="XB002"), NANJING)
        assert [r["selfpay_prop"] for r in xb002["data"]] == [Decimal("0.1000")] * 2
        assert {r["selfpay_prop_type"] for r in xb002["data"]} == {"10"}

        ethnic = await h.ok("1304", ask(1, 10), NANJING)
        assert ethnic["data"] == []
        assert paging(ethnic) == (1, 10, 0, 0, 0, 0, 0, True, True)


async def test_mappings_and_later_versions_are_told_from_when_they_changed(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        none = await h.ok("1317", ask(1, 10), NANJING)
        assert none["recordCounts"] == 0

        h.runtime.clock.set(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
        for item, code in (("HIS-7", "XB003"), ("HIS-1", "XA001")):
            await h.ok(
                "3301", {"data": {"fixmedins_hilist_id": item, "med_list_codg": code}}, NANJING
            )
        mapped = await h.ok("1317", ask(1, 10), NANJING)
        assert spec_gaps("1317", mapped) == []
        assert [
            (r["medins_list_codg"], r["med_list_codg"], r["list_type"], r["begndate"])
            for r in mapped["data"]
        ] == [("HIS-1", "XA001", "101", "2026-03-10"), ("HIS-7", "XB003", "101", "2026-03-10")]
        assert {r["fixmedins_code"] for r in mapped["data"]} == {NANJING}
        assert all(shortly_after(r["updt_time"], "2026-03-10 10:00:00") for r in mapped["data"])
        one = await h.ok("1317", ask(2, 1), NANJING)
        assert [r["medins_list_codg"] for r in one["data"]] == ["HIS-7"]
        # another hospital sees none of Nanjing's mappings
        other = await h.ok("1317", ask(1, 10, fixmedins_code="H32010000002"), NANJING)
        assert other["recordCounts"] == 0

        since = "2026-03-10 09:30:00"
        assert (await h.ok("1312", ask(1, 10, since), NANJING))["recordCounts"] == 0
        assert (await h.ok("1317", ask(1, 10, since), NANJING))["recordCounts"] == 2

        h.runtime.clock.set(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))  # 11:00
        await h.catalogue("320100", {"XA001": {**CATALOG["XA001"], "name": "新版"}})
        newer = await h.ok("1312", ask(1, 10, since), NANJING)
        (row,) = newer["data"]
        assert (row["hilist_code"], row["hilist_name"]) == ("XA001", "新版")
        assert shortly_after(row["crte_time"], "2026-03-10 09:00:00")
        assert shortly_after(row["updt_time"], "2026-03-10 11:00:00")
        # still one entry of XA001 from 2026-01-01: the version replaced the first
        whole = await h.ok("1312", ask(1, 10), NANJING)
        assert whole["recordCounts"] == 7


async def test_bad_paging_is_refused_naming_the_field(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        for data, field in (
            ({"updt_time": ALL, "page_num": 0, "page_size": 10}, "page_num"),
            ({"updt_time": ALL, "page_num": 1, "page_size": "ten"}, "page_size"),
            ({"updt_time": ALL, "page_num": 1.5, "page_size": 10}, "page_num"),
            ({"page_num": 1, "page_size": 10}, "updt_time"),
        ):
            refused = await h.his("1312", {"data": data}, NANJING)
            assert refused["infcode"] == -1
            assert field in refused["err_msg"], refused["err_msg"]
