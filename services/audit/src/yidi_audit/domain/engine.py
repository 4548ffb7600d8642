"""The rules engine: `evaluate(history, new_fact, config) -> list[Flag]`, pure and deterministic.

How a handler uses it: when a settlement, cancellation or death reaches audit, load that person's
audit facts (history), call `evaluate`, then for each flag append `flag.to_event()` keyed by
`flag.flag_id` (a unique key drops a flag already raised on the same evidence, e.g. after a
redelivery) and route it to a case with `cases.decide_take_flag`. The new fact is stored in the
person's history in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from yidi_audit.domain.facts import CancelledSettlement, Fact, SettledVisit
from yidi_audit.domain.flags import Flag
from yidi_audit.domain.rule_context import RuleContext
from yidi_audit.domain.rules_billing import (
    DuplicateChargingSettings,
    HangingBedSettings,
    HighCostSettings,
    HighFrequencySettings,
    duplicate_charging,
    hanging_bed,
    high_cost_admission,
    high_frequency,
)
from yidi_audit.domain.rules_stays import (
    AfterDeathSettings,
    SplitHospitalizationSettings,
    TwoCitiesSettings,
    settled_after_death,
    split_hospitalization,
    two_cities,
)


@dataclass(frozen=True)
class AuditConfig:
    """Every rule's settings; the defaults are those of DOMAIN.md section 5."""

    split_hospitalization: SplitHospitalizationSettings = field(
        default_factory=SplitHospitalizationSettings
    )
    two_cities: TwoCitiesSettings = field(default_factory=TwoCitiesSettings)
    after_death: AfterDeathSettings = field(default_factory=AfterDeathSettings)
    high_frequency: HighFrequencySettings = field(default_factory=HighFrequencySettings)
    duplicate_charging: DuplicateChargingSettings = field(default_factory=DuplicateChargingSettings)
    hanging_bed: HangingBedSettings = field(default_factory=HangingBedSettings)
    high_cost: HighCostSettings = field(default_factory=HighCostSettings)


def _is_cancelled(history: Iterable[Fact], visit: SettledVisit) -> bool:
    return any(
        isinstance(f, CancelledSettlement) and f.settlement_id == visit.settlement_id
        for f in history
    )


def evaluate(history: Iterable[Fact], new_fact: Fact, config: AuditConfig) -> list[Flag]:
    """Flags the new fact raises against the person's history, in rule order, without duplicates.

    A cancellation raises nothing (it only removes its settlement from later evidence); a
    settlement whose cancellation is already known raises nothing either.
    """
    past = list(history)
    if isinstance(new_fact, CancelledSettlement):
        return []
    if isinstance(new_fact, SettledVisit) and _is_cancelled(past, new_fact):
        return []
    ctx = RuleContext.of(past, new_fact)
    raised = [
        *split_hospitalization(ctx, config.split_hospitalization),
        *two_cities(ctx, config.two_cities),
        *settled_after_death(ctx, config.after_death),
        *high_frequency(ctx, config.high_frequency),
        *duplicate_charging(ctx, config.duplicate_charging),
        *hanging_bed(ctx, config.hanging_bed),
        *high_cost_admission(ctx, config.high_cost),
    ]
    unique: dict[str, Flag] = {}
    for flag in raised:
        unique.setdefault(flag.flag_id, flag)
    return list(unique.values())
