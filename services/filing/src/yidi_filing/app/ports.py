"""What the handlers need besides the write path, as ports: PostgreSQL adapters in `adapters/`,
trivial fakes in the unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from yidi_events.application import Unit
from yidi_events.contracts.filing import PersonEnrolledV1
from yidi_filing.domain.events import AgencyUserRegistered


class CertificateRegister(Protocol):
    """One person, one number (seed 004): the certificate numbers held by enrolled persons. It
    spans persons, so no aggregate can keep it; the register writes in the handler's unit, after
    the append, and a refused command leaves it as it was."""

    async def claim(self, unit: Unit, enrolled: Sequence[PersonEnrolledV1]) -> set[str]:
        """Claims each enrolment's number; returns the persons whose claim landed (a number
        someone already holds stays theirs)."""
        ...

    async def release(self, unit: Unit, person_id: str) -> None:
        """A terminated enrolment gives its number back, so the person can be enrolled again."""
        ...


@dataclass(frozen=True)
class StoredUser:
    user_id: str
    username: str
    region: str
    kind: str
    roles: tuple[str, ...]
    password_hash: str


class AccountStore(Protocol):
    """The identity store's credentials: kept in the registering unit, after the append (the
    login name's key is unique there too), read at login."""

    async def keep(self, unit: Unit, user: AgencyUserRegistered, password_hash: str) -> bool:
        """Keeps the account; False when its id or login name is already held."""
        ...

    async def by_username(self, key: str) -> StoredUser | None: ...
