"""Reading partitions exactly (yidi_events.runtime.offsets): every offset once and in order,
whatever the answers skip or repeat."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition

from yidi_events.runtime.offsets import REREADS, Contiguous, MissingRecords

A = TopicPartition("t", 0)
B = TopicPartition("t", 1)


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int


def recs(tp: TopicPartition, *offsets: int) -> list[Rec]:
    return [Rec(tp.topic, tp.partition, o) for o in offsets]


def test_records_in_order_are_taken_and_the_partition_moves_on() -> None:
    reading = Contiguous({A: 10, B: 0})
    kept, reread = reading.take([*recs(A, 10, 11), *recs(B, 0)])
    assert [(r.partition, r.offset) for r in kept] == [(0, 10), (0, 11), (1, 0)]
    assert reread == {}
    assert reading.reached(A, 12)
    assert not reading.reached(A, 13)


def test_a_skipped_offset_sends_its_partition_back_and_keeps_the_others() -> None:
    reading = Contiguous({A: 0, B: 0})
    # A's answer lacks 2: 0 and 1 are taken, 3 and 4 wait for 2; B is not held up.
    kept, reread = reading.take([*recs(A, 0, 1, 3, 4), *recs(B, 0, 1)])
    assert [(r.partition, r.offset) for r in kept] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert reread == {A: 2}
    # Read again from 2: what was taken before comes again and is not taken twice.
    kept, reread = reading.take(recs(A, 2, 3, 4))
    assert [r.offset for r in kept] == [2, 3, 4]
    assert reread == {}
    assert reading.reached(A, 5)


def test_a_gap_that_reading_again_does_not_fill_stops_the_read() -> None:
    reading = Contiguous({A: 0})
    for _ in range(REREADS):
        assert reading.take(recs(A, 1)) == ([], {A: 0})
    with pytest.raises(MissingRecords, match=r"t\[0\] skips from offset 0 to 1"):
        reading.take(recs(A, 1))
