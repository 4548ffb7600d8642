"""Bring one service's database to the heads of its migrations (and libs/events' own branch).

    python deploy/migrate.py <service> [--wait SECONDS]          # migrate
    python deploy/migrate.py <service> --check [--wait SECONDS]  # wait until migrated

The database is `YIDI_DATABASE_URL`, read through `ServiceSettings` exactly as the service reads
it. Used by the Kubernetes migration Jobs and the compose `migrate-<service>` one-shots; the images
ship this file as /opt/yidi/migrate.py. It adds nothing to the services: it imports their
`bootstrap.MIGRATIONS` and calls `yidi_events.migrate.upgrade`, as the embedded stack does.

- Waits (up to `--wait` seconds) for the database to accept connections, so a Job or one-shot that
  starts before PostgreSQL is ready retries instead of failing.
- Holds a session advisory lock for the run, so two migrators started at once (a re-run Job, a
  rollout racing a manual run) migrate one after the other instead of together.
- `--check` changes nothing: it waits until the database is at (or past) this image's heads, then
  exits 0 (exit 1 when `--wait` runs out). The Deployments run it as an init container, so a pod of
  a new version starts only once the migration Job has brought the schema up to it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yidi_events import migrate
from yidi_events.db import make_engine
from yidi_events.registry import SERVICES
from yidi_events.settings import ServiceSettings


def migrations_dir(service: str) -> Path:
    bootstrap = importlib.import_module(f"yidi_{service}.bootstrap")
    path = Path(bootstrap.MIGRATIONS)
    if not (path / "env.py").is_file():
        raise SystemExit(f"no Alembic environment at {path} (MIGRATIONS of yidi_{service})")
    return path


def script(dsn: str, service: str) -> ScriptDirectory:
    """The service's branch and libs/events' branch, as this installation has them."""
    return ScriptDirectory.from_config(migrate.config(dsn, migrations_dir(service)))


def up_to_date(have: set[str], scripts: ScriptDirectory) -> bool:
    """At this image's heads, or ahead of them: a revision this image does not know was written by
    a newer version. Old pods then keep starting during a rollout, which is right only while
    migrations stay backward compatible (expand first, contract a release later; docs/deploy.md)."""
    known = {r.revision for r in scripts.walk_revisions()}
    return have == set(scripts.get_heads()) or bool(have - known)


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


@asynccontextmanager
async def connected(engine: AsyncEngine, deadline: float) -> AsyncIterator[AsyncConnection]:
    """A connection, retried until `deadline` while the database cannot be reached."""
    while True:
        try:
            conn = await engine.connect()
            break
        except (OSError, DBAPIError) as exc:
            if time.monotonic() >= deadline:
                raise
            print(f"waiting for the database: {exc.__class__.__name__}", file=sys.stderr)
            await asyncio.sleep(2)
    try:
        yield conn
    finally:
        await conn.close()


async def check(service: str, dsn: str, wait: float) -> bool:
    """Wait until the database is at (or past) this image's heads; True when it is."""
    scripts = script(dsn, service)
    engine = make_engine(dsn, pool_size=1)
    deadline = time.monotonic() + wait
    try:
        while True:
            async with connected(engine, deadline) as conn:
                have = await conn.run_sync(_current_heads)
            if up_to_date(have, scripts):
                return True
            if time.monotonic() >= deadline:
                want = sorted(scripts.get_heads())
                print(f"{service}: at {sorted(have)}, expected {want}", file=sys.stderr)
                return False
            print(f"{service}: waiting for migrations ({sorted(have)})", file=sys.stderr)
            await asyncio.sleep(3)
    finally:
        await engine.dispose()


async def upgrade(service: str, dsn: str, wait: float) -> None:
    lock_key = zlib.crc32(f"yidi-migrate:{service}".encode())
    engine = make_engine(dsn, pool_size=1)
    deadline = time.monotonic() + wait
    try:
        async with connected(engine, deadline) as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
            await conn.commit()
            try:
                await asyncio.to_thread(migrate.upgrade, dsn, migrations_dir(service))
            finally:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
                await conn.commit()
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; wait until the schema is at heads"
    )
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for the database (default 120)"
    )
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if args.check:
        return 0 if asyncio.run(check(args.service, settings.database_url, args.wait)) else 1
    asyncio.run(upgrade(args.service, settings.database_url, args.wait))
    print(f"{args.service}: migrated to heads", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
