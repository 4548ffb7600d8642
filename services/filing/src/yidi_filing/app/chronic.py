"""Chronic-disease certificates (门诊慢特病备案): the agency at the counter, and hospitals through the
HIS gateway (2503 certify, 2504 withdraw, forwarded). Both write on the person's stream.

A hospital's certificate id is derived from (institution, message id), as a referral's filing id
is, so a forwarded repeat finds the certificate it made and answers the same id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from uuid6 import uuid7

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.kernel import DomainError, business_date
from yidi_filing.app.common import Context, person_stream, require_own_region
from yidi_filing.domain import chronic_certificate as model
from yidi_filing.domain.person import PERSON, enrolled

_NAMESPACE = uuid.UUID("6f1b7a7e-2d1c-4f3e-9a51-2503c4d00000")


def new_certificate_id() -> str:
    return uuid7().hex


def hospital_certificate_id(institution_code: str, message_id: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{institution_code}:{message_id}").hex


@dataclass(frozen=True, kw_only=True)
class CardFacts:
    """What a hospital read from the person's card (checked against the enrolment)."""

    insured_region: str | None = None
    insurance_type: str | None = None


async def certify(
    ctx: Context,
    command: model.CertifyChronicDisease,
    *,
    principal: Principal | None = None,
    card: CardFacts | None = None,
) -> str:
    """Certify at the counter (`principal`: the person must be of the agency's region) or for a
    hospital (`card`: what it read from the card must match the enrolment)."""

    async def work(unit: Unit) -> str:
        loaded = await ctx.write.load(unit, person_stream(command.person_id), PERSON)
        person = enrolled(loaded.state)
        if principal is not None:
            require_own_region(principal, person.insured_region, field="person_id")
        if card is not None:
            _check_card(card, person.insured_region, person.insurance_type.value)
        now = ctx.now()
        new = model.decide_certify(person.insured_region, person.chronic, command, now)
        if new:
            await ctx.write.append(
                unit, loaded.stream_id, loaded.version, new, day=business_date(now)
            )
        return command.certificate_id

    return await ctx.write.transact(work)


async def revoke(
    ctx: Context,
    person_id: str,
    certificate_id: str,
    reason: str,
    *,
    principal: Principal | None = None,
    institution_code: str | None = None,
) -> str:
    async def work(unit: Unit) -> str:
        loaded = await ctx.write.load(unit, person_stream(person_id), PERSON)
        person = enrolled(loaded.state)
        if principal is not None:
            require_own_region(principal, person.insured_region, field="person_id")
        now = ctx.now()
        new = model.decide_revoke(
            person_id, person.chronic, certificate_id, reason, now, by_institution=institution_code
        )
        if new:
            await ctx.write.append(
                unit, loaded.stream_id, loaded.version, new, day=business_date(now)
            )
        return certificate_id

    return await ctx.write.transact(work)


async def certificates_of(
    ctx: Context, principal: Principal, person_id: str
) -> list[model.ChronicCertificate]:
    async def work(unit: Unit) -> list[model.ChronicCertificate]:
        person = enrolled((await ctx.write.load(unit, person_stream(person_id), PERSON)).state)
        require_own_region(principal, person.insured_region, field="person_id")
        return sorted(person.chronic.values(), key=lambda c: (c.disease_code, c.valid_from))

    return await ctx.write.transact(work)


def _check_card(card: CardFacts, insured_region: str, insurance_type: str) -> None:
    if card.insured_region and card.insured_region != insured_region:
        raise DomainError(
            "his.insured_region",
            f"the person is insured in {insured_region}, not {card.insured_region}",
            field="insured_region",
            values={"expected": insured_region},
        )
    if card.insurance_type and card.insurance_type != insurance_type:
        raise DomainError(
            "his.insurance_type",
            f"the person's insurance type is {insurance_type}",
            field="insurance_type",
            values={"expected": insurance_type},
        )
