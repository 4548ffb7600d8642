"""Run a settlement vectors file through the real engine: `python -m yidi_settlement.vectors FILE`.

Prints one JSON object per case (name, setlinfo, setldetail, lines, accumulators_after,
acct_balance_after) in the national shape the file's `expected` uses. It never reads `expected`:
comparing is the caller's job, so the output is an independent computation.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from yidi_benefits.engine import SettlementComputation, compute_settlement
from yidi_settlement.his.vectors import case_from_wire, result_to_wire


def run_case(case: dict[str, Any]) -> SettlementComputation:
    given = case_from_wire(case)
    return compute_settlement(
        policy=given.policy,
        catalogue=given.catalogue,
        person=given.person,
        visit=given.visit,
        fee_lines=given.fee_lines,
        accumulators=given.accumulators,
    )


def case_output(case: dict[str, Any]) -> dict[str, Any]:
    return result_to_wire(case["name"], run_case(case))


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
