"""The HIS edge of 3101/3102 (事前/事中分析): national field names live here and nowhere else.

`encounters_from_3101(data)` turns the request's `data` object into proposed encounters (one per
patient: the encounter named by `curr_mdtrt_id`, or every encounter when it is absent), and
`results_to_3101(task_id, proposed, warnings)` turns warnings into `result[]` rows. Amounts arrive
and leave as yuan with two decimals; inside they are fen. The `sev_deg` codes are ours (1 clear
violation, 2 suspected, 3 notice): the national code list was not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_audit.domain.analysis import PROPOSED, ProposedEncounter
from yidi_audit.domain.facts import FeeLine
from yidi_audit.domain.flags import Flag, Severity
from yidi_events.kernel import DomainError, Fen, fen_to_yuan, yuan_to_fen

_BAD = "audit.analysis.bad_request"
_SEVERITY = {Severity.VIOLATION: "1", Severity.SUSPECTED: "2", Severity.NOTICE: "3"}


@dataclass(frozen=True)
class AnalysisRequest:
    task_id: str
    rule_ids: frozenset[str] | None
    encounters: tuple[ProposedEncounter, ...]


def _text(obj: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = obj.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise DomainError(_BAD, f"{name} is required", field=name)
        return ""
    return str(value).strip()


def _date(obj: Mapping[str, Any], name: str, default: date | None = None) -> date:
    raw = _text(obj, name, required=default is None)
    if not raw and default is not None:
        return default
    try:
        return date.fromisoformat(raw[:10])  # "yyyy-MM-dd" or "yyyy-MM-dd HH:mm:ss"
    except ValueError:
        raise DomainError(_BAD, f"{name} {raw!r} is not a date", field=name) from None


def _fen(obj: Mapping[str, Any], name: str) -> Fen:
    raw = obj.get(name)
    if raw is None or raw == "":
        return 0
    try:
        # JSON numbers may arrive as floats; their shortest repr is the decimal the HIS sent.
        return yuan_to_fen(repr(raw) if isinstance(raw, float) else str(raw))
    except ValueError:
        raise DomainError(_BAD, f"{name} {raw!r} is not a yuan amount", field=name) from None


def _decimal(obj: Mapping[str, Any], name: str) -> Decimal:
    raw = obj.get(name)
    try:
        return Decimal(repr(raw) if isinstance(raw, float) else str(raw))
    except (InvalidOperation, ValueError):
        raise DomainError(_BAD, f"{name} {raw!r} is not a number", field=name) from None


def _fee_line(order: Mapping[str, Any], admitted_on: date) -> FeeLine:
    return FeeLine(
        catalogue_code=_text(order, "hilist_code"),
        charge_category=_text(order, "chrg_type", required=False),
        fee_date=_date(order, "drord_begn_date", admitted_on),
        quantity=_decimal(order, "cnt"),
        unit_price=_decimal(order, "pric"),
        amount=_fen(order, "sumamt"),
        fee_line_no=_text(order, "rx_id", required=False),
    )


def _principal_diagnosis(encounter: Mapping[str, Any]) -> str:
    main = _text(encounter, "dscg_main_dise_codg", required=False)
    if main:
        return main
    for diagnosis in encounter.get("fsi_diagnose_dtos") or ():
        if str(diagnosis.get("maindise_flag", "")) == "1":
            return _text(diagnosis, "dise_codg")
    return ""


def _encounter(patient: Mapping[str, Any], encounter: Mapping[str, Any]) -> ProposedEncounter:
    admitted_on = _date(encounter, "adm_date")
    lines = tuple(_fee_line(o, admitted_on) for o in encounter.get("fsi_order_dtos") or ())
    total = _fen(encounter, "medfee_sumamt") or sum(line.amount for line in lines)
    return ProposedEncounter(
        visit_id=_text(encounter, "mdtrt_id"),
        person_id=_text(patient, "patn_id"),
        institution_code=_text(encounter, "medins_id"),
        visit_region=_text(encounter, "medins_admdvs"),
        insured_region=_text(patient, "poolarea"),
        insurance_type=_text(encounter, "insutype", required=False),
        medical_type=_text(encounter, "med_type"),
        admitted_on=admitted_on,
        discharged_on=_date(encounter, "dscg_date", admitted_on),
        principal_diagnosis=_principal_diagnosis(encounter),
        total_fee=total,
        fund_total=_fen(encounter, "hifp_payamt"),
        fee_lines=lines,
    )


def encounters_from_3101(data: Mapping[str, Any]) -> AnalysisRequest:
    proposed: list[ProposedEncounter] = []
    for patient in data.get("patient_dtos") or ():
        current = _text(patient, "curr_mdtrt_id", required=False)
        encounters = patient.get("fsi_encounter_dtos") or ()
        chosen = [e for e in encounters if not current or str(e.get("mdtrt_id")) == current]
        if not chosen:
            raise DomainError(_BAD, f"no encounter has mdtrt_id {current!r}", field="curr_mdtrt_id")
        proposed.extend(_encounter(patient, e) for e in chosen)
    if not proposed:
        raise DomainError(_BAD, "patient_dtos holds no encounter to analyse", field="patient_dtos")
    rule_ids = data.get("rule_ids")
    return AnalysisRequest(
        task_id=_text(data, "task_id", required=False),
        rule_ids=frozenset(str(r) for r in rule_ids) if rule_ids else None,
        encounters=tuple(proposed),
    )


def results_to_3101(
    task_id: str, proposed: ProposedEncounter, warnings: Sequence[Flag]
) -> list[dict[str, Any]]:
    rows = []
    for warning in warnings:
        earlier = [s for s in warning.settlement_ids if not s.startswith(PROPOSED)]
        evidence = "settlements " + ", ".join(earlier) if earlier else "this encounter"
        rows.append(
            {
                "jr_id": warning.flag_id,
                "rule_id": warning.rule_id,
                "rule_name": warning.rule_name,
                "vola_cont": warning.detail,
                "patn_id": proposed.person_id,
                "mdtrt_id": proposed.visit_id,
                "judge_result_detail_dtos": [],
                "vola_amt": fen_to_yuan(warning.amount_at_issue),
                "vola_amt_stas": "1",
                "sev_deg": _SEVERITY[warning.severity],
                "vola_evid": f"{warning.rule_id} v{warning.rule_version}: {evidence}",
                "vola_bhvr_type": "",
                "task_id": task_id,
            }
        )
    return rows
