"""Shared dependencies of the routers: the handler context built by the composition root."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yidi_events.auth.agency import Agency, Principal, admit
from yidi_filing.app.common import Context

__all__ = ["Agency", "AgencyOrPerson", "Ctx", "OnlineFiler", "Person", "Reviewer", "context_of"]


def context_of(request: Request) -> Context:
    context: Context = request.app.state.filing
    return context


Ctx = Annotated[Context, Depends(context_of)]

# What each route admits (see yidi_events.auth.agency.admit and docs/api/routes.md).
Reviewer = Annotated[Principal, Depends(admit("agency", "centre", roles=["reviewer"]))]
"""A filing reviewer of the insured agency."""
AgencyOrPerson = Annotated[Principal, Depends(admit("agency", "centre", "person"))]
"""Agency staff, or the insured person for what is their own."""
Person = Annotated[Principal, Depends(admit("person"))]
"""The insured person, online, for themselves."""
OnlineFiler = Annotated[
    Principal,
    Depends(
        admit(
            "person",
            refusal=(
                "filing.online_self_only",
                "an online filing is made by the insured person, for themselves only",
            ),
        )
    ),
]
"""The insured person filing online (an agency files at the counter instead)."""

# A page's offset fits PostgreSQL's bigint; past it the database would refuse the query (a 500),
# and no region holds that many rows anyway.
MAX_OFFSET = 2**63 - 1
