"""Agency API: a person's chronic-disease certificates (门诊慢特病备案), decided by a reviewer of the
person's insured agency."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from yidi_events.contracts.filing import FilingChannel
from yidi_filing.app import chronic as handlers
from yidi_filing.domain.chronic_certificate import CertifyChronicDisease, ChronicCertificate
from yidi_filing.entrypoints.deps import Agency, Ctx, Reviewer
from yidi_filing.entrypoints.models import CertificateView, ChronicCertifyRequest

router = APIRouter(prefix="/persons", tags=["chronic-disease certificates"])


def _view(person_id: str, certificate: ChronicCertificate) -> CertificateView:
    return CertificateView.model_validate(
        {"person_id": person_id, **asdict(certificate), "channel": certificate.channel.value}
    )


async def _one(ctx: Ctx, principal: Any, person_id: str, certificate_id: str) -> CertificateView:
    held = await handlers.certificates_of(ctx, principal, person_id)
    return next(_view(person_id, c) for c in held if c.certificate_id == certificate_id)


@router.post(
    "/{person_id}/chronic-diseases",
    status_code=201,
    summary="Certify the person for a chronic or special disease (from valid_from)",
)
async def certify(
    person_id: str, body: ChronicCertifyRequest, principal: Reviewer, ctx: Ctx
) -> CertificateView:
    command = CertifyChronicDisease(
        certificate_id=handlers.new_certificate_id(),
        person_id=person_id,
        channel=FilingChannel.COUNTER,
        **body.model_dump(),
    )
    certificate_id = await handlers.certify(ctx, command, principal=principal)
    return await _one(ctx, principal, person_id, certificate_id)


@router.get("/{person_id}/chronic-diseases", summary="The person's certificates, revoked ones too")
async def certificates(person_id: str, principal: Agency, ctx: Ctx) -> list[CertificateView]:
    return [_view(person_id, c) for c in await handlers.certificates_of(ctx, principal, person_id)]


@router.delete(
    "/{person_id}/chronic-diseases/{certificate_id}",
    summary="Revoke a certificate: no visit from today settles under it",
)
async def revoke(
    person_id: str,
    certificate_id: str,
    principal: Reviewer,
    ctx: Ctx,
    reason: str = Query(min_length=1, description="why it is revoked"),
) -> CertificateView:
    await handlers.revoke(ctx, person_id, certificate_id, reason, principal=principal)
    return await _one(ctx, principal, person_id, certificate_id)
