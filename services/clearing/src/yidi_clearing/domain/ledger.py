"""The clearing ledger, kept in the provincial centre's books, double entry.

Accounts: `receivable:<agency>` (the agency owes the centre), `payable:<agency>` (the centre owes
the agency), `centre_bank` (the clearing account's cash) and `prepaid_fund`. Every money movement
is a journal entry whose debits equal its credits; `make_entry` refuses anything else, so the
trial balance (sum of debit - credit over all accounts) is zero after any sequence of entries.

Lifecycle of a period in the books:
  obligations   Dr receivable:payer     Cr payable:receiver     (per confirmed line / adjustment)
  netting       Dr payable:A            Cr receivable:A         (offsets an agency's two sides)
  remittance    Dr centre_bank          Cr receivable:payer
  disbursement  Dr payable:receiver     Cr centre_bank
When everything has been remitted and disbursed, every account of the period is back at zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yidi_clearing.domain.events import JournalEntryPosted, JournalLine
from yidi_clearing.domain.netting import Obligation
from yidi_events.kernel import DomainError

CENTRE_BANK = "centre_bank"
PREPAID_FUND = "prepaid_fund"


def receivable(agency: str) -> str:
    return f"receivable:{agency}"


def payable(agency: str) -> str:
    return f"payable:{agency}"


def debit(account: str, amount: int, reference: str) -> JournalLine:
    return JournalLine(account=account, debit=amount, credit=0, reference=reference)


def credit(account: str, amount: int, reference: str) -> JournalLine:
    return JournalLine(account=account, debit=0, credit=amount, reference=reference)


def make_entry(
    *, period: str, entry_id: str, memo: str, posted_on: date, lines: Iterable[JournalLine]
) -> JournalEntryPosted:
    """A journal entry, refused unless every line is one-sided and positive and the entry balances."""
    built = tuple(lines)
    if len(built) < 2:
        raise DomainError(
            "ledger.too_few_lines", f"entry {entry_id} needs at least two lines", field="lines"
        )
    for line in built:
        if line.debit < 0 or line.credit < 0 or (line.debit > 0) == (line.credit > 0):
            raise DomainError(
                "ledger.line_invalid",
                f"entry {entry_id}: a line on {line.account} must have exactly one positive side",
                field="lines",
            )
    debits = sum(line.debit for line in built)
    credits = sum(line.credit for line in built)
    if debits != credits:
        raise DomainError(
            "ledger.unbalanced",
            f"entry {entry_id} does not balance: debits {debits} fen, credits {credits} fen",
            field="lines",
        )
    return JournalEntryPosted(
        period=period, entry_id=entry_id, memo=memo, posted_on=posted_on, lines=built
    )


def obligation_lines(obligations: Iterable[Obligation]) -> list[JournalLine]:
    lines: list[JournalLine] = []
    for raw in obligations:
        o = raw.normalised()
        if o.amount:
            lines.append(debit(receivable(o.payer_agency), o.amount, o.reference))
            lines.append(credit(payable(o.receiver_agency), o.amount, o.reference))
    return lines


def netting_lines(entries: Iterable[JournalEntryPosted], reference: str) -> list[JournalLine]:
    """Offset each agency's receivable against its payable, leaving only its net side."""
    balances = trial_balance(entries)
    agencies = sorted(
        {a.split(":", 1)[1] for a in balances if a.startswith(("receivable:", "payable:"))}
    )
    lines: list[JournalLine] = []
    for agency in agencies:
        offset = min(balances.get(receivable(agency), 0), -balances.get(payable(agency), 0))
        if offset > 0:
            lines.append(debit(payable(agency), offset, reference))
            lines.append(credit(receivable(agency), offset, reference))
    return lines


def trial_balance(entries: Iterable[JournalEntryPosted]) -> dict[str, int]:
    """Each account's balance as debit minus credit; the values always sum to zero."""
    balances: dict[str, int] = defaultdict(int)
    for entry in entries:
        for line in entry.lines:
            balances[line.account] += line.debit - line.credit
    return dict(sorted(balances.items()))


@dataclass(frozen=True)
class HistoryRow:
    entry_id: str
    posted_on: date
    memo: str
    reference: str
    debit: int
    credit: int
    balance: int  # running, debit minus credit


def account_history(entries: Iterable[JournalEntryPosted], account: str) -> tuple[HistoryRow, ...]:
    """Every movement on `account` in posting order; the last running balance is its balance."""
    rows: list[HistoryRow] = []
    running = 0
    for entry in entries:
        for line in entry.lines:
            if line.account == account:
                running += line.debit - line.credit
                rows.append(
                    HistoryRow(
                        entry.entry_id,
                        entry.posted_on,
                        entry.memo,
                        line.reference,
                        line.debit,
                        line.credit,
                        running,
                    )
                )
    return tuple(rows)
