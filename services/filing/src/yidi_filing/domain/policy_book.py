"""The book of an insured place's benefit policy versions, one per (insured region, insurance type).

    book = fold(evolve, PolicyBook.empty(region, insurance_type), stored_events)
    new_events = decide_publish(book, parse_policy_document(document), now)

A new version supersedes the current one from its own start: the current one then ends the day
before. A version may not start before the current one's start, because settlements already made
under the current version must keep the policy they were computed with. One that starts on the
same day replaces it entirely (the old version then never applies).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from yidi_events.application import Aggregate
from yidi_events.contracts.filing import InsuranceType, PolicyPublished
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.kernel import DomainError, business_date


@dataclass(frozen=True)
class PolicyBook:
    insured_region: str
    insurance_type: InsuranceType
    versions: tuple[BenefitPolicy, ...] = ()  # in publication order, each with its effective_to

    @classmethod
    def empty(cls, insured_region: str, insurance_type: InsuranceType) -> PolicyBook:
        return cls(insured_region, insurance_type)

    @property
    def current(self) -> BenefitPolicy | None:
        return self.versions[-1] if self.versions else None

    def policy_on(self, day: date) -> BenefitPolicy | None:
        """The version that applies to a visit settled on `day`, or None if none does."""
        for policy in reversed(self.versions):
            if policy.applies_on(day):
                return policy
        return None


def evolve(book: PolicyBook, event: PolicyPublished) -> PolicyBook:
    versions = list(book.versions)
    if versions and event.superseded_effective_to is not None:
        versions[-1] = replace(versions[-1], effective_to=event.superseded_effective_to)
    return replace(book, versions=(*versions, event.policy))


def book_of(insured_region: str, insurance_type: InsuranceType) -> Aggregate[PolicyBook]:
    """The aggregate of one book: its stream starts from the empty book of its identity."""
    return Aggregate(lambda: PolicyBook.empty(insured_region, insurance_type), evolve)


def decide_publish(book: PolicyBook, policy: BenefitPolicy, now: datetime) -> list[PolicyPublished]:
    if (policy.insured_region, policy.insurance_type) != (book.insured_region, book.insurance_type):
        raise DomainError(
            "policy.wrong_book",
            f"a policy of {policy.insured_region}/{policy.insurance_type.value} cannot be "
            f"published in the book of {book.insured_region}/{book.insurance_type.value}",
            field="insured_region",
        )
    current = book.current
    if current is not None and policy.effective_from < current.effective_from:
        raise DomainError(
            "policy.backdated",
            f"a new version may not start before the current one, which starts on "
            f"{current.effective_from.isoformat()}",
            field="effective_from",
        )
    if current is not None and current == replace(policy, effective_to=current.effective_to):
        return []  # the same version again: a repeated publication is not a new fact
    superseded_to = None if current is None else policy.effective_from - timedelta(days=1)
    if current is not None and current.effective_to is not None:
        superseded_to = min(current.effective_to, policy.effective_from - timedelta(days=1))
    return [
        PolicyPublished(
            insured_region=book.insured_region,
            insurance_type=book.insurance_type,
            version=len(book.versions) + 1,
            effective_from=policy.effective_from,
            policy=policy,
            superseded_version=None if current is None else len(book.versions),
            superseded_effective_to=superseded_to,
            published_on=business_date(now),
        )
    ]
