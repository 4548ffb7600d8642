"""Fixtures for the clearing unit tests (given-events / when-command / then-events)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yidi_clearing.domain.clearing_period import ClearingPeriod, fold_period
from yidi_clearing.domain.settings import ClearingSettings

# --import-mode=importlib does not put test directories on sys.path; the shared builders need it.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def settings() -> ClearingSettings:
    return ClearingSettings()


@pytest.fixture
def given() -> Callable[[list[Any]], ClearingPeriod]:
    def build(events: list[Any]) -> ClearingPeriod:
        return fold_period(ClearingPeriod(), events)

    return build
