"""3101/3102: the rules on proposed encounters against each person's history; writes nothing."""

from __future__ import annotations

from typing import Any

from yidi_audit.adapters.history import load_history
from yidi_audit.adapters.wire import encounters_from_3101, results_to_3101
from yidi_audit.app.context import Audit
from yidi_audit.domain.analysis import analyse


async def analyse_3101(audit: Audit, data: dict[str, Any]) -> dict[str, Any]:
    request = encounters_from_3101(data)
    rows: list[dict[str, Any]] = []
    # A read-only connection: the analysis must not leave anything behind.
    async with audit.runtime.engine.connect() as conn:
        for proposed in request.encounters:
            history = await load_history(conn, proposed.person_id)
            warnings = analyse(history, proposed, audit.settings.rules, request.rule_ids)
            rows.extend(results_to_3101(request.task_id, proposed, warnings))
        await conn.rollback()
    return {"result": rows}
