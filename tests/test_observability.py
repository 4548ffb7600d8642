"""Dashboards, alert rules and PodMonitors agree with the code, the runbook and the manifests.

Pure and offline. Every query (alert expression, dashboard target) is parsed with `promql-parser`
and may name only series the services register with prometheus_client, with labels they have;
every alert links to a heading of docs/operations.md; the committed files are the generator's
output (yidi_stack.observability, `make docs`); the Prometheus Operator resources, which
kubernetes-validate has no schema for, are checked here by hand.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from yidi_events.registry import SERVICES
from yidi_stack import observability

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
RUNBOOK = ROOT / "docs" / "operations.md"
PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"
# Labels Prometheus adds to every scraped series (static_configs, PodMonitor relabelling).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "endpoint"}
# Grafana interpolates these before the query reaches Prometheus.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


# -- what the code exports -------------------------------------------------------------------


def _exported() -> dict[str, set[str]]:
    """Series name -> its label names, for every yidi_ metric the services register (their
    modules imported as their bootstraps import them)."""
    for service in SERVICES:
        importlib.import_module(f"yidi_{service}.bootstrap")
    importlib.import_module("yidi_settlement.his.gateway")
    series: dict[str, set[str]] = {}
    # The registry maps each collector to its series names (name_total, name_bucket, ...); the
    # label names are on the metric object (prometheus_client keeps them as _labelnames).
    for collector, names in REGISTRY._collector_to_names.items():
        if not isinstance(collector, MetricWrapperBase):
            continue
        labels = set(collector._labelnames)
        for name in names:
            # A counter's bare name is reserved in the registry but never scraped: only _total.
            if name.startswith("yidi_") and not (
                collector._type == "counter" and name == collector._name
            ):
                series[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return series


EXPORTED = _exported()


def test_the_documented_metrics_are_found() -> None:
    """The collection itself works: the series docs/operations.md names are all there."""
    for name in (
        "yidi_his_requests_total",
        "yidi_his_settlement_seconds_bucket",
        "yidi_relay_backlog",
        "yidi_consumer_lag",
        "yidi_consumer_dead_lettered_total",
        "yidi_broker_up",
        "yidi_http_request_seconds_count",
    ):
        assert name in EXPORTED, name
    assert EXPORTED["yidi_his_requests_total"] == {"infno", "outcome"}
    assert EXPORTED["yidi_his_settlement_seconds_bucket"] == {"infno", "outcome", "le"}


def test_operations_guide_lists_every_exported_metric() -> None:
    """An alert or panel on a metric the on-call guide does not explain helps nobody."""
    guide = RUNBOOK.read_text()
    for collector in REGISTRY._collector_to_names:
        if isinstance(collector, MetricWrapperBase) and collector._name.startswith("yidi_"):
            shown = collector._name + ("_total" if collector._type == "counter" else "")
            assert f"| `{shown}`" in guide, f"docs/operations.md's metrics table lacks {shown}"


# -- queries ---------------------------------------------------------------------------------


def _parse(expr: str) -> promql_parser.Expr:
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        pytest.fail(f"does not parse: {expr}: {exc}")


def _selectors(tree: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(tree, visit)
    return found


def _grouping_labels(tree: promql_parser.Expr) -> set[str]:
    """Labels named by `by (...)`, `on (...)`/`ignoring (...)` and `group_left (...)`."""
    found: set[str] = set()

    def visit(node: object) -> None:
        modifier = getattr(node, "modifier", None)
        for part in (modifier, getattr(modifier, "matching", None)):
            labels = getattr(part, "labels", None)
            if labels:
                found.update(labels)
        card = getattr(modifier, "card", None)
        for label in getattr(card, "labels", None) or ():
            found.add(label)

    promql_parser.walk(tree, visit)
    return found


def _check(expr: str) -> None:
    tree = _parse(expr)
    selectors = _selectors(tree)
    assert selectors, f"{expr}: selects nothing"
    available = set(TARGET_LABELS)
    for selector in selectors:
        name = selector.name
        assert name in EXPORTED, f"{expr}: {name} is not a series the services export"
        labels = EXPORTED[name]
        available |= labels
        for matcher in selector.matchers.matchers:
            assert matcher.name in labels | TARGET_LABELS, f"{expr}: {name} has no {matcher.name}"
    unknown = _grouping_labels(tree) - available
    assert not unknown, f"{expr}: groups by labels no selected series has: {unknown}"


def _dashboard_targets() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, model in observability.dashboards().items():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                yield name, panel["title"], target


RULES = observability.rule_groups()["groups"][0]["rules"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_alert_expression_parses_and_names_exported_metrics(rule: dict[str, Any]) -> None:
    _check(rule["expr"])


@pytest.mark.parametrize(
    ("dashboard", "panel", "target"),
    list(_dashboard_targets()),
    ids=lambda v: v if isinstance(v, str) else v["refId"],
)
def test_dashboard_query_parses_and_names_exported_metrics(
    dashboard: str, panel: str, target: dict[str, Any]
) -> None:
    _check(target["expr"])


def test_a_query_on_an_unknown_metric_or_label_is_caught() -> None:
    """The check itself: a misspelt metric, an invented label or a bad grouping fails it."""
    for wrong in (
        "yidi_his_request_total",  # missing s
        'yidi_his_requests_total{status="500"}',  # that label is on the HTTP histogram
        "sum by (service) (yidi_consumer_lag)",  # consumer lag is per consumer, not service
        "rate(yidi_relay_backlog[5m",
    ):
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            _check(wrong)


# -- alert rules -----------------------------------------------------------------------------


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        if match := re.match(r"^#{1,6}\s+(.*)$", line):
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_rules_file_is_a_valid_prometheus_rules_file() -> None:
    groups = observability.rule_groups()["groups"]
    assert len({g["name"] for g in groups}) == len(groups)
    names = [r["alert"] for g in groups for r in g["rules"]]
    assert len(set(names)) == len(names), "alert names are unique"
    for group in groups:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS, rule["alert"]
            assert isinstance(rule["expr"], str)
            assert DURATION.match(rule["for"]), rule
            assert all(isinstance(v, str) for v in rule["labels"].values())
            assert rule["labels"]["severity"] in {"critical", "warning"}
            assert all(isinstance(v, str) for v in rule["annotations"].values())


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_alert_links_to_its_runbook_entry(rule: dict[str, Any]) -> None:
    url = rule["annotations"]["runbook_url"]
    page, _, anchor = url.partition("#")
    assert page == "docs/operations.md"
    assert (ROOT / page).is_file()
    assert anchor in _anchors(RUNBOOK.read_text()), f"no heading for #{anchor} in {page}"


def test_the_alerts_the_brief_asks_for() -> None:
    """What each alert watches and how long, as the on-call guide promises."""
    by_name = {r["alert"]: r for r in RULES}
    assert by_name["YidiBrokerDown"]["for"] == "1m"
    assert "yidi_broker_up == 0" in by_name["YidiBrokerDown"]["expr"]
    assert by_name["YidiRelayBacklog"]["for"] == "5m"
    assert "yidi_relay_backlog > 0" in by_name["YidiRelayBacklog"]["expr"]
    assert by_name["YidiConsumerLagGrowing"]["for"] == "10m"
    assert "yidi_consumer_dead_lettered_total" in by_name["YidiDeadLetter"]["expr"]
    assert 'outcome="error"' in by_name["YidiHisErrors"]["expr"]
    assert "histogram_quantile(0.99" in by_name["YidiSettlementSlow"]["expr"]
    assert by_name["YidiSettlementSlow"]["expr"].endswith("> 1")
    assert 'status="503"' in by_name["YidiNotReady"]["expr"]


# -- dashboards ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(observability.dashboards()))
def test_dashboard_is_a_grafana_dashboard_model(name: str) -> None:
    model = json.loads((observability.DASHBOARDS / name).read_text())
    assert _through_the_model(model) == model
    assert model["uid"]
    assert model["title"]
    ids = [p["id"] for p in model["panels"]]
    assert len(set(ids)) == len(ids), "panel ids are unique"
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in model["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def _through_the_model(model: dict[str, Any]) -> Any:
    """The dashboard read into the SDK's typed model and written back: a field the schema does not
    know is lost on the way (the panels' plugin `options` pass through unchecked)."""
    return json.loads(json.dumps(Dashboard.from_json(model).to_json(), default=_to_json))


def _to_json(value: Any) -> Any:
    return value.to_json()


def test_the_model_check_catches_an_unknown_field() -> None:
    model = observability.dashboards()["his.json"]
    model["panels"][1]["datasorce"] = model["panels"][1].pop("datasource")
    assert _through_the_model(model) != model


def test_dashboards_cover_what_operators_watch() -> None:
    exprs = " ".join(t["expr"] for _, _, t in _dashboard_targets())
    for series in (
        "yidi_his_requests_total",  # HIS traffic by transaction and outcome
        "yidi_his_settlement_seconds_bucket",  # latency
        "yidi_his_settlement_seconds_count",  # settlement outcomes
        "yidi_relay_backlog",
        "yidi_consumer_lag",
        "yidi_consumer_dead_lettered_total",
        "yidi_consumer_refused_total",
        "yidi_broker_up",
        'route="/readyz", status="503"',
    ):
        assert series in exprs, series


# -- the committed files are the generator's -------------------------------------------------


def test_committed_files_equal_the_generators_output() -> None:
    assert observability.stale() == [], "run make docs"


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Host file or folder -> where the container sees it (read-only bind mounts)."""
    return {v.split(":")[0]: v.split(":")[1] for v in service["volumes"] if v.startswith("./")}


def test_compose_prometheus_scrapes_the_services_and_loads_the_rules() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    mounts = _mounts(compose["prometheus"])
    config = yaml.safe_load((ROOT / "deploy/observability/prometheus/prometheus.yml").read_text())
    assert mounts["./observability/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert config["rule_files"] == [mounts["./observability/prometheus/alerts.yaml"]]
    targets = {
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    assert targets == {f"{s}:8000" for s in SERVICES}


def test_compose_grafana_provisions_the_dashboards() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    mounts = _mounts(compose["grafana"])
    provisioning = ROOT / "deploy/observability/grafana/provisioning"
    (provider,) = yaml.safe_load((provisioning / "dashboards/yidi.yaml").read_text())["providers"]
    assert mounts["./observability/dashboards"] == provider["options"]["path"]
    assert mounts["./observability/grafana/provisioning"] == "/etc/grafana/provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources/prometheus.yaml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True, "the dashboards' datasource variable picks the default"
    assert source["url"] == "http://prometheus:9090"


# -- Kubernetes ------------------------------------------------------------------------------


def _manifest(file: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / file).read_text()) if d]


def _deployment(service: str) -> dict[str, Any]:
    (deployment,) = [d for d in _manifest(f"{service}.yaml") if d["kind"] == "Deployment"]
    return deployment


def test_kustomization_includes_the_observability_resources() -> None:
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    for file in ("pod-monitors.yaml", "prometheus-rules.yaml", "grafana-dashboards.yaml"):
        assert file in resources


@pytest.mark.parametrize("service", SERVICES)
def test_pod_monitor_selects_the_services_pods_on_their_metrics_port(service: str) -> None:
    monitors = {d["metadata"]["name"]: d for d in _manifest("pod-monitors.yaml")}
    assert set(monitors) == set(SERVICES)
    monitor = monitors[service]
    assert (monitor["apiVersion"], monitor["kind"]) == (PROMETHEUS_OPERATOR, "PodMonitor")
    assert set(monitor["spec"]) == {"selector", "podMetricsEndpoints"}
    template = _deployment(service)["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items(), "selects the Deployment's pods"
    assert selector["app.kubernetes.io/name"] == service, "and no other service's"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    annotations = template["metadata"]["annotations"]
    (container,) = [c for c in template["spec"]["containers"] if c["name"] == service]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    # The same endpoint the prometheus.io annotations (kept for other scrapers) describe.
    assert ports[endpoint["port"]] == int(annotations["prometheus.io/port"])
    assert endpoint["path"] == annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/scrape"] == "true"
    assert DURATION.match(endpoint["interval"])


def test_prometheus_rule_holds_the_rules_file() -> None:
    (rule,) = _manifest("prometheus-rules.yaml")
    assert (rule["apiVersion"], rule["kind"]) == (PROMETHEUS_OPERATOR, "PrometheusRule")
    assert set(rule["spec"]) == {"groups"}
    compose_rules = yaml.safe_load(observability.RULES.read_text())
    assert rule["spec"] == compose_rules, "Kubernetes and compose alert on the same rules"


def test_dashboards_configmap_is_for_the_grafana_sidecar() -> None:
    (configmap,) = _manifest("grafana-dashboards.yaml")
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert set(configmap["data"]) == set(observability.dashboards())
    for name, text in configmap["data"].items():
        assert json.loads(text) == json.loads((observability.DASHBOARDS / name).read_text())
    # A ConfigMap holds at most 1 MiB.
    assert len(json.dumps(configmap["data"]).encode()) < 1024 * 1024
