"""The rules that choose a settlement's year, filing and catalogue: dates at their edges, the policy
year, the filing version in force at admission and the most favourable filing, and each fee line
split on the catalogue of its own fee date."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yidi_benefits import accumulators
from yidi_benefits.engine import compute_settlement
from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.line_split import split_lines
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    CatalogueVersion,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
)
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import FilingKind, HospitalLevel, PolicyYearStart
from yidi_events.contracts.settlement import FeeLinesUploaded, ItemClass
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.domain import visit
from yidi_settlement.domain.dates import check_visit_day, latest_day
from yidi_settlement.domain.eligibility import HospitalSnapshot, PersonSnapshot, check_eligibility
from yidi_settlement.domain.events import PatientDischarged, VisitRegistered

EMPLOYEE = parse_policy_document(
    json.loads((shared_dir() / "vectors/settlement.json").read_text(encoding="utf-8"))[0]["policy"]
)
SKEW = timedelta(minutes=5)

# --- dates ---------------------------------------------------------------------------------------


def test_the_latest_day_is_the_business_day_of_now_plus_the_skew() -> None:
    # 23:54:59 and 23:55 on 31 December in Nanjing (UTC+8): five minutes of skew reach New Year
    # from 23:55 on, not a second before.
    assert latest_day(datetime(2026, 12, 31, 15, 54, 59, tzinfo=UTC), SKEW) == date(2026, 12, 31)
    assert latest_day(datetime(2026, 12, 31, 15, 55, tzinfo=UTC), SKEW) == date(2027, 1, 1)
    assert latest_day(datetime(2026, 12, 31, 15, 55, tzinfo=UTC), timedelta(0)) == date(
        2026, 12, 31
    )


@pytest.mark.parametrize(
    ("day", "rule"),
    [
        (date(2026, 3, 10), None),  # the admission day
        (date(2026, 3, 20), None),  # the latest day
        (date(2026, 3, 21), "visit.date_in_future"),
        (date(2099, 12, 31), "visit.date_in_future"),
        (date(2026, 3, 9), "visit.date_before_admission"),
    ],
)
def test_a_visit_day_lies_between_the_admission_and_the_latest_day(
    day: date, rule: str | None
) -> None:
    edges = {"admitted_on": date(2026, 3, 10), "latest": date(2026, 3, 20)}
    if rule is None:
        check_visit_day("fee_date", day, **edges)
        return
    with pytest.raises(DomainError) as refused:
        check_visit_day("fee_date", day, **edges)
    assert (refused.value.rule, refused.value.field) == (rule, "fee_date")


# Admitted at 07:00 on 10 March in Nanjing: 23:00 on 9 March in UTC, still the 10th's admission.
REGISTERED = VisitRegistered(
    visit_id="V1",
    person_id="P1",
    insured_region="320500",
    visit_region="320100",
    institution_code="H32010000001",
    insurance_type="310",
    medical_type="21",
    began_at=datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
)
NOW = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # 10:00 on 12 March in Nanjing
A = CatalogueEntry(
    catalogue_code="A", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
)


def _open() -> visit.VisitState:
    return fold(visit.evolve, visit.VisitState(), [REGISTERED])


def _refusal(call: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.rule, refused.value.field


def test_a_discharge_in_the_future_or_before_the_admission_is_refused() -> None:
    state = _open()
    for day, rule in (
        (date(2026, 3, 13), "visit.date_in_future"),
        (date(2026, 3, 9), "visit.date_before_admission"),
    ):
        refused = _refusal(lambda d=day: visit.decide_discharge(state, d, NOW, skew=SKEW))
        assert refused == (rule, "discharged_on")
    [discharged] = visit.decide_discharge(state, date(2026, 3, 10), NOW, skew=SKEW)
    assert discharged.discharged_on == date(2026, 3, 10)


def _line(no: str, fee_date: date | None, code: str = "A", amount: int = 100000) -> FeeLine:
    return FeeLine(
        fee_line_no=no,
        catalogue_code=code,
        quantity=Decimal(10),
        unit_price=Decimal(amount) / 1000,
        amount=amount,
        fee_date=fee_date,
    )


def test_a_fee_line_dated_in_the_future_or_before_the_admission_is_refused() -> None:
    state, catalogue = _open(), Catalogue.undated({"A": A})
    for day, rule in (
        (date(2026, 3, 13), "visit.date_in_future"),
        (date(2026, 3, 9), "visit.date_before_admission"),
    ):
        splits = split_lines([_line("1", day)], catalogue, date(2026, 3, 12))
        refused = _refusal(lambda s=splits: visit.decide_upload_fee_lines(state, s, NOW, skew=SKEW))
        assert refused == (rule, "fee_date")
    splits = split_lines([_line("1", date(2026, 3, 10))], catalogue, date(2026, 3, 12))
    assert visit.decide_upload_fee_lines(state, splits, NOW, skew=SKEW)


def test_the_settlement_day_is_the_discharge_day_checked_again() -> None:
    uploaded = FeeLinesUploaded(
        visit_id="V1",
        person_id="P1",
        institution_code="H32010000001",
        lines=split_lines([_line("1", None)], Catalogue.undated({"A": A}), date(2026, 3, 10)),
        uploaded_at=NOW,
    )

    def discharged(on: date) -> visit.VisitState:
        event = PatientDischarged(
            visit_id="V1",
            person_id="P1",
            institution_code="H32010000001",
            discharged_on=on,
            discharged_at=NOW,
        )
        return fold(visit.evolve, visit.VisitState(), [REGISTERED, uploaded, event])

    assert visit.settlement_day(discharged(date(2026, 3, 11)), NOW, SKEW) == date(2026, 3, 11)
    # A discharge recorded before dates were checked cannot open a 2099 year.
    refused = _refusal(lambda: visit.settlement_day(discharged(date(2099, 12, 31)), NOW, SKEW))
    assert refused == ("visit.date_in_future", "discharged_on")


# --- the policy year -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "day", "year"),
    [
        (PolicyYearStart(), date(2026, 12, 31), 2026),
        (PolicyYearStart(), date(2027, 1, 1), 2027),
        (PolicyYearStart(month=7, day=1), date(2026, 6, 30), 2025),
        (PolicyYearStart(month=7, day=1), date(2026, 7, 1), 2026),
        (PolicyYearStart(month=7, day=1), date(2027, 1, 1), 2026),
        (PolicyYearStart(month=9, day=1), date(2026, 8, 31), 2025),
    ],
)
def test_the_policy_year_of_a_day(start: PolicyYearStart, day: date, year: int) -> None:
    assert replace(EMPLOYEE, policy_year_start=start).policy_year(day) == year


def test_the_engine_settles_a_july_year_in_the_year_it_began() -> None:
    july = replace(EMPLOYEE, policy_year_start=PolicyYearStart(month=7, day=1))
    lines = [_line("1", date(2027, 3, 1))]
    visit_facts = VisitFacts(
        hospital_level=HospitalLevel.THREE,
        medical_type="21",
        filing_kind=FilingKind.LONG_TERM,
        use_account=False,
        settled_on=date(2027, 3, 1),
    )
    person = PersonAtSettlement(person_category="1201")
    args: dict[str, Any] = {
        "policy": july,
        "catalogue": Catalogue.undated({"A": A}),
        "person": person,
        "visit": visit_facts,
        "fee_lines": lines,
    }
    done = compute_settlement(**args, accumulators=accumulators.initial(2026))
    assert done.movement.policy_year == 2026
    refused = _refusal(lambda: compute_settlement(**args, accumulators=accumulators.initial(2027)))
    assert refused == ("settlement.policy_year", "policy_year")


# --- the filing --------------------------------------------------------------------------------

PERSON = PersonSnapshot(person_id="P1", insured_region="611000", certificate_no="611000X")
FIRST = HospitalSnapshot(institution_code="H32010000001", region="320100", networked=True)
SECOND = HospitalSnapshot(institution_code="H32010000002", region="320100", networked=True)
CUTS = {
    FilingKind.LONG_TERM: Decimal(0),
    FilingKind.EMERGENCY: Decimal(0),
    FilingKind.REFERRAL: Decimal(10),
    FilingKind.OTHER_TEMPORARY: Decimal(20),
}


def _filing(filing_id: str, kind: FilingKind, **changes: Any) -> FilingSnapshot:
    base = FilingSnapshot(
        filing_id=filing_id,
        kind=kind,
        visit_region="320100",
        valid_from=date(2026, 1, 1),
        valid_to=None if kind is FilingKind.LONG_TERM else date(2026, 12, 31),
    )
    return replace(base, **changes)


def _eligible(filings: list[FilingSnapshot], **changes: Any) -> tuple[FilingKind, str | None]:
    args: dict[str, Any] = {
        "person": PERSON,
        "filings": filings,
        "hospital": FIRST,
        "visit_date": date(2026, 3, 10),
        "emergency": False,
        "cut_points": CUTS,
    }
    chosen = check_eligibility(**{**args, **changes})
    return chosen.filing_kind, chosen.filing_id


OTHER = _filing("F9", FilingKind.OTHER_TEMPORARY)
REFERRAL = _filing("F5", FilingKind.REFERRAL)
LONG_TERM = _filing("F7", FilingKind.LONG_TERM)


@pytest.mark.parametrize("filings", list(itertools.permutations([OTHER, REFERRAL, LONG_TERM])))
def test_the_most_favourable_filing_whatever_the_order(filings: tuple[FilingSnapshot]) -> None:
    assert _eligible(list(filings)) == (FilingKind.LONG_TERM, "F7")
    assert _eligible([f for f in filings if f is not LONG_TERM]) == (FilingKind.REFERRAL, "F5")


def test_the_policy_cuts_decide_which_filing_is_most_favourable() -> None:
    cheaper_other = {**CUTS, FilingKind.OTHER_TEMPORARY: Decimal(5)}
    for filings in ([OTHER, REFERRAL], [REFERRAL, OTHER]):
        assert _eligible(filings, cut_points=cheaper_other) == (FilingKind.OTHER_TEMPORARY, "F9")
        # Without the policy (at registration), by kind alone.
        assert _eligible(filings, cut_points=None) == (FilingKind.REFERRAL, "F5")
    # Two filings of one kind: the smaller filing id, never the first row.
    twin = _filing("F4", FilingKind.REFERRAL)
    for filings in ([REFERRAL, twin], [twin, REFERRAL]):
        assert _eligible(filings) == (FilingKind.REFERRAL, "F4")


@pytest.mark.parametrize("filings", [[OTHER], [OTHER, LONG_TERM], [LONG_TERM, OTHER]])
def test_an_emergency_settles_at_the_emergency_level(filings: list[FilingSnapshot]) -> None:
    assert _eligible(filings, emergency=True) == (FilingKind.EMERGENCY, None)
    own = _filing("F3", FilingKind.EMERGENCY)
    assert _eligible([*filings, own], emergency=True) == (FilingKind.EMERGENCY, "F3")
    assert _eligible([own, *filings], emergency=True) == (FilingKind.EMERGENCY, "F3")


def test_the_version_in_force_at_admission_governs_the_admission() -> None:
    # A referral to the first hospital, re-referred to the second on 12 March (its 3rd event).
    approved = _filing("F5", FilingKind.REFERRAL, institution_code="H32010000001", revision=1)
    changed = replace(
        approved, institution_code="H32010000002", revision=3, changed_on=date(2026, 3, 12)
    )
    for versions in ([approved, changed], [changed, approved]):
        # Admitted on 10 March at the first hospital: settles there under the old version.
        assert _eligible(versions) == (FilingKind.REFERRAL, "F5")
        assert _refusal(lambda v=versions: _eligible(v, hospital=SECOND))[0] == (
            "eligibility.no_filing"
        )
        # Admissions from the change day on: the second hospital only.
        assert _eligible(versions, hospital=SECOND, visit_date=date(2026, 3, 12)) == (
            FilingKind.REFERRAL,
            "F5",
        )
        refused = _refusal(lambda v=versions: _eligible(v, visit_date=date(2026, 3, 12)))
        assert refused[0] == "eligibility.no_filing"


# --- the catalogue of the fee date ---------------------------------------------------------------


def _b(ratio: str) -> CatalogueEntry:
    return CatalogueEntry(
        catalogue_code="B", item_class=ItemClass.B, self_pay_ratio=Decimal(ratio), price_cap=None
    )


CHANGING = Catalogue(
    {
        "B": (
            CatalogueVersion(entry=_b("0.1"), effective_from=date(2026, 1, 1)),
            CatalogueVersion(entry=_b("0.3"), effective_from=date(2027, 1, 1)),
        ),
        "A": (
            CatalogueVersion(
                entry=A, effective_from=date(2026, 1, 1), effective_to=date(2026, 12, 31)
            ),
        ),
    }
)


def test_each_line_is_split_on_the_catalogue_of_its_own_fee_date() -> None:
    splits = split_lines(
        [
            _line("1", date(2026, 12, 31), "B"),  # 1,000.00 at 10%: 100.00 pre-self-paid
            _line("2", date(2027, 1, 1), "B"),  # 1,000.00 at 30%: 300.00
            _line("3", None, "B"),  # undated: split on the day given, and dated with it
            _line("4", date(2026, 12, 31), "A"),  # class A until its end
            _line("5", date(2027, 1, 1), "A"),  # out of the catalogue from 1 January
        ],
        CHANGING,
        date(2026, 12, 30),
    )
    parts = [(s.fee_date, s.pre_self_paid, s.in_policy, s.fully_self_paid) for s in splits]
    assert parts == [
        (date(2026, 12, 31), 10000, 90000, 0),
        (date(2027, 1, 1), 30000, 70000, 0),
        (date(2026, 12, 30), 10000, 90000, 0),
        (date(2026, 12, 31), 0, 100000, 0),
        (date(2027, 1, 1), 0, 0, 100000),
    ]


def test_the_latest_published_version_in_force_wins() -> None:
    corrected = Catalogue(
        {
            "B": (
                CatalogueVersion(entry=_b("0.2"), effective_from=date(2026, 6, 1)),
                CatalogueVersion(entry=_b("0.1"), effective_from=date(2026, 1, 1)),
            )
        }
    )
    assert corrected.entry("B", date(2026, 5, 31)) == _b("0.1")
    assert corrected.entry("B", date(2026, 6, 1)) == _b("0.2")
    assert corrected.entry("B", date(2025, 12, 31)) is None
    assert corrected.entry("X", date(2026, 6, 1)) is None
