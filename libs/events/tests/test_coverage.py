"""The one coverage rule of a filing, at the edges of its validity."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from yidi_events.coverage import FilingTerms, covers

REFERRAL = FilingTerms(
    approved=True,
    visit_region="320100",
    destination_institution="H1",
    valid_from=date(2026, 3, 10),
    valid_to=date(2026, 9, 9),
)


def at(terms: FilingTerms, began: date, region: str = "320102", hospital: str = "H1") -> bool:
    return covers(terms, visit_region=region, institution_code=hospital, began=began)


def test_the_first_and_last_valid_days_are_covered() -> None:
    assert not at(REFERRAL, date(2026, 3, 9))
    assert at(REFERRAL, date(2026, 3, 10))
    assert at(REFERRAL, date(2026, 9, 9))
    assert not at(REFERRAL, date(2026, 9, 10))


def test_only_the_named_hospital_of_the_filed_city() -> None:
    assert not at(REFERRAL, date(2026, 5, 1), hospital="H2")
    assert not at(REFERRAL, date(2026, 5, 1), region="320200")
    assert not at(REFERRAL, date(2026, 5, 1), region="3201")  # not a region code
    whole_city = replace(REFERRAL, destination_institution=None)
    assert at(whole_city, date(2026, 5, 1), hospital="H2")


def test_a_cancellation_ends_coverage_from_its_day_and_never_approved_covers_nothing() -> None:
    cancelled = replace(REFERRAL, valid_to=None, cancelled_on=date(2026, 5, 1))
    assert at(cancelled, date(2026, 4, 30))
    assert not at(cancelled, date(2026, 5, 1))
    assert not at(replace(REFERRAL, approved=False), date(2026, 5, 1))
