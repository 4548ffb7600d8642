"""Handlers of insured-person commands: enrolment (single and bulk), details, status, account,
death and the insured place's benefit decisions.

One person, one number: after `PersonEnrolled` is appended its certificate number is claimed in
the certificate register (`ctx.certificates`) in the same transaction; a number already held
refuses the enrolment as `person.duplicate_enrolment` with everything rolled back. A terminated
enrolment releases its number, so the person can be enrolled again (seed 004).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from yidi_events.application import Unit
from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import EnrolmentStatus, EnrolmentStatusChanged, PersonEnrolledV1
from yidi_events.envelope import Envelope
from yidi_events.kernel import DomainError, business_date
from yidi_filing.app.common import Context, person_stream, require_agency, require_own_region
from yidi_filing.domain import person as model
from yidi_filing.domain.enrolment import EnrolPerson, UpdatePerson
from yidi_filing.domain.identity import duplicate_enrolment
from yidi_filing.domain.person import PERSON
from yidi_filing.domain.population_import import FileFormat, RowError, parse_population

Decision = Callable[[model.Person | None, datetime], list[model.PersonEvent]]


class RowErrors(DomainError):
    """A population file refused whole; every row error is reported."""

    def __init__(self, rows: Sequence[RowError]) -> None:
        first = rows[0]
        super().__init__(
            first.rule,
            f"the file was refused: {len(rows)} row error(s); first at row {first.row}: "
            f"{first.message}",
            field=first.field or None,
        )
        self.rows = tuple(rows)


async def _guard_certificates(ctx: Context, unit: Unit, envelopes: Sequence[Envelope]) -> None:
    """The write-side invariant, after the append: claim or release certificate numbers."""
    for envelope in envelopes:
        event = envelope.payload
        if isinstance(event, PersonEnrolledV1):
            if event.person_id not in await ctx.certificates.claim(unit, [event]):
                raise duplicate_enrolment(event.certificate_type, event.certificate_no)
        elif (
            isinstance(event, EnrolmentStatusChanged)
            and event.enrolment_status is EnrolmentStatus.TERMINATED
        ):
            await ctx.certificates.release(unit, event.person_id)


async def enrol(ctx: Context, principal: Principal, command: EnrolPerson) -> str:
    require_own_region(principal, command.insured_region, field="insured_region")

    async def work(unit: Unit) -> str:
        person = await ctx.write.load(unit, person_stream(command.person_id.strip()), PERSON)
        now = ctx.now()
        new = model.decide_enrol(person.state, command, now)
        envelopes = await ctx.write.append(
            unit, person.stream_id, person.version, new, day=business_date(now)
        )
        await _guard_certificates(ctx, unit, envelopes)
        return str(new[0].person_id)

    return await ctx.write.transact(work)


async def import_population(
    ctx: Context, principal: Principal, content: str, file_format: FileFormat
) -> int:
    """All or nothing: any row error (in the file, or a number already insured) refuses it all."""
    require_agency(principal)
    today = business_date(ctx.now())
    parsed = parse_population(content, file_format, today)
    if not parsed.ok:
        raise RowErrors(parsed.errors)
    wrong_region = [
        RowError(
            row,
            "insured_region",
            "auth.region",
            f"agency {principal.region} may not enrol persons of region {c.insured_region}",
        )
        for row, c in enumerate(parsed.commands, start=1)
        if principal.kind != "centre" and c.insured_region != principal.region
    ]
    if wrong_region:
        raise RowErrors(wrong_region)

    async def work(unit: Unit) -> int:
        now = ctx.now()
        enrolled: list[Envelope] = []
        errors: list[RowError] = []
        for row, command in enumerate(parsed.commands, start=1):
            person = await ctx.write.load(unit, person_stream(command.person_id), PERSON)
            try:
                new = model.decide_enrol(person.state, command, now)
            except DomainError as exc:
                errors.append(RowError(row, exc.field or "", exc.rule, exc.message))
                continue
            enrolled += await ctx.write.append(
                unit, person.stream_id, person.version, new, day=business_date(now)
            )
        if errors:
            raise RowErrors(errors)
        claims = [
            (row, e.payload)
            for row, e in enumerate(
                (e for e in enrolled if isinstance(e.payload, PersonEnrolledV1)), 1
            )
        ]
        if claims:
            taken = await ctx.certificates.claim(unit, [p for _, p in claims])
            errors = [
                RowError(row, "certificate_no", dup.rule, dup.message)
                for row, p in claims
                if p.person_id not in taken
                for dup in [duplicate_enrolment(p.certificate_type, p.certificate_no)]
            ]
            if errors:
                raise RowErrors(errors)
        return len(claims)

    return await ctx.write.transact(work)


async def act(ctx: Context, principal: Principal, person_id: str, decide: Decision) -> int:
    """Load the person, check the caller's region, decide, append; returns the new version."""

    async def work(unit: Unit) -> int:
        person = await ctx.write.load(unit, person_stream(person_id), PERSON)
        if person.state is not None:
            require_own_region(principal, person.state.insured_region, field="person_id")
        else:
            require_agency(principal)
        now = ctx.now()
        envelopes = await ctx.write.append(
            unit,
            person.stream_id,
            person.version,
            decide(person.state, now),
            day=business_date(now),
        )
        await _guard_certificates(ctx, unit, envelopes)
        return person.version + len(envelopes)

    return await ctx.write.transact(work)


# --- the decisions an agency takes, bound to their arguments ---------------------------------


def update(command: UpdatePerson, principal: Principal) -> Decision:
    if command.insured_region is not None:
        # Moving a person to another insured place is for the provincial centre.
        require_own_region(principal, command.insured_region, field="insured_region")
    return lambda person, now: model.decide_update(person, command, now)


def change_status(status: EnrolmentStatus, effective_from: date, reason: str) -> Decision:
    return lambda person, now: model.decide_change_enrolment_status(
        person, status, effective_from, reason, now
    )


def set_balance(balance: int, reason: str) -> Decision:
    return lambda person, now: model.decide_set_account_balance(person, balance, reason, now)


def credit(amount: int, reason: str) -> Decision:
    return lambda person, now: model.decide_credit_account(person, amount, reason, now)


def debit(amount: int, reason: str) -> Decision:
    return lambda person, now: model.decide_debit_account(person, amount, reason, now)


def record_death(death_date: date) -> Decision:
    return lambda person, now: model.decide_record_death(person, death_date, now)


def suspend(effective_from: date, until: date | None, reason: str) -> Decision:
    return lambda person, now: model.decide_suspend_benefits(
        person, effective_from, until, reason, now
    )


def resume(effective_from: date, reason: str) -> Decision:
    return lambda person, now: model.decide_resume_benefits(person, effective_from, reason, now)


def terminate(effective_from: date, reason: str) -> Decision:
    return lambda person, now: model.decide_terminate_benefits(person, effective_from, reason, now)
