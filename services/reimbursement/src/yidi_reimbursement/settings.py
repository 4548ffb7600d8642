"""The reimbursement service's own terms (`YIDI_REIMBURSEMENT_*`), beside the chassis' settings
(where the verification service's URL is, as every service URL is)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.kernel import WorkingCalendar
from yidi_reimbursement.domain.terms import ClaimTerms

DEFAULT_CATALOGUE = Path(__file__).parent / "manual_catalogue.json"


class ReimbursementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_REIMBURSEMENT_", extra="ignore")

    # The insured place's catalogue for manual claims (domain/computation.py says why).
    catalogue_file: Path = DEFAULT_CATALOGUE
    acceptance_days: int = Field(5, ge=1)
    review_days: int = Field(10, ge=1)
    payment_days: int = Field(20, ge=1)
    two_reviewers_above: int = Field(1_000_000, ge=0, description="fen claimed")

    def terms(self, calendar: WorkingCalendar) -> ClaimTerms:
        return ClaimTerms(
            acceptance_days=self.acceptance_days,
            review_days=self.review_days,
            payment_days=self.payment_days,
            two_reviewers_above=self.two_reviewers_above,
            calendar=calendar,
        )
