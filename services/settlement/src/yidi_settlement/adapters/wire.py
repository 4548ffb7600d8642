"""The HIS edge: national field names <-> the settlement domain, mapped once, here only.

Amounts leave as yuan strings with two decimals, as the national interface speaks them. The HIS
gateway and the vectors CLI both use these functions, so the shape a hospital sees is the shape the
shared test vectors check.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from yidi_events.contracts.settlement import FeeLineSplit, ItemClass
from yidi_events.kernel import DomainError, fen_to_yuan, parse_ratio, yuan_to_fen
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
