"""The reconciliation service's own tables (projections and write-side invariants); the event store's tables
come from libs/events."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
