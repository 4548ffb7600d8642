"""Composition root of the reimbursement service (手工报销, the insured place): settings, runtime,
routers, consumed facts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from yidi_events.definition import ServiceDefinition
from yidi_events.service import Runtime, Subscription, create_app
from yidi_events.settings import ServiceSettings
from yidi_reimbursement.adapters.projection import claims_own, insured_facts
from yidi_reimbursement.adapters.queries import PostgresClaimFacts
from yidi_reimbursement.adapters.verification import HttpInvoiceVerifier
from yidi_reimbursement.app.claims import Claims
from yidi_reimbursement.domain import events as own_events
from yidi_reimbursement.domain.computation import load_catalogue
from yidi_reimbursement.entrypoints import api
from yidi_reimbursement.settings import ReimbursementSettings, province_terms

SERVICE = "reimbursement"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

DESCRIPTION = """Manual reimbursement at the insured place (手工报销): when a visit could not settle
directly, the person pays in full and claims here, at the agency counter (`/v1/claims`, role
`reimbursement`, the officer's own region) or online (`/v1/online/claims`, the person's own). Each
invoice is verified with the e-invoice verification service and claimed once; a visit settled
directly is refused; the detail list must sum to the invoices. Accepted, reviewed (two reviewers
above the configured amount), computed by the shared benefit engine under the insured place's
policy, and paid in bank payment batches, within deadlines in working days. Refusals answer 4xx
with `{"error": {"rule", "field", "message"}}` and change nothing. Facts go to
`yidi.reimbursement.events`."""


def build_runtime(settings: ServiceSettings | None = None) -> Runtime:
    return Runtime(
        SERVICE,
        settings or ServiceSettings(),
        MIGRATIONS,
        [Subscription(insured_facts(), sources=["filing", "settlement"])],
        own=[claims_own()],
    )


def create(
    settings: ServiceSettings | None = None, reimbursement: ReimbursementSettings | None = None
) -> FastAPI:
    runtime = build_runtime(settings)
    own = reimbursement or ReimbursementSettings()
    claims = Claims(
        write=runtime.write,
        facts=PostgresClaimFacts(),
        verifier=HttpInvoiceVerifier(runtime.settings.reimbursement_verification_url),
        terms=province_terms(runtime.settings),
        catalogue=load_catalogue(own.catalogue_file),
        clock=runtime.clock,
    )
    app = create_app(
        runtime,
        [api.agency, api.payments, api.online],
        title="Yidi reimbursement service",
        description=DESCRIPTION,
    )
    app.state.claims = claims
    app.state.engine = runtime.engine
    return app


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8007,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
)
