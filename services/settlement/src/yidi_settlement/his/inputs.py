"""Each transaction's input node -> the domain command it carries (his-interface.md section 2).

A malformed input is refused here, naming the national field and a his.* rule (his.required,
his.type, his.amount, ...) with the value received, before any handler runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_benefits.model import PHARMACY_PURCHASE, FeeLine, is_inpatient
from yidi_events.kernel import DomainError, yuan_to_fen
from yidi_settlement.app.commands import (
    AdmissionUpdate,
    Discharge,
    Purchase,
    Registration,
    Reversal,
    Reverses,
    SettleRequest,
    VisitRef,
)
from yidi_settlement.domain.eligibility import Voucher
from yidi_settlement.domain.events import Diagnosis
from yidi_settlement.domain.visit import AdmissionChange
from yidi_settlement.his.envelope import (
    ABSENT,
    REQUIRED,
    TYPE,
    HisEnvelope,
    moment,
    node,
    quoted,
    refuse,
    required,
    text,
)
from yidi_settlement.his.limits import parse_json

_EMERGENCY_MED_TYPES = {"13", "24"}  # 急诊, 急诊转住院

# What a reversal (2601) of each original transaction undoes; any other is not reversible.
REVERSIBLE = {
    "2207": Reverses.SETTLEMENT,
    "2304": Reverses.SETTLEMENT,
    # Vendors reverse cancellations too (his-interface.md section 0): the settlement stands again.
    "2208": Reverses.CANCELLATION,
    "2305": Reverses.CANCELLATION,
    "2201": Reverses.REGISTRATION,
    "2401": Reverses.REGISTRATION,
    **{infno: Reverses.NOTHING for infno in ("1101", "2206", "2303", "5203", "9001", "9002")},
    # retail pharmacies: a purchase settled (2102), its cancellation (2103), a pre-settlement
    "2102": Reverses.SETTLEMENT,
    "2103": Reverses.CANCELLATION,
    "2101": Reverses.NOTHING,
}


def yuan(field: str, value: Any) -> int:
    try:
        return yuan_to_fen(value)
    except ValueError as exc:
        raise refuse(
            field,
            f"{field} must be a yuan amount, got {value!r}",
            "his.amount",
            value=quoted(value),
        ) from exc


# The spec types cnt 数值型(16,4) and pric 数值型(16,6): at most 10 digits before the point, and
# 4 or 6 after. Bounding both keeps every product exact and small (no 1e-999999999 quantity that
# makes any amount look cheap, no exponent that makes Decimal arithmetic explode).
MAX_INTEGER_DIGITS = 10
PLACES = {"cnt": 4, "pric": 6}


def number(field: str, value: Any) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise refuse(
            field, f"{field} must be a number, got {value!r}", "his.number", value=quoted(value)
        ) from exc
    if not result.is_finite():
        raise refuse(field, f"{field} must be a finite number", "his.number", value=quoted(value))
    if not result:
        return Decimal(0)  # 0E-999999999 is a zero, whatever its exponent says
    places = PLACES.get(field, 6)
    # Read off the representation: nothing is computed with a value that may be 1e-999999999
    # until it is known to be in range (trailing zeros, as 1.50000000 from C#, are not places).
    _, digits, exponent = result.as_tuple()
    assert isinstance(exponent, int)  # finite
    shown = "".join(map(str, digits))
    scale = exponent + len(shown) - len(shown.rstrip("0"))
    if result.adjusted() >= MAX_INTEGER_DIGITS or scale < -places:
        raise refuse(
            field,
            f"{field} must have at most {MAX_INTEGER_DIGITS} digits before the point and "
            f"{places} after it",
            "his.number_range",
            value=quoted(value),
            digits=MAX_INTEGER_DIGITS,
            places=places,
        )
    return result


def fee_line(row: Mapping[str, Any]) -> FeeLine:
    """One 2204/2301 fee line (feedetl_sn, med_list_codg, cnt, pric, det_item_fee_sumamt...)."""
    return FeeLine(
        fee_line_no=str(row["feedetl_sn"]),
        catalogue_code=str(row["med_list_codg"]),
        quantity=number("cnt", row["cnt"]),
        unit_price=number("pric", row["pric"]),
        amount=yuan("det_item_fee_sumamt", row["det_item_fee_sumamt"]),
        charge_category=row.get("med_chrgitm_type"),
        hospital_item_code=row.get("medins_list_codg"),
        charge_batch=text(row, "chrg_bchno", required=False),
        returned_line=text(row, "init_feedetl_sn", required=False),
    )


def voucher(data: Mapping[str, Any], *, needed: bool = True) -> Voucher | None:
    kind = text(data, "mdtrt_cert_type", required=needed)
    if kind is None:
        return None
    if kind not in ("01", "02", "03"):
        raise refuse(
            "mdtrt_cert_type",
            f"mdtrt_cert_type must be 01, 02 or 03, got {kind!r}",
            "his.code",
            value=quoted(kind),
            allowed="01, 02, 03",
        )
    card = text(data, "card_sn", required=False)
    if kind == "03" and card is None:
        raise refuse(
            "card_sn", "card_sn is required with a social-security card (03)", "his.card_sn"
        )
    return Voucher(voucher_type=kind, voucher_no=required(data, "mdtrt_cert_no"), card_serial=card)


def _presented(data: Mapping[str, Any]) -> Voucher | None:
    """A settlement's voucher as presented, for the answer only: the visit is bound to its person
    since registration, and clients fill these fields unevenly (a type-03 card without card_sn,
    the type code copied into the number), so nothing here refuses a settlement."""
    kind, number = data.get("mdtrt_cert_type"), data.get("mdtrt_cert_no")
    if kind not in ("01", "02", "03") or not isinstance(number, str) or not number:
        return None
    card = data.get("card_sn")
    return Voucher(
        voucher_type=str(kind),
        voucher_no=number,
        card_serial=card if isinstance(card, str) and card not in ABSENT else None,
    )


def benefit_check(payload: Mapping[str, Any]) -> tuple[str, date]:
    """2001 input: the person, and the day the visit would begin."""
    data = node(payload)
    return required(data, "psn_no"), moment("begntime", required(data, "begntime")).date()


def person_query(payload: Mapping[str, Any]) -> Voucher:
    presented = voucher(node(payload))
    assert presented is not None
    return presented


def _emergency(data: Mapping[str, Any], medical_type: str) -> bool:
    if medical_type in _EMERGENCY_MED_TYPES or str(data.get("er_flag", "")) == "1":
        return True
    extra = data.get("exp_content")
    if isinstance(extra, str) and extra:
        try:
            # a JSON string inside the envelope: the same depth and number limits as the body
            extra = parse_json(extra, "exp_content")
        except ValueError:
            raise refuse("exp_content", "exp_content must be a JSON string", "his.json") from None
    return isinstance(extra, dict) and str(extra.get("er_flag", "")) == "1"


def registration(envelope: HisEnvelope) -> Registration:
    inpatient = envelope.infno == "2401"
    data = node(envelope.input, "mdtrtinfo" if inpatient else "data")
    medical_type = text(data, "med_type", required=inpatient) or "11"
    if inpatient and not is_inpatient(medical_type):
        raise refuse(
            "med_type",
            f"an admission needs an inpatient med_type (2x, 52 or 92), got {medical_type}",
            "his.med_type_inpatient",
            value=quoted(medical_type),
        )
    if not inpatient and is_inpatient(medical_type):
        raise refuse(
            "med_type",
            f"an outpatient registration cannot use med_type {medical_type}",
            "his.med_type_outpatient",
            value=quoted(medical_type),
        )
    return Registration(
        person_id=required(data, "psn_no"),
        insurance_type=required(data, "insutype"),
        medical_type=medical_type,
        began_at=moment("begntime", required(data, "begntime")),
        # The visit is bound to its person here: the voucher is what proves the person is at the
        # counter (reference section 0), so it is required and verified against psn_no's person.
        voucher=voucher(data),
        emergency=_emergency(data, medical_type),
        principal_diagnosis=text(data, "dscg_maindiag_code", required=False)
        or text(data, "dise_codg", required=False),
        department=text(data, "adm_dept_codg" if inpatient else "dept_code", required=False),
        visit_region=envelope.visit_region,
        insured_region=envelope.insured_region,
        disease_code=None if inpatient else text(data, "dise_codg", required=False),
    )


def visit_ref(data: Mapping[str, Any]) -> VisitRef:
    return VisitRef(visit_id=required(data, "mdtrt_id"), person_id=required(data, "psn_no"))


def diagnoses(payload: Mapping[str, Any]) -> tuple[VisitRef, tuple[Diagnosis, ...]]:
    info = node(payload, "mdtrtinfo")
    rows = payload.get("diseinfo", [])
    if not isinstance(rows, list):
        raise refuse("diseinfo", "diseinfo must be a list", TYPE, expected="list")
    found = tuple(
        Diagnosis(
            code=required(r, "diag_code"),
            name=text(r, "diag_name", required=False) or "",
            principal=str(r.get("maindiag_flag", "")) == "1"
            or str(r.get("diag_srt_no", "")) == "1",
        )
        for r in rows
        if isinstance(r, dict)
    )
    if not found and info.get("dise_codg"):
        found = (
            Diagnosis(
                code=required(info, "dise_codg"),
                name=str(info.get("dise_name", "")),
                principal=True,
            ),
        )
    return visit_ref(info), found


def disease_code(payload: Mapping[str, Any]) -> str | None:
    """2203 mdtrtinfo.dise_codg: the visit's disease-catalogue code (a chronic visit's 门诊慢特病
    病种目录代码), apart from the diagnoses."""
    return text(node(payload, "mdtrtinfo"), "dise_codg", required=False)


def fee_lines_upload(payload: Mapping[str, Any]) -> tuple[VisitRef, list[FeeLine]]:
    rows = payload.get("feedetail")
    if not isinstance(rows, list) or not rows:
        raise refuse(
            "feedetail", "feedetail must be a non-empty list of fee lines", "his.fee_lines"
        )
    lines: list[FeeLine] = []
    refs: set[tuple[str, str]] = set()
    for row in rows:
        if not isinstance(row, dict):
            raise refuse(
                "feedetail", "every feedetail row must be an object", TYPE, expected="object"
            )
        ref = visit_ref(row)
        refs.add((ref.visit_id, ref.person_id))
        required(row, "feedetl_sn")
        for field in ("det_item_fee_sumamt", "cnt", "pric"):
            _present(row, field)
        if not row.get("med_list_codg") and not row.get("medins_list_codg"):
            raise refuse(
                "med_list_codg",
                "a fee line needs med_list_codg or medins_list_codg",
                "his.item_code",
            )
        line = fee_line({**row, "med_list_codg": row.get("med_list_codg") or ""})
        # A return (退单) is negative in cnt and det_item_fee_sumamt (the domain checks it
        # against the line it names); a price is never negative.
        if line.unit_price < 0:
            raise refuse(
                "pric",
                f"fee line {line.fee_line_no} has a negative pric",
                "his.negative",
                line=line.fee_line_no,
            )
        occurred = text(row, "fee_ocur_time", required=False)
        lines.append(
            replace(line, fee_date=moment("fee_ocur_time", occurred).date() if occurred else None)
        )
    if len(refs) != 1:
        raise refuse(
            "mdtrt_id",
            "all fee lines of one upload must belong to one visit and person",
            "his.one_visit",
        )
    visit_id, person_id = refs.pop()
    return VisitRef(visit_id=visit_id, person_id=person_id), lines


def _present(row: Mapping[str, Any], field: str) -> None:
    value = row.get(field)
    if value in ABSENT:
        raise refuse(field, f"{field} is required and must be a number", REQUIRED)
    if isinstance(value, bool | list | dict):
        raise refuse(field, f"{field} must be a number", TYPE, expected="number")


def fee_cancel(envelope: HisEnvelope) -> tuple[VisitRef, tuple[str, ...], str | None]:
    """2302 names a line (feedetl_sn), 2205 a charge batch (chrg_bchno); "0000" is every
    unsettled line of the visit."""
    data = node(envelope.input)
    if envelope.infno == "2302":
        serial = text(data, "feedetl_sn", required=False)
        return visit_ref(data), () if serial in (None, "0000") else (str(serial),), None
    return visit_ref(data), (), required(data, "chrg_bchno")


def _diagnosis_rows(payload: Mapping[str, Any]) -> tuple[Diagnosis, ...]:
    rows = payload.get("diseinfo", [])
    if rows in ABSENT:
        rows = []
    if not isinstance(rows, list):
        raise refuse("diseinfo", "diseinfo must be a list", TYPE, expected="list")
    return tuple(
        Diagnosis(
            code=required(r, "diag_code"),
            name=text(r, "diag_name", required=False) or "",
            principal=str(r.get("maindiag_flag", "")) == "1",
        )
        for r in rows
        if isinstance(r, dict)
    )


def admission_change(payload: Mapping[str, Any]) -> AdmissionUpdate:
    """2403: adminfo (the admission as it now stands) and diseinfo (diagnoses to add or
    replace)."""
    data = node(payload, "adminfo")
    return AdmissionUpdate(
        ref=visit_ref(data),
        change=AdmissionChange(
            began_at=moment("begntime", required(data, "begntime")),
            medical_type=required(data, "med_type"),
            department=text(data, "adm_dept_codg", required=False),
            principal_diagnosis=text(data, "dscg_maindiag_code", required=False),
            diagnoses=_diagnosis_rows(payload),
        ),
    )


def discharge(payload: Mapping[str, Any]) -> Discharge:
    data = node(payload, "dscginfo")
    return Discharge(
        ref=visit_ref(data),
        discharged_on=moment("endtime", required(data, "endtime")).date(),
        died=str(data.get("dscg_way", "")) == "5" or bool(data.get("die_date")),
        principal_diagnosis=text(data, "dise_codg", required=False),
    )


def _account_used(data: Mapping[str, Any]) -> bool:
    flag = str(data.get("acct_used_flag", "0"))
    if flag not in ("0", "1"):
        raise refuse(
            "acct_used_flag",
            f"acct_used_flag must be 0 or 1, got {flag!r}",
            "his.code",
            value=quoted(flag),
            allowed="0, 1",
        )
    return flag == "1"


def settle(payload: Mapping[str, Any]) -> SettleRequest:
    data = node(payload)
    use_account = _account_used(data)
    total = data.get("medfee_sumamt")
    interim = text(data, "mid_setl_flag", required=False) or "0"
    if interim not in ("0", "1"):
        raise refuse(
            "mid_setl_flag",
            f"mid_setl_flag must be 0 or 1, got {interim!r}",
            "his.code",
            value=quoted(interim),
            allowed="0, 1",
        )
    return SettleRequest(
        ref=visit_ref(data),
        voucher=_presented(data),
        use_account=use_account,
        declared_total=None if total in ABSENT else yuan("medfee_sumamt", total),
        insurance_type=text(data, "insutype", required=False),
        interim=interim == "1",
    )


def settlement_cancel(payload: Mapping[str, Any]) -> tuple[VisitRef, str]:
    data = node(payload)
    return visit_ref(data), required(data, "setl_id")


def settlement_query(payload: Mapping[str, Any]) -> str:
    settlement_id = node(payload).get("setl_id")
    if not isinstance(settlement_id, str) or not settlement_id:
        raise refuse("setl_id", "setl_id is required", REQUIRED)
    return settlement_id


def reversal(payload: Mapping[str, Any]) -> Reversal:
    data = node(payload)
    person_id, original, original_infno = (
        required(data, "psn_no"),
        required(data, "omsgid"),
        required(data, "oinfno"),
    )
    reverses = REVERSIBLE.get(original_infno)
    if reverses is None:
        raise DomainError(
            "reversal.not_reversible",
            f"infno {original_infno} cannot be reversed by 2601; use its own cancel transaction",
            field="oinfno",
            values={"infno": original_infno},
        )
    return Reversal(
        person_id=person_id,
        original_message_id=original,
        original_transaction=original_infno,
        reverses=reverses,
    )


def item_mapping(payload: Mapping[str, Any]) -> tuple[str, str, str | None]:
    data = node(payload)
    return (
        required(data, "fixmedins_hilist_id"),
        required(data, "med_list_codg"),
        text(data, "list_type", required=False),
    )


# --- retail pharmacies (2101/2102) ---------------------------------------------------------------

# Each drug line's fields the spec marks 必填 (表 60/65), beside the amounts checked as numbers.
_DRUG_LINE_REQUIRED = ("feedetl_sn", "rx_circ_flag", "fee_ocur_time", "med_list_codg")


def purchase(envelope: HisEnvelope) -> Purchase:
    """2101/2102 input: druginfo (the person at the counter, the voucher, the account use, the
    total) and its drugdetail rows, one purchase of med type 41."""
    payload = envelope.input
    data = node(payload, "druginfo")
    medical_type = required(data, "med_type")
    if medical_type != PHARMACY_PURCHASE:
        raise refuse(
            "med_type",
            f"a retail pharmacy purchase settles as med_type 41, got {medical_type}",
            "his.med_type_pharmacy",
            value=quoted(medical_type),
        )
    _present(data, "medfee_sumamt")
    required(data, "acct_used_flag")  # 必填 here, unlike a hospital's settlement
    rows = payload.get("drugdetail")
    if not isinstance(rows, list) or not rows:
        raise refuse(
            "drugdetail", "drugdetail must be a non-empty list of drug lines", "his.fee_lines"
        )
    lines: list[FeeLine] = []
    for row in rows:
        if not isinstance(row, dict):
            raise refuse(
                "drugdetail", "every drugdetail row must be an object", TYPE, expected="object"
            )
        for field in _DRUG_LINE_REQUIRED:
            required(row, field)
        for field in ("det_item_fee_sumamt", "cnt", "pric"):
            _present(row, field)
        required(row, "medins_list_codg")
        line = fee_line({**row, "med_chrgitm_type": None})
        if line.unit_price < 0:
            raise refuse(
                "pric",
                f"drug line {line.fee_line_no} has a negative pric",
                "his.negative",
                line=line.fee_line_no,
            )
        occurred = moment("fee_ocur_time", required(row, "fee_ocur_time"))
        lines.append(replace(line, fee_date=occurred.date()))
    return Purchase(
        registration=Registration(
            person_id=required(data, "psn_no"),
            insurance_type=required(data, "insutype"),
            medical_type=medical_type,
            began_at=moment("begntime", required(data, "begntime")),
            # The person is at the counter: the voucher proves it, as at a registration.
            voucher=voucher(data),
            emergency=False,
            principal_diagnosis=text(data, "dise_codg", required=False),
            department=None,
            visit_region=envelope.visit_region,
            insured_region=envelope.insured_region,
        ),
        lines=tuple(lines),
        use_account=_account_used(data),
        declared_total=yuan("medfee_sumamt", data["medfee_sumamt"]),
    )
