"""The inpatient flow as a real HIS runs it, signed with each profile on each URL style, every
answer checked against the spec's output tables, the money worked by hand.

Sandbox person 7's kind (a fresh one per parametrization): Suzhou (320500) employee in service,
long-term resident filed to Nanjing (cut 0 points), account 2500.00, admitted to H32010000001
(level 3). Suzhou's employee policy: inpatient deductible 1000.00 for a first admission at level
3; basic fund 0.85 in service at level 3 up to 20000.00 cumulative; large-amount fund only above a
5000.00 personal share. Catalogue: B001 (bed) class A, cap 60.00; XA001 class A, no cap; M001
class B, self-pay 15%; T001 class A, cap 200.00.
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance import STYLES, Client, Stack
from conformance_flows import FIGURES, D, line, money, settle, voucher


async def admit(his: Client, p: dict[str, Any]) -> str:
    await his.ok(
        "9001", {"signIn": {"opter_no": "001", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}}
    )
    query = {**voucher(p), "psn_cert_type": "01", "certno": p["certno"], "psn_name": p["psn_name"]}
    info = await his.ok("1101", {"data": query})
    assert info["baseinfo"]["psn_no"] == p["psn_no"]
    admission = {
        "mdtrtinfo": {
            **voucher(p),
            "cert_type": "01",
            "certno": p["certno"],
            "insuplc_admdvs": p["insuplc_admdvs"],
            "mdtrtarea_admvs": "320100",
            "psn_no": p["psn_no"],
            "insutype": p["insutype"],
            "coner_name": "周家属",
            "tel": "13800000000",
            "begntime": "2026-03-10T09:00:00",
            "med_type": "21",
            "ipt_no": "ZY20260310001",
            "medrcdno": "BA001",
            "atddr_no": "D002",
            "chfpdr_name": "李主任",
            "adm_diag_dscr": "肺炎",
            "adm_dept_codg": "A03",
            "adm_dept_name": "呼吸内科",
            "adm_bed": "12",
            "dscg_maindiag_code": "J18.900",
            "dscg_maindiag_name": "肺炎",
            "main_cond_dscr": "发热咳嗽",
            "dise_codg": "J18.900",
            "dise_name": "肺炎",
        },
        "diseinfo": [
            {
                "psn_no": p["psn_no"],
                "diag_type": "1",
                "maindiag_flag": "1",
                "diag_srt_no": 1,
                "diag_code": "J18.900",
                "diag_name": "肺炎",
                "adm_cond": "1",
                "diag_dept": "呼吸内科",
                "dise_dor_no": "D002",
                "dise_dor_name": "李主任",
                "diag_time": "2026-03-10T09:10:00",
            }
        ],
    }
    admitted = await his.ok("2401", admission, string_input=True)
    visit: str = admitted["result"]["mdtrt_id"]
    return visit


def discharge(p: dict[str, Any], visit: str) -> dict[str, Any]:
    return {
        "dscginfo": {
            "mdtrt_id": visit,
            "psn_no": p["psn_no"],
            "insutype": p["insutype"],
            "endtime": "2026-03-10T17:00:00",
            "dise_codg": "J18.900",
            "dise_name": "肺炎",
            "dscg_dept_codg": "A03",
            "dscg_dept_name": "呼吸内科",
            "dscg_way": "1",
        },
        "diseinfo": [
            {
                "mdtrt_id": visit,
                "psn_no": p["psn_no"],
                "diag_type": "1",
                "maindiag_flag": "1",
                "diag_srt_no": 1,
                "diag_code": "J18.900",
                "diag_name": "肺炎",
                "diag_dept": "呼吸内科",
                "dise_dor_no": "D002",
                "dise_dor_name": "李主任",
                "diag_time": "2026-03-10T16:00:00",
            }
        ],
    }


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_an_admission_is_discharged_settled_and_cancelled(
    world: Stack, profile: str, url: str
) -> None:
    p = await world.person("7")
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    visit = await admit(his, p)
    at = "2026-03-10T10:00:00"
    lines = [
        line(1, visit, p, "B001", "3", "60.00", "180.00", at, med_type="21", drord_no="YZ1"),
        line(2, visit, p, "XA001", "10.0", "25.50", "255.00", at, med_type="21", drord_no="YZ2"),
        line(3, visit, p, "M001", "1", "3200.00", "3200.00", at, med_type="21", drord_no="YZ3"),
        line(4, visit, p, "T001", "1", "1800.00", "1800.00", at, med_type="21", drord_no="YZ4"),
    ]
    split = {r["feedetl_sn"]: r for r in (await his.ok("2301", {"feedetail": lines}))["result"]}
    # T001 over its 200.00 cap: (1800.00 - 200.00) x 1 = 1600.00 over the limit.
    assert split["4"]["overlmt_amt"] == D("1600.00")
    assert split["4"]["pric_uplmt_amt"] == D("200.00")
    await his.ok("2402", discharge(p, visit))
    request = settle(p, visit, "5435.00", mid_setl_flag="0")
    pre = await his.ok("2303", request, string_input=True)
    final = await his.ok("2304", {"data": {**request["data"], "invono": "INV-ZY-1"}})
    # 180.00 + 255.00 + 3200.00 + 1800.00 = 5435.00; over the limit 1600.00; M001 self-paid
    # first 480.00; in policy 180.00 + 255.00 + 2720.00 + 200.00 = 3355.00; the first
    # admission's deductible 1000.00; basic (3355.00 - 1000.00) x 0.85 = 2001.75; personal
    # share 1353.25 < 5000.00: no large-amount fund; the person's part 5435.00 - 2001.75 =
    # 3433.25: the whole account 2500.00, cash 933.25, 0.00 left.
    expected = dict(
        zip(
            FIGURES,
            ["5435.00", "0.00", "1600.00", "480.00", "3355.00", "1000.00", "2001.75", "0.00",
             "2001.75", "2500.00", "933.25", "0.00"],
            strict=True,
        )
    )  # fmt: skip
    assert money(pre["setlinfo"], *FIGURES) == expected
    assert money(final["setlinfo"], *FIGURES) == expected
    setl = {"setl_id": final["setlinfo"]["setl_id"], "mdtrt_id": visit, "psn_no": p["psn_no"]}
    cancelled = await his.ok("2305", {"data": setl})
    assert money(cancelled["setlinfo"], "medfee_sumamt", "psn_cash_pay", "balc") == {
        "medfee_sumamt": "-5435.00",
        "psn_cash_pay": "-933.25",
        "balc": "2500.00",
    }
    served = [infno for infno, _ in his.answers]
    assert served == ["9001", "1101", "2401", "2301", "2402", "2303", "2304", "2305"]


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_a_long_stay_with_a_return_line_settles_in_two_stages(
    world: Stack, profile: str, url: str
) -> None:
    p = await world.person("7")
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    visit = await admit(his, p)
    at = "2026-03-10T10:00:00"
    stage_one = [
        line(1, visit, p, "B001", "3", "60.00", "180.00", at, med_type="21"),
        line(2, visit, p, "XA001", "10.0", "25.50", "255.00", at, med_type="21"),
        line(3, visit, p, "M001", "1", "3200.00", "3200.00", at, med_type="21"),
        # Two of line 2's ten returned (退单): a negative quantity naming the line.
        line(4, visit, p, "XA001", "-2", "25.50", "-51.00", at, med_type="21", init_feedetl_sn=2),
    ]
    split = {r["feedetl_sn"]: r for r in (await his.ok("2301", {"feedetail": stage_one}))["result"]}
    assert split["4"]["inscp_scp_amt"] == D("-51.00")
    interim = settle(p, visit, "3584.00", acct_used_flag="0", mid_setl_flag="1")
    await his.ok("2303", interim)
    first = await his.ok("2304", interim)
    # Stage one, still in hospital: 180.00 + 255.00 - 51.00 + 3200.00 = 3584.00; M001 self-paid
    # first 480.00; in policy 3104.00; the admission's deductible 1000.00; basic (3104.00 -
    # 1000.00) x 0.85 = 1788.40; share 1315.60 < 5000.00; no account asked: cash 3584.00 -
    # 1788.40 = 1795.60; the account stays 2500.00.
    assert money(first["setlinfo"], *FIGURES) == dict(
        zip(
            FIGURES,
            ["3584.00", "0.00", "0.00", "480.00", "3104.00", "1000.00", "1788.40", "0.00",
             "1788.40", "0.00", "1795.60", "2500.00"],
            strict=True,
        )
    )  # fmt: skip

    stage_two = [
        line(5, visit, p, "T001", "1", "1800.00", "1800.00", at, med_type="21"),
        line(6, visit, p, "B001", "2", "60.00", "120.00", at, med_type="21"),
    ]
    await his.ok("2301", {"feedetail": stage_two})
    await his.ok("2402", discharge(p, visit))
    rest = settle(p, visit, "1920.00", acct_used_flag="0", mid_setl_flag="0")
    await his.ok("2303", rest)
    final_msgid = his.msgid()
    final = await his.ok("2304", rest, msgid=final_msgid)
    # The rest: 1800.00 + 120.00 = 1920.00; over the limit (1800.00 - 200.00) = 1600.00; in
    # policy 200.00 + 120.00 = 320.00; the admission's deductible was met at stage one: 0.00;
    # basic 320.00 x 0.85 = 272.00 (cumulative 2104.00 -> 2424.00, still the first band); cash
    # 1920.00 - 272.00 = 1648.00.
    assert money(final["setlinfo"], *FIGURES) == dict(
        zip(
            FIGURES,
            ["1920.00", "0.00", "1600.00", "0.00", "320.00", "0.00", "272.00", "0.00",
             "272.00", "0.00", "1648.00", "2500.00"],
            strict=True,
        )
    )  # fmt: skip
    year = await world.h.accumulators(p["psn_no"], 2026)
    assert (year.eligible_cum, year.basic_paid_cum) == (242_400, 206_040)

    setl = {"setl_id": final["setlinfo"]["setl_id"], "mdtrt_id": visit, "psn_no": p["psn_no"]}
    cancel_msgid = his.msgid()
    cancelled = await his.ok("2305", {"data": setl}, msgid=cancel_msgid)
    assert str(cancelled["setlinfo"]["medfee_sumamt"]) == "-1920.00"
    year = await world.h.accumulators(p["psn_no"], 2026)
    assert (year.eligible_cum, year.basic_paid_cum) == (210_400, 178_840)  # stage one's only
    await his.ok(
        "2601", {"data": {"psn_no": p["psn_no"], "omsgid": cancel_msgid, "oinfno": "2305"}}
    )
    year = await world.h.accumulators(p["psn_no"], 2026)
    assert (year.eligible_cum, year.basic_paid_cum) == (242_400, 206_040)
