"""The physical limit for "an HTTP request with a durable write" here: a trivial FastAPI endpoint
on the same uvicorn setup and the same SQLAlchemy engine as the services, doing one INSERT."""

from __future__ import annotations

import os

import sqlalchemy as sa
from fastapi import FastAPI

from yidi_events.db import make_engine

metadata = sa.MetaData()
ceiling = sa.Table(
    "bench_ceiling",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)


def create() -> FastAPI:
    engine = make_engine(
        os.environ["YIDI_DATABASE_URL"], pool_size=int(os.environ.get("YIDI_DB_POOL_SIZE", "20"))
    )
    app = FastAPI()

    @app.post("/insert")
    async def insert() -> dict[str, int]:
        async with engine.begin() as conn:
            new_id = await conn.scalar(ceiling.insert().values(body="x").returning(ceiling.c.id))
        return {"id": int(new_id or 0)}

    return app
