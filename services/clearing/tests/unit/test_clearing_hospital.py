from datetime import date
from typing import Any

import pytest

from yidi_clearing.domain.events import (
    ClearingApplicationWithdrawn,
    ClearingApplied,
    JournalEntryPosted,
)
from yidi_clearing.domain.hospital_clearing import (
    ApplicationKey,
    ClearingStatus,
    ClearingTotals,
    HospitalClearing,
    HospitalDeduction,
    Payable,
    decide_apply,
    decide_change_status,
    decide_record_payment,
    decide_withdraw,
    evolve,
    hospital_deadlines,
    late_hospital_steps,
    payable_of,
)
from yidi_clearing.domain.inputs import DeductionKind
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.decider import fold
from yidi_events.kernel import Conflict, DomainError, NotFound

KEY = ApplicationKey(
    institution_code="H32010000001",
    clearing_agency="320100",
    month="2026-03",
    clearing_category="21",
)
RECONCILED = ClearingTotals(
    count=12, total_fee=1_234_500, fund_total=900_000, account_paid=34_500, cash_paid=300_000
)
TODAY = date(2026, 4, 8)
SETTINGS = ClearingSettings()


def given(events: list[Any]) -> HospitalClearing:
    return fold(evolve, HospitalClearing(), events)


def applied(app_id: str = "CA-1") -> list[Any]:
    return decide_apply(
        HospitalClearing(),
        application_id=app_id,
        key=KEY,
        totals=RECONCILED,
        reconciled=RECONCILED,
        today=TODAY,
    )


def moved(*statuses: str) -> list[Any]:
    """The application moved through `statuses`: reviewed (40) with no deductions, paid (60) by
    recording the payment of the whole payable."""
    events = applied()
    for status in statuses:
        if status == "60":
            events += decide_record_payment(
                given(events),
                "CA-1",
                amount=934_500,
                bank_reference="B-1",
                paid_by="officer",
                today=TODAY,
                settings=SETTINGS,
            )
            continue
        payable = payable_of(RECONCILED, []) if status == "40" else None
        events += decide_change_status(
            given(events), "CA-1", status, "officer", "ok", TODAY, payable
        )
    return events


def test_an_application_equal_to_the_reconciled_totals_is_accepted() -> None:
    (event,) = applied()
    assert isinstance(event, ClearingApplied)
    assert (event.clearing_application_id, event.fund_total, event.count) == ("CA-1", 900_000, 12)
    assert given([event]).status == ClearingStatus.APPLIED


@pytest.mark.parametrize(
    "figure", ["count", "total_fee", "fund_total", "account_paid", "cash_paid"]
)
def test_a_differing_figure_is_refused_by_name(figure: str) -> None:
    claimed = ClearingTotals(**{**RECONCILED.__dict__, figure: getattr(RECONCILED, figure) + 1})
    with pytest.raises(DomainError) as err:
        decide_apply(
            HospitalClearing(),
            application_id="CA-1",
            key=KEY,
            totals=claimed,
            reconciled=RECONCILED,
            today=TODAY,
        )
    assert (err.value.rule, err.value.field) == ("clearing.totals_mismatch", figure)
    assert figure in err.value.message


def test_no_reconciled_totals_means_no_application() -> None:
    with pytest.raises(DomainError) as err:
        decide_apply(
            HospitalClearing(),
            application_id="CA-1",
            key=KEY,
            totals=RECONCILED,
            reconciled=None,
            today=TODAY,
        )
    assert err.value.rule == "clearing.not_reconciled"


def test_one_active_application_per_month_and_category() -> None:
    with pytest.raises(Conflict) as err:
        decide_apply(
            given(applied()),
            application_id="CA-2",
            key=KEY,
            totals=RECONCILED,
            reconciled=RECONCILED,
            today=TODAY,
        )
    assert err.value.rule == "clearing.already_applied"


def test_withdrawal_only_while_applied_then_a_new_application_is_possible() -> None:
    withdrawal = decide_withdraw(given(applied()), "CA-1", TODAY)
    assert isinstance(withdrawal[0], ClearingApplicationWithdrawn)
    state = given([*applied(), *withdrawal])
    assert decide_withdraw(state, "CA-1", TODAY) == []
    with pytest.raises(Conflict):
        decide_change_status(state, "CA-1", "20", "officer", "", TODAY)
    again = decide_apply(
        state, application_id="CA-2", key=KEY, totals=RECONCILED, reconciled=RECONCILED, today=TODAY
    )
    assert again[0].clearing_application_id == "CA-2"
    with pytest.raises(Conflict) as err:
        decide_withdraw(given(moved("20")), "CA-1", TODAY)
    assert err.value.rule == "clearing.withdraw_not_allowed"
    with pytest.raises(NotFound):
        decide_withdraw(given(applied()), "CA-9", TODAY)


def test_the_full_lifecycle_reaches_paid() -> None:
    assert given(moved("20", "30", "40", "50", "60")).status == ClearingStatus.PAID


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), "30"),
        ((), "60"),
        (("20",), "10"),
        (("20", "30", "40", "50"), "70"),
        (("70",), "20"),
        (("20", "30", "40", "50", "60"), "70"),
        ((), "99"),
    ],
)
def test_illegal_transitions_are_refused(path: tuple[str, ...], target: str) -> None:
    with pytest.raises(DomainError) as err:
        decide_change_status(given(moved(*path)), "CA-1", target, "officer", "why", TODAY)
    assert err.value.rule in {
        "clearing.illegal_transition",
        "clearing.status_unknown",
        "clearing.payment_required",
    }


@pytest.mark.parametrize("path", [(), ("20",), ("20", "30"), ("20", "30", "40")])
def test_rejection_is_possible_until_reviewed_and_needs_a_reason(path: tuple[str, ...]) -> None:
    with pytest.raises(DomainError):
        decide_change_status(given(moved(*path)), "CA-1", "70", "officer", "", TODAY)
    (changed,) = decide_change_status(
        given(moved(*path)), "CA-1", "70", "officer", "fees wrong", TODAY
    )
    assert (changed.from_status, changed.to_status) == ((path or ("10",))[-1], "70")


# --- the payable, its deadlines and the payment -----------------------------------------------

DEDUCTIONS = [
    HospitalDeduction(deduction_id="FD-2", kind=DeductionKind.AUDIT_DEDUCTION, amount=1_500),
    HospitalDeduction(deduction_id="CB-1", kind=DeductionKind.CLAWBACK, amount=10_000),
    HospitalDeduction(deduction_id="FD-1", kind=DeductionKind.AUDIT_DEDUCTION, amount=2_000),
]


def test_the_payable_is_the_reconciled_fund_and_account_less_deductions_and_clawbacks() -> None:
    # 900,000 fund + 34,500 account = 934,500; less 2,000 + 1,500 audit and 10,000 clawed back.
    assert payable_of(RECONCILED, DEDUCTIONS) == Payable(
        reimbursable=934_500,
        audit_deducted=3_500,
        clawed_back=10_000,
        amount=921_000,
        deduction_ids=("CB-1", "FD-1", "FD-2"),
    )


def test_review_fixes_the_payable_and_posts_it_and_payment_moves_it_out() -> None:
    reviewing = given(moved("20", "30"))
    changed, computed, entry = decide_change_status(
        reviewing, "CA-1", "40", "officer", "", TODAY, payable_of(RECONCILED, DEDUCTIONS)
    )
    assert (changed.to_status, computed.amount, computed.audit_deducted) == ("40", 921_000, 3_500)
    assert isinstance(entry, JournalEntryPosted)
    assert [(x.account, x.debit, x.credit) for x in entry.lines] == [
        ("hospital_claims:320100", 921_000, 0),
        ("hospital_payable:H32010000001", 0, 921_000),
    ]
    cleared = given(
        [
            *moved("20", "30"),
            changed,
            computed,
            entry,
            *decide_change_status(
                given([*moved("20", "30"), changed, computed]), "CA-1", "50", "o", "", TODAY
            ),
        ]
    )
    with pytest.raises(DomainError) as wrong:
        decide_record_payment(
            cleared,
            "CA-1",
            amount=934_500,
            bank_reference="B-1",
            paid_by="o",
            today=TODAY,
            settings=SETTINGS,
        )
    assert (wrong.value.rule, wrong.value.values) == (
        "clearing.payment_amount",
        {"payable": 921_000, "paid": 934_500},
    )
    # Paid on 26 April, a day after the sandbox's hospital payment deadline (the 25th).
    status, paid, out = decide_record_payment(
        cleared,
        "CA-1",
        amount=921_000,
        bank_reference="B-1",
        paid_by="o",
        today=date(2026, 4, 26),
        settings=SETTINGS,
    )
    assert (status.from_status, status.to_status) == ("50", "60")
    assert (paid.amount, paid.late) == (921_000, True)
    assert [(x.account, x.debit, x.credit) for x in out.lines] == [
        ("hospital_payable:H32010000001", 921_000, 0),
        ("agency_bank:320100", 0, 921_000),
    ]
    done = given([*moved("20", "30"), changed, computed, entry, status, paid, out])
    assert done.status == ClearingStatus.PAID
    assert (
        decide_record_payment(
            done,
            "CA-1",
            amount=921_000,
            bank_reference="B-1",
            paid_by="o",
            today=TODAY,
            settings=SETTINGS,
        )
        == []
    )


def test_payment_needs_a_cleared_application() -> None:
    with pytest.raises(Conflict) as early:
        decide_record_payment(
            given(moved("20", "30", "40")),
            "CA-1",
            amount=934_500,
            bank_reference="B-1",
            paid_by="o",
            today=TODAY,
            settings=SETTINGS,
        )
    assert early.value.rule == "clearing.illegal_transition"


def test_deadlines_come_from_the_calendar_and_say_what_is_late() -> None:
    # Sandbox calendar for March: apply by 04-10, reviewed by 04-15, paid by 04-25.
    assert hospital_deadlines("2026-03", SETTINGS) == {
        "application": date(2026, 4, 10),
        "review": date(2026, 4, 15),
        "payment": date(2026, 4, 25),
    }
    applied_on = date(2026, 4, 8)
    assert late_hospital_steps("2026-03", "30", applied_on, date(2026, 4, 15), SETTINGS) == []
    assert late_hospital_steps("2026-03", "30", applied_on, date(2026, 4, 16), SETTINGS) == [
        "review"
    ]
    assert late_hospital_steps("2026-03", "50", applied_on, date(2026, 4, 26), SETTINGS) == [
        "payment"
    ]
    assert late_hospital_steps("2026-03", "60", date(2026, 4, 11), date(2026, 5, 1), SETTINGS) == [
        "application"
    ]
