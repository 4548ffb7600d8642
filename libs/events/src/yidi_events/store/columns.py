"""An INSERT of many rows as one statement (`ColumnsInsert`): the event store's appends, the
consumers' bookkeeping and the projections' batch handlers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import TableValuedAlias


class ColumnsInsert:
    """An INSERT of many rows as ONE statement: each column bound as one array and the rows
    unnested on the server, `INSERT INTO t (a, b) SELECT ... FROM unnest($1::text[], $2::int[])`.

    A list of rows given to `execute` goes through the driver's executemany, which runs the
    statement once per row; a consumer's batch or a rebuild's page then costs a statement per row
    per table. This is one, about twice as fast per row on PostgreSQL, whatever the batch's size.
    JSON columns are bound as text and cast back on the server (a JSON value is serialised once,
    here, as the engine would); an array column does not unnest row-wise and is not supported.

    The table is named as the projections' handlers name theirs (unqualified), so a rebuild's
    `search_path` sends it to the shadow copy."""

    def __init__(
        self,
        table: sa.Table,
        columns: Iterable[str],
        *,
        conflict: Iterable[str] = (),
        update: Iterable[str] = (),
        nothing: bool = False,
    ) -> None:
        self.columns = list(columns)
        self.json = [isinstance(table.c[name].type, sa.JSON) for name in self.columns]
        rows = unnested(table, self.columns, self.json).render_derived()
        values = [
            sa.cast(rows.c[name], table.c[name].type) if json else rows.c[name]
            for name, json in zip(self.columns, self.json, strict=True)
        ]
        stmt = insert(table).from_select(self.columns, sa.select(*values))
        changes = {name: stmt.excluded[name] for name in update}
        if changes:
            stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=changes)
        elif nothing:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict) or None)
        self.statement = stmt

    async def execute(self, conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert `rows` (each holding every column named); an upsert must not name a key twice."""
        arrays = bound_arrays(self.columns, self.json, rows)
        if arrays is not None:
            await conn.execute(self.statement, arrays)


def unnested(table: sa.Table, columns: Sequence[str], json: Sequence[bool]) -> TableValuedAlias:
    """`unnest($c0::t0[], $c1::t1[], ...)` named by `columns`: rows bound as one array a column,
    a JSON column's as text (cast back by the statement that reads it)."""
    return sa.func.unnest(
        *(
            sa.cast(sa.bindparam(f"c{i}"), ARRAY(sa.Text if is_json else table.c[name].type))
            for i, (name, is_json) in enumerate(zip(columns, json, strict=True))
        )
    ).table_valued(*columns)


def bound_arrays(
    columns: Sequence[str], json: Sequence[bool], rows: Iterable[Mapping[str, Any]]
) -> dict[str, list[Any]] | None:
    """The parameters of `unnested`: each column's values as one list, JSON serialised once,
    here, as the engine would; None for no rows."""
    arrays: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for values, name, is_json in zip(arrays, columns, json, strict=True):
            value = row[name]
            values.append(orjson.dumps(value).decode() if is_json and value is not None else value)
    if not arrays or not arrays[0]:
        return None
    return {f"c{i}": a for i, a in enumerate(arrays)}
