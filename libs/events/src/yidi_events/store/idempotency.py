"""Idempotent commands: a key (the HIS message id per institution, or an API idempotency key) maps to
the hash of the request that used it and the response that was given.

Flow: `lookup` before doing anything (a repeat returns the stored response; a different body under
the same key is refused), then do the work and `record` in the same transaction. Two concurrent
first attempts both get past `lookup`; the primary key lets exactly one `record`, the other
transaction fails with IdempotencyConflict, rolls back, and its caller looks up again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.store.schema import idempotency


class IdempotencyConflict(Exception):
    """The key was recorded concurrently by another transaction."""


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    response: dict[str, Any]


def request_hash(request: Any) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


# Built once (every HIS request runs both): only the values are bound per call.
_LOOKUP = sa.select(idempotency.c.request_hash, idempotency.c.response).where(
    idempotency.c.scope == sa.bindparam("scope"), idempotency.c.key == sa.bindparam("key")
)
_RECORD = idempotency.insert()


@dataclass
class Keeping:
    """An answer to keep under its key. The write that must commit with it (a request's nonce
    claim) may keep it in its own statement, one round trip less (`insert_if`, then `kept`);
    what no such write kept, the unit keeps after (`IdempotencyStore.record`)."""

    scope: str
    key: str
    request_hash: str
    response: dict[str, Any]
    kept: bool = False

    def insert_if(self, written: sa.CTE) -> sa.Insert:
        """The answer's row, inserted only if `written` (a data-modifying CTE of the same
        statement) returned a row. A concurrent first attempt that kept the key first makes the
        statement fail on the primary key: raise `IdempotencyConflict` from it (`conflict`)."""
        values = sa.select(
            sa.literal(self.scope, idempotency.c.scope.type),
            sa.literal(self.key, idempotency.c.key.type),
            sa.literal(self.request_hash, idempotency.c.request_hash.type),
            sa.literal(self.response, idempotency.c.response.type),
        ).where(sa.exists(sa.select(written)))
        return idempotency.insert().from_select(
            ["scope", "key", "request_hash", "response"], values
        )

    def conflict(self) -> IdempotencyConflict:
        return IdempotencyConflict(f"{self.scope}/{self.key}")


class IdempotencyStore:
    async def lookup(self, conn: AsyncConnection, scope: str, key: str) -> StoredResponse | None:
        row = (await conn.execute(_LOOKUP, {"scope": scope, "key": key})).first()
        return StoredResponse(row.request_hash, row.response) if row else None

    async def record(
        self,
        conn: AsyncConnection,
        scope: str,
        key: str,
        hash_: str,
        response: dict[str, Any],
    ) -> None:
        try:
            await conn.execute(
                _RECORD,
                {"scope": scope, "key": key, "request_hash": hash_, "response": response},
            )
        except IntegrityError as exc:
            raise IdempotencyConflict(f"{scope}/{key}") from exc
