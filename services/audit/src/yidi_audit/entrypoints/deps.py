"""Shared pieces of the routers: the audit context and the acting agency."""

from __future__ import annotations

from fastapi import Request

from yidi_audit.app.context import Audit
from yidi_audit.domain.guards import Actor
from yidi_events.auth.agency import Principal


def audit_of(request: Request) -> Audit:
    audit: Audit = request.app.state.audit
    return audit


def actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.region)


def is_centre(principal: Principal) -> bool:
    return principal.kind == "centre"
