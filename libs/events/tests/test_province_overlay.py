"""A province section over a service's settings dataclass: named keys replace defaults, nested
settings are reached, wrong keys and wrong types stop the service naming them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from yidi_events.province import ProvinceFileError, overlay


@dataclass(frozen=True)
class Window:
    days: int = 15
    excluded: frozenset[str] = frozenset({"Z51.0"})


@dataclass(frozen=True)
class Rules:
    window: Window = field(default_factory=Window)
    ratio: Decimal = Decimal("0.70")
    enabled: bool = True


def test_named_keys_replace_defaults_and_the_rest_stay() -> None:
    got = overlay(Rules(), {"window": {"days": 7}, "ratio": "0.75"}, "[audit]")
    assert got == Rules(window=Window(days=7), ratio=Decimal("0.75"))
    assert overlay(Rules(), {}, "[audit]") == Rules()
    listed = overlay(Rules(), {"window": {"excluded": ["Z51.0", "Z51.1"]}}, "[audit]")
    assert listed.window.excluded == frozenset({"Z51.0", "Z51.1"})


def test_a_typo_or_a_wrong_type_is_refused_naming_the_key() -> None:
    with pytest.raises(ProvinceFileError, match=r"\[audit\] window\.dayz is not a setting"):
        overlay(Rules(), {"window": {"dayz": 7}}, "[audit]")
    with pytest.raises(ProvinceFileError, match=r"\[audit\] window\.days: .*'fifteen'"):
        overlay(Rules(), {"window": {"days": "fifteen"}}, "[audit]")
    with pytest.raises(ProvinceFileError, match=r"\[audit\] enabled"):
        overlay(Rules(), {"enabled": "perhaps"}, "[audit]")
