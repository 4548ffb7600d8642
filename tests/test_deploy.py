"""The deploy files agree with the code: deploy/compose.yaml, deploy/k8s/*, deploy/docker/Dockerfile.

Pure and offline: parses the files (PyYAML) and compares them with what the code declares —
`yidi_events.topics` (topics, partitions), `yidi_events.settings.ServiceSettings` (the YIDI_*
variables), `yidi_events.registry.SERVICES` and each service's `bootstrap`. Kubernetes resources
are validated against the JSON Schemas that the `kubernetes-validate` package bundles (strict:
unknown fields fail); the CRDs without a bundled schema are checked by hand: Strimzi's here, the
Prometheus Operator's (PodMonitor, PrometheusRule) in tests/test_observability.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from yidi_events.registry import SERVICES
from yidi_events.settings import ServiceSettings
from yidi_events.topics import DEFAULT_NAMESPACE, PARTITIONS, all_topics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30"  # the oldest minor we claim; schemas ship inside kubernetes-validate
STRIMZI = "kafka.strimzi.io/v1"  # Strimzi 0.49+
PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"
CRD_GROUPS = {STRIMZI, PROMETHEUS_OPERATOR}  # no schema bundled in kubernetes-validate
EVENTS_RETENTION_MS = -1  # forever: consumers rebuild from the beginning
DLQ_RETENTION_MS = 14 * 24 * 3600 * 1000
PORT = 8000


# -- loading ---------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


COMPOSE = _compose()
MANIFESTS = _manifests()


# Web applications beside the services (no database, no topics): the agency console.
WEB = ("console",)


def test_the_console_runs_its_module_everywhere() -> None:
    from yidi_console.app import create

    command = ["uvicorn", f"{create.__module__}:{create.__name__}", "--factory"]
    template = _of_kind("Deployment")["console"]["spec"]["template"]
    pod = template["spec"]
    (main,) = pod["containers"]
    assert main["image"].split(":")[0] == "yidi/console"
    assert main["command"][:3] == command
    assert COMPOSE["services"]["console"]["command"][:3] == command
    service = _of_kind("Service")["console"]
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    assert "YIDI_DATABASE_URL" not in COMPOSE["services"]["console"]["environment"]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in MANIFESTS if d["kind"] == kind}


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Deployment", "Job"):
        for name, doc in _of_kind(kind).items():
            yield f"{kind}/{name}", doc["spec"]["template"]["spec"]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _settings_fields() -> dict[str, Any]:
    """YIDI_<FIELD> -> the field's default, for every field of ServiceSettings."""
    return {f"YIDI_{n.upper()}": f.default for n, f in ServiceSettings.model_fields.items()}


def _must_be_set() -> set[str]:
    """Settings whose defaults only make sense on one machine: loopback addresses, sandbox secrets."""
    return {
        env
        for env, default in _settings_fields().items()
        if isinstance(default, SecretStr) or (isinstance(default, str) and "127.0.0.1" in default)
    }


def _bootstrap(service: str) -> ModuleType:
    return importlib.import_module(f"yidi_{service}.bootstrap")


def _uvicorn_command(service: str) -> list[str]:
    return [
        "uvicorn",
        f"yidi_{service}.bootstrap:create",
        "--factory",
        "--host",
        "0.0.0.0",
        "--port",
        str(PORT),
    ]


def _migrate_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("yidi_deploy_migrate", DEPLOY / "migrate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Kafka topics ----------------------------------------------------------------------------


def test_kafka_topics_are_exactly_the_code_topics() -> None:
    topics = _of_kind("KafkaTopic")
    names = {doc["spec"].get("topicName", name) for name, doc in topics.items()}
    assert names == set(all_topics(DEFAULT_NAMESPACE)), "one KafkaTopic per topic, no extra"
    assert len(topics) == len(all_topics())


@pytest.mark.parametrize("topic", all_topics())
def test_kafka_topic_partitions_and_retention(topic: str) -> None:
    doc = _of_kind("KafkaTopic")[topic]
    assert doc["apiVersion"] == STRIMZI
    assert doc["metadata"]["labels"].get("strimzi.io/cluster"), "which Kafka cluster owns it"
    spec = doc["spec"]
    assert spec["topicName"] == topic
    assert spec["partitions"] == PARTITIONS
    assert spec["replicas"] >= 1
    expected = DLQ_RETENTION_MS if topic.endswith(".dlq") else EVENTS_RETENTION_MS
    assert int(spec["config"]["retention.ms"]) == expected
    assert set(spec) <= {"topicName", "partitions", "replicas", "config"}


def test_compose_creates_the_code_topics_with_retention() -> None:
    creator = COMPOSE["services"]["topics"]
    env = creator["environment"]
    assert int(env["PARTITIONS"]) == PARTITIONS
    specs = dict(item.rsplit(":", 1) for item in env["TOPICS"].split())
    assert set(specs) == set(all_topics(DEFAULT_NAMESPACE))
    for topic, retention in specs.items():
        expected = DLQ_RETENTION_MS if topic.endswith(".dlq") else EVENTS_RETENTION_MS
        assert int(retention) == expected, topic
    script = creator["command"][0]
    assert "--create --if-not-exists" in script
    assert "retention.ms" in script
    kafka = COMPOSE["services"]["kafka"]["environment"]
    assert str(kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false", (
        "no topic with default retention"
    )


# -- every service everywhere ----------------------------------------------------------------


def test_every_service_has_deployment_service_migration_and_compose_entries() -> None:
    deployments, services, jobs = _of_kind("Deployment"), _of_kind("Service"), _of_kind("Job")
    for svc in SERVICES:
        assert svc in deployments, svc
        assert svc in services, svc
        assert f"migrate-{svc}" in jobs, svc
        assert svc in COMPOSE["services"], svc
        assert f"migrate-{svc}" in COMPOSE["services"], svc
    assert set(deployments) == {*SERVICES, *WEB}
    assert set(services) == {*SERVICES, *WEB}
    assert set(jobs) == {f"migrate-{svc}" for svc in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_routes_to_its_deployment(service: str) -> None:
    deployment = _of_kind("Deployment")[service]
    svc = _of_kind("Service")[service]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    (port,) = svc["spec"]["ports"]
    assert port["port"] == PORT
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert port["targetPort"] in ("http", PORT)
    assert {"name": "http", "containerPort": PORT, "protocol": "TCP"} in container["ports"]


@pytest.mark.parametrize("service", SERVICES)
def test_commands_and_images_run_the_service_module(service: str) -> None:
    _bootstrap(service).create  # noqa: B018 - the factory uvicorn is told to call exists
    deployment = _of_kind("Deployment")[service]
    pod = deployment["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    assert main["image"].split(":")[0] == f"yidi/{service}"
    assert main["command"][: len(_uvicorn_command(service))] == _uvicorn_command(service)
    for container in pod.get("initContainers", []):
        assert container["image"] == main["image"]
        assert container["command"][:3] == ["python", "/opt/yidi/migrate.py", service]
    job = _of_kind("Job")[f"migrate-{service}"]["spec"]["template"]["spec"]["containers"][0]
    assert job["image"] == main["image"]
    assert job["command"][:3] == ["python", "/opt/yidi/migrate.py", service]
    assert "--check" not in job["command"]

    composed = COMPOSE["services"][service]
    assert composed["command"][: len(_uvicorn_command(service))] == _uvicorn_command(service)
    assert composed["image"].split(":")[0] == f"yidi/{service}"
    assert composed["build"]["args"]["SERVICE"] == service
    migrate = COMPOSE["services"][f"migrate-{service}"]
    assert migrate["command"] == ["python", "/opt/yidi/migrate.py", service]
    assert migrate["image"] == composed["image"]
    assert migrate["build"] == composed["build"]


def test_kustomization_lists_every_manifest_and_image() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)
    assert {i["name"] for i in kustomization["images"]} == {f"yidi/{s}" for s in (*SERVICES, *WEB)}


# -- configuration ---------------------------------------------------------------------------


def _compose_env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}


def test_every_yidi_variable_is_a_setting() -> None:
    fields = _settings_fields()
    used: dict[str, str] = {}
    for name, service in COMPOSE["services"].items():
        for env in service.get("environment", {}):
            if env.startswith("YIDI_"):
                used[env] = f"compose {name}"
    for env in _of_kind("ConfigMap")["yidi-config"]["data"]:
        used[env] = "ConfigMap yidi-config"
    for where, pod in _pod_specs():
        for container in _containers(pod):
            for env in container.get("env", []):
                used[env["name"]] = where
    unknown = {env: where for env, where in used.items() if env not in fields}
    assert not unknown, f"not fields of ServiceSettings: {unknown}"


def test_configmap_values_parse_as_settings() -> None:
    data = _of_kind("ConfigMap")["yidi-config"]["data"]
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"
    # Each Deployment adds its own Kafka user and password (test_k8s_service_uses_its_kafka_user).
    settings = ServiceSettings(
        **{k.removeprefix("YIDI_").lower(): v for k, v in data.items()},
        kafka_username="yidi-filing",
        kafka_password="from-the-user-operator",
    )
    assert settings.kafka_idempotence is True, "real Apache Kafka: idempotent producers"
    security = settings.kafka().security
    assert (security.protocol, security.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert security.ssl_check_hostname
    assert settings.clock == "system"
    assert settings.kafka_namespace == DEFAULT_NAMESPACE


@pytest.mark.parametrize("service", SERVICES)
def test_compose_service_sets_every_required_setting(service: str) -> None:
    env = _compose_env(service)
    missing = _must_be_set() - set(env)
    assert not missing, f"{service} would run on the one-machine defaults of {missing}"
    settings = ServiceSettings(**{k.removeprefix("YIDI_").lower(): v for k, v in env.items()})
    assert settings.kafka_idempotence is True
    assert settings.clock == "system"
    for other in SERVICES:
        url = urlsplit(getattr(settings, f"{other}_url"))
        assert (url.hostname, url.port) == (other, PORT), f"{service} -> {other}"
    db = urlsplit(env["YIDI_DATABASE_URL"])
    assert db.hostname == "postgres"
    assert db.path == f"/yidi_{service}"
    migrate = _compose_env(f"migrate-{service}")
    assert migrate["YIDI_DATABASE_URL"] == env["YIDI_DATABASE_URL"], "migrates its own database"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_sets_every_required_setting(service: str) -> None:
    pod = _of_kind("Deployment")[service]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    config = set(_of_kind("ConfigMap")["yidi-config"]["data"])
    assert [r["configMapRef"]["name"] for r in container["envFrom"]] == ["yidi-config"]
    env = {e["name"]: e for e in container["env"]}
    missing = _must_be_set() - config - set(env)
    assert not missing, f"{service} would run on the one-machine defaults of {missing}"
    assert not set(env) & config, "one source per variable"
    secret = _of_kind("Secret")["yidi-secrets"]["stringData"]
    db = env["YIDI_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert db == {"name": "yidi-secrets", "key": f"{service}-database-url"}
    assert urlsplit(secret[db["key"]]).path == f"/yidi_{service}", "its own database"
    auth = env["YIDI_AUTH_SECRET"]["valueFrom"]["secretKeyRef"]
    assert auth["name"] == "yidi-secrets"
    assert auth["key"] in secret
    for init in pod.get("initContainers", []):
        (init_env,) = init["env"]
        assert init_env == env["YIDI_DATABASE_URL"]
    job = _of_kind("Job")[f"migrate-{service}"]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "YIDI_DATABASE_URL", "valueFrom": {"secretKeyRef": db}} in job["env"]


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_uses_its_kafka_user(service: str) -> None:
    pod = _of_kind("Deployment")[service]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    user = f"yidi-{service}"
    assert env["YIDI_KAFKA_USERNAME"]["value"] == user
    password = env["YIDI_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password == {"name": user, "key": "password"}, "the Secret Strimzi makes for the user"
    assert _of_kind("KafkaUser")[user]["spec"]["authentication"]["type"] == "scram-sha-512"
    cafile = Path(_of_kind("ConfigMap")["yidi-config"]["data"]["YIDI_KAFKA_SSL_CAFILE"])
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert Path(mounts["kafka-ca"]) / "ca.crt" == cafile
    assert volumes["kafka-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]


def test_k8s_urls_name_the_k8s_services() -> None:
    data = _of_kind("ConfigMap")["yidi-config"]["data"]
    for svc in SERVICES:
        url = urlsplit(data[f"YIDI_{svc.upper()}_URL"])
        assert url.hostname is not None
        assert url.hostname.split(".")[0] == svc
        assert url.port == PORT
        if "." in url.hostname:
            assert url.hostname.split(".")[1] == _of_kind("Service")[svc]["metadata"]["namespace"]


def test_secret_holds_placeholders_only() -> None:
    secret = _of_kind("Secret")["yidi-secrets"]
    assert "data" not in secret, "placeholders in stringData, never encoded real values"
    for key, value in secret["stringData"].items():
        assert "REPLACE-ME" in value, f"{key} must be a placeholder in git"


# -- health, probes, non-root ----------------------------------------------------------------


@pytest.fixture(scope="module")
def app_routes() -> dict[str, set[str]]:
    """The routes of each service's real app, built the way uvicorn's factory builds it. In a
    child process: `create()` configures logging and binds context variables for its process."""
    code = (
        "import importlib, json, sys\n"
        "print(json.dumps({s: sorted(getattr(r, 'path', '') for r in importlib.import_module("
        "f'yidi_{s}.bootstrap').create().routes) for s in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *SERVICES],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "YIDI_LOG_LEVEL": "WARNING"},
    )
    routes: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return {service: set(paths) for service, paths in routes.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_probes_point_at_health_and_readiness(
    service: str, app_routes: dict[str, set[str]]
) -> None:
    (container,) = _of_kind("Deployment")[service]["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container.get("startupProbe", {"httpGet": {"path": "/healthz"}})["httpGet"]["path"] in (
        "/healthz",
        "/readyz",
    )
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("http", PORT)
    assert {"/healthz", "/readyz", "/metrics"} <= app_routes[service]

    health = COMPOSE["services"][service]["healthcheck"]["test"]
    assert any("/readyz" in part or "/healthz" in part for part in health)


@pytest.mark.parametrize(("where", "pod"), list(_pod_specs()), ids=[w for w, _ in _pod_specs()])
def test_pods_run_as_non_root(where: str, pod: dict[str, Any]) -> None:
    pod_security = pod.get("securityContext", {})
    assert pod_security.get("runAsNonRoot") is True, where
    assert pod_security.get("runAsUser", 0) != 0, where
    assert pod.get("automountServiceAccountToken") is False, where
    for container in _containers(pod):
        sc = container.get("securityContext", {})
        assert sc.get("allowPrivilegeEscalation") is False, (where, container["name"])
        assert sc.get("runAsNonRoot", pod_security["runAsNonRoot"]) is True
        assert sc.get("runAsUser", pod_security["runAsUser"]) != 0
        assert sc.get("capabilities", {}).get("drop") == ["ALL"]
        assert sc.get("readOnlyRootFilesystem") is True
        resources = container["resources"]
        assert resources["requests"]["cpu"]
        assert resources["requests"]["memory"]
        assert resources["limits"]["memory"]


def test_settlement_autoscales_on_cpu() -> None:
    hpas = _of_kind("HorizontalPodAutoscaler")
    assert set(hpas) == {"settlement"}
    spec = hpas["settlement"]["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "settlement",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert "replicas" not in _of_kind("Deployment")["settlement"]["spec"], "the HPA owns replicas"


def test_everything_lives_in_one_namespace() -> None:
    (namespace,) = _of_kind("Namespace")
    for file, doc in MANIFESTS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, (file, doc["metadata"]["name"])


# -- structural validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "doc"),
    [(f, d) for f, d in MANIFESTS if d["apiVersion"] not in CRD_GROUPS],
    ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}",
)
def test_manifest_matches_kubernetes_schema(file: str, doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{file} {doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")


def test_only_strimzi_and_prometheus_operator_resources_skip_schema_validation() -> None:
    crds = {(d["apiVersion"], d["kind"]) for _, d in MANIFESTS} - {
        (d["apiVersion"], d["kind"]) for _, d in MANIFESTS if d["apiVersion"] not in CRD_GROUPS
    }
    # The Prometheus Operator's are checked in tests/test_observability.py.
    assert crds == {
        (STRIMZI, "Kafka"),
        (STRIMZI, "KafkaNodePool"),
        (STRIMZI, "KafkaTopic"),
        (STRIMZI, "KafkaUser"),
        (PROMETHEUS_OPERATOR, "PodMonitor"),
        (PROMETHEUS_OPERATOR, "PrometheusRule"),
    }


def test_the_kafka_cluster_is_where_its_operators_see_the_topics_and_users() -> None:
    (name,) = _of_kind("Kafka")
    cluster = _of_kind("Kafka")[name]
    # The Topic and User Operators watch the cluster's own namespace by default.
    assert set(cluster["spec"]["entityOperator"]) == {"topicOperator", "userOperator"}
    for kind in ("KafkaTopic", "KafkaUser", "KafkaNodePool"):
        for doc in _of_kind(kind).values():
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == name, doc["metadata"]
            assert doc["metadata"]["namespace"] == cluster["metadata"]["namespace"]
    (pool,) = _of_kind("KafkaNodePool").values()
    # Enough brokers for the topics' copies, and the listener the services' settings name.
    assert pool["spec"]["replicas"] >= max(
        t["spec"]["replicas"] for t in _of_kind("KafkaTopic").values()
    )
    (listener,) = cluster["spec"]["kafka"]["listeners"]
    assert (listener["port"], listener["tls"], listener["authentication"]["type"]) == (
        9093,
        True,
        "scram-sha-512",
    )
    assert cluster["spec"]["kafka"]["authorization"] == {"type": "simple"}
    assert cluster["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False


def test_every_deployment_keeps_a_pod_through_voluntary_disruptions() -> None:
    budgets = _of_kind("PodDisruptionBudget")
    for name, deployment in _of_kind("Deployment").items():
        budget = budgets.get(name)
        assert budget is not None, f"no PodDisruptionBudget for {name}"
        assert budget["spec"]["selector"] == deployment["spec"]["selector"]
        assert budget["spec"]["minAvailable"] >= 1


NAMESPACE_LABEL = "kubernetes.io/metadata.name"
INGRESS_NAMESPACE = "ingress-nginx"


def _admitted_ports(policy: dict[str, Any]) -> set[str]:
    return {str(p["port"]) for rule in policy["spec"].get("ingress", []) for p in rule["ports"]}


def test_network_policies_deny_by_default_and_open_only_the_http_port() -> None:
    policies = _of_kind("NetworkPolicy")
    deny = policies["services-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny, "a policy that admits nothing"
    for name, deployment in _of_kind("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selected = [
            policy
            for policy in policies.values()
            if policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert deny in [p["spec"] for p in selected], f"{name} is not denied by default"
        assert any(p["metadata"]["name"] == "services-from-services" for p in selected), name
    published = {
        p["backend"]["service"]["name"]
        for ingress in _of_kind("Ingress").values()
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    for name in published:
        labels = _of_kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        from_ingress = [
            p
            for p in policies.values()
            if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
            and any(
                f.get("namespaceSelector", {}).get("matchLabels", {}).get(NAMESPACE_LABEL)
                == INGRESS_NAMESPACE
                for r in p["spec"].get("ingress", [])
                for f in r["from"]
            )
        ]
        assert from_ingress, f"{name} is published by an Ingress the policies never let in"
        for policy in selected:
            assert _admitted_ports(policy) <= {"http"}, policy["metadata"]["name"]


def test_the_ingress_publishes_only_the_his_paths_and_the_console_over_tls() -> None:
    services = _of_kind("Service")
    his_paths = set(json.loads((ROOT / "docs/his/openapi.json").read_text("utf-8"))["paths"])
    settlement = json.loads((ROOT / "docs/api/openapi-settlement.json").read_text("utf-8"))
    agency_paths = set(settlement["paths"]) - his_paths
    for name, ingress in _of_kind("Ingress").items():
        spec = ingress["spec"]
        hosts = {h for tls in spec["tls"] for h in tls["hosts"]}
        for rule in spec["rules"]:
            assert rule["host"] in hosts, f"{name}: {rule['host']} without TLS"
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services[backend["name"]]
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
                if backend["name"] == "settlement":
                    prefix = path["path"]
                    assert any(p.startswith(prefix) for p in his_paths), prefix
                    leaked = [p for p in agency_paths if p.startswith(prefix)]
                    assert not leaked, f"{prefix} would publish {leaked}"


COMPOSE_SERVICE_KEYS = {
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "volumes",
    "depends_on",
    "healthcheck",
    "restart",
}


def test_compose_structure() -> None:
    assert set(COMPOSE) <= {"name", "services", "volumes"} | {
        k for k in COMPOSE if k.startswith("x-")
    }
    services = COMPOSE["services"]
    for name, service in services.items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, (name, set(service) - COMPOSE_SERVICE_KEYS)
        assert "image" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            else:
                assert wanted == "service_completed_successfully", (name, dependency)
                assert services[dependency].get("restart") == "no", (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), volume
            else:
                assert source in COMPOSE["volumes"], volume
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"], "KRaft"
    assert kafka["environment"]["CLUSTER_ID"]


@pytest.mark.parametrize("service", SERVICES)
def test_compose_service_waits_for_its_infrastructure(service: str) -> None:
    depends = COMPOSE["services"][service]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["kafka"]["condition"] == "service_healthy"
    assert depends["topics"]["condition"] == "service_completed_successfully"
    assert depends[f"migrate-{service}"]["condition"] == "service_completed_successfully"
    ports = COMPOSE["services"][service]["ports"]
    assert all(p.endswith(f":{PORT}") for p in ports)


def test_compose_databases_are_created() -> None:
    init = (DEPLOY / "compose" / "postgres-init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", init))
    for svc in SERVICES:
        url = urlsplit(_compose_env(svc)["YIDI_DATABASE_URL"])
        assert (url.path.lstrip("/"), url.username) in created, svc
        assert f"CREATE ROLE {url.username} LOGIN PASSWORD '{url.password}';" in init


# -- images and the migration script ---------------------------------------------------------


def _dockerfile() -> list[str]:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_dockerfile_is_multi_stage_slim_non_root_with_healthcheck() -> None:
    lines = _dockerfile()
    froms = [line for line in lines if line.startswith("FROM ")]
    assert [line.split()[-1] for line in froms] == ["build", "runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in froms)
    runtime = lines[lines.index(froms[1]) :]
    users = [line for line in runtime if line.startswith("USER ")]
    assert users, "a USER in the runtime stage"
    assert users[-1].split()[1].split(":")[0] not in ("0", "root")
    (health,) = [line for line in runtime if line.startswith("HEALTHCHECK ")]
    assert '"python"' in health
    assert f"127.0.0.1:{PORT}/healthz" in health
    assert f"EXPOSE {PORT}" in runtime
    (cmd,) = [line for line in runtime if line.startswith("CMD ")]
    assert "exec uvicorn" in cmd
    assert "--factory" in cmd
    assert f"--host 0.0.0.0 --port {PORT}" in cmd
    assert "APP_MODULE=yidi_${SERVICE}.bootstrap:create" in " ".join(runtime)
    assert "COPY deploy/migrate.py /opt/yidi/migrate.py" in runtime
    (case,) = [line for line in lines if "case " in line]
    found = re.search(r"\bin\s+([a-z|]+)\)", case)
    assert found, case
    assert set(found.group(1).split("|")) == set(SERVICES), "the SERVICE build argument"


def test_dockerfile_pod_user_matches_manifests() -> None:
    user = next(line for line in reversed(_dockerfile()) if line.startswith("USER ")).split()[1]
    uid = int(user.split(":")[0])
    for where, pod in _pod_specs():
        assert pod["securityContext"]["runAsUser"] == uid, where


def test_dockerignore_keeps_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in (
        "!libs/events/src/",
        "!libs/benefits/src/",
        "!cli/src/",
        "!services/*/src/",
        "!services/*/migrations/",
    ):
        assert needed in lines
    assert "!deploy/migrate.py" in lines


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_script_finds_each_services_migrations(service: str) -> None:
    migrate = _migrate_script()
    path = migrate.migrations_dir(service)
    assert path == Path(_bootstrap(service).MIGRATIONS)
    scripts = migrate.script("postgresql://u@db/x", service)
    heads = set(scripts.get_heads())
    assert len(heads) == 2, "the service's branch and libs/events' branch"
    assert migrate.up_to_date(heads, scripts)
    assert not migrate.up_to_date(set(), scripts), "an empty database is behind"
    assert migrate.up_to_date({"from_a_newer_release"}, scripts), "ahead is not behind"


def test_migrate_script_refuses_unknown_services() -> None:
    with pytest.raises(SystemExit):
        _migrate_script().main(["billing"])
