"""The reimbursement service's deployment settings (`YIDI_REIMBURSEMENT_*`), beside the chassis'
settings (where the verification service's URL is, as every service URL is). The province's terms
for claims (deadlines, the two-reviewer amount) are the province file's `[reimbursement]` section
(`province_terms`), checked at start."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.province import overlay, section
from yidi_events.settings import ServiceSettings
from yidi_reimbursement.domain.terms import ClaimTerms, check_claim_terms

DEFAULT_CATALOGUE = Path(__file__).parent / "manual_catalogue.json"


class ReimbursementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_REIMBURSEMENT_", extra="ignore")

    # The insured place's catalogue for manual claims (domain/computation.py says why).
    catalogue_file: Path = DEFAULT_CATALOGUE


def province_terms(settings: ServiceSettings) -> ClaimTerms:
    """The province file's `[reimbursement]` section over the defaults (DOMAIN.md section 6); a
    key that names no term or a value that cannot work stops the service naming it."""
    default = ClaimTerms(calendar=settings.working_calendar())
    values = section(settings.province(), "reimbursement")
    return overlay(default, values, "[reimbursement]", check_claim_terms)
