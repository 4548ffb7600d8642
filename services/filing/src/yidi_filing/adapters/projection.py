"""Read models of the filing service's own events: persons, filings, policies.

The write path applies them inline after each append, in the same transaction (the composition
root passes them as `Runtime(own=...)`), and `rebuild_from_store(engine, store, read_models())`
rebuilds them from the event store with the same handlers, so a rebuild equals the live tables.
Each row records the stream version it reflects.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    BenefitsTerminated,
    EnrolmentStatusChanged,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingRejected,
    PersonDied,
    PersonEnrolledV1,
    PersonUpdatedV1,
    PolicyPublished,
)
from yidi_events.envelope import Envelope
from yidi_events.policy_document import policy_document
from yidi_events.runtime.projection import Projection
from yidi_events.store.columns import ColumnsInsert
from yidi_filing.adapters.tables import filings, persons, policies
from yidi_filing.domain.events import FilingSubmitted

NAME = "filing.read_models"


def read_models() -> Projection:
    projection = Projection(NAME, [persons, filings, policies])

    # Persons and filings are inserted by their first fact and updated by the rest, each keyed by
    # its id: a run of them (a rebuild's page, an append of many streams) is folded per row in
    # memory, in stream order, and written with one INSERT per table and one UPDATE per set of
    # changed columns, instead of a statement or two per fact.
    @projection.on_batch(
        PersonEnrolledV1,
        PersonUpdatedV1,
        EnrolmentStatusChanged,
        AccountBalanceChanged,
        PersonDied,
        BenefitsSuspended,
        BenefitsResumed,
        BenefitsTerminated,
        FilingSubmitted,
        FilingApproved,
        FilingChanged,
        FilingRejected,
        FilingCancelled,
    )
    async def persons_and_filings(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        people = _Rows(persons, "person_id")
        cases = _Rows(filings, "filing_id")
        # The audit suspensions a run edits, as they stood before it (a missing row reads as none).
        audited = {
            e.person_id
            for e in (env.payload for env in envs)
            if isinstance(e, BenefitsSuspended | BenefitsResumed | BenefitsTerminated)
            and e.source is BenefitSource.AUDIT
        }
        stored: dict[str, list[Any]] = {}
        if audited:
            rows = await conn.execute(
                sa.select(persons.c.person_id, persons.c.audit_suspensions).where(
                    persons.c.person_id.in_(audited)
                )
            )
            stored = {r.person_id: r.audit_suspensions for r in rows}
        for env in envs:
            e = env.payload
            if isinstance(e, FilingSubmitted):
                cases.insert(e.filing_id, _filing_row(env))
            elif isinstance(e, FilingApproved | FilingChanged | FilingRejected | FilingCancelled):
                cases.update(e.filing_id, version=env.stream_version, **_filing_change(e))
            elif isinstance(e, PersonEnrolledV1):
                people.insert(e.person_id, _person_row(env))
            elif isinstance(e, BenefitsSuspended | BenefitsResumed | BenefitsTerminated):
                if e.source is BenefitSource.AUDIT:
                    current = people.current(e.person_id, "audit_suspensions")
                    if current is None:
                        current = stored.get(e.person_id)
                    change = {"audit_suspensions": _audit_suspensions(e, current)}
                else:
                    change = _benefits(e)
                people.update(e.person_id, version=env.stream_version, **change)
            else:
                people.update(e.person_id, version=env.stream_version, **_person_change(e))
        # Inserts first: a row a run creates took its later changes in memory.
        await people.write(conn)
        await cases.write(conn)

    @projection.on(PolicyPublished)
    async def published(conn: AsyncConnection, env: Envelope) -> None:
        e: PolicyPublished = env.payload
        if e.superseded_version is not None:
            await conn.execute(
                policies.update()
                .where(
                    policies.c.insured_region == e.insured_region,
                    policies.c.insurance_type == e.insurance_type.value,
                    policies.c.version == e.superseded_version,
                )
                .values(effective_to=e.superseded_effective_to)
            )
        await conn.execute(
            insert(policies).values(
                insured_region=e.insured_region,
                insurance_type=e.insurance_type.value,
                version=e.version,
                effective_from=e.effective_from,
                effective_to=e.policy.effective_to,
                document=policy_document(e.policy),
                published_on=e.published_on,
            )
        )

    return projection


class _Rows:
    """A run's writes to one table keyed by one column, folded in stream order: rows the run
    inserts (their later changes applied in memory) and changes to rows stored before it (merged
    per row, the later value of a column winning, as updates one by one would leave it)."""

    def __init__(self, table: sa.Table, key: str) -> None:
        self.table = table
        self.key = key
        self.inserted: list[dict[str, Any]] = []
        self.new: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, dict[str, Any]] = {}

    def insert(self, key: str, row: dict[str, Any]) -> None:
        # A change before the row's insert found no row (or the insert fails on the stored one):
        # it changed nothing.
        self.changed.pop(key, None)
        self.inserted.append(row)  # a second insert of a key fails on the unique key, as it did
        self.new[key] = row

    def update(self, key: str, **values: Any) -> None:
        row = self.new.get(key)
        if row is not None:
            row.update(values)
        else:
            self.changed.setdefault(key, {}).update(values)

    def current(self, key: str, column: str) -> Any:
        """The column as the run left it so far, or None when the run did not set it."""
        row = self.new.get(key) or self.changed.get(key) or {}
        return row.get(column)

    async def write(self, conn: AsyncConnection) -> None:
        if self.inserted:
            columns = [c.name for c in self.table.columns]
            await _inserts(self.table, tuple(columns)).execute(
                conn, ({c: row.get(c) for c in columns} for row in self.inserted)
            )
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, values in self.changed.items():
            names = tuple(sorted(values))
            by_columns.setdefault(names, []).append(
                {"_key": key, **{f"_{c}": v for c, v in values.items()}}
            )
        for names, params in by_columns.items():
            await conn.execute(_updates(self.table, self.key, names), params)


@functools.cache
def _inserts(table: sa.Table, columns: tuple[str, ...]) -> ColumnsInsert:
    return ColumnsInsert(table, columns)


@functools.cache
def _updates(table: sa.Table, key: str, columns: tuple[str, ...]) -> Any:
    """The UPDATE of `columns` of the row keyed by `_key`, executed once with many rows."""
    return (
        table.update()
        .where(table.c[key] == sa.bindparam("_key", type_=table.c[key].type))
        .values({c: sa.bindparam(f"_{c}", type_=table.c[c].type) for c in columns})
    )


def _person_row(env: Envelope) -> dict[str, Any]:
    e: PersonEnrolledV1 = env.payload
    return {
        "person_id": e.person_id,
        "insured_region": e.insured_region,
        "insurance_type": e.insurance_type.value,
        "person_category": e.person_category,
        "civil_servant": e.civil_servant,
        "assistance_identities": [i.value for i in e.assistance_identities],
        "name": e.name,
        "certificate_type": e.certificate_type,
        "certificate_no": e.certificate_no,
        "gender": e.gender,
        "birth_date": e.birth_date,
        "card_serial": e.card_serial,
        "account_balance": e.account_balance,
        "enrolment_status": e.enrolment_status.value,
        "benefits": "active",
        "audit_suspensions": [],
        "enrolled_on": e.enrolled_on,
        "version": env.stream_version,
    }


def _person_change(
    e: PersonUpdatedV1 | EnrolmentStatusChanged | AccountBalanceChanged | PersonDied,
) -> dict[str, Any]:
    if isinstance(e, PersonUpdatedV1):
        return {
            "insured_region": e.insured_region,
            "insurance_type": e.insurance_type.value,
            "person_category": e.person_category,
            "civil_servant": e.civil_servant,
            "assistance_identities": [i.value for i in e.assistance_identities],
            "name": e.name,
            "gender": e.gender,
            "birth_date": e.birth_date,
            "card_serial": e.card_serial,
        }
    if isinstance(e, EnrolmentStatusChanged):
        return {"enrolment_status": e.enrolment_status.value}
    if isinstance(e, AccountBalanceChanged):
        return {"account_balance": e.account_balance}
    return {"death_date": e.death_date}


def _audit_suspensions(
    e: BenefitsSuspended | BenefitsResumed | BenefitsTerminated, current: list[Any] | None
) -> list[Any]:
    """An audit case's suspension replaces the case's earlier one; its end only removes it."""
    kept = [s for s in current or [] if s["case_id"] != e.case_id]
    if isinstance(e, BenefitsSuspended):
        kept.append(
            {
                "case_id": e.case_id,
                "from": e.effective_from.isoformat(),
                "until": None if e.until is None else e.until.isoformat(),
            }
        )
    return kept


def _benefits(e: BenefitsSuspended | BenefitsResumed | BenefitsTerminated) -> dict[str, Any]:
    if isinstance(e, BenefitsSuspended):
        return {
            "benefits": "suspended",
            "benefits_suspended_from": e.effective_from,
            "benefits_suspended_until": e.until,
        }
    if isinstance(e, BenefitsResumed):
        return {
            "benefits": "active",
            "benefits_suspended_from": None,
            "benefits_suspended_until": None,
        }
    return {"benefits": "terminated"}


def _filing_row(env: Envelope) -> dict[str, Any]:
    e: FilingSubmitted = env.payload
    return {
        "filing_id": e.filing_id,
        "person_id": e.person_id,
        "insured_region": e.insured_region,
        "kind": e.kind.value,
        "long_term_type": None if e.long_term_type is None else e.long_term_type.value,
        "visit_region": e.visit_region,
        "destination_institution": e.destination_institution,
        "diagnosis": e.diagnosis,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "promise_based": e.promise_based,
        "channel": e.channel.value,
        "referral_opinion_from": e.referral_opinion_from,
        "status": "pending",
        "submitted_on": e.submitted_on,
        "review_due": e.review_due,
        "review_reasons": list(e.review_reasons),
        "version": env.stream_version,
    }


def _filing_change(
    e: FilingApproved | FilingChanged | FilingRejected | FilingCancelled,
) -> dict[str, Any]:
    if isinstance(e, FilingRejected):
        return {
            "status": "rejected",
            "decided_on": e.rejected_on,
            "reviewer": e.reviewer,
            "decision_reason": e.reason,
        }
    if isinstance(e, FilingCancelled):
        return {"status": "cancelled", "cancelled_on": e.cancelled_on, "decision_reason": e.reason}
    values: dict[str, Any] = {
        "status": "approved",
        "visit_region": e.visit_region,
        "destination_institution": e.destination_institution,
        "diagnosis": e.diagnosis,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
    }
    if isinstance(e, FilingApproved):
        values.update(decided_on=e.approved_on, reviewer=e.reviewer)
    return values
