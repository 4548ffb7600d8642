"""Publishing an insured place's benefit policy: the shared document format, one book per
(insured region, insurance type); a new version supersedes the current one from its date."""

from __future__ import annotations

from typing import Any

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.kernel import business_date
from yidi_events.policy_document import parse_policy_document
from yidi_filing.app.common import Context, policy_stream, require_own_region
from yidi_filing.domain import policy_book as model


async def publish(ctx: Context, principal: Principal, document: dict[str, Any]) -> int | None:
    """Returns the new version, or None when the document repeats the current version."""
    policy = parse_policy_document(document)  # refuses with policy.format naming the path
    require_own_region(principal, policy.insured_region, field="insuplc_admdvs")
    stream_id = policy_stream(policy.insured_region, policy.insurance_type.value)

    book = model.book_of(policy.insured_region, policy.insurance_type)

    async def work(unit: Unit) -> int | None:
        now = ctx.now()
        published = await ctx.write.decide(
            unit,
            stream_id,
            book,
            lambda current: model.decide_publish(current, policy, now),
            day=business_date(now),
        )
        return published[0].payload.version if published else None

    return await ctx.write.transact(work)
