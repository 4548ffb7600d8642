"""A token bucket per institution for the person query (1101), which answers a name, an ID
number and a balance: a hospital may look up the patients at its counters, not walk the register.

Per process (each settlement replica keeps its own buckets, so the platform's limit is the
replicas' sum); refilled on the monotonic clock, because business time may be a controlled clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from yidi_events.kernel import DomainError

LIMITED_INFNOS = frozenset({"1101"})
_MAX_TRACKED = 100_000  # institutions are a registry's worth; a full map restarts everyone full


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    rate_per_s: float  # tokens added per second
    burst: int  # what a full bucket holds
    now: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, institution: str, infno: str) -> None:
        """Spend one token of the institution's bucket for a limited transaction, or refuse."""
        if infno not in LIMITED_INFNOS:
            return
        now = self.now()
        bucket = self._buckets.get(institution)
        if bucket is None:
            if len(self._buckets) >= _MAX_TRACKED:
                self._buckets.clear()
            bucket = self._buckets[institution] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        if bucket.tokens < 1:
            wait = (1 - bucket.tokens) / self.rate_per_s if self.rate_per_s > 0 else 0
            raise DomainError(
                "his.rate_limited",
                f"{institution} sent more {infno} requests than {self.burst} at once and "
                f"{self.rate_per_s:g} a second; nothing was answered",
                field="fixmedins_code",
                values={
                    "fixmedins_code": institution,
                    "infno": infno,
                    "rate": f"{self.rate_per_s:g}",
                    "burst": self.burst,
                    "wait": f"{max(wait, 0.1):.1f}",
                },
            )
        bucket.tokens -= 1
