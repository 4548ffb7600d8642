"""2503/2504, owned by filing: the national chronic-disease certificate upload (人员慢特病备案) and
its withdrawal <-> the `chronic.*` commands.

    2503 data{psn_no, insutype, opsp_dise_code, opsp_dise_name, insu_optins, ide_fixmedins_no,
              ide_fixmedins_name, hosp_ide_date, diag_dr_codg, diag_dr_name, begndate,
              enddate, ...}                                  -> chronic.certify
         <- result{trt_dcla_detl_sn}  (the certificate's id)
    2504 data{trt_dcla_detl_sn, psn_no, memo}                -> chronic.revoke
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yidi_settlement.his.envelope import HisEnvelope
from yidi_settlement.his.referral import _date, _object, _text

CERTIFY = "chronic.certify"
REVOKE = "chronic.revoke"


def certify_command(envelope: HisEnvelope) -> dict[str, Any]:
    data = _object(envelope.input, "data")
    return {
        "person_id": _text(data, "psn_no", "data"),
        "disease_code": _text(data, "opsp_dise_code", "data"),
        "disease_name": _text(data, "opsp_dise_name", "data"),
        "evidence_institution": _text(data, "ide_fixmedins_no", "data"),
        "evidence_institution_name": _text(data, "ide_fixmedins_name", "data"),
        "evidence_date": _date(data, "hosp_ide_date", "data")
        or _text(data, "hosp_ide_date", "data"),
        "diagnosing_doctor": _text(data, "diag_dr_codg", "data"),
        "valid_from": _date(data, "begndate", "data") or _text(data, "begndate", "data"),
        "valid_to": _date(data, "enddate", "data"),
        "insured_region": _text(data, "insu_optins", "data"),
        "insurance_type": _text(data, "insutype", "data"),
    }


def revoke_command(envelope: HisEnvelope) -> dict[str, Any]:
    data = _object(envelope.input, "data")
    return {
        "certificate_id": _text(data, "trt_dcla_detl_sn", "data"),
        "person_id": _text(data, "psn_no", "data"),
        # the spec makes the reason (memo) required: a withdrawal says why
        "reason": _text(data, "memo", "data"),
    }


def certify_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"result": {"trt_dcla_detl_sn": result["certificate_id"], "exp_content": None}}


def revoke_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {}
