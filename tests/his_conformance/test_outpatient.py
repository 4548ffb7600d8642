"""The outpatient flow as a real HIS runs it, signed with each profile on each URL style:
9001 -> 1101 -> 2201 -> 2203 -> 2204 -> 2206 -> 2207 -> 2208 -> 2601, every answer checked
against the spec's output tables, the money worked by hand.

Sandbox person 7's kind (a fresh one per parametrization): Suzhou (320500) employee in service
(psn_type 1101), long-term resident filed to Nanjing (cut 0 points), account 2500.00, settling at
H32010000001 (level 3). Suzhou's employee policy: outpatient deductible 1000.00 a year; basic
fund 0.85 at level 3 in service up to 20000.00 cumulative; large-amount fund only above a
5000.00 personal share. Catalogue: XA001 class A, no cap; M001 class B, self-pay 15%; C001 class
C; XB003 class B, self-pay 20%, price cap 50.00.
"""

from __future__ import annotations

import pytest
from conformance import STYLES, Stack
from conformance_flows import FIGURES, D, line, money, settle, sign_in_and_register, split_totals

AT = "2026-03-10T09:30:00"


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_an_outpatient_visit_settles_and_cancels(
    world: Stack, profile: str, url: str
) -> None:
    p = await world.person("7")
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    visit = await sign_in_and_register(his, p)
    lines = [
        line(1, visit, p, "XA001", "10.0", "25.50", "255.00", AT, chrg_bchno="CB01"),
        line(2, visit, p, "M001", "1", "3200.00", "3200.00", AT, chrg_bchno="CB01"),
        line(3, visit, p, "C001", "1.0", "120.0", "120.00", AT, chrg_bchno="CB01"),
    ]
    split = {r["feedetl_sn"]: r for r in (await his.ok("2204", {"feedetail": lines}))["result"]}
    # M001: 3200.00 x 15% = 480.00 self-paid first, 2720.00 in policy; C001 all own pay.
    assert split["2"]["preselfpay_amt"] == D("480.00")
    assert split["2"]["inscp_scp_amt"] == D("2720.00")
    assert split["3"]["fulamt_ownpay_amt"] == D("120.00")
    assert split["1"]["inscp_scp_amt"] == D("255.00")

    request = settle(p, visit, "3575.00", med_type="11", chrg_bchno="CB01")
    pre = await his.ok("2206", request, string_input=True)
    final = await his.ok(
        "2207", {"data": {**request["data"], **split_totals(pre), "invono": "INV-001"}}
    )
    # 255.00 + 3200.00 + 120.00 = 3575.00; in policy 255.00 + 2720.00 = 2975.00; the year's
    # deductible 1000.00 first; basic (2975.00 - 1000.00) x 0.85 = 1678.75; personal share
    # 2975.00 - 1678.75 = 1296.25 is below the large-amount 5000.00, so 0.00; the person's
    # part 3575.00 - 1678.75 = 1896.25, all from the account (2500.00): cash 0.00, 603.75 left.
    expected = dict(
        zip(
            FIGURES,
            ["3575.00", "120.00", "0.00", "480.00", "2975.00", "1000.00", "1678.75", "0.00",
             "1678.75", "1896.25", "0.00", "603.75"],
            strict=True,
        )
    )  # fmt: skip
    assert money(final["setlinfo"], *FIGURES) == expected
    assert money(pre["setlinfo"], *FIGURES) == expected
    assert {(r["fund_pay_type"], str(r["fund_payamt"])) for r in final["setldetail"]} == {
        ("310100", "1678.75"),
        ("310200", "1896.25"),
    }

    cancel_msgid = his.msgid()
    setl = {"setl_id": final["setlinfo"]["setl_id"], "mdtrt_id": visit, "psn_no": p["psn_no"]}
    cancelled = await his.ok("2208", {"data": setl}, msgid=cancel_msgid)
    assert money(cancelled["setlinfo"], "medfee_sumamt", "hifp_pay", "acct_pay", "balc") == {
        "medfee_sumamt": "-3575.00",
        "hifp_pay": "-1678.75",
        "acct_pay": "-1896.25",
        "balc": "2500.00",
    }
    year = await world.h.accumulators(p["psn_no"], 2026)
    assert (year.eligible_cum, year.basic_paid_cum) == (0, 0)
    served = [infno for infno, _ in his.answers]
    assert served == ["9001", "1101", "2201", "2203", "2204", "2206", "2207", "2208"]


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_an_outpatient_visit_with_two_batches_one_cancelled_and_a_reversed_cancellation(
    world: Stack, profile: str, url: str
) -> None:
    p = await world.person("7")
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    visit = await sign_in_and_register(his, p)
    first = [
        line(1, visit, p, "XA001", "10.0", "25.50", "255.00", AT, chrg_bchno="CB01"),
        line(2, visit, p, "M001", "1", "3200.00", "3200.00", AT, chrg_bchno="CB01"),
    ]
    second = [
        line(3, visit, p, "C001", "1", "120.00", "120.00", AT, chrg_bchno="CB02"),
        line(4, visit, p, "XB003", "2", "65.00", "130.00", AT, chrg_bchno="CB02"),
    ]
    await his.ok("2204", {"feedetail": first})
    split = {r["feedetl_sn"]: r for r in (await his.ok("2204", {"feedetail": second}))["result"]}
    # XB003 over its 50.00 cap: (65.00 - 50.00) x 2 = 30.00 over the limit.
    assert split["4"]["overlmt_amt"] == D("30.00")
    await his.ok("2205", {"data": {"mdtrt_id": visit, "chrg_bchno": "CB02", "psn_no": p["psn_no"]}})

    request = settle(p, visit, "3455.00", med_type="11", chrg_bchno="CB01")
    pre = await his.ok("2206", request)
    final = await his.ok(
        "2207", {"data": {**request["data"], **split_totals(pre), "invono": "INV-002"}}
    )
    # Batch CB01 only (CB02 was cancelled): 255.00 + 3200.00 = 3455.00; 480.00 self-paid first;
    # in policy 2975.00; deductible 1000.00; basic 1975.00 x 0.85 = 1678.75; the person's part
    # 3455.00 - 1678.75 = 1776.25 from the account: 2500.00 - 1776.25 = 723.75 left.
    expected = dict(
        zip(
            FIGURES,
            ["3455.00", "0.00", "0.00", "480.00", "2975.00", "1000.00", "1678.75", "0.00",
             "1678.75", "1776.25", "0.00", "723.75"],
            strict=True,
        )
    )  # fmt: skip
    assert money(final["setlinfo"], *FIGURES) == expected

    cancel_msgid = his.msgid()
    setl = {"setl_id": final["setlinfo"]["setl_id"], "mdtrt_id": visit, "psn_no": p["psn_no"]}
    cancelled = await his.ok("2208", {"data": setl}, msgid=cancel_msgid)
    assert str(cancelled["setlinfo"]["medfee_sumamt"]) == "-3455.00"
    await his.ok(
        "2601", {"data": {"psn_no": p["psn_no"], "omsgid": cancel_msgid, "oinfno": "2208"}}
    )
    # The cancellation undone: the settlement stands, its year movement back in place.
    year = await world.h.accumulators(p["psn_no"], 2026)
    assert (year.eligible_cum, year.basic_paid_cum) == (197_500, 167_875)
