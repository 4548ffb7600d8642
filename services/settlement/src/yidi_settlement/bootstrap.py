"""Composition root of the settlement service: settings, runtime, routers, consumed projections."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI

from yidi_events.auth.his import NonceStore
from yidi_events.definition import ServiceDefinition
from yidi_events.service import Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings
from yidi_settlement import sandbox
from yidi_settlement.adapters import insured_facts, own_facts
from yidi_settlement.adapters.catalogue_reads import SqlCatalogueReads
from yidi_settlement.adapters.hospital_secrets import SqlHospitalSecrets
from yidi_settlement.adapters.lookups import SqlQueryReads
from yidi_settlement.adapters.reads import HisCredentials
from yidi_settlement.adapters.reference_cache import CachedReads, ReferenceCache
from yidi_settlement.app.catalogue_queries import CatalogueQueryService
from yidi_settlement.app.messages import Messages
from yidi_settlement.app.queries import QueryService
from yidi_settlement.app.reference import ReferenceService
from yidi_settlement.app.visits import VisitService
from yidi_settlement.domain import events as own_events
from yidi_settlement.entrypoints import agency, his, person_year
from yidi_settlement.his.auth import Authenticator
from yidi_settlement.his.catalogue_queries import CatalogueQueryTransactions
from yidi_settlement.his.forwarder import Forwarder
from yidi_settlement.his.gateway import Gateway
from yidi_settlement.his.queries import QueryTransactions
from yidi_settlement.his.rate_limit import RateLimiter
from yidi_settlement.his.signatures import CSB, HMAC, TIF
from yidi_settlement.his.transactions import Transactions
from yidi_settlement.his.typed import SpecTypedJSON

SERVICE = "settlement"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def subscriptions() -> list[Subscription]:
    # Persons, filings, policies (filing), persons' identity (filing's identity topic, which only
    # this service may read) and suspensions of persons and hospitals (audit).
    return [
        Subscription(
            insured_facts.make_projection(), sources=["filing", "filing.identity", "audit"]
        )
    ]


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return Runtime(
        SERVICE,
        settings or ServiceSettings(),
        MIGRATIONS,
        subscriptions(),
        own=[own_facts.make_projection()],
    )


def build_gateway(
    runtime: Runtime, reference: ReferenceService, credentials: HisCredentials
) -> Gateway:
    settings = runtime.settings
    windows = {
        HMAC: timedelta(seconds=settings.his_signature_window_s),
        TIF: timedelta(seconds=settings.his_tif_window_s),
        CSB: timedelta(seconds=settings.his_csb_window_s),
    }
    # One per process: every worker keeps its own, each checked against the database's version.
    kept = ReferenceCache()
    return Gateway(
        clock=runtime.clock,
        authenticator=Authenticator(
            credentials,
            NonceStore(runtime.engine, max(windows.values())),
            windows,
        ),
        messages=Messages(runtime.write),
        transactions=Transactions(
            VisitService(
                runtime.write,
                CachedReads(kept),
                timedelta(seconds=runtime.settings.his_clock_skew_s),
            ),
            reference,
            QueryTransactions(QueryService(runtime.write, SqlQueryReads())),
            CatalogueQueryTransactions(CatalogueQueryService(runtime.write, SqlCatalogueReads())),
        ),
        forwarder=Forwarder(runtime.settings),
        kept=kept,
        rate_limiter=RateLimiter(
            settings.his_person_query_rate_per_s, settings.his_person_query_burst
        ),
        max_in_flight=settings.his_max_in_flight,
        max_working=min(settings.his_max_working, settings.db_pool_size),
        max_wait_s=settings.his_max_wait_ms / 1000,
    )


def create(settings: ServiceSettings | None = None) -> FastAPI:
    runtime = build_runtime(settings)
    credentials = HisCredentials(runtime.engine)
    reference = ReferenceService(runtime.write, SqlHospitalSecrets(), credentials.forget)
    gateway = build_gateway(runtime, reference, credentials)
    # HIS answers leave typed as the spec types them (amounts as numbers): his/typed.py
    his_routes = APIRouter(default_response_class=SpecTypedJSON)
    his_routes.include_router(his.router(gateway, runtime.settings.his_hgs_prefixes))
    app = create_app(
        runtime,
        [agency.router(runtime, reference), person_year.router(runtime)],
        # The national interface fixes the HIS paths: they carry no version of ours.
        unversioned=[his_routes],
        title="Yidi settlement service and HIS gateway",
        description=__doc__ or "",
    )
    app.state.gateway = gateway
    his.document(app, gateway)
    return app


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8002,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
    load_sandbox=sandbox.load,
)
