"""The benefit engine (DOMAIN.md section 2): visit-place catalogue, insured-place policy.

Pure: `compute_settlement` takes everything as values and returns a `SettlementComputation`; it
commits nothing, so pre-settlement (2206/2303) and settlement (2207/2304) call the same function,
and so does a manual-reimbursement claim (DOMAIN.md section 6, with the catalogue the insured
place names for manual claims).
A handler loads the person-year `Accumulators` (see accumulators.py), the policy in force on the
settlement date, the catalogue versions of the lines' codes (each line is split on the version in
force on its fee date) and the person's figures, calls
`compute_settlement`, and records the result as a VisitSettled carrying `movement`;
`cancellation_of` gives the negative record of a cancellation (2208/2305), whose movement puts the
accumulators back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.bands import banded_amount
from yidi_benefits.line_split import split_lines
from yidi_benefits.model import (
    CHRONIC_OUTPATIENT,
    MATERNITY_ADMISSION,
    ORDINARY_OUTPATIENT,
    OTHER_INPATIENT,
    PHARMACY_PURCHASE,
    Catalogue,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
    is_inpatient,
    person_group,
)
from yidi_events.contracts.policy import (
    BenefitPolicy,
    InsuranceType,
    PersonGroup,
    SupplementaryBase,
    at_level,
)
from yidi_events.contracts.settlement import (
    AccumulatorMovement,
    ChronicUse,
    FeeLineSplit,
    FundCode,
    FundPayment,
    SettlementTotals,
)
from yidi_events.kernel import DomainError, Fen, round_half_up

_POINTS = Decimal(100)
_ZERO = Decimal(0)
_ONE = Decimal(1)


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


class Scheme(StrEnum):
    """Which scheme of the insured place's policy pays a visit (DOMAIN.md section 2)."""

    INPATIENT = "inpatient"  # 21 and the 2x family; other inpatient (92) where the policy says
    MATERNITY = "maternity"  # 52, where the policy has maternity terms
    OUTPATIENT_POOLING = "outpatient_pooling"  # 11, where the policy has outpatient pooling
    # 41 where the policy pools pharmacy purchases: outpatient pooling at the pharmacy's terms
    PHARMACY_POOLING = "pharmacy_pooling"
    # 41 where it does not: no fund pays, the personal account and cash do
    PHARMACY_SELF = "pharmacy_self"
    # 14, where the policy has chronic-disease terms: the certified disease's own terms
    CHRONIC = "chronic"
    # Every other outpatient visit, and 11 under a policy written before pooling was modelled:
    # the annual outpatient deductible and the basic fund's bands and cap.
    OUTPATIENT_BASIC = "outpatient_basic"


def scheme_of(policy: BenefitPolicy, medical_type: str) -> Scheme:
    """The scheme a visit of `medical_type` settles by; refuses a visit type the policy does not
    cover, naming it."""
    if medical_type == MATERNITY_ADMISSION:
        if policy.maternity is None:
            raise _not_covered(policy, medical_type, "maternity admissions")
        return Scheme.MATERNITY
    if medical_type == OTHER_INPATIENT:
        if not policy.other_inpatient:
            raise _not_covered(policy, medical_type, "other inpatient admissions")
        return Scheme.INPATIENT
    if is_inpatient(medical_type):
        return Scheme.INPATIENT
    if medical_type == ORDINARY_OUTPATIENT and policy.outpatient_pooling is not None:
        return Scheme.OUTPATIENT_POOLING
    if medical_type == PHARMACY_PURCHASE:
        return Scheme.PHARMACY_SELF if policy.pharmacy is None else Scheme.PHARMACY_POOLING
    if medical_type == CHRONIC_OUTPATIENT and policy.chronic_diseases:
        return Scheme.CHRONIC
    return Scheme.OUTPATIENT_BASIC


def _not_covered(policy: BenefitPolicy, medical_type: str, what: str) -> DomainError:
    return DomainError(
        "settlement.scheme_not_covered",
        f"the {policy.insured_region} {policy.insurance_type.value} benefit policy does not "
        f"cover {what} (med type {medical_type})",
        field="medical_type",
    )


@dataclass(frozen=True, kw_only=True)
class _Funds:
    """What steps 2-4 of one scheme decided, before the subsidy, assistance and account."""

    deductible: Fen = 0
    deductible_left: Fen | None = None  # an admission's stay: what it still owes
    basic: Fen = 0
    maternity: Fen = 0
    supplementary: Fen = 0
    movement: AccumulatorMovement  # the scheme's own figures; assistance and account added later
    # whether the personal share left goes on to the civil-servant subsidy and assistance
    layered: bool = True


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
    scheme = scheme_of(policy, visit.medical_type)
    group = person_group(person.person_category)
    employee = policy.insurance_type is InsuranceType.EMPLOYEE
    lines = split_lines(fee_lines, catalogue, visit.settled_on)
    total_fee = sum(x.amount for x in lines)
    in_policy = sum(x.in_policy for x in lines)

    if scheme is Scheme.MATERNITY:
        funds = _maternity(policy, visit, accumulators, in_policy)
    elif scheme is Scheme.OUTPATIENT_POOLING:
        funds = _outpatient_pooling(policy, visit, accumulators, in_policy)
    elif scheme is Scheme.PHARMACY_POOLING:
        funds = _outpatient_pooling(policy, visit, accumulators, in_policy, pharmacy=True)
    elif scheme is Scheme.PHARMACY_SELF:
        funds = _Funds(movement=AccumulatorMovement.zero(accumulators.policy_year), layered=False)
    elif scheme is Scheme.CHRONIC:
        funds = _chronic(policy, visit, accumulators, in_policy)
    else:
        funds = _basic_scheme(policy, group, person, visit, accumulators, in_policy, scheme)
    left = in_policy - funds.basic - funds.maternity - funds.supplementary

    # 5. civil-servant subsidy
    civil = 0
    if funds.layered and person.civil_servant and policy.civil_servant is not None:
        civil = round_half_up(Decimal(left) * policy.civil_servant.ratio)
    left -= civil

    # 6. medical assistance, on the terms of the person's first assisted identity
    assistance = 0
    terms = (
        None
        if policy.assistance is None
        else policy.assistance.terms_for(person.assistance_identities)
    )
    if funds.layered and terms is not None:
        room = max(0, terms.annual_cap - accumulators.assistance_paid_cum)
        assistance = min(round_half_up(Decimal(left) * terms.ratio), room)

    supplementary = funds.supplementary
    fund_total = funds.basic + funds.maternity + supplementary + civil + assistance
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
        deductible_applied=funds.deductible,
        basic_fund=funds.basic,
        large_amount_fund=supplementary if employee else 0,
        critical_illness_fund=0 if employee else supplementary,
        civil_servant_subsidy=civil,
        medical_assistance=assistance,
        fund_total=fund_total,
        account_paid=account_paid,
        cash_paid=cash,
        personal_total=account_paid + cash,
        hospital_borne=hospital_borne,
        maternity_fund=funds.maternity,
    )
    movement = replace(
        funds.movement, assistance_paid_cum=assistance, account_balance=-account_paid
    )
    return SettlementComputation(
        lines=lines,
        totals=totals,
        fund_payments=_payments(employee, totals),
        accumulators_before=accumulators,
        accumulators_after=accumulators.moved(movement),
        movement=movement,
        account_balance_after=person.account_balance - account_paid if has_account else None,
        deductible_left=funds.deductible_left,
    )


def _basic_scheme(
    policy: BenefitPolicy,
    group: PersonGroup,
    person: PersonAtSettlement,
    visit: VisitFacts,
    acc: Accumulators,
    in_policy: Fen,
    scheme: Scheme,
) -> _Funds:
    """Inpatient stays, and outpatient visits the basic fund pays as it pays stays."""
    inpatient = scheme is Scheme.INPATIENT
    # 2. deductible
    later_stage = inpatient and visit.stay_deductible_left is not None
    if visit.stay_deductible_left is not None and inpatient:
        # One stay, one deductible and one admission, however many stages settle it.
        remaining = visit.stay_deductible_left
    elif inpatient:
        per_level = at_level(policy.deductible.inpatient, visit.hospital_level)
        first = acc.inpatient_admissions == 0
        remaining = per_level.first_admission if first else per_level.later_admissions
    else:
        used = acc.outpatient_deductible_used
        remaining = max(0, policy.deductible.outpatient_annual - used)
    deductible = min(remaining, in_policy)
    eligible = in_policy - deductible

    # 3. basic pooled fund
    basic = _basic_fund(policy, group, visit, acc, eligible)
    share = in_policy - basic

    # 4. large-amount / critical-illness insurance
    supplementary = _supplementary(policy, person, acc, share, eligible)
    movement = AccumulatorMovement(
        policy_year=acc.policy_year,
        inpatient_admissions=1 if inpatient and not later_stage else 0,
        outpatient_deductible_used=0 if inpatient else deductible,
        eligible_cum=eligible,
        basic_paid_cum=basic,
        supplementary_base_cum=share,
        supplementary_paid_cum=supplementary,
        assistance_paid_cum=0,
        account_balance=0,
    )
    return _Funds(
        deductible=deductible,
        deductible_left=remaining - deductible if inpatient else None,
        basic=basic,
        supplementary=supplementary,
        movement=movement,
    )


def _outpatient_pooling(
    policy: BenefitPolicy,
    visit: VisitFacts,
    acc: Accumulators,
    in_policy: Fen,
    *,
    pharmacy: bool = False,
) -> _Funds:
    """Ordinary outpatient pooling: its annual deductible (the year's outpatient deductible
    used), its ratio by level less the filing cut, and its own annual cap. The inpatient band
    axis, cap and the supplementary layer are not touched. A pooled pharmacy purchase shares
    the deductible and cap, at the policy's pharmacy ratio or the ratio of the level it names."""
    pool = policy.outpatient_pooling
    assert pool is not None  # scheme_of chose this scheme because it is set
    remaining = max(0, pool.deductible - acc.outpatient_deductible_used)
    deductible = min(remaining, in_policy)
    eligible = in_policy - deductible
    base = at_level(pool.ratios, visit.hospital_level)
    if pharmacy:
        terms = policy.pharmacy
        assert terms is not None  # a pooled purchase: the policy's document parser checked
        if terms.ratio is not None:
            base = terms.ratio
        elif terms.level is not None:
            base = at_level(pool.ratios, terms.level)
    ratio = max(_ZERO, base - _cut(policy, visit))
    room = max(0, pool.annual_cap - acc.outpatient_pooling_paid_cum)
    basic = min(round_half_up(Decimal(eligible) * ratio), room)
    movement = replace(
        AccumulatorMovement.zero(acc.policy_year),
        outpatient_deductible_used=deductible,
        outpatient_pooling_paid_cum=basic,
    )
    return _Funds(deductible=deductible, basic=basic, movement=movement)


def _chronic(policy: BenefitPolicy, visit: VisitFacts, acc: Accumulators, in_policy: Fen) -> _Funds:
    """A chronic-disease visit: the disease's own deductible (per policy year), its ratio by level
    less the filing cut, and its cap over its period, counted for this disease alone. Whether the
    person is certified for it is decided before (`chronic.certified_for`); the inpatient band
    axis, cap and the supplementary layer are not touched."""
    code = visit.chronic_disease
    if code is None:
        raise DomainError(
            "settlement.chronic_disease_required",
            "a chronic-disease visit (med type 14) settles for one disease: name its code",
            field="disease_code",
        )
    terms = policy.chronic_diseases.get(code)
    if terms is None:
        raise DomainError(
            "settlement.chronic_disease_not_covered",
            f"the {policy.insured_region} {policy.insurance_type.value} benefit policy has no "
            f"terms for chronic disease {code}",
            field="disease_code",
            values={"disease_code": code},
        )
    if terms.shares_inpatient_deductible:
        # One deductible a year for stays and these visits: a counted admission paid it.
        first = at_level(policy.deductible.inpatient, visit.hospital_level).first_admission
        paid = acc.chronic_deductible_used()
        remaining = 0 if acc.inpatient_admissions else max(0, first - paid)
    else:
        remaining = max(0, terms.deductible - acc.chronic_deductible_used(code))
    deductible = min(remaining, in_policy)
    eligible = in_policy - deductible
    ratio = max(_ZERO, at_level(terms.ratios, visit.hospital_level) - _cut(policy, visit))
    basic = round_half_up(Decimal(eligible) * ratio)
    period = terms.period_of(visit.settled_on, acc.policy_year)
    if terms.cap is not None:
        basic = min(basic, max(0, terms.cap - acc.chronic_paid(code, period)))
    use = ChronicUse(disease_code=code, period=period, deductible_used=deductible, fund_paid=basic)
    movement = replace(AccumulatorMovement.zero(acc.policy_year), chronic=(use,))
    return _Funds(deductible=deductible, basic=basic, movement=movement)


def _maternity(
    policy: BenefitPolicy, visit: VisitFacts, acc: Accumulators, in_policy: Fen
) -> _Funds:
    """A maternity admission: the maternity fund pays the in-policy amount up to the level's
    limit; no deductible, no admission counted, and the rest is the person's."""
    terms = policy.maternity
    assert terms is not None  # scheme_of chose this scheme because it is set
    paid = min(in_policy, at_level(terms.limits, visit.hospital_level))
    return _Funds(
        deductible_left=0,
        maternity=paid,
        movement=AccumulatorMovement.zero(acc.policy_year),
        layered=False,
    )


def _supplementary(
    policy: BenefitPolicy, person: PersonAtSettlement, acc: Accumulators, share: Fen, eligible: Fen
) -> Fen:
    """Step 4 on the layer's axis, with the critical-illness tilt for a person it names."""
    supp = policy.supplementary
    if supp is None:
        return 0
    tilt = supp.tilt
    if tilt is not None and not person.assistance_identities & set(tilt.identities):
        tilt = None
    deductible = supp.deductible if tilt is None else tilt.deductible
    extra = _ZERO if tilt is None else tilt.extra_points / _POINTS
    bands = [(b.upto, min(_ONE, b.ratio + extra)) for b in supp.bands]
    if supp.base is SupplementaryBase.ELIGIBLE_AMOUNT:
        start, stretch = acc.eligible_cum, eligible
    else:
        start, stretch = acc.supplementary_base_cum, share
    paid = round_half_up(banded_amount(start, start + stretch, bands, floor=deductible))
    cap: Fen | None = supp.annual_cap
    if tilt is not None:
        own = supp.annual_cap if tilt.annual_cap is None else tilt.annual_cap
        cap = None if tilt.cap_lifted else own
    if cap is not None:
        paid = min(paid, max(0, cap - acc.supplementary_paid_cum))
    # The layer pays from the personal share and never more than it.
    return min(paid, share)


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
    cut = _cut(policy, visit)
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
        bands.append((band.upto, max(_ZERO, at_level(per_level, visit.hospital_level) - cut)))
    exact = banded_amount(acc.eligible_cum, acc.eligible_cum + eligible, bands)
    room = max(0, policy.basic.annual_cap - acc.basic_paid_cum)
    return min(round_half_up(exact), room)


def _cut(policy: BenefitPolicy, visit: VisitFacts) -> Decimal:
    """The filing-type cut off the basic ratio, as a fraction: a policy may cut less inside its
    own province (Jiangsu: referral 5 points in-province, 10 across)."""
    cuts = policy.filing_cut_points
    if visit.in_province and policy.in_province_cut_points is not None:
        cuts = policy.in_province_cut_points
    return cuts.get(visit.filing_kind, _ZERO) / _POINTS


def _payments(employee: bool, t: SettlementTotals) -> tuple[FundPayment, ...]:
    rows = (
        (FundCode.EMPLOYEE_BASIC if employee else FundCode.RESIDENT_BASIC, t.basic_fund),
        (FundCode.LARGE_AMOUNT, t.large_amount_fund),
        (FundCode.CRITICAL_ILLNESS, t.critical_illness_fund),
        (FundCode.MATERNITY, t.maternity_fund),
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
