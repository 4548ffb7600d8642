"""2501/2502 at the edge: the national referral becomes `referral.upload`/`referral.cancel`,
2503/2504 are refused here, and filing's refusals are told in the referral's names."""

from __future__ import annotations

from typing import Any

import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_settlement.his.fields import error_text
from yidi_settlement.his.referral import (
    cancel_command,
    chronic_out_of_scope,
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


def test_chronic_filing_is_refused_at_the_edge() -> None:
    with pytest.raises(DomainError) as refused:
        chronic_out_of_scope(envelope("2503", {}))
    assert (refused.value.rule, refused.value.field) == ("his.chronic_filing_out_of_scope", "infno")


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
