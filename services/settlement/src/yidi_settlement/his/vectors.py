"""The shared settlement vectors (../shared/vectors/settlement.json) are written in national
names: a case's inputs -> the engine's values, and its result -> the national shape `expected`
uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.engine import SettlementComputation
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
)
from yidi_events.contracts.policy import (
    AssistanceIdentity,
    BenefitPolicy,
    FilingKind,
    HospitalLevel,
)
from yidi_events.contracts.settlement import ChronicUse, ItemClass
from yidi_events.kernel import DomainError, fen_to_yuan, parse_ratio
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.his.envelope import FORMAT
from yidi_settlement.his.inputs import fee_line, number, yuan
from yidi_settlement.his.outputs import line, setldetail, setlinfo

_ACCUMULATORS = (
    "outpatient_deductible_used",
    "eligible_cum",
    "basic_paid_cum",
    "supplementary_base_cum",
    "supplementary_paid_cum",
    "assistance_paid_cum",
)
# Accumulators of schemes newer than the shared vectors: absent means zero, and they are written
# only when not zero, so the vectors written before them keep their shape.
_LATER_ACCUMULATORS = ("outpatient_pooling_paid_cum",)


def catalogue_entry_from_wire(code: str, row: Mapping[str, Any]) -> CatalogueEntry:
    cap = row.get("pric_uplmt_amt")
    try:
        return CatalogueEntry(
            catalogue_code=code,
            item_class=ItemClass(row["chrgitm_lv"]),
            self_pay_ratio=parse_ratio(row["selfpay_prop"]),
            price_cap=None if cap is None else number("pric_uplmt_amt", cap),
            list_type=str(row.get("list_type", "")),
        )
    except ValueError as exc:
        raise DomainError(FORMAT, f"catalogue entry {code}: {exc}", field=code) from exc


def person_from_wire(row: Mapping[str, Any]) -> PersonAtSettlement:
    return PersonAtSettlement(
        person_category=str(row["psn_type"]),
        civil_servant=str(row.get("cvlserv_flag", "0")) == "1",
        assistance_identities=frozenset(AssistanceIdentity(i) for i in row.get("identities", [])),
        account_balance=yuan("acct_balance", row.get("acct_balance", "0.00")),
    )


def accumulators_from_wire(row: Mapping[str, Any], policy_year: int) -> Accumulators:
    return Accumulators(
        policy_year=policy_year,
        inpatient_admissions=int(row["inpatient_admissions"]),
        **{name: yuan(name, row[name]) for name in _ACCUMULATORS},
        **{name: yuan(name, row.get(name, "0.00")) for name in _LATER_ACCUMULATORS},
        chronic=tuple(
            ChronicUse(
                disease_code=str(use["opsp_dise_code"]),
                period=str(use["period"]),
                deductible_used=yuan("dedc_used", use["dedc_used"]),
                fund_paid=yuan("fund_paid", use["fund_paid"]),
            )
            for use in row.get("chronic", [])
        ),
    )


def accumulators_to_wire(acc: Accumulators) -> dict[str, Any]:
    return {
        "inpatient_admissions": acc.inpatient_admissions,
        **{name: fen_to_yuan(getattr(acc, name)) for name in _ACCUMULATORS},
        **{
            name: fen_to_yuan(getattr(acc, name))
            for name in _LATER_ACCUMULATORS
            if getattr(acc, name)
        },
        # Written only when a chronic disease has figures, like the later accumulators.
        **(
            {
                "chronic": [
                    {
                        "opsp_dise_code": use.disease_code,
                        "period": use.period,
                        "dedc_used": fen_to_yuan(use.deductible_used),
                        "fund_paid": fen_to_yuan(use.fund_paid),
                    }
                    for use in acc.chronic
                ]
            }
            if acc.chronic
            else {}
        ),
    }


@dataclass(frozen=True, kw_only=True)
class Case:
    """One vector's inputs, as the engine takes them."""

    policy: BenefitPolicy
    catalogue: Catalogue
    person: PersonAtSettlement
    visit: VisitFacts
    fee_lines: list[FeeLine]
    accumulators: Accumulators


def case_from_wire(case: Mapping[str, Any]) -> Case:
    policy = parse_policy_document(case["policy"])
    # Vectors carry no date: they settle on the policy's first day, in that policy year.
    settled_on = (
        date.fromisoformat(case["settled_on"]) if "settled_on" in case else policy.effective_from
    )
    return Case(
        policy=policy,
        catalogue=Catalogue.undated(
            {code: catalogue_entry_from_wire(code, row) for code, row in case["catalog"].items()}
        ),
        person=person_from_wire(case["person"]),
        visit=VisitFacts(
            hospital_level=HospitalLevel(case["hospital_level"]),
            medical_type=str(case["med_type"]),
            filing_kind=FilingKind(case["filing_kind"]),
            use_account=str(case["acct_used_flag"]) == "1",
            settled_on=settled_on,
            in_province=bool(case.get("in_province", False)),
            chronic_disease=case.get("opsp_dise_code"),
        ),
        fee_lines=[fee_line(row) for row in case["fee_lines"]],
        accumulators=accumulators_from_wire(
            case["accumulators_before"], policy.policy_year(settled_on)
        ),
    )


def result_to_wire(name: str, result: SettlementComputation) -> dict[str, Any]:
    balance = result.account_balance_after
    return {
        "name": name,
        "setlinfo": setlinfo(result),
        "setldetail": setldetail(result),
        "lines": [line(split) for split in result.lines],
        "accumulators_after": accumulators_to_wire(result.accumulators_after),
        "acct_balance_after": None if balance is None else fen_to_yuan(balance),
    }
