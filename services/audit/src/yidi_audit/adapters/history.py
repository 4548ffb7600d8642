"""A person's audit history in PostgreSQL: the facts the rules reason over, stored as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters.tables import death_facts, fee_lines, investigation_pool, visit_facts
from yidi_audit.domain.events import InvestigationItem
from yidi_audit.domain.facts import CancelledSettlement, Fact, FeeLine, PersonDeath, SettledVisit
from yidi_events.db import any_of

_visit = TypeAdapter(SettledVisit)
_cancel = TypeAdapter(CancelledSettlement)
_death = TypeAdapter(PersonDeath)
_line = TypeAdapter(FeeLine)
_item = TypeAdapter(InvestigationItem)


def _json(adapter: TypeAdapter[Any], value: Any) -> Any:
    return adapter.dump_python(value, mode="json")


async def load_history(conn: AsyncConnection, person_id: str) -> list[Fact]:
    history: list[Fact] = []
    rows = await conn.execute(
        sa.select(visit_facts.c.kind, visit_facts.c.fact)
        .where(visit_facts.c.person_id == person_id)
        .order_by(visit_facts.c.event_id)
    )
    for kind, fact in rows.all():
        history.append(
            _visit.validate_python(fact) if kind == "settled" else _cancel.validate_python(fact)
        )
    deaths = await conn.execute(
        sa.select(death_facts.c.fact)
        .where(death_facts.c.person_id == person_id)
        .order_by(death_facts.c.event_id)
    )
    history.extend(_death.validate_python(f) for f in deaths.scalars())
    return history


async def load_histories(
    conn: AsyncConnection, person_ids: Sequence[str]
) -> dict[str, tuple[list[Fact], list[Fact]]]:
    """`load_history` of many persons in two reads: per person its visit facts and its deaths,
    each in event order (the history is the one followed by the other)."""
    found: dict[str, tuple[list[Fact], list[Fact]]] = {p: ([], []) for p in person_ids}
    ids = list(found)
    rows = await conn.execute(
        sa.select(visit_facts.c.person_id, visit_facts.c.kind, visit_facts.c.fact)
        .where(any_of(visit_facts.c.person_id, ids))
        .order_by(visit_facts.c.event_id)
    )
    for person_id, kind, fact in rows.all():
        found[person_id][0].append(
            _visit.validate_python(fact) if kind == "settled" else _cancel.validate_python(fact)
        )
    deaths = await conn.execute(
        sa.select(death_facts.c.person_id, death_facts.c.fact)
        .where(any_of(death_facts.c.person_id, ids))
        .order_by(death_facts.c.event_id)
    )
    for person_id, fact in deaths.all():
        found[person_id][1].append(_death.validate_python(fact))
    return found


async def add_visits(conn: AsyncConnection, facts: Sequence[SettledVisit]) -> set[str]:
    """`add_fact` of many settled visits in one insert; the event ids stored now."""
    if not facts:
        return set()
    done = await conn.execute(
        insert(visit_facts).on_conflict_do_nothing().returning(visit_facts.c.event_id),
        [
            {
                "event_id": f.event_id,
                "person_id": f.person_id,
                "kind": "settled",
                "settlement_id": f.settlement_id,
                "fact": _json(_visit, f),
            }
            for f in facts
        ],
    )
    return set(done.scalars())


async def add_deaths(conn: AsyncConnection, facts: Sequence[PersonDeath]) -> set[str]:
    """`add_fact` of many deaths in one insert; the event ids stored now."""
    if not facts:
        return set()
    done = await conn.execute(
        insert(death_facts).on_conflict_do_nothing().returning(death_facts.c.event_id),
        [
            {"event_id": f.event_id, "person_id": f.person_id, "fact": _json(_death, f)}
            for f in facts
        ],
    )
    return set(done.scalars())


async def visits_fee_lines(
    conn: AsyncConnection, visit_ids: Sequence[str]
) -> dict[str, tuple[FeeLine, ...]]:
    """`visit_fee_lines` of many visits in one read."""
    rows = await conn.execute(
        sa.select(fee_lines.c.visit_id, fee_lines.c.line)
        .where(any_of(fee_lines.c.visit_id, visit_ids))
        .order_by(fee_lines.c.visit_id, fee_lines.c.fee_line_no)
    )
    found: dict[str, list[FeeLine]] = {}
    for visit_id, line in rows.all():
        found.setdefault(visit_id, []).append(_line.validate_python(line))
    return {v: tuple(lines) for v, lines in found.items()}


async def clear_visits_fee_lines(conn: AsyncConnection, visit_ids: Sequence[str]) -> None:
    await conn.execute(fee_lines.delete().where(any_of(fee_lines.c.visit_id, visit_ids)))


async def add_fact(conn: AsyncConnection, fact: Fact) -> bool:
    """Store a fact once; False when this event was already in the history (a redelivery)."""
    if isinstance(fact, PersonDeath):
        stmt = insert(death_facts).values(
            event_id=fact.event_id, person_id=fact.person_id, fact=_json(_death, fact)
        )
        table = death_facts
    else:
        is_visit = isinstance(fact, SettledVisit)
        stmt = insert(visit_facts).values(
            event_id=fact.event_id,
            person_id=fact.person_id,
            kind="settled" if is_visit else "cancelled",
            settlement_id=fact.settlement_id,
            fact=_json(_visit, fact) if is_visit else _json(_cancel, fact),
        )
        table = visit_facts
    done = await conn.execute(stmt.on_conflict_do_nothing().returning(table.c.event_id))
    return done.first() is not None


async def settlement_fact(
    conn: AsyncConnection, settlement_id: str
) -> tuple[SettledVisit | None, bool]:
    """The settlement as audit holds it (with its fee lines), and whether it was cancelled."""
    rows = await conn.execute(
        sa.select(visit_facts.c.kind, visit_facts.c.fact)
        .where(visit_facts.c.settlement_id == settlement_id)
        .order_by(visit_facts.c.event_id)
    )
    found: SettledVisit | None = None
    cancelled = False
    for kind, fact in rows.all():
        if kind == "settled":
            found = _visit.validate_python(fact)
        else:
            cancelled = True
    return found, cancelled


async def put_fee_lines(
    conn: AsyncConnection, visit_id: str, person_id: str, lines: list[FeeLine]
) -> None:
    for line in lines:
        stmt = insert(fee_lines).values(
            visit_id=visit_id,
            fee_line_no=line.fee_line_no,
            person_id=person_id,
            line=_json(_line, line),
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["visit_id", "fee_line_no"], set_={"line": stmt.excluded.line}
            )
        )


async def drop_fee_lines(conn: AsyncConnection, visit_id: str, numbers: tuple[str, ...]) -> None:
    await conn.execute(
        fee_lines.delete().where(
            fee_lines.c.visit_id == visit_id, fee_lines.c.fee_line_no.in_(numbers)
        )
    )


async def clear_fee_lines(conn: AsyncConnection, visit_id: str) -> None:
    await conn.execute(fee_lines.delete().where(fee_lines.c.visit_id == visit_id))


async def visit_fee_lines(conn: AsyncConnection, visit_id: str) -> tuple[FeeLine, ...]:
    rows = await conn.execute(
        sa.select(fee_lines.c.line)
        .where(fee_lines.c.visit_id == visit_id)
        .order_by(fee_lines.c.fee_line_no)
    )
    return tuple(_line.validate_python(r) for r in rows.scalars())


async def pool_add(conn: AsyncConnection, item: InvestigationItem) -> None:
    await conn.execute(
        insert(investigation_pool)
        .values(
            settlement_id=item.settlement_id, settled_on=item.settled_on, item=_json(_item, item)
        )
        .on_conflict_do_nothing()
    )


async def pool_cancel(conn: AsyncConnection, settlement_id: str) -> None:
    await conn.execute(
        investigation_pool.update()
        .where(investigation_pool.c.settlement_id == settlement_id)
        .values(cancelled=True)
    )


async def reinstate(conn: AsyncConnection, settlement_id: str) -> None:
    """A 2601 undid the settlement's cancellation: it is evidence again, and a candidate for
    investigation again."""
    await conn.execute(
        visit_facts.delete().where(
            visit_facts.c.settlement_id == settlement_id, visit_facts.c.kind == "cancelled"
        )
    )
    await conn.execute(
        investigation_pool.update()
        .where(investigation_pool.c.settlement_id == settlement_id)
        .values(cancelled=False)
    )


async def pool_candidates(
    conn: AsyncConnection, first: date, last: date
) -> list[InvestigationItem]:
    """Live (not cancelled) high-cost admissions settled from `first` to `last` inclusive."""
    rows = await conn.execute(
        sa.select(investigation_pool.c.item).where(
            investigation_pool.c.cancelled.is_(False),
            investigation_pool.c.settled_on.between(first, last),
        )
    )
    return [_item.validate_python(r) for r in rows.scalars()]
