"""The flows real HIS clients run, on the Visit decider and the engine alone: several charge
batches under one visit, returned lines, interim settlement of a long stay, admission changes,
discharge cancellation, and the reversal (2601) of a cancellation. Figures are worked by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yidi_benefits import accumulators
from yidi_benefits.engine import cancellation_of, compute_settlement
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
)
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import FilingKind, HospitalLevel
from yidi_events.contracts.settlement import (
    FeeLinesCancelled,
    FeeLinesUploaded,
    ItemClass,
    SettlementReversed,
    VisitSettled,
)
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.domain import visit
from yidi_settlement.domain.events import (
    AdmissionChanged,
    Diagnosis,
    DischargeCancelled,
    PatientDischarged,
    SettlementReinstated,
    SettlementStaged,
    VisitRegistered,
)

# Nanjing employees: inpatient deductible at level 3 1000.00 (first admission) / 500.00 (later);
# basic fund for retired persons at level 3: 90% up to 20000.00 eligible in the year.
EMPLOYEE = parse_policy_document(
    json.loads((shared_dir() / "vectors/settlement.json").read_text("utf-8"))[0]["policy"]
)
NOW = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)
A = CatalogueEntry(
    catalogue_code="A", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
)
B = CatalogueEntry(
    catalogue_code="B", item_class=ItemClass.B, self_pay_ratio=Decimal("0.15"), price_cap=None
)
CATALOGUE = Catalogue.undated({"A": A, "B": B})
FEE_DAY = date(2026, 5, 2)


def registered(medical_type: str) -> VisitRegistered:
    return VisitRegistered(
        visit_id="V1",
        person_id="P1",
        insured_region="320500",
        visit_region="320100",
        institution_code="H1",
        insurance_type="310",
        medical_type=medical_type,
        began_at=datetime(2026, 5, 1, 0, 0, tzinfo=UTC),
    )


OUTPATIENT = registered("11")
ADMISSION = registered("21")


def line(no: str, amount: int, *, batch: str | None = None, **changes: Any) -> FeeLine:
    quantity = changes.get("quantity", Decimal(1))
    base: dict[str, Any] = {
        "fee_line_no": no,
        "catalogue_code": "A",
        "quantity": quantity,
        # the price the amount implies: amount = quantity x price, as a hospital computes it
        "unit_price": abs(Decimal(amount) / 100 / quantity),
        "amount": amount,
        "fee_date": FEE_DAY,
        "charge_batch": batch,
    }
    return FeeLine(**{**base, **changes})


def state(*events: Any) -> visit.VisitState:
    return fold(visit.evolve, visit.VisitState(), events)


def uploaded(given: visit.VisitState, *lines: FeeLine) -> list[Any]:
    splits = visit.split_upload(given, lines, CATALOGUE, FEE_DAY)
    return visit.decide_upload_fee_lines(given, splits, NOW, skew=SKEW)


def then(given: visit.VisitState, events: list[Any]) -> visit.VisitState:
    return fold(visit.evolve, given, events)


def computed(
    given: visit.VisitState, acc: accumulators.Accumulators, *, medical_type: str = "11"
) -> Any:
    return compute_settlement(
        policy=EMPLOYEE,
        catalogue=CATALOGUE,
        person=PersonAtSettlement(person_category="1201"),
        visit=VisitFacts(
            hospital_level=HospitalLevel.THREE,
            medical_type=medical_type,
            filing_kind=FilingKind.LONG_TERM,
            use_account=False,
            settled_on=date(2026, 5, 10),
            stay_deductible_left=visit.stay_deductible_left(given),
        ),
        fee_lines=visit.settling_lines(given),
        accumulators=acc,
    )


def settled(
    given: visit.VisitState,
    settlement_id: str,
    acc: accumulators.Accumulators,
    *,
    interim: bool = False,
) -> list[Any]:
    registered_visit = given.registered
    assert registered_visit is not None
    return visit.decide_settle(
        given,
        visit.SettleCommand(
            settlement_id=settlement_id,
            message_id=f"M-{settlement_id}",
            clearing_agency="320100",
            clearing_category="21",
            filing_kind="long_term",
            computation=computed(given, acc, medical_type=registered_visit.medical_type),
            interim=interim,
        ),
        NOW,
    )


def rule_of(call: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.rule, refused.value.field


# --- charge batches (2204 / 2205 / 2206-2208) ---------------------------------------------------


def two_batches() -> visit.VisitState:
    given = state(OUTPATIENT)
    given = then(given, uploaded(given, line("1", 1000, batch="B1"), line("2", 2000, batch="B1")))
    return then(given, uploaded(given, line("3", 4000, batch="B2")))


def test_cancelling_a_batch_cancels_only_its_lines() -> None:
    given = two_batches()
    [cancelled] = visit.decide_cancel_fee_lines(given, (), NOW, charge_batch="B1")
    assert isinstance(cancelled, FeeLinesCancelled)
    assert cancelled.fee_line_nos == ("1", "2")
    after = then(given, [cancelled])
    assert [x.fee_line_no for x in visit.settling_lines(after)] == ["3"]
    # What is settled now is batch B2 alone: 40.00.
    assert computed(after, accumulators.initial(2026)).totals.total_fee == 4000


def test_a_batch_partly_settled_cancels_its_unsettled_lines() -> None:
    # A HIS that reuses a batch number after settling: the batch's unsettled line goes alone.
    given = two_batches()
    given = then(given, settled(given, "S1", accumulators.initial(2026)))
    given = then(given, uploaded(given, line("4", 500, batch="B2")))
    [cancelled] = visit.decide_cancel_fee_lines(given, (), NOW, charge_batch="B2")
    assert cancelled.fee_line_nos == ("4",)


def test_batch_0000_cancels_every_unsettled_line_and_an_unknown_batch_is_refused() -> None:
    given = two_batches()
    [every] = visit.decide_cancel_fee_lines(given, (), NOW, charge_batch=visit.ALL)
    assert set(every.fee_line_nos) == {"1", "2", "3"}
    assert rule_of(lambda: visit.decide_cancel_fee_lines(given, (), NOW, charge_batch="B9")) == (
        "visit.charge_batch_not_found",
        "charge_batch",
    )


def test_an_outpatient_visit_settles_batch_after_batch_and_a_settled_batch_stays() -> None:
    given = two_batches()
    first = settled(given, "S1", accumulators.initial(2026))
    assert first[0].totals.total_fee == 7000
    given = then(given, first)
    # Settled lines cannot be cancelled; the visit still takes a new batch.
    assert rule_of(lambda: visit.decide_cancel_fee_lines(given, (), NOW, charge_batch="B2")) == (
        "visit.fee_line_settled",
        "charge_batch",
    )
    assert rule_of(lambda: settled(given, "S2", accumulators.initial(2026)))[0] == "visit.settled"
    given = then(given, uploaded(given, line("4", 500, batch="B3")))
    second = settled(given, "S2", accumulators.initial(2026))
    # The second settlement is batch B3 alone, 5.00; "0000" then has nothing left to cancel.
    assert second[0].totals.total_fee == 500
    given = then(given, second)
    assert visit.decide_cancel_fee_lines(given, (), NOW, charge_batch=visit.ALL) == []
    assert [s.settlement.settlement_id for s in given.stages] == ["S1", "S2"]


def test_only_the_latest_settlement_is_cancelled_and_its_lines_settle_again() -> None:
    given = two_batches()
    given = then(given, settled(given, "S1", accumulators.initial(2026)))
    given = then(given, uploaded(given, line("4", 500, batch="B3")))
    given = then(given, settled(given, "S2", accumulators.initial(2026)))
    assert rule_of(lambda: visit.current_settlement(given, "S1"))[0] == (
        "visit.settlement_not_found"
    )
    original = visit.current_settlement(given, "S2")
    assert [x.fee_line_no for x in visit.settled_lines(given, "S2")] == ["4"]
    cancel = cancellation_of(
        computed_as(original), accumulators.initial(2026).moved(original.movement), None
    )
    after = then(
        given,
        visit.decide_cancel_settlement(
            given,
            settlement_id="S2",
            cancellation_id="C2",
            cancellation=cancel,
            message_id="M-C2",
            now=NOW,
        ),
    )
    assert [x.fee_line_no for x in visit.settling_lines(after)] == ["4"]
    assert visit.current_settlement(after, "S1").settlement_id == "S1"


def computed_as(original: VisitSettled) -> Any:
    from yidi_benefits.engine import SettlementComputation

    figures = accumulators.initial(2026)
    return SettlementComputation(
        lines=(),
        totals=original.totals,
        fund_payments=original.fund_payments,
        accumulators_before=figures,
        accumulators_after=figures,
        movement=original.movement,
        account_balance_after=original.account_balance_after,
    )


# --- returned lines (退费) -----------------------------------------------------------------------


def test_a_return_takes_its_share_of_each_part_off_the_original() -> None:
    # A class-B line of 3 x 3.33 = 9.99, 15% paid first: 1.4985 -> 1.50 first, 8.49 in policy.
    given = state(ADMISSION)
    original = line("1", 999, catalogue_code="B", quantity=Decimal(3), unit_price=Decimal("3.33"))
    given = then(given, uploaded(given, original))
    assert (given.lines["1"].pre_self_paid, given.lines["1"].in_policy) == (150, 849)
    # One returned: 6.66 nets to 0.999 -> 1.00 first and 5.66 in policy, so the return takes
    # 0.50 and 2.83 off.
    returned = line(
        "2",
        -333,
        catalogue_code="B",
        quantity=Decimal(-1),
        unit_price=Decimal("3.33"),
        returned_line="1",
    )
    [event] = uploaded(given, returned)
    assert isinstance(event, FeeLinesUploaded)
    [split] = event.lines
    assert (split.amount, split.pre_self_paid, split.in_policy) == (-333, -50, -283)
    assert split.returned_line == "1"
    given = then(given, [event])
    [net] = visit.settling_lines(given)
    assert (net.fee_line_no, net.quantity, net.amount) == ("1", Decimal(2), 666)


def test_a_return_larger_than_the_charge_is_refused() -> None:
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 3000, quantity=Decimal(3))))
    given = then(given, uploaded(given, line("2", -2000, quantity=Decimal(-2), returned_line="1")))
    too_much = line("3", -2000, quantity=Decimal(-2), returned_line="1")
    rule, field = rule_of(lambda: uploaded(given, too_much))
    assert (rule, field) == ("visit.return_exceeds_charge", "quantity")


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (line("2", -100, quantity=Decimal(-1)), ("visit.return_without_original", "returned_line")),
        (
            line("2", -100, quantity=Decimal(-1), returned_line="9"),
            ("visit.returned_line_not_found", "returned_line"),
        ),
        (
            line("2", -100, quantity=Decimal(-1), returned_line="1", catalogue_code="B"),
            ("visit.return_item", "catalogue_code"),
        ),
        (line("2", 100, returned_line="1"), ("visit.return_sign", "quantity")),
    ],
)
def test_a_return_must_name_a_charged_line_of_the_same_item(
    returned: FeeLine, expected: tuple[str, str]
) -> None:
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 1000)))
    assert rule_of(lambda: uploaded(given, returned)) == expected


def test_a_settled_line_is_not_returned_and_a_cancelled_original_takes_its_returns() -> None:
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 1000, batch="B1", quantity=Decimal(2))))
    given = then(
        given,
        uploaded(given, line("2", -500, returned_line="1", batch="B2", quantity=Decimal(-1))),
    )
    [cancelled] = visit.decide_cancel_fee_lines(given, (), NOW, charge_batch="B1")
    assert cancelled.fee_line_nos == ("1", "2")
    staged = then(given, settled(given, "S1", accumulators.initial(2026), interim=True))
    late = line("3", -100, returned_line="1", quantity=Decimal(-1))
    assert rule_of(lambda: uploaded(staged, late)) == (
        "visit.returned_line_settled",
        "returned_line",
    )


# --- interim settlement (中途结算) ----------------------------------------------------------------


def test_an_admission_settles_in_stages_with_one_deductible_and_one_admission() -> None:
    year = accumulators.initial(2026)
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 60000)))
    # Before discharge: only as an interim stage (a final settlement waits for 2402).
    assert rule_of(lambda: settled(given, "S1", year))[0] == "visit.not_discharged"
    first = settled(given, "S1", year, interim=True)
    stage_one, staged = first
    assert isinstance(staged, SettlementStaged)
    # 600.00 in policy against a first-admission deductible of 1000.00: all deductible, 400.00
    # left for the stay; the admission is counted now.
    assert stage_one.totals.deductible_applied == 60000
    assert stage_one.totals.basic_fund == 0
    assert staged.deductible_left == 40000
    assert stage_one.movement.inpatient_admissions == 1
    given = then(given, first)
    assert given.status is visit.VisitStatus.OPEN
    year = year.moved(stage_one.movement)

    given = then(given, uploaded(given, line("2", 200000)))
    given = then(
        given,
        [
            PatientDischarged(
                visit_id="V1",
                person_id="P1",
                institution_code="H1",
                discharged_on=date(2026, 5, 9),
                discharged_at=NOW,
            )
        ],
    )
    [final] = settled(given, "S2", year)
    # 2000.00 in policy: the 400.00 left of the deductible, then 90% of 1600.00 = 1440.00; no
    # second admission. In one settlement of 2600.00: deductible 1000.00, fund 1440.00: the same.
    assert final.totals.total_fee == 200000
    assert final.totals.deductible_applied == 40000
    assert final.totals.basic_fund == 144000
    assert final.movement.inpatient_admissions == 0
    given = then(given, [final])
    assert given.status is visit.VisitStatus.SETTLED
    assert rule_of(lambda: uploaded(given, line("3", 100)))[0] == "visit.settled"


def test_interim_is_for_a_stay_not_yet_discharged() -> None:
    year = accumulators.initial(2026)
    outpatient = state(OUTPATIENT)
    outpatient = then(outpatient, uploaded(outpatient, line("1", 100)))
    assert rule_of(lambda: settled(outpatient, "S1", year, interim=True)) == (
        "visit.interim_not_inpatient",
        "interim",
    )
    stay = state(ADMISSION)
    stay = then(stay, uploaded(stay, line("1", 100)))
    stay = then(
        stay,
        [
            PatientDischarged(
                visit_id="V1",
                person_id="P1",
                institution_code="H1",
                discharged_on=date(2026, 5, 9),
                discharged_at=NOW,
            )
        ],
    )
    assert rule_of(lambda: settled(stay, "S1", year, interim=True)) == (
        "visit.interim_after_discharge",
        "interim",
    )


def test_a_trial_before_discharge_is_answered() -> None:
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 100)))
    assert visit.settleable(given, trial=True).visit_id == "V1"


# --- 2403 / 2405 ---------------------------------------------------------------------------------


def test_admission_change_corrects_the_stay_and_merges_diagnoses() -> None:
    given = state(ADMISSION)
    change = visit.AdmissionChange(
        began_at=datetime(2026, 4, 30, 22, 0, tzinfo=UTC),
        medical_type="22",
        department="0301",
        principal_diagnosis=None,
        diagnoses=(Diagnosis(code="S72.0", name="fracture", principal=True),),
    )
    [changed] = visit.decide_change_admission(given, change, NOW, skew=SKEW)
    assert isinstance(changed, AdmissionChanged)
    after = then(given, [changed])
    assert after.registered is not None
    assert (after.registered.medical_type, after.registered.department) == ("22", "0301")
    assert after.principal_diagnosis == "S72.0"
    # A later fee line would be before a moved-up admission: refused, naming the field.
    with_line = then(given, uploaded(given, line("1", 100)))
    late = visit.AdmissionChange(
        **{**change.__dict__, "began_at": datetime(2026, 5, 5, tzinfo=UTC)}
    )
    assert rule_of(lambda: visit.decide_change_admission(with_line, late, NOW, skew=SKEW)) == (
        "visit.date_before_admission",
        "began_at",
    )
    assert (
        rule_of(lambda: visit.decide_change_admission(state(OUTPATIENT), change, NOW, skew=SKEW))[0]
        == "visit.not_inpatient"
    )


def test_discharge_cancellation_reopens_the_stay_until_the_final_settlement() -> None:
    given = state(ADMISSION)
    given = then(given, uploaded(given, line("1", 100)))
    assert rule_of(lambda: visit.decide_cancel_discharge(given, NOW))[0] == "visit.not_discharged"
    discharged = then(
        given,
        visit.decide_discharge(given, date(2026, 5, 9), NOW, skew=SKEW),
    )
    [undone] = visit.decide_cancel_discharge(discharged, NOW)
    assert isinstance(undone, DischargeCancelled)
    reopened = then(discharged, [undone])
    assert (reopened.status, reopened.discharged_on) == (visit.VisitStatus.OPEN, None)
    closed = then(discharged, settled(discharged, "S1", accumulators.initial(2026)))
    assert rule_of(lambda: visit.decide_cancel_discharge(closed, NOW))[0] == "visit.settled"


# --- 2601 of a cancellation -----------------------------------------------------------------------


def cancelled_visit() -> tuple[visit.VisitState, VisitSettled]:
    given = two_batches()
    events = settled(given, "S1", accumulators.initial(2026))
    given = then(given, events)
    original = events[0]
    cancel = cancellation_of(
        computed_as(original), accumulators.initial(2026).moved(original.movement), None
    )
    return then(
        given,
        visit.decide_cancel_settlement(
            given,
            settlement_id="S1",
            cancellation_id="C1",
            cancellation=cancel,
            message_id="M-C1",
            now=NOW,
        ),
    ), original


def reinstate(given: visit.VisitState) -> list[Any]:
    return visit.decide_reinstate(
        given,
        cancellation_id="C1",
        original_message_id="M-C1",
        reversed_transaction="2208",
        message_id="M-R",
        now=NOW,
    )


def test_reversing_a_cancellation_makes_the_settlement_stand_again_once() -> None:
    given, original = cancelled_visit()
    assert given.settlement is None
    events = reinstate(given)
    back, reversed_ = events
    assert isinstance(back, SettlementReinstated)
    assert (back.settlement_id, back.cancellation_id) == ("S1", "C1")
    assert isinstance(reversed_, SettlementReversed)
    assert (reversed_.settlement_id, reversed_.reversed_transaction) == ("C1", "2208")
    assert reversed_.reinstated_settlement_id == "S1"
    after = then(given, events)
    assert after.settlement == original
    assert set(after.settled_by) == {"1", "2", "3"}
    # A second reversal of the same cancellation does nothing.
    assert reinstate(after) == []


def test_a_cancellation_is_not_reversed_once_the_visit_changed() -> None:
    given, _ = cancelled_visit()
    changed = then(given, uploaded(given, line("4", 100)))
    assert rule_of(lambda: reinstate(changed))[0] == "reversal.cancellation_not_reversible"
