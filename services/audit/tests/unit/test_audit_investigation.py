"""协查 batches: windows across month and year ends, answers, roll-over, confirmation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_audit.domain import investigation as inv
from yidi_audit.domain.events import (
    InvestigationAnswered,
    InvestigationBatchBuilt,
    InvestigationConfirmed,
    InvestigationItem,
    InvestigationResult,
)
from yidi_audit.domain.guards import Actor
from yidi_events.decider import fold
from yidi_events.kernel import Conflict, DomainError, Forbidden, WorkingCalendar

CAL = WorkingCalendar()
NANJING = Actor("nj-1", "320100")
SUZHOU = Actor("sz-1", "320500")


@pytest.mark.parametrize(
    ("build", "window"),
    [
        (date(2026, 3, 26), (date(2026, 2, 26), date(2026, 3, 25))),
        (date(2026, 1, 26), (date(2025, 12, 26), date(2026, 1, 25))),
        (date(2025, 12, 26), (date(2025, 11, 26), date(2025, 12, 25))),
        (date(2024, 3, 26), (date(2024, 2, 26), date(2024, 3, 25))),  # leap February
    ],
)
def test_batch_window(build: date, window: tuple[date, date]) -> None:
    assert inv.batch_window(build) == window


def test_batch_window_only_on_the_26th() -> None:
    with pytest.raises(DomainError) as refused:
        inv.batch_window(date(2026, 3, 25))
    assert refused.value.field == "build_date"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 1)))
def test_every_day_falls_in_exactly_one_window(day: date) -> None:
    build = inv.build_date_for(day)
    first, last = inv.batch_window(build)
    assert first <= day <= last
    assert (build.day, last.day, first.day) == (26, 25, 26)
    assert build == last + timedelta(days=1)


def _item(sid: str, settled_on: date) -> InvestigationItem:
    return InvestigationItem(
        settlement_id=sid,
        visit_id=f"V-{sid}",
        person_id="32050000000000000001",
        institution_code="H32010000001",
        visit_region="320100",
        insured_region="320500",
        admitted_on=settled_on,
        discharged_on=settled_on,
        settled_on=settled_on,
        total_fee=3_500_000,
    )


def _built(
    build: date, *items: InvestigationItem, earlier: tuple[inv.BatchState, ...] = ()
) -> inv.BatchState:
    return fold(
        inv.evolve, inv.BatchState(), inv.decide_build(inv.BatchState(), build, items, earlier)
    )


def test_build_takes_items_settled_in_the_window_and_is_immutable() -> None:
    items = [
        _item("S0", date(2026, 2, 25)),
        _item("S1", date(2026, 2, 26)),
        _item("S2", date(2026, 3, 25)),
        _item("S3", date(2026, 3, 26)),
    ]
    (built,) = inv.decide_build(inv.BatchState(), date(2026, 3, 26), items)
    assert isinstance(built, InvestigationBatchBuilt)
    assert [i.settlement_id for i in built.items] == ["S1", "S2"]
    assert (built.batch_id, built.answer_by) == ("2026-03", date(2026, 4, 25))
    state = inv.evolve(inv.BatchState(), built)
    with pytest.raises(Conflict) as refused:
        inv.decide_build(state, date(2026, 3, 26), items)
    assert refused.value.rule == "audit.investigation.batch_immutable"


def test_answers_need_the_visit_agency_and_a_reason_for_issue_found() -> None:
    state = _built(date(2026, 3, 26), _item("S1", date(2026, 3, 1)))
    with pytest.raises(Forbidden):
        inv.decide_answer(
            state, "S1", SUZHOU, InvestigationResult.NO_ISSUE, "", date(2026, 4, 1), CAL
        )
    with pytest.raises(DomainError) as no_reason:
        inv.decide_answer(
            state, "S1", NANJING, InvestigationResult.ISSUE_FOUND, " ", date(2026, 4, 1), CAL
        )
    assert no_reason.value.field == "reason"
    (answer,) = inv.decide_answer(
        state, "S1", NANJING, InvestigationResult.NO_ISSUE, "", date(2026, 4, 3), CAL
    )
    assert isinstance(answer, InvestigationAnswered)
    # Friday 2026-04-03 + 5 working days -> Friday 2026-04-10.
    assert (answer.confirm_by, answer.late) == (date(2026, 4, 10), False)
    state = inv.evolve(state, answer)
    with pytest.raises(Conflict):
        inv.decide_answer(
            state, "S1", NANJING, InvestigationResult.NO_ISSUE, "", date(2026, 4, 3), CAL
        )


def test_insured_place_confirms_or_it_is_confirmed_automatically() -> None:
    state = _built(date(2026, 3, 26), _item("S1", date(2026, 3, 1)), _item("S2", date(2026, 3, 2)))
    for sid in ("S1", "S2"):
        state = fold(
            inv.evolve,
            state,
            inv.decide_answer(
                state, sid, NANJING, InvestigationResult.NO_ISSUE, "", date(2026, 4, 3), CAL
            ),
        )
    with pytest.raises(Forbidden):
        inv.decide_confirm(state, "S1", NANJING, date(2026, 4, 7))
    state = fold(inv.evolve, state, inv.decide_confirm(state, "S1", SUZHOU, date(2026, 4, 7)))
    assert inv.decide_auto_confirm(state, date(2026, 4, 10)) == []
    (auto,) = inv.decide_auto_confirm(state, date(2026, 4, 11))
    assert auto == InvestigationConfirmed(
        batch_id="2026-03",
        settlement_id="S2",
        confirmed_on=date(2026, 4, 11),
        confirmed_by="",
        automatic=True,
    )


def test_late_items_roll_to_the_next_batch_and_are_counted() -> None:
    march = _built(date(2026, 3, 26), _item("S1", date(2026, 3, 1)), _item("S2", date(2026, 3, 2)))
    march = fold(
        inv.evolve,
        march,
        inv.decide_answer(
            march, "S1", NANJING, InvestigationResult.NO_ISSUE, "", date(2026, 4, 25), CAL
        ),
    )
    rolled = inv.decide_roll_over(march, "2026-04", date(2026, 4, 26))
    assert [(e.settlement_id, e.to_batch_id) for e in rolled] == [("S2", "2026-04")]
    march = fold(inv.evolve, march, rolled)
    (april,) = inv.decide_build(
        inv.BatchState(), date(2026, 4, 26), [_item("S9", date(2026, 4, 1))], [march]
    )
    assert isinstance(april, InvestigationBatchBuilt)
    assert april.rolled_over_count == 1
    assert [(i.settlement_id, i.rolled_from_batch) for i in april.items] == [
        ("S2", "2026-03"),
        ("S9", None),
    ]
    with pytest.raises(Conflict) as moved:
        inv.decide_answer(
            march, "S2", NANJING, InvestigationResult.NO_ISSUE, "", date(2026, 4, 27), CAL
        )
    assert moved.value.rule == "audit.investigation.rolled_over"


def test_roll_over_waits_until_the_answer_period_ends() -> None:
    march = _built(date(2026, 3, 26), _item("S1", date(2026, 3, 1)))
    assert inv.decide_roll_over(march, "2026-04", date(2026, 4, 25)) == []
