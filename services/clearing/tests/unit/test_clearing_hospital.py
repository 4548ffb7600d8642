from datetime import date
from typing import Any

import pytest

from yidi_clearing.domain.events import ClearingApplicationWithdrawn, ClearingApplied
from yidi_clearing.domain.hospital_clearing import (
    ApplicationKey,
    ClearingStatus,
    ClearingTotals,
    HospitalClearing,
    decide_apply,
    decide_change_status,
    decide_withdraw,
    evolve,
)
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
    events = applied()
    for status in statuses:
        events += decide_change_status(given(events), "CA-1", status, "officer", "ok", TODAY)
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
    assert err.value.rule in {"clearing.illegal_transition", "clearing.status_unknown"}


@pytest.mark.parametrize("path", [(), ("20",), ("20", "30"), ("20", "30", "40")])
def test_rejection_is_possible_until_reviewed_and_needs_a_reason(path: tuple[str, ...]) -> None:
    with pytest.raises(DomainError):
        decide_change_status(given(moved(*path)), "CA-1", "70", "officer", "", TODAY)
    (changed,) = decide_change_status(
        given(moved(*path)), "CA-1", "70", "officer", "fees wrong", TODAY
    )
    assert (changed.from_status, changed.to_status) == ((path or ("10",))[-1], "70")
