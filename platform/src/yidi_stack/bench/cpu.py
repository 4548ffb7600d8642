"""CPU time by process group over a run: what one settlement costs each part of the platform.

On a 2-core machine the settlement figure is bounded by the sum of these costs, not by any one
process: a 2207 is work in the gateway, in PostgreSQL, in the broker and in every service that
consumes its facts (reconciliation, audit, filing's person year, which settlement consumes back).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(command name, process group, user+system ticks) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            head, _, tail = stat.read().rpartition(")")
    except OSError:
        return None
    fields = tail.split()
    return head.partition("(")[2], int(fields[2]), int(fields[11]) + int(fields[12])


def cpu_seconds(groups: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process group (a service's leader pid and its
    workers), by PostgreSQL's processes and by the broker. The load generator is not counted: it
    has exited by the time the run is measured."""
    by_group = {pgid: name for name, pgid in groups.items()}
    used: Counter[str] = Counter()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or (found := _stat(pid)) is None:
            continue
        command, pgid, ticks = found
        name = by_group.get(pgid)
        if name is None:
            if command.startswith("postgres"):
                name = "postgres"
            elif command == "tansu":
                name = "broker"
            else:
                continue
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
