"""Composition root of the filing service: settings, runtime (with its own read models, kept by
the write path), routers, consumed projections, adapters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from yidi_events import problems
from yidi_events.auth.agency import TokenSigner
from yidi_events.definition import ServiceDefinition
from yidi_events.province import provincial_centre
from yidi_events.service import Reaction, Runtime, Subscription, create_app
from yidi_events.settings import InsecureSettings, ServiceSettings
from yidi_filing import sandbox
from yidi_filing.adapters.accounts import PostgresAccounts
from yidi_filing.adapters.certificates import PostgresCertificates
from yidi_filing.adapters.projection import read_models
from yidi_filing.app.accounts import Identity
from yidi_filing.app.audit_policy import audit_suspensions
from yidi_filing.app.common import Context
from yidi_filing.app.person_year import reimbursed_claims, visit_ledger
from yidi_filing.app.persons import RowErrors
from yidi_filing.app.queues import filings_to_review
from yidi_filing.app.settings import SettingsBook, province_rules
from yidi_filing.domain import events as own_events
from yidi_filing.entrypoints import (
    chronic_api,
    filings_api,
    his_api,
    identity_api,
    persons_api,
    policies_api,
)

SERVICE = "filing"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

DESCRIPTION = """The insured place's service (参保地): insured persons, cross-region filings (备案),
benefit policies. Every agency call is scoped to the caller's own insured region (bearer token:
region, roles, kind); reviewers (role `reviewer`) act only on their agency's queue; insured
persons (kind `person`, user = person id) file online under `/v1/online`. It is also the identity
component: agency users log in at `/v1/api/identity/login` for a short-lived EdDSA token, and every
service verifies tokens with the keys it publishes at `/.well-known/jwks.json`. Refusals answer 4xx with
an RFC 9457 problem naming the rule and the field, and change nothing. Facts go to `yidi.filing.events`."""


def subscriptions(context: Context) -> list[Subscription]:
    return [
        Reaction(audit_suspensions(context), sources=["audit"]),
        Reaction(visit_ledger(context), sources=["settlement"]),
        Reaction(reimbursed_claims(context), sources=["reimbursement"]),
    ]


def settings_book(settings: ServiceSettings) -> SettingsBook:
    """Each insured place's filing settings under the province file's `[filing]` rules, checked
    at start (a wrong key or value stops the service naming it)."""
    calendar = settings.working_calendar()
    return SettingsBook(calendar=calendar, province=province_rules(settings.province(), calendar))


def build_runtime(
    settings: ServiceSettings | None = None, context: Context | None = None
) -> Runtime:
    settings = settings or ServiceSettings()
    context = context or Context(PostgresCertificates(), settings_book(settings))
    runtime = Runtime(
        SERVICE,
        settings,
        MIGRATIONS,
        subscriptions(context),
        own=[read_models()],
        queue_measures=[filings_to_review],
    )
    context.bind(runtime)
    return runtime


async def _row_errors(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RowErrors)
    return problems.problem(
        exc.status,
        exc.rule,
        exc.message,
        field=exc.field,
        rows=[
            {"row": e.row, "field": e.field, "rule": e.rule, "message": e.message} for e in exc.rows
        ],
    )


def signer_for(settings: ServiceSettings) -> TokenSigner:
    """The identity keys: configured ones, or in sandbox mode the key derived from the sandbox
    secret (what tests and sandbox tools mint with)."""
    settings.refuse_insecure()  # a sandbox secret is the first thing to refuse, keys or not
    audience = settings.auth_audience
    if settings.auth_signing_keys is not None:
        return TokenSigner.from_jwks(settings.auth_signing_keys.get_secret_value(), audience)
    if not settings.sandbox:
        raise InsecureSettings(
            "filing holds the identity keys: YIDI_AUTH_SIGNING_KEYS (a JWKS of Ed25519 private "
            "keys) is required outside sandbox mode"
        )
    return TokenSigner.sandbox(settings.auth_secret.get_secret_value(), audience)


def create(settings: ServiceSettings | None = None, filing: SettingsBook | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    context = Context(PostgresCertificates(), filing or settings_book(settings))
    runtime = build_runtime(settings, context)
    signer = signer_for(runtime.settings)
    app = create_app(
        runtime,
        [
            persons_api.router,
            chronic_api.router,
            filings_api.router,
            filings_api.online,
            policies_api.router,
            his_api.router,
            identity_api.router,
        ],
        unversioned=[identity_api.well_known],
        title="Yidi filing service",
        description=DESCRIPTION,
    )
    app.state.filing = context
    app.state.identity = Identity(
        runtime.write,
        PostgresAccounts(runtime.engine),
        signer,
        timedelta(seconds=runtime.settings.auth_token_ttl_s),
        centre_region=provincial_centre(runtime.settings.province()),
    )
    # Its own tokens are checked with its own keys, not fetched from itself over HTTP.
    app.state.verifier.accept_jwks(signer.jwks())
    app.add_exception_handler(RowErrors, _row_errors)
    return app


DEFINITION = ServiceDefinition(
    name=SERVICE,
    port=8001,
    migrations=MIGRATIONS,
    create=create,
    build_runtime=build_runtime,
    events=own_events,
    schemas=SCHEMAS,
    load_sandbox=sandbox.load,
)
