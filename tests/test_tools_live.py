"""Every tool against the real apiserver, for healthy and failing objects, as the read-only user
bound to the project's ClusterRole (deploy/rbac.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.scenarios import load

import tools
from tools import Toolbox

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def box(seed_scenario, readonly_cluster) -> tuple[Toolbox, str]:  # type: ignore[no-untyped-def]
    scenario = seed_scenario(load(DATA / "tools-cluster.yaml"))
    return Toolbox(readonly_cluster), scenario.namespaces[0]


def test_pods_show_running_crashlooping_and_pending(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.pods(ns)
    assert result.ok
    by_name = {p.name: p for p in result.pods}
    assert by_name["web-5d8c7b9f6-abcde"].status == "Running"
    assert by_name["web-5d8c7b9f6-abcde"].ready == "1/1"
    worker = by_name["worker-0"]
    assert worker.status == "CrashLoopBackOff" and worker.restarts == 12
    assert worker.containers[0].last_reason == "OOMKilled"
    assert worker.containers[0].last_exit_code == 137
    assert by_name["trainer"].status == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in " ".join(by_name["trainer"].conditions)


def test_workloads_show_ready_failed_and_suspended(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.workloads(ns)
    by_name = {(w.kind, w.name): w for w in result.workloads}
    assert by_name[("Deployment", "web")].ready == 1
    assert not by_name[("Deployment", "web")].conditions
    job = by_name[("Job", "migrate")]
    assert any("BackoffLimitExceeded" in c for c in job.conditions)
    assert by_name[("CronJob", "nightly")].suspended is True  # served as batch/v1beta1 on v1.20


def test_describe_walks_owner_chain_and_references(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    pod = toolbox.describe("Pod", "web-5d8c7b9f6-abcde", ns)
    assert pod.owners == ["ReplicaSet/web-5d8c7b9f6", "Deployment/web"]
    assert "PersistentVolumeClaim/data-ok" in pod.references
    deployment = toolbox.describe("Deployment", "web", ns)
    assert any("web-5d8c7b9f6-abcde" in child for child in deployment.children)
    assert "ConfigMap/web-config" in deployment.references
    assert "Secret/db-credentials key password (name only)" in deployment.references
    assert [e.reason for e in deployment.events] == ["ScalingReplicaSet"]


def test_describe_unknown_object_is_a_not_found_result(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.describe("Deployment", "nope", ns)
    assert result.status == "not_found"
    assert "no Deployment named nope" in (result.message or "")


def test_events_newest_first_and_duplicates_folded(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.events(ns, warnings_only=True)
    assert [e.reason for e in result.events] == ["BackOff", "FailedScheduling"]
    assert result.events[0].count == 43 and result.folded == 1
    only_trainer = toolbox.events(ns, kind="Pod", name="trainer")
    assert [e.object for e in only_trainer.events] == ["Pod/trainer"]


def test_logs_current_previous_error_lines_first_and_redacted(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    current = toolbox.logs(ns, "worker-0")
    assert current.ok and current.excerpt and current.excerpt.total_lines == 1
    previous = toolbox.logs(ns, "worker-0", "app", previous=True)
    assert previous.excerpt is not None
    errors = [line.text for line in previous.excerpt.errors]
    assert errors[0].endswith("allocating buffer of 4GiB failed")
    assert previous.excerpt.errors[0].repeats == 2
    assert "FATAL out of memory" in errors[-1]
    text = previous.text()
    assert "eyJhbGciOiJIUzI1NiJ9" not in text and "[REDACTED]" in text


def test_logs_of_a_container_that_never_ran_say_so(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.logs(ns, "web-5d8c7b9f6-abcde", "web", previous=True)
    assert result.status == "not_found"


def test_nodes_show_pressure_taints_and_gpus(box: tuple[Toolbox, str]) -> None:
    toolbox, _ = box
    nodes = {n.name: n for n in toolbox.nodes().nodes}
    assert nodes["node-ok"].ready == "True"
    assert nodes["node-ok"].allocatable["nvidia.com/gpu"] == "2"
    bad = nodes["node-bad"]
    assert bad.ready == "Unknown"
    assert any(p.startswith("DiskPressure") for p in bad.problems)
    assert "node.kubernetes.io/unreachable:NoExecute" in bad.taints


def test_services_with_and_without_endpoints(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    services = {s.name: s for s in toolbox.services(ns).services}
    assert services["web"].ready == ["10.1.0.5:8080 (web-5d8c7b9f6-abcde)"]
    assert services["web"].matching_pods == ["web-5d8c7b9f6-abcde"]
    assert services["worker"].matching_pods == [] and services["worker"].ready == []


def test_storage_bound_and_pending_claims(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.storage(ns)
    claims = " | ".join(result.claims)
    assert "data-ok: Bound, class standard, volume pv-data" in claims
    assert "data-stuck: Pending, class fast-ssd" in claims
    assert any("(default)" in c for c in result.classes)
    assert any(v.startswith("pv-data: Bound") for v in result.volumes)


def test_autoscaler_pinned_at_max(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    (line,) = toolbox.autoscalers(ns).entries
    assert "3 current" in line and "max 3" in line and "TooManyReplicas" in line


def test_quotas_limitranges_ingresses_policies(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    quotas = toolbox.quotas(ns).entries
    assert "limits.memory 8Gi/8Gi" in quotas[0]
    assert quotas[1].startswith("limitrange defaults")
    assert toolbox.ingresses(ns).entries == ["ingress web: shop.example.com/ -> web:80"]
    (policy,) = toolbox.network_policies(ns).entries
    assert "selects app=worker" in policy and "0 ingress" in policy


def test_metrics_without_metrics_server_is_unavailable_not_an_error(
    box: tuple[Toolbox, str],
) -> None:
    toolbox, ns = box
    result = toolbox.metrics(ns)
    assert result.status == "unavailable"
    assert "does not serve PodMetrics" in (result.message or "")


def test_find_offers_closest_name(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    result = toolbox.find("wrker", namespace=ns)
    assert result.exact is None
    assert {m.name for m in result.matches[:2]} == {"worker", "worker-0"}
    exact = toolbox.find("web", namespace=ns)
    assert exact.exact is not None and exact.exact.kind == "Deployment"


def test_list_objects_with_label_and_field_selectors(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    by_label = toolbox.list_objects("Pod", ns, label_selector="app in (web,trainer)")
    assert sorted(i.name for i in by_label.items) == ["trainer", "web-5d8c7b9f6-abcde"]
    by_field = toolbox.list_objects("Pod", ns, field_selector="status.phase=Pending")
    assert [i.name for i in by_field.items] == ["trainer"]


def test_secret_values_never_come_back(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    deployment = toolbox.describe("Deployment", "web", ns)
    config = toolbox.cluster.get("ConfigMap", "web-config", ns)
    dumped = deployment.model_dump_json() + str(config)
    assert "ghp_16C7e42F292c6912E7710c838347Ae178B4a" not in dumped
    assert "s3cr3tPassw0rd" not in dumped
    assert "API_TOKEN" in dumped


def test_text_forms_respect_their_budget(box: tuple[Toolbox, str]) -> None:
    toolbox, ns = box
    for result in (toolbox.pods(ns), toolbox.events(ns), toolbox.describe("Pod", "worker-0", ns)):
        text = result.text(200)
        assert len(text) <= 200
    assert "more characters cut" in toolbox.pods(ns).text(120)


def test_kind_names_parse(box: tuple[Toolbox, str]) -> None:
    assert tools.parse_kind("deploy") == "Deployment"
    assert tools.parse_kind("hpa") == "HorizontalPodAutoscaler"
    assert tools.parse_kind("gizmo") is None
