"""Pre-event and in-event analysis (3101/3102): the same rules on a visit not yet settled.

`analyse` treats the proposed encounter as if it were settled now and returns the flags the rules
would raise, as warnings for the doctor or the counter; it changes nothing and appends no events.
The HIS gateway maps the national request to the `encounters.analyse` command, the handler
loads the person's audit history and calls `analyse`. The 协查 high-cost rule is left out: it is
follow-up after settlement, not a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from yidi_audit.domain.engine import AuditConfig, evaluate
from yidi_audit.domain.facts import Fact, FeeLine, SettledVisit
from yidi_audit.domain.flags import Flag
from yidi_events.kernel import Fen

PROPOSED = "proposed:"  # prefix of the evidence ids that stand for the proposed encounter


@dataclass(frozen=True, kw_only=True)
class ProposedEncounter:
    visit_id: str
    person_id: str
    institution_code: str
    visit_region: str
    insured_region: str
    insurance_type: str
    medical_type: str
    admitted_on: date
    discharged_on: date
    principal_diagnosis: str
    total_fee: Fen
    fund_total: Fen = 0  # not known before settlement
    fee_lines: tuple[FeeLine, ...] = ()

    def as_settled(self) -> SettledVisit:
        return SettledVisit(
            event_id=PROPOSED + self.visit_id,
            settlement_id=PROPOSED + self.visit_id,
            visit_id=self.visit_id,
            person_id=self.person_id,
            institution_code=self.institution_code,
            visit_region=self.visit_region,
            insured_region=self.insured_region,
            insurance_type=self.insurance_type,
            medical_type=self.medical_type,
            admitted_on=self.admitted_on,
            discharged_on=self.discharged_on,
            settled_on=self.discharged_on,
            principal_diagnosis=self.principal_diagnosis,
            total_fee=self.total_fee,
            fund_total=self.fund_total,
            fee_lines=self.fee_lines,
        )


@dataclass(frozen=True, kw_only=True)
class AnalysisRequest:
    """Proposed encounters to analyse; `rule_ids` None means every rule."""

    rule_ids: frozenset[str] | None = None
    encounters: tuple[ProposedEncounter, ...]


def analyse(
    history: Iterable[Fact],
    proposed: ProposedEncounter,
    config: AuditConfig,
    rule_ids: frozenset[str] | None = None,
) -> list[Flag]:
    """Warnings for the proposed encounter; `rule_ids` limits them to the rules asked for."""
    quiet = replace(config, high_cost=replace(config.high_cost, enabled=False))
    warnings = evaluate(history, proposed.as_settled(), quiet)
    if rule_ids:
        warnings = [w for w in warnings if w.rule_id in rule_ids]
    return warnings
