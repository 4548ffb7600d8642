"""The identity store on PostgreSQL: `agency_users` (see `adapters/tables.py`)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.application import Unit
from yidi_filing.adapters.tables import agency_users
from yidi_filing.app.ports import StoredUser
from yidi_filing.domain.events import AgencyUserRegistered


class PostgresAccounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def keep(self, unit: Unit, user: AgencyUserRegistered, password_hash: str) -> bool:
        kept = await unit.conn.scalar(
            insert(agency_users)
            .values(
                user_id=user.user_id,
                username=user.username,
                display_name=user.display_name,
                region=user.region,
                kind=user.kind,
                roles=list(user.roles),
                password_hash=password_hash,
            )
            .on_conflict_do_nothing()
            .returning(agency_users.c.user_id)
        )
        return kept is not None

    async def by_username(self, key: str) -> StoredUser | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(agency_users.select().where(agency_users.c.username == key))
            ).first()
        if row is None:
            return None
        return StoredUser(
            user_id=row.user_id,
            username=row.username,
            region=row.region,
            kind=row.kind,
            roles=tuple(row.roles),
            password_hash=row.password_hash,
        )
