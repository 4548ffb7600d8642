"""The end-of-run report (rich tables and a bar chart) and the cross-checks a user would make:
fund payments settled = confirmed in reconciliation = cleared; each settlement once in
reconciliation and once in clearing; net positions sum to zero; money out of insured places =
money into visit places."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from yidi_events.kernel import fen_to_yuan
from yidi_stack.simulation.drive import FUNDS, Outcome, Record, city
from yidi_stack.simulation.person_years import by_person_year, settled_year
from yidi_stack.simulation.province import MED_TYPE


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


SCHEMES = {
    "11": "ordinary outpatient 11",
    "13": "emergency 13",
    "14": "chronic disease 14",
    "41": "pharmacy 41",
    "21": "inpatient 21",
    "52": "maternity 52",
    "92": "other inpatient 92",
}


@dataclass(frozen=True)
class SchemeRow:
    scheme: str
    settled: int
    cancelled: int
    total_fee: int
    fund: int
    account: int
    cash: int


def by_scheme(records: Iterable[Record]) -> list[SchemeRow]:
    """The records by the medical type they settled as, in SCHEMES' order: settlements and
    cancellations counted apart, money net (a cancellation's negative record undoes its
    settlement's)."""
    grouped: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        grouped[MED_TYPE[r.kind]].append(r)
    order = [*SCHEMES, *sorted(set(grouped) - set(SCHEMES))]
    return [
        SchemeRow(
            scheme=SCHEMES.get(med_type, med_type),
            settled=sum(1 for r in group if not r.is_refund),
            cancelled=sum(1 for r in group if r.is_refund),
            total_fee=sum(r.total_fee for r in group),
            fund=sum(r.fund_total for r in group),
            account=sum(r.account_paid for r in group),
            cash=sum(r.cash_paid for r in group),
        )
        for med_type in order
        if (group := grouped.get(med_type))
    ]


def cross_checks(out: Outcome) -> list[Check]:
    records = [r for r in out.records if r.business_date.strftime("%Y-%m") == out.period]
    checks: list[Check] = []

    settled_fund = sum(r.fund_total for r in records)
    settled_account = sum(r.account_paid for r in records)
    reconciled_fund = sum(s["cleared_totals"]["fund_total"] for s in out.statements)
    reconciled_account = sum(s["cleared_totals"]["account_paid"] for s in out.statements)
    parts = [p for line in out.clearing_lines for p in line["parts"]]
    cleared_fund = sum(p["fund_paid"] for p in parts)
    cleared_account = sum(p["account_paid"] for p in parts)
    checks.append(
        Check(
            "fund payments: settled = confirmed in reconciliation = cleared",
            settled_fund == reconciled_fund == cleared_fund,
            " = ".join(fen_to_yuan(x) for x in (settled_fund, reconciled_fund, cleared_fund)),
        )
    )
    checks.append(
        Check(
            "personal-account payments: settled = reconciled = cleared",
            settled_account == reconciled_account == cleared_account,
            " = ".join(
                fen_to_yuan(x) for x in (settled_account, reconciled_account, cleared_account)
            ),
        )
    )

    mine = Counter(r.key for r in records)
    reconciled = Counter(
        (s["original_settlement_id"] or "", True) if s["is_refund"] else (s["settlement_id"], False)
        for statement in out.statements
        for s in statement["settlements"]
        if s["cleared"]
    )
    checks.append(
        Check(
            "every settlement appears once in reconciliation",
            mine == reconciled and set(mine.values()) <= {1},
            f"{sum(mine.values())} settled records, {sum(reconciled.values())} reconciled",
        )
    )
    known = {r.settlement_id for r in records if r.settlement_id}
    cleared_ids = Counter(out.clearing_settlement_ids)
    checks.append(
        Check(
            "every settlement appears once in clearing",
            len(out.clearing_settlement_ids) == len(records)
            and all(cleared_ids[i] == 1 for i in known)
            and set(cleared_ids.values()) <= {1},
            f"{len(records)} settled records, {len(out.clearing_settlement_ids)} in the statement",
        )
    )

    checks.append(
        Check(
            "net positions sum to zero",
            sum(out.positions.values()) == 0,
            f"sum = {fen_to_yuan(sum(out.positions.values()))}",
        )
    )

    clawed: dict[str, int] = defaultdict(int)
    for c in (*out.clawbacks, *out.fee_deductions):
        clawed[c["pair"][0]] += c["amount"]
    left: dict[str, int] = defaultdict(int)
    reached: dict[str, int] = defaultdict(int)
    for r in records:
        left[r.insured_region] += r.fund_total + r.account_paid
        reached[r.visit_region] += r.fund_total + r.account_paid
    payable: dict[str, int] = defaultdict(int)
    receivable: dict[str, int] = defaultdict(int)
    for line in out.clearing_lines:
        payable[line["payer_agency"]] += line["amount"]
        receivable[line["receiver_agency"]] += line["amount"]
    checks.append(
        Check(
            "money that left insured places = money that reached visit places",
            sum(left.values()) == sum(reached.values())
            and sum(payable.values()) == sum(receivable.values()),
            f"settled {fen_to_yuan(sum(left.values()))} = {fen_to_yuan(sum(reached.values()))};"
            f" cleared {fen_to_yuan(sum(payable.values()))} ="
            f" {fen_to_yuan(sum(receivable.values()))}",
        )
    )
    checks.append(
        Check(
            "each insured place pays in clearing what it settled, less clawbacks and fee deductions",
            all(payable[a] == left[a] - clawed[a] for a in set(left) | set(payable)),
            ", ".join(f"{city(a)} {fen_to_yuan(payable[a])}" for a in sorted(payable)),
        )
    )
    checks.append(
        Check(
            "each net position = receivable - payable",
            all(net == receivable[a] - payable[a] for a, net in out.positions.items()),
            f"{len(out.positions)} agencies",
        )
    )
    remitted = sum(a["received"] for a in out.cash.values())
    disbursed = sum(a.get("disbursed", 0) for a in out.cash.values())
    checks.append(
        Check(
            "cash remitted by net payers = cash disbursed to net receivers",
            remitted == disbursed == sum(n for n in out.positions.values() if n > 0),
            f"{fen_to_yuan(remitted)} = {fen_to_yuan(disbursed)}",
        )
    )
    grouped = by_person_year(out.records)
    differ = [key for key, seen in out.person_years.items() if seen != settled_year(grouped[key])]
    checks.append(
        Check(
            "insured places' year totals = the sum of the person's settlements everywhere",
            bool(out.person_years) and not differ,
            f"{len(out.person_years)} sampled person-years"
            + (f"; differ: {', '.join(k[0] for k in differ)}" if differ else ""),
        )
    )
    checks.append(
        Check(
            "ledger trial balance is zero",
            out.trial_balance.get("total") == 0,
            f"debits {fen_to_yuan(out.trial_balance.get('debits', 0))}",
        )
    )
    if out.claims:
        approved: int = sum(c["payable"] for c in out.claims)
        in_files: int = sum(c["paid_in_file"] for c in out.claims)
        checks.append(
            Check(
                "manual claims: approved payable = paid in the bank files",
                approved == in_files and all(c["paid_in_file"] for c in out.claims),
                f"{len(out.claims)} claims, {fen_to_yuan(approved)} = {fen_to_yuan(in_files)}",
            )
        )
    return checks


def render(out: Outcome, checks: list[Check], console: Console, elapsed: float) -> None:
    province = out.province
    console.rule(f"[bold]Yidi province run — seed {province.seed}")
    summary = province.summary()
    table = Table(title="The province", show_header=False)
    for name, counts in summary.items():
        table.add_row(name, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    table.add_row("enrolled / filings approved", f"{out.enrolled} / {sum(out.filings.values())}")
    table.add_row("2601 reversals (of a lost 2201)", str(out.reversals))
    table.add_row(
        "refused at the counter (gateway)",
        ", ".join(f"{k} ×{v}" for k, v in sorted(out.refused.items())) or "none",
    )
    console.print(table)

    by_pair: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (5 + len(FUNDS)))
    for r in out.records:
        row = by_pair[r.pair]
        row[0] += 0 if r.is_refund else 1
        row[1] += 1 if r.is_refund else 0
        row[2] += r.total_fee
        for n, (_, amount) in enumerate(r.funds):
            row[3 + n] += amount
        row[3 + len(FUNDS)] += r.fund_total
        row[4 + len(FUNDS)] += r.account_paid
    table = Table(title="Settlements by city pair (insured → visit) and fund, yuan")
    for header in ("pair", "settled", "cancelled", "total fee", *FUNDS, "fund total", "account"):
        table.add_column(header, justify="left" if header == "pair" else "right")
    totals = [0] * (5 + len(FUNDS))
    for (insured, visit), row in sorted(by_pair.items()):
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        table.add_row(
            f"{city(insured)}→{city(visit)}",
            str(row[0]),
            str(row[1]),
            *(fen_to_yuan(x) for x in row[2:]),
        )
    table.add_row(
        "[bold]all", str(totals[0]), str(totals[1]), *(fen_to_yuan(x) for x in totals[2:])
    )
    console.print(table)
    table = Table(title="Settlements by scheme (med type), yuan; cancellations net out the money")
    for header in ("scheme", "settled", "share", "cancelled", "total fee", "fund", "account"):
        table.add_column(header, justify="left" if header == "scheme" else "right")
    table.add_column("cash", justify="right")
    schemes = by_scheme(out.records)
    settled = sum(s.settled for s in schemes)
    for s in schemes:
        table.add_row(
            s.scheme,
            str(s.settled),
            f"{100 * s.settled / max(1, settled):.0f}%",
            str(s.cancelled),
            *(fen_to_yuan(x) for x in (s.total_fee, s.fund, s.account, s.cash)),
        )
    console.print(table)

    table = Table(title="Reconciliation")
    for header in ("day", "pairs closed", "settlements", "fund confirmed", "3201 balanced"):
        table.add_column(header, justify="right")
    days = sorted({s["business_date"] for s in out.statements})
    for day in days:
        statements = [s for s in out.statements if s["business_date"] == day]
        checks_of_day = [c for c in out.hospital_checks if c["day"] == day]
        table.add_row(
            day,
            f"{sum(1 for s in statements if s['closed'])}/{len(statements)}",
            str(sum(s["cleared_totals"]["count"] for s in statements)),
            fen_to_yuan(sum(s["cleared_totals"]["fund_total"] for s in statements)),
            f"{sum(1 for c in checks_of_day if c['result'] == '0')}/{len(checks_of_day)}",
        )
    console.print(table)
    if out.repair:
        repair = out.repair
        console.print(
            f"{repair['institution']} sent a wrong 3201 figure: "
            f"stmt_rslt={repair['first_result']} — {repair['first_description']}\n"
            f"  its 3202 detail file: {repair['detail_matched']}/{repair['detail_rows']} "
            "settlements match, so its own total was wrong; the corrected 3201 balanced."
        )

    table = Table(title="Audit flags and cases")
    table.add_column("rule")
    table.add_column("flags", justify="right")
    table.add_column("cases: decisions")
    decisions: dict[str, Counter[str]] = defaultdict(Counter)
    for case in out.cases:
        decisions[case["rule_id"]][case["decision"]] += 1
    for rule, count in sorted(Counter(f["rule_id"] for f in out.flags).items()):
        table.add_row(rule, str(count), ", ".join(f"{d} {n}" for d, n in decisions[rule].items()))
    console.print(table)
    for c in out.clawbacks:
        console.print(f"clawback {fen_to_yuan(c['amount'])} on {c['settlement_id']}")
    for c in out.fee_deductions:
        console.print(f"fee-review deduction {fen_to_yuan(c['amount'])} on {c['settlement_id']}")

    table = Table(title=f"Clearing statement {out.period} (yuan)")
    for header in ("payer → receiver", "fund", "account", "clawed back", "amount", "status"):
        table.add_column(header, justify="left" if "→" in header else "right")
    for line in sorted(out.clearing_lines, key=lambda ln: -ln["amount"]):
        parts = line["parts"]
        table.add_row(
            f"{city(line['payer_agency'])} → {city(line['receiver_agency'])}",
            fen_to_yuan(sum(p["fund_paid"] for p in parts)),
            fen_to_yuan(sum(p["account_paid"] for p in parts)),
            fen_to_yuan(sum(p["clawed_back"] for p in parts)),
            fen_to_yuan(line["amount"]),
            line["status"],
        )
    console.print(table)

    console.print("[bold]Net positions (receivable − payable)")
    widest = max((abs(n) for n in out.positions.values()), default=1) or 1
    for agency, net in sorted(out.positions.items(), key=lambda item: item[1]):
        bar = "█" * max(1, round(30 * abs(net) / widest)) if net else ""
        left = f"[red]{bar:>30}[/red]" if net < 0 else " " * 30
        right = f"[green]{bar}[/green]" if net > 0 else ""
        console.print(f"  {city(agency):<4} {left}│{right} {fen_to_yuan(net):>14}")
    paid = sum(a["received"] for a in out.cash.values())
    console.print(f"remitted and disbursed: {fen_to_yuan(paid)} yuan, four eyes on each step")

    if out.claims:
        table = Table(title="Manual claims (手工报销) at the insured places, yuan")
        for header in ("claim", "insured city", "claimed", "paid back", "in the bank file"):
            table.add_column(header, justify="left" if header == "claim" else "right")
        for c in out.claims:
            table.add_row(
                c["claim_id"],
                city(c["insured_region"]),
                fen_to_yuan(c["claimed"]),
                fen_to_yuan(c["payable"]),
                fen_to_yuan(c["paid_in_file"]),
            )
        console.print(table)

    rate = out.settlements / out.traffic_seconds if out.traffic_seconds else 0.0
    console.print(
        f"[bold]Throughput:[/bold] {out.settlements} settlements in {out.traffic_seconds:.1f} s of"
        f" traffic = {rate:.1f} settlements/s ({out.his_calls / max(out.traffic_seconds, 1e-9):.0f}"
        f" HIS transactions/s); whole run {elapsed:.0f} s"
    )
    table = Table(title="Cross-checks")
    table.add_column("")
    table.add_column("check")
    table.add_column("figures")
    for check in checks:
        table.add_row("[green]✓" if check.ok else "[red]✗", check.name, check.detail)
    console.print(table)
