"""Reading partitions to their end exactly: every offset once, in order.

Our producers write without transactions, so a partition's offsets are contiguous and a record
the reader did not get shows as a gap. One was seen: rebuilding a projection over 20,000 records
(Tansu, aiokafka 0.14), a read to the end offsets returned 19,890 of them without an error, and
the rebuilt tables silently lacked the rest. Where an answer skips, the reader goes back to the
first offset missing and reads it again; a gap that does not fill stops the read loudly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from aiokafka import TopicPartition

REREADS = 30
"""Times an offset is read again (a pause apart, see Consumer._read_to_end) before its absence is
taken as the broker's, not the read's: a read begun right after a publish was seen to miss
records that one begun three seconds later found."""


class Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=Record)


class MissingRecords(Exception):
    """A partition's offsets skip, and reading them again does not fill the gap."""


@dataclass
class Contiguous:
    """The next offset due on each partition, from where the read began."""

    due: dict[TopicPartition, int]
    _rereads: Counter[tuple[TopicPartition, int]] = field(default_factory=Counter)

    def take(self, records: Iterable[R]) -> tuple[list[R], dict[TopicPartition, int]]:
        """The records that are due, in order, and the partitions to read again from an offset
        (their answer skipped it). A record before its partition's due offset was taken
        before (it comes again after a reread) and is dropped."""
        kept: list[R] = []
        reread: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in reread:
                continue
            due = self.due[tp]
            if record.offset < due:
                continue
            if record.offset > due:
                self._rereads[(tp, due)] += 1
                if self._rereads[(tp, due)] > REREADS:
                    raise MissingRecords(
                        f"{tp.topic}[{tp.partition}] skips from offset {due} to {record.offset}"
                        f" however often it is read again"
                    )
                reread[tp] = due
                continue
            kept.append(record)
            self.due[tp] = due + 1
        return kept, reread

    def reached(self, tp: TopicPartition, end: int) -> bool:
        return self.due[tp] >= end
