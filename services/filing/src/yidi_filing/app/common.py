"""What every handler of the filing service shares: streams, the handler context, scoping.

Handlers write through the chassis write path (`yidi_events.application`): load, decide (pure),
append and project the read models inline, in one transaction retried when a concurrent writer
won. Write-side tables (the certificate register) are written after the append, in the same unit.
"""

from __future__ import annotations

from datetime import datetime

from yidi_events.application import WritePath
from yidi_events.auth.agency import Principal
from yidi_events.kernel import Forbidden
from yidi_events.service import Runtime
from yidi_filing.app.ports import CertificateRegister
from yidi_filing.app.settings import SettingsBook

AGENCY_KINDS = frozenset({"agency", "centre"})


def person_stream(person_id: str) -> str:
    return f"person-{person_id}"


def filing_stream(filing_id: str) -> str:
    return f"filing-{filing_id}"


def policy_stream(insured_region: str, insurance_type: str) -> str:
    return f"policy-{insured_region}-{insurance_type}"


class Context:
    """What a handler needs: the filing settings, the write path (and its clock), the certificate
    register.

    The composition root binds it to the runtime after the runtime exists, because the runtime's
    subscriptions (the audit policy) need the context first; unit tests give it a write path on
    the in-memory store instead."""

    def __init__(
        self,
        certificates: CertificateRegister,
        settings: SettingsBook | None = None,
        *,
        write: WritePath | None = None,
    ) -> None:
        self.certificates = certificates
        self.settings = settings or SettingsBook()
        self._write = write
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> Context:
        self._runtime = runtime
        self._write = runtime.write
        return self

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the filing context is not bound to a runtime yet")
        return self._runtime

    @property
    def write(self) -> WritePath:
        if self._write is None:
            raise RuntimeError("the filing context has no write path yet")
        return self._write

    def now(self) -> datetime:
        return self.write.clock.now()


def require_agency(principal: Principal) -> None:
    if principal.kind not in AGENCY_KINDS:
        raise Forbidden(
            "auth.kind",
            f"this action is for agency staff; a {principal.kind} principal may not take it",
            field="Authorization",
        )


def require_own_region(principal: Principal, region: str, *, field: str) -> None:
    """Agency staff act on their own insured region only (the provincial centre on any)."""
    require_agency(principal)
    principal.require_region(region, field=field)
