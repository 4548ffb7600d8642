"""The queries every HIS client calls (1201, 5201-5206, the 13xx catalogue files) and the
settlement list (4101): reads of the service's own read models and streams, answered inside the
message's unit; the settlement list is the one write, appended to the visit's stream."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.chronic import ChronicCertificate, in_force
from yidi_events.application import Unit, WritePath
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.contracts.settlement import FeeLineSplit, VisitSettled
from yidi_events.kernel import NotFound, business_date
from yidi_settlement.adapters.queries import Hospital, Person
from yidi_settlement.domain import settlement_list as sl
from yidi_settlement.domain import visit as v
from yidi_settlement.domain import visit_record as vr
from yidi_settlement.domain.catalogue_versions import PublishedVersion


class QueryReads(Protocol):
    async def hospital(self, unit: Unit, institution_code: str, on: date) -> Hospital: ...

    async def person(self, unit: Unit, person_id: str, on: date) -> Person: ...

    async def person_year(self, unit: Unit, person_id: str, policy_year: int) -> Accumulators: ...

    async def chronic_certificates(
        self, unit: Unit, person_id: str
    ) -> list[ChronicCertificate]: ...

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy: ...

    async def institutions(
        self, unit: Unit, *, code: str | None, name: str | None
    ) -> list[dict[str, Any]]: ...

    async def visits(
        self,
        unit: Unit,
        *,
        person_id: str,
        began_from: datetime,
        began_to: datetime | None,
        institution_code: str | None = None,
        medical_types: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]: ...

    async def catalogue_names(
        self, unit: Unit, visit_region: str, codes: Iterable[str]
    ) -> dict[str, dict[str, Any]]: ...

    async def horizon(self, unit: Unit) -> int: ...

    async def published(
        self, unit: Unit, visit_region: str, after_txid: int, before_txid: int
    ) -> list[PublishedVersion]: ...


@dataclass(frozen=True)
class VisitSeen:
    row: dict[str, Any]  # the visits read model's row
    record: vr.VisitRecord
    ended_at: datetime


@dataclass(frozen=True)
class LineSeen:
    line: FeeLineSplit
    at: datetime  # when the fee arose
    catalogue: dict[str, Any] | None  # the code's latest catalogue version, None if not in it


@dataclass(frozen=True)
class SettledLines:
    record: vr.VisitRecord
    settlement: VisitSettled
    lines: tuple[LineSeen, ...]


@dataclass(frozen=True)
class ChronicLine:
    visit: dict[str, Any]
    institution_name: str
    seen: LineSeen


@dataclass
class QueryService:
    write: WritePath
    reads: QueryReads

    async def _record(
        self, unit: Unit, institution: str, visit_id: str, person_id: str | None = None
    ) -> vr.VisitRecord:
        record = (await self.write.load(unit, v.stream_id(visit_id), vr.VISIT_RECORD)).state
        vr.own_record(record, visit_id=visit_id, institution_code=institution, person_id=person_id)
        return record

    async def _lines(
        self, unit: Unit, region: str, record: vr.VisitRecord, lines: Iterable[FeeLineSplit]
    ) -> tuple[LineSeen, ...]:
        chosen = tuple(lines)
        names = await self.reads.catalogue_names(unit, region, (x.catalogue_code for x in chosen))
        return tuple(
            LineSeen(line=x, at=vr.fee_time(record, x), catalogue=names.get(x.catalogue_code))
            for x in chosen
        )

    async def institution(self, unit: Unit, code: str | None, name: str | None) -> dict[str, Any]:
        """1201: the registry's institution of that code, or the first whose name holds `name`."""
        found = await self.reads.institutions(unit, code=code, name=name)
        if not found:
            raise NotFound(
                "institution.not_found",
                f"no institution of code {code or '-'} and name {name or '-'} is registered",
                field="institution_code" if code else "institution_name",
            )
        return found[0]

    async def person(self, unit: Unit, person_id: str, now: datetime) -> Person:
        return await self.reads.person(unit, person_id, business_date(now))

    async def chronic_certificates(
        self, unit: Unit, person_id: str, now: datetime
    ) -> list[ChronicCertificate]:
        """5301: the person's chronic-disease certificates in force today."""
        today = business_date(now)
        await self.reads.person(unit, person_id, today)  # an unknown person is refused
        return in_force(await self.reads.chronic_certificates(unit, person_id), today)

    async def visits(
        self,
        unit: Unit,
        *,
        institution: str,
        person_id: str,
        began_from: datetime,
        began_to: datetime,
        medical_type: str,
        visit_id: str | None,
        now: datetime,
    ) -> list[VisitSeen]:
        """5201: the person's visits at this institution begun in the period."""
        rows = await self.reads.visits(
            unit,
            person_id=person_id,
            began_from=began_from,
            began_to=began_to,
            institution_code=institution,
            medical_types=(medical_type,),
        )
        seen = []
        for row in rows:
            if visit_id is not None and row["visit_id"] != visit_id:
                continue
            record = await self._record(unit, institution, row["visit_id"])
            seen.append(VisitSeen(row=row, record=record, ended_at=vr.ended_at(record, now)))
        return seen

    async def diagnoses(
        self, unit: Unit, institution: str, visit_id: str, person_id: str
    ) -> vr.VisitRecord:
        """5202: the visit's diagnoses, at admission and at discharge."""
        return await self._record(unit, institution, visit_id, person_id)

    async def settled_lines(
        self, unit: Unit, institution: str, visit_id: str, person_id: str, settlement_id: str
    ) -> SettledLines:
        """5204: the fee lines a settlement of the visit settled, with their catalogue entries."""
        record = await self.diagnoses(unit, institution, visit_id, person_id)
        lines = vr.settlement_lines(record, visit_id, settlement_id)
        assert record.registered is not None  # own_record checked it
        return SettledLines(
            record=record,
            settlement=record.settled[settlement_id],
            lines=await self._lines(unit, record.registered.visit_region, record, lines),
        )

    async def chronic_medicines(
        self, unit: Unit, person_id: str, began_from: datetime, began_to: datetime | None
    ) -> list[ChronicLine]:
        """5205: the medicines of the person's chronic-disease outpatient visits at this visit
        place, at any institution, in the period; lines still uploaded (not cancelled)."""
        rows = await self.reads.visits(
            unit,
            person_id=person_id,
            began_from=began_from,
            began_to=began_to,
            medical_types=(vr.CHRONIC_OUTPATIENT,),
        )
        found: list[ChronicLine] = []
        names: dict[str, str] = {}
        for row in rows:
            code = row["institution_code"]
            record = await self._record(unit, code, row["visit_id"])
            if code not in names:
                hospital = await self.reads.hospital(unit, code, business_date(row["began_at"]))
                names[code] = hospital.institution_name
            for seen in await self._lines(unit, row["visit_region"], record, record.lines.values()):
                if seen.catalogue is not None and vr.is_medicine(seen.catalogue["list_type"]):
                    found.append(ChronicLine(visit=row, institution_name=names[code], seen=seen))
        return found

    async def person_year(
        self, unit: Unit, person_id: str, on: date, now: datetime
    ) -> tuple[Person, Accumulators]:
        """5206: the person's figures of the policy year `on` falls in (their insured place's
        year), as this place settles on them now."""
        person = await self.reads.person(unit, person_id, business_date(now))
        row = person.row
        policy = await self.reads.policy(unit, row["insured_region"], row["insurance_type"], on)
        year = policy.policy_year(on)
        return person, await self.reads.person_year(unit, person_id, year)

    async def catalogue_versions(
        self, unit: Unit, institution: str, after: int, before: int | None, now: datetime
    ) -> tuple[int, list[PublishedVersion]]:
        """13xx/9102: the versions of the hospital's regional catalogue committed after `after`
        and below `before` (None: below every transaction still running), with that bound."""
        hospital = await self.reads.hospital(unit, institution, business_date(now))
        bound = await self.reads.horizon(unit) if before is None else before
        return bound, await self.reads.published(unit, hospital.region, after, bound)

    async def upload_settlement_list(
        self,
        unit: Unit,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        settlement_id: str,
        form: dict[str, Any],
        message_id: str,
        now: datetime,
    ) -> str:
        """4101: record the settlement's list on its visit; the list's id."""
        loaded = await self.write.load(unit, v.stream_id(visit_id), sl.VISIT_LISTS)
        events = sl.decide_upload(
            loaded.state,
            visit_id=visit_id,
            institution_code=institution,
            person_id=person_id,
            settlement_id=settlement_id,
            form=form,
            message_id=message_id,
            now=now,
            fresh_id=sl.new_list_id(),
        )
        await self.write.append(
            unit, v.stream_id(visit_id), loaded.version, events, day=business_date(now)
        )
        uploaded: str = events[0].list_id
        return uploaded
