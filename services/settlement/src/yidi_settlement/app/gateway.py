"""The HIS gateway: authenticate, parse, deduplicate by (institution, msgid), run the transaction.

Every refusal becomes infcode=-1 with an err_msg naming field and rule, and changes nothing:
a transaction's events, read models and idempotency record commit together or not at all.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid6 import uuid7

from yidi_events.auth.his import INSTITUTION, HisAuthError, NonceStore, verify
from yidi_events.db import in_transaction, is_transient
from yidi_events.failpoints import crash_point
from yidi_events.kernel import Conflict, DomainError, NotFound, business_date
from yidi_events.service import Runtime
from yidi_events.store import ConcurrencyError
from yidi_events.store.idempotency import IdempotencyConflict, request_hash
from yidi_settlement.adapters import queries, wire
from yidi_settlement.adapters.forwarder import OWNERS, Forwarder
from yidi_settlement.adapters.tables import visits
from yidi_settlement.app.reference import ReferenceService
from yidi_settlement.app.visits import VisitService

Handler = Callable[[AsyncConnection, wire.HisEnvelope, datetime], Awaitable[dict[str, Any]]]
REVERSED = "reversed-by-2601"

log = structlog.get_logger(__name__)

HIS_REQUESTS = Counter(
    "yidi_his_requests_total",
    "HIS gateway requests by infno and outcome (ok, refused, busy, unauthenticated, error)",
    ["infno", "outcome"],
)
SETTLEMENT_SECONDS = Histogram(
    "yidi_his_settlement_seconds",
    "Time to answer a settlement (2207/2304) or pre-settlement (2206/2303), wall clock",
    ["infno", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SETTLEMENT_INFNOS = frozenset({"2206", "2207", "2303", "2304"})


@dataclass
class Gateway:
    runtime: Runtime
    visits: VisitService
    reference: ReferenceService
    forwarder: Forwarder
    nonces: NonceStore
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def call(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        received = self.runtime.clock.now()
        started = time.perf_counter()  # latency is real time, whatever the business clock says
        visit_region = ""
        infno = "unknown"  # until the envelope is authenticated and parsed
        outcome = "error"
        output: dict[str, Any] | None = None
        error: str | None = None
        try:
            envelope = await self._authenticate(headers, body, received)
            visit_region = envelope.visit_region
            infno = self._metric_infno(envelope.infno)
            output = await self._run(envelope, received)
            outcome = "ok"
        except HisAuthError as exc:
            outcome = "unauthenticated"
            error = f"signature: {exc} (rule his.auth)"
        except DomainError as exc:
            outcome = "refused"
            error = wire.error_text(exc)
        except (ConcurrencyError, DBAPIError) as exc:
            # Concurrent writers kept winning until in_transaction gave up (e.g. many hospitals
            # settling one person at once). The transaction rolled back and no idempotency
            # record was written, so the HIS may send the same request again; without this it
            # was an HTTP 500 with no envelope.
            if not is_transient(exc):
                raise
            outcome = "busy"
            error = wire.error_text(
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
                # certificate numbers a refusal may quote.
                log.info(
                    "his.refused",
                    infno=infno,
                    outcome=outcome,
                    institution=headers.get(INSTITUTION, ""),
                    error=error,
                )
            if infno in SETTLEMENT_INFNOS:
                SETTLEMENT_SECONDS.labels(infno, outcome).observe(time.perf_counter() - started)
        return wire.his_answer(
            visit_region=visit_region,
            received=received,
            responded=self.runtime.clock.now(),
            sequence=next(self._sequence),
            output=output,
            error=error,
        )

    def _metric_infno(self, infno: str) -> str:
        # Only transactions the gateway knows become label values: a caller must not be able to
        # create time series at will.
        return infno if infno in OWNERS or infno in self._handlers() else "other"

    async def _authenticate(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> wire.HisEnvelope:
        if len(body) > wire.MAX_BODY:
            raise DomainError(
                "his.format", f"the request body is larger than {wire.MAX_BODY} bytes", field="body"
            )
        claimed = headers.get(INSTITUTION, "")
        async with self.runtime.engine.connect() as conn:
            secret = await queries.secret_of(conn, claimed) if claimed else None
        window = timedelta(seconds=self.runtime.settings.his_signature_window_s)
        verified = verify(
            headers, body, lambda code: secret if code == claimed else None, now, window
        )
        envelope = wire.parse_envelope(body)
        if envelope.institution_code != verified.institution_code:
            raise DomainError(
                "his.institution_mismatch",
                f"the envelope names {envelope.institution_code} but the request is signed by "
                f"{verified.institution_code}",
                field="fixmedins_code",
            )
        # Claimed last: a request refused above leaves its nonce unused.
        await self.nonces.claim(verified)
        return envelope

    def _hash(self, envelope: wire.HisEnvelope) -> str:
        return request_hash(
            {
                "infno": envelope.infno,
                "visit_region": envelope.visit_region,
                "insured_region": envelope.insured_region,
                "input": envelope.input,
            }
        )

    async def _run(self, envelope: wire.HisEnvelope, now: datetime) -> dict[str, Any]:
        scope = f"his:{envelope.institution_code}"
        digest = self._hash(envelope)
        if envelope.infno in OWNERS:
            return await self._forwarded(envelope, scope, digest)
        handler = self._handlers().get(envelope.infno)
        if handler is None:
            raise DomainError(
                "his.unknown_infno",
                f"infno {envelope.infno} is not a transaction this gateway serves",
                field="infno",
            )

        async def work(conn: AsyncConnection) -> dict[str, Any]:
            stored = await self.runtime.idempotency.lookup(conn, scope, envelope.message_id)
            if stored is not None:
                return self._repeat(stored.request_hash, digest, stored.response, envelope)
            output = await handler(conn, envelope, self.runtime.clock.now())
            await self.runtime.idempotency.record(conn, scope, envelope.message_id, digest, output)
            crash_point(f"gateway.before_commit.{envelope.infno}")
            return output

        for attempt in range(3):
            try:
                answer = await in_transaction(self.runtime.engine, work)
                crash_point(f"gateway.after_commit.{envelope.infno}")
                return answer
            except IdempotencyConflict:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _repeat(
        stored_hash: str, digest: str, response: dict[str, Any], envelope: wire.HisEnvelope
    ) -> dict[str, Any]:
        if stored_hash == REVERSED:
            raise Conflict(
                "his.msgid_reversed",
                f"msgid {envelope.message_id} was reversed by 2601 and cannot be used again",
                field="msgid",
            )
        if stored_hash != digest:
            raise Conflict(
                "his.msgid_reused",
                f"msgid {envelope.message_id} was already used by this institution for a different request",
                field="msgid",
            )
        return response

    async def _forwarded(
        self, envelope: wire.HisEnvelope, scope: str, digest: str
    ) -> dict[str, Any]:
        async with self.runtime.engine.connect() as conn:
            stored = await self.runtime.idempotency.lookup(conn, scope, envelope.message_id)
        if stored is not None:
            return self._repeat(stored.request_hash, digest, stored.response, envelope)
        output = await self.forwarder.forward(
            infno=envelope.infno,
            institution_code=envelope.institution_code,
            message_id=envelope.message_id,
            visit_region=envelope.visit_region,
            insured_region=envelope.insured_region,
            payload=envelope.input,
        )
        try:
            async with self.runtime.engine.begin() as conn:
                await self.runtime.idempotency.record(
                    conn, scope, envelope.message_id, digest, output
                )
        except IdempotencyConflict:
            pass  # a concurrent twin recorded it; the owner deduplicates by message_id
        return output

    def _handlers(self) -> dict[str, Handler]:
        return {
            "9001": self._sign_in,
            "9002": self._sign_out,
            "1101": self._person_info,
            "2201": self._register,
            "2401": self._register,
            "2202": self._cancel_registration,
            "2404": self._cancel_registration,
            "2203": self._diagnose,
            "2203A": self._diagnose,
            "2204": self._upload,
            "2301": self._upload,
            "2205": self._cancel_lines,
            "2302": self._cancel_lines,
            "2402": self._discharge,
            "2206": self._pre_settle,
            "2303": self._pre_settle,
            "2207": self._settle,
            "2304": self._settle,
            "2208": self._cancel_settlement,
            "2305": self._cancel_settlement,
            "2601": self._reverse,
            "5203": self._query,
            "3301": self._map_item,
            "3302": self._unmap_item,
        }

    # --- transactions ----------------------------------------------------------------------

    async def _sign_in(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        await queries.hospital(conn, env.institution_code, business_date(now))
        return {"signinoutb": {"sign_time": wire.local_time(now), "sign_no": uuid7().hex[:30]}}

    async def _sign_out(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        return {"signoutoutb": {"sign_time": wire.local_time(now)}}

    async def _person_info(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        voucher = wire.person_query_from_wire(env.input)
        today = business_date(now)
        person_id = await self._person_of_voucher(conn, voucher)
        person = await queries.person(conn, person_id, today)
        if voucher.voucher_type == "03" and voucher.card_serial != person.row["card_serial"]:
            raise DomainError(
                "eligibility.identity_mismatch",
                "the social-security card serial (card_sn) does not match the person's card (人卡不符)",
                field="card_sn",
            )
        return wire.person_to_wire(person.row, person.at_settlement.account_balance, today)

    async def _person_of_voucher(self, conn: AsyncConnection, voucher: wire.Voucher) -> str:
        if voucher.voucher_type == "01":
            # An e-voucher resolves to its person: by person number or certificate.
            found = await queries.person_by_certificate(conn, voucher.voucher_no)
            if found is None:
                try:
                    await queries.person(
                        conn, voucher.voucher_no, business_date(self.runtime.clock.now())
                    )
                    found = voucher.voucher_no
                except NotFound:
                    found = None
        else:
            found = await queries.person_by_certificate(conn, voucher.voucher_no)
        if found is None:
            raise NotFound(
                "person.not_found",
                f"no insured person holds voucher {voucher.voucher_type}/{voucher.voucher_no}",
                field="mdtrt_cert_no",
            )
        return found

    async def _register(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        command = wire.registration_from_wire(env.infno, env.input)
        done = await self.visits.register(
            conn,
            institution=env.institution_code,
            visit_region=env.visit_region,
            insured_region=env.insured_region,
            command=command,
            message_id=env.message_id,
            now=now,
        )
        if env.infno == "2401":
            return {"result": {"mdtrt_id": done["visit_id"], "psn_no": command.person_id}}
        return {"data": {"mdtrt_id": done["visit_id"], "psn_no": command.person_id}}

    async def _cancel_registration(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        ref = wire.visit_ref_from_wire(wire.data_node(env.input))
        await self.visits.cancel_registration(
            conn,
            institution=env.institution_code,
            visit_id=ref.visit_id,
            person_id=ref.person_id,
            now=now,
        )
        return {"data": {"mdtrt_id": ref.visit_id}}

    async def _diagnose(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        ref, diagnoses = wire.diagnoses_from_wire(env.input)
        await self.visits.diagnose(
            conn,
            institution=env.institution_code,
            visit_id=ref.visit_id,
            person_id=ref.person_id,
            diagnoses=diagnoses,
            now=now,
        )
        return {"data": {"mdtrt_id": ref.visit_id}}

    async def _upload(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        ref, lines = wire.fee_lines_upload_from_wire(env.input)
        splits = await self.visits.upload_fee_lines(
            conn,
            institution=env.institution_code,
            visit_id=ref.visit_id,
            person_id=ref.person_id,
            lines=lines,
            message_id=env.message_id,
            now=now,
        )
        return {"result": [wire.fee_line_split_to_wire(s, entry) for s, entry in splits]}

    async def _cancel_lines(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        ref, nos = wire.fee_cancel_from_wire(env.infno, env.input)
        count = await self.visits.cancel_fee_lines(
            conn,
            institution=env.institution_code,
            visit_id=ref.visit_id,
            person_id=ref.person_id,
            fee_line_nos=nos,
            now=now,
        )
        return {"data": {"mdtrt_id": ref.visit_id, "cancelled": count}}

    async def _discharge(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        d = wire.discharge_from_wire(env.input)
        await self.visits.discharge(
            conn,
            institution=env.institution_code,
            visit_id=d.ref.visit_id,
            person_id=d.ref.person_id,
            discharged_on=d.discharged_on,
            died=d.died,
            principal_diagnosis=d.principal_diagnosis,
            now=now,
        )
        return {"result": {"mdtrt_id": d.ref.visit_id}}

    async def _settlement(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime, commit: bool
    ) -> dict[str, Any]:
        command = wire.settle_from_wire(env.input)
        result, person, reg, settlement_id, agency, category = await self.visits.settle(
            conn,
            institution=env.institution_code,
            command=command,
            message_id=env.message_id,
            now=now,
            commit=commit,
        )
        return wire.settlement_out(
            result=result,
            visit={
                "visit_id": reg.visit_id,
                "insurance_type": reg.insurance_type,
                "medical_type": reg.medical_type,
            },
            person=person,
            settlement_id=settlement_id,
            settled_at=now if commit else None,
            message_id=env.message_id if commit else None,
            voucher_type=command.voucher.voucher_type if command.voucher else None,
            clearing_agency=agency if commit else None,
            clearing_category=category if commit else None,
        )

    async def _pre_settle(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        return await self._settlement(conn, env, now, commit=False)

    async def _settle(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        return await self._settlement(conn, env, now, commit=True)

    async def _cancel_settlement(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        ref, settlement_id = wire.settlement_cancel_from_wire(env.input)
        cancellation_id = await self.visits.cancel_settlement(
            conn,
            institution=env.institution_code,
            visit_id=ref.visit_id,
            person_id=ref.person_id,
            settlement_id=settlement_id,
            message_id=env.message_id,
            now=now,
        )
        return await self._record(conn, env.institution_code, cancellation_id)

    async def _record(
        self, conn: AsyncConnection, institution: str, settlement_id: str
    ) -> dict[str, Any]:
        row = await queries.settlement_row(
            conn, institution_code=institution, settlement_id=settlement_id
        )
        if row is None:
            raise NotFound(
                "settlement.not_found",
                f"settlement {settlement_id} is not a settlement of this institution",
                field="setl_id",
            )
        return wire.settlement_record_to_wire(row)

    async def _query(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        node = wire.data_node(env.input)
        settlement_id = node.get("setl_id")
        if not isinstance(settlement_id, str) or not settlement_id:
            raise DomainError("his.format", "setl_id is required", field="setl_id")
        return await self._record(conn, env.institution_code, settlement_id)

    async def _reverse(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        person_id, original, original_infno = wire.reversal_from_wire(env.input)
        scope = f"his:{env.institution_code}"
        reversed_what = "nothing"
        if original_infno in ("2207", "2304"):
            row = await queries.settlement_row(
                conn, institution_code=env.institution_code, message_id=original
            )
            if row is not None and not row["is_refund"]:
                if row["person_id"] != person_id:
                    raise DomainError(
                        "reversal.person_mismatch",
                        f"msgid {original} settled another person",
                        field="psn_no",
                    )
                if row["cancelled_by"] is None:
                    await self.visits.cancel_settlement(
                        conn,
                        institution=env.institution_code,
                        visit_id=row["visit_id"],
                        person_id=person_id,
                        settlement_id=row["settlement_id"],
                        message_id=env.message_id,
                        now=now,
                        reversal_of=(original, original_infno),
                    )
                    reversed_what = row["settlement_id"]
        elif original_infno in ("2201", "2401"):
            visit = (
                (
                    await conn.execute(
                        sa.select(visits).where(
                            visits.c.institution_code == env.institution_code,
                            visits.c.message_id == original,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if visit is not None and visit["status"] != "registration_cancelled":
                await self.visits.cancel_registration(
                    conn,
                    institution=env.institution_code,
                    visit_id=visit["visit_id"],
                    person_id=person_id,
                    now=now,
                )
                reversed_what = visit["visit_id"]
        elif original_infno not in ("1101", "2206", "2303", "5203", "9001", "9002"):
            raise DomainError(
                "reversal.not_reversible",
                f"infno {original_infno} cannot be reversed by 2601; use its own cancel transaction",
                field="oinfno",
            )
        # The original msgid can never run after its reversal (a late duplicate must not settle).
        stored = await self.runtime.idempotency.lookup(conn, scope, original)
        if stored is None:
            await self.runtime.idempotency.record(conn, scope, original, REVERSED, {})
        return {"data": {"omsgid": original, "oinfno": original_infno, "reversed": reversed_what}}

    async def _map_item(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        item, code, _ = wire.item_mapping_from_wire(env.input)
        await self.reference.map_item(conn, env.institution_code, item, code, now)
        return {"data": {"fixmedins_hilist_id": item, "med_list_codg": code}}

    async def _unmap_item(
        self, conn: AsyncConnection, env: wire.HisEnvelope, now: datetime
    ) -> dict[str, Any]:
        item, code, _ = wire.item_mapping_from_wire(env.input)
        await self.reference.unmap_item(conn, env.institution_code, item, now)
        return {"data": {"fixmedins_hilist_id": item, "med_list_codg": code}}
