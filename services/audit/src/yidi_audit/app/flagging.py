"""Recording what the rules raise: each flag once (by fingerprint), then into a case or the 协查 pool.

Runs in a unit over the consumer's transaction for the fact that raised the flags, so the fact, the
flags and the case events commit together or not at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_audit.adapters.history import pool_add
from yidi_audit.adapters.tables import cases, flag_keys
from yidi_audit.app.context import Audit
from yidi_audit.domain import cases as case_domain
from yidi_audit.domain.events import InvestigationItem
from yidi_audit.domain.facts import SettledVisit
from yidi_audit.domain.flags import Flag
from yidi_audit.domain.rules_billing import HIGH_COST
from yidi_events.application import Unit


def flag_stream(flag_id: str) -> str:
    return f"flag-{flag_id}"


def case_stream(case_id: str) -> str:
    return f"case-{case_id}"


def investigation_item(visit: SettledVisit) -> InvestigationItem:
    return InvestigationItem(
        settlement_id=visit.settlement_id,
        visit_id=visit.visit_id,
        person_id=visit.person_id,
        institution_code=visit.institution_code,
        visit_region=visit.visit_region,
        insured_region=visit.insured_region,
        admitted_on=visit.admitted_on,
        discharged_on=visit.discharged_on,
        settled_on=visit.settled_on,
        total_fee=visit.total_fee,
    )


async def _claim(conn: AsyncConnection, flag_id: str) -> bool:
    """The unique key, not a lookup, decides whether this flag is new."""
    claimed = await conn.execute(
        insert(flag_keys)
        .values(flag_id=flag_id)
        .on_conflict_do_nothing()
        .returning(flag_keys.c.flag_id)
    )
    return claimed.first() is not None


async def _take_into_case(audit: Audit, unit: Unit, flag: Flag) -> None:
    open_case = (
        await unit.conn.execute(
            sa.select(cases.c.case_id).where(
                cases.c.person_id == flag.person_id,
                cases.c.rule_id == flag.rule_id,
                cases.c.status == case_domain.CaseStatus.OPEN.value,
            )
        )
    ).scalar_one_or_none()
    # A new case's id derives from the flag that opened it, so a replay names it the same.
    case_id = open_case or flag.flag_id[:24]
    await audit.write.decide(
        unit,
        case_stream(case_id),
        case_domain.CASE,
        lambda state: case_domain.decide_take_flag(state, flag, case_id, audit.today()),
    )


async def record(
    audit: Audit, unit: Unit, raised: list[Flag], new_visit: SettledVisit | None
) -> int:
    """Append each new flag and route it; returns how many were new."""
    recorded = 0
    for flag in raised:
        if not await _claim(unit.conn, flag.flag_id):
            continue
        recorded += 1
        await audit.write.append(unit, flag_stream(flag.flag_id), 0, [flag.to_event()])
        if flag.rule_id == HIGH_COST.rule_id:
            # Routine follow-up, not a suspicion: it waits for the next 协查 batch.
            if new_visit is not None:
                await pool_add(unit.conn, investigation_item(new_visit))
            continue
        await _take_into_case(audit, unit, flag)
    return recorded
