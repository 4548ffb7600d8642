"""Published event contracts: the facts another service consumes, one module per producing service,
and the value types they carry. Importing this package registers them all.

A fact only its producer reads is that service's own (`yidi_<service>.domain.events`), registered
the same way when the service's code is imported.
"""

from yidi_events.contracts import (
    audit,
    filing,
    policy,
    reconciliation,
    reimbursement,
    settlement,
)

__all__ = ["audit", "filing", "policy", "reconciliation", "reimbursement", "settlement"]
