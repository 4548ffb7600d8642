"""2501/2502 at the edge: the national referral becomes `referral.upload`/`referral.cancel`,
2503/2504 become `chronic.certify`/`chronic.revoke`, and filing's refusals are told in the
transactions' own names."""

from __future__ import annotations

from typing import Any

import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_settlement.his.chronic import certify_command, certify_output, revoke_command
from yidi_settlement.his.fields import error_text
from yidi_settlement.his.referral import (
    cancel_command,
    filing_output,
    upload_command,
)

SUQIAN, NANJING = "321300", "320100"
P2 = "32130000000000000302"
REFMEDIN = {
    "psn_no": P2,
    "insutype": "310",
    "insu_optins": SUQIAN,
    "diag_code": "I21.000",
    "reflin_medins_no": "H32010000001",
    "mdtrtarea_admdvs": NANJING,
    "refl_opnn": "建议转上级医院",
    "begndate": "2026-03-02 08:00:00",
}


def test_2501_maps_to_the_referral_upload() -> None:
    assert upload_command(envelope("2501", {"refmedin": REFMEDIN})) == {
        "person_id": P2,
        "visit_region": NANJING,
        "destination_institution": "H32010000001",
        "diagnosis": "I21.000",
        "valid_from": "2026-03-02",
        "valid_to": None,
        "insured_region": SUQIAN,
        "insurance_type": "310",
    }
    assert filing_output(envelope("2501", {}), {"filing_id": "F1"}) == {
        "result": {"trt_dcla_detl_sn": "F1"}
    }


def test_2502_maps_to_the_referral_cancel() -> None:
    data = {"trt_dcla_detl_sn": "F1", "psn_no": P2}
    assert cancel_command(envelope("2502", {"data": data})) == {
        "filing_id": "F1",
        "person_id": P2,
        "reason": "cancelled by the referring hospital",
    }


@pytest.mark.parametrize(
    ("refmedin", "rule", "field"),
    [
        ({**REFMEDIN, "mdtrtarea_admdvs": None}, "his.required", "refmedin.mdtrtarea_admdvs"),
        ({**REFMEDIN, "begndate": "2026-13-01"}, "his.date", "refmedin.begndate"),
    ],
)
def test_a_malformed_referral_is_refused_by_its_national_field(
    refmedin: dict[str, Any], rule: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        upload_command(envelope("2501", {"refmedin": refmedin}))
    assert (refused.value.rule, refused.value.field) == (rule, field)


CHRONIC_2503 = {
    "psn_no": "P1",
    "insutype": "310",
    "opsp_dise_code": "M03900",
    "opsp_dise_name": "高血压",
    "insu_optins": SUQIAN,
    "ide_fixmedins_no": "H32130000001",
    "ide_fixmedins_name": "宿迁市人民医院",
    "hosp_ide_date": "2026-02-20",
    "diag_dr_codg": "D001",
    "diag_dr_name": "王医生",
    "begndate": "2026-03-01 00:00:00",
}


def test_a_chronic_certificate_upload_becomes_chronic_certify_in_domain_names() -> None:
    command = certify_command(envelope("2503", {"data": CHRONIC_2503}))
    assert command == {
        "person_id": "P1",
        "disease_code": "M03900",
        "disease_name": "高血压",
        "evidence_institution": "H32130000001",
        "evidence_institution_name": "宿迁市人民医院",
        "evidence_date": "2026-02-20",
        "diagnosing_doctor": "D001",
        "valid_from": "2026-03-01",
        "valid_to": None,
        "insured_region": SUQIAN,
        "insurance_type": "310",
    }
    answer = certify_output(envelope("2503", {}), {"certificate_id": "C1"})
    assert answer == {"result": {"trt_dcla_detl_sn": "C1", "exp_content": None}}


@pytest.mark.parametrize(
    ("missing", "field"),
    [("opsp_dise_code", "data.opsp_dise_code"), ("begndate", "data.begndate")],
)
def test_a_chronic_upload_without_a_required_field_names_it(missing: str, field: str) -> None:
    data = {k: v for k, v in CHRONIC_2503.items() if k != missing}
    with pytest.raises(DomainError) as refused:
        certify_command(envelope("2503", {"data": data}))
    assert (refused.value.rule, refused.value.field) == ("his.required", field)


def test_a_chronic_withdrawal_needs_its_reason() -> None:
    data = {"trt_dcla_detl_sn": "C1", "psn_no": "P1", "memo": "诊断有误"}
    assert revoke_command(envelope("2504", {"data": data})) == {
        "certificate_id": "C1",
        "person_id": "P1",
        "reason": "诊断有误",
    }
    with pytest.raises(DomainError) as refused:
        revoke_command(envelope("2504", {"data": {**data, "memo": ""}}))
    assert (refused.value.rule, refused.value.field) == ("his.required", "data.memo")


def test_filings_refusals_are_told_in_the_referrals_names() -> None:
    region = DomainError(
        "his.insured_region",
        "insured in 320200",
        field="insured_region",
        values={"expected": "320200"},
    )
    assert error_text(region, "2501") == (
        "insu_optins：参保地医保区划与人员的参保地不一致，人员参保地 320200（his.insured_region）"
    )
    reused = DomainError(
        "his.message_reused",
        "this message_id already filed a referral for another person",
        field="message_id",
    )
    assert error_text(reused, "2501") == (
        "msgid：该报文 ID 已为另一人员上传过转诊备案（his.message_reused）"
    )
    unknown = DomainError(
        "filing.not_found",
        "no referral filing with this filing_id for this person",
        field="filing_id",
    )
    assert error_text(unknown, "2502") == (
        "trt_dcla_detl_sn：未找到该人员的该备案（filing.not_found）"
    )
