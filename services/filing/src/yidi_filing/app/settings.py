"""Filing settings per insured place: configuration, with the defaults of DOMAIN.md section 1.

An insured place that follows the national 2022 rule lets a referral cover the whole visit city
(`YIDI_FILING_WHOLE_CITY_REFERRAL`, a comma-separated list of insured regions). Shangluo (611000)
does in the sandbox, so its default list holds it.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_filing.domain.filing_settings import FilingSettings


class FilingConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_FILING_", extra="ignore")

    whole_city_referral: str = "611000"

    def whole_city_regions(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.whole_city_referral.split(",") if r.strip())


class SettingsBook:
    """The filing settings of each insured region."""

    def __init__(self, config: FilingConfig | None = None) -> None:
        self._whole_city = (config or FilingConfig()).whole_city_regions()
        self._default = FilingSettings()
        self._whole = FilingSettings(referral_whole_city_allowed=True)

    def of(self, insured_region: str) -> FilingSettings:
        return self._whole if insured_region in self._whole_city else self._default
