"""Reconciliation as a real HIS runs it, signed with each profile on each URL style: an outpatient
settlement reaches reconciliation through the broker; 3201 balances on the totals worked by hand;
the detail file goes up as multipart (9101), 3202 reconciles it and 9102 answers the result as the
zip itself. Every JSON answer is checked against the spec's output tables."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conformance import NANJING, STYLES, Client, Stack, parse, spec_problems, stack
from conformance_flows import line, settle, sign_in_and_register, split_totals

DAY = "2026-03-10"
COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
           "refd_setl_flag")  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(databases: Any, infra: Any) -> AsyncIterator[Stack]:
    async with stack(databases, infra, flowing=True) as built:
        yield built


async def settled(his: Client, p: dict[str, Any]) -> dict[str, Any]:
    """test_outpatient's visit: 3575.00, the funds 1678.75, the account 1896.25."""
    visit = await sign_in_and_register(his, p)
    at = "2026-03-10T09:30:00"
    lines = [
        line(1, visit, p, "XA001", "10", "25.50", "255.00", at, chrg_bchno="CB01"),
        line(2, visit, p, "M001", "1", "3200.00", "3200.00", at, chrg_bchno="CB01"),
        line(3, visit, p, "C001", "1", "120.00", "120.00", at, chrg_bchno="CB01"),
    ]
    await his.ok("2204", {"feedetail": lines})
    request = settle(p, visit, "3575.00", med_type="11", chrg_bchno="CB01")
    pre = await his.ok("2206", request)
    final = await his.ok("2207", {"data": {**request["data"], **split_totals(pre)}})
    info: dict[str, Any] = final["setlinfo"]
    return info


def detail_file(rows: list[tuple[str, ...]], *, header: bool) -> bytes:
    """The spec asks for no header row; many clients write one (section 0): both are read."""
    text = "".join("\t".join(row) + "\n" for row in ([COLUMNS] if header else []) + rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stmt_detail.txt", text.encode("utf-8"))
    return buffer.getvalue()


def multipart(envelope: bytes, zipped: bytes) -> tuple[bytes, str]:
    """As the spec's demo client streams 9101: the envelope in jsonStr, the zip in file."""
    request = httpx.Request(
        "POST",
        "http://test",
        data={"jsonStr": envelope.decode()},
        files={"file": ("stmt_detail.zip", zipped, "application/zip")},
    )
    return request.read(), request.headers["content-type"]


def result_rows(zipped: bytes) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8")
    header, *rows = [r.split("\t") for r in text.splitlines() if r]
    return {row[header.index("setl_id")]: dict(zip(header, row, strict=True)) for row in rows}


async def balanced(his: Client, claim: dict[str, Any]) -> dict[str, Any]:
    """3201 until the settlements have reached reconciliation through the broker."""
    for _ in range(150):
        out: dict[str, Any] = (await his.ok("3201", {"data": claim}))["stmtinfo"]
        if out["stmt_rslt"] == "0":
            return out
        await asyncio.sleep(0.2)
    raise AssertionError(f"3201 never balanced: {out}")


@pytest.mark.parametrize(("profile", "url"), STYLES)
async def test_a_day_is_reconciled_in_totals_and_in_detail(
    world: Stack, profile: str, url: str
) -> None:
    # One hospital and one day for the module: each parametrization adds a settlement and
    # claims the day's running totals.
    p = await world.person("7")
    his = world.client(profile, url, insured=p["insuplc_admdvs"])
    mine = await settled(his, p)
    world.settled.append(mine)
    n = len(world.settled)
    # Every settlement of this module is test_outpatient's visit: 3575.00 in total, 1678.75
    # from the funds, 1896.25 from the account, each n times.
    claim = {
        "insutype": "310",
        "clr_type": mine["clr_type"],
        "setl_optins": mine["clr_optins"],
        "stmt_begndate": DAY,
        "stmt_enddate": DAY,
        "medfee_sumamt": Decimal("3575.00") * n,
        "fund_pay_sumamt": Decimal("1678.75") * n,
        "acct_pay": Decimal("1896.25") * n,
        "fixmedins_setl_cnt": n,
        "fixmedins_refd_setl_flag": "1",
    }
    out = await balanced(his, claim)
    assert out["setl_optins"] == mine["clr_optins"]
    wrong = await his.ok("3201", {"data": {**claim, "acct_pay": Decimal("1.00")}})
    assert wrong["stmtinfo"]["stmt_rslt"] == "1"
    assert str(Decimal("1896.25") * n) in wrong["stmtinfo"]["stmt_rslt_dscr"]

    # The hospital's file: the day's settlements as the platform has them, and one the platform
    # never saw.
    ghost = f"S-GHOST-{profile}-{url}"
    rows = [
        (s["setl_id"], s["mdtrt_id"], s["psn_no"], "3575.00", "1678.75", "1896.25", "0")
        for s in world.settled
    ]
    rows.append((ghost, "V-GHOST", "P-GHOST", "10.00", "0.00", "0.00", "0"))
    upload = {"fsUploadIn": {"filename": "stmt_detail.zip", "fixmedins_code": NANJING}}
    body, content_type = multipart(
        his.envelope("9101", upload), detail_file(rows, header=profile == "tif")
    )
    answer = parse((await his.post("9101", body, content_type=content_type)).content)
    assert answer["infcode"] == 0, answer["err_msg"]
    assert spec_problems("9101", answer["output"]) == []
    number = answer["output"]["file_qury_no"]

    details = {
        "setl_optins": mine["clr_optins"],
        "file_qury_no": number,
        "stmt_begndate": DAY,
        "stmt_enddate": DAY,
        "medfee_sumamt": Decimal("3575.00") * n + Decimal("10.00"),
        "fund_pay_sumamt": Decimal("1678.75") * n,
        "cash_payamt": Decimal("0.00"),
        "fixmedins_setl_cnt": n + 1,
        "fixmedins_refd_setl_flag": "1",
        "clr_type": mine["clr_type"],
    }
    fileinfo = (await his.ok("3202", {"data": details}))["fileinfo"]
    wanted = {"fsDownloadIn": {**fileinfo, "fixmedins_code": NANJING}}
    response = await his.post("9102", his.envelope("9102", wanted))
    assert response.headers["content-type"] == "application/octet-stream"
    result = result_rows(response.content)
    assert {sid: (r["stmt_rslt"], r["memo"].split(":")[0]) for sid, r in result.items()} == {
        **{s["setl_id"]: ("0", "matched") for s in world.settled},
        ghost: ("1", "missing_on_platform"),
    }
