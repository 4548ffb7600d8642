"""The settlement engine (DOMAIN.md section 2): visit-place catalogue, insured-place policy.

Pure: `compute_settlement` takes everything as values and returns a `SettlementComputation`; it
commits nothing, so pre-settlement (2206/2303) and settlement (2207/2304) call the same function.
A handler loads the person-year `Accumulators` (see accumulators.py), the policy in force on the
settlement date, the catalogue versions of the lines' codes (each line is split on the version in
force on its fee date) and the person's figures, calls
`compute_settlement`, and records the result as a VisitSettled carrying `movement`;
`cancellation_of` gives the negative record of a cancellation (2208/2305), whose movement puts the
accumulators back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from yidi_events.contracts.policy import BenefitPolicy, InsuranceType, PersonGroup
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    FeeLineSplit,
    FundCode,
    FundPayment,
    SettlementTotals,
)
from yidi_events.kernel import DomainError, Fen, round_half_up
from yidi_settlement.domain.accumulators import Accumulators
from yidi_settlement.domain.bands import banded_amount
from yidi_settlement.domain.line_split import split_lines
from yidi_settlement.domain.model import (
    Catalogue,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
    is_inpatient,
    person_group,
)

_POINTS = Decimal(100)
_ZERO = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class SettlementComputation:
    lines: tuple[FeeLineSplit, ...]
    totals: SettlementTotals
    fund_payments: tuple[FundPayment, ...]  # funds that paid, in order, then the account
    accumulators_before: Accumulators
    accumulators_after: Accumulators
    movement: AccumulatorMovement
    account_balance_after: Fen | None  # None: the person has no personal account (residents)
    # An admission: the deductible its stay still owes after this settlement (a later stage of
    # the stay starts from it). None: an outpatient visit.
    deductible_left: Fen | None = None


def compute_settlement(
    *,
    policy: BenefitPolicy,
    catalogue: Catalogue,
    person: PersonAtSettlement,
    visit: VisitFacts,
    fee_lines: Sequence[FeeLine],
    accumulators: Accumulators,
) -> SettlementComputation:
    _check_inputs(policy, visit, accumulators)
    group = person_group(person.person_category)
    employee = policy.insurance_type is InsuranceType.EMPLOYEE
    lines = split_lines(fee_lines, catalogue, visit.settled_on)
    total_fee = sum(x.amount for x in lines)
    in_policy = sum(x.in_policy for x in lines)
    inpatient = is_inpatient(visit.medical_type)

    # 2. deductible
    later_stage = inpatient and visit.stay_deductible_left is not None
    if visit.stay_deductible_left is not None and inpatient:
        # One stay, one deductible and one admission, however many stages settle it.
        remaining = visit.stay_deductible_left
    elif inpatient:
        per_level = policy.deductible.inpatient[visit.hospital_level]
        first = accumulators.inpatient_admissions == 0
        remaining = per_level.first_admission if first else per_level.later_admissions
    else:
        used = accumulators.outpatient_deductible_used
        remaining = max(0, policy.deductible.outpatient_annual - used)
    deductible = min(remaining, in_policy)
    eligible = in_policy - deductible

    # 3. basic pooled fund
    basic = _basic_fund(policy, group, visit, accumulators, eligible)
    share = in_policy - basic

    # 4. large-amount / critical-illness insurance on the in-policy personal share
    supp_policy = policy.supplementary
    supp_exact = banded_amount(
        accumulators.supplementary_base_cum,
        accumulators.supplementary_base_cum + share,
        [(b.upto, b.ratio) for b in supp_policy.bands],
        floor=supp_policy.deductible,
    )
    supp_room = max(0, supp_policy.annual_cap - accumulators.supplementary_paid_cum)
    supplementary = min(round_half_up(supp_exact), supp_room)
    left = share - supplementary

    # 5. civil-servant subsidy
    civil = 0
    if person.civil_servant and policy.civil_servant is not None:
        civil = round_half_up(Decimal(left) * policy.civil_servant.ratio)
    left -= civil

    # 6. medical assistance
    assistance = 0
    aid = policy.assistance
    if aid is not None and person.assistance_identities & set(aid.identities):
        room = max(0, aid.annual_cap - accumulators.assistance_paid_cum)
        assistance = min(round_half_up(Decimal(left) * aid.ratio), room)

    fund_total = basic + supplementary + civil + assistance
    hospital_borne = 0
    patient_part = total_fee - fund_total - hospital_borne

    # 7. personal account (employees only), 8. cash
    has_account = employee and group is not PersonGroup.RESIDENT
    account_paid = 0
    if has_account and visit.use_account:
        account_paid = max(0, min(person.account_balance, patient_part))
    cash = patient_part - account_paid

    totals = SettlementTotals(
        total_fee=total_fee,
        fully_self_paid=sum(x.fully_self_paid for x in lines),
        over_limit=sum(x.over_limit for x in lines),
        pre_self_paid=sum(x.pre_self_paid for x in lines),
        in_policy=in_policy,
        deductible_applied=deductible,
        basic_fund=basic,
        large_amount_fund=supplementary if employee else 0,
        critical_illness_fund=0 if employee else supplementary,
        civil_servant_subsidy=civil,
        medical_assistance=assistance,
        fund_total=fund_total,
        account_paid=account_paid,
        cash_paid=cash,
        personal_total=account_paid + cash,
        hospital_borne=hospital_borne,
    )
    movement = AccumulatorMovement(
        policy_year=accumulators.policy_year,
        inpatient_admissions=1 if inpatient and not later_stage else 0,
        outpatient_deductible_used=0 if inpatient else deductible,
        eligible_cum=eligible,
        basic_paid_cum=basic,
        supplementary_base_cum=share,
        supplementary_paid_cum=supplementary,
        assistance_paid_cum=assistance,
        account_balance=-account_paid,
    )
    return SettlementComputation(
        lines=lines,
        totals=totals,
        fund_payments=_payments(employee, totals),
        accumulators_before=accumulators,
        accumulators_after=accumulators.moved(movement),
        movement=movement,
        account_balance_after=person.account_balance - account_paid if has_account else None,
        deductible_left=remaining - deductible if inpatient else None,
    )


def _check_inputs(policy: BenefitPolicy, visit: VisitFacts, acc: Accumulators) -> None:
    if not policy.applies_on(visit.settled_on):
        raise DomainError(
            "settlement.policy_not_in_force",
            f"the {policy.insured_region} benefit policy in force from {policy.effective_from} "
            f"does not cover the settlement date {visit.settled_on}",
            field="settled_on",
        )
    if acc.policy_year != policy.policy_year(visit.settled_on):
        raise DomainError(
            "settlement.policy_year",
            f"accumulators of {acc.policy_year} cannot settle a visit dated {visit.settled_on}",
            field="policy_year",
        )


def _basic_fund(
    policy: BenefitPolicy,
    group: PersonGroup,
    visit: VisitFacts,
    acc: Accumulators,
    eligible: Fen,
) -> Fen:
    cut = policy.filing_cut_points.get(visit.filing_kind, _ZERO) / _POINTS
    bands: list[tuple[Fen | None, Decimal]] = []
    for band in policy.basic.bands:
        per_level = band.ratios.get(group)
        if per_level is None:
            raise DomainError(
                "settlement.policy_person_group",
                f"the {policy.insured_region} {policy.insurance_type.value} policy has no "
                f"basic-fund ratio for {group.value} persons",
                field="person_category",
            )
        # The filing cut lowers the ratio but never below zero.
        bands.append((band.upto, max(_ZERO, per_level[visit.hospital_level] - cut)))
    exact = banded_amount(acc.eligible_cum, acc.eligible_cum + eligible, bands)
    room = max(0, policy.basic.annual_cap - acc.basic_paid_cum)
    return min(round_half_up(exact), room)


def _payments(employee: bool, t: SettlementTotals) -> tuple[FundPayment, ...]:
    rows = (
        (FundCode.EMPLOYEE_BASIC if employee else FundCode.RESIDENT_BASIC, t.basic_fund),
        (FundCode.LARGE_AMOUNT, t.large_amount_fund),
        (FundCode.CRITICAL_ILLNESS, t.critical_illness_fund),
        (FundCode.CIVIL_SERVANT, t.civil_servant_subsidy),
        (FundCode.MEDICAL_ASSISTANCE, t.medical_assistance),
        (FundCode.PERSONAL_ACCOUNT, t.account_paid),
    )
    return tuple(FundPayment(fund_code=code, amount=amount) for code, amount in rows if amount)


def cancellation_of(
    original: SettlementComputation, current: Accumulators, account_balance: Fen | None
) -> SettlementComputation:
    """The negative record of cancelling `original`, applied to today's figures.

    Later settlements may have moved the accumulators since; the cancellation moves them back by
    exactly what the original moved, and refunds the account what it paid.
    """
    if current.policy_year != original.movement.policy_year:
        raise DomainError(
            "settlement.cancel_policy_year",
            f"a {original.movement.policy_year} settlement cannot be cancelled against "
            f"{current.policy_year} accumulators",
            field="policy_year",
        )
    back = original.movement.negated()
    refund = original.totals.account_paid
    return SettlementComputation(
        lines=original.lines,
        totals=original.totals.negated(),
        fund_payments=tuple(
            FundPayment(fund_code=p.fund_code, amount=-p.amount) for p in original.fund_payments
        ),
        accumulators_before=current,
        accumulators_after=current.moved(back),
        movement=back,
        account_balance_after=None if account_balance is None else account_balance + refund,
    )
