"""The handlers' reads of clearing's tables on PostgreSQL (`PeriodRows`, `ApplicationRows` in app/),
in the command's own unit: what a decision needs besides its stream."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from yidi_clearing.adapters import queries
from yidi_clearing.domain.clearing_period import ClearingPeriod
from yidi_clearing.domain.events import StatementLine
from yidi_clearing.domain.hospital_clearing import (
    ApplicationKey,
    ClearingTotals,
    HospitalDeduction,
)
from yidi_clearing.domain.inputs import ConfirmedSettlement, Deduction
from yidi_events.application import Unit


class PostgresPeriodRows:
    """Reads in the command's unit. A period's statement lines are kept once generated or read
    in this process: a period has one statement (the primary key of `statements`) and its lines
    are a function of the inputs its `input_hash` covers, so lines kept under (period, hash) are
    the rows' lines, and approving and netting a 12,602-line month read only the lines'
    decisions. The last `periods` statements are kept (a month's is tens of MB at most)."""

    def __init__(self, periods: int = 4) -> None:
        self._keep = periods
        self._lines: OrderedDict[tuple[str, str], dict[str, StatementLine]] = OrderedDict()

    async def inputs(
        self, unit: Unit, period: str
    ) -> tuple[list[ConfirmedSettlement], list[Deduction]]:
        return await queries.period_inputs(unit.conn, period)

    def keep(self, state: ClearingPeriod) -> None:
        if state.period is not None and state.input_hash is not None:
            self._put((state.period, state.input_hash), {i: s.line for i, s in state.lines.items()})

    def _put(self, key: tuple[str, str], lines: dict[str, StatementLine]) -> None:
        self._lines[key] = lines
        self._lines.move_to_end(key)
        while len(self._lines) > self._keep:
            self._lines.popitem(last=False)

    async def statement(self, unit: Unit, period: str) -> tuple[ClearingPeriod, int] | None:
        found = await queries.period_decisions(unit.conn, period)
        if found is None:
            return None
        key = (period, found.input_hash)
        lines = self._lines.get(key)
        if lines is None or lines.keys() != found.decisions.keys():
            lines = await queries.statement_lines(unit.conn, period)
        self._put(key, lines)
        return found.period(period, lines), found.version

    async def line_view(
        self, unit: Unit, period: str, line_id: str
    ) -> tuple[ClearingPeriod, int] | None:
        found = await queries.line_view_of_period(unit.conn, period, line_id)
        if found is None:
            return None
        version, state = found
        return state, version


class PostgresApplicationRows:
    async def reconciled(self, unit: Unit, key: ApplicationKey) -> ClearingTotals | None:
        return await queries.reconciled_totals(
            unit.conn,
            institution_code=key.institution_code,
            clearing_agency=key.clearing_agency,
            month=key.month,
            clearing_category=key.clearing_category,
        )

    async def application(self, unit: Unit, application_id: str) -> dict[str, Any] | None:
        return await queries.application(unit.conn, application_id)

    async def deductions(self, unit: Unit, key: ApplicationKey) -> list[HospitalDeduction]:
        return await queries.hospital_deductions(
            unit.conn,
            institution_code=key.institution_code,
            clearing_agency=key.clearing_agency,
            month=key.month,
            clearing_category=key.clearing_category,
        )
