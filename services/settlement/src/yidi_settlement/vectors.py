"""Run a settlement vectors file through the real engine: `python -m yidi_settlement.vectors FILE`.

Prints one JSON object per case (name, setlinfo, setldetail, lines, accumulators_after,
acct_balance_after) in the national shape the file's `expected` uses. It never reads `expected`:
comparing is the caller's job, so the output is an independent computation.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

from yidi_events.kernel import fen_to_yuan
from yidi_events.policy import FilingKind, HospitalLevel, parse_policy_document
from yidi_settlement.adapters import wire
from yidi_settlement.domain.engine import SettlementComputation, compute_settlement
from yidi_settlement.domain.model import VisitFacts


def run_case(case: dict[str, Any]) -> SettlementComputation:
    policy = parse_policy_document(case["policy"])
    # Vectors carry no date: they settle on the policy's first day, in that policy year.
    settled_on = (
        date.fromisoformat(case["settled_on"]) if "settled_on" in case else policy.effective_from
    )
    return compute_settlement(
        policy=policy,
        catalogue={
            code: wire.catalogue_entry_from_wire(code, row) for code, row in case["catalog"].items()
        },
        person=wire.person_from_wire(case["person"]),
        visit=VisitFacts(
            hospital_level=HospitalLevel(case["hospital_level"]),
            medical_type=str(case["med_type"]),
            filing_kind=FilingKind(case["filing_kind"]),
            use_account=str(case["acct_used_flag"]) == "1",
            settled_on=settled_on,
        ),
        fee_lines=[wire.fee_line_from_wire(row) for row in case["fee_lines"]],
        accumulators=wire.accumulators_from_wire(case["accumulators_before"], settled_on.year),
    )


def case_output(case: dict[str, Any]) -> dict[str, Any]:
    result = run_case(case)
    balance = result.account_balance_after
    return {
        "name": case["name"],
        "setlinfo": wire.setlinfo(result),
        "setldetail": wire.setldetail(result),
        "lines": [wire.line_to_wire(line) for line in result.lines],
        "accumulators_after": wire.accumulators_to_wire(result.accumulators_after),
        "acct_balance_after": None if balance is None else fen_to_yuan(balance),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m yidi_settlement.vectors FILE", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as handle:
        cases = json.load(handle)
    for case in cases:
        print(json.dumps(case_output(case), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
