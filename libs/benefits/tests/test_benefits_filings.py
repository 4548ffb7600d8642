"""The filing a visit falls under: the version in force on the day it began, the most favourable
of several, never the order they come in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from yidi_benefits.filings import FilingSnapshot, in_force, most_favourable
from yidi_events.contracts.policy import FilingKind

NANJING = "320100"
LONG_TERM = FilingSnapshot(
    filing_id="F-LT",
    kind=FilingKind.LONG_TERM,
    visit_region=NANJING,
    valid_from=date(2026, 1, 1),
    valid_to=None,
)
REFERRAL = FilingSnapshot(
    filing_id="F-RF",
    kind=FilingKind.REFERRAL,
    visit_region=NANJING,
    valid_from=date(2026, 3, 1),
    valid_to=date(2026, 8, 31),
    institution_code="H320100001",
)


def test_a_single_hospital_referral_covers_its_destination_only() -> None:
    began = date(2026, 5, 4)
    assert REFERRAL.covers(visit_region=NANJING, institution_code="H320100001", began=began)
    assert not REFERRAL.covers(visit_region=NANJING, institution_code="H320100002", began=began)


def test_an_admission_beginning_inside_the_validity_is_covered_not_one_after_it() -> None:
    inside = date(2026, 8, 31)
    after = date(2026, 9, 1)
    assert REFERRAL.covers(visit_region=NANJING, institution_code="H320100001", began=inside)
    assert not REFERRAL.covers(visit_region=NANJING, institution_code="H320100001", began=after)


def test_the_version_in_force_is_the_latest_revision_taking_effect_by_the_day() -> None:
    moved = replace(LONG_TERM, visit_region="330100", revision=1, changed_on=date(2026, 6, 1))
    assert in_force([moved, LONG_TERM], date(2026, 5, 31)) == [LONG_TERM]
    assert in_force([LONG_TERM, moved], date(2026, 6, 1)) == [moved]


def test_the_smallest_cut_wins_whatever_the_order() -> None:
    cuts = {FilingKind.LONG_TERM: Decimal(10), FilingKind.REFERRAL: Decimal(5)}
    assert most_favourable([LONG_TERM, REFERRAL], cuts) == REFERRAL
    assert most_favourable([REFERRAL, LONG_TERM], cuts) == REFERRAL
    # without the policy's cuts, by kind alone: long-term first
    assert most_favourable([REFERRAL, LONG_TERM], None) == LONG_TERM
    assert most_favourable([], cuts) is None
