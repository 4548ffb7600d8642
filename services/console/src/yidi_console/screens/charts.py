"""Charts of the last month: settlements and fund money by city pair, open work."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from yidi_console import views
from yidi_console.backend import Backend
from yidi_console.charts import Bar, bar_chart
from yidi_console.session import Officer
from yidi_console.web import Console, attempt


def routes(console: Console) -> None:

    @console.route("GET", "/charts")
    async def charts(request: Request, officer: Officer, backend: Backend) -> Response:
        now = await console.today(backend)
        found = await backend.get(
            "reconciliation",
            "/statements",
            start=(now - timedelta(days=31)).isoformat(),
            end=now.isoformat(),
        )
        by_pair: dict[str, int] = {}
        fund: dict[str, int] = {}
        for d in found["statements"]:
            pair = f"{views.REGIONS.get(d['insured_region'], d['insured_region'])}→" + (
                views.REGIONS.get(d["visit_region"], d["visit_region"])
            )
            by_pair[pair] = by_pair.get(pair, 0) + d["totals"]["count"]
            fund[pair] = fund.get(pair, 0) + d["totals"]["fund_total"]
        shown = [
            ("近31天结算笔数（参保地→就医地）", _bars(by_pair), False),
            ("近31天基金支付（参保地→就医地）", _bars(fund), True),
        ]
        overdue = await attempt(backend.get("audit", "/overdue"))
        if overdue is not None:
            kinds: dict[str, int] = {}
            for o in overdue:
                name = views.label(views.OVERDUE_KIND, o["kind"])
                kinds[name] = kinds.get(name, 0) + 1
            shown.append(("待办/逾期事项（协查、工单、投诉）", _bars(kinds), False))
        drawn = [
            {"title": title, "svg": bar_chart(title, bars, money=money), "empty": not bars}
            for title, bars, money in shown
        ]
        return console.render(request, "charts.html", officer, charts=drawn)


def _bars(values: dict[str, int]) -> list[Bar]:
    return [Bar(k, v) for k, v in sorted(values.items(), key=lambda kv: -kv[1])]
