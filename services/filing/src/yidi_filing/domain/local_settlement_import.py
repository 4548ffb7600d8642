"""Bulk import of local settlements at home (CSV or JSON) -> facts to record, or row errors.

Like the population import, a file with any invalid row is refused whole. Amounts are integer
fen; a movement column left out moves nothing. A negative row is a cancellation at home.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_filing.domain.person_year import LocalSettlement
from yidi_filing.domain.record_files import FileFormat, RowError, read_records

_REQUIRED = ("person_id", "local_settlement_id", "policy_year", "settled_on")
# The scalar figures: a local settlement file does not carry chronic-disease figures.
MOVEMENT_COLUMNS = tuple(
    f.name
    for f in fields(AccumulatorMovement)
    if f.name not in ("policy_year", "account_balance", "chronic")
)
_COLUMNS = frozenset((*_REQUIRED, *MOVEMENT_COLUMNS, "account_paid"))


@dataclass(frozen=True)
class LocalSettlementImport:
    rows: tuple[tuple[str, LocalSettlement], ...]  # (person_id, the settlement)
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_local_settlements(content: str, file_format: FileFormat) -> LocalSettlementImport:
    records, errors = read_records(content, file_format, _REQUIRED, dict)
    if errors:
        return LocalSettlementImport((), tuple(errors))
    if not records:
        return LocalSettlementImport((), (RowError(0, "", "import.empty", "the file has no rows"),))
    rows: list[tuple[str, LocalSettlement]] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, start=1):
        row_errors = [
            RowError(row, key, "import.unknown_column", f"{key} is not a local-settlement column")
            for key in record
            if key not in _COLUMNS
        ]
        parsed = None if row_errors else _row(row, record, row_errors)
        if parsed is not None:
            first = seen.setdefault(parsed[1].local_settlement_id, row)
            if first != row:
                row_errors.append(
                    RowError(
                        row,
                        "local_settlement_id",
                        "import.duplicate_local_settlement",
                        f"same local settlement id as row {first}",
                    )
                )
            rows.append(parsed)
        errors.extend(row_errors)
    if errors:
        return LocalSettlementImport((), tuple(errors))
    return LocalSettlementImport(tuple(rows), ())


def _row(
    row: int, record: Mapping[str, Any], errors: list[RowError]
) -> tuple[str, LocalSettlement] | None:
    def text(name: str) -> str:
        value = record.get(name)
        return "" if value is None else str(value).strip()

    def integer(name: str) -> int:
        raw = text(name) or "0"
        try:
            return int(raw)
        except ValueError:
            errors.append(RowError(row, name, "import.integer", f"{name} {raw!r} is not fen"))
            return 0

    for name in ("person_id", "local_settlement_id"):
        if not text(name):
            errors.append(RowError(row, name, "import.required", f"{name} is required"))
    settled_on = None
    try:
        settled_on = date.fromisoformat(text("settled_on"))
    except ValueError:
        errors.append(
            RowError(row, "settled_on", "import.date", "settled_on is not a YYYY-MM-DD date")
        )
    policy_year = integer("policy_year")
    # A local settlement moves the scalar figures only (MOVEMENT_COLUMNS), never `chronic`.
    figures: dict[str, Any] = {name: integer(name) for name in MOVEMENT_COLUMNS}
    movement = AccumulatorMovement(policy_year=policy_year, account_balance=0, **figures)
    account_paid = integer("account_paid")
    if errors or settled_on is None:
        return None
    return text("person_id"), LocalSettlement(
        local_settlement_id=text("local_settlement_id"),
        movement=movement,
        account_paid=account_paid,
        settled_on=settled_on,
    )
