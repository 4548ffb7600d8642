"""CPU time by process group over a run: what one settlement costs each part of the platform.

On a 2-core machine the settlement figure is bounded by the sum of these costs, not by any one
process: a 2207 is work in the gateway, in PostgreSQL, in the broker and in every service that
consumes its facts (reconciliation, audit, filing's person year, which settlement consumes back).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

from yidi_stack.platform import Platform

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, int, int] | None:
    """(parent pid, process group, user+system ticks) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12])


def cpu_seconds(groups: Mapping[str, int], families: Mapping[str, int] = {}) -> dict[str, float]:
    """CPU seconds used so far by each named process group (a service's leader pid and its
    workers) and each named family (a parent and its children: PostgreSQL's postmaster and its
    backends, the broker). Other processes on the machine are not counted, nor is the load
    generator: it has exited by the time the run is measured."""
    by_group = {pgid: name for name, pgid in groups.items()}
    by_parent = {pid: name for name, pid in families.items()}
    used: Counter[str] = Counter()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or (found := _stat(pid)) is None:
            continue
        parent, pgid, ticks = found
        name = by_group.get(pgid) or by_parent.get(int(pid)) or by_parent.get(parent)
        if name is not None:
            used[name] += ticks
    return {name: ticks / TICKS for name, ticks in used.items()}


def ms_per(before: Mapping[str, float], after: Mapping[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds per unit of work (`count` of them) by part, largest first; the parts'
    total under "all"."""
    if count <= 0:
        return {}
    spent = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    shares = {k: round(v * 1000 / count, 2) for k, v in spent.items() if v > 0}
    ordered = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
    return {"all": round(sum(spent.values()) * 1000 / count, 2), **ordered}


def families(platform: Platform) -> dict[str, int]:
    """The platform's own PostgreSQL (its postmaster) and broker, by pid: other stacks on the
    machine (a test's, another bench's) run the same programs."""
    found: dict[str, int] = {}
    for name, path in (
        ("postgres", platform.pg.data / "postmaster.pid"),
        ("broker", platform.broker.root / "broker.pid"),
    ):
        try:
            found[name] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return found
