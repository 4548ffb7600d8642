"""Issue 24: the agency console in a real browser (Debian's Chromium through Playwright) against
the running platform, logged in as the sandbox's officers. Each action is done on the page and
its result read back through the owning service's API.

The tests of this module share one platform and run in order: a day of Suzhou patients treated
in Nanjing is reconciled in March, and the month is cleared on 2 April."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from yidi_cli.sandbox import sandbox_dir
from yidi_events.kernel.time import SHANGHAI
from yidi_stack.flows import inpatient, outpatient

pytestmark = pytest.mark.e2e

SUZHOU, NANJING, WUXI, CENTRE = "320500", "320100", "320200", "320000"
PERIOD = "2026-03"
VISIT = [
    {"code": "XA001", "cnt": "6", "pric": "45.00", "amount": "270.00"},
    {"code": "T001", "cnt": "1", "pric": "150.00", "amount": "150.00"},
]
STAY = [  # the same drug line twice at the same moment: audit's duplicate-charging rule
    {
        "code": "XA001",
        "cnt": "100",
        "pric": "25.50",
        "amount": "2550.00",
        "at": "2026-03-02 10:00:00",
    },
    {
        "code": "XA001",
        "cnt": "100",
        "pric": "25.50",
        "amount": "2550.00",
        "at": "2026-03-02 10:00:00",
    },
    {"code": "T001", "cnt": "2", "pric": "180.00", "amount": "360.00", "at": "2026-03-02 11:00:00"},
]
USERS = {u["username"]: u for u in json.loads((sandbox_dir() / "users.json").read_text())}


def at(day: int, hour: int, month: int = 3, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def user_id(world: Any, username: str) -> str:
    """The identity's user id of a sandbox login (what the services record as the actor)."""
    done = world.http.post(
        world.platform.url("filing") + "/v1/api/identity/login",
        json={"username": username, "password": USERS[username]["password"]},
    )
    done.raise_for_status()
    return str(done.json()["user_id"])


@pytest.fixture(scope="module")
def day(world: Any, sandbox_persons: Any) -> dict[str, Any]:
    """What the officers find on 3 March: a long-term filing waiting for Wuxi's reviewer, and
    2 March of Suzhou > Nanjing issued (an outpatient visit and a stay charged a drug twice)."""
    p = sandbox_persons
    clerk = world.agency("filing", WUXI, roles=("clerk",))
    filing = clerk.ok(
        "POST",
        "/v1/filings",
        json={
            "person_id": p["4"]["psn_no"],
            "kind": "long_term",
            "long_term_type": "long_term_resident",
            "visit_region": NANJING,
            "valid_from": "2026-03-02",
        },
    )
    assert filing["status"] == "pending", filing  # no supporting documents: a reviewer decides
    nanjing = world.his("H32010000001")
    visit = outpatient(nanjing, p["7"], VISIT)
    world.clock.set(at(2, 15))
    stay = inpatient(
        nanjing, p["1"], STAY, admitted=at(2, 9), discharged=at(2, 15), diagnosis="J18.900"
    )
    world.clock.set(at(3, 0, minute=30))
    centre = world.centre("reconciliation")

    def recorded() -> bool:
        rows = centre.ok("GET", "/v1/statements", params={"date": "2026-03-02"})["statements"]
        return any(r["pair"] == f"{SUZHOU}>{NANJING}" and r["totals"]["count"] == 2 for r in rows)

    world.eventually(recorded, what="reconciliation to record both settlements of 2 March")
    centre.ok("POST", "/v1/days/issue", params={"date": "2026-03-02"})
    world.clock.set(at(3, 9))
    return {"filing_id": filing["filing_id"], "visit": visit, "stay": stay}


@pytest.fixture
def console(browser: Any, world: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies: nobody logged in) on the console."""
    context = browser.new_context(base_url=world.platform.console_url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def login(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(USERS[username]["password"])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#who")).to_contain_text(username)


def test_a_wrong_password_is_refused_on_the_page(console: Any) -> None:
    console.goto("/login")
    console.get_by_label("用户名").fill("wx.reviewer")
    console.get_by_label("密码").fill("not-the-password")
    console.get_by_role("button", name="登录").click()
    expect(console.get_by_role("alert")).to_contain_text("用户名或密码错误")
    console.goto("/filings")
    assert "/login" in console.url  # nothing behind the login without one


def test_a_reviewer_approves_a_pending_filing(
    console: Any, world: Any, day: dict[str, Any], screenshots: Path
) -> None:
    login(console, "wx.reviewer")
    home = console.locator("main").inner_text()
    assert re.search(r"待审核备案\s+1\s", home), home
    console.screenshot(path=str(screenshots / "home.png"), full_page=True)
    console.get_by_role("link", name="待审核备案").click()
    row = console.locator(f"#filing-{day['filing_id']}")
    assert "长期异地未提供证明材料" in row.inner_text()
    console.screenshot(path=str(screenshots / "filings.png"), full_page=True)
    row.get_by_role("button", name=f"批准备案 {day['filing_id']}").click()
    expect(console.get_by_role("status")).to_contain_text(
        f"备案 {day['filing_id']} 已由 wx.reviewer 批准"
    )

    filing = world.agency("filing", WUXI).ok("GET", f"/v1/filings/{day['filing_id']}")
    assert filing["status"] == "approved"
    assert filing["reviewer"] == user_id(world, "wx.reviewer")


def test_an_officer_disputes_one_settlement_then_confirms_the_day(
    console: Any, world: Any, day: dict[str, Any], screenshots: Path
) -> None:
    disputed = day["visit"]["setl_id"]
    login(console, "sz.reconciler")
    console.get_by_role("link", name="日对账确认").click()
    # March's days must be closed by 3 April (reconciliation's rule, shown in working days).
    listed = console.locator("tr", has_text=f"2026-03-02 {SUZHOU}>{NANJING}")
    expect(listed).to_contain_text("待本机构确认")
    expect(listed).to_contain_text("2026-04-03（剩")
    console.get_by_role("link", name=f"2026-03-02 {SUZHOU}>{NANJING}").click()
    console.get_by_label("争议理由").first.wait_for()
    row = console.locator(f"#settlement-{disputed}")
    row.get_by_label("争议理由").fill("参保人否认当日就诊")
    row.get_by_role("button", name=f"对结算 {disputed} 提出争议").click()
    expect(console.get_by_role("status")).to_contain_text("已由 sz.reconciler 提出争议")
    expect(console.locator(f"#settlement-{disputed}")).to_contain_text("争议中")
    console.get_by_role("button", name=re.compile("确认本日对账")).click()
    expect(console.get_by_role("status")).to_contain_text("已由 sz.reconciler 确认")
    console.screenshot(path=str(screenshots / "day.png"), full_page=True)

    path = f"/v1/statements/{SUZHOU}/{NANJING}/2026-03-02"
    statement = world.agency("reconciliation", SUZHOU).ok("GET", path)
    assert statement["confirmed_by"] == [SUZHOU]
    assert [(d["settlement_id"], d["raised_by"], d["status"]) for d in statement["disputes"]] == [
        (disputed, SUZHOU, "open")
    ]
    # What Suzhou confirmed is the stay alone: the disputed visit is held out.
    assert statement["confirmable_totals"]["count"] == 1
    assert statement["closed"] is False  # Nanjing has not confirmed yet


def test_an_auditor_confirms_a_case(
    console: Any, world: Any, day: dict[str, Any], sandbox_persons: Any, screenshots: Path
) -> None:
    person = sandbox_persons["1"]["psn_no"]
    reader = world.agency("audit", NANJING)
    case = world.eventually(
        lambda: next((c for c in reader.ok("GET", "/v1/cases") if c["person_id"] == person), None),
        what="the duplicate-charging case",
    )
    login(console, "nj.auditor")
    console.get_by_role("link", name="稽核案件").first.click()
    row = console.locator(f"#case-{case['case_id']}")
    row.get_by_label("确认理由").fill("同一药品同一时间重复收费")
    console.screenshot(path=str(screenshots / "cases.png"), full_page=True)
    row.get_by_role("button", name=f"确认案件 {case['case_id']} 违规").click()
    expect(console.get_by_role("status")).to_contain_text("已由 nj.auditor 确认违规")

    decided = reader.ok("GET", f"/v1/cases/{case['case_id']}")
    assert (decided["status"], decided["decided_by"], decided["reason"]) == (
        "confirmed",
        user_id(world, "nj.auditor"),
        "同一药品同一时间重复收费",
    )
    console.goto("/cases?status=confirmed")
    expect(console.locator(f"#case-{case['case_id']}")).to_contain_text("处理人 nj.auditor")


def test_two_approvers_approve_the_statement_and_the_same_one_twice_is_refused(
    browser: Any, console: Any, world: Any, day: dict[str, Any], screenshots: Path
) -> None:
    # Nanjing confirms 2 March too (through its API: this test is about the statement).
    world.agency("reconciliation", NANJING).ok(
        "POST", f"/v1/statements/{SUZHOU}/{NANJING}/2026-03-02/confirm"
    )
    # The statement waits until the agencies' last day to close March's days (3 April) is over.
    world.clock.set(at(4, 10, month=4))
    centre = world.centre("clearing", user="centre-setup", roles=("approver",))
    world.eventually(
        lambda: centre.ok("GET", f"/v1/periods/{PERIOD}/statement/inputs-hash")["settlements"] >= 1,
        what="the closed day to reach clearing",
    )
    statement = centre.ok("POST", f"/v1/periods/{PERIOD}/statement")
    for line in statement["lines"]:
        for agency in (line["payer_agency"], line["receiver_agency"]):
            world.agency("clearing", agency).ok(
                "POST", f"/v1/periods/{PERIOD}/lines/{line['line_id']}/confirm"
            )

    login(console, "js.approver1")
    console.goto(f"/clearing?period={PERIOD}")
    console.get_by_role("button", name=re.compile("审批清算单")).click()
    expect(console.get_by_role("status")).to_contain_text("第一次审批已记录")
    expect(console.locator("#approvers")).to_have_text("js.approver1")
    console.get_by_role("button", name=re.compile("审批清算单")).click()
    expect(console.locator("#refusal")).to_contain_text("四眼原则：同一审批人不能两次审批")
    expect(console.locator("main")).to_contain_text("clearing.four_eyes")

    second = browser.new_context(base_url=world.platform.console_url, locale="zh-CN")
    try:
        page = second.new_page()
        login(page, "js.approver2")
        page.goto(f"/clearing?period={PERIOD}")
        page.get_by_role("button", name=re.compile("审批清算单")).click()
        expect(page.get_by_role("status")).to_contain_text("清算单审批完成")
        expect(page.locator("#approval-status")).to_have_text("已审批完成")
        page.get_by_role("button", name="计算净额").click()
        page.locator("figure svg").wait_for()
        page.screenshot(path=str(screenshots / "clearing.png"), full_page=True)
    finally:
        second.close()

    approved = centre.ok("GET", f"/v1/periods/{PERIOD}/statement")
    assert approved["approved"] is True
    assert sorted(approved["approvers"]) == sorted(
        [user_id(world, "js.approver1"), user_id(world, "js.approver2")]
    )


def test_the_exports_are_the_statement(console: Any, world: Any, day: dict[str, Any]) -> None:
    login(console, "js.approver1")
    cookies = {c["name"]: c["value"] for c in console.context.cookies()}
    base = world.platform.console_url
    statement = httpx.get(f"{base}/clearing/{PERIOD}/statement.csv", cookies=cookies)
    assert statement.status_code == 200
    text = statement.content.decode("utf-8-sig")
    centre = world.centre("clearing")
    lines = centre.ok("GET", f"/v1/periods/{PERIOD}/statement")["lines"]
    assert len(text.strip().splitlines()) == 1 + len(lines)
    for line in lines:
        assert line["line_id"] in text
    xlsx = httpx.get(f"{base}/clearing/{PERIOD}/statement.xlsx", cookies=cookies)
    assert xlsx.content[:2] == b"PK"  # a zip: the xlsx container

    flags = world.centre("audit").ok("GET", "/v1/flags")
    assert flags  # the duplicate charge at least
    exported = list(
        csv.reader(
            io.StringIO(
                httpx.get(f"{base}/export/flags.csv", cookies=cookies).content.decode("utf-8-sig")
            )
        )
    )
    assert len(exported) == 1 + len(flags)
    assert sorted(row[exported[0].index("疑点号")] for row in exported[1:]) == sorted(
        f["flag_id"] for f in flags
    )


def test_a_certificate_number_is_shown_whole_only_for_a_recorded_reason(
    console: Any, world: Any, sandbox_persons: Any
) -> None:
    person = sandbox_persons["1"]
    number = person["certno"]
    login(console, "sz.clerk")
    console.get_by_role("link", name="人员查询").click()
    table = console.locator("table")
    expect(table).to_contain_text(number[:3] + "*" * (len(number) - 7) + number[-4:])
    assert number not in table.inner_text()
    console.get_by_label("人员编号").fill(person["psn_no"])
    console.get_by_role("button", name="查询").click()
    expect(console.get_by_role("table")).to_contain_text("参保人员（1 人）")
    row = console.locator("tr", has_text=person["psn_no"])
    row.get_by_label("理由").fill("参保人来电核对身份")
    row.get_by_role("button", name=f"查看 {person['psn_no']} 的完整证件号码").click()
    expect(console.locator("#revealed")).to_contain_text(number)
    log = (world.platform.state / "logs" / "console.log").read_text()
    recorded = [
        json.loads(line) for line in log.splitlines() if "console.certificate_revealed" in line
    ]
    assert [(r["username"], r["person_id"], r["reason"]) for r in recorded] == [
        ("sz.clerk", person["psn_no"], "参保人来电核对身份")
    ]


def test_a_ticket_is_answered_and_a_complaint_taken_up_on_the_page(
    console: Any, world: Any, day: dict[str, Any]
) -> None:
    ticket = world.agency("audit", SUZHOU).ok(
        "POST",
        "/v1/tickets",
        json={"kind": "filing", "receiver_region": NANJING, "subject": "备案信息未同步"},
    )
    complaint = world.agency("audit", NANJING).ok(
        "POST", "/v1/complaints", json={"summary": "窗口办理时间过长", "channel": "12393"}
    )
    login(console, "nj.clerk")
    console.get_by_role("link", name="工单", exact=True).click()
    row = console.locator(f"#ticket-{ticket['ticket_id']}")
    row.get_by_label("答复", exact=True).fill("已重新上传备案信息")
    row.get_by_role("button", name=f"答复工单 {ticket['ticket_id']}").click()
    expect(console.get_by_role("status")).to_contain_text("已由 nj.clerk 答复")
    console.get_by_role("link", name="投诉", exact=True).click()
    console.locator(f"#complaint-{complaint['complaint_id']}").get_by_role("button").click()
    expect(console.get_by_role("status")).to_contain_text("已由 nj.clerk 受理")

    answered = world.agency("audit", SUZHOU).ok("GET", f"/v1/tickets/{ticket['ticket_id']}")
    assert (answered["status"], answered["answer"]) == ("replied", "已重新上传备案信息")
    taken = world.agency("audit", NANJING).ok("GET", f"/v1/complaints/{complaint['complaint_id']}")
    assert taken["status"] == "acknowledged"


MAIN_PAGES = {
    "home": "/",
    "filings": "/filings?status=approved",
    "days": "/days",
    "clearing": f"/clearing?period={PERIOD}",
    "cases": "/cases?status=",
    "persons": "/persons",
    "charts": "/charts",
    "overdue": "/overdue",
    "hospitals": "/hospitals",
    "tickets": "/tickets",
    "complaints": "/complaints",
    "flags": "/flags",
}


@pytest.mark.parametrize(
    ("username", "pages"),
    [
        ("sz.reviewer", ["home", "filings", "days", "persons", "charts"]),
        ("js.approver1", ["home", "clearing", "cases", "overdue", "hospitals"]),
        ("nj.clerk", ["tickets", "complaints", "flags"]),
    ],
)
def test_the_main_pages_pass_axe(
    console: Any,
    world: Any,
    day: dict[str, Any],
    username: str,
    pages: list[str],
    screenshots: Path,
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    console.goto("/login")
    found = {"login": _serious(axe.run(console).response)}
    login(console, username)
    for name in pages:
        console.goto(MAIN_PAGES[name])
        found[name] = _serious(axe.run(console).response)
        if name in ("persons", "charts", "days") and username == "sz.reviewer":
            console.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert found == {name: [] for name in found}


def _serious(response: dict[str, Any]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes']][:3]}"
        for v in response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
