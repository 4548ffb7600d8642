"""Run a service's Alembic migrations together with libs/events' own branch.

Each service keeps its migrations in `services/<name>/migrations` with a minimal env.py that calls
`run_env`; `upgrade(dsn, migrations_dir)` brings a database to the heads of both branches.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from yidi_events.db import make_engine

EVENTS_VERSIONS = Path(__file__).parent / "migrations" / "versions"


def config(dsn: str, migrations_dir: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    own = (migrations_dir / "versions").resolve()
    if own != EVENTS_VERSIONS.resolve():
        cfg.set_main_option("version_locations", f"{own} {EVENTS_VERSIONS.resolve()}")
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["dsn"] = dsn
    return cfg


def upgrade(dsn: str, migrations_dir: Path) -> None:
    """Migrate to the heads. Runs in a worker thread: Alembic's env drives its own event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(command.upgrade, config(dsn, migrations_dir), "heads").result()


def run_env(target_metadata: MetaData | None = None) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    dsn = context.config.attributes["dsn"]

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = make_engine(dsn, pool_size=1)
        async with engine.connect() as conn:
            await conn.run_sync(migrate)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run())
