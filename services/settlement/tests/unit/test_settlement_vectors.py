"""Every shared vector case through the pure engine (the CLI as a subprocess: ../test_settlement_vectors_cli.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from yidi_cli.sandbox import shared_dir
from yidi_settlement.vectors import case_output, main

SHARED = shared_dir()
VECTORS = SHARED / "vectors/settlement.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
FIELDS = ("setlinfo", "setldetail", "lines", "accumulators_after", "acct_balance_after")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_engine_matches_vector_exactly(case: dict[str, Any]) -> None:
    without_expected = {k: v for k, v in case.items() if k != "expected"}
    got = case_output(without_expected)
    for name in FIELDS:
        assert got[name] == case["expected"][name], name


def test_cli_refuses_missing_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
