"""The reimbursement service's own facts: no other service consumes them, so their contracts live
here (schemas in services/reimbursement/schemas). The claim's facts, which filing and audit
consume, are published contracts in `yidi_events.contracts.reimbursement`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from yidi_events.kernel import Fen
from yidi_events.registry import event


@dataclass(frozen=True, kw_only=True)
class BankTransfer:
    claim_id: str
    person_id: str
    bank_account: str
    amount: Fen


@event("reimbursement.PaymentBatchExported", key="batch_id")
@dataclass(frozen=True, kw_only=True)
class PaymentBatchExported:
    """The approved claims of one insured place paid in one bank payment file."""

    batch_id: str
    insured_region: str
    transfers: tuple[BankTransfer, ...]
    total: Fen
    exported_on: date
    exported_by: str
    exported_at: datetime
