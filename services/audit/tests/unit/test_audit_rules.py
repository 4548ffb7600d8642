"""Each rule: histories that must and must not raise it, at the boundaries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yidi_audit.domain.engine import AuditConfig, evaluate
from yidi_audit.domain.facts import CancelledSettlement, FeeLine, PersonDeath, SettledVisit
from yidi_audit.domain.flags import Flag
from yidi_audit.domain.rules_billing import HighFrequencySettings
from yidi_audit.domain.rules_stays import SplitHospitalizationSettings

VisitFactory = Callable[..., SettledVisit]
CONFIG = AuditConfig()
D = date(2026, 3, 1)


def rules_of(flags: list[Flag]) -> list[str]:
    return [f.rule_id for f in flags]


# --- split hospitalization -------------------------------------------------------------------


def _stay_pair(
    visit: VisitFactory, gap_days: int, **second: object
) -> tuple[SettledVisit, SettledVisit]:
    first = visit(admitted_on=D, discharged_on=D + timedelta(days=9))
    readmit = first.discharged_on + timedelta(days=gap_days)
    return first, visit(admitted_on=readmit, discharged_on=readmit + timedelta(days=5), **second)


@pytest.mark.parametrize(("gap", "raised"), [(0, True), (1, True), (15, True), (16, False)])
def test_split_hospitalization_window_is_inclusive_of_day_15(
    visit: VisitFactory, gap: int, raised: bool
) -> None:
    first, second = _stay_pair(visit, gap, principal_diagnosis="C34.100")
    flags = [
        f for f in evaluate([first], second, CONFIG) if f.rule_id == "audit.split_hospitalization"
    ]
    assert bool(flags) is raised
    if raised:
        (flag,) = flags
        assert flag.settlement_ids == tuple(sorted((first.settlement_id, second.settlement_id)))
        assert set(flag.evidence_event_ids) == {first.event_id, second.event_id}
        assert flag.rule_version == 1
        assert flag.amount_at_issue == second.fund_total


@pytest.mark.parametrize("window", [7, 14])
def test_split_hospitalization_window_is_configurable(visit: VisitFactory, window: int) -> None:
    config = replace(
        CONFIG, split_hospitalization=SplitHospitalizationSettings(window_days=window, version=2)
    )
    first, inside = _stay_pair(visit, window)
    _, outside = _stay_pair(visit, window + 1)
    assert [(f.rule_id, f.rule_version) for f in evaluate([first], inside, config)] == [
        ("audit.split_hospitalization", 2)
    ]
    assert evaluate([first], outside, config) == []


@pytest.mark.parametrize("diagnosis", ["Z51.000", "Z51.1", "z51.100x001"])
def test_planned_chemo_and_radiotherapy_cycles_are_not_split(
    visit: VisitFactory, diagnosis: str
) -> None:
    first = visit(principal_diagnosis="Z51.100", admitted_on=D, discharged_on=D + timedelta(days=3))
    second = visit(
        principal_diagnosis=diagnosis,
        admitted_on=D + timedelta(days=10),
        discharged_on=D + timedelta(days=13),
    )
    assert evaluate([first], second, CONFIG) == []


def test_other_diagnosis_category_or_other_hospital_is_not_split(visit: VisitFactory) -> None:
    first, other_dx = _stay_pair(visit, 3, principal_diagnosis="C35.000")
    assert evaluate([first], other_dx, CONFIG) == []
    _, other_hosp = _stay_pair(visit, 3, institution_code="H32010000002")
    assert evaluate([first], other_hosp, CONFIG) == []
    any_hospital = replace(
        CONFIG, split_hospitalization=SplitHospitalizationSettings(same_institution=False)
    )
    assert rules_of(evaluate([first], other_hosp, any_hospital)) == ["audit.split_hospitalization"]


def test_split_found_when_the_earlier_stay_arrives_last(visit: VisitFactory) -> None:
    first, second = _stay_pair(visit, 15)
    assert rules_of(evaluate([second], first, CONFIG)) == ["audit.split_hospitalization"]


def test_outpatient_visits_are_never_split_hospitalization(visit: VisitFactory) -> None:
    first = visit(medical_type="11", admitted_on=D)
    second = visit(medical_type="11", admitted_on=D + timedelta(days=2))
    assert evaluate([first], second, CONFIG) == []


# --- two cities --------------------------------------------------------------------------------


def test_overlapping_stays_in_two_cities_raise(visit: VisitFactory) -> None:
    nanjing = visit(admitted_on=D, discharged_on=D + timedelta(days=10))
    wuxi = visit(
        visit_region="320200",
        institution_code="H32020000001",
        admitted_on=D + timedelta(days=5),
        discharged_on=D + timedelta(days=12),
        principal_diagnosis="I10.x00",
    )
    (flag,) = evaluate([nanjing], wuxi, CONFIG)
    assert flag.rule_id == "audit.two_cities_same_time"
    assert flag.institution_code == "H32020000001"
    assert flag.amount_at_issue == nanjing.fund_total + wuxi.fund_total


def test_transfer_on_the_discharge_day_is_not_an_overlap(visit: VisitFactory) -> None:
    nanjing = visit(admitted_on=D, discharged_on=D + timedelta(days=10))
    wuxi = visit(
        visit_region="320200",
        admitted_on=D + timedelta(days=10),
        discharged_on=D + timedelta(days=12),
        principal_diagnosis="I10.x00",
    )
    assert evaluate([nanjing], wuxi, CONFIG) == []


def test_same_day_outpatient_in_two_cities_raises_same_city_does_not(visit: VisitFactory) -> None:
    nanjing = visit(medical_type="11", admitted_on=D)
    wuxi = visit(medical_type="41", admitted_on=D, visit_region="320200")
    nanjing_district = visit(medical_type="11", admitted_on=D, visit_region="320102")
    next_day = visit(medical_type="11", admitted_on=D + timedelta(days=1), visit_region="320200")
    assert rules_of(evaluate([nanjing], wuxi, CONFIG)) == ["audit.two_cities_same_time"]
    assert evaluate([nanjing], nanjing_district, CONFIG) == []
    assert evaluate([nanjing], next_day, CONFIG) == []


def test_outpatient_inside_a_stay_elsewhere_raises(visit: VisitFactory) -> None:
    stay = visit(admitted_on=D, discharged_on=D + timedelta(days=6))
    inside = visit(medical_type="11", admitted_on=D + timedelta(days=3), visit_region="320500")
    on_admission_day = visit(medical_type="11", admitted_on=D, visit_region="320500")
    assert rules_of(evaluate([stay], inside, CONFIG)) == ["audit.two_cities_same_time"]
    assert evaluate([stay], on_admission_day, CONFIG) == []


# --- death -------------------------------------------------------------------------------------


def test_visit_after_recorded_death_raises_on_the_death_day_does_not(visit: VisitFactory) -> None:
    death = PersonDeath(event_id="death-1", person_id="32050000000000000001", death_date=D)
    after = visit(medical_type="11", admitted_on=D + timedelta(days=1))
    same_day = visit(medical_type="11", admitted_on=D)
    (flag,) = evaluate([death], after, CONFIG)
    assert flag.rule_id == "audit.settled_after_death"
    assert "death-1" in flag.evidence_event_ids
    assert evaluate([death], same_day, CONFIG) == []


def test_death_learnt_later_flags_each_visit_after_it(visit: VisitFactory) -> None:
    before = visit(medical_type="11", admitted_on=D - timedelta(days=1))
    after1 = visit(medical_type="11", admitted_on=D + timedelta(days=2))
    after2 = visit(medical_type="41", admitted_on=D + timedelta(days=20))
    death = PersonDeath(event_id="death-1", person_id=before.person_id, death_date=D)
    flags = evaluate([before, after1, after2], death, CONFIG)
    # The factory numbers settlements across the session ("S99" sorts after "S100"): compare sets.
    assert {f.settlement_ids for f in flags} == {
        (after1.settlement_id,),
        (after2.settlement_id,),
    }
    assert len(flags) == 2


# --- high frequency ----------------------------------------------------------------------------


def _outpatients(visit: VisitFactory, n: int, days: int) -> list[SettledVisit]:
    return [
        visit(
            medical_type="11" if i % 2 else "41",
            admitted_on=D + timedelta(days=i % days),
            institution_code=f"H{i % 3}",
        )
        for i in range(n)
    ]


def test_exactly_k_settlements_in_the_window_do_not_raise_k_plus_1_do(visit: VisitFactory) -> None:
    eight = _outpatients(visit, 8, 7)
    assert evaluate(eight[:-1], eight[-1], CONFIG) == []
    ninth = visit(medical_type="11", admitted_on=D + timedelta(days=6))
    (flag,) = evaluate(eight, ninth, CONFIG)
    assert flag.rule_id == "audit.high_frequency"
    assert len(flag.settlement_ids) == 9


def test_settlements_spread_over_eight_days_do_not_raise(visit: VisitFactory) -> None:
    history = [visit(medical_type="11", admitted_on=D + timedelta(days=i)) for i in range(8)]
    # The 9th is on day 7 (0-based): the window of 7 days ending there holds only 8 (days 1..7).
    later = visit(medical_type="11", admitted_on=D + timedelta(days=8))
    assert evaluate(history, later, CONFIG) == []


def test_high_frequency_threshold_is_configurable(visit: VisitFactory) -> None:
    config = replace(CONFIG, high_frequency=HighFrequencySettings(max_settlements=2, window_days=3))
    a, b = visit(medical_type="11", admitted_on=D), visit(medical_type="11", admitted_on=D)
    c = visit(medical_type="11", admitted_on=D + timedelta(days=2))
    assert rules_of(evaluate([a, b], c, config)) == ["audit.high_frequency"]


# --- duplicate charging ------------------------------------------------------------------------


def test_identical_fee_lines_in_one_visit_raise(
    visit: VisitFactory, fee_line: Callable[..., FeeLine]
) -> None:
    lines = (fee_line(D, amount=1000), fee_line(D, amount=1000), fee_line(D, code="X002"))
    v = visit(medical_type="11", admitted_on=D, fee_lines=lines)
    (flag,) = evaluate([], v, CONFIG)
    assert flag.rule_id == "audit.duplicate_charging"
    assert flag.amount_at_issue == 1000


@pytest.mark.parametrize(
    "different",
    [{"code": "X009"}, {"qty": "2"}, {"price": "10.01"}, {"day_offset": 1}],
)
def test_lines_differing_in_one_key_are_not_duplicates(
    visit: VisitFactory, fee_line: Callable[..., FeeLine], different: dict[str, object]
) -> None:
    offset = int(str(different.pop("day_offset", 0)))
    lines = (fee_line(D), fee_line(D + timedelta(days=offset), **different))
    assert evaluate([], visit(fee_lines=lines), CONFIG) == []


def test_duplicates_across_mid_stay_settlements_of_one_visit(
    visit: VisitFactory, fee_line: Callable[..., FeeLine]
) -> None:
    first = visit(visit_id="V-A", fee_lines=(fee_line(D, price="10.0"),))
    second = visit(visit_id="V-A", fee_lines=(fee_line(D, price="10.00"),))
    other_visit = visit(visit_id="V-B", fee_lines=(fee_line(D),))
    assert rules_of(evaluate([first], second, CONFIG)) == ["audit.duplicate_charging"]
    assert evaluate([first], other_visit, CONFIG) == []


# --- hanging bed -------------------------------------------------------------------------------


def _bed_days(fee_line: Callable[..., FeeLine], bed_only: int) -> tuple[FeeLine, ...]:
    lines = [fee_line(D, category="05")]  # day of admission: treatment
    for i in range(1, 6):
        day = D + timedelta(days=i)
        lines.append(fee_line(day, code="BED", category="01", amount=5000))
        if i > bed_only:
            lines.append(fee_line(day, code="DRUG", category="09", amount=2000))
    return tuple(lines)


def test_three_bed_only_days_raise_two_do_not(
    visit: VisitFactory, fee_line: Callable[..., FeeLine]
) -> None:
    three = visit(fee_lines=_bed_days(fee_line, 3))
    two = visit(fee_lines=_bed_days(fee_line, 2))
    (flag,) = evaluate([], three, CONFIG)
    assert flag.rule_id == "audit.hanging_bed"
    assert flag.amount_at_issue == 3 * 5000
    assert evaluate([], two, CONFIG) == []


def test_bed_only_days_in_outpatient_visits_are_ignored(
    visit: VisitFactory, fee_line: Callable[..., FeeLine]
) -> None:
    assert evaluate([], visit(medical_type="11", fee_lines=_bed_days(fee_line, 5)), CONFIG) == []


# --- high cost ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "raised"), [(2_999_999, False), (3_000_000, True)])
def test_high_cost_admission_threshold(visit: VisitFactory, total: int, raised: bool) -> None:
    flags = evaluate([], visit(total_fee=total), CONFIG)
    assert rules_of(flags) == (["audit.high_cost_admission"] if raised else [])


def test_high_cost_counts_all_settlements_of_the_admission_once(visit: VisitFactory) -> None:
    first = visit(visit_id="V-H", total_fee=2_000_000)
    second = visit(visit_id="V-H", total_fee=1_000_000)
    third = visit(visit_id="V-H", total_fee=500_000)
    assert evaluate([], first, CONFIG) == []
    (flag,) = evaluate([first], second, CONFIG)
    assert flag.amount_at_issue == 3_000_000
    assert evaluate([first, second], third, CONFIG) == []


def test_local_admissions_are_not_investigated(visit: VisitFactory) -> None:
    local = visit(insured_region="320100", total_fee=5_000_000)
    assert evaluate([], local, CONFIG) == []


# --- engine ------------------------------------------------------------------------------------


def test_cancelled_settlements_are_not_evidence(visit: VisitFactory) -> None:
    first, second = _stay_pair(visit, 3)
    cancel = CancelledSettlement(
        event_id="c1", settlement_id=first.settlement_id, person_id=first.person_id, cancelled_on=D
    )
    assert evaluate([first, cancel], second, CONFIG) == []
    assert evaluate([first], cancel, CONFIG) == []
    assert evaluate([cancel], first, CONFIG) == []


def test_redelivered_fact_gives_the_same_flags(visit: VisitFactory) -> None:
    first, second = _stay_pair(visit, 3)
    once = evaluate([first], second, CONFIG)
    again = evaluate([first, second], second, CONFIG)
    assert [f.flag_id for f in once] == [f.flag_id for f in again]
    assert len(once) == 1


def test_flag_event_carries_rule_version_and_evidence(visit: VisitFactory) -> None:
    first, second = _stay_pair(visit, 3)
    (flag,) = evaluate([first], second, CONFIG)
    event = flag.to_event()
    assert (event.rule_id, event.rule_version) == ("audit.split_hospitalization", 1)
    assert event.settlement_ids == flag.settlement_ids
    assert event.flag_id == flag.flag_id


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_evaluate_is_deterministic_and_never_repeats_evidence(
    visit: VisitFactory, gaps: list[int], order: random.Random
) -> None:

    stays = []
    day = D
    for gap in gaps:
        stay = visit(admitted_on=day, discharged_on=day + timedelta(days=2))
        stays.append(stay)
        day = stay.discharged_on + timedelta(days=gap)
    *history, new = stays
    shuffled = list(history)
    order.shuffle(shuffled)
    a = evaluate(history, new, CONFIG)
    b = evaluate(shuffled, new, CONFIG)
    assert [f.flag_id for f in a] == [f.flag_id for f in b]
    assert len({f.flag_id for f in a}) == len(a)
    expected = sum(1 for prev in history if (new.admitted_on - prev.discharged_on).days <= 15)
    assert len([f for f in a if f.rule_id == "audit.split_hospitalization"]) == expected
