"""`POST /internal/his`: the referral commands the settlement service's HIS gateway forwards
(2501 upload, 2502 cancel), in domain names (docs/integration.md)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from yidi_events.contracts.filing import FilingChannel, FilingKind
from yidi_events.forwarded import ForwardedCommand, forwarded_router
from yidi_filing.app import his as handlers
from yidi_filing.domain.filing import SubmitFiling
from yidi_filing.entrypoints.deps import context_of
from yidi_filing.entrypoints.models import ReferralCancelCommand, ReferralUploadCommand


async def _upload(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    referral = ReferralUploadCommand.model_validate(call.command)
    upload = handlers.ReferralUpload(
        command=SubmitFiling(
            filing_id=handlers.hospital_filing_id(call.institution_code, call.message_id),
            person_id=referral.person_id,
            kind=FilingKind.REFERRAL,
            channel=FilingChannel.HOSPITAL,
            visit_region=referral.visit_region,
            destination_institution=referral.destination_institution,
            diagnosis=referral.diagnosis,
            valid_from=referral.valid_from,
            valid_to=referral.valid_to,
            submitted_by_institution=call.institution_code,
        ),
        insured_region=referral.insured_region,
        insurance_type=referral.insurance_type,
    )
    return {"filing_id": await handlers.upload_referral(context_of(request), upload)}


async def _cancel(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    cancel = ReferralCancelCommand.model_validate(call.command)
    filing_id = await handlers.cancel_referral(
        context_of(request),
        handlers.ReferralCancel(
            filing_id=cancel.filing_id, person_id=cancel.person_id, reason=cancel.reason
        ),
        call.institution_code,
    )
    return {"filing_id": filing_id}


router = forwarded_router("filing", {"referral.upload": _upload, "referral.cancel": _cancel})
