"""Event contracts, one module per producing service. Importing this package registers them all."""

from yidi_events.contracts import audit, clearing, filing, reconciliation, settlement

__all__ = ["audit", "clearing", "filing", "reconciliation", "settlement"]
