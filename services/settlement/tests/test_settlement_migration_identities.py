"""Migration settlement_0007 on a database from before it: identities move, unchanged, from
`persons` to `person_identities`, and `persons` keeps no identity column."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from yidi_events.db import make_engine
from yidi_settlement import bootstrap

PERSON = (
    "INSERT INTO persons (person_id, insured_region, insurance_type, person_category,"
    " civil_servant, assistance_identities, account_balance, enrolment_status, name,"
    " certificate_type, certificate_no, gender, birth_date, card_serial) VALUES"
    " ('P1', '320500', '310', '1101', false, '[]', 0, 'active', '张三', '01',"
    " '320500198005170032', '1', '1980-05-17', 'S1')"
)


def _migration() -> Any:
    path = bootstrap.MIGRATIONS / "versions" / "s0007_person_identities.py"
    spec = importlib.util.spec_from_file_location("settlement_0007", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _upgrade_an_older_database(conn: sa.Connection) -> None:
    migration = _migration()
    migration.op = Operations(MigrationContext.configure(conn))
    migration.downgrade()  # the tables as they were before 0007 (0001 creates today's)
    conn.execute(sa.text(PERSON))
    migration.upgrade()
    moved = conn.execute(
        sa.text(
            "SELECT person_id, name, certificate_no, birth_date::text, card_serial FROM person_identities"
        )
    ).all()
    assert moved == [("P1", "张三", "320500198005170032", "1980-05-17", "S1")]
    columns = conn.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'persons'"
        )
    ).scalars()
    assert not {
        "name",
        "certificate_type",
        "certificate_no",
        "gender",
        "birth_date",
        "card_serial",
    } & set(columns)
    assert conn.execute(sa.text("SELECT account_balance FROM persons")).scalar_one() == 0


async def test_0007_moves_identities_out_of_persons(database: Callable[..., str]) -> None:
    engine = make_engine(database(bootstrap.MIGRATIONS))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_an_older_database)
    finally:
        await engine.dispose()
