"""The query handlers on the in-memory event store: given a visit's events, the settlement list
is appended to the visit's stream (a refusal appends nothing), and the queries read the visit
as its events tell it. The registry and catalogue reads are a fake of app/queries.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from test_settlement_his_queries import LINE_A, LINE_B, REGISTERED, cancelled, settled, uploaded

from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.kernel import ControlledClock, DomainError
from yidi_settlement.app.queries import QueryService
from yidi_settlement.domain import visit as v
from yidi_settlement.domain.events import SettlementListUploaded
from yidi_settlement.his.envelope import local_time

NOW = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
HOSPITAL = REGISTERED.institution_code


class FakeReads:
    """Only what these handlers read: catalogue names (the drug of LINE_A is known)."""

    async def catalogue_names(
        self, unit: Unit, visit_region: str, codes: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        known = {LINE_A.catalogue_code: {"name": "甲药", "list_type": "101"}}
        return {c: known[c] for c in codes if c in known}


async def given(write: WritePath, events: list[Any]) -> None:
    async def work(unit: Unit) -> None:
        await write.append(unit, v.stream_id("V1"), 0, events)

    await write.transact(work)


@pytest.fixture
def world() -> tuple[InMemoryEventStore, WritePath, QueryService]:
    clock = ControlledClock(NOW)
    store = InMemoryEventStore("settlement", clock)
    write = WritePath(store, clock)
    return store, write, QueryService(write, FakeReads())  # type: ignore[arg-type]


async def upload(service: QueryService, write: WritePath, **changes: Any) -> str:
    command: dict[str, Any] = {
        "institution": HOSPITAL,
        "visit_id": "V1",
        "person_id": "P1",
        "settlement_id": "S1",
        "form": {"setlinfo": {"bill_no": "1"}},
        "message_id": "M1",
        "now": NOW,
        **changes,
    }
    return await write.transact(lambda unit: service.upload_settlement_list(unit, **command))


async def test_a_settlement_list_is_appended_to_its_visit(
    world: tuple[InMemoryEventStore, WritePath, QueryService],
) -> None:
    store, write, service = world
    await given(write, [REGISTERED, uploaded(LINE_A), settled("S1", NOW)])
    list_id = await upload(service, write)
    (event,) = store.payloads(v.stream_id("V1"))[3:]
    assert event == SettlementListUploaded(
        visit_id="V1",
        person_id="P1",
        institution_code=HOSPITAL,
        settlement_id="S1",
        list_id=list_id,
        form={"setlinfo": {"bill_no": "1"}},
        uploaded_at=NOW,
        message_id="M1",
    )
    # the visit itself is unchanged by it: still settled, with its lines
    state = v.VISIT.fold(store.payloads(v.stream_id("V1")))
    assert state.status is v.VisitStatus.SETTLED


async def test_a_refused_list_appends_nothing(
    world: tuple[InMemoryEventStore, WritePath, QueryService],
) -> None:
    store, write, service = world
    await given(write, [REGISTERED, uploaded(LINE_A), settled("S1", NOW), cancelled("S1")])
    before = len(store.log)
    for changes, rule in [
        ({}, "settlement_list.no_settlement"),
        ({"institution": "H-OTHER"}, "visit.not_found"),
        ({"person_id": "P2"}, "visit.person_mismatch"),
    ]:
        with pytest.raises(DomainError) as refused:
            await upload(service, write, **changes)
        assert refused.value.rule == rule
    assert len(store.log) == before


async def test_a_settlements_lines_are_read_with_their_catalogue_names(
    world: tuple[InMemoryEventStore, WritePath, QueryService],
) -> None:
    _, write, service = world
    await given(write, [REGISTERED, uploaded(LINE_A, LINE_B), settled("S1", NOW)])
    found = await write.transact(
        lambda unit: service.settled_lines(unit, HOSPITAL, "V1", "P1", "S1")
    )
    assert found.settlement.settlement_id == "S1"
    assert [(s.line.fee_line_no, s.catalogue) for s in found.lines] == [
        (LINE_A.fee_line_no, {"name": "甲药", "list_type": "101"}),
        (LINE_B.fee_line_no, None),
    ]
    # the vector's lines are dated 1 January, before their upload: the fee arose that day, in
    # Nanjing's calendar
    assert LINE_A.fee_date == date(2026, 1, 1)
    assert local_time(found.lines[0].at) == "2026-01-01 00:00:00"
