"""Facts the settlement service publishes on `yidi.settlement.events`.

Each fact is a frozen dataclass registered with `@event("settlement.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.
"""

from __future__ import annotations
