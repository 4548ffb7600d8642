"""Which scheme pays, by visit type (DOMAIN.md section 2): the refusals of a visit type the
policy does not cover, other inpatient (92) on the inpatient terms, and a cancellation putting
the outpatient pooling accumulator back."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from yidi_benefits.engine import Scheme, cancellation_of, compute_settlement, scheme_of
from yidi_events.kernel import DomainError
from yidi_settlement.his.vectors import Case, case_from_wire

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "benefits.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))


def _case(fragment: str, **changes: Any) -> Case:
    raw = copy.deepcopy(next(c for c in CASES if fragment in c["name"]))
    raw.update(changes)
    return case_from_wire(raw)


def _settle(case: Case) -> Any:
    return compute_settlement(
        policy=case.policy,
        catalogue=case.catalogue,
        person=case.person,
        visit=case.visit,
        fee_lines=case.fee_lines,
        accumulators=case.accumulators,
    )


@pytest.mark.parametrize(("medical_type", "what"), [("52", "maternity"), ("92", "other inpatient")])
def test_an_admission_type_the_policy_does_not_cover_is_refused_naming_it(
    medical_type: str, what: str
) -> None:
    case = _case("fourth hospital level", med_type=medical_type)  # a policy with neither
    with pytest.raises(DomainError) as refused:
        _settle(case)
    assert refused.value.rule == "settlement.scheme_not_covered"
    assert refused.value.field == "medical_type"
    assert what in str(refused.value)
    assert f"med type {medical_type}" in str(refused.value)


def test_other_inpatient_settles_on_the_inpatient_terms_where_the_policy_says_so() -> None:
    raw = copy.deepcopy(next(c for c in CASES if "fourth hospital level" in c["name"]))
    raw["policy"]["other_inpatient"] = True
    raw["med_type"] = "92"
    result = _settle(case_from_wire(raw))
    # As the 21 case's hand figures: 1200.00 deductible, 8800.00 x 0.82 = 7216.00, one admission.
    assert result.totals.deductible_applied == 120000
    assert result.totals.basic_fund == 721600
    assert result.accumulators_after.inpatient_admissions == 1


def test_ordinary_outpatient_under_a_policy_without_pooling_keeps_the_basic_fund_terms() -> None:
    case = _case("outpatient pooling below")
    legacy = replace(case.policy, outpatient_pooling=None)
    assert scheme_of(case.policy, "11") is Scheme.OUTPATIENT_POOLING
    assert scheme_of(legacy, "11") is Scheme.OUTPATIENT_BASIC
    assert scheme_of(case.policy, "14") is Scheme.OUTPATIENT_BASIC  # until chronic disease lands
    result = _settle(replace(case, policy=legacy))
    # Annual outpatient deductible 1000.00 - 150.00 = 850.00 > 500.00 in policy: nothing above it.
    assert (result.totals.deductible_applied, result.totals.basic_fund) == (50000, 0)
    assert result.accumulators_after.outpatient_pooling_paid_cum == 0


def test_a_cancellation_puts_the_pooling_accumulator_back() -> None:
    case = _case("outpatient pooling across its cap")
    original = _settle(case)
    assert original.accumulators_after.outpatient_pooling_paid_cum == 300000
    cancelled = cancellation_of(original, original.accumulators_after, 0)
    assert cancelled.accumulators_after == case.accumulators
    assert cancelled.account_balance_after == 80000  # the 800.00 the account paid, refunded


def test_a_maternity_admission_leaves_the_stay_nothing_to_owe() -> None:
    result = _settle(_case("maternity admission"))
    assert result.deductible_left == 0
    assert result.totals.fund_total == result.totals.maternity_fund == 400000
