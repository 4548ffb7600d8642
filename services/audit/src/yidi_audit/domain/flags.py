"""A flag: one rule's suspicion about one person, with the evidence behind it.

A flag's `flag_id` is a fingerprint of the rule and its evidence, so the same evidence raised twice
(a redelivered event, a rule run again) has the same id and the handler's unique key drops it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_audit.domain.events import EvidenceSettlement, FlagRaised
from yidi_events.kernel import Fen


class Severity(StrEnum):
    VIOLATION = "violation"  # clearly against the rules
    SUSPECTED = "suspected"  # needs a reviewer
    NOTICE = "notice"  # routine follow-up (e.g. 协查 of a high-cost admission)


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    name: str
    severity: Severity


@dataclass(frozen=True, kw_only=True)
class Flag:
    rule_id: str
    rule_version: int
    rule_name: str
    severity: Severity
    person_id: str
    institution_code: str
    evidence: tuple[EvidenceSettlement, ...]
    extra_evidence_event_ids: tuple[str, ...] = ()  # facts that are not settlements (a death)
    amount_at_issue: Fen = 0
    detail: str
    raised_on: date

    @property
    def evidence_event_ids(self) -> tuple[str, ...]:
        return tuple(
            sorted({e.event_id for e in self.evidence} | set(self.extra_evidence_event_ids))
        )

    @property
    def settlement_ids(self) -> tuple[str, ...]:
        return tuple(sorted({e.settlement_id for e in self.evidence}))

    @property
    def visit_ids(self) -> tuple[str, ...]:
        return tuple(sorted({e.visit_id for e in self.evidence}))

    @property
    def fund_total(self) -> Fen:
        return sum(e.fund_total for e in self.evidence)

    @property
    def flag_id(self) -> str:
        basis = "|".join((self.rule_id, *self.evidence_event_ids))
        return hashlib.sha256(basis.encode()).hexdigest()[:32]

    def to_event(self) -> FlagRaised:
        return FlagRaised(
            flag_id=self.flag_id,
            rule_id=self.rule_id,
            rule_version=self.rule_version,
            person_id=self.person_id,
            institution_code=self.institution_code,
            evidence_event_ids=self.evidence_event_ids,
            settlement_ids=self.settlement_ids,
            evidence=self.evidence,
            amount_at_issue=self.amount_at_issue,
            detail=self.detail,
            raised_on=self.raised_on,
        )


def sorted_evidence(*evidence: EvidenceSettlement) -> tuple[EvidenceSettlement, ...]:
    unique = {e.settlement_id: e for e in evidence}
    return tuple(unique[k] for k in sorted(unique))
