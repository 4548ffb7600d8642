"""Load ../shared/sandbox into a running platform through the services' own APIs.

Each service that owns a kind of sandbox data provides `yidi_<service>.sandbox.load(base_url,
sandbox_dir, token_for)`; until a service has one, its data is simply not loaded.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

from yidi_stack.platform import SERVICES, Platform


def sandbox_dir() -> Path:
    configured = os.environ.get("YIDI_SANDBOX_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "sandbox"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "the sandbox folder ../shared/sandbox was not found (set YIDI_SANDBOX_DIR)"
    )


def load_sandbox(platform: Platform, say: Callable[[str], None] = print) -> None:
    folder = sandbox_dir()
    for service in SERVICES:
        try:
            module = importlib.import_module(f"yidi_{service}.sandbox")
        except ModuleNotFoundError:
            continue
        summary = module.load(platform.url(service), folder)
        say(f"sandbox loaded into {service}: {summary}")
