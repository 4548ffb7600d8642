"""Hospital filings forwarded by the HIS gateway: 2501 referral upload, 2502 its cancellation.

The gateway already made (institution, msgid) idempotent; the filing id is still derived from
them, so a forwarded repeat finds its filing and answers the same id instead of filing twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import FilingChannel
from yidi_events.db import in_transaction
from yidi_events.kernel import DomainError, Forbidden, NotFound
from yidi_filing.adapters.wire import ReferralCancel, ReferralUpload
from yidi_filing.app.common import Context, filing_stream
from yidi_filing.app.filings import load_filing
from yidi_filing.app.persons import load_person
from yidi_filing.domain import filing as model

_NAMESPACE = uuid.UUID("6f1b7a7e-2d1c-4f3e-9a51-2501f11e0000")


def hospital_filing_id(institution_code: str, message_id: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{institution_code}:{message_id}").hex


def require_his(principal: Principal) -> None:
    if principal.kind != "service" or not principal.has("his"):
        raise Forbidden(
            "auth.his", "only the HIS gateway forwards hospital transactions", field="Authorization"
        )


async def upload_referral(ctx: Context, upload: ReferralUpload) -> str:
    command = upload.command

    async def work(conn: AsyncConnection) -> str:
        existing, version, submitted = await load_filing(ctx, conn, command.filing_id)
        if existing is not None and submitted is not None:
            if submitted.person_id != command.person_id:
                raise DomainError(
                    "his.message_reused",
                    "this msgid already filed a referral for another person",
                    field="msgid",
                )
            return command.filing_id
        person, _ = await load_person(ctx, conn, command.person_id)
        if person is None:
            raise NotFound("person.not_enrolled", "no such insured person", field="psn_no")
        if upload.insured_region and upload.insured_region != person.insured_region:
            raise DomainError(
                "his.insured_region",
                f"the person is insured in {person.insured_region}, not {upload.insured_region}",
                field="insu_optins",
            )
        if upload.insurance_type and upload.insurance_type != person.insurance_type.value:
            raise DomainError(
                "his.insurance_type",
                f"the person's insurance type is {person.insurance_type.value}",
                field="insutype",
            )
        now = ctx.now()
        settings = ctx.settings.of(person.insured_region)
        new = model.decide_submit(existing, command, person, settings, now)
        await ctx.append(conn, filing_stream(command.filing_id), version, new, now)
        return command.filing_id

    return await in_transaction(ctx.runtime.engine, work)


async def cancel_referral(ctx: Context, cancel: ReferralCancel, institution_code: str) -> str:
    async def work(conn: AsyncConnection) -> str:
        filing, version, submitted = await load_filing(ctx, conn, cancel.filing_id)
        if filing is None or submitted is None or submitted.person_id != cancel.person_id:
            raise NotFound(
                "filing.not_found",
                "no referral filing with this trt_dcla_detl_sn for this person",
                field="trt_dcla_detl_sn",
            )
        if (
            submitted.channel is not FilingChannel.HOSPITAL
            or submitted.referral_opinion_from != institution_code
        ):
            raise Forbidden(
                "filing.hospital_own_only",
                "a hospital may cancel only the referral filings it uploaded",
                field="trt_dcla_detl_sn",
            )
        now = ctx.now()
        new = model.decide_cancel(
            filing, cancel.reason, ctx.settings.of(filing.insured_region), now
        )
        await ctx.append(conn, filing_stream(cancel.filing_id), version, new, now)
        return cancel.filing_id

    return await in_transaction(ctx.runtime.engine, work)
