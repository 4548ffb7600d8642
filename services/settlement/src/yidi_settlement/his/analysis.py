"""3101/3102 (事前/事中分析), owned by audit: the national request <-> the `encounters.analyse`
command and its warnings.

The request's `data` becomes proposed encounters (one per patient: the encounter named by
`curr_mdtrt_id`, or every encounter when it is absent); each warning becomes a `result[]` row.
Amounts arrive and leave as yuan with two decimals; the command carries fen. The `sev_deg` codes
are ours (1 clear violation, 2 suspected, 3 notice): the national code list was not found.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_events.kernel import fen_to_yuan, yuan_to_fen
from yidi_settlement.his.envelope import REQUIRED, TYPE, HisEnvelope, quoted, refuse

ANALYSE = "encounters.analyse"
_SEVERITY = {"violation": "1", "suspected": "2", "notice": "3"}


def _text(obj: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = obj.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise refuse(name, f"{name} is required", REQUIRED)
        return ""
    return str(value).strip()


def _date(obj: Mapping[str, Any], name: str, default: str | None = None) -> str:
    raw = _text(obj, name, required=default is None)
    if not raw and default is not None:
        return default
    try:
        return date.fromisoformat(raw[:10]).isoformat()  # "yyyy-MM-dd" or "yyyy-MM-dd HH:mm:ss"
    except ValueError:
        raise refuse(name, f"{name} {raw!r} is not a date", "his.date", value=quoted(raw)) from None


def _fen(obj: Mapping[str, Any], name: str) -> int:
    raw = obj.get(name)
    if raw is None or raw == "":
        return 0
    try:
        # JSON numbers may arrive as floats; their shortest repr is the decimal the HIS sent.
        return yuan_to_fen(repr(raw) if isinstance(raw, float) else str(raw))
    except ValueError:
        raise refuse(
            name, f"{name} {raw!r} is not a yuan amount", "his.amount", value=quoted(raw)
        ) from None


def _decimal(obj: Mapping[str, Any], name: str) -> str:
    raw = obj.get(name)
    try:
        return str(Decimal(repr(raw) if isinstance(raw, float) else str(raw)))
    except (InvalidOperation, ValueError):
        raise refuse(
            name, f"{name} {raw!r} is not a number", "his.number", value=quoted(raw)
        ) from None


def _fee_line(order: Mapping[str, Any], admitted_on: str) -> dict[str, Any]:
    return {
        "catalogue_code": _text(order, "hilist_code"),
        "charge_category": _text(order, "chrg_type", required=False),
        "fee_date": _date(order, "drord_begn_date", admitted_on),
        "quantity": _decimal(order, "cnt"),
        "unit_price": _decimal(order, "pric"),
        "amount": _fen(order, "sumamt"),
        "fee_line_no": _text(order, "rx_id", required=False),
    }


def _principal_diagnosis(encounter: Mapping[str, Any]) -> str:
    main = _text(encounter, "dscg_main_dise_codg", required=False)
    if main:
        return main
    for diagnosis in encounter.get("fsi_diagnose_dtos") or ():
        if str(diagnosis.get("maindise_flag", "")) == "1":
            return _text(diagnosis, "dise_codg")
    return ""


def _encounter(patient: Mapping[str, Any], encounter: Mapping[str, Any]) -> dict[str, Any]:
    admitted_on = _date(encounter, "adm_date")
    lines = [_fee_line(o, admitted_on) for o in encounter.get("fsi_order_dtos") or ()]
    total = _fen(encounter, "medfee_sumamt") or sum(line["amount"] for line in lines)
    return {
        "visit_id": _text(encounter, "mdtrt_id"),
        "person_id": _text(patient, "patn_id"),
        "institution_code": _text(encounter, "medins_id"),
        "visit_region": _text(encounter, "medins_admdvs"),
        "insured_region": _text(patient, "poolarea"),
        "insurance_type": _text(encounter, "insutype", required=False),
        "medical_type": _text(encounter, "med_type"),
        "admitted_on": admitted_on,
        "discharged_on": _date(encounter, "dscg_date", admitted_on),
        "principal_diagnosis": _principal_diagnosis(encounter),
        "total_fee": total,
        "fund_total": _fen(encounter, "hifp_payamt"),
        "fee_lines": lines,
    }


def analysis_command(envelope: HisEnvelope) -> dict[str, Any]:
    """3101/3102 input -> the proposed encounters to analyse."""
    data = envelope.input.get("data", envelope.input)
    if not isinstance(data, dict):
        raise refuse("data", "data must be an object", TYPE, expected="object")
    proposed: list[dict[str, Any]] = []
    for patient in data.get("patient_dtos") or ():
        current = _text(patient, "curr_mdtrt_id", required=False)
        encounters = patient.get("fsi_encounter_dtos") or ()
        chosen = [e for e in encounters if not current or str(e.get("mdtrt_id")) == current]
        if not chosen:
            raise refuse(
                "curr_mdtrt_id",
                f"no encounter has mdtrt_id {current!r}",
                "his.encounter_unknown",
                value=quoted(current),
            )
        proposed.extend(_encounter(patient, e) for e in chosen)
    if not proposed:
        raise refuse(
            "patient_dtos", "patient_dtos holds no encounter to analyse", "his.encounters_empty"
        )
    rule_ids = data.get("rule_ids")
    return {
        "rule_ids": sorted(str(r) for r in rule_ids) if rule_ids else None,
        "encounters": proposed,
    }


def analysis_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    """The warnings -> `result[]` rows, each naming the request's task."""
    data = envelope.input.get("data", envelope.input)
    task_id = _text(data, "task_id", required=False)
    return {
        "result": [
            {
                "jr_id": warning["flag_id"],
                "rule_id": warning["rule_id"],
                "rule_name": warning["rule_name"],
                "vola_cont": warning["detail"],
                "patn_id": warning["person_id"],
                "mdtrt_id": warning["visit_id"],
                "judge_result_detail_dtos": [],
                "vola_amt": fen_to_yuan(warning["amount_at_issue"]),
                "vola_amt_stas": "1",
                "sev_deg": _SEVERITY[warning["severity"]],
                "vola_evid": warning["evidence"],
                "vola_bhvr_type": "",
                "task_id": task_id,
            }
            for warning in result["warnings"]
        ]
    }
