"""Rules about what was billed: frequency, duplicate lines, bed-only days, high-cost admissions.

Same shape as `rules_stays`: pure `(ctx, settings) -> list[Flag]`. Rules that look inside one
visit combine the new settlement with earlier live settlements of the same visit (mid-stay
settlements), but only raise when the new settlement contributes to the finding, so a later
settlement of an already-flagged visit does not raise the same finding again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from yidi_audit.domain.events import EvidenceSettlement
from yidi_audit.domain.facts import BED_FEE, FeeLine, SettledVisit
from yidi_audit.domain.flags import Flag, RuleSpec, Severity, sorted_evidence
from yidi_audit.domain.rule_context import RuleContext
from yidi_events.kernel import Fen, RegionRelation, relation

HIGH_FREQUENCY = RuleSpec("audit.high_frequency", "频繁就医购药(超量开药)", Severity.SUSPECTED)
DUPLICATE_CHARGING = RuleSpec("audit.duplicate_charging", "重复收费", Severity.VIOLATION)
HANGING_BED = RuleSpec("audit.hanging_bed", "挂床住院", Severity.SUSPECTED)
HIGH_COST = RuleSpec("audit.high_cost_admission", "高额住院费用协查", Severity.NOTICE)


@dataclass(frozen=True)
class HighFrequencySettings:
    """More than `max_settlements` outpatient/pharmacy settlements of one person, at any
    institutions, inside some run of `window_days` consecutive calendar days that contains the
    new visit's date (K=8, W=7: the 9th settlement in 7 days raises, the 8th does not)."""

    enabled: bool = True
    version: int = 1
    max_settlements: int = 8
    window_days: int = 7


@dataclass(frozen=True)
class DuplicateChargingSettings:
    """Fee lines of one visit with the same catalogue code, fee date, unit price and quantity."""

    enabled: bool = True
    version: int = 1
    min_repeats: int = 2


@dataclass(frozen=True)
class HangingBedSettings:
    """At least `min_days` days of one stay on which every fee line is a bed fee."""

    enabled: bool = True
    version: int = 1
    min_days: int = 3
    bed_fee_categories: frozenset[str] = field(default_factory=lambda: frozenset({BED_FEE}))


@dataclass(frozen=True)
class HighCostSettings:
    """A cross-region admission whose total fee reaches the threshold enters the 协查 batch."""

    enabled: bool = True
    version: int = 1
    threshold: Fen = 3_000_000  # 30,000.00 yuan
    relations: frozenset[RegionRelation] = field(
        default_factory=lambda: frozenset(
            {RegionRelation.IN_PROVINCE, RegionRelation.CROSS_PROVINCE}
        )
    )


def _flag(
    spec: RuleSpec,
    version: int,
    ctx: RuleContext,
    visit: SettledVisit,
    *,
    evidence: tuple[EvidenceSettlement, ...],
    amount_at_issue: Fen,
    detail: str,
) -> Flag:
    return Flag(
        rule_id=spec.rule_id,
        rule_version=version,
        rule_name=spec.name,
        severity=spec.severity,
        person_id=visit.person_id,
        institution_code=visit.institution_code,
        evidence=evidence,
        amount_at_issue=amount_at_issue,
        detail=detail,
        raised_on=ctx.raised_on,
    )


def high_frequency(ctx: RuleContext, settings: HighFrequencySettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None or not new.is_outpatient_or_pharmacy:
        return []
    candidates = [v for v in ctx.visits if v.is_outpatient_or_pharmacy] + [new]
    if len(candidates) <= settings.max_settlements:
        # No window can hold more than all of them: most people, most visits, and the rule runs
        # on every settlement a consumer or a rebuild applies.
        return []
    best: list[SettledVisit] = []
    for offset in range(settings.window_days):
        start = new.admitted_on - timedelta(days=settings.window_days - 1 - offset)
        end = start + timedelta(days=settings.window_days - 1)
        inside = [v for v in candidates if start <= v.admitted_on <= end]
        if len(inside) > len(best):  # the earliest fullest window wins: deterministic
            best = inside
    if len(best) <= settings.max_settlements:
        return []
    institutions = sorted({v.institution_code for v in best})
    first, last = min(v.admitted_on for v in best), max(v.admitted_on for v in best)
    return [
        _flag(
            HIGH_FREQUENCY,
            settings.version,
            ctx,
            new,
            evidence=sorted_evidence(*(v.as_evidence() for v in best)),
            amount_at_issue=sum(v.fund_total for v in best),
            detail=(
                f"{len(best)} outpatient/pharmacy settlements from {first} to {last} "
                f"(limit {settings.max_settlements} in {settings.window_days} days) at "
                f"{len(institutions)} institutions: {', '.join(institutions)}"
            ),
        )
    ]


LineKey = tuple[str, date, Decimal, Decimal]


def _line_key(line: FeeLine) -> LineKey:
    return (
        line.catalogue_code,
        line.fee_date,
        line.unit_price.normalize(),
        line.quantity.normalize(),
    )


def duplicate_charging(ctx: RuleContext, settings: DuplicateChargingSettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None:
        return []
    groups: dict[LineKey, list[tuple[SettledVisit, FeeLine]]] = defaultdict(list)
    for visit in (*ctx.same_visit(), new):
        for line in visit.fee_lines:
            groups[_line_key(line)].append((visit, line))
    repeated = {
        key: lines
        for key, lines in groups.items()
        if len(lines) >= settings.min_repeats and any(v is new for v, _ in lines)
    }
    if not repeated:
        return []
    involved = {v.settlement_id: v for lines in repeated.values() for v, _ in lines}
    extra = sum(line.amount for lines in repeated.values() for _, line in lines[1:])
    described = "; ".join(
        f"{code} on {day} x{qty} at {price} charged {len(repeated[(code, day, price, qty)])} times"
        for code, day, price, qty in sorted(repeated)
    )
    return [
        _flag(
            DUPLICATE_CHARGING,
            settings.version,
            ctx,
            new,
            evidence=sorted_evidence(*(v.as_evidence() for v in involved.values())),
            amount_at_issue=extra,
            detail=f"visit {new.visit_id}: {described}",
        )
    ]


def hanging_bed(ctx: RuleContext, settings: HangingBedSettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None or not new.is_inpatient:
        return []
    by_day: dict[date, list[tuple[SettledVisit, FeeLine]]] = defaultdict(list)
    for visit in (*ctx.same_visit(), new):
        for line in visit.fee_lines:
            by_day[line.fee_date].append((visit, line))
    bed_only = sorted(
        day
        for day, lines in by_day.items()
        if all(line.charge_category in settings.bed_fee_categories for _, line in lines)
    )
    new_contributes = any(v is new for day in bed_only for v, _ in by_day[day])
    if len(bed_only) < settings.min_days or not new_contributes:
        return []
    involved = {v.settlement_id: v for day in bed_only for v, _ in by_day[day]}
    return [
        _flag(
            HANGING_BED,
            settings.version,
            ctx,
            new,
            evidence=sorted_evidence(*(v.as_evidence() for v in involved.values())),
            amount_at_issue=sum(line.amount for day in bed_only for _, line in by_day[day]),
            detail=(
                f"visit {new.visit_id}: {len(bed_only)} days with nothing but bed fees: "
                + ", ".join(str(day) for day in bed_only)
            ),
        )
    ]


def high_cost_admission(ctx: RuleContext, settings: HighCostSettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None or not new.is_inpatient:
        return []
    if relation(new.insured_region, new.visit_region) not in settings.relations:
        return []
    before = sum(v.total_fee for v in ctx.same_visit())
    # Raise once per admission: when its settlements together first reach the threshold.
    if not before < settings.threshold <= before + new.total_fee:
        return []
    visits = (*ctx.same_visit(), new)
    return [
        _flag(
            HIGH_COST,
            settings.version,
            ctx,
            new,
            evidence=sorted_evidence(*(v.as_evidence() for v in visits)),
            amount_at_issue=before + new.total_fee,
            detail=(
                f"admission {new.visit_id} {new.admitted_on}..{new.discharged_on}: total fee "
                f"{before + new.total_fee} fen reaches the 协查 threshold {settings.threshold} fen"
            ),
        )
    ]
