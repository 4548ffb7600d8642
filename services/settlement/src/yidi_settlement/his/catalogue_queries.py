"""The paged catalogue queries: 1304 民族药品目录, 1312 医保目录信息, 1316 医疗目录与医保目录匹配,
1317 医药机构目录匹配, 1318 医保目录限价, 1319 医保目录先自付比例.

Each takes the spec's `data` node (updt_time, page_num and page_size required; every other field
narrows the rows) and answers one page: the rows under `data`, beside the paging fields the spec
gives its paged answers (pageNum, pageSize, size, startRow, endRow, recordCounts, pages,
isFirstPage, isLastPage). Rows are those updated after `updt_time`, in code order.

What settlement holds answers them: 1312 and 1316 the entries of the hospital's regional
catalogue (for this platform the medical catalogue is the insurance catalogue, so 1316 matches
each code to itself), 1318 the entries with a price cap, 1319 every entry's self-pay ratio, 1317
the hospital's own 3301 mappings. The platform holds no ethnic medicines: 1304 answers an empty
page. Registered in transactions.by_infno."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_events.application import Unit
from yidi_events.kernel import business_date
from yidi_settlement.app.catalogue_queries import CatalogueQueryService, MappingSeen
from yidi_settlement.domain.catalogue_pages import EntryVersions, page_of
from yidi_settlement.his.envelope import (
    ABSENT,
    HisEnvelope,
    local_time,
    moment,
    node,
    quoted,
    refuse,
    required,
)

Output = dict[str, Any]
Row = tuple[datetime, dict[str, Any]]  # when the row last changed, and the row

PAGE_INVALID = "his.page_invalid"
MAX_PAGE = 9999  # page_num and page_size are 数值型 of length 4
_PAGING = ("page_num", "page_size", "updt_time", "query_date")
_DAYS = ("begndate", "enddate")  # 日期型 filters: compared as days
_PARTS = ("hilist_name", "medins_list_name", "drug_genname", "drug_prodname")  # name parts

VALID = "1"  # vali_flag 有效: the platform keeps entries and mappings in force only
NOT_RESTRICTED = "0"  # lmt_used_flag 否: the catalogue holds no restricted-use marks
USABLE = "1"  # med_use_flag 是, matn_used_flag 生育可用: the catalogue draws no such line
# hilist_use_type has no code table in the spec; 1 is what platforms answer for general use.
GENERAL_USE = "1"
ANY_COMPOUND = "1"  # lmt_cpnd_type 单复方均可用
# overlmt_dspo_way has no code table in the spec: 1 says the part above the cap is paid by the
# person, which is what the settlement engine does with it.
EXCESS_SELF_PAID = "1"
FIRST_SELF_PAY = "10"  # selfpay_prop_type 目录先自付比例
# selfpay_prop_psn_type: the catalogue's ratio holds for employees (310) and residents (390) alike
PERSON_TYPES = ("310", "390")
# med_chrgitm_type by list_type; a service item's category (bed, exam, ...) is not held: 其他费
_CHARGE_TYPE = {"101": "09", "102": "10", "103": "09", "106": "10", "301": "08"}
OTHER_CHARGE = "14"


# The infnos answered a page at a time, and the fields beside the rows (the spec's paging table,
# as in its 3xxx paged queries), with how they are typed and what they say.
PAGED = frozenset({"1304", "1312", "1316", "1317", "1318", "1319"})
PAGING: Mapping[str, tuple[str, str]] = {
    "pageNum": ("integer", "页码"),
    "pageSize": ("integer", "每页条目数"),
    "size": ("integer", "当前页条目数"),
    "startRow": ("integer", "页面展示起始行 (0 when the page is empty)"),
    "endRow": ("integer", "页面展示结束行 (0 when the page is empty)"),
    "recordCounts": ("integer", "总条目数"),
    "pages": ("integer", "总页数"),
    "isFirstPage": ("boolean", "是否为第一页"),
    "isLastPage": ("boolean", "是否为最后一页"),
    "firstPage": ("boolean", "是否为第一页 (isFirstPage, as PageHelper clients read it)"),
    "lastPage": ("boolean", "是否为最后一页 (isLastPage, as PageHelper clients read it)"),
}


@dataclass(frozen=True, kw_only=True)
class PageAsked:
    number: int
    size: int
    updated_after: datetime
    on: date | None  # query_date: rows in force that day
    filters: dict[str, str]  # every other field sent, by its national name


def _count(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field)
    if value in ABSENT:
        raise refuse(field, f"{field} is required", "his.required")
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if (
        not number.is_finite()
        or number != number.to_integral_value()
        or not 1 <= number <= MAX_PAGE
    ):
        raise refuse(
            field,
            f"{field} must be a whole number from 1 to {MAX_PAGE}, got {value!r}",
            PAGE_INVALID,
            value=quoted(value),
        )
    return int(number)


def page_asked(payload: Mapping[str, Any]) -> PageAsked:
    data = node(payload)
    number, size = _count(data, "page_num"), _count(data, "page_size")
    updated_after = moment("updt_time", required(data, "updt_time"))
    on = data.get("query_date")
    filters: dict[str, str] = {}
    for field, value in data.items():
        if field in _PAGING or value in ABSENT or isinstance(value, dict | list):
            continue
        text = str(value)
        filters[field] = moment(field, text).date().isoformat() if field in _DAYS else text
    return PageAsked(
        number=number,
        size=size,
        updated_after=updated_after,
        on=None if on in ABSENT else business_date(moment("query_date", str(on))),
        filters=filters,
    )


def _kept(asked: PageAsked, changed: datetime, row: Mapping[str, Any]) -> bool:
    if changed <= asked.updated_after:
        return False
    if asked.on is not None:
        day = asked.on.isoformat()
        if row["begndate"] > day or (row.get("enddate") or day) < day:
            return False
    for field, wanted in asked.filters.items():
        value = row.get(field)
        if value is None:
            return False
        matches = wanted in str(value) if field in _PARTS else str(value) == wanted
        if not matches:
            return False
    return True


def answer(asked: PageAsked, rows: list[Row]) -> Output:
    """The page asked for of the rows the filters keep, with the spec's paging fields."""
    page = page_of([r for changed, r in rows if _kept(asked, changed, r)], asked.number, asked.size)
    return {
        "data": list(page.rows),
        "pageNum": page.number,
        "pageSize": page.size,
        "size": len(page.rows),
        "startRow": page.first_row,
        "endRow": page.last_row,
        "recordCounts": page.total,
        "pages": page.pages,
        "isFirstPage": page.number == 1,
        "isLastPage": page.number >= page.pages,
        # PageHelper clients (Java) read the same two flags under these names
        "firstPage": page.number == 1,
        "lastPage": page.number >= page.pages,
    }


# --- rows ------------------------------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _rid(*parts: object) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(str(p) for p in parts)).hex


def _held(e: EntryVersions, region: str, *rid: object) -> dict[str, Any]:
    """What every catalogue row tells of its entry: where, from when, which record, when."""
    item = e.entry
    return {
        "insu_admdvs": region,
        "begndate": item.effective_from.isoformat(),
        "enddate": _day(item.effective_to),
        "vali_flag": VALID,
        "rid": _rid(region, item.catalogue_code, item.effective_from, *rid),
        "updt_time": local_time(e.updated_at),
        "crte_time": local_time(e.created_at),
    }


def _yuan(amount: Decimal) -> str:
    cents = amount.quantize(Decimal("0.01"))
    return str(cents if cents == amount else amount.normalize())


def insurance_list(entries: list[EntryVersions], region: str) -> list[Row]:
    """1312: each entry of the catalogue."""
    return [
        (
            e.updated_at,
            {
                "hilist_code": e.entry.catalogue_code,
                "hilist_name": e.entry.name,
                "med_chrgitm_type": _CHARGE_TYPE.get(e.entry.list_type, OTHER_CHARGE),
                "chrgitm_lv": e.entry.item_class.value,
                "lmt_used_flag": NOT_RESTRICTED,
                "list_type": e.entry.list_type,
                "med_use_flag": USABLE,
                "matn_used_flag": USABLE,
                "hilist_use_type": GENERAL_USE,
                "lmt_cpnd_type": ANY_COMPOUND,
                **_held(e, region),
            },
        )
        for e in entries
    ]


def catalogue_match(entries: list[EntryVersions], region: str) -> list[Row]:
    """1316: each entry's medical catalogue code matched to its insurance code, the same code."""
    return [
        (
            e.updated_at,
            {
                "med_list_codg": e.entry.catalogue_code,
                "hilist_code": e.entry.catalogue_code,
                "list_type": e.entry.list_type,
                **_held(e, region),
            },
        )
        for e in entries
    ]


def hospital_matches(institution: str, region: str, mappings: list[MappingSeen]) -> list[Row]:
    """1317: the hospital's items mapped to catalogue codes (3301), from the day mapped."""
    return [
        (
            s.mapping.mapped_at,
            {
                "fixmedins_code": institution,
                "medins_list_codg": s.mapping.hospital_item_code,
                "insu_admdvs": region,
                "list_type": "" if s.entry is None else s.entry.list_type,
                "med_list_codg": s.mapping.catalogue_code,
                "begndate": business_date(s.mapping.mapped_at).isoformat(),
                "vali_flag": VALID,
                "rid": _rid(institution, s.mapping.hospital_item_code, s.mapping.mapped_at),
                "updt_time": local_time(s.mapping.mapped_at),
                "crte_time": local_time(s.mapping.mapped_at),
            },
        )
        for s in mappings
    ]


def price_caps(entries: list[EntryVersions], region: str, hospital_level: str) -> list[Row]:
    """1318: the entries with a price cap; the cap holds at every level, told as the hospital's
    own (hilist_lmtpric_type 1, 2, 3: 一级及以下, 二级, 三级)."""
    return [
        (
            e.updated_at,
            {
                "hilist_code": e.entry.catalogue_code,
                "hilist_lmtpric_type": hospital_level,
                "overlmt_dspo_way": EXCESS_SELF_PAID,
                "hilist_pric_uplmt_amt": _yuan(cap),
                **_held(e, region, "cap"),
            },
        )
        for e in entries
        if (cap := e.entry.price_cap) is not None
    ]


def self_pay_ratios(entries: list[EntryVersions], region: str) -> list[Row]:
    """1319: each entry's first self-pay ratio, for employees and residents alike."""
    return [
        (
            e.updated_at,
            {
                "hilist_code": e.entry.catalogue_code,
                "selfpay_prop_psn_type": kind,
                "selfpay_prop_type": FIRST_SELF_PAY,
                "selfpay_prop": str(e.entry.self_pay_ratio),
                **_held(e, region, "ratio", kind),
            },
        )
        for e in entries
        for kind in PERSON_TYPES
    ]


# --- the transactions ------------------------------------------------------------------------


@dataclass
class CatalogueQueryTransactions:
    service: CatalogueQueryService

    async def ethnic_medicines(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        """1304: the platform holds no ethnic medicines."""
        return answer(page_asked(env.input), [])

    async def insurance_list(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        asked = page_asked(env.input)
        seen = await self.service.catalogue(unit, env.institution_code, now)
        return answer(asked, insurance_list(seen.entries, seen.hospital.region))

    async def catalogue_match(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        asked = page_asked(env.input)
        seen = await self.service.catalogue(unit, env.institution_code, now)
        return answer(asked, catalogue_match(seen.entries, seen.hospital.region))

    async def hospital_matches(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        asked = page_asked(env.input)
        hospital, mappings = await self.service.mappings(unit, env.institution_code, now)
        return answer(asked, hospital_matches(env.institution_code, hospital.region, mappings))

    async def price_caps(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        asked = page_asked(env.input)
        seen = await self.service.catalogue(unit, env.institution_code, now)
        rows = price_caps(seen.entries, seen.hospital.region, seen.hospital.hospital_level)
        return answer(asked, rows)

    async def self_pay_ratios(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        asked = page_asked(env.input)
        seen = await self.service.catalogue(unit, env.institution_code, now)
        return answer(asked, self_pay_ratios(seen.entries, seen.hospital.region))
