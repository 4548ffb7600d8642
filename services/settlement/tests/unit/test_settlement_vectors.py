"""Every shared vector case through the pure engine, and through the CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from yidi_cli.sandbox import shared_dir
from yidi_settlement.vectors import case_output

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


def test_cli_prints_one_matching_line_per_case() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "yidi_settlement.vectors", str(VECTORS)],
        capture_output=True,
        text=True,
        check=True,
    )
    outputs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["name"] for o in outputs] == [c["name"] for c in CASES]
    for case, got in zip(CASES, outputs, strict=True):
        for name in FIELDS:
            assert got[name] == case["expected"][name], (case["name"], name)


def test_cli_refuses_missing_argument() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "yidi_settlement.vectors"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "usage" in run.stderr
