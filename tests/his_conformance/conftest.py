"""One real stack per test module (see conformance.py); the harness module is importable by the
test modules (--import-mode=importlib puts no test directory on sys.path)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))

from conformance import Stack, stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(databases: Any, infra: Any) -> AsyncIterator[Stack]:
    async with stack(databases, infra) as built:
        yield built
