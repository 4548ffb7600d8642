"""Net positions: for each agency, what it receives minus what it pays over the confirmed obligations.

Every obligation adds the same amount to one agency's receivable and another's payable, so the
nets always sum to exactly zero, to the fen. A negative obligation (deductions above payments)
is turned round first: the receiver then owes the payer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from yidi_clearing.domain.events import NetPosition


@dataclass(frozen=True)
class Obligation:
    payer_agency: str
    receiver_agency: str
    amount: int
    reference: str  # statement line id or adjustment id

    def normalised(self) -> Obligation:
        if self.amount >= 0:
            return self
        return Obligation(self.receiver_agency, self.payer_agency, -self.amount, self.reference)


def net_positions(obligations: Iterable[Obligation]) -> tuple[NetPosition, ...]:
    receivable: dict[str, int] = defaultdict(int)
    payable: dict[str, int] = defaultdict(int)
    for raw in obligations:
        o = raw.normalised()
        receivable[o.receiver_agency] += o.amount
        payable[o.payer_agency] += o.amount
    agencies = sorted(set(receivable) | set(payable))
    positions = tuple(
        NetPosition(
            agency=a,
            receivable=receivable[a],
            payable=payable[a],
            net=receivable[a] - payable[a],
        )
        for a in agencies
    )
    # Holds by construction; asserted because a non-zero sum would move money out of thin air.
    assert sum(p.net for p in positions) == 0, "net positions must sum to zero"
    return positions
