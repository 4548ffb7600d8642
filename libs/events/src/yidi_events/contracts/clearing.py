"""Facts the clearing service publishes on `yidi.clearing.events`.

Each fact is a frozen dataclass registered with `@event("clearing.<PastTense>", key=...)`; money in
fen (int), ratios as Decimal, dates as `date`. Names follow docs/glossary.md, never the national
field names.
"""

from __future__ import annotations
