"""The certificate register on PostgreSQL: `person_certificates`, whose primary key refuses a
second basic enrolment of a number (see `adapters/tables.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert

from yidi_events.application import Unit
from yidi_events.contracts.filing import PersonEnrolledV1
from yidi_filing.adapters.tables import person_certificates
from yidi_filing.domain.identity import certificate_key

BASIC = "basic"


class PostgresCertificates:
    async def claim(self, unit: Unit, enrolled: Sequence[PersonEnrolledV1]) -> set[str]:
        if not enrolled:
            return set()
        claimed = await unit.conn.execute(
            insert(person_certificates)
            .values(
                [
                    {
                        "scheme": BASIC,
                        "certificate_key": certificate_key(e.certificate_type, e.certificate_no),
                        "person_id": e.person_id,
                    }
                    for e in enrolled
                ]
            )
            .on_conflict_do_nothing()
            .returning(person_certificates.c.person_id)
        )
        return {row.person_id for row in claimed}

    async def release(self, unit: Unit, person_id: str) -> None:
        await unit.conn.execute(
            person_certificates.delete().where(person_certificates.c.person_id == person_id)
        )
