"""The settlement handlers on the in-memory event store: given prior events, when a handler runs,
then exactly these events are appended, and a refusal appends nothing.

The read models the visit handlers consult (registry, persons, filings, policy, catalogue, the
service's own settlements) are a fake of app/ports.py; the settlement read model is derived from
the committed events, as the own projection derives it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.model import Catalogue, CatalogueEntry, FeeLine, PersonAtSettlement
from yidi_cli.sandbox import shared_dir
from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.contracts.policy import BenefitPolicy, FilingKind
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FeeLinesCancelled,
    FeeLinesUploaded,
    ItemClass,
    PersonLedgerMoved,
    SettlementCancelled,
    SettlementReversed,
    VisitSettled,
)
from yidi_events.kernel import ControlledClock, DomainError, NotFound
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.adapters.queries import Hospital, Person
from yidi_settlement.app.commands import (
    Discharge,
    Registration,
    Reversal,
    Reverses,
    SettleRequest,
    VisitRef,
)
from yidi_settlement.app.messages import RETIRED, Messages
from yidi_settlement.app.reference import (
    CatalogueItem,
    HospitalChange,
    HospitalDetails,
    ReferenceService,
)
from yidi_settlement.app.visits import VisitService
from yidi_settlement.domain import person_ledger as pl
from yidi_settlement.domain.eligibility import PersonSnapshot, Voucher
from yidi_settlement.domain.events import (
    CatalogueItemPublished,
    Diagnosis,
    HospitalCredentialsChanged,
    HospitalItemMapped,
    HospitalItemUnmapped,
    HospitalRegistered,
    HospitalUpdated,
    PatientDischarged,
    SettlementReinstated,
    SettlementStaged,
    VisitDiagnosed,
    VisitRegistered,
    VisitRegistrationCancelled,
)
from yidi_settlement.domain.person_ledger import StatedAccount, StatedYear

NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 on 10 March in Nanjing
HOSPITAL = "H32010000001"
OTHER_HOSPITAL = "H32010000002"
PERSON = "32050000000000000007"
CERTIFICATE = "320500198001010007"
CARD = "SC00000007"
# Nanjing's employee (310) policy: outpatient deductible 1000.00 a year.
EMPLOYEE = parse_policy_document(
    json.loads((shared_dir() / "vectors/settlement.json").read_text("utf-8"))[0]["policy"]
)
A_ITEM = CatalogueEntry(
    catalogue_code="XA001", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
)


@dataclass
class FakeReads:
    """The read models as a unit test states them; settlements come from the store's log."""

    store: InMemoryEventStore
    mappings: dict[str, str] = field(default_factory=dict)
    card_serial: str = CARD
    stated_years: dict[int, StatedYear] = field(default_factory=dict)
    stated_account: StatedAccount = field(
        default_factory=lambda: StatedAccount(balance=0, visit_ledger_counted=0)
    )

    async def hospital(self, unit: Unit, institution_code: str, on: date) -> Hospital:
        if institution_code not in (HOSPITAL, OTHER_HOSPITAL):
            raise NotFound("hospital.not_found", "unknown", field="institution_code")
        return Hospital(
            institution_code=institution_code,
            institution_name="a hospital",
            region="320100",
            hospital_level="3",
            networked=True,
            suspended=False,
            clearing_agency="320100",
        )

    async def person(
        self, unit: Unit, person_id: str, on: date, today: date | None = None
    ) -> Person:
        if person_id != PERSON:
            raise NotFound("person.not_found", "unknown", field="person_id")
        row = {
            "person_id": PERSON,
            "certificate_no": CERTIFICATE,
            "card_serial": self.card_serial,
            "insured_region": "320500",
            "insurance_type": "310",
        }
        return Person(
            row=row,
            snapshot=PersonSnapshot(
                person_id=PERSON, insured_region="320500", certificate_no=CERTIFICATE
            ),
            at_settlement=PersonAtSettlement(
                person_category="1101", account_balance=self.stated_account.balance
            ),
            stated_account=self.stated_account,
        )

    async def stated_year(self, unit: Unit, person_id: str, policy_year: int) -> StatedYear:
        return self.stated_years.get(policy_year, StatedYear(totals=None, visit_ledger_counted=0))

    async def person_by_certificate(self, unit: Unit, certificate_no: str) -> str | None:
        return PERSON if certificate_no == CERTIFICATE else None

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]:
        return [
            FilingSnapshot(
                filing_id="F1",
                kind=FilingKind.LONG_TERM,
                visit_region="320100",
                valid_from=date(2026, 1, 1),
                valid_to=None,
            )
        ]

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> BenefitPolicy:
        return EMPLOYEE

    async def catalogue(self, unit: Unit, visit_region: str, codes: Iterable[str]) -> Catalogue:
        return Catalogue.undated({c: A_ITEM for c in codes if c == A_ITEM.catalogue_code})

    async def mapped_codes(
        self, unit: Unit, institution_code: str, hospital_codes: Iterable[str]
    ) -> dict[str, str]:
        return {c: self.mappings[c] for c in hospital_codes if c in self.mappings}

    async def settlement(
        self,
        unit: Unit,
        institution_code: str,
        *,
        settlement_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any] | None:
        facts = [e.payload for e in self.store.log]
        cancelled = {
            p.original_settlement_id: p.settlement_id
            for p in facts
            if isinstance(p, SettlementCancelled)
        }
        for p in facts:
            if not isinstance(p, VisitSettled | SettlementCancelled):
                continue
            if p.institution_code != institution_code:
                continue
            if settlement_id not in (None, p.settlement_id):
                continue
            if message_id not in (None, p.message_id):
                continue
            return {
                "settlement_id": p.settlement_id,
                "visit_id": p.visit_id,
                "person_id": p.person_id,
                "message_id": p.message_id,
                "is_refund": isinstance(p, SettlementCancelled),
                "cancelled_by": cancelled.get(p.settlement_id),
            }
        return None

    async def visit_by_message(
        self, unit: Unit, institution_code: str, message_id: str
    ) -> dict[str, Any] | None:
        facts = [e.payload for e in self.store.log]
        for p in facts:
            if isinstance(p, VisitRegistered) and p.message_id == message_id:
                gone = any(
                    isinstance(c, VisitRegistrationCancelled) and c.visit_id == p.visit_id
                    for c in facts
                )
                status = "registration_cancelled" if gone else "open"
                return {"visit_id": p.visit_id, "status": status}
        return None


@dataclass
class FakeSecrets:
    secrets: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    async def set_secret(self, unit: Unit, institution_code: str, secret: str) -> None:
        self.secrets[institution_code] = secret

    async def set_credentials(
        self, unit: Unit, institution_code: str, credentials: Mapping[str, str]
    ) -> None:
        self.credentials.setdefault(institution_code, {}).update(credentials)

    async def set_account(self, unit: Unit, institution_code: str, account: dict[str, Any]) -> None:
        self.accounts[institution_code] = account


@dataclass
class World:
    store: InMemoryEventStore
    write: WritePath
    reads: FakeReads
    visits: VisitService
    messages: Messages

    async def run(self, handler: Any) -> Any:
        """A handler in a unit of its own, as a message's unit runs it."""
        return await self.write.transact(handler)

    def payloads(self, stream_id: str) -> list[Any]:
        return self.store.payloads(stream_id)

    def types(self) -> list[str]:
        return [type(e.payload).__name__ for e in self.store.log]


@pytest.fixture
def world() -> World:
    clock = ControlledClock(NOW)
    store = InMemoryEventStore("settlement", clock)
    write = WritePath(store, clock)
    reads = FakeReads(store)
    return World(
        store, write, reads, VisitService(write, reads, timedelta(minutes=5)), Messages(write)
    )


def registration(**changes: Any) -> Registration:
    base: dict[str, Any] = {
        "person_id": PERSON,
        "insurance_type": "310",
        "medical_type": "11",
        "began_at": NOW,
        "voucher": Voucher(voucher_type="03", voucher_no=CERTIFICATE, card_serial=CARD),
        "emergency": False,
        "principal_diagnosis": None,
        "department": None,
        "visit_region": "320100",
        "insured_region": "320500",
    }
    return Registration(**{**base, **changes})


def fee_line(no: str = "1", **changes: Any) -> FeeLine:
    base: dict[str, Any] = {
        "fee_line_no": no,
        "catalogue_code": "XA001",
        "quantity": Decimal(10),
        "unit_price": Decimal("25.50"),
        "amount": 25500,
    }
    return FeeLine(**{**base, **changes})


async def registered(w: World, medical_type: str = "11", message_id: str = "MSG-REG") -> VisitRef:
    done = await w.run(
        lambda unit: w.visits.register(
            unit,
            institution=HOSPITAL,
            command=registration(medical_type=medical_type),
            message_id=message_id,
            now=NOW,
        )
    )
    return VisitRef(visit_id=done.visit_id, person_id=PERSON)


async def with_lines(w: World, medical_type: str = "11") -> VisitRef:
    ref = await registered(w, medical_type)
    await w.run(
        lambda unit: w.visits.upload_fee_lines(
            unit, institution=HOSPITAL, ref=ref, lines=[fee_line()], message_id="MSG-UP", now=NOW
        )
    )
    return ref


def settle_request(ref: VisitRef, **changes: Any) -> SettleRequest:
    base: dict[str, Any] = {
        "ref": ref,
        "voucher": None,
        "use_account": False,
        "declared_total": None,
        "insurance_type": None,
    }
    return SettleRequest(**{**base, **changes})


async def settle(w: World, ref: VisitRef, commit: bool = True, **changes: Any) -> Any:
    return await w.run(
        lambda unit: w.visits.settle(
            unit,
            institution=HOSPITAL,
            command=settle_request(ref, **changes),
            message_id="MSG-SETTLE",
            now=NOW,
            commit=commit,
        )
    )


async def refused(w: World, handler: Any) -> DomainError:
    """Run a handler that must be refused; it must leave the store as it was."""
    before = list(w.store.log)
    with pytest.raises(DomainError) as refusal:
        await w.run(handler)
    assert w.store.log == before
    return refusal.value


# --- registration --------------------------------------------------------------------------------


async def test_register_opens_a_visit_under_the_filing_that_covers_it(world: World) -> None:
    ref = await registered(world)
    [event] = world.payloads(f"visit-{ref.visit_id}")
    assert isinstance(event, VisitRegistered)
    assert (event.person_id, event.institution_code) == (PERSON, HOSPITAL)
    assert (event.insured_region, event.visit_region) == ("320500", "320100")
    assert (event.filing_id, event.filing_kind) == ("F1", "long_term")
    assert event.message_id == "MSG-REG"
    assert ref.visit_id.startswith("M320100")
    assert world.types() == ["VisitRegistered"]


async def test_register_refuses_a_visit_region_other_than_the_hospitals(world: World) -> None:
    refusal = await refused(
        world,
        lambda unit: world.visits.register(
            unit,
            institution=HOSPITAL,
            command=registration(visit_region="320500"),
            message_id="M",
            now=NOW,
        ),
    )
    assert (refusal.rule, refusal.field) == ("his.visit_region", "visit_region")


async def test_register_refuses_a_card_that_is_not_the_persons(world: World) -> None:
    world.reads.card_serial = "SC99999999"
    refusal = await refused(
        world,
        lambda unit: world.visits.register(
            unit, institution=HOSPITAL, command=registration(), message_id="M", now=NOW
        ),
    )
    assert (refusal.rule, refusal.field) == ("eligibility.identity_mismatch", "card_serial")


async def test_cancel_registration_appends_the_cancellation(world: World) -> None:
    ref = await registered(world)
    await world.run(
        lambda unit: world.visits.cancel_registration(unit, institution=HOSPITAL, ref=ref, now=NOW)
    )
    [_, cancelled] = world.payloads(f"visit-{ref.visit_id}")
    assert isinstance(cancelled, VisitRegistrationCancelled)
    assert cancelled.visit_id == ref.visit_id


async def test_another_hospital_or_person_cannot_act_on_a_visit(world: World) -> None:
    ref = await registered(world)
    elsewhere = await refused(
        world,
        lambda unit: world.visits.cancel_registration(
            unit, institution=OTHER_HOSPITAL, ref=ref, now=NOW
        ),
    )
    assert (elsewhere.rule, elsewhere.field) == ("visit.not_found", "visit_id")
    someone_else = VisitRef(visit_id=ref.visit_id, person_id="32050000000000000001")
    mismatch = await refused(
        world,
        lambda unit: world.visits.cancel_registration(
            unit, institution=HOSPITAL, ref=someone_else, now=NOW
        ),
    )
    assert (mismatch.rule, mismatch.field) == ("visit.person_mismatch", "person_id")


async def test_diagnose_records_the_principal_diagnosis(world: World) -> None:
    ref = await registered(world)
    diagnoses = (Diagnosis(code="J18.9", name="pneumonia", principal=True),)
    await world.run(
        lambda unit: world.visits.diagnose(
            unit, institution=HOSPITAL, ref=ref, diagnoses=diagnoses, now=NOW
        )
    )
    diagnosed = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(diagnosed, VisitDiagnosed)
    assert diagnosed.principal_diagnosis == "J18.9"


# --- fee lines and discharge ---------------------------------------------------------------------


async def test_upload_resolves_a_mapped_hospital_item_and_splits_the_line(world: World) -> None:
    ref = await registered(world)
    world.reads.mappings["HIS-42"] = "XA001"
    line = fee_line(catalogue_code="", hospital_item_code="HIS-42")
    splits = await world.run(
        lambda unit: world.visits.upload_fee_lines(
            unit, institution=HOSPITAL, ref=ref, lines=[line], message_id="MSG-UP", now=NOW
        )
    )
    uploaded = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(uploaded, FeeLinesUploaded)
    [split] = uploaded.lines
    # An A item without a price cap is wholly in policy: 10 x 25.50 = 255.00.
    assert (split.catalogue_code, split.hospital_item_code) == ("XA001", "HIS-42")
    assert (split.amount, split.in_policy, split.fully_self_paid) == (25500, 25500, 0)
    assert splits == [(split, A_ITEM)]


async def test_upload_refuses_an_unmapped_hospital_item(world: World) -> None:
    ref = await registered(world)
    line = fee_line(catalogue_code="", hospital_item_code="HIS-43")
    refusal = await refused(
        world,
        lambda unit: world.visits.upload_fee_lines(
            unit, institution=HOSPITAL, ref=ref, lines=[line], message_id="M", now=NOW
        ),
    )
    assert (refusal.rule, refusal.field) == ("catalogue.unmapped_item", "hospital_item_code")


async def test_cancel_fee_lines_without_numbers_cancels_every_line(world: World) -> None:
    ref = await registered(world)
    await world.run(
        lambda unit: world.visits.upload_fee_lines(
            unit,
            institution=HOSPITAL,
            ref=ref,
            lines=[fee_line("1"), fee_line("2")],
            message_id="M",
            now=NOW,
        )
    )
    count = await world.run(
        lambda unit: world.visits.cancel_fee_lines(
            unit, institution=HOSPITAL, ref=ref, fee_line_nos=(), now=NOW
        )
    )
    cancelled = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(cancelled, FeeLinesCancelled)
    assert (count, cancelled.fee_line_nos) == (2, ("1", "2"))


async def test_discharge_of_an_admission(world: World) -> None:
    ref = await registered(world, medical_type="21")
    command = Discharge(
        ref=ref, discharged_on=date(2026, 3, 12), died=False, principal_diagnosis="I63.9"
    )
    on_the_day = NOW + timedelta(days=2)  # the discharge is recorded when it happens
    await world.run(
        lambda unit: world.visits.discharge(
            unit, institution=HOSPITAL, command=command, now=on_the_day
        )
    )
    discharged = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(discharged, PatientDischarged)
    assert (discharged.discharged_on, discharged.principal_diagnosis) == (
        date(2026, 3, 12),
        "I63.9",
    )


# --- settlement ----------------------------------------------------------------------------------


async def test_pre_settlement_computes_and_appends_nothing(world: World) -> None:
    ref = await with_lines(world)
    before = list(world.store.log)
    done = await settle(world, ref, commit=False)
    assert done.settlement_id is None
    assert done.computation.totals.total_fee == 25500
    assert world.store.log == before


async def test_settle_records_the_visit_and_moves_the_persons_year(world: World) -> None:
    ref = await with_lines(world)
    done = await settle(world, ref)
    settled = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(settled, VisitSettled)
    assert settled.settlement_id == done.settlement_id
    # 255.00 of A items, all inside the 1000.00 outpatient deductible: no fund pays, the person
    # pays it in cash (the account is not used).
    totals = settled.totals
    assert (totals.total_fee, totals.deductible_applied) == (25500, 25500)
    assert (totals.fund_total, totals.cash_paid, totals.account_paid) == (0, 25500, 0)
    [moved] = world.payloads(pl.stream_id(PERSON))
    assert isinstance(moved, PersonLedgerMoved)
    assert (moved.reason, moved.settlement_id) == ("settlement", done.settlement_id)
    assert (moved.sequence, moved.policy_year, moved.visit_id) == (1, 2026, ref.visit_id)
    assert moved.movement.outpatient_deductible_used == 25500
    assert moved.movement.basic_paid_cum == 0
    assert (done.clearing_agency, done.clearing_category) == ("320100", "11")


async def test_settle_refuses_a_declared_total_other_than_the_lines(world: World) -> None:
    ref = await with_lines(world)
    refusal = await refused(
        world,
        lambda unit: world.visits.settle(
            unit,
            institution=HOSPITAL,
            command=settle_request(ref, declared_total=25600),
            message_id="M",
            now=NOW,
            commit=True,
        ),
    )
    assert (refusal.rule, refusal.field) == ("settlement.total_mismatch", "total_fee")
    assert refusal.message.startswith("total_fee 256.00 differs")


async def test_a_settled_visit_is_not_settled_again(world: World) -> None:
    ref = await with_lines(world)
    await settle(world, ref)
    for commit in (False, True):
        refusal = await refused(
            world,
            lambda unit, commit=commit: world.visits.settle(
                unit,
                institution=HOSPITAL,
                command=settle_request(ref),
                message_id="M2",
                now=NOW,
                commit=commit,
            ),
        )
        assert (refusal.rule, refusal.field) == ("visit.settled", "visit_id")


async def test_an_admission_settles_finally_only_after_discharge(world: World) -> None:
    ref = await with_lines(world, medical_type="21")
    refusal = await refused(
        world,
        lambda unit: world.visits.settle(
            unit,
            institution=HOSPITAL,
            command=settle_request(ref),
            message_id="M",
            now=NOW,
            commit=True,
        ),
    )
    assert (refusal.rule, refusal.field) == ("visit.not_discharged", "visit_id")
    # A pre-settlement before discharge is the bill so far (real clients show it): answered,
    # and nothing is appended.
    before = list(world.store.log)
    trial = await settle(world, ref, commit=False)
    assert trial.settlement_id is None
    assert trial.computation.totals.total_fee == 25500
    assert list(world.store.log) == before


async def test_cancel_settlement_appends_the_negative_record_and_moves_the_year_back(
    world: World,
) -> None:
    ref = await with_lines(world)
    done = await settle(world, ref)
    cancellation_id = await world.run(
        lambda unit: world.visits.cancel_settlement(
            unit,
            institution=HOSPITAL,
            ref=ref,
            settlement_id=done.settlement_id,
            message_id="MSG-CANCEL",
            now=NOW,
        )
    )
    cancelled = world.payloads(f"visit-{ref.visit_id}")[-1]
    assert isinstance(cancelled, SettlementCancelled)
    assert (cancelled.settlement_id, cancelled.original_settlement_id) == (
        cancellation_id,
        done.settlement_id,
    )
    assert (cancelled.totals.total_fee, cancelled.totals.cash_paid) == (-25500, -25500)
    [_, back] = world.payloads(pl.stream_id(PERSON))
    assert (back.reason, back.sequence) == ("cancellation", 2)
    assert back.movement.outpatient_deductible_used == -25500


async def test_cancel_settlement_refuses_a_settlement_that_is_not_the_current(
    world: World,
) -> None:
    ref = await with_lines(world)
    await settle(world, ref)
    refusal = await refused(
        world,
        lambda unit: world.visits.cancel_settlement(
            unit,
            institution=HOSPITAL,
            ref=ref,
            settlement_id="S320100NOTASETTLEMENT",
            message_id="M",
            now=NOW,
        ),
    )
    assert (refusal.rule, refusal.field) == ("visit.settlement_not_found", "settlement_id")


# --- reversal ------------------------------------------------------------------------------------


async def test_reversing_a_settlement_cancels_it_and_retires_its_message(world: World) -> None:
    ref = await with_lines(world)
    done = await settle(world, ref)
    reversal = Reversal(
        person_id=PERSON,
        original_message_id="MSG-SETTLE",
        original_transaction="2207",
        reverses=Reverses.SETTLEMENT,
    )
    undone = await world.run(
        lambda unit: world.visits.reverse(
            unit, institution=HOSPITAL, reversal=reversal, message_id="MSG-REV", now=NOW
        )
    )
    assert undone == done.settlement_id
    *_, cancelled, reversed_ = world.payloads(f"visit-{ref.visit_id}")
    assert isinstance(cancelled, SettlementCancelled)
    assert isinstance(reversed_, SettlementReversed)
    assert (reversed_.original_message_id, reversed_.reversed_transaction) == (
        "MSG-SETTLE",
        "2207",
    )
    kept = world.store.answers[(f"his:{HOSPITAL}", "MSG-SETTLE")]
    assert (kept.request_hash, kept.response) == (RETIRED, {})


async def test_reversing_a_registration_cancels_the_visit(world: World) -> None:
    ref = await registered(world, message_id="MSG-REG")
    reversal = Reversal(
        person_id=PERSON,
        original_message_id="MSG-REG",
        original_transaction="2201",
        reverses=Reverses.REGISTRATION,
    )
    undone = await world.run(
        lambda unit: world.visits.reverse(
            unit, institution=HOSPITAL, reversal=reversal, message_id="MSG-REV", now=NOW
        )
    )
    assert undone == ref.visit_id
    assert isinstance(world.payloads(f"visit-{ref.visit_id}")[-1], VisitRegistrationCancelled)


async def test_a_reversal_of_another_persons_settlement_is_refused(world: World) -> None:
    ref = await with_lines(world)
    await settle(world, ref)
    reversal = Reversal(
        person_id="32050000000000000001",
        original_message_id="MSG-SETTLE",
        original_transaction="2207",
        reverses=Reverses.SETTLEMENT,
    )
    refusal = await refused(
        world,
        lambda unit: world.visits.reverse(
            unit, institution=HOSPITAL, reversal=reversal, message_id="MSG-REV", now=NOW
        ),
    )
    assert (refusal.rule, refusal.field) == ("reversal.person_mismatch", "person_id")
    assert (f"his:{HOSPITAL}", "MSG-SETTLE") not in world.store.answers


# --- messages ------------------------------------------------------------------------------------


async def test_a_message_is_answered_once(world: World) -> None:
    ref = await with_lines(world)
    runs = 0

    async def settle_once(unit: Unit) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        done = await world.visits.settle(
            unit,
            institution=HOSPITAL,
            command=settle_request(ref),
            message_id="MSG-1",
            now=NOW,
            commit=True,
        )
        return {"settlement_id": done.settlement_id}

    first = await world.messages.answer_once(HOSPITAL, "MSG-1", "hash-a", settle_once)
    again = await world.messages.answer_once(HOSPITAL, "MSG-1", "hash-a", settle_once)
    assert first == again
    assert runs == 1
    assert world.types().count("VisitSettled") == 1
    with pytest.raises(DomainError) as reused:
        await world.messages.answer_once(HOSPITAL, "MSG-1", "hash-b", settle_once)
    assert (reused.value.rule, reused.value.field) == ("his.msgid_reused", "message_id")


async def test_a_retired_message_never_runs(world: World) -> None:
    ref = await registered(world, message_id="MSG-REG")
    reversal = Reversal(
        person_id=PERSON,
        original_message_id="MSG-LATE",
        original_transaction="2207",
        reverses=Reverses.SETTLEMENT,
    )
    await world.run(
        lambda unit: world.visits.reverse(
            unit, institution=HOSPITAL, reversal=reversal, message_id="MSG-REV", now=NOW
        )
    )
    before = list(world.store.log)

    async def work(unit: Unit) -> dict[str, Any]:
        raise AssertionError(f"{ref} must not be settled")

    with pytest.raises(DomainError) as late:
        await world.messages.answer_once(HOSPITAL, "MSG-LATE", "hash", work)
    assert late.value.rule == "his.msgid_reversed"
    assert world.store.log == before


# --- reference data ------------------------------------------------------------------------------


@pytest.fixture
def registry(world: World) -> tuple[ReferenceService, FakeSecrets]:
    secrets = FakeSecrets()
    return ReferenceService(world.write, secrets), secrets


ADMIN = "U-nj-hospital-admin"


def details(**changes: Any) -> HospitalDetails:
    base: dict[str, Any] = {
        "institution_code": HOSPITAL,
        "institution_name": "Nanjing First",
        "region": "320100",
        "hospital_level": "3",
        "networked": True,
        "his_secret": "s" * 16,
    }
    return HospitalDetails(**{**base, **changes})


def catalogue_item(code: str = "XA001", **changes: Any) -> CatalogueItem:
    base: dict[str, Any] = {
        "visit_region": "320100",
        "catalogue_code": code,
        "name": "an A item",
        "item_class": ItemClass.A,
        "self_pay_ratio": Decimal("0.1"),
        "price_cap": None,
        "list_type": "",
        "effective_from": date(2026, 1, 1),
    }
    return CatalogueItem(**{**base, **changes})


async def test_register_hospital_once_with_its_secret_beside_the_event(
    world: World, registry: tuple[ReferenceService, FakeSecrets]
) -> None:
    reference, secrets = registry
    await reference.register_hospital(details(account={"bank": "x"}), by=ADMIN)
    event, credentials = world.payloads(f"hospital-{HOSPITAL}")
    assert isinstance(event, HospitalRegistered)
    assert event.clearing_agency == "320100"  # the hospital's own region unless named
    assert event.registered_by == ADMIN
    # Who set the secret and the account, and when; the values stay out of the event.
    assert credentials == HospitalCredentialsChanged(
        institution_code=HOSPITAL,
        changed=("his_secret", "account"),
        changed_by=ADMIN,
        changed_at=event.registered_at,
    )
    assert secrets.secrets == {HOSPITAL: "s" * 16}
    assert secrets.accounts == {HOSPITAL: {"bank": "x"}}
    with pytest.raises(DomainError) as twice:
        await reference.register_hospital(details(), by=ADMIN)
    assert twice.value.rule == "hospital.already_registered"
    assert len(world.store.log) == 2


async def test_register_hospital_refuses_a_short_secret(
    world: World, registry: tuple[ReferenceService, FakeSecrets]
) -> None:
    reference, secrets = registry
    with pytest.raises(DomainError) as refusal:
        await reference.register_hospital(details(his_secret="short"), by=ADMIN)
    assert (refusal.value.rule, refusal.value.field) == ("hospital.his_secret", "his_secret")
    assert world.store.log == []
    assert secrets.secrets == {}


async def test_update_hospital_keeps_what_it_does_not_change(
    world: World, registry: tuple[ReferenceService, FakeSecrets]
) -> None:
    reference, _ = registry
    await reference.register_hospital(details(), by=ADMIN)
    await reference.update_hospital(
        HOSPITAL, HospitalChange(suspended=True, suspended_until=date(2026, 6, 30)), by=ADMIN
    )
    await reference.update_hospital(HOSPITAL, HospitalChange(level="2"), by="U-other")
    _, _, suspended, relevelled = world.payloads(f"hospital-{HOSPITAL}")
    assert (suspended.updated_by, relevelled.updated_by) == (ADMIN, "U-other")
    assert isinstance(suspended, HospitalUpdated)
    assert (suspended.suspended, suspended.suspended_until) == (True, date(2026, 6, 30))
    assert suspended.hospital_level == "3"
    assert (relevelled.hospital_level, relevelled.suspended) == ("2", True)
    assert relevelled.institution_name == "Nanjing First"
    with pytest.raises(DomainError) as unknown:
        await reference.update_hospital("H00000000000", HospitalChange(level="2"), by=ADMIN)
    assert unknown.value.rule == "hospital.not_found"


async def test_publish_items_is_all_or_nothing(
    world: World, registry: tuple[ReferenceService, FakeSecrets]
) -> None:
    reference, _ = registry
    assert await reference.publish_items([catalogue_item("XA001")]) == 1
    [published] = world.payloads("catalogue-320100-XA001")
    assert isinstance(published, CatalogueItemPublished)
    assert published.self_pay_ratio == Decimal("0.1000")
    with pytest.raises(DomainError) as refusal:
        await reference.publish_items(
            [catalogue_item("XA002"), catalogue_item("XA003", self_pay_ratio=Decimal("1.5"))]
        )
    assert refusal.value.rule == "catalogue.self_pay_ratio"
    assert world.payloads("catalogue-320100-XA002") == []


async def test_map_and_unmap_a_hospital_item(
    world: World, registry: tuple[ReferenceService, FakeSecrets]
) -> None:
    reference, _ = registry
    await reference.register_hospital(details(), by=ADMIN)
    await reference.publish_items([catalogue_item("XA001")])
    with pytest.raises(DomainError) as unknown:
        await reference.map_item_alone(HOSPITAL, "HIS-1", "XB999")
    assert (unknown.value.rule, unknown.value.field) == ("catalogue.not_found", "catalogue_code")
    await reference.map_item_alone(HOSPITAL, "HIS-1", "XA001", ("bed",))
    await world.run(lambda unit: reference.unmap_item(unit, HOSPITAL, "HIS-1", NOW))
    mapped, unmapped = world.payloads(f"hospital-items-{HOSPITAL}")
    assert isinstance(mapped, HospitalItemMapped)
    assert (mapped.hospital_item_code, mapped.catalogue_code, mapped.tags) == (
        "HIS-1",
        "XA001",
        ("bed",),
    )
    assert isinstance(unmapped, HospitalItemUnmapped)
    assert unmapped.catalogue_code == "XA001"
    with pytest.raises(DomainError) as gone:
        await reference.unmap_item_alone(HOSPITAL, "HIS-1")
    assert (gone.value.rule, gone.value.field) == (
        "catalogue.mapping_not_found",
        "hospital_item_code",
    )


async def second_visit(w: World, message_id: str) -> VisitRef:
    ref = await registered(w, message_id=message_id)
    await w.run(
        lambda unit: w.visits.upload_fee_lines(
            unit, institution=HOSPITAL, ref=ref, lines=[fee_line()], message_id="UP2", now=NOW
        )
    )
    return ref


async def test_the_account_spends_the_stated_balance_plus_our_movements_it_has_not_counted(
    world: World,
) -> None:
    world.reads.stated_account = StatedAccount(balance=30_000, visit_ledger_counted=0)
    # 255.00, all inside the outpatient deductible: the account pays what it can.
    first = await settle(world, await with_lines(world), use_account=True)
    assert (first.computation.totals.account_paid, first.computation.account_balance_after) == (
        25_500,
        4_500,
    )
    second = await settle(world, await second_visit(world, "REG2"), use_account=True)
    assert second.computation.totals.account_paid == 4_500  # 30_000 - 25_500: nothing twice
    # The insured place counted the first and credited 100.00: 4_500 + 10_000 stated at 1.
    world.reads.stated_account = StatedAccount(balance=14_500, visit_ledger_counted=1)
    third = await settle(world, await second_visit(world, "REG3"), use_account=True)
    assert third.computation.totals.account_paid == 10_000  # 14_500 less the uncounted 4_500
    moved = world.payloads(pl.stream_id(PERSON))
    assert [(m.sequence, m.movement.account_balance) for m in moved] == [
        (1, -25_500),
        (2, -4_500),
        (3, -10_000),
    ]


async def test_the_year_starts_from_the_insured_places_statement(world: World) -> None:
    # Home use already took the whole 1000.00 outpatient deductible of 2026.
    used = replace(AccumulatorMovement.zero(2026), outpatient_deductible_used=100_000)
    world.reads.stated_years[2026] = StatedYear(totals=used, visit_ledger_counted=0)
    done = await settle(world, await with_lines(world))
    assert done.computation.totals.deductible_applied == 0
    assert done.computation.totals.basic_fund > 0


# --- the flows real clients run: stages, batches, reversal of a cancellation ----------------------


async def test_an_interim_stage_and_the_final_settlement_share_one_deductible(
    world: World,
) -> None:
    ref = await with_lines(world, medical_type="21")  # 255.00 of class A
    first = await settle(world, ref, interim=True)
    # A first admission at level 3 owes 1000.00: the stage's 255.00 all goes to it.
    assert first.computation.totals.deductible_applied == 25_500
    assert first.computation.movement.inpatient_admissions == 1
    *_, settled, staged = world.payloads(f"visit-{ref.visit_id}")
    assert isinstance(settled, VisitSettled)
    assert isinstance(staged, SettlementStaged)
    assert staged.deductible_left == 74_500
    await world.run(
        lambda unit: world.visits.upload_fee_lines(
            unit,
            institution=HOSPITAL,
            ref=ref,
            lines=[fee_line("2", quantity=Decimal(1), unit_price=Decimal(1000), amount=100_000)],
            message_id="MSG-UP2",
            now=NOW,
        )
    )
    await world.run(
        lambda unit: world.visits.discharge(
            unit,
            institution=HOSPITAL,
            command=Discharge(
                ref=ref, discharged_on=date(2026, 3, 10), died=False, principal_diagnosis=None
            ),
            now=NOW,
        )
    )
    final = await world.run(
        lambda unit: world.visits.settle(
            unit,
            institution=HOSPITAL,
            command=settle_request(ref, declared_total=100_000),
            message_id="MSG-FINAL",
            now=NOW,
            commit=True,
        )
    )
    # Only the line uploaded since: 1000.00, of which 745.00 finishes the deductible and 85% of
    # the 255.00 left (in-service, level 3) is 216.75. No second admission.
    totals = final.computation.totals
    assert (totals.total_fee, totals.deductible_applied, totals.basic_fund) == (
        100_000,
        74_500,
        21_675,
    )
    assert final.computation.movement.inpatient_admissions == 0
    ledger = [p.movement for p in world.payloads(pl.stream_id(PERSON))]
    assert sum(m.inpatient_admissions for m in ledger) == 1


async def test_cancelling_a_batch_through_the_handler_keeps_the_other(world: World) -> None:
    ref = await registered(world)
    await world.run(
        lambda unit: world.visits.upload_fee_lines(
            unit,
            institution=HOSPITAL,
            ref=ref,
            lines=[fee_line("1", charge_batch="B1"), fee_line("2", charge_batch="B2")],
            message_id="MSG-UP",
            now=NOW,
        )
    )
    count = await world.run(
        lambda unit: world.visits.cancel_fee_lines(
            unit, institution=HOSPITAL, ref=ref, fee_line_nos=(), now=NOW, charge_batch="B1"
        )
    )
    assert count == 1
    # The declared total is the remaining batch's: 255.00.
    done = await settle(world, ref, declared_total=25_500)
    assert done.computation.totals.total_fee == 25_500


def cancellation_reversal(message_id: str = "MSG-CANCEL") -> Reversal:
    return Reversal(
        person_id=PERSON,
        original_message_id=message_id,
        original_transaction="2208",
        reverses=Reverses.CANCELLATION,
    )


async def settled_then_cancelled(w: World) -> tuple[VisitRef, Any]:
    ref = await with_lines(w)
    done = await settle(w, ref)
    await w.run(
        lambda unit: w.visits.cancel_settlement(
            unit,
            institution=HOSPITAL,
            ref=ref,
            settlement_id=done.settlement_id,
            message_id="MSG-CANCEL",
            now=NOW,
        )
    )
    return ref, done


async def test_reversing_a_cancellation_makes_the_settlement_stand_again_once(
    world: World,
) -> None:
    ref, done = await settled_then_cancelled(world)
    cancellation_id = world.payloads(f"visit-{ref.visit_id}")[-1].settlement_id

    async def reverse(message_id: str) -> str:
        return str(
            await world.run(
                lambda unit: world.visits.reverse(
                    unit,
                    institution=HOSPITAL,
                    reversal=cancellation_reversal(),
                    message_id=message_id,
                    now=NOW,
                )
            )
        )

    assert await reverse("MSG-REV") == cancellation_id
    *_, back, reversed_ = world.payloads(f"visit-{ref.visit_id}")
    assert isinstance(back, SettlementReinstated)
    assert back.settlement_id == done.settlement_id
    assert isinstance(reversed_, SettlementReversed)
    assert (reversed_.settlement_id, reversed_.reversed_transaction) == (cancellation_id, "2208")
    # The year moves as the settlement moved it: settled, cancelled, standing again.
    moves = [p.movement for p in world.payloads(pl.stream_id(PERSON))]
    assert moves == [
        done.computation.movement,
        done.computation.movement.negated(),
        done.computation.movement,
    ]
    # Another reversal of the same cancellation changes nothing.
    before = len(world.store.log)
    assert await reverse("MSG-REV2") == "nothing"
    assert len(world.store.log) == before


async def test_a_cancellation_is_not_reversed_after_the_person_moved(world: World) -> None:
    await settled_then_cancelled(world)
    await settle(world, await second_visit(world, "REG2"))
    refusal = await refused(
        world,
        lambda unit: world.visits.reverse(
            unit,
            institution=HOSPITAL,
            reversal=cancellation_reversal(),
            message_id="MSG-REV",
            now=NOW,
        ),
    )
    assert (refusal.rule, refusal.field) == ("reversal.person_moved", "original_message_id")
