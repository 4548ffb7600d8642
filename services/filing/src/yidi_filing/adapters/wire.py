"""The HIS edge of the filing service: national names <-> domain names for 2501/2502 (and the
refusal of 2503/2504), mapped once here (docs/glossary.md).

    2501 refmedin{psn_no, insutype, insu_optins, diag_code, reflin_medins_no, mdtrtarea_admdvs,
                  refl_opnn, begndate, enddate, ...}      -> SubmitFiling (referral, hospital)
         <- result{trt_dcla_detl_sn}
    2502 data{trt_dcla_detl_sn, psn_no, memo}             -> cancel the hospital's referral
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from yidi_events.contracts.filing import FilingChannel, FilingKind
from yidi_events.kernel import DomainError
from yidi_filing.domain.filing import SubmitFiling

REFERRAL = "2501"
REFERRAL_CANCEL = "2502"
CHRONIC = "2503"
CHRONIC_CANCEL = "2504"


@dataclass(frozen=True, kw_only=True)
class ReferralUpload:
    """A 2501 upload in domain terms; `insured_region`/`insurance_type` as the hospital read them
    from the person's card (checked against the enrolment)."""

    command: SubmitFiling
    insured_region: str | None
    insurance_type: str | None


@dataclass(frozen=True, kw_only=True)
class ReferralCancel:
    filing_id: str
    person_id: str
    reason: str


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


def _date(doc: Mapping[str, Any], key: str, where: str) -> date | None:
    text = _text(doc, key, where, required=False)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])  # hospitals send a date or "YYYY-MM-DD HH:MM:SS"
    except ValueError:
        raise DomainError(
            "his.date", f"{where}.{key} is not a date (YYYY-MM-DD)", field=f"{where}.{key}"
        ) from None


def referral_upload(
    input_: Mapping[str, Any], institution_code: str, filing_id: str
) -> ReferralUpload:
    ref = _object(input_, "refmedin")
    return ReferralUpload(
        command=SubmitFiling(
            filing_id=filing_id,
            person_id=_text(ref, "psn_no", "refmedin") or "",
            kind=FilingKind.REFERRAL,
            channel=FilingChannel.HOSPITAL,
            visit_region=_text(ref, "mdtrtarea_admdvs", "refmedin") or "",
            destination_institution=_text(ref, "reflin_medins_no", "refmedin", required=False),
            diagnosis=_text(ref, "diag_code", "refmedin"),
            valid_from=_date(ref, "begndate", "refmedin"),
            valid_to=_date(ref, "enddate", "refmedin"),
            submitted_by_institution=institution_code,
        ),
        insured_region=_text(ref, "insu_optins", "refmedin", required=False),
        insurance_type=_text(ref, "insutype", "refmedin", required=False),
    )


def referral_cancel(input_: Mapping[str, Any]) -> ReferralCancel:
    data = _object(input_, "data")
    return ReferralCancel(
        filing_id=_text(data, "trt_dcla_detl_sn", "data") or "",
        person_id=_text(data, "psn_no", "data") or "",
        reason=_text(data, "memo", "data", required=False) or "cancelled by the referring hospital",
    )


def filing_output(filing_id: str) -> dict[str, Any]:
    return {"result": {"trt_dcla_detl_sn": filing_id}}


def chronic_out_of_scope(infno: str) -> DomainError:
    return DomainError(
        "his.chronic_filing_out_of_scope",
        f"{infno}: chronic/special disease filing (慢特病备案) is not handled by the cross-region "
        "filing service; file it with the insured place's chronic-disease system",
        field="infno",
    )
