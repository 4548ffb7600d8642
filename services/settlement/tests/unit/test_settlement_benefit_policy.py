"""The policy parts of DOMAIN.md section 2 beyond the shared vectors' policies: round trips, the
event codec (filing.PolicyPublished v1 read as v2), "no cap" told apart from "not set", and the
refusals that name the field."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from yidi_events import registry
from yidi_events.contracts.filing import PolicyPublished
from yidi_events.contracts.policy import (
    AssistanceIdentity,
    AssistanceTerms,
    BenefitPolicy,
    HospitalLevel,
    SupplementaryBase,
    at_level,
)
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document, policy_document

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "benefits.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
POLICIES = {c["name"]: c["policy"] for c in CASES}


def _policy(fragment: str) -> dict[str, Any]:
    return copy.deepcopy(next(p for name, p in POLICIES.items() if fragment in name))


@pytest.mark.parametrize("doc", list(POLICIES.values()), ids=list(POLICIES))
def test_every_new_policy_part_round_trips_through_the_document_and_the_event_codec(
    doc: dict[str, Any],
) -> None:
    policy = parse_policy_document(doc)
    assert policy_document(policy) == doc
    adapter = TypeAdapter(BenefitPolicy)
    assert adapter.validate_python(adapter.dump_python(policy, mode="json")) == policy


def test_a_policy_without_a_supplementary_layer_is_published_as_v2() -> None:
    policy = parse_policy_document(_policy("without a supplementary fund"))
    assert policy.supplementary is None
    published = PolicyPublished(
        insured_region=policy.insured_region,
        insurance_type=policy.insurance_type,
        version=1,
        effective_from=policy.effective_from,
        policy=policy,
        superseded_version=None,
        superseded_effective_to=None,
        published_on=policy.effective_from,
    )
    assert registry.spec_of(published).version == 2
    payload = registry.encode(published)
    assert payload["policy"]["supplementary"] is None
    assert registry.decode("filing.PolicyPublished", 2, payload) == published


def test_a_stored_v1_publication_reads_as_v2_unchanged() -> None:
    policy = parse_policy_document(_policy("outpatient pooling below"))
    published = PolicyPublished(
        insured_region=policy.insured_region,
        insurance_type=policy.insurance_type,
        version=3,
        effective_from=policy.effective_from,
        policy=policy,
        superseded_version=2,
        superseded_effective_to=None,
        published_on=policy.effective_from,
    )
    v1_payload = registry.encode(published)  # a v1 payload is the same JSON with a layer
    assert registry.decode("filing.PolicyPublished", 1, v1_payload) == published


def test_the_tilt_tells_a_lifted_cap_from_one_not_set() -> None:
    doc = _policy("critical-illness tilt for a dibao")
    lifted = parse_policy_document(doc)
    assert lifted.supplementary is not None
    assert lifted.supplementary.tilt is not None
    assert lifted.supplementary.tilt.cap_lifted
    del doc["supplementary"]["tilt"]["annual_cap"]
    not_set = parse_policy_document(doc)
    assert not_set.supplementary is not None
    assert not_set.supplementary.tilt is not None
    assert not not_set.supplementary.tilt.cap_lifted
    assert not_set.supplementary.tilt.annual_cap is None
    assert "annual_cap" not in policy_document(not_set)["supplementary"]["tilt"]
    doc["supplementary"]["tilt"]["annual_cap"] = "400000.00"
    own = parse_policy_document(doc)
    assert own.supplementary is not None
    assert own.supplementary.tilt is not None
    assert own.supplementary.tilt.annual_cap == 40000000


def test_parsed_scheme_values_are_fen_and_decimal() -> None:
    pooling = parse_policy_document(_policy("outpatient pooling below")).outpatient_pooling
    assert pooling is not None
    assert (pooling.deductible, pooling.annual_cap) == (20000, 300000)
    assert pooling.ratios[HospitalLevel.TWO] == Decimal("0.6")
    aid = parse_policy_document(_policy("tekun")).assistance
    assert aid is not None
    assert aid.terms_for(frozenset({AssistanceIdentity.DIBAO})) == AssistanceTerms(
        ratio=Decimal("0.7"), annual_cap=3000000
    )
    # 特困 comes first in the policy's order: a person holding both gets the 特困 terms.
    both = frozenset({AssistanceIdentity.DIBAO, AssistanceIdentity.TEKUN})
    assert aid.terms_for(both) == AssistanceTerms(ratio=Decimal(1), annual_cap=5000000)
    assert aid.terms_for(frozenset({AssistanceIdentity.FANPIN})) is None
    above = parse_policy_document(_policy("above the basic cap")).supplementary
    assert above is not None
    assert above.base is SupplementaryBase.ELIGIBLE_AMOUNT


def test_a_level_beyond_three_uses_its_own_figure_or_its_base_levels() -> None:
    policy = parse_policy_document(_policy("fourth hospital level"))
    inpatient = policy.deductible.inpatient
    assert at_level(inpatient, HospitalLevel.THREE_A).first_admission == 120000
    assert at_level(inpatient, HospitalLevel.TOWNSHIP) == inpatient[HospitalLevel.ONE]


@pytest.mark.parametrize(
    ("fragment", "path", "value", "field"),
    [
        (
            "pooling below",
            ["outpatient_pooling", "ratio", "2"],
            "1.5000",
            "outpatient_pooling.ratio.2",
        ),
        (
            "pooling below",
            ["outpatient_pooling", "annual_cap"],
            KeyError,
            "outpatient_pooling.annual_cap",
        ),
        ("maternity", ["maternity", "limit", "4"], "1.00", "maternity.limit.4"),
        ("maternity", ["other_inpatient"], "yes", "other_inpatient"),
        (
            "tekun",
            ["assistance", "by_identity", "fanpin"],
            {"ratio": "1.0000", "annual_cap": "1.00"},
            "assistance.by_identity.fanpin",
        ),
        (
            "dibao resident",
            ["supplementary", "tilt", "extra_points"],
            101,
            "supplementary.tilt.extra_points",
        ),
        (
            "dibao resident",
            ["supplementary", "tilt", "identities", 0],
            "rich",
            "supplementary.tilt.identities[0]",
        ),
        ("above the basic cap", ["supplementary", "base"], "cash", "supplementary.base"),
        (
            "inside the province",
            ["in_province_cut_points", "referral"],
            -5,
            "in_province_cut_points.referral",
        ),
        (
            "fourth hospital level",
            ["deductible", "inpatient", "3a"],
            ["1200.00"],
            "deductible.inpatient.3a",
        ),
    ],
)
def test_a_malformed_new_part_names_the_field(
    fragment: str, path: list[Any], value: Any, field: str
) -> None:
    doc = _policy(fragment)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(DomainError) as refused:
        parse_policy_document(doc)
    assert (refused.value.rule, refused.value.field) == ("policy.format", field)


def test_the_supplementary_key_stays_required_so_a_forgotten_layer_is_not_read_as_none() -> None:
    doc = _policy("without a supplementary fund")
    del doc["supplementary"]
    with pytest.raises(DomainError) as refused:
        parse_policy_document(doc)
    assert refused.value.field == "supplementary"
