"""The transactions every HIS client calls beside the visit flows, through the gateway on a real
database: 1201, 1901, the 13xx catalogue files fetched with 9102, 5201-5206 on a settled visit,
4101 settlement lists (a repeat is safe, a refusal changes nothing) and an unserved infno."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from typing import Any

from settlement_his_numbers import spec_gaps
from test_settlement_gateway_sandbox import CATALOG, LINES, NANJING, PERSONS, START, voucher

from yidi_events.kernel import yuan_to_fen

P = PERSONS["1"]  # 320500 employee, account 3,500.00, referral filing to NANJING
INSURED = P["insuplc_admdvs"]


async def outpatient_visit(h: Any) -> tuple[str, dict[str, Any]]:
    """A settled outpatient visit of P at NANJING with two diagnoses: its id and 2207's answer."""
    registered = await h.ok(
        "2201",
        {
            "data": {
                "psn_no": P["psn_no"],
                "insutype": P["insutype"],
                "begntime": "2026-03-10 09:00:00",
                "med_type": "11",
                **voucher(P),
            }
        },
        NANJING,
        insured=INSURED,
    )
    visit_id: str = registered["data"]["mdtrt_id"]
    await h.ok(
        "2203",
        {
            "mdtrtinfo": {"mdtrt_id": visit_id, "psn_no": P["psn_no"], "med_type": "11"},
            "diseinfo": [
                {
                    "diag_type": "1",
                    "diag_srt_no": "1",
                    "diag_code": "I10.x00",
                    "diag_name": "高血压",
                },
                {
                    "diag_type": "1",
                    "diag_srt_no": "2",
                    "diag_code": "E11.900",
                    "diag_name": "2型糖尿病",
                },
            ],
        },
        NANJING,
    )
    rows = [{**x, "mdtrt_id": visit_id, "psn_no": P["psn_no"]} for x in LINES]
    await h.ok("2204", {"feedetail": rows}, NANJING, insured=INSURED)
    settle = {
        "data": {"psn_no": P["psn_no"], "mdtrt_id": visit_id, "acct_used_flag": "1", **voucher(P)}
    }
    settled = await h.ok("2207", settle, NANJING, insured=INSURED)
    return visit_id, settled


async def test_visit_queries_answer_the_settled_visit(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        year_before = await h.accumulators(P["psn_no"], 2026)
        visit_id, settled = await outpatient_visit(h)
        setl_id = settled["setlinfo"]["setl_id"]

        period = {"begntime": "2026-03-01 00:00:00", "endtime": "2026-03-31 23:59:59"}
        visits = await h.ok(
            "5201", {"data": {"psn_no": P["psn_no"], "med_type": "11", **period}}, NANJING
        )
        assert spec_gaps("5201", visits) == []
        (found,) = visits["mdtrtinfo"]
        assert found["mdtrt_id"] == visit_id
        assert found["psn_name"] == P["psn_name"]
        assert found["begntime"] == "2026-03-10 09:00:00"
        # another medical type, or a period before the visit, finds nothing
        inpatient = await h.ok(
            "5201", {"data": {"psn_no": P["psn_no"], "med_type": "21", **period}}, NANJING
        )
        assert inpatient["mdtrtinfo"] == []
        february = {"begntime": "2026-02-01 00:00:00", "endtime": "2026-02-28 23:59:59"}
        earlier = await h.ok(
            "5201", {"data": {"psn_no": P["psn_no"], "med_type": "11", **february}}, NANJING
        )
        assert earlier["mdtrtinfo"] == []

        ref = {"data": {"mdtrt_id": visit_id, "psn_no": P["psn_no"]}}
        diagnosed = await h.ok("5202", ref, NANJING)
        assert spec_gaps("5202", diagnosed) == []
        assert [
            (d["diag_code"], d["maindiag_flag"], d["diag_srt_no"]) for d in diagnosed["diseinfo"]
        ] == [
            ("I10.x00", "1", Decimal("1")),
            ("E11.900", "0", Decimal("2")),
        ]

        setl = {"data": {"mdtrt_id": visit_id, "psn_no": P["psn_no"], "setl_id": setl_id}}
        record = await h.ok("5203", setl, NANJING)
        assert record["setlinfo"]["setl_id"] == setl_id

        lines = await h.ok("5204", setl, NANJING)
        assert spec_gaps("5204", lines) == []
        assert [r["feedetl_sn"] for r in lines] == ["1", "2", "3", "4", "5"]
        assert [str(r["det_item_fee_sumamt"]) for r in lines] == [
            x["det_item_fee_sumamt"] for x in LINES
        ]
        assert sum(yuan_to_fen(str(r["det_item_fee_sumamt"])) for r in lines) == yuan_to_fen(
            str(settled["setlinfo"]["medfee_sumamt"])
        )
        assert {r["list_type"] for r in lines} == {"101", "201", "301"}
        assert all(r["setl_id"] == setl_id and r["med_type"] == "11" for r in lines)

        year = await h.ok("5206", {"data": {"psn_no": P["psn_no"]}}, NANJING)
        assert spec_gaps("5206", year) == []
        cum = {r["cum_type_code"]: r["cum"] for r in year["cuminfo"]}
        assert {r["cum_ym"] for r in year["cuminfo"]} == {"202603"}
        assert {r["year"] for r in year["cuminfo"]} == {"2026"}
        # the basic fund's year total grew by what this settlement's basic fund paid
        paid = yuan_to_fen(str(settled["setlinfo"]["hifp_pay"]))
        assert yuan_to_fen(str(cum["HIFP_PAY"])) == year_before.basic_paid_cum + paid
        assert paid > 0

        # a visit of another institution is not this one's to read
        other = await h.his("5202", ref, "H32010000002")
        assert other["infcode"] == -1
        assert "mdtrt_id" in other["err_msg"]


async def test_settlement_list_upload_is_checked_recorded_once_and_replaced(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        visit_id, settled = await outpatient_visit(h)
        info = {
            "psn_no": P["psn_no"],
            "mdtrt_id": visit_id,
            "setl_id": settled["setlinfo"]["setl_id"],
            "ntly": "CHN",
            "prfs": "17",
            "patn_rlts": "1",
            "coner_addr": "南京市玄武区",
            "coner_tel": "02584000000",
            "dscg_caty": "A03",
            "bill_code": "32010001",
            "bill_no": "0000001",
            "biz_sn": "B0001",
            "setl_begn_date": "2026-03-10",
            "setl_end_date": "2026-03-10",
            "medins_fill_dept": "医保办",
            "medins_fill_psn": "王五",
        }
        payinfo = [{"fund_pay_type": "310100", "fund_payamt": "12.30"}]
        before = await h.counts()

        missing = await h.his("4101A", {"setlinfo": {**info, "bill_no": ""}}, NANJING)
        assert missing["infcode"] == -1
        assert "bill_no" in missing["err_msg"]
        bad_row = await h.his(
            "4101A", {"setlinfo": info, "payinfo": [{"fund_pay_type": "310100"}]}, NANJING
        )
        assert bad_row["infcode"] == -1
        assert "fund_payamt" in bad_row["err_msg"]
        unknown = await h.his("4101A", {"setlinfo": {**info, "setl_id": "S-NOT-THERE"}}, NANJING)
        assert unknown["infcode"] == -1
        assert "setl_id" in unknown["err_msg"]
        assert await h.counts() == before

        # the amount as a JSON number, as C# clients send it
        body = h.envelope("4101A", {"setlinfo": info, "payinfo": payinfo}, NANJING).replace(
            b'"12.30"', b"12.30"
        )
        first = await h.post(body, NANJING)
        assert first["infcode"] == 0, first["err_msg"]
        assert spec_gaps("4101", first["output"]) == []
        list_id = first["output"]["data"]["setl_list_id"]
        assert len(list_id) <= 9
        events_after, _ = await h.counts()
        assert events_after == before[0] + 1
        # the same message again: the kept answer, nothing recorded twice
        again = await h.post(body, NANJING)
        assert again["output"] == first["output"]
        assert (await h.counts())[0] == events_after
        # a corrected list of the same settlement replaces it under the same id
        corrected = await h.ok("4101", {"setlinfo": {**info, "coner_tel": "13900000000"}}, NANJING)
        assert corrected["data"]["setl_list_id"] == list_id
        async with h.runtime.engine.connect() as conn:
            from sqlalchemy import text

            forms = (
                (
                    await conn.execute(
                        text(
                            "select payload from events where event_type = "
                            "'settlement.SettlementListUploaded' order by position"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert [f["form"]["setlinfo"]["coner_tel"] for f in forms] == ["02584000000", "13900000000"]
        assert forms[0]["form"]["payinfo"][0]["fund_payamt"] == "12.30"  # its text, exactly


async def test_institutions_and_dictionaries(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        found = await h.ok(
            "1201", {"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": NANJING}}, NANJING
        )
        assert spec_gaps("1201", found) == []
        assert found["medinsinfo"]["fixmedins_code"] == NANJING
        hospitals = json.loads((h_sandbox() / "hospitals.json").read_text("utf-8"))
        nanjing = next(x for x in hospitals if x["fixmedins_code"] == NANJING)
        assert found["medinsinfo"]["fixmedins_name"] == nanjing["fixmedins_name"]
        by_name = await h.ok(
            "1201",
            {
                "medinsinfo": {
                    "fixmedins_type": "1",
                    "fixmedins_name": nanjing["fixmedins_name"][2:6],
                }
            },
            NANJING,
        )
        assert by_name["medinsinfo"]["fixmedins_name"].find(nanjing["fixmedins_name"][2:6]) >= 0
        nowhere = await h.his(
            "1201", {"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": "H99"}}, NANJING
        )
        assert nowhere["infcode"] == -1

        gender = await h.ok(
            "1901",
            {
                "data": {
                    "type": "gend",
                    "parent_value": "",
                    "admdvs": "320100",
                    "date": "2026-03-10",
                    "Vali_Flag": "1",
                }
            },
            NANJING,
        )
        assert spec_gaps("1901", gender) == []
        assert [(r["value"], r["label"]) for r in gender["list"]] == [
            ("0", "未知"),
            ("1", "男"),
            ("2", "女"),
            ("9", "未说明性别"),
        ]
        unknown = await h.his("1901", {"data": {"type": "no_such_dict"}}, NANJING)
        assert unknown["infcode"] == -1
        assert "type" in unknown["err_msg"]


def h_sandbox() -> Any:
    from test_settlement_gateway_sandbox import SANDBOX

    return SANDBOX


def file_rows(zipped: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


async def download(h: Any, answer: dict[str, Any]) -> list[list[str]]:
    body = h.envelope(
        "9102",
        {
            "fsDownloadIn": {
                "file_qury_no": answer["file_qury_no"],
                "filename": answer["filename"],
                "fixmedins_code": "plc",
            }
        },
        NANJING,
    )
    from yidi_events.auth.his import sign

    response = await h.client.post(
        "/fsi/api/rsfComIfsService/callService",
        content=body,
        headers={
            **sign(h.secrets[NANJING], NANJING, body, h.runtime.clock.now()),
            "content-type": "application/json",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream", response.text
    return file_rows(response.content)


async def test_catalogue_files_hold_the_versions_newer_than_the_hospitals(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        drugs = sorted(code for code, item in CATALOG.items() if item["list_type"] == "101")
        first = await h.ok("1301", {"data": {"ver": "v0000"}}, NANJING)
        assert spec_gaps("1301", first) == []
        assert first["data_cnt"] == len(drugs)
        rows = await download(h, first)
        assert sorted(r[0] for r in rows) == drugs
        assert {len(r) for r in rows} == {97}  # the spec's 97 columns
        latest = max(int(r[82]) for r in rows)  # column 83: 版本号

        # nothing newer than what the hospital holds: an empty file
        none_newer = await h.ok("1301", {"data": {"ver": str(latest)}}, NANJING)
        assert none_newer["data_cnt"] == 0
        assert await download(h, none_newer) == []
        # a catalogue we hold no data for: an empty file too, not an error
        diseases = await h.ok("1307", {"data": {"ver": "v0000"}}, NANJING)
        assert await download(h, diseases) == []

        # a new version of one drug: exactly that row, after the version the hospital holds
        await h.catalogue("320100", {"XA001": {**CATALOG["XA001"], "name": "新版"}})
        newer = await h.ok("1301", {"data": {"ver": str(latest)}}, NANJING)
        (row,) = await download(h, newer)
        assert row[0] == "XA001"
        assert row[1] == "新版"
        assert int(row[82]) > latest
        # the first file is unchanged by the later version
        assert sorted(r[0] for r in await download(h, first)) == drugs

        bad = await h.his("1301", {"data": {"ver": "abc"}}, NANJING)
        assert bad["infcode"] == -1
        assert "ver" in bad["err_msg"]
        foreign = await h.his("9102", {"fsDownloadIn": {"file_qury_no": "CAT9999-1-2"}}, NANJING)
        assert foreign["infcode"] == -1
        assert "file_qury_no" in foreign["err_msg"]


async def test_a_transaction_not_served_is_named(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        answer = await h.his("1304", {"data": {}}, NANJING)
        assert answer["infcode"] == -1
        assert "1304" in answer["err_msg"]


async def test_chronic_medicines_are_the_drug_lines_of_chronic_visits(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        await outpatient_visit(h)  # an ordinary visit (11): none of its lines are told
        chronic = await h.ok(
            "2201",
            {
                "data": {
                    "psn_no": P["psn_no"],
                    "insutype": P["insutype"],
                    "begntime": "2026-03-10 10:00:00",
                    "med_type": "14",
                    **voucher(P),
                }
            },
            NANJING,
            insured=INSURED,
        )
        visit_id = chronic["data"]["mdtrt_id"]
        rows = [{**x, "mdtrt_id": visit_id, "psn_no": P["psn_no"]} for x in LINES]
        await h.ok("2204", {"feedetail": rows}, NANJING, insured=INSURED)

        query = {"data": {"psn_no": P["psn_no"], "begntime": "2026-03-01 00:00:00"}}
        found = await h.ok("5205", query, NANJING)
        assert spec_gaps("5205", found) == []
        # the medicines (list type 1xx) of LINES: XA001, XB003 and C001; not the service (T001)
        # nor the material (M001)
        drugs = {x["feedetl_sn"] for x in LINES if CATALOG[x["med_list_codg"]]["list_type"] < "200"}
        assert drugs == {"1", "2", "4"}
        assert {r["feedetl_sn"] for r in found["feedetail"]} == drugs
        assert {r["med_type"] for r in found["feedetail"]} == {"14"}
        assert {r["fixmedins_code"] for r in found["feedetail"]} == {NANJING}
        later = {"data": {"psn_no": P["psn_no"], "begntime": "2026-03-11 00:00:00"}}
        assert (await h.ok("5205", later, NANJING))["feedetail"] == []
