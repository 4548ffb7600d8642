"""Rules about where and when a person was treated: split stays, two cities at once, after death.

Each rule is a pure function `(ctx, settings) -> list[Flag]` over the person's live settlements
and the new fact; `engine.evaluate` runs them. Settings carry every threshold and the rule's
version, which each flag records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from yidi_audit.domain.facts import PersonDeath, SettledVisit, diagnosis_category
from yidi_audit.domain.flags import Flag, RuleSpec, Severity, sorted_evidence
from yidi_audit.domain.rule_context import RuleContext
from yidi_events.kernel import city_of

SPLIT_HOSPITALIZATION = RuleSpec("audit.split_hospitalization", "分解住院", Severity.SUSPECTED)
TWO_CITIES = RuleSpec("audit.two_cities_same_time", "异地同时就医(冒名嫌疑)", Severity.SUSPECTED)
AFTER_DEATH = RuleSpec("audit.settled_after_death", "死亡后结算", Severity.VIOLATION)


@dataclass(frozen=True)
class SplitHospitalizationSettings:
    """分解住院. A readmission is "within N days" of a discharge when the readmission's admission
    date minus the earlier discharge date, counted in calendar days, is between 0 and N inclusive
    (admitted on the discharge day = 0; N=15: day 15 raises, day 16 does not).

    `excluded_diagnoses` are prefixes of the readmission's principal diagnosis that mark planned
    cycles (Z51.0 radiotherapy session, Z51.1 chemotherapy session), never flagged.
    """

    enabled: bool = True
    version: int = 1
    window_days: int = 15
    same_institution: bool = True
    excluded_diagnoses: frozenset[str] = field(
        default_factory=lambda: frozenset({"Z51.0", "Z51.1"})
    )

    def is_planned_cycle(self, diagnosis: str) -> bool:
        code = diagnosis.strip().upper()
        return any(code.startswith(prefix.strip().upper()) for prefix in self.excluded_diagnoses)


@dataclass(frozen=True)
class TwoCitiesSettings:
    """Overlapping inpatient stays, same-day outpatient/pharmacy settlements, or an outpatient
    visit strictly inside a stay, in two different cities. Stays touching on one day (discharged
    in one city, admitted in another the same day) are a transfer, not an overlap."""

    enabled: bool = True
    version: int = 1
    outpatient_during_stay: bool = True


@dataclass(frozen=True)
class AfterDeathSettings:
    """A visit whose first day is more than `grace_days` after the recorded death date."""

    enabled: bool = True
    version: int = 1
    grace_days: int = 0


def split_hospitalization(ctx: RuleContext, settings: SplitHospitalizationSettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None or not new.is_inpatient:
        return []
    flags = []
    for other in ctx.visits:
        if other.visit_id == new.visit_id or not other.is_inpatient:
            continue
        first, second = sorted((new, other), key=lambda v: (v.admitted_on, v.discharged_on))
        gap = (second.admitted_on - first.discharged_on).days
        if not 0 <= gap <= settings.window_days:
            continue
        if settings.same_institution and first.institution_code != second.institution_code:
            continue
        category = diagnosis_category(second.principal_diagnosis)
        if category != diagnosis_category(first.principal_diagnosis):
            continue
        if settings.is_planned_cycle(second.principal_diagnosis):
            continue
        flags.append(
            Flag(
                rule_id=SPLIT_HOSPITALIZATION.rule_id,
                rule_version=settings.version,
                rule_name=SPLIT_HOSPITALIZATION.name,
                severity=SPLIT_HOSPITALIZATION.severity,
                person_id=new.person_id,
                institution_code=second.institution_code,
                evidence=sorted_evidence(first.as_evidence(), second.as_evidence()),
                amount_at_issue=second.fund_total,
                detail=(
                    f"readmitted on {second.admitted_on} at {second.institution_code}, {gap} days "
                    f"after discharge on {first.discharged_on} from {first.institution_code}, "
                    f"same diagnosis category {category}"
                ),
                raised_on=ctx.raised_on,
            )
        )
    return flags


def _overlap(a: SettledVisit, b: SettledVisit, settings: TwoCitiesSettings) -> str | None:
    if a.is_inpatient and b.is_inpatient:
        if a.admitted_on < b.discharged_on and b.admitted_on < a.discharged_on:
            return "overlapping inpatient stays"
        return None
    if a.is_outpatient_or_pharmacy and b.is_outpatient_or_pharmacy:
        return "outpatient settlements on the same day" if a.admitted_on == b.admitted_on else None
    if not settings.outpatient_during_stay:
        return None
    stay, visit = (a, b) if a.is_inpatient else (b, a)
    if (
        visit.is_outpatient_or_pharmacy
        and stay.admitted_on < visit.admitted_on < stay.discharged_on
    ):
        return "outpatient settlement during an inpatient stay"
    return None


def two_cities(ctx: RuleContext, settings: TwoCitiesSettings) -> list[Flag]:
    new = ctx.new_visit
    if not settings.enabled or new is None:
        return []
    flags = []
    for other in ctx.visits:
        if other.visit_id == new.visit_id or city_of(other.visit_region) == city_of(
            new.visit_region
        ):
            continue
        what = _overlap(new, other, settings)
        if what is None:
            continue
        flags.append(
            Flag(
                rule_id=TWO_CITIES.rule_id,
                rule_version=settings.version,
                rule_name=TWO_CITIES.name,
                severity=TWO_CITIES.severity,
                person_id=new.person_id,
                institution_code=new.institution_code,
                evidence=sorted_evidence(new.as_evidence(), other.as_evidence()),
                amount_at_issue=new.fund_total + other.fund_total,
                detail=(
                    f"{what}: {new.institution_code} ({new.visit_region}) "
                    f"{new.admitted_on}..{new.discharged_on} and {other.institution_code} "
                    f"({other.visit_region}) {other.admitted_on}..{other.discharged_on}"
                ),
                raised_on=ctx.raised_on,
            )
        )
    return flags


def _after_death_flag(
    visit: SettledVisit, death: PersonDeath, ctx: RuleContext, settings: AfterDeathSettings
) -> Flag | None:
    if visit.admitted_on <= death.death_date + timedelta(days=settings.grace_days):
        return None
    return Flag(
        rule_id=AFTER_DEATH.rule_id,
        rule_version=settings.version,
        rule_name=AFTER_DEATH.name,
        severity=AFTER_DEATH.severity,
        person_id=visit.person_id,
        institution_code=visit.institution_code,
        evidence=(visit.as_evidence(),),
        extra_evidence_event_ids=(death.event_id,),
        amount_at_issue=visit.fund_total,
        detail=(
            f"visit on {visit.admitted_on} at {visit.institution_code} after the recorded death "
            f"on {death.death_date}"
        ),
        raised_on=ctx.raised_on,
    )


def settled_after_death(ctx: RuleContext, settings: AfterDeathSettings) -> list[Flag]:
    """Runs both ways: a settlement after a known death, and a death learnt after settlements."""
    if not settings.enabled:
        return []
    pairs: list[tuple[SettledVisit, PersonDeath]] = []
    if ctx.new_visit is not None and ctx.deaths:
        pairs.append((ctx.new_visit, ctx.deaths[0]))  # the earliest recorded death
    if isinstance(ctx.new_fact, PersonDeath):
        pairs.extend((visit, ctx.new_fact) for visit in ctx.visits)
    flags = (_after_death_flag(visit, death, ctx, settings) for visit, death in pairs)
    return [f for f in flags if f is not None]
