"""A harness for settlement service tests: the real app on a fresh migrated database, a signed HIS
client, agency tokens, and the insured places' facts fed through the consumed projection."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from uuid6 import uuid7

from yidi_benefits import accumulators as acc
from yidi_cli.sandbox import shared_dir
from yidi_events import registry
from yidi_events.auth.agency import issue_token
from yidi_events.auth.his import sign
from yidi_events.contracts.filing import (
    ChronicDiseaseCertified,
    EnrolmentStatus,
    FilingApproved,
    FilingChannel,
    InsuranceType,
    PersonDied,
    PersonEnrolled,
    PersonIdentified,
    PersonYearStated,
    PolicyPublished,
)
from yidi_events.contracts.policy import AssistanceIdentity, FilingKind
from yidi_events.contracts.settlement import AccumulatorMovement
from yidi_events.envelope import Envelope
from yidi_events.kernel import business_date, yuan_to_fen
from yidi_events.policy_document import parse_policy_document
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_events.store.schema import events as event_table
from yidi_events.store.schema import idempotency
from yidi_settlement import bootstrap, sandbox
from yidi_settlement.adapters import insured_facts, queries

# --import-mode=importlib puts no test directory on sys.path; settlement_his_numbers needs it.
sys.path.insert(0, str(Path(__file__).parent))

SHARED = shared_dir()
SANDBOX = SHARED / "sandbox"
FEED_TIME = datetime(2025, 12, 1, tzinfo=UTC)


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    secrets: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def token(self, region: str = "320000", kind: str = "centre") -> dict[str, str]:
        secret = self.runtime.settings.auth_secret.get_secret_value()
        return {
            "Authorization": "Bearer "
            + issue_token(
                secret, user_id="t", region=region, roles=["agency", "hospital_admin"], kind=kind
            )
        }

    # --- reference data ------------------------------------------------------------------

    async def hospital(self, code: str, region: str, level: str, networked: bool = True) -> None:
        secret = f"test-secret-{code}-0123456789"
        response = await self.client.post(
            "/v1/api/hospitals",
            headers=self.token(),
            json={
                "institution_code": code,
                "institution_name": f"{code} hospital",
                "region": region,
                "hospital_level": level,
                "networked": networked,
                "his_secret": secret,
            },
        )
        assert response.status_code == 201, response.text
        self.secrets[code] = secret

    async def catalogue(self, region: str, catalogue: dict[str, Any]) -> None:
        response = await self.client.post(
            "/v1/api/catalogue/import",
            headers={**self.token(), "content-type": "application/json"},
            params={"region": region, "effective_from": "2026-01-01"},
            content=json.dumps(catalogue),
        )
        assert response.status_code == 200, response.text

    async def load_sandbox(self) -> str:
        summary = await sandbox.load_async("http://test", SANDBOX, self.client)
        for h in json.loads((SANDBOX / "hospitals.json").read_text("utf-8")):
            self.secrets[h["fixmedins_code"]] = h["his_secret"]
        for p in json.loads((SANDBOX / "pharmacies.json").read_text("utf-8")):
            self.secrets[p["fixmedins_code"]] = p["his_secret"]
        return summary

    async def sandbox_world(self) -> None:
        """The sandbox's hospitals and catalogue, and its insured places' policies, persons and
        approved filings, as the insured places publish them."""
        summary = await self.load_sandbox()
        assert summary.startswith("7 hospitals registered")
        for doc in json.loads((SANDBOX / "policies.json").read_text("utf-8")):
            await self.policy(doc)
        for p in json.loads((SANDBOX / "persons.json").read_text("utf-8")):
            await self.person(p)
        for number, f in enumerate(json.loads((SANDBOX / "filings.json").read_text("utf-8"))):
            await self.filing(f, filing_id=f"F{number}")

    # --- insured places' facts -----------------------------------------------------------

    async def feed(self, payload: Any, stream: str) -> None:
        version = self.versions.get(stream, 0) + 1
        self.versions[stream] = version
        spec = registry.spec_of(payload)
        envelope = Envelope(
            event_id=uuid7(),
            event_type=spec.event_type,
            schema_version=spec.version,
            stream_id=stream,
            stream_version=version,
            partition_key=spec.partition_key(payload),
            occurred_at=FEED_TIME,
            business_date=FEED_TIME.date(),
            producer=spec.service,
            correlation_id=None,
            causation_id=None,
            payload=payload,
        )
        projection = insured_facts.make_projection()
        async with self.runtime.engine.begin() as conn:
            await projection.apply(conn, envelope)

    async def policy(self, document: dict[str, Any], version: int = 1) -> None:
        policy = parse_policy_document(document)
        await self.feed(
            PolicyPublished(
                insured_region=policy.insured_region,
                insurance_type=policy.insurance_type,
                version=version,
                effective_from=policy.effective_from,
                policy=policy,
                superseded_version=None,
                superseded_effective_to=None,
                published_on=date(2025, 12, 1),
            ),
            f"policy-{policy.insured_region}-{policy.insurance_type.value}",
        )

    async def person(self, p: dict[str, Any], *, identity_first: bool = False) -> None:
        """The person as filing publishes them: PersonEnrolled on filing's events topic and
        PersonIdentified on its identity topic (two streams, in either order)."""
        enrolled = PersonEnrolled(
            person_id=p["psn_no"],
            insured_region=p["insuplc_admdvs"],
            insurance_type=InsuranceType(p["insutype"]),
            person_category=p["psn_type"],
            civil_servant=p.get("cvlserv_flag") == "1",
            assistance_identities=tuple(AssistanceIdentity(i) for i in p.get("identities", [])),
            account_balance=yuan_to_fen(p.get("acct_balance", "0.00")),
            enrolment_status=EnrolmentStatus.ACTIVE,
            enrolled_on=date(2020, 1, 1),
        )
        identified = PersonIdentified(
            person_id=p["psn_no"],
            name=p.get("psn_name", "测试"),
            certificate_type="01",
            certificate_no=p["certno"],
            gender=p.get("gend", "1"),
            birth_date=date.fromisoformat(p.get("brdy", "1980-01-01")),
            card_serial=p.get("card_sn"),
        )
        facts = [
            (enrolled, f"person-{p['psn_no']}"),
            (identified, f"person-{p['psn_no']}.identity"),
        ]
        for payload, stream in reversed(facts) if identity_first else facts:
            await self.feed(payload, stream)
        if p.get("death_date"):
            await self.feed(
                PersonDied(
                    person_id=p["psn_no"],
                    death_date=date.fromisoformat(p["death_date"]),
                    recorded_on=date(2026, 3, 2),
                ),
                f"person-{p['psn_no']}",
            )

    async def filing(self, f: dict[str, Any], filing_id: str | None = None) -> None:
        await self.feed(
            FilingApproved(
                filing_id=filing_id or f"F{f['psn_no']}",
                person_id=f["psn_no"],
                kind=FilingKind(f["filing_kind"]),
                long_term_type=None,
                insured_region=f["insuplc_admdvs"],
                visit_region=f["mdtrtarea_admvs"],
                destination_institution=f.get("dest_fixmedins_code"),
                diagnosis=f.get("diag_code"),
                valid_from=date.fromisoformat(f["begndate"]),
                valid_to=date.fromisoformat(f["enddate"]) if f.get("enddate") else None,
                promise_based=bool(f.get("promise_based")),
                channel=FilingChannel.COUNTER,
                approved_on=date(2025, 12, 1),
                reviewer=None,
            ),
            f"person-{f['psn_no']}",
        )

    async def chronic(
        self, person_id: str, disease_code: str, valid_from: date, insured_region: str
    ) -> None:
        """The insured place certified the person for a chronic disease from `valid_from`."""
        await self.feed(
            ChronicDiseaseCertified(
                certificate_id=f"C-{person_id}-{disease_code}",
                person_id=person_id,
                insured_region=insured_region,
                disease_code=disease_code,
                disease_name=disease_code,
                evidence_institution="H00000000000",
                evidence_institution_name="鉴定医院",
                evidence_date=valid_from,
                diagnosing_doctor=None,
                valid_from=valid_from,
                valid_to=None,
                channel=FilingChannel.COUNTER,
                submitted_by_institution=None,
                certified_on=valid_from,
            ),
            f"person-{person_id}",
        )

    async def carry_in(self, person_id: str, before: acc.Accumulators) -> None:
        """The insured place states the person's year so far (before any settlement here): its
        figures, with the account left as it is."""
        year = before.policy_year
        movement = AccumulatorMovement(
            **{f.name: getattr(before, f.name) for f in fields(before)}, account_balance=0
        )
        await self.feed(
            PersonYearStated(
                person_id=person_id,
                policy_year=year,
                totals=movement,
                change=movement,
                source="local_settlement",
                reference=f"carried-in-{year}",
                visit_ledger_counted=0,
                stated_on=date(year, 1, 1),
            ),
            f"person-{person_id}",
        )

    async def accumulators(self, person_id: str, year: int) -> acc.Accumulators:
        """The person's year as this place settles on it: stated, plus our uncounted movements."""
        async with self.runtime.engine.connect() as conn:
            return await queries.person_year(conn, person_id, year)

    # --- the HIS wire --------------------------------------------------------------------

    def envelope(
        self,
        infno: str,
        payload: dict[str, Any],
        institution: str,
        *,
        msgid: str | None = None,
        region: str | None = None,
        insured: str | None = None,
        envelope_code: str | None = None,
    ) -> bytes:
        self.seq += 1
        now = self.runtime.clock.now()
        doc = {
            "infno": infno,
            "msgid": msgid or f"{institution}{now:%Y%m%d%H%M%S}{self.seq:06d}",
            "mdtrtarea_admvs": region or "320100",
            "insuplc_admdvs": insured,
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "t",
            "opter_name": "t",
            "inf_time": f"{now:%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": envelope_code or institution,
            "fixmedins_name": institution,
            "sign_no": "",
            "input": payload,
        }
        return json.dumps(doc, ensure_ascii=False).encode()

    async def post(
        self, body: bytes, institution: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        signed = headers or sign(
            self.secrets[institution], institution, body, self.runtime.clock.now()
        )
        response = await self.client.post(
            "/fsi/api/rsfComIfsService/callService",
            content=body,
            headers={**signed, "content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
        return answer

    async def his(
        self, infno: str, payload: dict[str, Any], institution: str, **kw: Any
    ) -> dict[str, Any]:
        return await self.post(self.envelope(infno, payload, institution, **kw), institution)

    async def ok(
        self, infno: str, payload: dict[str, Any], institution: str, **kw: Any
    ) -> dict[str, Any]:
        answer = await self.his(infno, payload, institution, **kw)
        assert answer["infcode"] == 0, answer["err_msg"]
        output: dict[str, Any] = answer["output"]
        return output

    @asynccontextmanager
    async def twin(self) -> AsyncIterator[Harness]:
        """Another process of the service on the same database: its own app, engine and
        per-process caches, the same hospitals' secrets."""
        app = bootstrap.create(self.runtime.settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                # Its message ids are numbered apart from this one's.
                yield Harness(app=app, client=client, secrets=self.secrets, seq=500_000)

    async def counts(self) -> tuple[int, int]:
        async with self.runtime.engine.connect() as conn:
            n_events = await conn.scalar(sa.select(sa.func.count()).select_from(event_table))
            n_keys = await conn.scalar(sa.select(sa.func.count()).select_from(idempotency))
        return int(n_events or 0), int(n_keys or 0)


@pytest.fixture
def make_harness(database: Callable[..., str], infra: Any) -> Callable[[datetime], Any]:
    @asynccontextmanager
    async def build(start: datetime) -> AsyncIterator[Harness]:
        settings = ServiceSettings(
            database_url=database(bootstrap.MIGRATIONS),
            kafka_bootstrap=infra.kafka_bootstrap,
            kafka_namespace=f"t{uuid7().hex[:10]}",
            relay_enabled=False,
            consumers_enabled=False,
            clock="controlled",
            clock_start=start,
            log_json=False,
            log_level="WARNING",
            db_pool_size=25,
        )
        app = bootstrap.create(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Harness(app=app, client=client)

    return build


__all__ = ["Harness", "business_date"]
