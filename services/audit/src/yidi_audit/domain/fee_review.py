"""The visit place's fee review (审核扣款): an agency officer goes through a settlement line by line
and refuses to pay the fund money of some lines, in whole or in part, with a reason and evidence.
A 协查 answered 核查有误 with a money consequence is decided the same way (source assist_check).

One stream per settlement (`fee-review-<settlement id>`) holds its deductions, so a line is
deducted once whoever asks, and a command repeated under its deduction id changes nothing.

How much fund money a line carried (`fund_carried`): the funds pay only on in-policy money (what
is left of a line after its fully self-paid, over-limit and pre-self-paid parts), so the
settlement's fund total is shared among its lines in proportion to their in-policy money, net of
returns (a 退费 line nets down the line it returns, and carries nothing itself). The shares are
whole fen by the largest remainder, so they add up to the fund total exactly: each line gets the
fen of its exact share rounded down, and the fen left over go one each to the lines with the
largest fractions (ties: in line-number order). A settlement with no in-policy money had nothing
paid by the funds on any line. Worked example (fund total 100.00 yuan, three lines of 1.00 yuan
in-policy each): exact shares 3333⅓ fen each, 3333 each rounded down, 1 fen left over to the
first line: 3334 + 3333 + 3333 = 10000 fen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from yidi_audit.domain.events import InvestigationResult
from yidi_audit.domain.facts import SettledVisit
from yidi_audit.domain.guards import Actor, require_agency, require_text
from yidi_events.application import Aggregate
from yidi_events.contracts.audit import DeductedLine, DeductionSource, FeeDeductionDecided
from yidi_events.kernel import Conflict, DomainError, Fen, NotFound


def fund_carried(visit: SettledVisit) -> dict[str, Fen]:
    """The fund money each fee line of the settlement carried, by line number (module doc)."""
    returned: dict[str, Fen] = {}
    for line in visit.fee_lines:
        if line.returned_line:
            returned[line.returned_line] = returned.get(line.returned_line, 0) + line.in_policy
    base = {
        line.fee_line_no: max(line.in_policy + returned.get(line.fee_line_no, 0), 0)
        for line in sorted(visit.fee_lines, key=lambda x: _line_order(x.fee_line_no))
        if not line.returned_line
    }
    total = sum(base.values())
    if total <= 0 or visit.fund_total <= 0:
        return dict.fromkeys(base, 0)
    shares = {no: divmod(visit.fund_total * part, total) for no, part in base.items()}
    carried = {no: whole for no, (whole, _) in shares.items()}
    left = visit.fund_total - sum(carried.values())
    order = sorted(shares, key=lambda no: -shares[no][1])  # stable: ties keep line order
    for no in order[:left]:
        carried[no] += 1
    return carried


def _line_order(fee_line_no: str) -> tuple[int, int, str]:
    """HIS line numbers are usually "1", "2", ... "10": numeric ones in number order first."""
    return (0, int(fee_line_no), "") if fee_line_no.isdigit() else (1, 0, fee_line_no)


@dataclass(frozen=True)
class LineDeduction:
    """One line to deduct: `amount` fen of the fund money it carried, or all of it when None."""

    fee_line_id: str
    amount: Fen | None = None
    reason: str = ""  # the deduction's reason when empty


@dataclass(frozen=True)
class FeeReviewState:
    settlement_id: str = ""
    deductions: dict[str, FeeDeductionDecided] = field(default_factory=dict)  # by deduction id
    deducted_lines: frozenset[str] = frozenset()


def evolve(state: FeeReviewState, event: FeeDeductionDecided) -> FeeReviewState:
    return replace(
        state,
        settlement_id=event.settlement_id,
        deductions={**state.deductions, event.deduction_id: event},
        deducted_lines=state.deducted_lines | {line.fee_line_id for line in event.lines},
    )


FEE_REVIEW = Aggregate(FeeReviewState, evolve)


def stream_id(settlement_id: str) -> str:
    return f"fee-review-{settlement_id}"


def deduction_id(settlement_id: str, reference: str) -> str:
    """Unique across settlements, as clearing needs, while the officer's reference need only be
    unique within the settlement's stream (where a retry under it is recognised)."""
    return f"{settlement_id}-{reference}"


@dataclass(frozen=True)
class DeductionCommand:
    reference: str  # the deciding officer's reference, unique for the settlement
    settlement_id: str
    lines: tuple[LineDeduction, ...]
    reason: str
    evidence: str
    source: DeductionSource = DeductionSource.FEE_REVIEW


def assist_check_deduction(
    batch_id: str,
    settlement_id: str,
    result: InvestigationResult,
    reason: str,
    lines: Sequence[LineDeduction],
    evidence: str = "",
) -> DeductionCommand | None:
    """A 协查 answered 核查有误 with lines whose fund money the visit place will not pay: the
    deduction decided with the answer (one per batch item, so its reference is the batch's)."""
    if not lines:
        return None
    if result is not InvestigationResult.ISSUE_FOUND:
        raise DomainError(
            "audit.investigation.deduction_without_issue",
            "only an answer of 核查有误 (issue_found) deducts fund money",
            field="deductions",
        )
    return DeductionCommand(
        reference=f"assist-check-{batch_id}",
        settlement_id=settlement_id,
        lines=tuple(lines),
        reason=reason,
        evidence=evidence.strip() or f"协查批次 {batch_id} 核查有误",
        source=DeductionSource.ASSIST_CHECK,
    )


def _same(old: FeeDeductionDecided, new: FeeDeductionDecided) -> bool:
    return (old.settlement_id, old.source, old.lines, old.reason, old.evidence) == (
        new.settlement_id,
        new.source,
        new.lines,
        new.reason,
        new.evidence,
    )


def decide_deduction(
    state: FeeReviewState,
    visit: SettledVisit | None,
    cancelled: bool,
    reviewer: Actor,
    command: DeductionCommand,
    on: date,
) -> list[FeeDeductionDecided]:
    """Deduct the fund money of some of a settlement's lines; refuse, changing nothing, an unknown
    or cancelled settlement, a line not in it or deducted before, more than a line carried.

    The same reference with the same content again is a retry: nothing new, the same answer.
    """
    if visit is None or visit.settlement_id != command.settlement_id:
        raise NotFound(
            "audit.fee_review.settlement_unknown",
            f"no settlement {command.settlement_id} is known to audit",
            field="settlement_id",
        )
    require_agency(
        reviewer, visit.visit_region, rule="audit.fee_review.wrong_agency", role="visit-place"
    )
    reason = require_text(
        command.reason, rule="audit.fee_review.reason_required", field="reason", what="a reason"
    )
    evidence = require_text(
        command.evidence,
        rule="audit.fee_review.evidence_required",
        field="evidence",
        what="the evidence (rule, document reference)",
    )
    lines = _lines(state, visit, command.lines, reason)
    reference = require_text(
        command.reference,
        rule="audit.fee_review.reference_required",
        field="reference",
        what="a reference",
    )
    decided = FeeDeductionDecided(
        deduction_id=deduction_id(visit.settlement_id, reference),
        source=command.source,
        settlement_id=visit.settlement_id,
        person_id=visit.person_id,
        institution_code=visit.institution_code,
        department=None,  # settlement does not publish the visit's department with its facts
        insured_region=visit.insured_region,
        visit_region=visit.visit_region,
        insurance_type=visit.insurance_type,
        settled_on=visit.settled_on,
        lines=lines,
        amount=sum(line.amount for line in lines),
        reason=reason,
        evidence=evidence,
        decided_by=reviewer.actor_id,
        decided_on=on,
    )
    earlier = state.deductions.get(decided.deduction_id)
    if earlier is not None:
        if _same(earlier, decided):
            return []
        raise Conflict(
            "audit.fee_review.reference_reused",
            f"deduction {reference} of settlement {visit.settlement_id} was already decided "
            "with other content",
            field="reference",
        )
    if cancelled:
        raise Conflict(
            "audit.fee_review.settlement_cancelled",
            f"settlement {visit.settlement_id} was cancelled: its funds paid nothing to deduct",
            field="settlement_id",
        )
    deducted_again = sorted(state.deducted_lines & {line.fee_line_id for line in lines})
    if deducted_again:
        raise Conflict(
            "audit.fee_review.line_already_deducted",
            f"line {deducted_again[0]} of settlement {visit.settlement_id} was already deducted",
            field="fee_line_id",
            values={"fee_line_id": deducted_again[0]},
        )
    return [decided]


def _lines(
    state: FeeReviewState,
    visit: SettledVisit,
    asked: Sequence[LineDeduction],
    reason: str,
) -> tuple[DeductedLine, ...]:
    if not asked:
        raise DomainError(
            "audit.fee_review.lines_required", "name at least one fee line", field="lines"
        )
    carried = fund_carried(visit)
    seen: set[str] = set()
    lines = []
    for item in asked:
        line_id = item.fee_line_id.strip()
        if line_id not in carried:
            raise DomainError(
                "audit.fee_review.line_unknown",
                f"settlement {visit.settlement_id} has no fee line {line_id!r}",
                field="fee_line_id",
                values={"fee_line_id": line_id[:40]},
            )
        if line_id in seen:
            raise DomainError(
                "audit.fee_review.line_repeated",
                f"line {line_id} is named twice; name each line once",
                field="fee_line_id",
                values={"fee_line_id": line_id},
            )
        seen.add(line_id)
        amount = carried[line_id] if item.amount is None else item.amount
        if amount <= 0:
            raise DomainError(
                "audit.fee_review.amount_positive",
                f"line {line_id}: a deduction is more than 0 fen of fund money "
                f"(the line carried {carried[line_id]} fen)",
                field="amount",
                values={"fee_line_id": line_id, "carried": carried[line_id]},
            )
        if amount > carried[line_id]:
            raise DomainError(
                "audit.fee_review.exceeds_line_fund",
                f"line {line_id} carried {carried[line_id]} fen of fund money; "
                f"{amount} fen cannot be deducted from it",
                field="amount",
                values={"fee_line_id": line_id, "carried": carried[line_id], "amount": amount},
            )
        lines.append(
            DeductedLine(fee_line_id=line_id, amount=amount, reason=item.reason.strip() or reason)
        )
    return tuple(lines)
