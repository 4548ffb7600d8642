"""Retail pharmacy purchases (med type 41, DOMAIN.md section 2) through the pure engine: the
vectors of tests/vectors/pharmacy.json (hand-worked in their `derivation`), the scheme a policy
chooses, the policy document's pharmacy part and its refusals, and a cancellation putting the
pooled year and the account back."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from yidi_benefits.engine import Scheme, cancellation_of, compute_settlement, scheme_of
from yidi_events.contracts.policy import BenefitPolicy, HospitalLevel, PharmacyPolicy
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document, policy_document
from yidi_settlement.his.vectors import Case, case_from_wire
from yidi_settlement.vectors import case_output

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "pharmacy.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
FIELDS = ("setlinfo", "setldetail", "lines", "accumulators_after", "acct_balance_after")


def _raw(fragment: str) -> dict[str, Any]:
    return copy.deepcopy(next(c for c in CASES if fragment in c["name"]))


def _settle(case: Case) -> Any:
    return compute_settlement(
        policy=case.policy,
        catalogue=case.catalogue,
        person=case.person,
        visit=case.visit,
        fee_lines=case.fee_lines,
        accumulators=case.accumulators,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_engine_matches_pharmacy_vector_exactly(case: dict[str, Any]) -> None:
    assert case["derivation"], "every case shows its arithmetic"
    got = case_output({k: v for k, v in case.items() if k != "expected"})
    for name in FIELDS:
        assert got[name] == case["expected"][name], name


def test_the_policy_decides_whether_a_purchase_is_pooled() -> None:
    pooled = case_from_wire(_raw("pharmacy ratio")).policy
    unpooled = case_from_wire(_raw("does not pool")).policy
    assert scheme_of(pooled, "41") is Scheme.PHARMACY_POOLING
    assert scheme_of(unpooled, "41") is Scheme.PHARMACY_SELF
    # ordinary outpatient visits are not touched by the pharmacy part
    assert scheme_of(pooled, "11") is scheme_of(unpooled, "11") is Scheme.OUTPATIENT_POOLING


def test_an_unpooled_purchase_pays_no_assistance_even_to_an_assisted_civil_servant() -> None:
    raw = _raw("does not pool")
    raw["person"] = {**raw["person"], "cvlserv_flag": "1", "identities": ["dibao"]}
    result = _settle(case_from_wire(raw))
    # Account and cash only: 300.00 from the account, the other 120.00 in cash.
    assert result.totals.fund_total == 0
    assert (result.totals.account_paid, result.totals.cash_paid) == (30000, 12000)


def test_a_cancelled_pooled_purchase_puts_the_year_and_the_account_back() -> None:
    case = case_from_wire(_raw("pharmacy ratio"))
    original = _settle(case)
    cancelled = cancellation_of(original, original.accumulators_after, 0)
    assert cancelled.accumulators_after == case.accumulators
    assert cancelled.account_balance_after == 20000  # the 200.00 the account paid, refunded
    assert cancelled.totals.total_fee == -42000


@pytest.mark.parametrize("fragment", ["pharmacy ratio", "level the policy names"])
def test_the_pharmacy_part_round_trips_through_the_document_and_the_event_codec(
    fragment: str,
) -> None:
    doc = _raw(fragment)["policy"]
    policy = parse_policy_document(doc)
    assert policy_document(policy) == doc
    # as filing.PolicyPublished carries it to settlement
    adapter = TypeAdapter(BenefitPolicy)
    assert adapter.validate_python(adapter.dump_python(policy, mode="json")) == policy


def test_parsed_pharmacy_terms_are_a_ratio_or_a_level() -> None:
    assert parse_policy_document(_raw("pharmacy ratio")["policy"]).pharmacy == PharmacyPolicy(
        ratio=Decimal("0.5000")
    )
    level = parse_policy_document(_raw("level the policy names")["policy"]).pharmacy
    assert level == PharmacyPolicy(level=HospitalLevel.ONE)


@pytest.mark.parametrize(
    ("pharmacy", "drop_pooling", "field"),
    [
        ({}, False, "pharmacy"),
        ({"ratio": "0.5000", "level": "1"}, False, "pharmacy"),
        ({"ratio": "1.5"}, False, "pharmacy.ratio"),
        ({"level": "4"}, False, "pharmacy.level"),
        ({"ratio": "0.5000"}, True, "pharmacy"),
    ],
)
def test_a_malformed_pharmacy_part_names_the_field(
    pharmacy: dict[str, Any], drop_pooling: bool, field: str
) -> None:
    doc = _raw("pharmacy ratio")["policy"]
    doc["pharmacy"] = pharmacy
    if drop_pooling:
        del doc["outpatient_pooling"]
    with pytest.raises(DomainError) as refused:
        parse_policy_document(doc)
    assert (refused.value.rule, refused.value.field) == ("policy.format", field)


def test_a_pooled_purchase_takes_the_filing_cut() -> None:
    raw = _raw("pharmacy ratio")
    raw["filing_kind"] = "other_temporary"
    result = _settle(case_from_wire(raw))
    # 0.50 - 20 points = 0.30 of the 340.00 eligible: 102.00
    assert result.totals.basic_fund == 10200
