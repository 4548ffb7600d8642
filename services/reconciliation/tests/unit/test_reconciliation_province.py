"""The agencies' deadline to close a month's days comes from the province file, the value
clearing's statement waits for (deploy/provinces, `[reconciliation] month_close_day`)."""

from datetime import date
from pathlib import Path

import pytest

from yidi_events.province import PROVINCES, ProvinceFileError
from yidi_events.settings import ServiceSettings
from yidi_reconciliation.bootstrap import province_rules
from yidi_reconciliation.domain.month_close import close_deadline


@pytest.mark.parametrize("name", ["sandbox", "national", "jiangsu"])
def test_the_shipped_provinces_close_by_the_3rd(name: str) -> None:
    rules = province_rules(ServiceSettings(province_file=PROVINCES / f"{name}.toml"))
    assert close_deadline(date(2026, 3, 31), rules) == date(2026, 4, 3)


def test_a_province_may_give_its_agencies_longer(tmp_path: Path) -> None:
    file = tmp_path / "p.toml"
    file.write_text("[reconciliation]\nmonth_close_day = 5\n", "utf-8")
    rules = province_rules(ServiceSettings(province_file=file))
    assert close_deadline(date(2026, 12, 31), rules) == date(2027, 1, 5)
    file.write_text("[reconciliation]\nmonth_close_day = 30\n", "utf-8")
    with pytest.raises(ProvinceFileError, match="month_close_day 30"):
        province_rules(ServiceSettings(province_file=file))
