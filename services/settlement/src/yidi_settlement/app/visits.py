"""Visit and settlement handlers: load -> decide -> append through the write path.

Each handler works inside a unit its caller opened with the write path (the HIS messages answer
once per message id, app/messages.py). Settling appends to the visit stream AND to the person's
ledger (domain/person_ledger.py) at the version it loaded, so two concurrent settlements of one
person, in any year at any hospital, cannot share a deductible or a yuan of the account: the
loser's append fails and the write path decides again on fresh figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from uuid6 import uuid7

from yidi_benefits import accumulators as acc
from yidi_benefits.chronic import certified_disease
from yidi_benefits.engine import (
    Scheme,
    SettlementComputation,
    cancellation_of,
    compute_settlement,
    scheme_of,
)
from yidi_benefits.model import (
    CatalogueEntry,
    FeeLine,
    VisitFacts,
    is_inpatient,
    same_province,
)
from yidi_events.application import Loaded, Unit, WritePath
from yidi_events.contracts.policy import BenefitPolicy, HospitalLevel
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FeeLineSplit,
    PersonLedgerMoved,
    SettlementReversed,
    VisitSettled,
)
from yidi_events.kernel import Conflict, DomainError, NotFound, business_date
from yidi_settlement.adapters.queries import Person
from yidi_settlement.app.commands import (
    AdmissionUpdate,
    Discharge,
    Purchase,
    Registered,
    Registration,
    Reversal,
    Reverses,
    Settlement,
    SettleRequest,
    VisitRef,
)
from yidi_settlement.app.messages import retire
from yidi_settlement.app.ports import VisitPlaceReads
from yidi_settlement.domain import person_ledger as pl
from yidi_settlement.domain import visit as v
from yidi_settlement.domain.eligibility import (
    Eligibility,
    Voucher,
    certificate_presented,
    check_card,
    check_eligibility,
    check_voucher,
)
from yidi_settlement.domain.events import Diagnosis, VisitRegistered


def new_id(prefix: str, region: str) -> str:
    return f"{prefix}{region}{uuid7().hex[:20].upper()}"


ELIGIBILITY_RULES = "eligibility."


@dataclass(frozen=True)
class BenefitCheck:
    person: Person
    on: date
    refusal: DomainError | None  # None: the person may settle directly on that day


@dataclass
class VisitService:
    write: WritePath
    reads: VisitPlaceReads
    clock_skew: timedelta  # how far ahead of our clock a hospital's dates may be

    async def _own_visit(
        self, unit: Unit, institution: str, ref: VisitRef
    ) -> tuple[v.VisitState, int, VisitRegistered]:
        loaded = await self.write.load(unit, v.stream_id(ref.visit_id), v.VISIT)
        registered = v.owned(
            loaded.state,
            visit_id=ref.visit_id,
            institution_code=institution,
            person_id=ref.person_id,
        )
        return loaded.state, loaded.version, registered

    async def _append_visit(
        self, unit: Unit, visit_id: str, version: int, events: list[Any], now: datetime
    ) -> None:
        await self.write.append(
            unit, v.stream_id(visit_id), version, events, day=business_date(now)
        )

    async def _append_visit_and_ledger(
        self,
        unit: Unit,
        visit_id: str,
        version: int,
        events: list[Any],
        ledger: Loaded[tuple[pl.LedgerEntry, ...]],
        moved: PersonLedgerMoved,
        now: datetime,
    ) -> None:
        """The visit's events and the person's ledger movement they cause, in one write (the
        counter's hot path: one round trip, not one per stream)."""
        await self.write.append_streams(
            unit,
            [(v.stream_id(visit_id), version, events), (ledger.stream_id, ledger.version, [moved])],
            day=business_date(now),
        )

    async def sign_in(self, unit: Unit, institution: str, today: date) -> None:
        """A hospital signs in (9001) only if the registry knows it."""
        await self.reads.hospital(unit, institution, today)

    # --- the person ------------------------------------------------------------------------

    async def identify(self, unit: Unit, voucher: Voucher, today: date) -> Person:
        """The insured person a voucher names (1101): an ID card or a social-security card by its
        certificate number; a card must be the person's own (its card serial)."""
        check_voucher(voucher)
        found = await self.reads.person_by_certificate(unit, voucher.voucher_no)
        if found is None:
            raise NotFound(
                "person.not_found",
                f"no insured person holds voucher {voucher.voucher_type}/{voucher.voucher_no}",
                field="voucher_no",
                values={"voucher": f"{voucher.voucher_type}/{voucher.voucher_no}"[:60]},
            )
        person = await self.reads.person(unit, found, today)
        check_card(voucher, person.row["card_serial"])
        return person

    async def _eligible(
        self,
        unit: Unit,
        *,
        institution: str,
        person_id: str,
        visit_date: date,
        emergency: bool,
        voucher: Voucher | None,
        today: date,
        policy: BenefitPolicy | None = None,
        department: str | None = None,
    ) -> tuple[Eligibility, Person, Any]:
        """Without the policy (at registration) several filings are ranked by kind alone."""
        hospital = await self.reads.hospital(unit, institution, today)
        person = await self.reads.person(unit, person_id, visit_date, today)
        certificate = None
        if voucher is not None:
            certificate = certificate_presented(voucher, card_serial=person.row["card_serial"])
        eligibility = check_eligibility(
            person=person.snapshot,
            filings=await self.reads.filings(unit, person_id),
            hospital=hospital.snapshot(),
            visit_date=visit_date,
            emergency=emergency,
            certificate_no=certificate,
            cut_points=None if policy is None else policy.filing_cut_points,
            department=department,
        )
        return eligibility, person, hospital

    async def check_benefits(
        self, unit: Unit, *, institution: str, person_id: str, on: date, today: date
    ) -> BenefitCheck:
        """Would a visit beginning `on` settle directly at this hospital? Registration's own
        decision, told rather than raised (2001)."""
        try:
            _, person, _ = await self._eligible(
                unit,
                institution=institution,
                person_id=person_id,
                visit_date=on,
                emergency=False,
                voucher=None,
                today=today,
            )
        except DomainError as refusal:
            if not refusal.rule.startswith(ELIGIBILITY_RULES):
                raise  # an unknown person or hospital is a refused request, not a refused benefit
            return BenefitCheck(await self.reads.person(unit, person_id, on), on, refusal)
        return BenefitCheck(person, on, None)

    # --- registration ----------------------------------------------------------------------

    async def _registration(
        self, unit: Unit, institution: str, command: Registration, message_id: str, now: datetime
    ) -> tuple[VisitRegistered, str]:
        """The registration a 2201 or a pharmacy purchase makes, and the kind of filing it
        settles under: the person eligible at the institution on the visit date, the envelope's
        regions and insurance type theirs."""
        eligibility, person, institution_row = await self._eligible(
            unit,
            institution=institution,
            person_id=command.person_id,
            visit_date=business_date(command.began_at),
            emergency=command.emergency,
            voucher=command.voucher,
            today=business_date(now),
            department=command.department,
        )
        row = person.row
        v.check_registration(
            institution_code=institution,
            hospital_region=institution_row.region,
            visit_region=command.visit_region,
            insured_region=command.insured_region,
            person_insured_region=row["insured_region"],
            insurance_type=command.insurance_type,
            person_insurance_type=row["insurance_type"],
        )
        registered = VisitRegistered(
            visit_id=new_id("M", institution_row.region),
            person_id=command.person_id,
            insured_region=row["insured_region"],
            visit_region=institution_row.region,
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
            disease_code=command.disease_code,
        )
        return registered, eligibility.filing_kind.value

    async def register(
        self,
        unit: Unit,
        *,
        institution: str,
        command: Registration,
        message_id: str,
        now: datetime,
    ) -> Registered:
        registration, filing_kind = await self._registration(
            unit, institution, command, message_id, now
        )
        visit_id = registration.visit_id
        await self._append_visit(
            unit, visit_id, 0, v.decide_register(v.VisitState(), registration), now
        )
        return Registered(visit_id=visit_id, filing_kind=filing_kind)

    async def cancel_registration(
        self, unit: Unit, *, institution: str, ref: VisitRef, now: datetime
    ) -> None:
        state, version, _ = await self._own_visit(unit, institution, ref)
        events = v.decide_cancel_registration(state, now)
        await self._append_visit(unit, ref.visit_id, version, events, now)

    async def diagnose(
        self,
        unit: Unit,
        *,
        institution: str,
        ref: VisitRef,
        diagnoses: tuple[Diagnosis, ...],
        now: datetime,
        disease_code: str | None = None,
    ) -> None:
        state, version, _ = await self._own_visit(unit, institution, ref)
        events = v.decide_diagnose(state, diagnoses, now, disease_code)
        await self._append_visit(unit, ref.visit_id, version, events, now)

    async def upload_fee_lines(
        self,
        unit: Unit,
        *,
        institution: str,
        ref: VisitRef,
        lines: list[FeeLine],
        message_id: str,
        now: datetime,
    ) -> list[tuple[FeeLineSplit, CatalogueEntry | None]]:
        state, version, reg = await self._own_visit(unit, institution, ref)
        resolved = await self._catalogued(unit, institution, lines)
        catalogue = await self.reads.catalogue(
            unit, reg.visit_region, [x.catalogue_code for x in resolved]
        )
        today = business_date(now)
        splits = v.split_upload(state, resolved, catalogue, today)
        events = v.decide_upload_fee_lines(state, splits, now, message_id, skew=self.clock_skew)
        await self._append_visit(unit, ref.visit_id, version, events, now)
        return [(s, catalogue.entry(s.catalogue_code, s.fee_date or today)) for s in splits]

    async def cancel_fee_lines(
        self,
        unit: Unit,
        *,
        institution: str,
        ref: VisitRef,
        fee_line_nos: tuple[str, ...],
        now: datetime,
        charge_batch: str | None = None,
    ) -> int:
        state, version, _ = await self._own_visit(unit, institution, ref)
        events = v.decide_cancel_fee_lines(state, fee_line_nos, now, charge_batch=charge_batch)
        await self._append_visit(unit, ref.visit_id, version, events, now)
        return sum(len(e.fee_line_nos) for e in events)

    async def discharge(
        self, unit: Unit, *, institution: str, command: Discharge, now: datetime
    ) -> None:
        state, version, _ = await self._own_visit(unit, institution, command.ref)
        diagnosis = command.principal_diagnosis
        if diagnosis and diagnosis != state.principal_diagnosis:
            state = replace(state, principal_diagnosis=diagnosis)
        events = v.decide_discharge(
            state, command.discharged_on, now, command.died, skew=self.clock_skew
        )
        await self._append_visit(unit, command.ref.visit_id, version, events, now)

    async def cancel_discharge(
        self, unit: Unit, *, institution: str, ref: VisitRef, now: datetime
    ) -> None:
        state, version, _ = await self._own_visit(unit, institution, ref)
        await self._append_visit(
            unit, ref.visit_id, version, v.decide_cancel_discharge(state, now), now
        )

    async def change_admission(
        self, unit: Unit, *, institution: str, command: AdmissionUpdate, now: datetime
    ) -> None:
        state, version, _ = await self._own_visit(unit, institution, command.ref)
        events = v.decide_change_admission(state, command.change, now, skew=self.clock_skew)
        await self._append_visit(unit, command.ref.visit_id, version, events, now)

    # --- settlement ------------------------------------------------------------------------

    async def settle(
        self,
        unit: Unit,
        *,
        institution: str,
        command: SettleRequest,
        message_id: str,
        now: datetime,
        commit: bool,
    ) -> Settlement:
        """Compute (and with `commit`, record) the settlement of a visit."""
        ref = command.ref
        # The visit and the ledger of the person the message names, in one read: a visit of
        # another person is refused below and its ledger read for nothing.
        visit, ledger = await self.write.load_both(
            unit, (v.stream_id(ref.visit_id), v.VISIT), (pl.stream_id(ref.person_id), pl.LEDGER)
        )
        state = visit.state
        reg = v.owned(
            state, visit_id=ref.visit_id, institution_code=institution, person_id=ref.person_id
        )
        v.settleable(state, command.insurance_type, interim=command.interim, trial=not commit)
        return await self._settle_state(
            unit,
            institution=institution,
            state=state,
            version=visit.version,
            ledger=ledger,
            reg=reg,
            use_account=command.use_account,
            declared_total=command.declared_total,
            interim=command.interim,
            message_id=message_id,
            now=now,
            commit=commit,
        )

    async def _settle_state(
        self,
        unit: Unit,
        *,
        institution: str,
        state: v.VisitState,
        version: int,
        ledger: Loaded[tuple[pl.LedgerEntry, ...]] | None = None,
        reg: VisitRegistered,
        use_account: bool,
        declared_total: int | None,
        interim: bool,
        message_id: str,
        now: datetime,
        commit: bool,
        earlier: tuple[Any, ...] = (),
    ) -> Settlement:
        """Settle a settleable visit `state` (at stream `version`); `earlier`: the visit's events
        decided in this same message and not yet appended (a pharmacy purchase registers, charges
        and settles at once), appended before the settlement; `ledger`: the person's, if the
        caller loaded it (read here otherwise)."""
        ref = VisitRef(visit_id=reg.visit_id, person_id=reg.person_id)
        today = business_date(now)
        settled_on = v.settlement_day(state, now, self.clock_skew)
        policy = await self.reads.policy(unit, reg.insured_region, reg.insurance_type, settled_on)
        year = policy.policy_year(settled_on)
        # The ledger is loaded before the insured place's statements are read: a settlement
        # committing in between then moves the ledger past the version this one appends at, and
        # this one decides again. Read the other way round, both spend the same balance.
        if ledger is None:
            ledger = await self.write.load(unit, pl.stream_id(ref.person_id), pl.LEDGER)
        eligibility, person, hospital = await self._eligible(
            unit,
            institution=institution,
            person_id=ref.person_id,
            visit_date=business_date(reg.began_at),
            emergency=reg.emergency,
            # The visit is bound to its person since registration; clients fill the voucher
            # fields of a settlement unevenly (his-interface.md section 0): not checked again.
            voucher=None,
            today=today,
            policy=policy,
            department=reg.department,
        )
        chronic_disease = None
        if scheme_of(policy, reg.medical_type) is Scheme.CHRONIC:
            # One certified disease per settlement, certified on the visit's day.
            chronic_disease = certified_disease(
                state.disease_code,
                await self.reads.chronic_certificates(unit, ref.person_id),
                business_date(reg.began_at),
            )
        figures = pl.year_figures(
            year, await self.reads.stated_year(unit, ref.person_id, year), ledger.state
        )
        balance = pl.account_balance(person.stated_account, ledger.state)
        lines = v.settling_lines(state)
        catalogue = await self.reads.catalogue(
            unit, reg.visit_region, [x.catalogue_code for x in lines]
        )
        result = compute_settlement(
            policy=policy,
            catalogue=catalogue,
            person=replace(person.at_settlement, account_balance=balance),
            visit=VisitFacts(
                hospital_level=HospitalLevel(hospital.hospital_level),
                medical_type=reg.medical_type,
                filing_kind=eligibility.filing_kind,
                use_account=use_account,
                settled_on=settled_on,
                stay_deductible_left=v.stay_deductible_left(state),
                in_province=same_province(reg.visit_region, reg.insured_region),
                chronic_disease=chronic_disease,
            ),
            fee_lines=lines,
            accumulators=figures,
        )
        v.check_declared_total(declared_total, result.totals.total_fee)
        category = clearing_category(reg.medical_type)
        if not commit:
            return Settlement(
                computation=result,
                person=person.row,
                registration=reg,
                settlement_id=None,
                clearing_agency=None,
                clearing_category=category,
            )
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
                interim=interim,
            ),
            now,
        )
        moved = _ledger_movement(
            reg, ledger.version, result.movement, "settlement", settlement_id, now
        )
        await self._append_visit_and_ledger(
            unit, ref.visit_id, version, [*earlier, *events], ledger, moved, now
        )
        return Settlement(
            computation=result,
            person=person.row,
            registration=reg,
            settlement_id=settlement_id,
            clearing_agency=hospital.clearing_agency,
            clearing_category=category,
        )

    async def purchase(
        self,
        unit: Unit,
        *,
        institution: str,
        command: Purchase,
        message_id: str,
        now: datetime,
        commit: bool,
    ) -> Settlement:
        """A retail pharmacy purchase (2101 with `commit` False, 2102): registered, its drug lines
        charged and settled in one message, as one visit of med type 41 whose facts are those of
        any settled visit (reconciliation and clearing count it as they count a hospital's).
        A pre-settlement decides the same and appends nothing."""
        reg_command = command.registration
        today = business_date(now)
        reg, _ = await self._registration(unit, institution, reg_command, message_id, now)
        state = v.VisitState()
        earlier: list[Any] = v.decide_register(state, reg)
        state = _folded(state, earlier)
        lines = await self._catalogued(unit, institution, list(command.lines))
        catalogue = await self.reads.catalogue(
            unit, reg.visit_region, [x.catalogue_code for x in lines]
        )
        splits = v.split_upload(state, lines, catalogue, today)
        uploaded = v.decide_upload_fee_lines(state, splits, now, message_id, skew=self.clock_skew)
        earlier += uploaded
        state = _folded(state, uploaded)
        v.settleable(state, reg_command.insurance_type, trial=not commit)
        done = await self._settle_state(
            unit,
            institution=institution,
            state=state,
            version=0,
            reg=reg,
            use_account=command.use_account,
            declared_total=command.declared_total,
            interim=False,
            message_id=message_id,
            now=now,
            commit=commit,
            earlier=tuple(earlier),
        )
        return replace(
            done,
            splits=tuple(
                (x, catalogue.entry(x.catalogue_code, x.fee_date or today)) for x in splits
            ),
        )

    async def _catalogued(
        self, unit: Unit, institution: str, lines: list[FeeLine]
    ) -> list[FeeLine]:
        """Each line with its catalogue code: the one it names, else its institution item's
        mapping (3301); a line with neither is refused, naming the item."""
        mapped = await self.reads.mapped_codes(
            unit,
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
                        f"hospital item {line.hospital_item_code} of fee line {line.fee_line_no} "
                        "is not mapped to the catalogue (3301 first)",
                        field="hospital_item_code",
                        values={"code": line.hospital_item_code or ""},
                    )
                line = replace(line, catalogue_code=code)
            resolved.append(line)
        return resolved

    async def cancel_settlement(
        self,
        unit: Unit,
        *,
        institution: str,
        ref: VisitRef,
        settlement_id: str,
        message_id: str,
        now: datetime,
        reversal_of: tuple[str, str] | None = None,
    ) -> str:
        state, version, reg = await self._own_visit(unit, institution, ref)
        original = v.current_settlement(state, settlement_id)
        year = original.movement.policy_year
        ledger = await self.write.load(unit, pl.stream_id(ref.person_id), pl.LEDGER)
        person = await self.reads.person(unit, ref.person_id, business_date(now))
        figures = pl.year_figures(
            year, await self.reads.stated_year(unit, ref.person_id, year), ledger.state
        )
        balance = (
            None
            if original.account_balance_after is None
            else pl.account_balance(person.stated_account, ledger.state)
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
                    person_id=ref.person_id,
                    institution_code=institution,
                    original_message_id=reversal_of[0],
                    reversed_transaction=reversal_of[1],
                    settlement_id=settlement_id,
                    message_id=message_id,
                    reversed_at=now,
                )
            )
        moved = _ledger_movement(
            reg, ledger.version, computation.movement, "cancellation", cancellation_id, now
        )
        await self._append_visit_and_ledger(unit, ref.visit_id, version, events, ledger, moved, now)
        return cancellation_id

    async def reverse(
        self, unit: Unit, *, institution: str, reversal: Reversal, message_id: str, now: datetime
    ) -> str:
        """Undo what the institution's earlier message did (2601) and retire that message id.
        Returns what was undone: a settlement id, a visit id, or "nothing"."""
        original = reversal.original_message_id
        undone = "nothing"
        if reversal.reverses is Reverses.SETTLEMENT:
            row = await self.reads.settlement(unit, institution, message_id=original)
            if row is not None and not row["is_refund"]:
                if row["person_id"] != reversal.person_id:
                    raise DomainError(
                        "reversal.person_mismatch",
                        f"message_id {original} settled another person",
                        field="person_id",
                    )
                if row["cancelled_by"] is None:
                    await self.cancel_settlement(
                        unit,
                        institution=institution,
                        ref=VisitRef(visit_id=row["visit_id"], person_id=reversal.person_id),
                        settlement_id=row["settlement_id"],
                        message_id=message_id,
                        now=now,
                        reversal_of=(original, reversal.original_transaction),
                    )
                    undone = row["settlement_id"]
        elif reversal.reverses is Reverses.CANCELLATION:
            row = await self.reads.settlement(unit, institution, message_id=original)
            if row is not None and row["is_refund"]:
                if row["person_id"] != reversal.person_id:
                    raise DomainError(
                        "reversal.person_mismatch",
                        f"message_id {original} cancelled another person's settlement",
                        field="person_id",
                    )
                if await self.reinstate(
                    unit,
                    institution=institution,
                    ref=VisitRef(visit_id=row["visit_id"], person_id=reversal.person_id),
                    cancellation_id=row["settlement_id"],
                    reversal_of=(original, reversal.original_transaction),
                    message_id=message_id,
                    now=now,
                ):
                    undone = row["settlement_id"]
        elif reversal.reverses is Reverses.REGISTRATION:
            visit = await self.reads.visit_by_message(unit, institution, original)
            if visit is not None and visit["status"] != "registration_cancelled":
                await self.cancel_registration(
                    unit,
                    institution=institution,
                    ref=VisitRef(visit_id=visit["visit_id"], person_id=reversal.person_id),
                    now=now,
                )
                undone = visit["visit_id"]
        await retire(unit, institution, original)
        return undone

    async def reinstate(
        self,
        unit: Unit,
        *,
        institution: str,
        ref: VisitRef,
        cancellation_id: str,
        reversal_of: tuple[str, str],
        message_id: str,
        now: datetime,
    ) -> bool:
        """Undo a cancellation: its settlement stands again, moving the person's year and account
        as it did. Only while nothing moved the person's figures since the cancellation: then
        standing again gives back exactly the figures it had. False: it already stands again."""
        state, version, reg = await self._own_visit(unit, institution, ref)
        original = v.reinstatable(state, cancellation_id)
        if original is None:
            return False
        ledger = await self.write.load(unit, pl.stream_id(ref.person_id), pl.LEDGER)
        last = ledger.state[-1] if ledger.state else None
        if last is None or last.settlement_id != cancellation_id:
            raise Conflict(
                "reversal.person_moved",
                f"the person's year or account moved since cancellation {cancellation_id}; "
                "settle the visit again instead",
                field="original_message_id",
            )
        if original.account_balance_after is not None:
            person = await self.reads.person(unit, ref.person_id, business_date(now))
            balance = pl.account_balance(person.stated_account, ledger.state)
            if balance < original.totals.account_paid:
                raise Conflict(
                    "reversal.account_balance",
                    f"the account holds {balance / 100:.2f} yuan, less than the "
                    f"{original.totals.account_paid / 100:.2f} the settlement paid from it",
                    field="original_message_id",
                    values={"balance_fen": balance, "paid_fen": original.totals.account_paid},
                )
        events = v.decide_reinstate(
            state,
            cancellation_id=cancellation_id,
            original_message_id=reversal_of[0],
            reversed_transaction=reversal_of[1],
            message_id=message_id,
            now=now,
        )
        moved = _ledger_movement(
            reg, ledger.version, original.movement, "reinstatement", original.settlement_id, now
        )
        await self._append_visit_and_ledger(unit, ref.visit_id, version, events, ledger, moved, now)
        return True

    async def settlement_record(
        self, unit: Unit, institution: str, settlement_id: str
    ) -> dict[str, Any]:
        """A settlement or cancellation of this institution, as recorded (5203, 2208)."""
        row = await self.reads.settlement(unit, institution, settlement_id=settlement_id)
        if row is None:
            raise NotFound(
                "settlement.not_found",
                f"settlement {settlement_id} is not a settlement of this institution",
                field="settlement_id",
                values={"settlement_id": settlement_id},
            )
        return row

    async def settlement_query(
        self, unit: Unit, institution: str, settlement_id: str
    ) -> dict[str, Any]:
        """A settlement as 5203 tells it: the record with its person, hospital name and the
        visit's first and last days (an outpatient visit ends the day it is settled)."""
        row = await self.settlement_record(unit, institution, settlement_id)
        on: date = row["business_date"]
        person = await self.reads.person(unit, row["person_id"], on)
        hospital = await self.reads.hospital(unit, institution, on)
        visit = (await self.write.load(unit, v.stream_id(row["visit_id"]), v.VISIT)).state
        assert visit.registered is not None  # a recorded settlement's visit was registered
        return {
            **row,
            "person": person.row,
            "institution_name": hospital.institution_name,
            "began_on": business_date(visit.registered.began_at),
            "ended_on": visit.discharged_on or on,
        }


def _ledger_movement(
    reg: VisitRegistered,
    loaded_version: int,
    movement: AccumulatorMovement,
    reason: str,
    settlement_id: str,
    now: datetime,
) -> PersonLedgerMoved:
    """The ledger's next movement: its sequence is the stream version it will be stored at."""
    return PersonLedgerMoved(
        person_id=reg.person_id,
        insured_region=reg.insured_region,
        sequence=loaded_version + 1,
        policy_year=movement.policy_year,
        movement=movement,
        reason=reason,
        settlement_id=settlement_id,
        visit_id=reg.visit_id,
        moved_at=now,
    )


def _folded(state: v.VisitState, events: list[Any]) -> v.VisitState:
    """The visit as it stands after events decided but not yet appended."""
    for event in events:
        state = v.evolve(state, event)
    return state


def clearing_category(medical_type: str) -> str:
    if is_inpatient(medical_type):  # maternity (52) and other (92) admissions clear as stays
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
        lines=v.settled_lines(state, original.settlement_id),
        totals=original.totals,
        fund_payments=original.fund_payments,
        accumulators_before=figures,
        accumulators_after=figures,
        movement=original.movement,
        account_balance_after=original.account_balance_after,
    )
