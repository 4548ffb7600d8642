"""Filing settings per insured place: configuration, with the defaults of DOMAIN.md section 1.

An insured place that follows the national 2022 rule lets a referral cover the whole visit city
(`YIDI_FILING_WHOLE_CITY_REFERRAL`, a comma-separated list of insured regions). Shangluo (611000)
does in the sandbox, so its default list holds it.

Each insured place registers the institutions whose referral opinion it accepts (designated
referring institutions): read from `YIDI_FILING_REFERRING_INSTITUTIONS_FILE`, a JSON object of
insured region -> institution codes; the sandbox's own list ships with the package. A region the
file does not name accepts no hospital's referral (2501): closed, not open, by default.

A 补办 after a self-paid discharge is accepted within `YIDI_FILING_SELF_PAID_REFILING_MONTHS` months
of the discharge; unset (the default), without a limit: the national rule leaves it to the insured
place and the seeds name none.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.kernel import WorkingCalendar
from yidi_filing.domain.filing_settings import FilingSettings

SANDBOX_REFERRING = Path(__file__).resolve().parents[1] / "referring_institutions.sandbox.json"


class FilingConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_FILING_", extra="ignore")

    whole_city_referral: str = "611000"
    referring_institutions_file: Path = SANDBOX_REFERRING
    self_paid_refiling_months: int | None = Field(None, ge=1)

    def referring_institutions(self) -> dict[str, frozenset[str]]:
        document = json.loads(self.referring_institutions_file.read_text(encoding="utf-8"))
        return {
            region: frozenset(codes)
            for region, codes in document.items()
            if not region.startswith("_") and isinstance(codes, list)
        }

    def whole_city_regions(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.whole_city_referral.split(",") if r.strip())


class SettingsBook:
    """The filing settings of each insured region."""

    def __init__(
        self, config: FilingConfig | None = None, calendar: WorkingCalendar | None = None
    ) -> None:
        config = config or FilingConfig()
        self._calendar = calendar or WorkingCalendar.official()
        self._whole_city = config.whole_city_regions()
        self._referring = config.referring_institutions()
        self._self_paid_months = config.self_paid_refiling_months

    def of(self, insured_region: str) -> FilingSettings:
        return FilingSettings(
            referral_whole_city_allowed=insured_region in self._whole_city,
            referring_institutions=self._referring.get(insured_region, frozenset()),
            self_paid_refiling_months=self._self_paid_months,
            calendar=self._calendar,
        )
