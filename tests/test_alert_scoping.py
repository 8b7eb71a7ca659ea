"""kube-prometheus-stack's alerts, with the labels they really carry, scope to the object they are
about: never to the exporter that reported them (`job="kube-state-metrics"` is no Job, its pod is
not the crash-looping one, `namespace="monitoring"` on a node alert is not the node's), however
the alert reaches the assistant: the webhook's labels, a pasted Slack notification, or
`key=value` words. The label sets are tests/data/kube_prometheus_alerts.yaml (tests/
test_alert_chain.py proves a real Prometheus fires exactly these)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.alertmanager import fixtures, rendered
from harness.scenarios import SCENARIO_DIR, load, write_snapshot_dir

import tools
from assistant.engine import diagnose, resolve
from knowledge import alert_labels

ALERTS = sorted(fixtures()["alerts"])


def cluster_for(scenario: str, tmp_path: Path) -> tools.Cluster:
    snapshot = write_snapshot_dir(load(SCENARIO_DIR / f"{scenario}.yaml"), tmp_path / "snap")
    return tools.open_cluster(snapshot=snapshot)


def one_line(labels: dict[str, str]) -> str:
    """How the agent and a person write labels: `key=value` words after the alert's name."""
    return f"{labels['alertname']} " + " ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def slack_template(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """The notification kube-prometheus-stack's usual Slack template posts, pasted into a
    question."""
    lines = [f"[FIRING:1] {labels['alertname']}",
             f"*Alert:* {annotations['summary']} - `{labels['severity']}`",
             f"*Description:* {annotations['description']}",
             f"*Runbook:* <{annotations['runbook_url']}|:spiral_note_pad:>", "*Details:*"]
    lines += [f"  • *{k}:* `{v}`" for k, v in sorted(labels.items())]
    return "\n".join(lines)


@pytest.mark.parametrize("name", ALERTS)
def test_every_kube_prometheus_stack_alert_scopes_to_its_object(name: str,
                                                               tmp_path: Path) -> None:
    case = fixtures()["alerts"][name]
    labels, want = case["labels"], case["object"]
    found = alert_labels.subject(labels)
    assert found is not None and found.ref == want
    cluster = cluster_for(case["scenario"], tmp_path)
    for text in (one_line(labels), slack_template(labels, rendered(name))):
        scope = resolve(cluster, text, None, None)
        assert scope.unknown is None, text
        assert scope.target is not None and scope.target.ref == want, text
    question = alert_labels.describe(labels)  # what the Slack alert intake asks
    assert not any(f"{k}=" in question for k in alert_labels.definitions().monitoring
                   if k != found.label)  # TargetDown's `service` is its object
    diagnosis = diagnose(cluster, question, None, alert_labels.namespace(labels))
    assert diagnosis.target is not None and diagnosis.target.ref == want
    assert "could not look into" not in diagnosis.summary


def test_the_intake_question_names_the_alert_and_its_object_only() -> None:
    alerts = fixtures()["alerts"]
    assert alert_labels.describe(alerts["KubePodCrashLooping"]["labels"]) == (
        "KubePodCrashLooping namespace=shop pod=checkout-7d9f8b6c4-x2k9p container=app "
        "reason=CrashLoopBackOff")
    assert alert_labels.describe(alerts["KubeDeploymentReplicasMismatch"]["labels"]) == (
        "KubeDeploymentReplicasMismatch namespace=shop deployment=checkout")
    assert alert_labels.describe(alerts["KubeNodeNotReady"]["labels"]) == (
        "KubeNodeNotReady node=prod-worker-3")
    assert alert_labels.describe(alerts["TargetDown"]["labels"]) == (
        "TargetDown namespace=shop service=recommendations")


@pytest.mark.parametrize(("labels", "want"), [
    # a rule of one's own over kube-state-metrics series: the first object label wins, never the
    # exporter's pod, nor its scrape job
    ({"alertname": "CheckoutDown", "deployment": "checkout", "namespace": "shop",
      "job": "kube-state-metrics", "pod": "ksm-7d9f-abcde", "container": "kube-state-metrics"},
     "Deployment/shop/checkout"),
    # an app's own metric: its scrape job and service say who reported it, the pod what
    ({"alertname": "HighErrorRate", "job": "checkout", "service": "checkout",
      "namespace": "shop", "pod": "checkout-7d9f8b6c4-x2k9p", "instance": "10.1.2.3:8080"},
     "Pod/shop/checkout-7d9f8b6c4-x2k9p"),
    # a person's words: job=NAME is a Job, service=NAME a Service
    ({"job": "invoice-export", "namespace": "batch"}, "Job/batch/invoice-export"),
    ({"service": "checkout", "namespace": "shop"}, "Service/shop/checkout"),
])
def test_alert_labels_of_rules_not_in_the_list(labels: dict[str, str], want: str) -> None:
    found = alert_labels.subject(labels)
    assert found is not None and found.ref == want


def test_an_alert_naming_only_monitoring_labels_is_about_its_namespace() -> None:
    labels = {"alertname": "HighErrorRate", "job": "checkout", "service": "checkout",
              "namespace": "shop", "instance": "10.1.2.3:8080", "endpoint": "http"}
    assert alert_labels.subject(labels) is None
    assert alert_labels.namespace(labels) == "shop"
    assert alert_labels.describe(labels) == "HighErrorRate namespace=shop"


def test_a_pod_gone_since_the_alert_fired_leaves_its_namespace_to_look_at(
        tmp_path: Path) -> None:
    cluster = cluster_for("crashloop-missing-env", tmp_path)
    labels = dict(fixtures()["alerts"]["KubePodNotReady"]["labels"], namespace="shop",
                  pod="zz-replaced-0")
    scope = resolve(cluster, one_line(labels), None, None)
    assert scope.namespaces == ["shop"] and scope.target is None and scope.unknown is None
    assert scope.note is not None and "gone since the alert fired" in scope.note
