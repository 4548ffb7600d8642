"""Shared pieces of the routers: the audit context, the read models' engine, the acting agency."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_audit.app.context import Audit
from yidi_audit.domain.guards import Actor
from yidi_events.auth.agency import Principal
from yidi_events.service import Runtime


def audit_of(request: Request) -> Audit:
    audit: Audit = request.app.state.audit
    return audit


def read_engine(request: Request) -> AsyncEngine:
    """The engine the read endpoints query the read models through."""
    runtime: Runtime = request.app.state.runtime
    return runtime.engine


def actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.region)


def is_centre(principal: Principal) -> bool:
    return principal.kind == "centre"
