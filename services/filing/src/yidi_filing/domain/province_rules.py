"""Which filing settings a province may give (the province file's `[filing]` section, checked
at start): a refusal here stops the service naming the setting, so no filing ever meets one.
"""

from __future__ import annotations

from yidi_events.kernel import DomainError
from yidi_filing.domain.filing_settings import FilingSettings

# The national floor of a temporary filing's validity (医保发〔2022〕22号 §二(三): at least 6
# months); a province may set longer, never shorter.
NATIONAL_TEMPORARY_MIN_MONTHS = 6


def check_filing_settings(settings: FilingSettings) -> None:
    """Refuses settings no filing could work under, naming the setting (the province file is
    checked with this at start, so a wrong value stops the service instead of a filing)."""
    at_least = {
        "review_working_days": (settings.review_working_days, 1),
        "temporary_min_months": (settings.temporary_min_months, NATIONAL_TEMPORARY_MIN_MONTHS),
        "promise_lock_months": (settings.promise_lock_months, 1),
        "self_paid_refiling_months": (settings.self_paid_refiling_months, 1),
    }
    for name, (value, least) in at_least.items():
        if value is not None and value < least:
            raise DomainError(
                "filing.settings",
                f"at least {least}, not {value}",
                field=name,
                values={"value": value, "least": least},
            )
