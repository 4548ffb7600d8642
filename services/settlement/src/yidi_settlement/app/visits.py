"""Visit and settlement handlers: load -> fold -> decide -> append, in one transaction.

Each function runs inside the caller's transaction (`conn`); the HIS gateway wraps it with the
idempotency record of the message. Settling appends to the visit stream AND to the person-year
accumulator stream at the version it loaded, so two concurrent settlements of one person cannot
share a deductible: the loser's append fails and `in_transaction` decides again on fresh figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from uuid6 import uuid7

from yidi_events.contracts.settlement import (
    AccumulatorsMoved,
    Diagnosis,
    SettlementReversed,
    VisitRegistered,
    VisitSettled,
)
from yidi_events.decider import fold
from yidi_events.envelope import Envelope
from yidi_events.kernel import DomainError, NotFound, business_date
from yidi_events.policy import HospitalLevel
from yidi_events.runtime.projection import Projection
from yidi_events.service import Runtime
from yidi_events.store import NewEvent
from yidi_settlement.adapters import queries
from yidi_settlement.adapters.wire import Registration, SettleRequest, Voucher
from yidi_settlement.domain import accumulators as acc
from yidi_settlement.domain import visit as v
from yidi_settlement.domain.eligibility import Eligibility, check_eligibility
from yidi_settlement.domain.engine import (
    SettlementComputation,
    cancellation_of,
    compute_settlement,
)
from yidi_settlement.domain.line_split import split_line
from yidi_settlement.domain.model import CatalogueEntry, FeeLine, VisitFacts, is_inpatient


def visit_stream(visit_id: str) -> str:
    return f"visit-{visit_id}"


def new_id(prefix: str, region: str) -> str:
    return f"{prefix}{region}{uuid7().hex[:20].upper()}"


@dataclass
class VisitService:
    runtime: Runtime
    projection: Projection

    async def _append(
        self, conn: AsyncConnection, stream: str, version: int, events: Sequence[Any], on: date
    ) -> list[Envelope]:
        return await self.runtime.store.append(
            conn, stream, version, [NewEvent(e, on) for e in events]
        )

    async def _project(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            await self.projection.apply(conn, envelope)

    async def _load(self, conn: AsyncConnection, visit_id: str) -> tuple[v.VisitState, int]:
        stream = await self.runtime.store.load(conn, visit_stream(visit_id))
        return fold(v.evolve, v.VisitState(), [e.payload for e in stream]), len(stream)

    async def _own_visit(
        self, conn: AsyncConnection, institution: str, visit_id: str, person_id: str
    ) -> tuple[v.VisitState, int, VisitRegistered]:
        state, version = await self._load(conn, visit_id)
        reg = state.registered
        if reg is None or reg.institution_code != institution:
            raise NotFound(
                "visit.not_found",
                f"visit {visit_id} is not a visit of this institution",
                field="mdtrt_id",
            )
        if reg.person_id != person_id:
            raise DomainError(
                "visit.person_mismatch",
                f"visit {visit_id} belongs to another person",
                field="psn_no",
            )
        return state, version, reg

    # --- eligibility -----------------------------------------------------------------------

    async def _eligible(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        person_id: str,
        visit_date: date,
        emergency: bool,
        voucher: Voucher | None,
        today: date,
    ) -> tuple[Eligibility, queries.Person, queries.Hospital]:
        hospital = await queries.hospital(conn, institution, today)
        person = await queries.person(conn, person_id, visit_date)
        certificate = None
        if voucher is not None:
            certificate = await self._certificate_of(person, voucher)
        eligibility = check_eligibility(
            person=person.snapshot,
            filings=await queries.person_filings(conn, person_id),
            hospital=hospital.snapshot(),
            visit_date=visit_date,
            emergency=emergency,
            certificate_no=certificate,
        )
        return eligibility, person, hospital

    async def _certificate_of(self, person: queries.Person, voucher: Voucher) -> str:
        """The certificate the voucher presents (人卡相符): e-voucher names the person."""
        row = person.row
        if voucher.voucher_type == "01":
            # The e-voucher resolves to the person it was issued to.
            return (
                row["certificate_no"]
                if voucher.voucher_no in (row["person_id"], row["certificate_no"])
                else voucher.voucher_no
            )
        if voucher.voucher_type == "03" and voucher.card_serial != row["card_serial"]:
            raise DomainError(
                "eligibility.identity_mismatch",
                "the social-security card serial (card_sn) does not match the person's card (人卡不符)",
                field="card_sn",
            )
        return voucher.voucher_no.upper()

    # --- registration ----------------------------------------------------------------------

    async def register(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_region: str,
        insured_region: str | None,
        command: Registration,
        message_id: str,
        now: datetime,
    ) -> dict[str, Any]:
        eligibility, person, hospital = await self._eligible(
            conn,
            institution=institution,
            person_id=command.person_id,
            visit_date=business_date(command.began_at),
            emergency=command.emergency,
            voucher=command.voucher,
            today=business_date(now),
        )
        row = person.row
        if visit_region != hospital.region:
            raise DomainError(
                "his.visit_region",
                f"mdtrtarea_admvs {visit_region} is not the region {hospital.region} of {institution}",
                field="mdtrtarea_admvs",
            )
        if insured_region is not None and insured_region != row["insured_region"]:
            raise DomainError(
                "his.insured_region",
                f"insuplc_admdvs {insured_region} is not the person's insured place {row['insured_region']}",
                field="insuplc_admdvs",
            )
        if command.insurance_type != row["insurance_type"]:
            raise DomainError(
                "his.insurance_type",
                f"the person is insured under {row['insurance_type']}, not {command.insurance_type}",
                field="insutype",
            )
        visit_id = new_id("M", hospital.region)
        registration = VisitRegistered(
            visit_id=visit_id,
            person_id=command.person_id,
            insured_region=row["insured_region"],
            visit_region=hospital.region,
            institution_code=institution,
            insurance_type=command.insurance_type,
            medical_type=command.medical_type,
            began_at=command.began_at,
            emergency=command.emergency,
            filing_id=eligibility.filing_id,
            filing_kind=eligibility.filing_kind.value,
            principal_diagnosis=command.principal_diagnosis,
            department=command.department,
            message_id=message_id,
        )
        events = v.decide_register(v.VisitState(), registration)
        envelopes = await self._append(conn, visit_stream(visit_id), 0, events, business_date(now))
        await self._project(conn, envelopes)
        return {"visit_id": visit_id, "filing_kind": eligibility.filing_kind.value}

    async def cancel_registration(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        now: datetime,
    ) -> None:
        state, version, _ = await self._own_visit(conn, institution, visit_id, person_id)
        events = v.decide_cancel_registration(state, now)
        await self._project(
            conn,
            await self._append(conn, visit_stream(visit_id), version, events, business_date(now)),
        )

    async def diagnose(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        diagnoses: tuple[Diagnosis, ...],
        now: datetime,
    ) -> None:
        state, version, _ = await self._own_visit(conn, institution, visit_id, person_id)
        events = v.decide_diagnose(state, diagnoses, now)
        await self._project(
            conn,
            await self._append(conn, visit_stream(visit_id), version, events, business_date(now)),
        )

    async def upload_fee_lines(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        lines: list[FeeLine],
        message_id: str,
        now: datetime,
    ) -> list[tuple[Any, CatalogueEntry | None]]:
        state, version, reg = await self._own_visit(conn, institution, visit_id, person_id)
        mapped = await queries.mapped_codes(
            conn,
            institution,
            [x.hospital_item_code for x in lines if x.hospital_item_code and not x.catalogue_code],
        )
        resolved = []
        for line in lines:
            if not line.catalogue_code:
                code = mapped.get(line.hospital_item_code or "")
                if code is None:
                    raise DomainError(
                        "catalogue.unmapped_item",
                        f"hospital item {line.hospital_item_code} of fee line {line.fee_line_no} is not mapped to the catalogue (3301 first)",
                        field="medins_list_codg",
                    )
                line = FeeLine(**{**line.__dict__, "catalogue_code": code})
            resolved.append(line)
        today = business_date(now)
        entries = await queries.catalogue(
            conn, reg.visit_region, [x.catalogue_code for x in resolved], today
        )
        splits = tuple(split_line(x, entries.get(x.catalogue_code)) for x in resolved)
        events = v.decide_upload_fee_lines(state, splits, now, message_id)
        await self._project(
            conn, await self._append(conn, visit_stream(visit_id), version, events, today)
        )
        return [(s, entries.get(s.catalogue_code)) for s in splits]

    async def cancel_fee_lines(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        fee_line_nos: tuple[str, ...],
        now: datetime,
    ) -> int:
        state, version, _ = await self._own_visit(conn, institution, visit_id, person_id)
        events = v.decide_cancel_fee_lines(state, fee_line_nos, now)
        await self._project(
            conn,
            await self._append(conn, visit_stream(visit_id), version, events, business_date(now)),
        )
        return sum(len(e.fee_line_nos) for e in events)

    async def discharge(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        discharged_on: date,
        died: bool,
        principal_diagnosis: str | None,
        now: datetime,
    ) -> None:
        state, version, _ = await self._own_visit(conn, institution, visit_id, person_id)
        if principal_diagnosis and principal_diagnosis != state.principal_diagnosis:
            state = replace(state, principal_diagnosis=principal_diagnosis)
        events = v.decide_discharge(state, discharged_on, now, died)
        await self._project(
            conn,
            await self._append(conn, visit_stream(visit_id), version, events, business_date(now)),
        )

    # --- settlement ------------------------------------------------------------------------

    async def settle(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        command: SettleRequest,
        message_id: str,
        now: datetime,
        commit: bool,
    ) -> tuple[SettlementComputation, dict[str, Any], VisitRegistered, str | None, str, str]:
        """Compute (and with `commit`, record) the settlement of a visit. Returns the computation,
        the person row, the registration, the settlement id, clearing agency and category."""
        ref = command.ref
        state, version, reg = await self._own_visit(conn, institution, ref.visit_id, ref.person_id)
        today = business_date(now)
        if state.status is v.VisitStatus.REGISTRATION_CANCELLED:
            # Checked here, not only when the settlement is recorded: a 2206 pre-settlement of a
            # cancelled visit must be refused as its 2207 would be.
            raise NotFound(
                "visit.not_found",
                f"visit {ref.visit_id} was cancelled (2202) and cannot be settled",
                field="mdtrt_id",
            )
        if state.status is v.VisitStatus.SETTLED:
            raise DomainError(
                "visit.settled",
                f"visit {ref.visit_id} is already settled (setl_id {state.settlement.settlement_id if state.settlement else ''}); cancel it first",
                field="mdtrt_id",
            )
        inpatient = is_inpatient(reg.medical_type)
        if inpatient and state.discharged_on is None:
            raise DomainError(
                "visit.not_discharged",
                "an admission settles after discharge (2402 first)",
                field="mdtrt_id",
            )
        if not state.lines:
            raise DomainError(
                "visit.no_fee_lines",
                f"visit {ref.visit_id} has no fee lines to settle",
                field="mdtrt_id",
            )
        if command.insurance_type is not None and command.insurance_type != reg.insurance_type:
            raise DomainError(
                "his.insurance_type",
                f"insutype {command.insurance_type} is not the visit's {reg.insurance_type}",
                field="insutype",
            )
        settled_on = state.discharged_on if inpatient and state.discharged_on else today
        year = settled_on.year
        # The person-year stream is loaded before the account balance is read: a settlement
        # committing in between then moves the stream past the version this one appends at, and
        # this one decides again. Read the other way round, both spend the same balance.
        acc_stream = acc.stream_id(ref.person_id, year)
        acc_events = await self.runtime.store.load(conn, acc_stream)
        figures = fold(acc.evolve, acc.initial(year), [e.payload for e in acc_events])
        eligibility, person, hospital = await self._eligible(
            conn,
            institution=institution,
            person_id=ref.person_id,
            visit_date=business_date(reg.began_at),
            emergency=reg.emergency,
            voucher=command.voucher,
            today=today,
        )
        policy = await queries.policy(conn, reg.insured_region, reg.insurance_type, settled_on)
        lines = [
            FeeLine(
                fee_line_no=x.fee_line_no,
                catalogue_code=x.catalogue_code,
                quantity=x.quantity,
                unit_price=x.unit_price,
                amount=x.amount,
                charge_category=x.charge_category,
                fee_date=x.fee_date,
                hospital_item_code=x.hospital_item_code,
            )
            for x in state.lines.values()
        ]
        catalogue = await queries.catalogue(
            conn, reg.visit_region, [x.catalogue_code for x in lines], settled_on
        )
        result = compute_settlement(
            policy=policy,
            catalogue=catalogue,
            person=person.at_settlement,
            visit=VisitFacts(
                hospital_level=HospitalLevel(hospital.hospital_level),
                medical_type=reg.medical_type,
                filing_kind=eligibility.filing_kind,
                use_account=command.use_account,
                settled_on=settled_on,
            ),
            fee_lines=lines,
            accumulators=figures,
        )
        if command.declared_total is not None and command.declared_total != result.totals.total_fee:
            raise DomainError(
                "settlement.total_mismatch",
                f"medfee_sumamt {command.declared_total / 100:.2f} differs from the uploaded fee lines' total {result.totals.total_fee / 100:.2f}",
                field="medfee_sumamt",
            )
        category = clearing_category(reg.medical_type)
        if not commit:
            return result, person.row, reg, None, hospital.clearing_agency, category
        settlement_id = new_id("S", reg.visit_region)
        events = v.decide_settle(
            state,
            v.SettleCommand(
                settlement_id=settlement_id,
                message_id=message_id,
                clearing_agency=hospital.clearing_agency,
                clearing_category=category,
                filing_kind=eligibility.filing_kind.value,
                computation=result,
            ),
            now,
        )
        envelopes = await self._append(conn, visit_stream(ref.visit_id), version, events, today)
        moved = AccumulatorsMoved(
            person_id=ref.person_id,
            policy_year=year,
            movement=result.movement,
            reason="settlement",
            settlement_id=settlement_id,
            moved_at=now,
        )
        envelopes += await self._append(conn, acc_stream, len(acc_events), [moved], today)
        await self._project(conn, envelopes)
        return result, person.row, reg, settlement_id, hospital.clearing_agency, category

    async def cancel_settlement(
        self,
        conn: AsyncConnection,
        *,
        institution: str,
        visit_id: str,
        person_id: str,
        settlement_id: str,
        message_id: str,
        now: datetime,
        reversal_of: tuple[str, str] | None = None,
    ) -> str:
        state, version, reg = await self._own_visit(conn, institution, visit_id, person_id)
        original = state.settlement
        if original is None or original.settlement_id != settlement_id:
            raise NotFound(
                "visit.settlement_not_found",
                f"settlement {settlement_id} is not the current settlement of visit {visit_id}",
                field="setl_id",
            )
        year = original.movement.policy_year
        acc_stream = acc.stream_id(person_id, year)
        acc_events = await self.runtime.store.load(conn, acc_stream)
        figures = fold(acc.evolve, acc.initial(year), [e.payload for e in acc_events])
        person = await queries.person(conn, person_id, business_date(now))
        balance = (
            None if original.account_balance_after is None else person.at_settlement.account_balance
        )
        computation = cancellation_of(_as_computation(original, state, figures), figures, balance)
        cancellation_id = new_id("S", reg.visit_region)
        events: list[Any] = v.decide_cancel_settlement(
            state,
            settlement_id=settlement_id,
            cancellation_id=cancellation_id,
            cancellation=computation,
            message_id=message_id,
            now=now,
        )
        if reversal_of is not None:
            events.append(
                SettlementReversed(
                    person_id=person_id,
                    institution_code=institution,
                    original_message_id=reversal_of[0],
                    reversed_transaction=reversal_of[1],
                    settlement_id=settlement_id,
                    message_id=message_id,
                    reversed_at=now,
                )
            )
        today = business_date(now)
        envelopes = await self._append(conn, visit_stream(visit_id), version, events, today)
        moved = AccumulatorsMoved(
            person_id=person_id,
            policy_year=year,
            movement=computation.movement,
            reason="cancellation",
            settlement_id=cancellation_id,
            moved_at=now,
        )
        envelopes += await self._append(conn, acc_stream, len(acc_events), [moved], today)
        await self._project(conn, envelopes)
        return cancellation_id


def clearing_category(medical_type: str) -> str:
    if medical_type.startswith("2"):
        return "21"
    if medical_type == "41":
        return "41"
    if medical_type.startswith("1"):
        return "11"
    return "99"


def _as_computation(
    original: VisitSettled, state: v.VisitState, figures: acc.Accumulators
) -> SettlementComputation:
    """The original settlement as the engine's value, to compute its exact negative record."""
    return SettlementComputation(
        lines=tuple(state.lines.values()),
        totals=original.totals,
        fund_payments=original.fund_payments,
        accumulators_before=figures,
        accumulators_after=figures,
        movement=original.movement,
        account_balance_after=original.account_balance_after,
    )
