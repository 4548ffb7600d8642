"""Build beside, then swap: how a projection is rebuilt while the service keeps serving.

A rebuild writes into empty copies of the projection's tables, kept in a schema of their own
(`rebuild_<projection>`). Its transactions put that schema first on their `search_path`, so the
projection's very handlers (which name their tables unqualified) write the copies, while
everything else they touch (the event store, other tables) stays the live one. The live tables
are untouched until the swap: one short transaction that locks them against writers (readers go on
reading the old rows), applies what was committed since the build read, and replaces the live
rows with the copies'. Copying rows, not renaming tables, keeps the live tables' names, indexes,
grants and the migrations' view of them exactly as they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass
class Shadow:
    projection: str
    tables: Sequence[sa.Table]
    scoped: Sequence[sa.Table] = ()
    """Tables shared with others (a consumer's bookkeeping) whose rows of `consumer` alone the
    swap replaces."""
    consumer: str = ""
    schema: str = field(init=False)
    _live: dict[str, str] = field(init=False, default_factory=dict)
    _path: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.schema = "rebuild_" + re.sub(r"[^a-z0-9_]", "_", self.projection.lower())

    def _all(self) -> list[sa.Table]:
        return [*self.tables, *self.scoped]

    def _copy(self, table: sa.Table) -> str:
        return f'"{self.schema}"."{table.name}"'

    async def create(self, conn: AsyncConnection) -> None:
        """Empty copies of the tables (columns, defaults, constraints, indexes) in a fresh schema.
        A schema left by a rebuild that died is dropped first: it never held anything live."""
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        await conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        for table in self._all():
            live = await conn.scalar(
                sa.text(
                    "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.oid = to_regclass(:name)"
                ),
                {"name": table.name},
            )
            if live is None:
                raise LookupError(f"{self.projection}: no table {table.name} to rebuild")
            self._live[table.name] = str(live)
            await conn.execute(
                sa.text(f"CREATE TABLE {self._copy(table)} (LIKE {live} INCLUDING ALL)")
            )
        self._path = str(await conn.scalar(sa.text("SELECT current_setting('search_path')")))

    async def enter(self, conn: AsyncConnection) -> None:
        """Make this transaction's unqualified table names mean the copies."""
        await conn.execute(
            sa.select(sa.func.set_config("search_path", f'"{self.schema}", {self._path}', True))
        )

    async def lock_live(self, conn: AsyncConnection) -> None:
        """Hold off every writer of the live tables until the swap commits. EXCLUSIVE admits
        plain reads: queries keep answering from the old rows meanwhile."""
        names = ", ".join(self._live[t.name] for t in self._all())
        await conn.execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))

    async def swap(self, conn: AsyncConnection) -> None:
        """Replace the live rows with the copies' (the caller holds `lock_live`)."""
        for table in self._all():
            live = self._live[table.name]
            columns = await self._insertable(conn, live)
            where = ""
            params: dict[str, str] = {}
            if table in self.scoped:
                where, params = " WHERE consumer = :consumer", {"consumer": self.consumer}
            await conn.execute(sa.text(f"DELETE FROM {live}{where}"), params)
            await conn.execute(
                sa.text(
                    f"INSERT INTO {live} ({columns}) OVERRIDING SYSTEM VALUE"
                    f" SELECT {columns} FROM {self._copy(table)}"
                )
            )

    async def drop(self, conn: AsyncConnection) -> None:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    @staticmethod
    async def _insertable(conn: AsyncConnection, live: str) -> str:
        # Generated columns compute themselves; every other column is copied as it is.
        names = await conn.scalars(
            sa.text(
                "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = to_regclass(:t)"
                " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
            ),
            {"t": live},
        )
        return ", ".join(names)
