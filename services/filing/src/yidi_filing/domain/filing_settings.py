"""An insured place's filing settings, with the defaults DOMAIN.md section 1 names.

Every threshold a place may set differently lives here, never inline in the rules.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from yidi_events.kernel import WorkingCalendar


@dataclass(frozen=True)
class DiagnosisCatalogue:
    """Diagnosis codes (ICD-10) by entry: a range of three-character categories such as
    "C00-C97", or a code prefix such as "I21" or "N18.5"."""

    entries: tuple[str, ...]

    def contains(self, diagnosis: str | None) -> bool:
        if not diagnosis:
            return False
        code = diagnosis.strip().upper()
        category = code[:3]
        for entry in self.entries:
            low, dash, high = entry.upper().partition("-")
            if dash:
                if len(category) == 3 and low <= category <= high:
                    return True
            elif code.startswith(low):
                return True
        return False


# Seed 002 (Anshan 2021) lets diseases on its unconditional-referral catalogue be referred without
# a designated hospital's referral opinion; malignant neoplasms are the core of such catalogues.
DEFAULT_UNCONDITIONAL_REFERRAL = DiagnosisCatalogue(("C00-C97",))


@dataclass(frozen=True, kw_only=True)
class FilingSettings:
    review_working_days: int = 2  # an agency reviewer decides within 2 working days
    temporary_min_months: int = 6  # temporary filings are valid at least 6 months
    promise_lock_months: int = 6  # promise-based filings are locked this long after they begin
    referral_whole_city_allowed: bool = False  # seed 000: one named destination by default
    # The institutions whose referral opinion this insured place accepts (DOMAIN.md section 1:
    # evidence is checked, not believed); a hospital channel referral from any other is refused.
    referring_institutions: frozenset[str] = frozenset()
    unconditional_referral: DiagnosisCatalogue = DEFAULT_UNCONDITIONAL_REFERRAL
    # 补办 after a self-paid discharge (医保发〔2022〕22号 §二(四)): within this many months of the
    # discharge. None: no limit; the national rule leaves it to the insured place and the seeds
    # name none.
    self_paid_refiling_months: int | None = None
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar.official)


def add_months(day: date, months: int) -> date:
    """The same day `months` later; a day the target month lacks becomes its last day
    (31 Aug + 6 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
