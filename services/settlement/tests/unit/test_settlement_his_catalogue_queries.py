"""The paged catalogue queries' pure parts: pages and their bounds, the catalogue's entries as
its publications leave them, a hospital's mappings as its stream folds them, the paging input
(numbers as numbers or text, refused with their own rule), the filters, and every row of 1304,
1312 and 1316-1319 against the spec's own output tables once typed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from settlement_his_numbers import spec_gaps

from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import DomainError
from yidi_settlement.app.catalogue_queries import MappingSeen
from yidi_settlement.domain import catalogue_pages as cp
from yidi_settlement.domain.events import (
    CatalogueItemPublished,
    HospitalItemMapped,
    HospitalItemUnmapped,
)
from yidi_settlement.his import catalogue_queries as cq
from yidi_settlement.his.messages import TEXTS
from yidi_settlement.his.typed import typed

NINE = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TEN = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
JAN = date(2026, 1, 1)


def item(code: str, **changes: Any) -> CatalogueItemPublished:
    fields: dict[str, Any] = {
        "visit_region": "320100",
        "catalogue_code": code,
        "name": f"name {code}",
        "item_class": ItemClass.B,
        "self_pay_ratio": Decimal("0.1"),
        "price_cap": None,
        "list_type": "101",
        "effective_from": JAN,
    }
    return CatalogueItemPublished(**{**fields, **changes})


def test_a_page_counts_its_rows_over_all_pages() -> None:
    rows = list("abcdefg")
    first = cp.page_of(rows, 1, 3)
    assert (first.rows, first.pages, first.first_row, first.last_row) == (("a", "b", "c"), 3, 1, 3)
    last = cp.page_of(rows, 3, 3)
    assert (last.rows, last.first_row, last.last_row, last.total) == (("g",), 7, 7, 7)
    beyond = cp.page_of(rows, 4, 3)
    assert (beyond.rows, beyond.first_row, beyond.last_row) == ((), 0, 0)
    empty = cp.page_of([], 1, 10)
    assert (empty.pages, empty.total) == (0, 0)


def test_a_later_publication_of_an_entry_replaces_it_and_keeps_when_it_began() -> None:
    later = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    found = cp.entries(
        [
            (item("XB"), NINE),
            (item("XA"), NINE),
            (item("XA", effective_from=date(2026, 2, 1), name="Feb"), TEN),
            (item("XB", name="new"), later),
        ]
    )
    assert [(e.entry.catalogue_code, e.entry.effective_from) for e in found] == [
        ("XA", JAN),
        ("XA", date(2026, 2, 1)),
        ("XB", JAN),
    ]
    xb = found[2]
    assert (xb.entry.name, xb.created_at, xb.updated_at) == ("new", NINE, later)


def test_mappings_fold_to_what_stands_with_when_each_was_made() -> None:
    def mapped(item_code: str, code: str, at: datetime) -> HospitalItemMapped:
        return HospitalItemMapped(
            institution_code="H1", hospital_item_code=item_code, catalogue_code=code, mapped_at=at
        )

    state = cp.MAPPINGS_SEEN.fold(
        [
            mapped("HIS-1", "XA", NINE),
            mapped("HIS-2", "XB", NINE),
            mapped("HIS-1", "XC", TEN),
            HospitalItemUnmapped(
                institution_code="H1",
                hospital_item_code="HIS-2",
                catalogue_code="XB",
                unmapped_at=TEN,
            ),
        ]
    )
    assert state == {
        "HIS-1": cp.ItemMapping(hospital_item_code="HIS-1", catalogue_code="XC", mapped_at=TEN)
    }


def data(**fields: Any) -> dict[str, Any]:
    return {"data": {"updt_time": "2026-01-01 00:00:00", "page_num": 1, "page_size": 10, **fields}}


def test_paging_arrives_as_numbers_or_text_and_iso_times() -> None:
    asked = cq.page_asked(
        data(page_num=Decimal("2.0"), page_size="50", updt_time="2026-03-10T09:00:00")
    )
    assert (asked.number, asked.size) == (2, 50)
    assert asked.updated_after == datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    # absent values as clients send them are no filters; a day filter is compared as a day
    asked = cq.page_asked(data(hilist_code="", list_type="null", begndate="2026-01-01 00:00:00"))
    assert asked.filters == {"begndate": "2026-01-01"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("page_num", 0), ("page_size", 10000), ("page_size", "ten"), ("page_num", Decimal("1.5"))],
)
def test_a_page_not_a_whole_number_from_1_to_9999_is_refused_by_its_own_rule(
    field: str, value: Any
) -> None:
    with pytest.raises(DomainError) as refused:
        cq.page_asked(data(**{field: value}))
    assert (refused.value.rule, refused.value.field) == (cq.PAGE_INVALID, field)
    assert cq.PAGE_INVALID in TEXTS


def test_updt_time_is_required() -> None:
    with pytest.raises(DomainError) as refused:
        cq.page_asked({"data": {"page_num": 1, "page_size": 10}})
    assert refused.value.field == "updt_time"


def _entries() -> list[cp.EntryVersions]:
    return cp.entries(
        [
            (
                item(
                    "B001",
                    item_class=ItemClass.A,
                    self_pay_ratio=Decimal(0),
                    list_type="201",
                    price_cap=Decimal("60"),
                ),
                NINE,
            ),
            (item("M001", list_type="301", self_pay_ratio=Decimal("0.15")), NINE),
            (item("XB003", price_cap=Decimal("50.125"), effective_to=date(2026, 6, 30)), TEN),
        ]
    )


def test_rows_are_kept_by_time_day_in_force_and_fields() -> None:
    rows = cq.insurance_list(_entries(), "320100")
    codes = lambda answer: [r["hilist_code"] for r in answer["data"]]  # noqa: E731
    assert codes(cq.answer(cq.page_asked(data()), rows)) == ["B001", "M001", "XB003"]
    # updated after 09:00 in Shanghai: XB003 only (published 10:00)
    after = cq.page_asked(data(updt_time="2026-03-10 09:00:00"))
    assert codes(cq.answer(after, rows)) == ["XB003"]
    # in force on 2026-07-01: XB003 ended on 2026-06-30
    assert codes(cq.answer(cq.page_asked(data(query_date="2026-07-01")), rows)) == ["B001", "M001"]
    assert codes(cq.answer(cq.page_asked(data(hilist_name="M00")), rows)) == ["M001"]
    assert codes(cq.answer(cq.page_asked(data(chrgitm_lv="01")), rows)) == ["B001"]
    # a field the platform does not hold (wubi) keeps no row rather than every row
    assert codes(cq.answer(cq.page_asked(data(wubi="ABC")), rows)) == []


def test_caps_keep_their_decimals_and_ratios_come_for_each_person_type() -> None:
    caps = [r for _, r in cq.price_caps(_entries(), "320100", "2")]
    assert [(r["hilist_code"], r["hilist_pric_uplmt_amt"]) for r in caps] == [
        ("B001", "60.00"),
        ("XB003", "50.125"),
    ]
    ratios = [r for _, r in cq.self_pay_ratios(_entries(), "320100")]
    assert [(r["hilist_code"], r["selfpay_prop_psn_type"]) for r in ratios] == [
        ("B001", "310"),
        ("B001", "390"),
        ("M001", "310"),
        ("M001", "390"),
        ("XB003", "310"),
        ("XB003", "390"),
    ]
    assert len({r["rid"] for r in ratios}) == 6  # each row its own record


def _mappings() -> list[MappingSeen]:
    return [
        MappingSeen(
            mapping=cp.ItemMapping(
                hospital_item_code="HIS-1", catalogue_code="XB003", mapped_at=TEN
            ),
            entry=_entries()[2].entry,
        ),
        MappingSeen(
            mapping=cp.ItemMapping(
                hospital_item_code="HIS-9", catalogue_code="GONE", mapped_at=TEN
            ),
            entry=None,
        ),
    ]


ROWS = {
    "1304": lambda: [],
    "1312": lambda: cq.insurance_list(_entries(), "320100"),
    "1316": lambda: cq.catalogue_match(_entries(), "320100"),
    "1317": lambda: cq.hospital_matches("H32010000001", "320100", _mappings()),
    "1318": lambda: cq.price_caps(_entries(), "320100", "3"),
    "1319": lambda: cq.self_pay_ratios(_entries(), "320100"),
}


@pytest.mark.parametrize("infno", sorted(ROWS))
def test_every_row_carries_every_non_null_field_typed(infno: str) -> None:
    answer = typed(cq.answer(cq.page_asked(data()), ROWS[infno]()))
    assert spec_gaps(infno, answer) == []
    assert answer["recordCounts"] == len(answer["data"])
    if infno == "1318":
        assert [str(r["hilist_pric_uplmt_amt"]) for r in answer["data"]] == ["60.00", "50.125"]
    if infno == "1319":
        assert str(answer["data"][2]["selfpay_prop"]) == "0.1500"
