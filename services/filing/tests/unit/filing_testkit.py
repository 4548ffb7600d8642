"""What the filing handler tests share: the day, the places and staff, Zhang enrolled, and the
service on the in-memory event store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.auth.agency import Principal
from yidi_events.contracts.filing import EnrolmentStatus, InsuranceType, PersonEnrolledV1
from yidi_events.store import NewEvent
from yidi_filing.app.common import Context
from yidi_filing.app.settings import FilingConfig, SettingsBook
from yidi_filing.domain.filing_settings import FilingSettings

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Shanghai
TODAY = date(2026, 3, 2)
SUZHOU, WUXI, NANJING = "320500", "320200", "320100"

ZHANG = "32050000000000000001"  # 张建国, a retired employee insured in Suzhou
ZHANG_ID = "320500195603120111"  # born 1956-03-12, male: the 17th digit is odd
WANG = "61100000000000000003"  # 王大山, a resident insured in Shangluo

CLERK = Principal("staff-320500", SUZHOU, frozenset())
REVIEWER = Principal("reviewer-320500", SUZHOU, frozenset({"reviewer"}))
WUXI_CLERK = Principal("staff-320200", WUXI, frozenset())
WUXI_REVIEWER = Principal("reviewer-320200", WUXI, frozenset({"reviewer"}))
NANJING_CLERK = Principal("staff-320100", NANJING, frozenset())
CENTRE = Principal("centre", "320000", frozenset(), kind="centre")


def person_principal(person_id: str) -> Principal:
    return Principal(person_id, SUZHOU, frozenset(), kind="person")


class FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class HeldNumbers:
    """The certificate register in memory: certificate key -> the person holding it."""

    holders: dict[str, str] = field(default_factory=dict)

    async def claim(self, unit: Unit, enrolled: Sequence[PersonEnrolledV1]) -> set[str]:
        landed: set[str] = set()
        for event in enrolled:
            key = f"{event.certificate_type}:{event.certificate_no}"
            if key not in self.holders:
                self.holders[key] = event.person_id
                landed.add(event.person_id)
        return landed

    async def release(self, unit: Unit, person_id: str) -> None:
        self.holders = {k: p for k, p in self.holders.items() if p != person_id}


@dataclass
class Service:
    ctx: Context
    store: InMemoryEventStore
    numbers: HeldNumbers

    async def given(self, stream_id: str, *payloads: Any) -> None:
        async with self.store.begin() as unit:
            version = len(await unit.load(stream_id))
            await unit.append(stream_id, version, [NewEvent(p, TODAY) for p in payloads])

    def events(self, stream_id: str) -> list[Any]:
        return self.store.payloads(stream_id)

    def committed(self) -> list[Any]:
        return [e.payload for e in self.store.log]


def service(province: FilingSettings | None = None) -> Service:
    """`province`: the province file's filing rules (default DOMAIN.md's)."""
    clock = FixedClock()
    store = InMemoryEventStore("filing", clock)
    numbers = HeldNumbers()
    # Shangluo lets a referral cover the whole visit city; Suzhou names one hospital.
    settings = SettingsBook(FilingConfig(whole_city_referral="611000"), province=province)
    return Service(Context(numbers, settings, write=WritePath(store, clock)), store, numbers)


ZHANG_ENROLLED = PersonEnrolledV1(
    person_id=ZHANG,
    insured_region=SUZHOU,
    insurance_type=InsuranceType.EMPLOYEE,
    person_category="1201",
    civil_servant=False,
    assistance_identities=(),
    name="张建国",
    certificate_type="01",
    certificate_no=ZHANG_ID,
    gender="1",
    birth_date=date(1956, 3, 12),
    card_serial=None,
    account_balance=350000,
    enrolment_status=EnrolmentStatus.ACTIVE,
    enrolled_on=date(2026, 1, 5),
)


async def enrolled_zhang(province: FilingSettings | None = None) -> Service:
    s = service(province)
    await s.given(f"person-{ZHANG}", ZHANG_ENROLLED)
    s.numbers.holders[f"01:{ZHANG_ID}"] = ZHANG
    return s
