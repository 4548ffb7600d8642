"""Handlers of hospital clearing applications (3203 apply, 3204 withdraw, status changes).

One stream per (institution, clearing agency, month, clearing category): its version makes two
concurrent applications for the same month and category yield one. The application id is minted
from the stream and its version, so it is stable across retries of the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from yidi_clearing.domain import hospital_clearing as hc
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.application import Aggregate, Unit, WritePath
from yidi_events.kernel import NotFound

APPLICATION = Aggregate(hc.HospitalClearing, hc.evolve)


class ApplicationRows(Protocol):
    """What application decisions read besides their stream (adapters/rows.py)."""

    async def reconciled(self, unit: Unit, key: hc.ApplicationKey) -> hc.ClearingTotals | None:
        """The month's category as reconciliation recorded it; None when nothing was."""
        ...

    async def application(self, unit: Unit, application_id: str) -> dict[str, Any] | None:
        """The application's row of the `clearing.own` projection (with its `stream_id`)."""
        ...

    async def deductions(self, unit: Unit, key: hc.ApplicationKey) -> list[hc.HospitalDeduction]:
        """Deductions and clawbacks decided in the key's month against the hospital's
        settlements of the key's clearing agency and category."""
        ...


def stream_of(key: hc.ApplicationKey) -> str:
    return (
        f"hospital-clearing:{key.institution_code}:{key.clearing_agency}:"
        f"{key.month}:{key.clearing_category}"
    )


def application_id_of(key: hc.ApplicationKey, version: int) -> str:
    # e.g. "H32010000001-320100-202603-21-1": readable by a clerk, unique per stream version.
    month = key.month.replace("-", "")
    return (
        f"{key.institution_code}-{key.clearing_agency}-{month}-{key.clearing_category}-"
        f"{version + 1}"
    )


def key_of(row: dict[str, Any]) -> hc.ApplicationKey:
    return hc.ApplicationKey(
        institution_code=row["institution_code"],
        clearing_agency=row["clearing_agency"],
        month=row["month"],
        clearing_category=row["clearing_category"],
    )


@dataclass
class HospitalHandlers:
    write: WritePath
    rows: ApplicationRows
    settings: ClearingSettings = field(default_factory=ClearingSettings)

    async def apply(self, key: hc.ApplicationKey, totals: hc.ClearingTotals) -> str:
        async def work(unit: Unit) -> str:
            reconciled = await self.rows.reconciled(unit, key)
            loaded = await self.write.load(unit, stream_of(key), APPLICATION)
            today = self.write.today()
            new = hc.decide_apply(
                loaded.state,
                application_id=application_id_of(key, loaded.version),
                key=key,
                totals=totals,
                reconciled=reconciled,
                today=today,
            )
            await self.write.append(unit, stream_of(key), loaded.version, new, day=today)
            return str(new[0].clearing_application_id)

        return await self.write.transact(work)

    async def withdraw(self, institution_code: str, application_id: str) -> None:
        async def work(unit: Unit) -> None:
            row = await self._own(unit, application_id, institution_code)
            today = self.write.today()
            await self.write.decide(
                unit,
                row["stream_id"],
                APPLICATION,
                lambda s: hc.decide_withdraw(s, application_id, today),
                day=today,
            )

        await self.write.transact(work)

    async def change_status(
        self,
        application_id: str,
        *,
        to_status: str,
        reason: str,
        changed_by: str,
        allowed_agency: Callable[[str], None],
    ) -> dict[str, Any]:
        async def work(unit: Unit) -> dict[str, Any]:
            row = await self._own(unit, application_id, None)
            allowed_agency(row["clearing_agency"])
            today = self.write.today()
            payable = None
            if to_status == hc.ClearingStatus.REVIEWED:
                # Reviewed: the payable is fixed from what reconciliation and audit decided.
                key = key_of(row)
                reconciled = await self.rows.reconciled(unit, key)
                if reconciled is not None:
                    payable = hc.payable_of(reconciled, await self.rows.deductions(unit, key))
            await self.write.decide(
                unit,
                row["stream_id"],
                APPLICATION,
                lambda s: hc.decide_change_status(
                    s, application_id, to_status, changed_by, reason, today, payable
                ),
                day=today,
            )
            return await self._own(unit, application_id, None)

        return await self.write.transact(work)

    async def record_payment(
        self,
        application_id: str,
        *,
        amount: int,
        bank_reference: str,
        paid_by: str,
        allowed_agency: Callable[[str], None],
    ) -> dict[str, Any]:
        async def work(unit: Unit) -> dict[str, Any]:
            row = await self._own(unit, application_id, None)
            allowed_agency(row["clearing_agency"])
            today = self.write.today()
            await self.write.decide(
                unit,
                row["stream_id"],
                APPLICATION,
                lambda s: hc.decide_record_payment(
                    s,
                    application_id,
                    amount=amount,
                    bank_reference=bank_reference,
                    paid_by=paid_by,
                    today=today,
                    settings=self.settings,
                ),
                day=today,
            )
            return await self._own(unit, application_id, None)

        return await self.write.transact(work)

    async def _own(
        self, unit: Unit, application_id: str, institution_code: str | None
    ) -> dict[str, Any]:
        row = await self.rows.application(unit, application_id)
        if row is None or institution_code not in (None, row["institution_code"]):
            raise NotFound(
                "clearing.application_unknown",
                f"no clearing application {application_id}",
                field="clearing_application_id",
            )
        return row
