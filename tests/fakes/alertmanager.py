"""What Alertmanager sends: webhook payloads (version 4) and the POST that delivers them, and
kube-prometheus-stack's alerts as data (tests/data/kube_prometheus_alerts.yaml).

    status, doc = post(env, webhook("firing", [alert(POD)]))
    fixtures()["alerts"]["KubeJobFailed"]["labels"]; rendered("KubeJobFailed")["description"]
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from fakes.slack_env import SlackEnv

ALERTS_FILE = Path(__file__).resolve().parent.parent / "data" / "kube_prometheus_alerts.yaml"
_TEMPLATE = re.compile(r"\{\{\s*(?:\$labels\.(\w+)|\$value \| humanizePercentage|"
                       r'printf "%\.4g" \$value)\s*\}\}')


@cache
def fixtures() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    return doc


def rendered(name: str) -> dict[str, str]:
    """Alert `name`'s annotations as Prometheus renders them (the templates the fixtures use)."""
    case = fixtures()["alerts"][name]
    value = float(case.get("value", 1))

    def fill(found: re.Match[str]) -> str:
        if found.group(1):
            return str(case["labels"][found.group(1)])
        return f"{value * 100:.4g}%" if "humanizePercentage" in found.group(0) \
            else f"{value:.4g}"

    return {k: _TEMPLATE.sub(fill, v) for k, v in case["annotations"].items()}


def webhook(status: str, alerts: list[dict[str, Any]],
            group_key: str = '{}:{namespace="shop"}') -> dict[str, Any]:
    """A notification of kube-prometheus-stack's default route (grouped by namespace)."""
    names = {a["labels"]["alertname"] for a in alerts}
    common = {k: v for k, v in alerts[0]["labels"].items()
              if all(a["labels"].get(k) == v for a in alerts)}
    return {"version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status,
            "receiver": "slack-sre", "groupLabels": {"namespace": "shop"},
            "commonLabels": common,
            "commonAnnotations": alerts[0]["annotations"] if len(names) == 1 else {},
            "externalURL": "http://alertmanager:9093", "alerts": alerts}


def alert(pod: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    """KubePodCrashLooping for `pod` of namespace shop, with every label kube-prometheus-stack's
    alert carries (see tests/data/kube_prometheus_alerts.yaml)."""
    return {"status": status, "labels": {
                "alertname": "KubePodCrashLooping", "container": "app", "endpoint": "http",
                "instance": "10.244.0.12:8080", "job": "kube-state-metrics", "namespace": "shop",
                "pod": pod, "prometheus": "monitoring/kube-prometheus-stack-prometheus",
                "reason": "CrashLoopBackOff",
                "service": "kube-prometheus-stack-kube-state-metrics", "severity": "warning",
                "uid": f"uid-{pod}", **labels},
            "annotations": {
                "summary": "Pod is crash looping.",
                "description": f'Pod shop/{pod} (app) is in waiting state (reason: '
                               '"CrashLoopBackOff").',
                "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
                               "kubepodcrashlooping"},
            "startsAt": "2026-11-29T10:00:00Z",
            "endsAt": "2026-11-29T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"fp-{pod}"}


def replicas_mismatch(deployment: str, status: str = "firing") -> dict[str, Any]:
    """KubeDeploymentReplicasMismatch: kube-state-metrics' own pod and container come along."""
    return {"status": status, "labels": {
                "alertname": "KubeDeploymentReplicasMismatch", "container": "kube-state-metrics",
                "deployment": deployment, "endpoint": "http", "instance": "10.244.0.12:8080",
                "job": "kube-state-metrics", "namespace": "shop",
                "pod": "kube-prometheus-stack-kube-state-metrics-6d5f9c8b7-v2x4q",
                "prometheus": "monitoring/kube-prometheus-stack-prometheus",
                "service": "kube-prometheus-stack-kube-state-metrics", "severity": "warning"},
            "annotations": {
                "summary": "Deployment has not matched the expected number of replicas.",
                "description": f"Deployment shop/{deployment} has not matched the expected "
                               "number of replicas for longer than 15 minutes.",
                "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
                               "kubedeploymentreplicasmismatch"},
            "startsAt": "2026-11-29T10:00:00Z",
            "endsAt": "2026-11-29T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"fp-{deployment}"}


def post(env: SlackEnv, body: bytes | dict[str, Any],
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(env.url + "/alerts", data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())
