"""Audit reads its thresholds from the province file's `[audit]` section at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from yidi_audit.bootstrap import province_settings
from yidi_events.province import ProvinceFileError
from yidi_events.settings import ServiceSettings


def _settings(tmp_path: Path, text: str) -> ServiceSettings:
    province = tmp_path / "province.toml"
    province.write_text(text, encoding="utf-8")
    return ServiceSettings(province_file=province)


def test_a_province_sets_the_readmission_window_and_the_high_cost_threshold(
    tmp_path: Path,
) -> None:
    settings = province_settings(
        _settings(
            tmp_path,
            "[audit.rules.split_hospitalization]\nwindow_days = 7\n"
            "[audit.rules.high_cost]\nthreshold = 5000000\n",
        )
    )
    assert settings.rules.split_hospitalization.window_days == 7
    assert settings.rules.high_cost.threshold == 5_000_000
    assert settings.sanctions.person_min_months == 3  # not named: the default


def test_a_misspelt_threshold_stops_the_service(tmp_path: Path) -> None:
    with pytest.raises(ProvinceFileError, match=r"split_hospitalization\.window_dayz"):
        province_settings(
            _settings(tmp_path, "[audit.rules.split_hospitalization]\nwindow_dayz = 7\n")
        )


def test_the_shipped_sandbox_file_reads_as_the_defaults() -> None:
    from yidi_audit.app.context import AuditSettings

    settings = province_settings(ServiceSettings())
    defaults = AuditSettings(calendar=settings.calendar)
    assert (settings.rules, settings.sanctions) == (defaults.rules, defaults.sanctions)
