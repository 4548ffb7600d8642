"""Handlers of filing commands: submit (online by the person, at the counter, by a hospital),
review (approve or reject, by a reviewer of the insured agency), change, cancel.

Who may file:
- a person principal (kind "person") files online, for themselves only;
- agency staff file at the counter, for persons of their own insured region;
- a hospital files through the HIS gateway (2501), see `app/his.py`.
Reviewers act only on their own agency's queue: the filing's insured region must be theirs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from uuid6 import uuid7

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import FilingChannel
from yidi_events.kernel import Forbidden, NotFound, business_date
from yidi_filing.app.common import (
    Context,
    filing_stream,
    person_stream,
    require_agency,
    require_own_region,
)
from yidi_filing.domain import filing as model
from yidi_filing.domain.filing import FILING, ChangeFiling, SubmitFiling
from yidi_filing.domain.person import PERSON


def new_filing_id() -> str:
    return uuid7().hex


def _check_submitter(principal: Principal, command: SubmitFiling, insured_region: str) -> None:
    if command.channel is FilingChannel.ONLINE:
        if principal.kind != "person" or principal.user_id != command.person_id:
            raise Forbidden(
                "filing.online_self_only",
                "an online filing is made by the insured person, for themselves only",
                field="person_id",
            )
    elif command.channel is FilingChannel.COUNTER:
        require_own_region(principal, insured_region, field="person_id")
    elif principal.kind != "service" or not principal.has("his"):
        raise Forbidden(
            "filing.hospital_channel",
            "a hospital files through the HIS gateway (2501), not through the agency API",
            field="channel",
        )


async def submit(ctx: Context, principal: Principal, command: SubmitFiling) -> str:
    """Returns the filing id; the filing is approved at once when the rules pass."""

    if command.channel is FilingChannel.ONLINE or principal.kind == "person":
        _check_submitter(principal, command, "")  # who files online does not depend on data

    async def work(unit: Unit) -> str:
        person = (await ctx.write.load(unit, person_stream(command.person_id), PERSON)).state
        if person is None:
            raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
        _check_submitter(principal, command, person.insured_region)
        filing = await ctx.write.load(unit, filing_stream(command.filing_id), FILING)
        now = ctx.now()
        settings = ctx.settings.of(person.insured_region)
        new = model.decide_submit(filing.state, command, person, settings, now)
        await ctx.write.append(unit, filing.stream_id, filing.version, new, day=business_date(now))
        return command.filing_id

    return await ctx.write.transact(work)


async def _review(ctx: Context, principal: Principal, filing_id: str, decide: Any) -> None:
    require_agency(principal)
    principal.require("reviewer")

    async def work(unit: Unit) -> None:
        loaded = await ctx.write.load(unit, filing_stream(filing_id), FILING)
        filing = loaded.state
        if filing is not None and filing.insured_region != principal.region:
            # Not even the provincial centre reviews another agency's queue.
            raise Forbidden(
                "filing.review_own_queue",
                f"reviewers of {principal.region} act only on their own agency's queue; this "
                f"filing belongs to {filing.insured_region}",
                field="filing_id",
            )
        now = ctx.now()
        new = decide(filing, now)
        await ctx.write.append(unit, loaded.stream_id, loaded.version, new, day=business_date(now))

    await ctx.write.transact(work)


async def approve(ctx: Context, principal: Principal, filing_id: str) -> None:
    await _review(
        ctx,
        principal,
        filing_id,
        lambda filing, now: model.decide_approve(filing, principal.user_id, now),
    )


async def reject(ctx: Context, principal: Principal, filing_id: str, reason: str) -> None:
    await _review(
        ctx,
        principal,
        filing_id,
        lambda filing, now: model.decide_reject(filing, principal.user_id, reason, now),
    )


async def _amend(ctx: Context, principal: Principal, filing_id: str, decide: Any) -> None:
    """Change or cancel: the person online (their own filing) or the insured agency."""

    async def work(unit: Unit) -> None:
        loaded = await ctx.write.load(unit, filing_stream(filing_id), FILING)
        filing = loaded.state
        if filing is not None:
            if principal.kind == "person":
                if principal.user_id != filing.person_id:
                    raise Forbidden(
                        "filing.online_self_only",
                        "a person may change or cancel only their own filings",
                        field="filing_id",
                    )
            else:
                require_own_region(principal, filing.insured_region, field="filing_id")
        now = ctx.now()
        region = filing.insured_region if filing else principal.region
        new = decide(filing, ctx.settings.of(region), now)
        await ctx.write.append(unit, loaded.stream_id, loaded.version, new, day=business_date(now))

    await ctx.write.transact(work)


async def change(ctx: Context, principal: Principal, filing_id: str, command: ChangeFiling) -> None:
    await _amend(
        ctx,
        principal,
        filing_id,
        lambda filing, settings, now: model.decide_change(filing, command, settings, now),
    )


async def cancel(ctx: Context, principal: Principal, filing_id: str, reason: str) -> None:
    await _amend(
        ctx,
        principal,
        filing_id,
        lambda filing, settings, now: model.decide_cancel(filing, reason, settings, now),
    )


def with_id(command: SubmitFiling, filing_id: str | None = None) -> SubmitFiling:
    return replace(command, filing_id=filing_id or new_filing_id())
