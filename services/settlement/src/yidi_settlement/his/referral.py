"""2501/2502, owned by filing: the national referral upload and its cancellation <-> the
`referral.*` commands (2503/2504, chronic-disease certificates: his/chronic.py).

    2501 refmedin{psn_no, insutype, insu_optins, diag_code, reflin_medins_no, mdtrtarea_admdvs,
                  refl_opnn, begndate, enddate, ...}      -> referral.upload
         <- result{trt_dcla_detl_sn}
    2502 data{trt_dcla_detl_sn, psn_no, memo}             -> referral.cancel
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from yidi_events.kernel import DomainError
from yidi_settlement.his.envelope import HisEnvelope, quoted

UPLOAD = "referral.upload"
CANCEL = "referral.cancel"


def _object(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, Mapping):
        raise DomainError("his.input", f"the input has no {key} object", field=key)
    return value


def _text(doc: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = doc.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise DomainError("his.required", f"{where}.{key} is required", field=f"{where}.{key}")
    return text or None


def _date(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    text = _text(doc, key, where, required=False)
    if text is None:
        return None
    try:
        # hospitals send a date or "YYYY-MM-DD HH:MM:SS"
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise DomainError(
            "his.date",
            f"{where}.{key} is not a date (YYYY-MM-DD)",
            field=f"{where}.{key}",
            values={"value": quoted(text)},
        ) from None


def upload_command(envelope: HisEnvelope) -> dict[str, Any]:
    """2501 input -> the referral the hospital files; `insured_region`/`insurance_type` as it
    read them from the person's card (checked against the enrolment)."""
    ref = _object(envelope.input, "refmedin")
    return {
        "person_id": _text(ref, "psn_no", "refmedin"),
        "visit_region": _text(ref, "mdtrtarea_admdvs", "refmedin"),
        "destination_institution": _text(ref, "reflin_medins_no", "refmedin", required=False),
        "diagnosis": _text(ref, "diag_code", "refmedin"),
        "valid_from": _date(ref, "begndate", "refmedin"),
        "valid_to": _date(ref, "enddate", "refmedin"),
        "insured_region": _text(ref, "insu_optins", "refmedin", required=False),
        "insurance_type": _text(ref, "insutype", "refmedin", required=False),
    }


def cancel_command(envelope: HisEnvelope) -> dict[str, Any]:
    """2502 input -> the hospital's referral to cancel."""
    data = _object(envelope.input, "data")
    return {
        "filing_id": _text(data, "trt_dcla_detl_sn", "data"),
        "person_id": _text(data, "psn_no", "data"),
        "reason": _text(data, "memo", "data", required=False)
        or "cancelled by the referring hospital",
    }


def filing_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"result": {"trt_dcla_detl_sn": result["filing_id"]}}
