"""A run of facts folded into one table's rows in memory, written with a few multi-row statements.

A projection's batch handler states, fact by fact and in stream order, what each fact does to a
row keyed by the table's primary key (replace it, change some columns of it if it is there, append
to a JSON list of it); `RowFold` keeps only the net effect per key and `write` leaves the table as
the statements one by one would have, whatever stood in it before the run:

- changes made to a key before the run first upserts it apply only if the row was already there:
  one UPDATE ... FROM unnest per set of columns changed;
- from the first upsert on, the row the run would insert is known in full (what the upsert gave,
  then every later change), and the upsert sets those columns when the row was there: one
  INSERT ... ON CONFLICT DO UPDATE per set of columns (`ColumnsInsert`), columns left out keeping
  their server default on insert and their stored value on conflict, as a one-row upsert does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.store.columns import ColumnsInsert, bound_arrays, unnested

Key = tuple[Any, ...]


@dataclass
class _Pending:
    changed: dict[str, Any] = field(default_factory=dict)  # on the stored row, before any upsert
    appended: dict[str, list[Any]] = field(default_factory=dict)  # idem, to JSON lists
    created: dict[str, Any] | None = None  # the row from the first upsert on


class RowFold:
    """The net effect of a run on one table's rows, keyed by its primary key (see the module)."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.keys = [c.name for c in table.primary_key.columns]
        self._rows: dict[Key, _Pending] = {}

    def _key(self, row: Mapping[str, Any]) -> Key:
        return tuple(row[k] for k in self.keys)

    def _pending(self, key: Key) -> _Pending:
        pending = self._rows.get(key)
        if pending is None:
            pending = self._rows[key] = _Pending()
        return pending

    def upsert(self, row: Mapping[str, Any]) -> None:
        """The row replaced or inserted, as `projection.upsert` does (only its columns)."""
        pending = self._pending(self._key(row))
        if pending.created is None:
            pending.created = dict(row)
        else:
            pending.created.update(row)

    def update(self, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Columns of the row at `key` changed if it is there (an UPDATE ... WHERE key)."""
        pending = self._pending(self._key(key))
        if pending.created is not None:
            pending.created.update(values)
            return
        for name, value in values.items():
            pending.changed[name] = value
            pending.appended.pop(name, None)  # set after the appends: they are gone

    def append(self, key: Mapping[str, Any], column: str, value: Any) -> None:
        """`value` appended to the JSON list in `column` of the row at `key`, if it is there."""
        pending = self._pending(self._key(key))
        if pending.created is not None:
            if column not in pending.created:
                raise ValueError(f"{self.table.name}.{column}: appended to a column not upserted")
            pending.created[column] = [*pending.created[column], value]
        elif column in pending.changed:
            pending.changed[column] = [*pending.changed[column], value]
        else:
            pending.appended.setdefault(column, []).append(value)

    def __len__(self) -> int:
        return len(self._rows)

    async def write(self, conn: AsyncConnection) -> None:
        """The run's net effect: changes to rows it found first, then its upserts."""
        updates: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
        upserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, pending in self._rows.items():
            if pending.changed or pending.appended:
                shape = (tuple(sorted(pending.changed)), tuple(sorted(pending.appended)))
                updates.setdefault(shape, []).append(
                    {
                        **dict(zip(self.keys, key, strict=True)),
                        **pending.changed,
                        **pending.appended,
                    }
                )
            if pending.created is not None:
                upserts.setdefault(tuple(sorted(pending.created)), []).append(pending.created)
        for (changed, appended), rows in updates.items():
            await _update(self.table, self.keys, changed, appended).execute(conn, rows)
        for columns, rows in upserts.items():
            await _upsert(self.table, self.keys, columns).execute(conn, rows)
        self._rows.clear()


class NewRows:
    """Rows inserted once: the first fact of a key stands (INSERT ... ON CONFLICT DO NOTHING)."""

    def __init__(self, table: sa.Table, columns: Sequence[str]) -> None:
        self.keys = [c.name for c in table.primary_key.columns]
        self._insert = ColumnsInsert(table, columns, conflict=self.keys, nothing=True)
        self._rows: dict[Key, Mapping[str, Any]] = {}

    def insert(self, row: Mapping[str, Any]) -> None:
        self._rows.setdefault(tuple(row[k] for k in self.keys), row)

    async def write(self, conn: AsyncConnection) -> None:
        await self._insert.execute(conn, self._rows.values())
        self._rows.clear()


# Statements are built once per table and shape: a run of one costs what the handler's one
# statement cost, not a compile.
_UPSERTS: dict[tuple[sa.Table, tuple[str, ...]], ColumnsInsert] = {}
_UPDATES: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...]], _ColumnsUpdate] = {}


def _upsert(table: sa.Table, keys: Sequence[str], columns: tuple[str, ...]) -> ColumnsInsert:
    stmt = _UPSERTS.get((table, columns))
    if stmt is None:
        update = [c for c in columns if c not in keys]
        stmt = _UPSERTS[(table, columns)] = ColumnsInsert(
            table, columns, conflict=keys, update=update, nothing=not update
        )
    return stmt


def _update(
    table: sa.Table, keys: Sequence[str], changed: tuple[str, ...], appended: tuple[str, ...]
) -> _ColumnsUpdate:
    stmt = _UPDATES.get((table, changed, appended))
    if stmt is None:
        stmt = _UPDATES[(table, changed, appended)] = _ColumnsUpdate(table, keys, changed, appended)
    return stmt


class _ColumnsUpdate:
    """`UPDATE t SET c = v.c, a = t.a || v.a FROM unnest(...) AS v WHERE t.key = v.key`: many
    rows' changes in one statement, each column bound as one array (as `ColumnsInsert`)."""

    def __init__(
        self,
        table: sa.Table,
        keys: Sequence[str],
        changed: Sequence[str],
        appended: Sequence[str],
    ) -> None:
        self.columns = [*keys, *changed, *appended]
        self.json = [
            name in appended or isinstance(table.c[name].type, sa.JSON) for name in self.columns
        ]
        rows = unnested(table, self.columns, self.json).render_derived(name="v")
        values: dict[str, Any] = {}
        for name in changed:
            column = rows.c[name]
            values[name] = (
                sa.cast(column, table.c[name].type)
                if self.json[self.columns.index(name)]
                else column
            )
        for name in appended:
            values[name] = table.c[name].op("||")(sa.cast(rows.c[name], JSONB))
        self.statement = (
            table.update().where(*(table.c[k] == rows.c[k] for k in keys)).values(values)
        )

    async def execute(self, conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
        arrays = bound_arrays(self.columns, self.json, rows)
        if arrays is not None:
            await conn.execute(self.statement, arrays)
