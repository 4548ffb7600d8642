"""Publishing an insured place's benefit policy: the shared document format, one book per
(insured region, insurance type); a new version supersedes the current one from its date."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.auth.agency import Principal
from yidi_events.db import in_transaction
from yidi_events.decider import fold
from yidi_events.policy import parse_policy_document
from yidi_filing.app.common import Context, policy_stream, require_own_region
from yidi_filing.domain import policy_book as model


async def publish(ctx: Context, principal: Principal, document: dict[str, Any]) -> int | None:
    """Returns the new version, or None when the document repeats the current version."""
    policy = parse_policy_document(document)  # refuses with policy.format naming the path
    require_own_region(principal, policy.insured_region, field="insuplc_admdvs")
    stream_id = policy_stream(policy.insured_region, policy.insurance_type.value)

    async def work(conn: AsyncConnection) -> int | None:
        stream = await ctx.load(conn, stream_id)
        book = fold(
            model.evolve,
            model.PolicyBook.empty(policy.insured_region, policy.insurance_type),
            [e.payload for e in stream],
        )
        now = ctx.now()
        new = model.decide_publish(book, policy, now)
        await ctx.append(conn, stream_id, len(stream), new, now)
        return new[0].version if new else None

    return await in_transaction(ctx.runtime.engine, work)
