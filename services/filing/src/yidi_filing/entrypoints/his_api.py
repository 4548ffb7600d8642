"""`POST /v1/internal/his`: the commands the settlement service's HIS gateway forwards, in domain
names (docs/integration.md): referrals (2501 upload, 2502 cancel) and chronic-disease
certificates (2503 certify, 2504 withdraw)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from yidi_events.contracts.filing import FilingChannel, FilingKind
from yidi_events.forwarded import ForwardedCommand, forwarded_router
from yidi_filing.app import chronic
from yidi_filing.app import his as handlers
from yidi_filing.domain.chronic_certificate import CertifyChronicDisease
from yidi_filing.domain.filing import SubmitFiling
from yidi_filing.entrypoints.deps import context_of
from yidi_filing.entrypoints.models import (
    ChronicCertifyCommand,
    ChronicRevokeCommand,
    ReferralCancelCommand,
    ReferralUploadCommand,
)


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


async def _certify_chronic(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    upload = ChronicCertifyCommand.model_validate(call.command)
    command = CertifyChronicDisease(
        certificate_id=chronic.hospital_certificate_id(call.institution_code, call.message_id),
        person_id=upload.person_id,
        disease_code=upload.disease_code,
        disease_name=upload.disease_name,
        evidence_institution=upload.evidence_institution,
        evidence_institution_name=upload.evidence_institution_name,
        evidence_date=upload.evidence_date,
        diagnosing_doctor=upload.diagnosing_doctor,
        valid_from=upload.valid_from,
        valid_to=upload.valid_to,
        channel=FilingChannel.HOSPITAL,
        submitted_by_institution=call.institution_code,
    )
    card = chronic.CardFacts(
        insured_region=upload.insured_region, insurance_type=upload.insurance_type
    )
    certificate_id = await chronic.certify(context_of(request), command, card=card)
    return {"certificate_id": certificate_id}


async def _revoke_chronic(call: ForwardedCommand, request: Request) -> dict[str, Any]:
    withdraw = ChronicRevokeCommand.model_validate(call.command)
    certificate_id = await chronic.revoke(
        context_of(request),
        withdraw.person_id,
        withdraw.certificate_id,
        withdraw.reason,
        institution_code=call.institution_code,
    )
    return {"certificate_id": certificate_id}


router = forwarded_router(
    "filing",
    {
        "referral.upload": _upload,
        "referral.cancel": _cancel,
        "chronic.certify": _certify_chronic,
        "chronic.revoke": _revoke_chronic,
    },
)
