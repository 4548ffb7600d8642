"""Hospital filings forwarded by the HIS gateway: a referral upload (2501), its cancellation (2502).

The gateway already made (institution, message id) idempotent; the filing id is still derived from
them, so a forwarded repeat finds its filing and answers the same id instead of filing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yidi_events.application import Unit
from yidi_events.contracts.filing import FilingChannel
from yidi_events.kernel import DomainError, Forbidden, NotFound, business_date
from yidi_filing.app.common import Context, filing_stream, person_stream
from yidi_filing.domain import filing as model
from yidi_filing.domain.filing import FILING, SubmitFiling
from yidi_filing.domain.person import PERSON

_NAMESPACE = uuid.UUID("6f1b7a7e-2d1c-4f3e-9a51-2501f11e0000")


@dataclass(frozen=True, kw_only=True)
class ReferralUpload:
    """A hospital's referral; `insured_region`/`insurance_type` as the hospital read them from
    the person's card (checked against the enrolment)."""

    command: SubmitFiling
    insured_region: str | None
    insurance_type: str | None


@dataclass(frozen=True, kw_only=True)
class ReferralCancel:
    filing_id: str
    person_id: str
    reason: str


def hospital_filing_id(institution_code: str, message_id: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{institution_code}:{message_id}").hex


async def upload_referral(ctx: Context, upload: ReferralUpload) -> str:
    command = upload.command

    async def work(unit: Unit) -> str:
        existing = await ctx.write.load(unit, filing_stream(command.filing_id), FILING)
        if existing.state is not None:
            if existing.state.person_id != command.person_id:
                raise DomainError(
                    "his.message_reused",
                    "this message_id already filed a referral for another person",
                    field="message_id",
                )
            return command.filing_id
        person = (await ctx.write.load(unit, person_stream(command.person_id), PERSON)).state
        if person is None:
            raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
        if upload.insured_region and upload.insured_region != person.insured_region:
            raise DomainError(
                "his.insured_region",
                f"the person is insured in {person.insured_region}, not {upload.insured_region}",
                field="insured_region",
                values={"expected": person.insured_region},
            )
        if upload.insurance_type and upload.insurance_type != person.insurance_type.value:
            raise DomainError(
                "his.insurance_type",
                f"the person's insurance type is {person.insurance_type.value}",
                field="insurance_type",
                values={"expected": person.insurance_type.value},
            )
        now = ctx.now()
        settings = ctx.settings.of(person.insured_region)
        new = model.decide_submit(existing.state, command, person, settings, now)
        await ctx.write.append(
            unit, existing.stream_id, existing.version, new, day=business_date(now)
        )
        return command.filing_id

    return await ctx.write.transact(work)


async def cancel_referral(ctx: Context, cancel: ReferralCancel, institution_code: str) -> str:
    async def work(unit: Unit) -> str:
        loaded = await ctx.write.load(unit, filing_stream(cancel.filing_id), FILING)
        filing = loaded.state
        if filing is None or filing.person_id != cancel.person_id:
            raise NotFound(
                "filing.not_found",
                "no referral filing with this filing_id for this person",
                field="filing_id",
            )
        if (
            filing.channel is not FilingChannel.HOSPITAL
            or filing.referral_opinion_from != institution_code
        ):
            raise Forbidden(
                "filing.hospital_own_only",
                "a hospital may cancel only the referral filings it uploaded",
                field="filing_id",
            )
        now = ctx.now()
        new = model.decide_cancel(
            filing, cancel.reason, ctx.settings.of(filing.insured_region), now
        )
        await ctx.write.append(unit, loaded.stream_id, loaded.version, new, day=business_date(now))
        return cancel.filing_id

    return await ctx.write.transact(work)
