"""Chronic-disease certificates at the insured place, on the in-memory store: what certifying and
revoking append on the person's stream, and what they refuse (appending nothing). Monday 2 March
2026 in Shanghai."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from filing_testkit import NANJING_CLERK, REVIEWER, SUZHOU, TODAY, ZHANG, enrolled_zhang

from yidi_events.contracts.filing import (
    ChronicDiseaseCertified,
    ChronicDiseaseRevoked,
    FilingChannel,
)
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound
from yidi_filing.app import chronic
from yidi_filing.domain.chronic_certificate import CertifyChronicDisease

STREAM = f"person-{ZHANG}"
HOSPITAL = "H32050000001"
HYPERTENSION = CertifyChronicDisease(
    certificate_id="C1",
    person_id=ZHANG,
    disease_code="M03900",
    disease_name="高血压",
    evidence_institution=HOSPITAL,
    evidence_institution_name="苏州市立医院",
    evidence_date=date(2026, 2, 20),
    diagnosing_doctor="D001",
    valid_from=date(2026, 3, 1),
)
CERTIFIED = ChronicDiseaseCertified(
    certificate_id="C1",
    person_id=ZHANG,
    insured_region=SUZHOU,
    disease_code="M03900",
    disease_name="高血压",
    evidence_institution=HOSPITAL,
    evidence_institution_name="苏州市立医院",
    evidence_date=date(2026, 2, 20),
    diagnosing_doctor="D001",
    valid_from=date(2026, 3, 1),
    valid_to=None,
    channel=FilingChannel.COUNTER,
    submitted_by_institution=None,
    certified_on=TODAY,
)


async def test_a_reviewer_certifies_a_person_for_a_disease() -> None:
    s = await enrolled_zhang()
    assert await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER) == "C1"
    assert s.events(STREAM)[1:] == [CERTIFIED]


async def test_a_second_disease_is_certified_beside_the_first() -> None:
    s = await enrolled_zhang()
    await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER)
    diabetes = replace(
        HYPERTENSION, certificate_id="C2", disease_code="M01600", disease_name="糖尿病"
    )
    await chronic.certify(s.ctx, diabetes, principal=REVIEWER)
    assert [e.disease_code for e in s.events(STREAM)[1:]] == ["M03900", "M01600"]


async def test_the_same_disease_twice_in_one_period_is_refused() -> None:
    s = await enrolled_zhang()
    await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER)
    again = replace(HYPERTENSION, certificate_id="C2", valid_from=date(2026, 6, 1))
    with pytest.raises(Conflict) as refused:
        await chronic.certify(s.ctx, again, principal=REVIEWER)
    assert refused.value.rule == "chronic.already_certified"
    assert refused.value.values == {"certificate_id": "C1", "disease_code": "M03900"}
    assert len(s.events(STREAM)) == 2


async def test_after_a_revocation_the_disease_may_be_certified_again_from_then() -> None:
    s = await enrolled_zhang()
    await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER)
    await chronic.revoke(s.ctx, ZHANG, "C1", "误诊", principal=REVIEWER)
    assert s.events(STREAM)[-1] == ChronicDiseaseRevoked(
        certificate_id="C1", person_id=ZHANG, disease_code="M03900", reason="误诊", revoked_on=TODAY
    )
    # C1 was in force 1 to 1 March; from 2 March (today) a new one does not overlap it.
    await chronic.certify(
        s.ctx, replace(HYPERTENSION, certificate_id="C2", valid_from=TODAY), principal=REVIEWER
    )
    assert s.events(STREAM)[-1].certificate_id == "C2"


async def test_a_retried_hospital_upload_records_one_certificate() -> None:
    s = await enrolled_zhang()
    upload = replace(
        HYPERTENSION,
        certificate_id=chronic.hospital_certificate_id(HOSPITAL, "MSG1"),
        channel=FilingChannel.HOSPITAL,
        submitted_by_institution=HOSPITAL,
    )
    card = chronic.CardFacts(insured_region=SUZHOU, insurance_type="310")
    first = await chronic.certify(s.ctx, upload, card=card)
    assert await chronic.certify(s.ctx, upload, card=card) == first
    assert len(s.events(STREAM)) == 2


@pytest.mark.parametrize(
    ("change", "rule", "field"),
    [
        ({"disease_code": " "}, "chronic.disease_code", "disease_code"),
        ({"disease_code": "X" * 31}, "chronic.disease_code", "disease_code"),
        ({"disease_name": ""}, "chronic.disease_name", "disease_name"),
        ({"evidence_institution": ""}, "chronic.evidence_required", "evidence_institution"),
        ({"evidence_date": date(2026, 3, 3)}, "chronic.evidence_date", "evidence_date"),
        ({"valid_to": date(2026, 2, 28)}, "chronic.validity", "valid_to"),
    ],
)
async def test_a_malformed_certificate_is_refused_naming_the_field(
    change: dict[str, object], rule: str, field: str
) -> None:
    s = await enrolled_zhang()
    with pytest.raises(DomainError) as refused:
        await chronic.certify(s.ctx, replace(HYPERTENSION, **change), principal=REVIEWER)  # type: ignore[arg-type]
    assert (refused.value.rule, refused.value.field) == (rule, field)
    assert len(s.events(STREAM)) == 1


async def test_another_agency_cannot_certify_or_revoke_our_person() -> None:
    s = await enrolled_zhang()
    with pytest.raises(Forbidden):
        await chronic.certify(s.ctx, HYPERTENSION, principal=NANJING_CLERK)
    await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER)
    with pytest.raises(Forbidden):
        await chronic.revoke(s.ctx, ZHANG, "C1", "x", principal=NANJING_CLERK)
    assert len(s.events(STREAM)) == 2


async def test_a_hospital_withdraws_only_its_own_upload() -> None:
    s = await enrolled_zhang()
    await chronic.certify(s.ctx, HYPERTENSION, principal=REVIEWER)  # at the counter
    with pytest.raises(Forbidden) as refused:
        await chronic.revoke(s.ctx, ZHANG, "C1", "撤销", institution_code=HOSPITAL)
    assert refused.value.rule == "chronic.hospital_own_only"
    with pytest.raises(NotFound):
        await chronic.revoke(s.ctx, ZHANG, "C9", "撤销", principal=REVIEWER)
    assert len(s.events(STREAM)) == 2


async def test_the_card_must_match_the_enrolment() -> None:
    s = await enrolled_zhang()
    with pytest.raises(DomainError) as refused:
        await chronic.certify(s.ctx, HYPERTENSION, card=chronic.CardFacts(insured_region="320100"))
    assert (refused.value.rule, refused.value.values) == (
        "his.insured_region",
        {"expected": SUZHOU},
    )
