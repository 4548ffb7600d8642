"""3101/3102: the rules on proposed encounters against each person's history; writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from yidi_audit.app.context import Audit
from yidi_audit.domain.analysis import PROPOSED, AnalysisRequest, ProposedEncounter, analyse
from yidi_audit.domain.flags import Flag
from yidi_events.application import Unit

_REQUEST = TypeAdapter(AnalysisRequest)


async def analyse_encounters(audit: Audit, command: dict[str, Any]) -> dict[str, Any]:
    """The `encounters.analyse` command -> the warnings the rules would raise."""
    request = _REQUEST.validate_python(command)

    # One unit for every person's history, and it only reads: the analysis leaves nothing behind.
    async def analyse_all(unit: Unit) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for proposed in request.encounters:
            history = await audit.reads.history(unit, proposed.person_id)
            flags = analyse(history, proposed, audit.settings.rules, request.rule_ids)
            found.extend(warnings(proposed, flags))
        return found

    return {"warnings": await audit.write.transact(analyse_all)}


def warnings(proposed: ProposedEncounter, flags: Sequence[Flag]) -> list[dict[str, Any]]:
    rows = []
    for flag in flags:
        earlier = [s for s in flag.settlement_ids if not s.startswith(PROPOSED)]
        evidence = "settlements " + ", ".join(earlier) if earlier else "this encounter"
        rows.append(
            {
                "flag_id": flag.flag_id,
                "rule_id": flag.rule_id,
                "rule_name": flag.rule_name,
                "detail": flag.detail,
                "person_id": proposed.person_id,
                "visit_id": proposed.visit_id,
                "amount_at_issue": flag.amount_at_issue,
                "severity": flag.severity.value,
                "evidence": f"{flag.rule_id} v{flag.rule_version}: {evidence}",
            }
        )
    return rows
