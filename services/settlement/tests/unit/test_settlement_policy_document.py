"""The benefit-policy document: round trip, and refusals that name the field at fault."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import (
    BenefitPolicy,
    FilingKind,
    HospitalLevel,
    PersonGroup,
    PolicyYearStart,
)
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document, policy_document

SHARED = shared_dir()
SANDBOX = json.loads((SHARED / "sandbox/policies.json").read_text(encoding="utf-8"))
VECTOR = json.loads((SHARED / "vectors/settlement.json").read_text(encoding="utf-8"))
DOC: dict[str, Any] = VECTOR[0]["policy"]


@pytest.mark.parametrize("doc", SANDBOX + [c["policy"] for c in VECTOR])
def test_round_trip_is_exact(doc: dict[str, Any]) -> None:
    assert policy_document(parse_policy_document(doc)) == doc


def test_parsed_values_are_fen_and_decimal() -> None:
    policy = parse_policy_document(DOC)
    assert policy.deductible.inpatient[HospitalLevel.THREE].first_admission == 100000
    assert policy.deductible.inpatient[HospitalLevel.THREE].later_admissions == 50000
    assert policy.basic.bands[0].upto == 2000000
    assert policy.basic.bands[1].upto is None
    assert policy.basic.bands[1].ratios[PersonGroup.RETIRED][HospitalLevel.TWO] == Decimal("0.96")
    assert policy.filing_cut_points[FilingKind.REFERRAL] == Decimal(5)


def test_policy_survives_the_event_codec() -> None:
    policy = parse_policy_document(DOC)
    adapter = TypeAdapter(BenefitPolicy)
    assert adapter.validate_python(adapter.dump_python(policy, mode="json")) == policy


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (
            ["basic", "bands", 1, "ratio", "retired", "2"],
            "1.2000",
            "basic.bands[1].ratio.retired.2",
        ),
        (
            ["basic", "bands", 1, "ratio", "retired", "2"],
            KeyError,
            "basic.bands[1].ratio.retired.2",
        ),
        (["basic", "bands", 0, "upto"], None, "basic.bands[0].upto"),
        (["basic", "bands", 1, "upto"], "90000.00", "basic.bands[1].upto"),
        (["deductible", "outpatient_annual"], "10.001", "deductible.outpatient_annual"),
        (["deductible", "inpatient", "3"], ["1000.00"], "deductible.inpatient.3"),
        (["supplementary", "annual_cap"], 300000, "supplementary.annual_cap"),
        (["filing_cut_points", "referral"], 120, "filing_cut_points.referral"),
        (["assistance", "identities", 0], "rich", "assistance.identities[0]"),
        (["insutype"], "999", "insutype"),
        (["effective_to"], "2025-12-31", "effective_to"),
        (["insuplc_admdvs"], "3201", "insuplc_admdvs"),
    ],
)
def test_malformed_document_names_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_policy_document(_broken(path, value))
    assert refused.value.rule == "policy.format"
    assert refused.value.field == field


def test_optional_benefits_may_be_absent() -> None:
    policy = parse_policy_document(_broken(["civil_servant"], None))
    assert policy.civil_servant is None
    assert policy_document(policy)["civil_servant"] is None


def test_a_policy_year_start_is_optional_and_round_trips() -> None:
    calendar = parse_policy_document(DOC)
    assert calendar.policy_year_start == PolicyYearStart(month=1, day=1)
    assert "policy_year_start" not in policy_document(calendar)
    july = parse_policy_document({**DOC, "policy_year_start": "07-01"})
    assert july.policy_year_start == PolicyYearStart(month=7, day=1)
    assert policy_document(july) == {**DOC, "policy_year_start": "07-01"}
    adapter = TypeAdapter(BenefitPolicy)
    assert adapter.validate_python(adapter.dump_python(july, mode="json")) == july


@pytest.mark.parametrize("value", ["13-01", "07-32", "7-1", 701])
def test_a_malformed_policy_year_start_names_the_field(value: Any) -> None:
    with pytest.raises(DomainError) as refused:
        parse_policy_document({**DOC, "policy_year_start": value})
    assert (refused.value.rule, refused.value.field) == ("policy.format", "policy_year_start")
