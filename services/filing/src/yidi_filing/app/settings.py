"""Filing settings per insured place: configuration, with the defaults of DOMAIN.md section 1.

An insured place that follows the national 2022 rule lets a referral cover the whole visit city
(`YIDI_FILING_WHOLE_CITY_REFERRAL`, a comma-separated list of insured regions). Shangluo (611000)
does in the sandbox, so its default list holds it.

Each insured place registers the institutions whose referral opinion it accepts (designated
referring institutions): read from `YIDI_FILING_REFERRING_INSTITUTIONS_FILE`, a JSON object of
insured region -> institution codes; the sandbox's own list ships with the package. A region the
file does not name accepts no hospital's referral (2501): closed, not open, by default.

The province's rules, the same for every insured place of it, come from the province file's
`[filing]` section (deploy/provinces, yidi_events.province): the review deadline in working days,
a temporary filing's least validity, the promise-based lock, the months a 补办 after a self-paid
discharge is accepted within (unset: no limit). Checked at start; a wrong key or value stops the
service naming it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.kernel import WorkingCalendar
from yidi_events.province import ProvinceFileError, overlay, section
from yidi_filing.domain.filing_settings import FilingSettings
from yidi_filing.domain.province_rules import check_filing_settings

SANDBOX_REFERRING = Path(__file__).resolve().parents[1] / "referring_institutions.sandbox.json"


class FilingConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_FILING_", extra="ignore")

    whole_city_referral: str = "611000"
    referring_institutions_file: Path = SANDBOX_REFERRING

    def referring_institutions(self) -> dict[str, frozenset[str]]:
        document = json.loads(self.referring_institutions_file.read_text(encoding="utf-8"))
        return {
            region: frozenset(codes)
            for region, codes in document.items()
            if not region.startswith("_") and isinstance(codes, list)
        }

    def whole_city_regions(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.whole_city_referral.split(",") if r.strip())


# What each insured place sets for itself (above), never the province file: a province-wide value
# there would be overwritten per place without a word.
_PER_PLACE = {
    "referral_whole_city_allowed": "YIDI_FILING_WHOLE_CITY_REFERRAL",
    "referring_institutions": "YIDI_FILING_REFERRING_INSTITUTIONS_FILE",
    "unconditional_referral": "the insured place's catalogue",
    "calendar": "the working calendar (YIDI_HOLIDAYS_FILE)",
}


def province_rules(
    document: Mapping[str, Any], calendar: WorkingCalendar | None = None
) -> FilingSettings:
    """The province file's `[filing]` section over the defaults of DOMAIN.md section 1, checked."""
    values = section(document, "filing")
    for key, instead in _PER_PLACE.items():
        if key in values:
            raise ProvinceFileError(
                f"province file: [filing] {key} is set per insured place ({instead}), "
                "not for the province"
            )
    default = FilingSettings(calendar=calendar or WorkingCalendar.official())
    return overlay(default, values, "[filing]", check_filing_settings)


class SettingsBook:
    """The filing settings of each insured region: the province's rules (`province`, default
    the defaults of DOMAIN.md section 1) with what each place sets for itself."""

    def __init__(
        self,
        config: FilingConfig | None = None,
        calendar: WorkingCalendar | None = None,
        province: FilingSettings | None = None,
    ) -> None:
        config = config or FilingConfig()
        self._province = province or FilingSettings()
        if calendar is not None:
            self._province = dataclasses.replace(self._province, calendar=calendar)
        self._whole_city = config.whole_city_regions()
        self._referring = config.referring_institutions()

    def of(self, insured_region: str) -> FilingSettings:
        return dataclasses.replace(
            self._province,
            referral_whole_city_allowed=insured_region in self._whole_city,
            referring_institutions=self._referring.get(insured_region, frozenset()),
        )
