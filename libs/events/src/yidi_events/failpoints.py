"""Crash points: named places where a fault test makes the process die on the spot, to prove that
a crash there loses nothing and counts nothing twice (tests/e2e/test_e2e_faults.py).

Armed only through `YIDI_FAILPOINTS` (comma-separated names), read once at import: unset, as in
production, a crash point is one lookup in an empty set. The process dies by SIGKILL rather than
an exception: no `finally`, no flush, no graceful shutdown, what an OOM kill or a power cut does.
"""

from __future__ import annotations

import os
import signal

ARMED = frozenset(
    name.strip() for name in os.environ.get("YIDI_FAILPOINTS", "").split(",") if name.strip()
)


def crash_point(name: str) -> None:
    if name in ARMED:
        # Said on stderr so the service log shows the death was the test's, not a bug.
        os.write(2, f"failpoint {name}: SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
