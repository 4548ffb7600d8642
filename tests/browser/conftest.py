"""The browser world: the end-to-end suite's platform (all five services and the console as
processes, sandbox loaded, simulated time), and Debian's Chromium driven by Playwright.

Chromium comes from the distribution (`make browser`, which `make test` runs first): the
browser download of Playwright's own installer does not work on our machines."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The platform fixture the end-to-end suite uses, not a second copy of it: loaded from its
# conftest (test folders are not packages here) and offered to this folder's tests.
_spec = importlib.util.spec_from_file_location(
    "yidi_e2e_conftest", Path(__file__).parents[1] / "e2e" / "conftest.py"
)
assert _spec is not None
assert _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _e2e  # its dataclasses look their module up while being made
_spec.loader.exec_module(_e2e)
world = _e2e.world
sandbox_persons = _e2e.sandbox_persons
START = _e2e.START
World = _e2e.World

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium reaches for Google's services, and the
# closed network it runs on here refuses those connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(world: Any) -> Iterator[Any]:
    """Started after the platform (Playwright's sync API keeps an event loop running on this
    thread, which the platform's own asyncio.run calls would then refuse) and closed first."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (apt-get)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the main screens go: the README's committed copies (docs/console/) when asked for
    (`make screenshots`, YIDI_SCREENSHOTS=docs), else a temporary folder, so a test run never
    changes the checkout."""
    if os.environ.get("YIDI_SCREENSHOTS") == "docs":
        folder = Path(__file__).parents[2] / "docs" / "console"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


__all__ = ["START", "World", "sandbox_persons", "world"]
