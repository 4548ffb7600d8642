"""The agency API (hospitals, catalogue, mappings, bulk import) scoped by region, 3301/3302 through
the gateway, and forwarding refusals when an owner does not answer."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
CSV = "med_list_codg,chrgitm_lv,selfpay_prop,pric_uplmt_amt,list_type\nXA001,01,0.0000,,101\nXB009,02,0.2000,50.00,101\n"


async def test_hospitals_and_catalogue_are_scoped_to_the_agency_region(make_harness: Any) -> None:
    async with make_harness(START) as h:
        nanjing, wuxi = h.token("320100", "agency"), h.token("320200", "agency")
        body = {
            "institution_code": "H32010000077",
            "institution_name": "测试医院",
            "region": "320100",
            "hospital_level": "2",
            "networked": True,
            "his_secret": "a-long-enough-secret-1",
        }
        refused = await h.client.post("/v1/api/hospitals", headers=wuxi, json=body)
        assert refused.status_code == 403
        assert refused.json()["error"]["rule"] == "auth.region"
        created = await h.client.post("/v1/api/hospitals", headers=nanjing, json=body)
        assert created.status_code == 201
        assert "his_secret" not in created.json()
        again = await h.client.post("/v1/api/hospitals", headers=nanjing, json=body)
        assert again.status_code == 409
        assert (await h.client.get("/v1/api/hospitals", headers=wuxi)).json() == []
        suspended = await h.client.post(
            "/v1/api/hospitals/H32010000077/suspend", headers=nanjing, json={}
        )
        assert suspended.json()["suspended"] is True
        bad = await h.client.patch(
            "/v1/api/hospitals/H32010000077", headers=nanjing, json={"hospital_level": "9"}
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "hospital_level"
        imported = await h.client.post(
            "/v1/api/catalogue/import",
            headers={**nanjing, "content-type": "text/csv"},
            params={"region": "320100", "effective_from": "2026-01-01"},
            content=CSV,
        )
        assert imported.json() == {"imported": 2}
        items = (await h.client.get("/v1/api/catalogue/items", headers=nanjing)).json()
        assert [(i["catalogue_code"], i["price_cap"]) for i in items] == [
            ("XA001", None),
            ("XB009", "50.000000"),
        ]
        other = await h.client.post(
            "/v1/api/catalogue/import",
            headers=wuxi,
            params={"region": "320100", "effective_from": "2026-01-01"},
            content=CSV,
        )
        assert other.status_code == 403


async def test_item_mapping_through_3301_is_used_by_the_line_split(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.hospital("H32010000001", "320100", "3")
        await h.catalogue(
            "320100",
            {
                "XB009": {
                    "chrgitm_lv": "02",
                    "selfpay_prop": "0.2000",
                    "pric_uplmt_amt": "50.00",
                    "list_type": "101",
                }
            },
        )
        unknown = await h.his(
            "3301",
            {"data": {"fixmedins_hilist_id": "HIS-1", "med_list_codg": "NOPE"}},
            "H32010000001",
        )
        assert unknown["infcode"] == -1
        assert "catalogue.not_found" in unknown["err_msg"]
        await h.ok(
            "3301",
            {
                "data": {
                    "fixmedins_hilist_id": "HIS-1",
                    "med_list_codg": "XB009",
                    "list_type": "101",
                }
            },
            "H32010000001",
        )
        person = {
            "psn_no": "32050000000000000099",
            "insuplc_admdvs": "320500",
            "insutype": "310",
            "psn_type": "1101",
            "certno": "320500199001010099",
            "acct_balance": "0.00",
            "card_sn": "SC99",
        }
        await h.person(person)
        await h.filing(
            {
                "psn_no": person["psn_no"],
                "filing_kind": "long_term",
                "insuplc_admdvs": "320500",
                "mdtrtarea_admvs": "320100",
                "begndate": "2026-01-01",
            }
        )
        visit = await h.ok(
            "2201",
            {
                "data": {
                    "psn_no": person["psn_no"],
                    "insutype": "310",
                    "begntime": "2026-03-10 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": person["certno"],
                }
            },
            "H32010000001",
        )
        visit_id = visit["data"]["mdtrt_id"]
        line = {
            "feedetl_sn": "1",
            "medins_list_codg": "HIS-1",
            "cnt": "2",
            "pric": "60.00",
            "det_item_fee_sumamt": "120.00",
            "mdtrt_id": visit_id,
            "psn_no": person["psn_no"],
        }
        split = await h.ok("2204", {"feedetail": [line]}, "H32010000001")
        # 2 x (60 - 50) over the cap; 20% of the remaining 100 pre-self-paid.
        assert split["result"][0]["overlmt_amt"] == Decimal("20.00")
        assert split["result"][0]["preselfpay_amt"] == Decimal("20.00")
        assert split["result"][0]["inscp_scp_amt"] == Decimal("80.00")
        await h.ok(
            "3302",
            {"data": {"fixmedins_hilist_id": "HIS-1", "med_list_codg": "XB009"}},
            "H32010000001",
        )
        unmapped = await h.his("2204", {"feedetail": [{**line, "feedetl_sn": "2"}]}, "H32010000001")
        assert unmapped["infcode"] == -1
        assert "catalogue.unmapped_item" in unmapped["err_msg"]


async def test_forwarded_transaction_with_no_owner_answering_is_refused(make_harness: Any) -> None:
    async with make_harness(START) as h:
        h.runtime.settings.filing_url = "http://127.0.0.1:9"  # nothing listens on the discard port
        await h.hospital("H32010000001", "320100", "3")
        before = await h.counts()
        # A well-formed referral: the edge maps it, then finds no owner to send it to.
        referral = {"psn_no": "x", "mdtrtarea_admdvs": "320100", "diag_code": "I21.000"}
        answer = await h.his("2501", {"refmedin": referral}, "H32010000001")
        assert answer["infcode"] == -1
        assert "his.owner_unreachable" in answer["err_msg"]
        assert await h.counts() == before
