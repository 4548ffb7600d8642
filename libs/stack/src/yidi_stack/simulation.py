"""The simulated province `make run` drives through the platform (grows with the services)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from yidi_stack.platform import SERVICES, Platform


def simulate(
    platform: Platform, *, persons: int, days: int, seed: int, say: Callable[[str], None] = print
) -> None:
    say("health of every service:")
    for service in SERVICES:
        ready = httpx.get(f"{platform.url(service)}/readyz", timeout=5).json()
        say(f"  {service:<15} ready={ready['ready']} relay={ready['checks']['relay']}")
