"""Configuration of a service process, from `YIDI_*` environment variables (see docs/configuration.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.kernel.calendar import WorkingCalendar
from yidi_events.province import load_province
from yidi_events.runtime.kafka import KafkaSecurity, KafkaSettings

DEFAULT_AUTH_SECRET = "yidi-sandbox-platform-secret-change-me-in-production"
MIN_SECRET_LENGTH = 32
# Words of the placeholders shipped in manifests and examples: a secret holding one was not set.
PLACEHOLDER_WORDS = ("change-me", "changeme", "replace-me", "replaceme", "placeholder")


class InsecureSettings(ValueError):
    """A setting that is acceptable only in the sandbox was given outside it."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:55432/postgres"
    kafka_bootstrap: str = "127.0.0.1:59092"
    kafka_namespace: str = "yidi"
    kafka_idempotence: bool = False
    kafka_session_timeout_ms: int = 6000
    # How the clients reach the brokers (docs/integration.md, "Kafka security"): PLAINTEXT, SSL,
    # SASL_PLAINTEXT or SASL_SSL; SASL with SCRAM-SHA-256/512 (or PLAIN, in TLS only); TLS with
    # the brokers' CA, optionally a client certificate, and the hostname checked.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    # Outside sandbox mode a service refuses a broker connection that is unencrypted or
    # anonymous, unless the operator says the network protects it (a service mesh's mTLS).
    kafka_allow_plaintext: bool = False
    relay_enabled: bool = True
    consumers_enabled: bool = True
    db_pool_size: int = 10
    # Calendar work (statements, batches, expiries) runs in the service when enabled; how often
    # it looks is the interval. Off by default so tests and operators trigger it explicitly.
    schedules_enabled: bool = False
    schedule_interval_s: float = 60.0
    # HIS nonces, idempotency records and uploaded files older than this are purged by the
    # schedule (at most once per purge interval). At least a day: a HIS may resend for hours.
    retention_days: int = Field(30, ge=1)
    retention_purge_interval_s: float = 3600.0
    # "controlled": time runs from clock_start and POST /v1/admin/clock moves it forward (simulations).
    clock: str = "system"
    clock_start: datetime | None = None
    # Sandbox mode (tests, `make run`, `make up`): tokens may be minted from `auth_secret`, and
    # the sandbox's defaults are allowed. Off unless said, so a deployment that forgets it
    # refuses to start with a default secret instead of running on one.
    sandbox: bool = False
    auth_secret: SecretStr = SecretStr(DEFAULT_AUTH_SECRET)
    # The identity component's private signing keys (a JWKS of Ed25519 keys with kids; the
    # first signs, all are published). Only filing holds them; outside sandbox it must.
    auth_signing_keys: SecretStr | None = None
    # Public keys the services accept (a JWKS), besides those they fetch from the identity
    # component's published key set (`auth_jwks_url`, default filing's /.well-known/jwks.json).
    auth_public_keys: str | None = None
    auth_jwks_url: str | None = None
    # The HIS gateway's service account at the identity component (kind service, role his):
    # outside sandbox mode it logs in with these to forward transactions to their owners.
    gateway_username: str = "svc.his-gateway"
    gateway_password: SecretStr | None = None
    auth_audience: str = "yidi-api"
    # An external OpenID Connect issuer whose officers' access tokens are accepted too
    # (auth/oidc.py): its `iss`, the JWKS it publishes (its discovery document's `jwks_uri`),
    # the audience its tokens name for this platform, and where its tokens carry what we read.
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None
    oidc_user_claim: str = "preferred_username"
    oidc_roles_claim: str = "roles"
    oidc_region_claim: str = "region"
    oidc_kind_claim: str | None = None
    oidc_centre_region: str | None = None
    auth_token_ttl_s: int = 900
    # How far a HIS request's signed timestamp may be from now, per profile (body HMAC, TIF,
    # CSB); a province's CSB gateway may allow its spec's 30 minutes.
    his_signature_window_s: int = 300
    his_tif_window_s: int = 300
    his_csb_window_s: int = 300
    # Where the per-transaction HIS paths hang ({prefix}/hsa/hgs/<code>), as provinces publish them.
    his_hgs_prefixes: list[str] = ["/ebus/gdyb_api/prd"]
    # How far a hospital's clock may run ahead of ours: a discharge or fee date later than the
    # business day of now + this is refused as a date in the future.
    his_clock_skew_s: int = 300
    # The person query (1101) per institution: a token bucket refilled at this rate, holding
    # burst tokens (a morning queue at the counters), per settlement process.
    his_person_query_rate_per_s: float = Field(2.0, ge=0)
    his_person_query_burst: int = Field(60, ge=1)
    # Holidays and make-up working days for years `chinesecalendar` does not carry yet, from the
    # State Council's notice: {"2027": {"holidays": [...], "working_weekends": [...]}}.
    holidays_file: Path | None = None
    # The province's rules (deploy/provinces/<name>.toml, a section per service); the sandbox's
    # file when unset (yidi_events.province).
    province_file: Path | None = None
    # HIS requests one gateway process works on at once; past it a request is answered his.busy
    # at once (nothing recorded, the nonce unspent: the hospital resends it) instead of queueing
    # for a database connection until the hospital's client gives up on it.
    his_max_in_flight: int = Field(32, ge=1)
    # Of those, how many are worked on at once (each holds a database connection: at most the
    # pool's size), and how long the others wait for a turn before they too are answered his.busy
    # (nothing recorded: resent as it was), so an overloaded gateway answers inside a HIS
    # client's timeout whatever its throughput under that load turns out to be.
    his_max_working: int = Field(10, ge=1)
    his_max_wait_ms: int = Field(2000, ge=1)
    # OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); tracing is off without it.
    otel_endpoint: str | None = None
    log_json: bool = True
    log_level: str = "INFO"
    filing_url: str = "http://127.0.0.1:8001"
    settlement_url: str = "http://127.0.0.1:8002"
    reconciliation_url: str = "http://127.0.0.1:8003"
    clearing_url: str = "http://127.0.0.1:8004"
    audit_url: str = "http://127.0.0.1:8005"
    reimbursement_url: str = "http://127.0.0.1:8007"
    # The e-invoice verification service manual claims are checked against (reimbursement); the
    # sandbox runs a stand-in (yidi_reimbursement.verification_server) beside the stack.
    reimbursement_verification_url: str = "http://127.0.0.1:8096"

    def refuse_insecure(self) -> None:
        """What a service checks before it serves: outside sandbox mode, no sandbox secret.
        (Tools that only migrate or read, like `deploy/migrate.py`, need no secret at all.)"""
        if self.sandbox:
            return
        secret = self.auth_secret.get_secret_value()
        lowered = secret.lower()
        if (
            secret == DEFAULT_AUTH_SECRET
            or len(secret) < MIN_SECRET_LENGTH
            or any(word in lowered for word in PLACEHOLDER_WORDS)
        ):
            raise InsecureSettings(
                "YIDI_AUTH_SECRET is the sandbox default, a placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters; outside sandbox mode (YIDI_SANDBOX=1) "
                "a service does not start with it"
            )
        if self.clock != "system":
            raise InsecureSettings("YIDI_CLOCK=controlled is a simulation setting (sandbox only)")
        security = self.kafka().security
        if not self.kafka_allow_plaintext and not (security.tls and security.authenticated):
            raise InsecureSettings(
                f"YIDI_KAFKA_SECURITY_PROTOCOL={security.protocol} "
                f"{'without a client identity' if security.tls else 'is unencrypted'}: outside "
                "sandbox mode use SASL_SSL (or SSL with YIDI_KAFKA_SSL_CERTFILE/KEYFILE), or set "
                "YIDI_KAFKA_ALLOW_PLAINTEXT=1 when the network encrypts and authenticates"
            )

    def working_calendar(self) -> WorkingCalendar:
        """The official working-day calendar with the holidays file's years; a file that cannot
        be read or holds a wrong date stops the service at start, naming the variable. The
        sandbox counts weekends only in years no notice covers; a deployment refuses them."""
        lenient = self.sandbox
        if self.holidays_file is None:
            return WorkingCalendar.official(weekends_only_beyond=lenient)
        try:
            notices = json.loads(self.holidays_file.read_text("utf-8"))
            return WorkingCalendar.official(notices, weekends_only_beyond=lenient)
        except (OSError, ValueError) as exc:
            raise ValueError(f"YIDI_HOLIDAYS_FILE={self.holidays_file}: {exc}") from exc

    def province(self) -> Mapping[str, Any]:
        """The province file's document, each service reading its own section of it."""
        return load_province(self.province_file)

    @model_validator(mode="after")
    def _oidc_complete(self) -> ServiceSettings:
        if self.oidc_issuer and not self.oidc_jwks_url:
            raise ValueError(
                "YIDI_OIDC_ISSUER needs YIDI_OIDC_JWKS_URL (the jwks_uri of its discovery document)"
            )
        return self

    def jwks_url(self) -> str:
        return self.auth_jwks_url or f"{self.filing_url}/.well-known/jwks.json"

    def kafka(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap=self.kafka_bootstrap,
            namespace=self.kafka_namespace,
            idempotence=self.kafka_idempotence,
            session_timeout_ms=self.kafka_session_timeout_ms,
            security=KafkaSecurity(
                protocol=self.kafka_security_protocol.upper(),
                sasl_mechanism=(self.kafka_sasl_mechanism or "").upper() or None,
                username=self.kafka_username or None,
                password=_secret(self.kafka_password),
                ssl_cafile=self.kafka_ssl_cafile or None,
                ssl_certfile=self.kafka_ssl_certfile or None,
                ssl_keyfile=self.kafka_ssl_keyfile or None,
                ssl_key_password=_secret(self.kafka_ssl_key_password),
                ssl_check_hostname=self.kafka_ssl_check_hostname,
            ),
        )

    @model_validator(mode="after")
    def _kafka_security_works(self) -> ServiceSettings:
        # A Kafka setting that cannot work fails at start, naming itself, not at the first send.
        self.kafka()
        return self


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None
