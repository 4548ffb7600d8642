"""The identity component: agency users registered through the write path, passwords hashed
with argon2 (the hash stays in the credential store, never in an event), login that hands out a
short-lived token signed with the key only this service holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yidi_events.application import Unit, WritePath
from yidi_events.auth.agency import Principal, TokenSigner, Unauthenticated
from yidi_events.kernel import Conflict, DomainError
from yidi_filing.app.ports import AccountStore
from yidi_filing.domain import accounts

HASHER = PasswordHasher()
# Verified against when the login name is unknown, so an unknown name costs what a wrong
# password costs and the answer's timing does not tell which names exist.
_DUMMY = HASHER.hash("no such user, no such password")


@dataclass(frozen=True)
class LoggedIn:
    access_token: str
    expires_in: int
    user_id: str


async def register(
    write: WritePath,
    store: AccountStore,
    registered_by: str,
    user: accounts.NewUser,
    *,
    centre_region: str,
) -> str:
    """Open an account (the hash is made here, outside the unit: argon2 is slow on purpose).
    `centre_region`: the province file's provincial centre, the region of centre users."""
    key = accounts.check_new_user(user, centre_region)
    password_hash = HASHER.hash(user.password)
    user_id = f"U{uuid.uuid4().hex}"

    async def work(unit: Unit) -> str:
        done = await write.decide(
            unit,
            f"agency-user-{key}",
            accounts.ACCOUNT,
            lambda state: accounts.decide_register(
                state, user, key=key, user_id=user_id, registered_by=registered_by
            ),
        )
        if not await store.keep(unit, done[0].payload, password_hash):
            raise Conflict(
                "identity.username_taken", f"the login name {key!r} is taken", field="username"
            )
        return user_id

    return await write.transact(work)


class Identity:
    def __init__(
        self,
        write: WritePath,
        store: AccountStore,
        signer: TokenSigner,
        ttl: timedelta,
        *,
        centre_region: str,
    ) -> None:
        self.write = write
        self.store = store
        self.signer = signer
        self.ttl = ttl
        self.centre_region = centre_region

    async def register(self, principal: Principal, user: accounts.NewUser) -> str:
        return await register(
            self.write, self.store, principal.user_id, user, centre_region=self.centre_region
        )

    async def login(self, username: str, password: str) -> LoggedIn:
        refused = Unauthenticated(
            "identity.login", "the login name or the password is wrong", field="password"
        )
        try:
            key = accounts.username_key(username)
        except DomainError:
            raise refused from None
        stored = await self.store.by_username(key)
        try:
            HASHER.verify(stored.password_hash if stored else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        if stored is None:
            raise refused
        # Expiry is real time (what every verifier checks), not the simulated business clock.
        token = self.signer.issue(
            user_id=stored.user_id,
            name=stored.username,
            region=stored.region,
            roles=stored.roles,
            kind=stored.kind,
            ttl=self.ttl,
        )
        return LoggedIn(token, int(self.ttl.total_seconds()), stored.user_id)
