"""Issue 8 end to end: the `make run` generator at a small size on a fresh platform (its own
module-scoped world), and the cross-checks a user would make on what hospitals and agencies saw."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from yidi_stack.simulation import run_province
from yidi_stack.simulation.province import PHARMACY_INSTITUTION, maternity_eligible
from yidi_stack.simulation.report import by_scheme

pytestmark = pytest.mark.e2e


def test_a_small_province_settles_reconciles_and_clears_with_every_total_agreeing(
    world: Any,
) -> None:
    out, checks = run_province(world.platform, persons=200, days=2, seed=8)

    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, failed
    # A few manual claims at the insured places, each paid back in its bank file (issue 23).
    assert len(out.claims) == 3
    assert all(c["payable"] > 0 and c["paid_in_file"] == c["payable"] for c in out.claims)

    settled = [r for r in out.records if not r.is_refund]
    assert len(settled) >= 40
    kinds = Counter(r.kind for r in settled)
    assert kinds["outpatient"] > kinds["pharmacy"] > 0
    assert not out.refused, out.refused
    assert out.reversals == 1
    assert kinds["inpatient"] >= 3  # the planted split stay (two) and duplicate-fee stay

    # Purchases were settled at the pharmacy (med type 41, cleared as category 41), and pooled
    # by the outpatient pooling the province's policies added to the sandbox's.
    purchases = [r for r in settled if r.kind == "pharmacy"]
    assert {(r.institution, r.clearing_category) for r in purchases} == {
        (PHARMACY_INSTITUTION, "41")
    }
    assert all(r.visit_region == "320100" != r.insured_region for r in purchases)
    assert sum(r.fund_total for r in purchases) > 0
    # Maternity admissions (52) of eligible women, paid by the maternity fund within its limit.
    mothers = [r for r in settled if r.kind == "maternity"]
    assert mothers
    assert all(maternity_eligible(out.province.by_id[r.person_id]) for r in mothers)
    assert all(r.fund_total > 0 for r in mothers)

    # The report's settlements by scheme add up to every record.
    schemes = {row.scheme: row for row in by_scheme(out.records)}
    assert {"ordinary outpatient 11", "pharmacy 41", "maternity 52", "inpatient 21"} <= set(schemes)
    assert schemes["pharmacy 41"].settled == len(purchases)
    assert sum(row.settled + row.cancelled for row in schemes.values()) == len(out.records)
    assert sum(row.fund for row in schemes.values()) == sum(r.fund_total for r in out.records)
    for row in schemes.values():
        assert row.total_fee == row.fund + row.account + row.cash

    # Every settlement's money appears once in reconciliation and once in clearing.
    reconciled = Counter(
        s["settlement_id"]
        for statement in out.statements
        for s in statement["settlements"]
        if s["cleared"]
    )
    assert all(reconciled[r.settlement_id] == 1 for r in out.records if r.settlement_id)
    cleared = Counter(out.clearing_settlement_ids)
    assert all(cleared[r.settlement_id] == 1 for r in out.records if r.settlement_id)

    # Fund out of insured places = fund into visit places; positions sum to zero.
    fund_out = Counter[str]()
    fund_in = Counter[str]()
    for r in out.records:
        fund_out[r.insured_region] += r.fund_total + r.account_paid
        fund_in[r.visit_region] += r.fund_total + r.account_paid
    assert sum(fund_out.values()) == sum(fund_in.values()) > 0
    assert sum(out.positions.values()) == 0
    clawed = sum(c["amount"] for c in out.clawbacks)
    # The fee review refused one line of the costliest stay: deducted in the month's statement.
    (deduction,) = out.fee_deductions
    assert deduction["amount"] > 0
    deducted = clawed + deduction["amount"]
    assert sum(ln["amount"] for ln in out.clearing_lines) == sum(fund_out.values()) - deducted

    # The hospital whose 3201 figure was wrong was told which, and its 3202 file matched.
    assert out.repair["first_result"] == "1"
    assert out.repair["detail_matched"] == out.repair["detail_rows"] > 0
    assert all(c["result"] == "0" for c in out.hospital_checks)

    # Audit caught both planted patterns; the duplicate charge was clawed back.
    rules = {c["rule_id"] for c in out.cases}
    assert any("split" in r for r in rules)
    assert any("duplicate" in r for r in rules)
    assert [c["settlement_id"] for c in out.clawbacks] == [out.planted["duplicate_fee"]]
