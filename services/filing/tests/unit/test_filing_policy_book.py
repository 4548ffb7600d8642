"""Policy book: effective-dated versions per (insured region, insurance type)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.filing import InsuranceType, PolicyPublished
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document
from yidi_filing.domain.policy_book import PolicyBook, decide_publish, evolve

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
SHARED = shared_dir()
DOCUMENT = json.loads((SHARED / "sandbox/policies.json").read_text(encoding="utf-8"))[0]
V1 = parse_policy_document(DOCUMENT)  # 320100 / 310 from 2026-01-01


def book_of(*policies: BenefitPolicy) -> tuple[PolicyBook, list[PolicyPublished]]:
    book = PolicyBook.empty("320100", InsuranceType.EMPLOYEE)
    history: list[PolicyPublished] = []
    for policy in policies:
        history += decide_publish(book, policy, NOW)
        book = fold(evolve, PolicyBook.empty("320100", InsuranceType.EMPLOYEE), history)
    return book, history


def test_first_version_applies_from_its_start() -> None:
    book, [published] = book_of(V1)
    assert (published.version, published.superseded_version, published.superseded_effective_to) == (
        1,
        None,
        None,
    )
    assert book.policy_on(date(2025, 12, 31)) is None
    assert book.policy_on(date(2026, 1, 1)) == V1
    assert book.policy_on(date(2030, 1, 1)) == V1


def test_a_new_version_supersedes_from_its_date() -> None:
    v2 = replace(
        V1, effective_from=date(2026, 7, 1), basic=replace(V1.basic, annual_cap=50_000_000)
    )
    book, history = book_of(V1, v2)
    assert history[1].superseded_version == 1
    assert history[1].superseded_effective_to == date(2026, 6, 30)
    assert book.policy_on(date(2026, 6, 30)) == replace(V1, effective_to=date(2026, 6, 30))
    assert book.policy_on(date(2026, 7, 1)) == v2


def test_a_version_may_not_start_before_the_current_one() -> None:
    book, _ = book_of(V1)
    with pytest.raises(DomainError) as refused:
        decide_publish(book, replace(V1, effective_from=date(2025, 12, 31)), NOW)
    assert (refused.value.rule, refused.value.field) == ("policy.backdated", "effective_from")


def test_a_version_on_the_same_day_replaces_the_current_one() -> None:
    v2 = replace(V1, basic=replace(V1.basic, annual_cap=1))
    book, _ = book_of(V1, v2)
    assert book.policy_on(date(2026, 1, 1)) == v2


def test_republishing_the_same_version_is_a_no_op() -> None:
    book, _ = book_of(V1)
    assert decide_publish(book, V1, NOW) == []


def test_a_policy_of_another_place_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        decide_publish(PolicyBook.empty("320500", InsuranceType.EMPLOYEE), V1, NOW)
    assert refused.value.rule == "policy.wrong_book"
