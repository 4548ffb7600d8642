"""The HIS edge: national field names <-> the settlement domain, mapped once, here only.

Amounts leave as yuan strings with two decimals, as the national interface speaks them. The HIS
gateway and the vectors CLI both use these functions, so the shape a hospital sees is the shape the
shared test vectors check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_events.contracts.settlement import Diagnosis, FeeLineSplit, ItemClass
from yidi_events.kernel import SHANGHAI, DomainError, fen_to_yuan, parse_ratio, yuan_to_fen
from yidi_events.policy import AssistanceIdentity
from yidi_settlement.domain.accumulators import Accumulators
from yidi_settlement.domain.engine import SettlementComputation
from yidi_settlement.domain.model import CatalogueEntry, FeeLine, PersonAtSettlement

_RULE = "his.format"


def _yuan(field: str, value: Any) -> int:
    try:
        return yuan_to_fen(value)
    except ValueError as exc:
        raise DomainError(
            _RULE, f"{field} must be a yuan amount, got {value!r}", field=field
        ) from exc


def _decimal(field: str, value: Any) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise DomainError(_RULE, f"{field} must be a number, got {value!r}", field=field) from exc
    if not result.is_finite():
        raise DomainError(_RULE, f"{field} must be a finite number", field=field)
    return result


def fee_line_from_wire(row: Mapping[str, Any]) -> FeeLine:
    """One 2204/2301 fee line (feedetl_sn, med_list_codg, cnt, pric, det_item_fee_sumamt...)."""
    return FeeLine(
        fee_line_no=str(row["feedetl_sn"]),
        catalogue_code=str(row["med_list_codg"]),
        quantity=_decimal("cnt", row["cnt"]),
        unit_price=_decimal("pric", row["pric"]),
        amount=_yuan("det_item_fee_sumamt", row["det_item_fee_sumamt"]),
        charge_category=row.get("med_chrgitm_type"),
        hospital_item_code=row.get("medins_list_codg"),
    )


def catalogue_entry_from_wire(code: str, row: Mapping[str, Any]) -> CatalogueEntry:
    cap = row.get("pric_uplmt_amt")
    try:
        return CatalogueEntry(
            catalogue_code=code,
            item_class=ItemClass(row["chrgitm_lv"]),
            self_pay_ratio=parse_ratio(row["selfpay_prop"]),
            price_cap=None if cap is None else _decimal("pric_uplmt_amt", cap),
            list_type=str(row.get("list_type", "")),
        )
    except ValueError as exc:
        raise DomainError(_RULE, f"catalogue entry {code}: {exc}", field=code) from exc


def person_from_wire(row: Mapping[str, Any]) -> PersonAtSettlement:
    return PersonAtSettlement(
        person_category=str(row["psn_type"]),
        civil_servant=str(row.get("cvlserv_flag", "0")) == "1",
        assistance_identities=frozenset(AssistanceIdentity(i) for i in row.get("identities", [])),
        account_balance=_yuan("acct_balance", row.get("acct_balance", "0.00")),
    )


def accumulators_from_wire(row: Mapping[str, Any], policy_year: int) -> Accumulators:
    return Accumulators(
        policy_year=policy_year,
        inpatient_admissions=int(row["inpatient_admissions"]),
        outpatient_deductible_used=_yuan(
            "outpatient_deductible_used", row["outpatient_deductible_used"]
        ),
        eligible_cum=_yuan("eligible_cum", row["eligible_cum"]),
        basic_paid_cum=_yuan("basic_paid_cum", row["basic_paid_cum"]),
        supplementary_base_cum=_yuan("supplementary_base_cum", row["supplementary_base_cum"]),
        supplementary_paid_cum=_yuan("supplementary_paid_cum", row["supplementary_paid_cum"]),
        assistance_paid_cum=_yuan("assistance_paid_cum", row["assistance_paid_cum"]),
    )


def accumulators_to_wire(acc: Accumulators) -> dict[str, Any]:
    return {
        "inpatient_admissions": acc.inpatient_admissions,
        "outpatient_deductible_used": fen_to_yuan(acc.outpatient_deductible_used),
        "eligible_cum": fen_to_yuan(acc.eligible_cum),
        "basic_paid_cum": fen_to_yuan(acc.basic_paid_cum),
        "supplementary_base_cum": fen_to_yuan(acc.supplementary_base_cum),
        "supplementary_paid_cum": fen_to_yuan(acc.supplementary_paid_cum),
        "assistance_paid_cum": fen_to_yuan(acc.assistance_paid_cum),
    }


def setlinfo(result: SettlementComputation) -> dict[str, str]:
    """The money fields of the 2207/2304 `setlinfo` block."""
    t = result.totals
    figures = {
        "medfee_sumamt": t.total_fee,
        "fulamt_ownpay_amt": t.fully_self_paid,
        "overlmt_selfpay": t.over_limit,
        "preselfpay_amt": t.pre_self_paid,
        "inscp_scp_amt": t.in_policy,
        "act_pay_dedc": t.deductible_applied,
        "hifp_pay": t.basic_fund,
        "hifob_pay": t.large_amount_fund,
        "hifmi_pay": t.critical_illness_fund,
        "cvlserv_pay": t.civil_servant_subsidy,
        "maf_pay": t.medical_assistance,
        "fund_pay_sumamt": t.fund_total,
        "acct_pay": t.account_paid,
        "psn_cash_pay": t.cash_paid,
        "psn_part_amt": t.personal_total,
        "hosp_part_amt": t.hospital_borne,
    }
    return {name: fen_to_yuan(fen) for name, fen in figures.items()}


def setldetail(result: SettlementComputation) -> list[dict[str, str]]:
    return [
        {"fund_pay_type": p.fund_code.value, "fund_payamt": fen_to_yuan(p.amount)}
        for p in result.fund_payments
    ]


def line_to_wire(line: FeeLineSplit) -> dict[str, str]:
    """One 2204/2301 output row: how the line was split."""
    return {
        "feedetl_sn": line.fee_line_no,
        "fulamt_ownpay_amt": fen_to_yuan(line.fully_self_paid),
        "overlmt_amt": fen_to_yuan(line.over_limit),
        "preselfpay_amt": fen_to_yuan(line.pre_self_paid),
        "inscp_scp_amt": fen_to_yuan(line.in_policy),
    }


# --- the HIS envelope and the transactions (his-interface.md sections 1 and 2) ---------------

MAX_BODY = 512 * 1024
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_EMERGENCY_MED_TYPES = {"13", "24"}  # 急诊, 急诊转住院


@dataclass(frozen=True, kw_only=True)
class HisEnvelope:
    infno: str
    message_id: str
    institution_code: str
    visit_region: str
    insured_region: str | None
    input: dict[str, Any]


def _refuse(field: str, message: str) -> DomainError:
    return DomainError(_RULE, message, field=field)


def _text(node: Mapping[str, Any], field: str, *, required: bool = True) -> str | None:
    value = node.get(field)
    if value is None or value == "":
        if required:
            raise _refuse(field, f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _refuse(field, f"{field} must be a string, got {type(value).__name__}")
    return str(value)


def _req(node: Mapping[str, Any], field: str) -> str:
    value = _text(node, field)
    assert value is not None
    return value


def _node(parent: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise _refuse(name, f"input.{name} must be an object")
    return value


def _moment(field: str, value: str) -> datetime:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    raise _refuse(field, f"{field} must be a time 'yyyy-MM-dd HH:mm:ss', got {value!r}")


def _region(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) != 6 or not value.isdigit():
        raise _refuse(field, f"{field} must be a 6-digit region code, got {value!r}")
    return value


def parse_envelope(body: bytes) -> HisEnvelope:
    if len(body) > MAX_BODY:
        raise _refuse("body", f"the request body is larger than {MAX_BODY} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _refuse("body", f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _refuse("body", "the request body must be a JSON object (the envelope)")
    infno = _req(doc, "infno")
    message_id = _req(doc, "msgid")
    if len(message_id) > 64:
        raise _refuse("msgid", "msgid is longer than 64 characters")
    visit_region = _region("mdtrtarea_admvs", _req(doc, "mdtrtarea_admvs"))
    insured_region = _region("insuplc_admdvs", _text(doc, "insuplc_admdvs", required=False))
    if "input" not in doc:
        # Every national transaction carries an input node, even an empty one: a missing node
        # is a malformed envelope, not an empty request.
        raise _refuse("input", "input is required (a JSON object, {} when empty)")
    raw_input = doc["input"]
    if not isinstance(raw_input, dict):
        raise _refuse("input", "input must be a JSON object")
    return HisEnvelope(
        infno=infno,
        message_id=message_id,
        institution_code=_req(doc, "fixmedins_code"),
        visit_region=visit_region or "",
        insured_region=insured_region,
        input=raw_input,
    )


def his_answer(
    *,
    visit_region: str,
    received: datetime,
    responded: datetime,
    sequence: int,
    output: dict[str, Any] | None,
    error: str | None = None,
) -> dict[str, Any]:
    """The response envelope (section 1.3): infcode 0 with output, or -1 with err_msg."""
    stamp = received.astimezone(SHANGHAI)
    return {
        "infcode": -1 if error else 0,
        "inf_refmsgid": f"{visit_region or '000000'}{stamp:%Y%m%d%H%M%S}{sequence % 10**10:010d}",
        "refmsg_time": _ms(received),
        "respond_time": _ms(responded),
        "err_msg": error[:200] if error else None,
        "warn_msg": None,
        "output": output if not error else None,
    }


def _ms(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def error_text(exc: DomainError) -> str:
    where = f"{exc.field}: " if exc.field else ""
    return f"{where}{exc.message} (rule {exc.rule})"


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Voucher:
    voucher_type: str  # 01 e-voucher, 02 ID card, 03 social-security card
    voucher_no: str
    card_serial: str | None = None


def voucher_from_wire(node: Mapping[str, Any], *, required: bool = True) -> Voucher | None:
    kind = _text(node, "mdtrt_cert_type", required=required)
    if kind is None:
        return None
    if kind not in ("01", "02", "03"):
        raise _refuse("mdtrt_cert_type", f"mdtrt_cert_type must be 01, 02 or 03, got {kind!r}")
    card = _text(node, "card_sn", required=False)
    if kind == "03" and card is None:
        raise _refuse("card_sn", "card_sn is required with a social-security card (03)")
    return Voucher(voucher_type=kind, voucher_no=_req(node, "mdtrt_cert_no"), card_serial=card)


def person_query_from_wire(payload: Mapping[str, Any]) -> Voucher:
    voucher = voucher_from_wire(_node(payload, "data"))
    assert voucher is not None
    return voucher


def person_to_wire(row: Mapping[str, Any], balance: int, on: date) -> dict[str, Any]:
    birth: date = row["birth_date"]
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    status = {"active": "1", "suspended": "2", "terminated": "4"}[row["enrolment_status"]]
    return {
        "baseinfo": {
            "psn_no": row["person_id"],
            "psn_cert_type": row["certificate_type"],
            "certno": row["certificate_no"],
            "psn_name": row["name"],
            "gend": row["gender"],
            "brdy": birth.isoformat(),
            "age": f"{age}.0",
        },
        "insuinfo": [
            {
                "balc": fen_to_yuan(balance),
                "insutype": row["insurance_type"],
                "psn_type": row["person_category"],
                "psn_insu_stas": status,
                "cvlserv_flag": "1" if row["civil_servant"] else "0",
                "insuplc_admdvs": row["insured_region"],
            }
        ],
        "idetinfo": [{"psn_idet_type": i} for i in row["assistance_identities"]],
    }


def _emergency(node: Mapping[str, Any], medical_type: str) -> bool:
    if medical_type in _EMERGENCY_MED_TYPES or str(node.get("er_flag", "")) == "1":
        return True
    extra = node.get("exp_content")
    if isinstance(extra, str) and extra:
        try:
            extra = json.loads(extra)
        except ValueError:
            raise _refuse("exp_content", "exp_content must be a JSON string") from None
    return isinstance(extra, dict) and str(extra.get("er_flag", "")) == "1"


@dataclass(frozen=True, kw_only=True)
class Registration:
    person_id: str
    insurance_type: str
    medical_type: str
    began_at: datetime
    voucher: Voucher | None
    emergency: bool
    principal_diagnosis: str | None
    department: str | None


def registration_from_wire(infno: str, payload: Mapping[str, Any]) -> Registration:
    inpatient = infno == "2401"
    node = _node(payload, "mdtrtinfo" if inpatient else "data")
    medical_type = _text(node, "med_type", required=inpatient) or "11"
    if inpatient and not medical_type.startswith("2"):
        raise _refuse(
            "med_type", f"an admission needs an inpatient med_type (2x), got {medical_type}"
        )
    if not inpatient and medical_type.startswith("2"):
        raise _refuse("med_type", f"an outpatient registration cannot use med_type {medical_type}")
    return Registration(
        person_id=_req(node, "psn_no"),
        insurance_type=_req(node, "insutype"),
        medical_type=medical_type,
        began_at=_moment("begntime", _req(node, "begntime")),
        voucher=voucher_from_wire(node, required=False),
        emergency=_emergency(node, medical_type),
        principal_diagnosis=_text(node, "dscg_maindiag_code", required=False)
        or _text(node, "dise_codg", required=False),
        department=_text(node, "adm_dept_codg" if inpatient else "dept_code", required=False),
    )


@dataclass(frozen=True, kw_only=True)
class VisitRef:
    visit_id: str
    person_id: str


def visit_ref_from_wire(node: Mapping[str, Any]) -> VisitRef:
    return VisitRef(visit_id=_req(node, "mdtrt_id"), person_id=_req(node, "psn_no"))


def data_node(payload: Mapping[str, Any], name: str = "data") -> dict[str, Any]:
    return _node(payload, name)


def diagnoses_from_wire(payload: Mapping[str, Any]) -> tuple[VisitRef, tuple[Diagnosis, ...]]:
    info = _node(payload, "mdtrtinfo")
    rows = payload.get("diseinfo", [])
    if not isinstance(rows, list):
        raise _refuse("diseinfo", "diseinfo must be a list")
    diagnoses = tuple(
        Diagnosis(
            code=_req(r, "diag_code"),
            name=_text(r, "diag_name", required=False) or "",
            principal=str(r.get("maindiag_flag", "")) == "1"
            or str(r.get("diag_srt_no", "")) == "1",
        )
        for r in rows
        if isinstance(r, dict)
    )
    if not diagnoses and info.get("dise_codg"):
        diagnoses = (
            Diagnosis(
                code=_req(info, "dise_codg"), name=str(info.get("dise_name", "")), principal=True
            ),
        )
    return visit_ref_from_wire(info), diagnoses


def fee_lines_upload_from_wire(payload: Mapping[str, Any]) -> tuple[VisitRef, list[FeeLine]]:
    rows = payload.get("feedetail")
    if not isinstance(rows, list) or not rows:
        raise _refuse("feedetail", "feedetail must be a non-empty list of fee lines")
    lines: list[FeeLine] = []
    refs: set[tuple[str, str]] = set()
    for row in rows:
        if not isinstance(row, dict):
            raise _refuse("feedetail", "every feedetail row must be an object")
        ref = visit_ref_from_wire(row)
        refs.add((ref.visit_id, ref.person_id))
        for field in ("feedetl_sn", "det_item_fee_sumamt", "cnt", "pric"):
            _req(row, field) if field == "feedetl_sn" else _present(row, field)
        if not row.get("med_list_codg") and not row.get("medins_list_codg"):
            raise _refuse("med_list_codg", "a fee line needs med_list_codg or medins_list_codg")
        line = fee_line_from_wire({**row, "med_list_codg": row.get("med_list_codg") or ""})
        # Name the field that is negative: the HIS fixes the line by field, not by guess.
        for field, value in (
            ("det_item_fee_sumamt", line.amount),
            ("cnt", line.quantity),
            ("pric", line.unit_price),
        ):
            if value < 0:
                raise _refuse(field, f"fee line {line.fee_line_no} has a negative {field}")
        occurred = _text(row, "fee_ocur_time", required=False)
        lines.append(
            replace(line, fee_date=_moment("fee_ocur_time", occurred).date() if occurred else None)
        )
    if len(refs) != 1:
        raise _refuse("mdtrt_id", "all fee lines of one upload must belong to one visit and person")
    visit_id, person_id = refs.pop()
    return VisitRef(visit_id=visit_id, person_id=person_id), lines


def _present(row: Mapping[str, Any], field: str) -> None:
    value = row.get(field)
    if value is None or value == "" or isinstance(value, bool | list | dict):
        raise _refuse(field, f"{field} is required and must be a number")


def fee_line_split_to_wire(line: FeeLineSplit, entry: CatalogueEntry | None) -> dict[str, Any]:
    return {
        **line_to_wire(line),
        "det_item_fee_sumamt": fen_to_yuan(line.amount),
        "cnt": str(line.quantity),
        "pric": str(line.unit_price),
        "med_list_codg": line.catalogue_code,
        "chrgitm_lv": None if line.item_class is None else line.item_class.value,
        "selfpay_prop": None if entry is None else str(entry.self_pay_ratio),
        "pric_uplmt_amt": None
        if entry is None or entry.price_cap is None
        else str(entry.price_cap),
    }


def fee_cancel_from_wire(
    infno: str, payload: Mapping[str, Any]
) -> tuple[VisitRef, tuple[str, ...]]:
    node = _node(payload, "data")
    if infno == "2302":
        serial = _text(node, "feedetl_sn", required=False)
        return visit_ref_from_wire(node), () if serial in (None, "0000") else (str(serial),)
    # 2205 cancels a charge batch; "0000" or no batch number means every unsettled line.
    serials = node.get("feedetl_sns")
    if isinstance(serials, list):
        return visit_ref_from_wire(node), tuple(str(s) for s in serials)
    return visit_ref_from_wire(node), ()


@dataclass(frozen=True, kw_only=True)
class Discharge:
    ref: VisitRef
    discharged_on: date
    died: bool
    principal_diagnosis: str | None


def discharge_from_wire(payload: Mapping[str, Any]) -> Discharge:
    node = _node(payload, "dscginfo")
    return Discharge(
        ref=visit_ref_from_wire(node),
        discharged_on=_moment("endtime", _req(node, "endtime")).date(),
        died=str(node.get("dscg_way", "")) == "5" or bool(node.get("die_date")),
        principal_diagnosis=_text(node, "dise_codg", required=False),
    )


@dataclass(frozen=True, kw_only=True)
class SettleRequest:
    ref: VisitRef
    voucher: Voucher | None
    use_account: bool
    declared_total: int | None
    insurance_type: str | None


def settle_from_wire(payload: Mapping[str, Any]) -> SettleRequest:
    node = _node(payload, "data")
    flag = str(node.get("acct_used_flag", "0"))
    if flag not in ("0", "1"):
        raise _refuse("acct_used_flag", f"acct_used_flag must be 0 or 1, got {flag!r}")
    total = node.get("medfee_sumamt")
    return SettleRequest(
        ref=visit_ref_from_wire(node),
        voucher=voucher_from_wire(node, required=False),
        use_account=flag == "1",
        declared_total=None if total in (None, "") else _yuan("medfee_sumamt", total),
        insurance_type=_text(node, "insutype", required=False),
    )


def settlement_cancel_from_wire(payload: Mapping[str, Any]) -> tuple[VisitRef, str]:
    node = _node(payload, "data")
    return visit_ref_from_wire(node), _req(node, "setl_id")


def reversal_from_wire(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    node = _node(payload, "data")
    return _req(node, "psn_no"), _req(node, "omsgid"), _req(node, "oinfno")


def item_mapping_from_wire(payload: Mapping[str, Any]) -> tuple[str, str, str | None]:
    node = _node(payload, "data")
    return (
        _req(node, "fixmedins_hilist_id"),
        _req(node, "med_list_codg"),
        _text(node, "list_type", required=False),
    )


def settlement_out(
    *,
    result: SettlementComputation,
    visit: Mapping[str, Any],
    person: Mapping[str, Any],
    settlement_id: str | None,
    settled_at: datetime | None,
    message_id: str | None,
    voucher_type: str | None,
    clearing_agency: str | None,
    clearing_category: str | None,
) -> dict[str, Any]:
    """The 2206/2207/2303/2304 output: setlinfo (identity + money) and setldetail."""
    info: dict[str, Any] = {
        "mdtrt_id": visit["visit_id"],
        "setl_id": settlement_id,
        "psn_no": person["person_id"],
        "psn_name": person["name"],
        "psn_cert_type": person["certificate_type"],
        "certno": person["certificate_no"],
        "gend": person["gender"],
        "brdy": person["birth_date"].isoformat(),
        "insutype": visit["insurance_type"],
        "psn_type": person["person_category"],
        "cvlserv_flag": "1" if person["civil_servant"] else "0",
        "setl_time": None
        if settled_at is None
        else f"{settled_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
        "mdtrt_cert_type": voucher_type,
        "med_type": visit["medical_type"],
        **setlinfo(result),
        "balc": None
        if result.account_balance_after is None
        else fen_to_yuan(result.account_balance_after),
        "medins_setl_id": message_id,
        "clr_optins": clearing_agency,
        "clr_way": None if clearing_agency is None else "1",
        "clr_type": clearing_category,
    }
    return {"setlinfo": info, "setldetail": setldetail(result)}


def settlement_record_to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored settlement (5203 query, 2208/2305 negative record)."""
    totals = row["totals"]
    names = {
        "medfee_sumamt": "total_fee",
        "fulamt_ownpay_amt": "fully_self_paid",
        "overlmt_selfpay": "over_limit",
        "preselfpay_amt": "pre_self_paid",
        "inscp_scp_amt": "in_policy",
        "act_pay_dedc": "deductible_applied",
        "hifp_pay": "basic_fund",
        "hifob_pay": "large_amount_fund",
        "hifmi_pay": "critical_illness_fund",
        "cvlserv_pay": "civil_servant_subsidy",
        "maf_pay": "medical_assistance",
        "fund_pay_sumamt": "fund_total",
        "acct_pay": "account_paid",
        "psn_cash_pay": "cash_paid",
        "psn_part_amt": "personal_total",
        "hosp_part_amt": "hospital_borne",
    }
    balance = row["account_balance_after"]
    return {
        "setlinfo": {
            "setl_id": row["settlement_id"],
            "mdtrt_id": row["visit_id"],
            "psn_no": row["person_id"],
            "insutype": row["insurance_type"],
            "med_type": row["medical_type"],
            "setl_time": f"{row['settled_at'].astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
            **{wire: fen_to_yuan(int(totals[domain])) for wire, domain in names.items()},
            "balc": None if balance is None else fen_to_yuan(balance),
            "medins_setl_id": row["message_id"],
            "clr_optins": row["clearing_agency"],
            "clr_way": "1",
            "clr_type": row["clearing_category"],
            "refd_setl_flag": "1" if row["is_refund"] else "0",
            "pay_loc": "3" if row["insured_region"][:2] == row["visit_region"][:2] else "4",
            "init_setl_id": row["original_settlement_id"],
        },
        "setldetail": [
            {"fund_pay_type": p["fund_code"], "fund_payamt": fen_to_yuan(int(p["amount"]))}
            for p in row["fund_payments"]
        ],
    }


def local_time(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"
