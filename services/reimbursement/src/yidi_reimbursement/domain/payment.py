"""The payment batch: the approved claims of an insured place, paid to each person's bank account,
and the bank payment file (CSV) the agency hands to its bank."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from yidi_events.application import Aggregate
from yidi_events.kernel import DomainError, business_date, fen_to_yuan
from yidi_reimbursement.domain.events import BankTransfer, PaymentBatchExported

BANK_FILE_COLUMNS = ("batch_id", "line", "claim_id", "person_id", "bank_account", "amount_yuan")


@dataclass(frozen=True)
class PaymentBatch:
    exported: PaymentBatchExported | None = None


def evolve_batch(state: PaymentBatch, event: object) -> PaymentBatch:
    if isinstance(event, PaymentBatchExported):
        return PaymentBatch(event)
    return state


BATCH: Aggregate[PaymentBatch] = Aggregate(PaymentBatch, evolve_batch)


def decide_export(
    state: PaymentBatch,
    batch_id: str,
    *,
    insured_region: str,
    transfers: Sequence[BankTransfer],
    officer: str,
    now: datetime,
) -> list[PaymentBatchExported]:
    if state.exported is not None:
        raise DomainError(
            "reimbursement.batch_exists", f"batch {batch_id} was exported", field="batch_id"
        )
    if not transfers:
        raise DomainError(
            "reimbursement.nothing_to_pay",
            "no approved claim of the region waits for payment",
            field="insured_region",
        )
    return [
        PaymentBatchExported(
            batch_id=batch_id,
            insured_region=insured_region,
            transfers=tuple(transfers),
            total=sum(t.amount for t in transfers),
            exported_on=business_date(now),
            exported_by=officer,
            exported_at=now,
        )
    ]


def bank_file(batch: PaymentBatchExported) -> str:
    """One line per transfer and a total line; amounts in yuan with two decimals, as banks take."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BANK_FILE_COLUMNS)
    for n, t in enumerate(batch.transfers, start=1):
        writer.writerow(
            (batch.batch_id, n, t.claim_id, t.person_id, t.bank_account, fen_to_yuan(t.amount))
        )
    writer.writerow(
        (batch.batch_id, "total", len(batch.transfers), "", "", fen_to_yuan(batch.total))
    )
    return out.getvalue()


def batch_stream(batch_id: str) -> str:
    return f"payment-batch-{batch_id}"
