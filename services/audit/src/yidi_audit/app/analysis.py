"""3101/3102: the rules on proposed encounters against each person's history; writes nothing."""

from __future__ import annotations

from typing import Any

from yidi_audit.adapters.wire import encounters_from_3101, results_to_3101
from yidi_audit.app.context import Audit
from yidi_audit.domain.analysis import analyse
from yidi_events.application import Unit


async def analyse_3101(audit: Audit, data: dict[str, Any]) -> dict[str, Any]:
    request = encounters_from_3101(data)

    # One unit for every person's history, and it only reads: the analysis leaves nothing behind.
    async def analyse_all(unit: Unit) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for proposed in request.encounters:
            history = await audit.reads.history(unit, proposed.person_id)
            warnings = analyse(history, proposed, audit.settings.rules, request.rule_ids)
            rows.extend(results_to_3101(request.task_id, proposed, warnings))
        return rows

    return {"result": await audit.write.transact(analyse_all)}
