"""Domain answers -> each transaction's output node, with every field the spec marks 非空.
Amounts are built here as exact yuan strings (two decimals, from fen); his/typed.py sends them
as the JSON numbers the spec types them. A fund or figure the platform does not have answers
the spec's neutral value (0.00, flag 0), never an invented figure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from yidi_benefits.engine import SettlementComputation
from yidi_benefits.model import CatalogueEntry
from yidi_events.contracts.policy import InsuranceType
from yidi_events.contracts.settlement import FeeLineSplit, FundCode
from yidi_events.kernel import business_date, fen_to_yuan
from yidi_settlement.app.commands import Settlement
from yidi_settlement.app.visits import BenefitCheck
from yidi_settlement.his.envelope import local_time
from yidi_settlement.his.fields import DOMAIN_OF, error_text

# The money fields of setlinfo, in the order the interface lists them; each is the settlement
# total of the same name in the domain (fields.DOMAIN_OF).
SETLINFO_MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "hifmi_pay",
    "cvlserv_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "psn_part_amt",
    "hosp_part_amt",
)
# 非空 setlinfo funds this platform never pays (enterprise supplementary, other, family mutual
# aid from the account, disabled servicemen): zero, as the spec requires them present.
UNPAID_FUNDS = ("hifes_pay", "oth_pay", "acct_mulaid_pay", "hifdm_pay")
_LINE_MONEY = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
# A line without a price cap: real platforms send a large number, not null (reference section 0).
NO_PRICE_CAP = "999999"
OTHER_CHARGE = "14"  # med_chrgitm_type 其他费, for a line the HIS sent without its category
SELF_PAID_CLASS = "03"  # chrgitm_lv 自费: a line not in the catalogue is paid by the person
NOT_RESTRICTED = "0"  # lmt_used_flag 否: the catalogue holds no restricted-use marks
ZERO = "0.00"


def pool_ratio(totals: Mapping[str, int]) -> str:
    """pool_prop_selfpay (统筹基金支付比例): what the basic fund paid of the in-policy amount
    above the deductible, to four places; 0 where nothing was above it."""
    base = totals["in_policy"] - totals["deductible_applied"]
    if base <= 0:
        return "0.0000"
    ratio = Decimal(totals["basic_fund"]) / Decimal(base)
    return str(ratio.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def setlinfo(result: SettlementComputation) -> dict[str, str]:
    """The money fields of the 2207/2304 `setlinfo` block (as the shared vectors hold them)."""
    return {n: fen_to_yuan(getattr(result.totals, DOMAIN_OF[n])) for n in SETLINFO_MONEY}


def money_complement(totals: Mapping[str, int], balance_after: int | None) -> dict[str, str]:
    """The 非空 `setlinfo` money beyond the domain totals: the pooled ratio, the funds never
    paid here, and `balc` (0.00 for a person without an account)."""
    return {
        "pool_prop_selfpay": pool_ratio(totals),
        **dict.fromkeys(UNPAID_FUNDS, ZERO),
        "balc": fen_to_yuan(balance_after or 0),
    }


def setldetail(result: SettlementComputation) -> list[dict[str, str]]:
    return [
        {"fund_pay_type": p.fund_code.value, "fund_payamt": fen_to_yuan(p.amount)}
        for p in result.fund_payments
    ]


def detail_rows(rows: list[dict[str, str]], in_policy: int) -> list[dict[str, str]]:
    """`setldetail` rows with their 非空 bases: each fund paid from the settlement's in-policy
    amount; the platform keeps no per-fund payable limit (crt_payb_lmt_amt), so 0.00."""
    base = fen_to_yuan(in_policy)
    return [{**row, "inscp_scp_amt": base, "crt_payb_lmt_amt": ZERO} for row in rows]


def line(split: FeeLineSplit) -> dict[str, str]:
    """One 2204/2301 output row: how the line was split."""
    return {
        "feedetl_sn": split.fee_line_no,
        **{n: fen_to_yuan(getattr(split, DOMAIN_OF[n])) for n in _LINE_MONEY},
    }


def fee_line_split(split: FeeLineSplit, entry: CatalogueEntry | None) -> dict[str, Any]:
    return {
        **line(split),
        "det_item_fee_sumamt": fen_to_yuan(split.amount),
        "cnt": str(split.quantity),
        "pric": str(split.unit_price),
        "med_list_codg": split.catalogue_code,
        "chrgitm_lv": SELF_PAID_CLASS if split.item_class is None else split.item_class.value,
        "med_chrgitm_type": split.charge_category or OTHER_CHARGE,
        "lmt_used_flag": NOT_RESTRICTED,
        # a line outside the catalogue is the person's whole
        "selfpay_prop": "1" if entry is None else str(entry.self_pay_ratio),
        "pric_uplmt_amt": NO_PRICE_CAP
        if entry is None or entry.price_cap is None
        else str(entry.price_cap),
    }


def person(row: Mapping[str, Any], balance: int, on: date) -> dict[str, Any]:
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


def settlement(
    done: Settlement,
    *,
    settled_at: datetime,
    message_id: str,
    voucher_type: str | None,
) -> dict[str, Any]:
    """The 2206/2207/2303/2304 output: setlinfo (identity + money) and setldetail. A
    pre-settlement answers its own time and msgid, which the spec marks 非空 there too."""
    result, reg, who = done.computation, done.registration, done.person
    totals = {n: getattr(result.totals, n) for n in result.totals.__dataclass_fields__}
    info: dict[str, Any] = {
        "mdtrt_id": reg.visit_id,
        "setl_id": done.settlement_id,
        "psn_no": who["person_id"],
        "psn_name": who["name"],
        "psn_cert_type": who["certificate_type"],
        "certno": who["certificate_no"],
        "gend": who["gender"],
        "brdy": who["birth_date"].isoformat(),
        "insutype": reg.insurance_type,
        "psn_type": who["person_category"],
        "cvlserv_flag": "1" if who["civil_servant"] else "0",
        "setl_time": local_time(settled_at),
        "mdtrt_cert_type": voucher_type,
        "med_type": reg.medical_type,
        **setlinfo(result),
        **money_complement(totals, result.account_balance_after),
        "medins_setl_id": message_id,
        "clr_optins": done.clearing_agency,
        "clr_way": None if done.clearing_agency is None else "1",
        "clr_type": done.clearing_category,
    }
    return {"setlinfo": info, "setldetail": detail_rows(setldetail(result), totals["in_policy"])}


def settlement_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored settlement (5203 query, 2208/2305 negative record)."""
    totals = row["totals"]
    cash = fen_to_yuan(int(totals["cash_paid"]))
    return {
        "setlinfo": {
            "setl_id": row["settlement_id"],
            "mdtrt_id": row["visit_id"],
            "psn_no": row["person_id"],
            "insutype": row["insurance_type"],
            "med_type": row["medical_type"],
            "setl_time": local_time(row["settled_at"]),
            **{n: fen_to_yuan(int(totals[DOMAIN_OF[n]])) for n in SETLINFO_MONEY},
            **money_complement(totals, row["account_balance_after"]),
            # the cash figure as 2208 (pdn_cash_pay) and 5203 (cash_payamt) spell it, 非空 there
            "pdn_cash_pay": cash,
            "cash_payamt": cash,
            "fixmedins_code": row["institution_code"],
            "medins_setl_id": row["message_id"],
            "clr_optins": row["clearing_agency"],
            "clr_way": "1",
            "clr_type": row["clearing_category"],
            "refd_setl_flag": "1" if row["is_refund"] else "0",
            "pay_loc": "3" if row["insured_region"][:2] == row["visit_region"][:2] else "4",
            "init_setl_id": row["original_settlement_id"],
        },
        "setldetail": detail_rows(
            [
                {"fund_pay_type": p["fund_code"], "fund_payamt": fen_to_yuan(int(p["amount"]))}
                for p in row["fund_payments"]
            ],
            int(totals["in_policy"]),
        ),
    }


def settlement_query(row: Mapping[str, Any]) -> dict[str, Any]:
    """5203: the stored settlement with the person, the hospital and the visit's days."""
    record = settlement_record(row)
    who = row["person"]
    record["setlinfo"].update(
        {
            "psn_name": who["name"],
            "psn_cert_type": who["certificate_type"],
            "certno": who["certificate_no"],
            "gend": who["gender"],
            "psn_type": who["person_category"],
            "cvlserv_flag": "1" if who["civil_servant"] else "0",
            "fixmedins_name": row["institution_name"],
            "begndate": row["began_on"].isoformat(),
            "enddate": row["ended_on"].isoformat(),
        }
    )
    return record


_FUND_CHECK = "01"  # trt_chk_type 基金项检查: the basic fund of the person's insurance


def benefit_check(check: BenefitCheck) -> dict[str, Any]:
    """2001 output: one row for the person's basic fund, 享受 (1) or not (0) with the reason."""
    row = check.person.row
    employee = row["insurance_type"] == InsuranceType.EMPLOYEE
    return {
        "trtinfo": [
            {
                "psn_no": row["person_id"],
                "trt_chk_type": _FUND_CHECK,
                "fund_pay_type": (
                    FundCode.EMPLOYEE_BASIC if employee else FundCode.RESIDENT_BASIC
                ).value,
                "trt_enjymnt_flag": "1" if check.refusal is None else "0",
                "begndate": check.on.isoformat(),
                "enddate": None,
                "trt_chk_rslt": None
                if check.refusal is None
                else error_text(check.refusal, "2001"),
            }
        ]
    }


# --- retail pharmacies (2101/2102/2103) ----------------------------------------------------------


def purchase(
    done: Settlement,
    *,
    settled_at: datetime,
    message_id: str,
    voucher_type: str | None,
) -> dict[str, Any]:
    """The 2101/2102 output: a settlement's setlinfo and setldetail, the person's age (非空 in
    2102) and how each drug line was split (detlcutinfo). A pre-settlement (2101) names a visit
    id that was never recorded: the spec marks mdtrt_id 非空 there, and nothing is kept."""
    answer = settlement(
        done, settled_at=settled_at, message_id=message_id, voucher_type=voucher_type
    )
    birth: date = done.person["birth_date"]
    on = business_date(settled_at)
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    answer["setlinfo"] = {**answer["setlinfo"], "age": f"{age}.0"}
    answer["detlcutinfo"] = [fee_line_split(split, entry) for split, entry in done.splits]
    return answer
