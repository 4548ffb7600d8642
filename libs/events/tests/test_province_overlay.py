"""A province section over a service's settings dataclass: named keys replace defaults, nested
settings are reached, wrong keys and wrong types stop the service naming them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from yidi_events.kernel import DomainError
from yidi_events.province import ProvinceFileError, overlay, provincial_centre


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


def _window_works(rules: Rules) -> None:
    if rules.window.days < 1:
        raise DomainError("rules.window", "at least 1 day", field="window.days")


def test_a_value_the_domain_refuses_stops_the_service_naming_the_key() -> None:
    assert overlay(Rules(), {"window": {"days": 1}}, "[audit]", _window_works).window.days == 1
    with pytest.raises(ProvinceFileError, match=r"\[audit\] window\.days: at least 1 day$"):
        overlay(Rules(), {"window": {"days": 0}}, "[audit]", _window_works)


def test_the_provincial_centre_is_clearing_s_and_a_region_code() -> None:
    assert provincial_centre({}) == "320000"  # the sandbox's
    assert provincial_centre({"clearing": {"provincial_centre": "330000"}}) == "330000"
    with pytest.raises(ProvinceFileError, match=r"\[clearing\] provincial_centre: '33' is not"):
        provincial_centre({"clearing": {"provincial_centre": "33"}})
    with pytest.raises(ProvinceFileError, match=r"\[clearing\] provincial_centre: 330000 is not"):
        provincial_centre({"clearing": {"provincial_centre": 330000}})
