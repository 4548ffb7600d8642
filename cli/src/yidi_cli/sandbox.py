"""Load ../shared/sandbox into a running platform through the services' own APIs.

Each service that owns a kind of sandbox data declares `load_sandbox(base_url, sandbox_dir)` in
its definition (`yidi_events.definition`); a service without one has no sandbox data to load.
`yidi import sandbox` and the one-machine platform (`make up`, tests, simulation) both load it
from here, so they find the same folder and wait for the same thing.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from yidi_cli.his import Clock, HisClient, HisError
from yidi_events.definition import services


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


def load_sandbox(
    url: Callable[[str], str],
    folder: Path | None = None,
    say: Callable[[str], None] = print,
    *,
    wait: bool = True,
) -> None:
    """Load every service's share of the sandbox (default folder: `sandbox_dir()`) into the
    services that `url` locates, then (with `wait`) wait until the facts have propagated."""
    folder = folder or sandbox_dir()
    for service, definition in services().items():
        if definition.load_sandbox is not None:
            summary = definition.load_sandbox(url(service), folder)
            say(f"sandbox loaded into {service}: {summary}")
    if wait:
        wait_until_propagated(url, folder)
        say("sandbox facts have reached every service that consumes them")


def wait_until_propagated(url: Callable[[str], str], folder: Path, timeout: float = 90.0) -> None:
    """Return once a hospital can look up every sandbox person (1101) through the gateway of the
    settlement that `url` locates: filing's facts have crossed Kafka into settlement, so the
    platform is usable, not just running. The request is signed at settlement's own time."""
    hospitals = {
        h["fixmedins_code"]: h for h in json.loads((folder / "hospitals.json").read_text())
    }
    persons = json.loads((folder / "persons.json").read_text())
    with httpx.Client(timeout=10) as http:
        his = HisClient(
            url,
            "H32010000001",
            hospitals["H32010000001"]["his_secret"],
            "320100",
            Clock(url, http),
            http,
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
