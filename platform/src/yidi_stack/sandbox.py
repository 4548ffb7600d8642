"""Load ../shared/sandbox into a running platform through the services' own APIs.

Each service that owns a kind of sandbox data provides `yidi_<service>.sandbox.load(base_url,
sandbox_dir, token_for)`; until a service has one, its data is simply not loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from yidi_stack.clients import HisClient, HisError, SimClock
from yidi_stack.platform import DEFINITIONS, Platform


def shared_dir() -> Path:
    """The `shared/` folder beside the project root (specifications, vectors, sandbox)."""
    configured = os.environ.get("YIDI_SHARED_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in [*here.parents, *_origin_checkout(here.parent)]:
        candidate = parent.parent / "shared"
        if (candidate / "sandbox").is_dir():
            return candidate
    raise FileNotFoundError(
        "the folder ../shared was not found next to the project root (set YIDI_SHARED_DIR)"
    )


def _origin_checkout(inside: Path, depth: int = 4) -> list[Path]:
    """The checkouts this clone was made from, nearest first, when they are folders on this
    machine: a clone made for a clean run (`git clone . "$(mktemp -d)"`, and CI's clone of that)
    has no shared/ beside it, an origin up the chain does."""
    found = subprocess.run(
        ["git", "-C", str(inside), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    )
    origin = Path(found.stdout.strip())
    if depth == 0 or found.returncode != 0 or not origin.is_dir():
        return []
    return [origin, *_origin_checkout(origin, depth - 1)]


def sandbox_dir() -> Path:
    configured = os.environ.get("YIDI_SANDBOX_DIR")
    return Path(configured) if configured else shared_dir() / "sandbox"


def load_sandbox(platform: Platform, say: Callable[[str], None] = print) -> None:
    folder = sandbox_dir()
    for service, definition in DEFINITIONS.items():
        if definition.load_sandbox is not None:
            summary = definition.load_sandbox(platform.url(service), folder)
            say(f"sandbox loaded into {service}: {summary}")
    wait_until_propagated(platform, folder)
    say("sandbox facts have reached every service that consumes them")


def wait_until_propagated(platform: Platform, folder: Path, timeout: float = 90.0) -> None:
    """Return once a hospital can look up every sandbox person (1101): filing's facts have crossed
    Kafka into settlement, so the platform is usable, not just running."""
    hospitals = {
        h["fixmedins_code"]: h for h in json.loads((folder / "hospitals.json").read_text())
    }
    persons = json.loads((folder / "persons.json").read_text())
    with httpx.Client(timeout=10) as http:
        clock = SimClock(platform, http)
        his = HisClient(
            platform, "H32010000001", hospitals["H32010000001"]["his_secret"], "320100", clock, http
        )
        deadline = time.monotonic() + timeout
        for person in persons:
            query = {
                "data": {
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": person["certno"],
                    "psn_cert_type": "01",
                    "certno": person["certno"],
                    "psn_name": person["psn_name"],
                }
            }
            while True:
                try:
                    his.call("1101", query, person["insuplc_admdvs"])
                    break
                except HisError as exc:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"sandbox person {person['psn_no']} never reached settlement: {exc}"
                        ) from exc
                    time.sleep(0.2)
