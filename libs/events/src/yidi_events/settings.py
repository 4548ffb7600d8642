"""Configuration of a service process, from `YIDI_*` environment variables (see docs/configuration.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from yidi_events.runtime.kafka import KafkaSettings


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIDI_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:55432/postgres"
    kafka_bootstrap: str = "127.0.0.1:59092"
    kafka_namespace: str = "yidi"
    kafka_idempotence: bool = False
    kafka_session_timeout_ms: int = 6000
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
    # "controlled": time runs from clock_start and POST /admin/clock moves it forward (simulations).
    clock: str = "system"
    clock_start: datetime | None = None
    auth_secret: SecretStr = SecretStr("yidi-sandbox-platform-secret-change-me-in-production")
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
    # HIS requests one gateway process works on at once; past it a request is answered his.busy
    # at once (nothing recorded, the nonce unspent: the hospital resends it) instead of queueing
    # for a database connection until the hospital's client gives up on it.
    his_max_in_flight: int = Field(32, ge=1)
    # OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); tracing is off without it.
    otel_endpoint: str | None = None
    log_json: bool = True
    log_level: str = "INFO"
    filing_url: str = "http://127.0.0.1:8001"
    settlement_url: str = "http://127.0.0.1:8002"
    reconciliation_url: str = "http://127.0.0.1:8003"
    clearing_url: str = "http://127.0.0.1:8004"
    audit_url: str = "http://127.0.0.1:8005"

    def kafka(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap=self.kafka_bootstrap,
            namespace=self.kafka_namespace,
            idempotence=self.kafka_idempotence,
            session_timeout_ms=self.kafka_session_timeout_ms,
        )
