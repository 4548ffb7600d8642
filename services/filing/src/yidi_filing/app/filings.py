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

from sqlalchemy.ext.asyncio import AsyncConnection
from uuid6 import uuid7

from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import FilingChannel, FilingSubmitted
from yidi_events.db import in_transaction
from yidi_events.decider import fold
from yidi_events.kernel import Forbidden, NotFound
from yidi_filing.app.common import Context, filing_stream, require_agency, require_own_region
from yidi_filing.app.persons import load_person
from yidi_filing.domain import filing as model
from yidi_filing.domain.filing import ChangeFiling, SubmitFiling


def new_filing_id() -> str:
    return uuid7().hex


async def load_filing(
    ctx: Context, conn: AsyncConnection, filing_id: str
) -> tuple[model.Filing | None, int, FilingSubmitted | None]:
    stream = await ctx.load(conn, filing_stream(filing_id))
    payloads = [e.payload for e in stream]
    submitted = next((p for p in payloads if isinstance(p, FilingSubmitted)), None)
    return fold(model.evolve, None, payloads), len(stream), submitted


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

    async def work(conn: AsyncConnection) -> str:
        person, _ = await load_person(ctx, conn, command.person_id)
        if person is None:
            raise NotFound("person.not_enrolled", "no such insured person", field="person_id")
        _check_submitter(principal, command, person.insured_region)
        filing, version, _ = await load_filing(ctx, conn, command.filing_id)
        now = ctx.now()
        settings = ctx.settings.of(person.insured_region)
        new = model.decide_submit(filing, command, person, settings, now)
        await ctx.append(conn, filing_stream(command.filing_id), version, new, now)
        return command.filing_id

    return await in_transaction(ctx.runtime.engine, work)


async def _review(ctx: Context, principal: Principal, filing_id: str, decide: Any) -> None:
    require_agency(principal)
    principal.require("reviewer")

    async def work(conn: AsyncConnection) -> None:
        filing, version, _ = await load_filing(ctx, conn, filing_id)
        if filing is not None and filing.insured_region != principal.region:
            # Not even the provincial centre reviews another agency's queue.
            raise Forbidden(
                "filing.review_own_queue",
                f"reviewers of {principal.region} act only on their own agency's queue; this "
                f"filing belongs to {filing.insured_region}",
                field="filing_id",
            )
        now = ctx.now()
        await ctx.append(conn, filing_stream(filing_id), version, decide(filing, now), now)

    await in_transaction(ctx.runtime.engine, work)


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

    async def work(conn: AsyncConnection) -> None:
        filing, version, _ = await load_filing(ctx, conn, filing_id)
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
        await ctx.append(conn, filing_stream(filing_id), version, new, now)

    await in_transaction(ctx.runtime.engine, work)


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
