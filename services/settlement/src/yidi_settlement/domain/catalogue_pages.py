"""What the paged catalogue queries tell a hospital: the catalogue's entries as they stand, each
with when it was first and last published; the hospital's own item mappings with when each was
made; and the page of rows a query asks for."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from yidi_events.application import Aggregate
from yidi_settlement.domain.events import (
    CatalogueItemPublished,
    HospitalItemMapped,
    HospitalItemUnmapped,
)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class EntryVersions:
    """A catalogue entry (a code from a date) as last published, and since when it exists."""

    entry: CatalogueItemPublished
    created_at: datetime
    updated_at: datetime


def entries(history: Iterable[tuple[CatalogueItemPublished, datetime]]) -> list[EntryVersions]:
    """The entries a region's publications (in the order they were published) leave: a later
    publication of a code from the same date replaces the earlier; ordered by code, then date."""
    found: dict[tuple[str, date], EntryVersions] = {}
    for item, at in history:
        key = (item.catalogue_code, item.effective_from)
        before = found.get(key)
        found[key] = EntryVersions(
            entry=item, created_at=at if before is None else before.created_at, updated_at=at
        )
    return [found[key] for key in sorted(found)]


@dataclass(frozen=True, kw_only=True)
class ItemMapping:
    """A hospital item mapped to a catalogue code, as it stands, with when it was mapped."""

    hospital_item_code: str
    catalogue_code: str
    mapped_at: datetime


MappingsSeen = dict[str, ItemMapping]  # hospital item code -> its mapping


def evolve_mappings_seen(state: MappingsSeen, event: Any) -> MappingsSeen:
    match event:
        case HospitalItemMapped():
            mapping = ItemMapping(
                hospital_item_code=event.hospital_item_code,
                catalogue_code=event.catalogue_code,
                mapped_at=event.mapped_at,
            )
            return {**state, event.hospital_item_code: mapping}
        case HospitalItemUnmapped():
            return {k: m for k, m in state.items() if k != event.hospital_item_code}
    return state


# The same stream reference.HOSPITAL_ITEMS folds, keeping when each mapping was made.
MAPPINGS_SEEN: Aggregate[MappingsSeen] = Aggregate(dict, evolve_mappings_seen)


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    """One page of rows: `number` counts from 1, `size` rows a page, `total` rows in all."""

    rows: tuple[T, ...]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.size)

    @property
    def first_row(self) -> int:
        """The page's first row, counted from 1 over all pages (0 on an empty page)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


def page_of(rows: Sequence[T], number: int, size: int) -> Page[T]:
    """Page `number` of `rows`, `size` a page: a page past the last is empty, not an error
    (a client pages until it gets fewer rows than it asked for)."""
    assert number >= 1, "callers check the page they were sent"
    assert size >= 1, "callers check the page they were sent"
    start = (number - 1) * size
    return Page(rows=tuple(rows[start : start + size]), number=number, size=size, total=len(rows))
