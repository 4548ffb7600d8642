"""Chronic and special diseases (med type 14) in the pure engine and the certificate rule: each
disease its own deductible, ratio and cap over its period; one certified disease per settlement.
Figures worked by hand from the policy of the chronic vectors (tests/vectors/benefits.json):
M03900 deductible 0.00, level-2 ratio 0.65, cap 1200.00 a year; M01600 deductible 300.00 a year,
level-2 ratio 0.75, cap 200.00 a month; the inpatient level-2 deductible 500.00."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from yidi_benefits.chronic import ChronicCertificate, certified_disease
from yidi_benefits.engine import cancellation_of, compute_settlement
from yidi_events.contracts.settlement import AccumulatorMovement, ChronicUse
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document, policy_document
from yidi_settlement.his.vectors import Case, case_from_wire

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "benefits.json"
CHRONIC: list[dict[str, Any]] = [
    c for c in json.loads(VECTORS.read_text("utf-8")) if c.get("med_type") == "14"
]


def _case(index: int, **visit: Any) -> Case:
    case = case_from_wire(CHRONIC[index])
    return replace(case, visit=replace(case.visit, **visit))


def _run(case: Case) -> Any:
    return compute_settlement(
        policy=case.policy,
        catalogue=case.catalogue,
        person=case.person,
        visit=case.visit,
        fee_lines=case.fee_lines,
        accumulators=case.accumulators,
    )


def test_a_new_month_opens_the_monthly_cap_but_not_the_yearly_deductible() -> None:
    # The third vector's M01600 visit (300.00 in policy), moved to 2 April: the March cap (used
    # up to 200.00 after it) is not April's; the deductible (300.00 paid in March) is yearly.
    case = _case(2, settled_on=date(2026, 4, 2))
    result = _run(case)
    # eligible 300.00 x 0.75 = 225.00; April room 200.00 - 0.00 = 200.00
    assert (result.totals.deductible_applied, result.totals.basic_fund) == (0, 20000)
    assert result.movement.chronic == (
        ChronicUse(disease_code="M01600", period="2026-04", deductible_used=0, fund_paid=20000),
    )


def test_a_disease_without_a_cap_pays_its_ratio_whatever_it_used() -> None:
    case = _case(2)
    terms = case.policy.chronic_diseases["M01600"]
    policy = replace(
        case.policy,
        chronic_diseases={**case.policy.chronic_diseases, "M01600": replace(terms, cap=None)},
    )
    result = _run(replace(case, policy=policy))
    assert result.totals.basic_fund == 22500  # 300.00 x 0.75, the March 75.00 used no matter


def test_a_disease_sharing_the_inpatient_deductible_pays_it_once_a_year() -> None:
    # M03900 (500.00 in policy, level 2) sharing: no admission yet -> the level-2 first-admission
    # deductible 500.00 takes it all; after an admission this year -> none, 500.00 x 0.65 = 325.00.
    case = _case(0)
    terms = case.policy.chronic_diseases["M03900"]
    shared = replace(terms, shares_inpatient_deductible=True)
    policy = replace(case.policy, chronic_diseases={"M03900": shared})
    first = _run(replace(case, policy=policy))
    assert (first.totals.deductible_applied, first.totals.basic_fund) == (50000, 0)
    admitted = replace(case.accumulators, inpatient_admissions=1)
    later = _run(replace(case, policy=policy, accumulators=admitted))
    assert (later.totals.deductible_applied, later.totals.basic_fund) == (0, 32500)


def test_a_disease_the_policy_does_not_name_is_refused_naming_it() -> None:
    with pytest.raises(DomainError) as refused:
        _run(_case(0, chronic_disease="M99999"))
    assert refused.value.rule == "settlement.chronic_disease_not_covered"
    assert refused.value.values == {"disease_code": "M99999"}


def test_cancelling_puts_the_disease_figures_back_exactly() -> None:
    case = _case(2)
    original = _run(case)
    undone = cancellation_of(original, original.accumulators_after, None)
    assert undone.accumulators_after == case.accumulators


def test_movements_sum_by_disease_and_period_and_read_back_from_json() -> None:
    a = replace(
        AccumulatorMovement.zero(2026),
        chronic=(ChronicUse(disease_code="M01600", period="2026-03", fund_paid=7500),),
    )
    b = replace(
        AccumulatorMovement.zero(2026),
        basic_paid_cum=100,
        chronic=(
            ChronicUse(disease_code="M01600", period="2026-03", fund_paid=12500),
            ChronicUse(disease_code="M03900", period="2026", fund_paid=32500),
        ),
    )
    total = a.plus(b)
    assert total.chronic == (
        ChronicUse(disease_code="M01600", period="2026-03", fund_paid=20000),
        ChronicUse(disease_code="M03900", period="2026", fund_paid=32500),
    )
    assert total.plus(b.negated()).chronic == a.chronic  # what sums to zero is dropped
    from dataclasses import asdict

    assert AccumulatorMovement.from_json(asdict(total)) == total


def test_the_policy_document_holds_chronic_terms_and_tells_no_cap_from_none_set() -> None:
    doc = CHRONIC[0]["policy"]
    policy = parse_policy_document(doc)
    assert parse_policy_document(policy_document(policy)) == policy
    uncapped = json.loads(json.dumps(doc))
    uncapped["chronic_diseases"]["M03900"]["cap"] = None
    assert parse_policy_document(uncapped).chronic_diseases["M03900"].cap is None
    del uncapped["chronic_diseases"]["M03900"]["cap"]
    with pytest.raises(DomainError) as refused:
        parse_policy_document(uncapped)
    assert (refused.value.rule, refused.value.field) == (
        "policy.format",
        "chronic_diseases.M03900.cap",
    )
    uncapped["chronic_diseases"]["M03900"]["cap"] = "1.00"
    uncapped["chronic_diseases"]["M03900"]["cap_period"] = "week"
    with pytest.raises(DomainError) as refused:
        parse_policy_document(uncapped)
    assert refused.value.field == "chronic_diseases.M03900.cap_period"


MARCH = date(2026, 3, 1)
CERTS = (
    ChronicCertificate(certificate_id="C1", disease_code="M03900", valid_from=MARCH, valid_to=None),
    ChronicCertificate(
        certificate_id="C2",
        disease_code="M01600",
        valid_from=MARCH,
        valid_to=None,
        revoked_on=date(2026, 3, 20),
    ),
)


def test_a_certified_disease_settles_on_a_day_its_certificate_covers() -> None:
    assert certified_disease("M03900", CERTS, date(2026, 3, 1)) == "M03900"
    assert certified_disease("M01600", CERTS, date(2026, 3, 19)) == "M01600"


@pytest.mark.parametrize(
    ("code", "day"),
    [
        ("M03900", date(2026, 2, 28)),  # before the certificate begins
        ("M01600", date(2026, 3, 20)),  # revoked from that day
        ("M02200", date(2026, 3, 10)),  # never certified
    ],
)
def test_a_disease_not_certified_on_the_visit_day_is_refused_naming_it(
    code: str, day: date
) -> None:
    with pytest.raises(DomainError) as refused:
        certified_disease(code, CERTS, day)
    assert (refused.value.rule, refused.value.field) == (
        "settlement.chronic_not_certified",
        "disease_code",
    )
    assert refused.value.values == {"disease_code": code, "visit_date": day.isoformat()}


def test_a_chronic_visit_without_a_disease_code_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        certified_disease(None, CERTS, MARCH)
    assert refused.value.rule == "settlement.chronic_disease_required"
