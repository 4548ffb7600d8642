"""The one map from national HIS field names to domain names (docs/glossary.md).

Inputs and outputs are mapped through it, and a refusal raised in domain names is told to the
hospital in national names through its inverse, so a HIS sees the names of its own interface, with
the rule's Chinese sentence (his/messages.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from yidi_events.kernel import DomainError
from yidi_events.kernel.errors import Value
from yidi_settlement.his.messages import sentence

DOMAIN_OF: Mapping[str, str] = {
    # the envelope
    "msgid": "message_id",
    "omsgid": "original_message_id",
    "oinfno": "original_transaction",
    "fixmedins_code": "institution_code",
    "fixmedins_name": "institution_name",
    "mdtrtarea_admvs": "visit_region",
    "insuplc_admdvs": "insured_region",
    "admdvs": "region",
    "hosp_lv": "hospital_level",
    # the person
    "psn_no": "person_id",
    "psn_name": "name",
    "psn_cert_type": "certificate_type",
    "certno": "certificate_no",
    "gend": "gender",
    "brdy": "birth_date",
    "insutype": "insurance_type",
    "psn_type": "person_category",
    "psn_insu_stas": "enrolment_status",
    "cvlserv_flag": "civil_servant",
    "balc": "account_balance",
    "acct_balance": "account_balance",
    "card_sn": "card_serial",
    "mdtrt_cert_type": "voucher_type",
    "mdtrt_cert_no": "voucher_no",
    # the visit
    "mdtrt_id": "visit_id",
    "med_type": "medical_type",
    "begntime": "began_at",
    "endtime": "discharged_on",
    "dise_codg": "principal_diagnosis",
    "acct_used_flag": "use_account",
    "mid_setl_flag": "interim",
    "dept_code": "department",  # 2201; an admission's is adm_dept_codg (_NATIONAL_IN)
    # fee lines and the catalogue
    "feedetl_sn": "fee_line_no",
    "init_feedetl_sn": "returned_line",
    "chrg_bchno": "charge_batch",
    "med_list_codg": "catalogue_code",
    "medins_list_codg": "hospital_item_code",
    "fixmedins_hilist_id": "hospital_item_code",
    "det_item_fee_sumamt": "amount",
    "cnt": "quantity",
    "pric": "unit_price",
    "med_chrgitm_type": "charge_category",
    "fee_ocur_time": "fee_date",
    "chrgitm_lv": "item_class",
    "selfpay_prop": "self_pay_ratio",
    "pric_uplmt_amt": "price_cap",
    # a settlement's money (setlinfo), in fen in the domain
    "medfee_sumamt": "total_fee",
    "fulamt_ownpay_amt": "fully_self_paid",
    "overlmt_selfpay": "over_limit",
    "overlmt_amt": "over_limit",
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
    "fund_pay_type": "fund_code",
    "fund_payamt": "amount",
    # a settlement's identity
    "setl_id": "settlement_id",
    "init_setl_id": "original_settlement_id",
    "clr_optins": "clearing_agency",
    "clr_type": "clearing_category",
    "refd_setl_flag": "is_refund",
    "medins_setl_id": "message_id",
    "trt_dcla_detl_sn": "filing_id",
    # referral filing (2501/2502, filing)
    "insu_optins": "insured_region",
    "mdtrtarea_admdvs": "visit_region",
    "reflin_medins_no": "destination_institution",
    "diag_code": "diagnosis",
    "begndate": "valid_from",
    "enddate": "valid_to",
    # pre- and in-event analysis (3101/3102, audit)
    "patn_id": "person_id",
    "medins_id": "institution_code",
    "medins_admdvs": "visit_region",
    "poolarea": "insured_region",
    "adm_date": "admitted_on",
    "dscg_date": "discharged_on",
    "dscg_main_dise_codg": "principal_diagnosis",
    "hilist_code": "catalogue_code",
    "chrg_type": "charge_category",
    "drord_begn_date": "fee_date",
    "sumamt": "amount",
    "rx_id": "fee_line_no",
    "hifp_payamt": "fund_total",
    "jr_id": "flag_id",
    "vola_cont": "detail",
    "vola_amt": "amount_at_issue",
    "sev_deg": "severity",
    "vola_evid": "evidence",
    # hospital reconciliation (3201/3202, 9101/9102, reconciliation)
    "setl_optins": "clearing_agency",
    "stmt_begndate": "start_date",
    "stmt_enddate": "end_date",
    "fixmedins_setl_cnt": "count",
    "stmt_rslt": "balanced",
    "stmt_rslt_dscr": "description",
    "file_qury_no": "file_query_no",
    "dld_endtime": "download_until",
    # hospital clearing applications (3203/3204/3205A, clearing)
    "clr_appy_evt_id": "clearing_application_id",
    "setlym": "month",
    "clr_ym": "month",
    "psntime": "count",
    "fund_appy_sum": "fund_total",
    "cash_payamt": "cash_paid",
    "clr_stas": "status",
    "vali_flag": "valid",
    "opt_time": "changed_on",
    "opter_id": "changed_by",
    # chronic and special disease certificates (2503/2504, owned by filing)
    "opsp_dise_code": "disease_code",
    "opsp_dise_name": "disease_name",
    "ide_fixmedins_no": "evidence_institution",
    "ide_fixmedins_name": "evidence_institution_name",
    "hosp_ide_date": "evidence_date",
    "diag_dr_codg": "diagnosing_doctor",
}

# Where two national names mean one domain name, the one a refusal is told in: the first listed
# unless preferred here, or named by the transaction itself (_NATIONAL_IN).
_PREFERRED = ("msgid", "balc", "medins_list_codg", "overlmt_selfpay", "det_item_fee_sumamt")

NATIONAL_OF: Mapping[str, str] = {
    **{domain: national for national, domain in reversed(list(DOMAIN_OF.items()))},
    **{DOMAIN_OF[national]: national for national in _PREFERRED},
}

# A transaction whose own input names a domain field differently from the default.
_CLEARING_CLAIM = {"fund_total": "fund_appy_sum", "count": "psntime", "month": "setlym"}
_HOSPITAL_TOTALS = {"count": "fixmedins_setl_cnt", "clearing_agency": "setl_optins"}
_REFERRAL = {"insured_region": "insu_optins", "visit_region": "mdtrtarea_admdvs"}
_ANALYSIS = {"person_id": "patn_id"}
_NATIONAL_IN: Mapping[str, Mapping[str, str]] = {
    "2501": _REFERRAL,
    "3101": _ANALYSIS,
    "3102": _ANALYSIS,
    "3201": _HOSPITAL_TOTALS,
    "3202": {**_HOSPITAL_TOTALS, "rows": "detail"},
    "9101": {"content": "in"},
    "3203": _CLEARING_CLAIM,
    "3301": {"hospital_item_code": "fixmedins_hilist_id"},
    "2503": {"insured_region": "insu_optins"},
    # a visit's disease (病种编码) is its dise_codg (2201, 2203 mdtrtinfo): refusals name it so
    **{infno: {"disease_code": "dise_codg"} for infno in ("2201", "2203", "2206", "2207")},
    "2504": {"certificate_id": "trt_dcla_detl_sn"},
    "3302": {"hospital_item_code": "fixmedins_hilist_id"},
    # an admission's department (2401, 2403), told again when its stay settles (2304)
    **{infno: {"department": "adm_dept_codg"} for infno in ("2401", "2403", "2304")},
}


def national(domain_field: str, infno: str | None = None) -> str:
    """The national name of a domain field (a name that is not one passes unchanged)."""
    if infno is not None and domain_field in _NATIONAL_IN.get(infno, {}):
        return _NATIONAL_IN[infno][domain_field]
    return NATIONAL_OF.get(domain_field, domain_field)


ERR_MSG_LIMIT = 200  # the envelope's err_msg is at most 200 characters


def error_text(exc: DomainError, infno: str | None = None) -> str:
    """A refusal as err_msg: `field：中文说明（rule）`, the field named nationally; the sentence is
    the rule's (his/messages.py), never the domain's English message."""
    field = None if exc.field is None else national(exc.field, infno)
    return refusal_text(exc.rule, field, exc.values)


def refusal_text(rule: str, field: str | None, values: Mapping[str, Value] | None = None) -> str:
    where = f"{field}：" if field else ""
    tail = f"（{rule}）"
    said = sentence(rule, values)
    room = ERR_MSG_LIMIT - len(where) - len(tail)
    if len(said) > room:  # the rule is what an operator looks up: cut the sentence, not it
        said = said[: max(room - 1, 0)] + "…"
    return f"{where}{said}{tail}"[:ERR_MSG_LIMIT]
