"""The vectors CLI as a user runs it, `python -m yidi_settlement.vectors FILE`: one line per case
that matches the case's expected figures."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from yidi_cli.sandbox import shared_dir

VECTORS = shared_dir() / "vectors/settlement.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
FIELDS = ("setlinfo", "setldetail", "lines", "accumulators_after", "acct_balance_after")


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
