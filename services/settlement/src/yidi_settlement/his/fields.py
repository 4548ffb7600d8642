"""The one map from national HIS field names to domain names (docs/glossary.md).

Inputs and outputs are mapped through it, and a refusal raised in domain names is told to the
hospital in national names through its inverse, so a HIS sees the names of its own interface.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from yidi_events.kernel import DomainError

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
    # fee lines and the catalogue
    "feedetl_sn": "fee_line_no",
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
}

# Where two national names mean one domain name, the one a refusal is told in.
_PREFERRED = ("msgid", "balc", "medins_list_codg", "overlmt_selfpay", "det_item_fee_sumamt")

NATIONAL_OF: Mapping[str, str] = {
    **{domain: national for national, domain in DOMAIN_OF.items()},
    **{DOMAIN_OF[national]: national for national in _PREFERRED},
}

# A transaction whose own input names a domain field differently from the default.
_NATIONAL_IN: Mapping[str, Mapping[str, str]] = {
    "3301": {"hospital_item_code": "fixmedins_hilist_id"},
    "3302": {"hospital_item_code": "fixmedins_hilist_id"},
}

# Only names with an underscore are rewritten inside a message: a plain word such as "amount"
# or "name" is English there as often as it is a field.
_IN_MESSAGES = re.compile(
    r"\b(" + "|".join(sorted((d for d in NATIONAL_OF if "_" in d), key=len, reverse=True)) + r")\b"
)


def national(domain_field: str, infno: str | None = None) -> str:
    """The national name of a domain field (a name that is not one passes unchanged)."""
    if infno is not None and domain_field in _NATIONAL_IN.get(infno, {}):
        return _NATIONAL_IN[infno][domain_field]
    return NATIONAL_OF.get(domain_field, domain_field)


def error_text(exc: DomainError, infno: str | None = None, *, translate: bool = True) -> str:
    """A refusal as err_msg: `field: message (rule r)`, every domain field name told nationally."""
    message, field = exc.message, exc.field
    if translate:
        message = _IN_MESSAGES.sub(lambda m: national(m.group(1), infno), message)
        field = None if field is None else national(field, infno)
    where = f"{field}: " if field else ""
    return f"{where}{message} (rule {exc.rule})"
