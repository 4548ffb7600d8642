"""A fresh, migrated database of one service on the bench's embedded PostgreSQL.

The generated-data benchmarks load millions of rows; they do it in a database of their own (same
server, same migrations as the service) so the live services of the settlement bench keep their
state, and a part can be run alone or again without cleaning up.
"""

from __future__ import annotations

from yidi_stack.platform import Platform


def fresh_database(platform: Platform, service: str, name: str) -> str:
    """Drop and create database `name`, migrate it as `service`'s, return its DSN."""
    platform.pg.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    platform.pg.psql(f'CREATE DATABASE "{name}"')
    dsn = platform.pg.dsn_for(name)
    platform.migrate(service, dsn)
    return dsn
