"""The bench's CPU attribution: each part's milliseconds per settlement, worked by hand."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from yidi_stack.bench.cpu import cpu_seconds, ms_per


def test_cpu_per_settlement_is_each_parts_spend_over_the_settlements() -> None:
    before = {"settlement": 10.0, "audit": 2.0, "postgres": 5.0}
    after = {"settlement": 12.5, "audit": 2.5, "postgres": 6.0, "broker": 0.25}
    # 100 settlements: settlement 2.5 s -> 25 ms, postgres 1 s -> 10, audit 0.5 s -> 5,
    # broker 0.25 s (absent before: started during the run) -> 2.5; all 4.25 s -> 42.5.
    assert ms_per(before, after, 100) == {
        "all": 42.5,
        "settlement": 25.0,
        "postgres": 10.0,
        "audit": 5.0,
        "broker": 2.5,
    }
    assert list(ms_per(before, after, 100))[1:] == ["settlement", "postgres", "audit", "broker"]
    assert ms_per(before, after, 0) == {}


def test_a_process_group_is_charged_what_its_processes_spend() -> None:
    group = os.getpgid(0)
    before = cpu_seconds({"tests": group})["tests"]
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # spend CPU in this process
        pass
    spent = cpu_seconds({"tests": group})["tests"] - before
    assert spent >= 0.25


def test_a_family_is_its_parent_and_the_parents_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        used = cpu_seconds({}, {"family": os.getpid()})
    finally:
        child.kill()
        child.wait()
    assert used["family"] >= 0.3  # the child's spin, charged to its parent's family
