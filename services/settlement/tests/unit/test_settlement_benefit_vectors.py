"""The settlement service's own vectors (tests/vectors/benefits.json, the shared vectors' format)
through the pure engine: each scheme and policy parameter of DOMAIN.md section 2 the shared file
does not reach. Every case carries its arithmetic, worked by hand from its policy, in
`derivation`; the gateway runs them too (../test_settlement_gateway_benefit_vectors.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from yidi_settlement.vectors import case_output

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "benefits.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
FIELDS = ("setlinfo", "setldetail", "lines", "accumulators_after", "acct_balance_after")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_engine_matches_benefit_vector_exactly(case: dict[str, Any]) -> None:
    assert case["derivation"], "every case shows its arithmetic"
    without_expected = {k: v for k, v in case.items() if k != "expected"}
    got = case_output(without_expected)
    for name in FIELDS:
        assert got[name] == case["expected"][name], name
