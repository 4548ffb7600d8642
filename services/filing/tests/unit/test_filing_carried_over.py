"""Filings carried over from an agency's earlier records (how the sandbox's 2026-01-01 filings
are loaded): a past begin date without the retroactive rules, at the counter only, and valid for
a person who died after it began."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from yidi_events.contracts.filing import (
    FilingApproved,
    FilingChannel,
    FilingKind,
    InsuranceType,
    LongTermType,
)
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_filing.domain import filing as f
from yidi_filing.domain import person as p
from yidi_filing.domain.enrolment import EnrolPerson
from yidi_filing.domain.filing_settings import FilingSettings

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
PERSON = fold(
    p.evolve,
    None,
    p.decide_enrol(
        None,
        EnrolPerson(
            person_id="32130000000000000006",
            insured_region="321300",
            insurance_type=InsuranceType.RESIDENT,
            person_category="1501",
            civil_servant=False,
            assistance_identities=(),
            name="刘桂花",
            certificate_type="01",
            certificate_no="321300194002020663",
            gender="2",
            birth_date=date(1940, 2, 2),
            card_serial=None,
            account_balance=0,
        ),
        NOW,
    ),
)
assert PERSON is not None
CARRIED = f.SubmitFiling(
    filing_id="F6",
    person_id=PERSON.person_id,
    kind=FilingKind.LONG_TERM,
    long_term_type=LongTermType.LONG_TERM_RESIDENT,
    channel=FilingChannel.COUNTER,
    visit_region="320100",
    valid_from=date(2026, 1, 1),
    supporting_documents=True,
    carried_over=True,
)


def test_a_carried_over_filing_keeps_its_past_begin_date() -> None:
    events = f.decide_submit(None, CARRIED, PERSON, FilingSettings(), NOW)
    assert isinstance(events[-1], FilingApproved)
    assert events[-1].valid_from == date(2026, 1, 1)


def test_it_is_valid_for_a_person_who_died_after_it_began_but_not_before() -> None:
    died = replace(PERSON, death_date=date(2026, 3, 1))
    assert f.decide_submit(None, CARRIED, died, FilingSettings(), NOW)
    with pytest.raises(DomainError) as refused:
        f.decide_submit(
            None, replace(CARRIED, valid_from=date(2026, 3, 2)), died, FilingSettings(), NOW
        )
    assert refused.value.rule == "filing.person_deceased"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"channel": FilingChannel.ONLINE}, "filing.carried_over_counter_only"),
        ({"valid_from": None}, "filing.carried_over_begin"),
    ],
)
def test_only_the_counter_records_one_and_it_names_its_begin(
    changes: dict[str, object], rule: str
) -> None:
    with pytest.raises(DomainError) as refused:
        f.decide_submit(None, replace(CARRIED, **changes), PERSON, FilingSettings(), NOW)  # type: ignore[arg-type]
    assert refused.value.rule == rule


def test_a_new_filing_with_a_past_begin_is_still_a_retroactive_one() -> None:
    with pytest.raises(DomainError) as refused:
        f.decide_submit(None, replace(CARRIED, carried_over=False), PERSON, FilingSettings(), NOW)
    assert refused.value.rule == "filing.retroactive_needs_admission"
