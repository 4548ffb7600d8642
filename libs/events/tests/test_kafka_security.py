"""Kafka security settings: YIDI_KAFKA_* -> the aiokafka arguments of every client, the settings
that cannot work refused at start naming themselves, and what outside sandbox mode accepts."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from yidi_events.runtime import kafka
from yidi_events.settings import InsecureSettings, ServiceSettings

SASL_SSL = {
    "YIDI_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "YIDI_KAFKA_SASL_MECHANISM": "scram-sha-512",
    "YIDI_KAFKA_USERNAME": "yidi-settlement",
    "YIDI_KAFKA_PASSWORD": "from-the-user-operator",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ServiceSettings.model_fields:
        if name.startswith("kafka_") or name in ("sandbox", "auth_secret"):
            monkeypatch.delenv(f"YIDI_{name.upper()}", raising=False)

    def setenv(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return setenv


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    """A self-signed CA certificate in a PEM file, as a cluster's CA secret holds it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "yidi-test-cluster-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path = tmp_path / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_by_default_the_clients_speak_plaintext_to_the_local_broker(env: Any) -> None:
    assert kafka.connection(ServiceSettings().kafka()) == {
        "bootstrap_servers": "127.0.0.1:59092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_with_scram_maps_to_aiokafka_and_checks_the_host(env: Any, ca: Path) -> None:
    env(SASL_SSL | {"YIDI_KAFKA_SSL_CAFILE": str(ca), "YIDI_KAFKA_BOOTSTRAP": "k:9093"})
    args = kafka.connection(ServiceSettings().kafka())
    context = args.pop("ssl_context")
    assert args == {
        "bootstrap_servers": "k:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "yidi-settlement",
        "sasl_plain_password": "from-the-user-operator",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    issuers = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert issuers == [{"commonName": "yidi-test-cluster-ca"}], "trusts the given CA, only it"


def test_scram_sha_256_and_a_client_certificate(env: Any, ca: Path) -> None:
    env(
        SASL_SSL
        | {
            "YIDI_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "YIDI_KAFKA_SSL_CAFILE": str(ca),
            # A CA's own certificate and key serve as a client pair for loading.
            "YIDI_KAFKA_SSL_CERTFILE": str(ca),
            "YIDI_KAFKA_SSL_KEYFILE": str(ca.with_name("ca.key")),
            "YIDI_KAFKA_SSL_CHECK_HOSTNAME": "false",
        }
    )
    security = ServiceSettings().kafka().security
    args = kafka.connection(ServiceSettings().kafka())
    assert args["sasl_mechanism"] == "SCRAM-SHA-256"
    assert args["ssl_context"].check_hostname is False
    assert args["ssl_context"].verify_mode == ssl.CERT_REQUIRED, "the chain is still verified"
    assert security.authenticated


def test_the_password_never_shows_in_a_repr(env: Any) -> None:
    env(SASL_SSL)
    settings = ServiceSettings()
    assert "from-the-user-operator" not in repr(settings)
    assert "from-the-user-operator" not in repr(settings.kafka())


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"YIDI_KAFKA_SECURITY_PROTOCOL": "TLS"}, "YIDI_KAFKA_SECURITY_PROTOCOL"),
        ({**SASL_SSL, "YIDI_KAFKA_SASL_MECHANISM": "GSSAPI"}, "YIDI_KAFKA_SASL_MECHANISM"),
        ({**SASL_SSL, "YIDI_KAFKA_PASSWORD": ""}, "YIDI_KAFKA_PASSWORD"),
        ({k: v for k, v in SASL_SSL.items() if k != "YIDI_KAFKA_USERNAME"}, "YIDI_KAFKA_USERNAME"),
        (
            {
                **SASL_SSL,
                "YIDI_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "YIDI_KAFKA_SASL_MECHANISM": "PLAIN",
            },
            "only with SASL_SSL",
        ),
        ({"YIDI_KAFKA_USERNAME": "yidi-audit"}, "use SASL_SSL"),
        ({"YIDI_KAFKA_SSL_CAFILE": "/etc/ca.crt"}, "YIDI_KAFKA_SSL_"),
        (
            {"YIDI_KAFKA_SECURITY_PROTOCOL": "SSL", "YIDI_KAFKA_SSL_CERTFILE": "/etc/c.crt"},
            "YIDI_KAFKA_SSL_KEYFILE",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_refused_naming_it(
    env: Any, values: dict[str, str], named: str
) -> None:
    env(values)
    with pytest.raises(ValidationError, match=named):
        ServiceSettings()


@pytest.mark.parametrize(
    ("values", "accepted"),
    [
        ({}, False),  # PLAINTEXT: unencrypted and anonymous
        ({"YIDI_KAFKA_SECURITY_PROTOCOL": "SSL"}, False),  # encrypted, but who is it?
        ({**SASL_SSL, "YIDI_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, False),  # readable
        (SASL_SSL, True),
        ({"YIDI_KAFKA_ALLOW_PLAINTEXT": "1"}, True),  # the operator says the mesh does it
    ],
)
def test_outside_sandbox_the_broker_connection_must_be_encrypted_and_authenticated(
    env: Any, values: dict[str, str], accepted: bool
) -> None:
    env(values | {"YIDI_SANDBOX": "0", "YIDI_AUTH_SECRET": "s" * 40})
    settings = ServiceSettings()
    if accepted:
        settings.refuse_insecure()
    else:
        with pytest.raises(InsecureSettings, match="YIDI_KAFKA_SECURITY_PROTOCOL"):
            settings.refuse_insecure()
    env({"YIDI_SANDBOX": "1"})
    ServiceSettings().refuse_insecure()  # the sandbox's local broker is PLAINTEXT


def test_ssl_with_a_client_certificate_is_accepted_outside_sandbox(env: Any, ca: Path) -> None:
    env(
        {
            "YIDI_SANDBOX": "0",
            "YIDI_AUTH_SECRET": "s" * 40,
            "YIDI_KAFKA_SECURITY_PROTOCOL": "SSL",
            "YIDI_KAFKA_SSL_CAFILE": str(ca),
            "YIDI_KAFKA_SSL_CERTFILE": str(ca),
            "YIDI_KAFKA_SSL_KEYFILE": str(ca.with_name("ca.key")),
        }
    )
    ServiceSettings().refuse_insecure()


def test_every_client_factory_connects_the_configured_way(
    env: Any, ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[str, dict[str, Any]]] = []

    def recorder(kind: str) -> Any:
        def build(*_: Any, **kwargs: Any) -> None:
            built.append((kind, kwargs))

        return build

    for kind in ("AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"):
        monkeypatch.setattr(kafka, kind, recorder(kind))
    env(SASL_SSL | {"YIDI_KAFKA_SSL_CAFILE": str(ca)})
    settings = ServiceSettings().kafka()
    kafka.producer(settings, client_id="p")
    kafka.consumer(settings, "t", group_id="g", client_id="c")
    kafka.reader(settings, client_id="r")
    kafka.admin(settings, request_timeout_ms=2000)
    assert [kind for kind, _ in built] == [
        "AIOKafkaProducer",
        "AIOKafkaConsumer",
        "AIOKafkaConsumer",
        "AIOKafkaAdminClient",
    ]
    for kind, kwargs in built:
        assert kwargs["security_protocol"] == "SASL_SSL", kind
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512", kind
        assert kwargs["sasl_plain_username"] == "yidi-settlement", kind
        assert kwargs["ssl_context"].verify_mode == ssl.CERT_REQUIRED, kind


def test_no_code_builds_a_kafka_client_but_through_the_factories() -> None:
    """A client built with bare `bootstrap_servers=` would skip the security settings."""
    root = Path(__file__).resolve().parents[3]
    sources = [
        *root.glob("libs/*/src/**/*.py"),
        *root.glob("services/*/src/**/*.py"),
        *root.glob("cli/src/**/*.py"),
        *root.glob("platform/src/**/*.py"),
    ]
    factory = root / "libs/events/src/yidi_events/runtime/kafka.py"
    offenders = [
        str(p.relative_to(root))
        for p in sources
        if p != factory and "bootstrap_servers" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
