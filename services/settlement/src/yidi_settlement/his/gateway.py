"""The HIS gateway: authenticate, parse, answer each (institution, msgid) once, run or forward
the transaction, and answer in the national envelope.

Every refusal becomes infcode=-1 with an err_msg naming the national field and the rule, and
changes nothing: a transaction's events, read models and kept answer commit together or not at all.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.application import Unit, lost_a_race
from yidi_events.auth.his import HisAuthError
from yidi_events.failpoints import crash_point
from yidi_events.kernel import Clock, DomainError
from yidi_events.store import ConcurrencyError
from yidi_events.store.idempotency import IdempotencyConflict, Keeping
from yidi_settlement.app.messages import Messages, repeat
from yidi_settlement.his.auth import Authenticated, Authenticator
from yidi_settlement.his.downloads import is_catalogue_download
from yidi_settlement.his.envelope import HisEnvelope, his_answer
from yidi_settlement.his.fields import error_text, refusal_text
from yidi_settlement.his.forwarder import Forwarder
from yidi_settlement.his.owned import OWNED
from yidi_settlement.his.rate_limit import RateLimiter
from yidi_settlement.his.transactions import Transaction, Transactions

log = structlog.get_logger(__name__)

HIS_REQUESTS = Counter(
    "yidi_his_requests_total",
    "HIS gateway requests by infno and outcome (ok, refused, busy, overloaded, unauthenticated, error)",
    ["infno", "outcome"],
)
SETTLEMENT_SECONDS = Histogram(
    "yidi_his_settlement_seconds",
    "Time to answer a settlement (2207/2304/2102) or pre-settlement (2206/2303/2101), wall clock",
    ["infno", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SETTLEMENT_INFNOS = frozenset({"2206", "2207", "2303", "2304", "2101", "2102"})


class KeptReference(Protocol):
    """What this process keeps of the reference data (adapters/reference_cache.py): a unit that
    used it commits only while it still holds, and refuses only on data that still holds."""

    def guard(self, conn: AsyncConnection) -> sa.ColumnElement[bool] | None: ...

    async def verify(self, conn: AsyncConnection) -> None: ...


@dataclass(frozen=True)
class Reply:
    infno: str  # as counted: "unknown" before the envelope is read, "other" if not served
    answer: dict[str, Any]


@dataclass
class Gateway:
    clock: Clock
    authenticator: Authenticator
    messages: Messages
    transactions: Transactions
    forwarder: Forwarder
    kept: KeptReference | None = None
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(2.0, 60))
    max_in_flight: int = 32
    max_working: int = 10
    """Requests worked on at once (each holds a database connection); the rest of those in
    flight wait their turn in arrival order."""
    max_wait_s: float = 2.0
    """How long a request waits for its turn before it is answered his.busy: under overload the
    answers stay inside a HIS client's timeout, whatever the process's throughput turns out to
    be, where a bound on the number in flight alone holds only at the throughput it was sized
    for."""
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _in_flight: int = field(default=0, init=False)
    _working: asyncio.Semaphore = field(init=False)
    _served: dict[str, Transaction] = field(init=False)

    def __post_init__(self) -> None:
        # Built once: every request looks its infno up twice (the metric label, the dispatch).
        self._served = self.transactions.by_infno()
        self._working = asyncio.Semaphore(self.max_working)

    @property
    def in_flight(self) -> int:
        """Requests this process is answering now."""
        return self._in_flight

    async def call(
        self, headers: Mapping[str, str], body: bytes, path_infno: str | None = None
    ) -> Reply:
        """Answer one request; `path_infno` is the infno a per-transaction path names."""
        # One event loop per process: the check and the increment cannot interleave.
        if self._in_flight >= self.max_in_flight:
            return self._overloaded()
        self._in_flight += 1
        try:
            try:
                async with asyncio.timeout(self.max_wait_s):
                    await self._working.acquire()
            except TimeoutError:
                return self._overloaded()
            try:
                return await self._call(headers, body, path_infno)
            finally:
                self._working.release()
        finally:
            self._in_flight -= 1

    def _overloaded(self) -> Reply:
        """Shed load before the request is authenticated or parsed: no database work, nothing
        recorded and no nonce spent, so the hospital may send the same request again as it is."""
        HIS_REQUESTS.labels("unknown", "overloaded").inc()
        now = self.clock.now()
        error = error_text(
            # The rule a HIS already resends on: nothing was recorded.
            DomainError(
                "his.busy",
                "the gateway is working on as many requests as it takes, or this one waited too "
                "long for its turn; send it again",
                field="msgid",
            )
        )
        answer = his_answer(
            visit_region="",
            received=now,
            responded=now,
            sequence=next(self._sequence),
            output=None,
            error=error,
        )
        return Reply("unknown", answer)

    async def _call(self, headers: Mapping[str, str], body: bytes, path_infno: str | None) -> Reply:
        received = self.clock.now()
        started = time.perf_counter()  # latency is real time, whatever the business clock says
        visit_region = ""
        infno = "unknown"  # until the envelope is authenticated and parsed
        institution: str | None = None
        outcome = "error"
        output: dict[str, Any] | None = None
        error: str | None = None
        detail: str | None = None  # the domain's own words, for the operator's log only
        request: Authenticated | None = None
        spent = False  # the request's nonce is claimed and committed
        try:
            request = await self.authenticator.authenticate(headers, body, received, path_infno)
            institution = request.envelope.institution_code
            visit_region = request.envelope.visit_region
            infno = self._metric_infno(request.envelope.infno)
            envelope = request.envelope
            self.rate_limiter.take(envelope.institution_code, envelope.infno)
            if envelope.infno in OWNED and not is_catalogue_download(envelope):
                # Another service answers: the nonce is spent before the call goes out.
                await self.authenticator.claim(request)
                spent = True
                output = await self._forwarded(envelope, envelope.digest())
            else:
                output = await self._run(request)
            outcome = "ok"
        except HisAuthError as exc:
            outcome = "unauthenticated"
            error = refusal_text(exc.rule, exc.field, exc.values)
            detail = str(exc)
        except DomainError as exc:
            outcome = "refused"
            error = error_text(exc, infno)
            detail = exc.message
            if request is not None and not spent:
                # The refused unit rolled back its nonce claim; a refusal still spends the
                # nonce (a captured request must not run later, when it might pass), and a
                # replay of it is answered as one.
                try:
                    await self.authenticator.claim(request)
                except HisAuthError as replay:
                    outcome = "unauthenticated"
                    error = refusal_text(replay.rule, replay.field, replay.values)
                    detail = str(replay)
        except (ConcurrencyError, IdempotencyConflict, DBAPIError) as exc:
            # Concurrent writers kept winning until the write path gave up (e.g. many hospitals
            # settling one person at once). The unit rolled back and no answer was kept, so the
            # HIS may send the same request again; without this it was an HTTP 500 with no
            # envelope.
            if not lost_a_race(exc):
                raise
            outcome = "busy"
            error = error_text(
                DomainError(
                    "his.busy",
                    "concurrent requests changed the same records; nothing was recorded, "
                    "send the same request again",
                    field="msgid",
                )
            )
        finally:
            HIS_REQUESTS.labels(infno, outcome).inc()
            if error is not None:
                # What the hospital was told, for the operator it calls; the log masks the
                # certificate numbers a refusal may quote. Credentials are never logged: the
                # institution is named once authenticated.
                log.info(
                    "his.refused",
                    infno=infno,
                    outcome=outcome,
                    institution=institution,
                    error=error,
                    detail=detail,
                )
            if infno in SETTLEMENT_INFNOS:
                SETTLEMENT_SECONDS.labels(infno, outcome).observe(time.perf_counter() - started)
        answer = his_answer(
            visit_region=visit_region,
            received=received,
            responded=self.clock.now(),
            sequence=next(self._sequence),
            output=output,
            error=error,
        )
        return Reply(infno, answer)

    def _metric_infno(self, infno: str) -> str:
        # Only transactions the gateway knows become label values: a caller must not be able to
        # create time series at will.
        return infno if infno in OWNED or infno in self._served else "other"

    async def _run(self, request: Authenticated) -> dict[str, Any]:
        envelope = request.envelope
        digest = envelope.digest()
        transaction = self._served.get(envelope.infno)
        if transaction is None:
            raise DomainError(
                "his.unknown_infno",
                f"infno {envelope.infno} is not a transaction this gateway serves",
                field="infno",
                values={"infno": envelope.infno[:20]},
            )

        kept = self.kept

        async def work(unit: Unit) -> dict[str, Any]:
            try:
                output = await transaction(unit, envelope, self.clock.now())
            except DomainError as refusal:
                # Nothing commits with a refusal, so no guard: a refusal decided on kept
                # reference data is given only if that data still holds (else decided again).
                if kept is not None:
                    try:
                        await kept.verify(unit.conn)
                    except DBAPIError:
                        raise refusal from None  # the unit failed in the database: as it was
                raise
            crash_point(f"gateway.before_commit.{envelope.infno}")
            return output

        async def spend_nonce(unit: Unit, answer: Keeping | None) -> None:
            # The nonce is claimed only while the kept reference data the unit used still holds,
            # in the same statement, which also keeps the answer; had the data moved, the unit is
            # decided again on fresh data.
            guard = None if kept is None else kept.guard(unit.conn)
            try:
                await self.authenticator.claim_in(unit.conn, request, also=guard, keeping=answer)
            except HisAuthError:
                if kept is not None and guard is not None:
                    await kept.verify(unit.conn)
                raise

        answer = await self.messages.answer_once(
            envelope.institution_code, envelope.message_id, digest, work, spend_nonce
        )
        crash_point(f"gateway.after_commit.{envelope.infno}")
        return answer

    async def _forwarded(self, envelope: HisEnvelope, digest: str) -> dict[str, Any]:
        kept = await self.messages.kept(envelope.institution_code, envelope.message_id)
        if kept is not None:
            return repeat(kept, digest, envelope.message_id)
        output = await self.forwarder.forward(envelope)
        await self.messages.keep(envelope.institution_code, envelope.message_id, digest, output)
        return output
